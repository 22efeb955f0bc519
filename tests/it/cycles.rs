//! Which month a package belongs to, and each department's state as of a time.

use chrono::Datelike;

use crate::fixtures::{Mail, jpeg, jpeg_sized};
use crate::harness::App;
use crate::ingest::AS_OF;

#[test]
fn states_as_of_a_time() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", "Mon, 25 Mar 2024 23:59:59 +0800").attach("a.jpg", &jpeg(1)).build());
    app.import_one("b.eml", &Mail::new("wdhpcs@163.com", "3月素材", "Wed, 27 Mar 2024 09:30:00 +0800").attach("b.jpg", &jpeg(2)).build());
    let row = |who: &str, at: &str| app.row("2024-03", at, who);
    assert_eq!(row("嘎鲁图派出所", AS_OF)["state"], "on_time");
    let late = row("无定河派出所", AS_OF);
    assert_eq!(late["state"], "late");
    assert_eq!(late["late_by_seconds"], 33 * 3600 + 1800);
    assert_eq!(row("图克派出所", AS_OF)["state"], "missing");
    // Before the deadline, nobody is missing yet, and mail after T does not count.
    let early = "2024-03-20T00:00:00+08:00";
    assert_eq!(row("图克派出所", early)["state"], "pending");
    assert_eq!(row("嘎鲁图派出所", early)["state"], "pending");
    assert_eq!(row("嘎鲁图派出所", early)["packages"], 0);
    let s = app.status("2024-03", AS_OF);
    assert_eq!(s["due_before"], "2024-03-26T00:00:00+08:00");
    assert_eq!(s["as_of"], AS_OF);
    assert_eq!(s["departments"].as_array().unwrap().len(), 20, "every roster department appears");
    assert_eq!(s["departments"][0]["department"], "交管大队", "in roster order");
}

#[test]
fn a_month_named_in_the_subject_decides_the_cycle() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所2月份补报", "Tue, 05 Mar 2024 10:00:00 +0800").attach("a.jpg", &jpeg(3)).build());
    app.import_one("b.eml", &Mail::new("wdhpcs@163.com", "十二月素材", "Fri, 05 Jan 2024 10:00:00 +0800").attach("b.jpg", &jpeg(4)).build());
    let feb = app.row("2024-02", AS_OF, "嘎鲁图派出所");
    assert_eq!(feb["state"], "late");
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["packages"], 0);
    assert_eq!(app.row("2023-12", AS_OF, "无定河派出所")["state"], "late", "12月 received in January is last December");
}

#[test]
fn a_late_second_package_without_a_month_goes_to_the_next_month() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("a.jpg", &jpeg(5)).build());
    app.import_one("b.eml", &Mail::new("gltpcs@163.com", "素材", "Thu, 28 Mar 2024 10:00:00 +0800").attach("b.jpg", &jpeg(6)).build());
    assert_eq!(app.row("2024-03", "2024-04-01T00:00:00+08:00", "嘎鲁图派出所")["packages"], 1);
    let apr = app.row("2024-04", "2024-04-01T00:00:00+08:00", "嘎鲁图派出所");
    assert_eq!(apr["state"], "on_time");
    assert_eq!(apr["photos"], 1);
    // A first package after the deadline stays in its month, late.
    app.import_one("c.eml", &Mail::new("wdhpcs@163.com", "素材", "Thu, 28 Mar 2024 10:00:00 +0800").attach("c.jpg", &jpeg(7)).build());
    assert_eq!(app.row("2024-03", "2024-04-01T00:00:00+08:00", "无定河派出所")["state"], "late");
}

/// Analysis runs ahead of recording (`intake::worker`, up to 16 entries, 4 at once):
/// a quick second package is analysed while a slow first one still is, but waits for
/// it, so the first is still the one that stays in its month and the second still
/// rolls over.
#[test]
fn a_slow_first_package_is_still_decided_before_a_quick_second_one() {
    let app = App::new();
    let mut first = Mail::new("gltpcs@163.com", "素材", "Tue, 26 Mar 2024 10:00:00 +0800");
    for i in 0..16 {
        first = first.attach(&format!("a{i}.jpg"), &jpeg_sized(200 + i, 1600, 1200));
    }
    app.eml("1.eml", &first.build());
    app.eml("2.eml", &Mail::new("gltpcs@163.com", "素材", "Wed, 27 Mar 2024 10:00:00 +0800").attach("b.jpg", &jpeg(11)).build());
    app.ok(&["import", app.dir.path().join("inbox").to_str().unwrap()]);
    let mar = app.row("2024-03", "2024-04-01T00:00:00+08:00", "嘎鲁图派出所");
    assert_eq!((mar["state"].as_str(), mar["photos"].as_i64()), (Some("late"), Some(16)), "{mar}");
    assert_eq!(app.row("2024-04", "2024-04-01T00:00:00+08:00", "嘎鲁图派出所")["photos"], 1);
}

#[test]
fn reassign_overrides_the_rule() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("a.jpg", &jpeg(8)).build());
    let package = app.items(&[])[0]["package"].to_string();
    app.ok(&["reassign", &package, "--cycle", "2024-02"]);
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["packages"], 0);
    assert_eq!(app.row("2024-02", AS_OF, "嘎鲁图派出所")["photos"], 1);
    assert_eq!(app.tree(), ["2024-02/嘎鲁图派出所/未分类/a.jpg"]);
    let bad = app.run(&["reassign", &package, "--cycle", "2024-13"]);
    assert!(!bad.ok && bad.stderr.contains("YYYY-MM"), "{}", bad.stderr);
}

/// Issue 21: a mail whose Date and Received both say year 0 (`Sat, 01 Jan 0000 00:00:00
/// -1200`, which mail-parser reads as 2000-01-01) with 3月 in the subject was filed
/// under 1999-03. No month before 2000 (or after next month) may exist: the import time
/// stands in for the receipt, and the mail is flagged bad_date.
#[test]
fn a_year_zero_date_never_makes_a_month_before_2000() {
    let app = App::new();
    let year0 = "Sat, 01 Jan 0000 00:00:00 -1200";
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", year0).received(year0).attach("a.jpg", &jpeg(9)).build());
    // A month named with an impossible year is passed over too.
    app.import_one("b.eml", &Mail::new("wdhpcs@163.com", "无定河派出所2099年3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("b.jpg", &jpeg(10)).build());
    let items = app.items(&[]);
    assert_eq!(items.len(), 2, "{items:?}");
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let next_month = if now.month() == 12 { format!("{:04}-01", now.year() + 1) } else { format!("{:04}-{:02}", now.year(), now.month() + 1) };
    for i in &items {
        let cycle = i["cycle"].as_str().unwrap();
        assert!(cycle >= "2000-01" && cycle <= next_month.as_str(), "{cycle}");
        assert!(i["message_flags"].as_array().unwrap().iter().any(|f| f == "bad_date"), "{i}");
    }
    let year0_item = items.iter().find(|i| i["department"] == "嘎鲁图派出所").unwrap();
    let received: String = year0_item["received_at"].as_str().unwrap()[..10].to_string();
    assert_eq!(received, now.format("%Y-%m-%d").to_string(), "the import time stands in for the receipt");
    assert!(year0_item["cycle"].as_str().unwrap().ends_with("-03"), "3月 of the import year: {}", year0_item["cycle"]);
    assert_eq!(items.iter().find(|i| i["department"] == "无定河派出所").unwrap()["cycle"], "2024-03", "the receipt's month, not 2099");
}
