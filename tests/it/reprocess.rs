//! `baosong reprocess` (issue 9, point 8): a rule fix reaches a month already taken
//! in, and every decision a person made stands.

use serde_json::Value;

use crate::fixtures::{Mail, jpeg};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

fn by_name(items: &[Value], name: &str) -> Value {
    items.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no item {name} in {items:?}")).clone()
}

fn held_id(app: &App, from: &str) -> String {
    let s = app.status("2024-03", AS_OF);
    let q = s["review_queue"].as_array().unwrap();
    q.iter().find(|e| e["from"] == from).unwrap_or_else(|| panic!("{from} not held: {q:?}"))["id"].as_str().unwrap().to_string()
}

/// The state of the books a user would compare: every item's department, month,
/// status, category and flags, and the review queue.
fn books(app: &App) -> (Vec<String>, usize) {
    let mut items: Vec<String> = app.items(&[]).iter().map(|i| format!("{} {} {} {} {} {}", i["name"], i["department"], i["cycle"], i["status"], i["category"], i["flags"])).collect();
    items.sort();
    (items, app.status("2024-03", AS_OF)["review_queue"].as_array().unwrap().len())
}

#[test]
fn a_rule_fix_reaches_a_past_month_and_manual_decisions_stand() {
    rule_fix_reaches_a_past_month(&App::new(), true);
}

/// On `app` (also on PostgreSQL, `on_postgres`, where `dry_run` is false: the dry run
/// copies the SQLite file and is refused there): a month of mail and people's
/// decisions, then a rule fix that `reprocess` applies, every decision standing.
pub fn rule_fix_reaches_a_past_month(app: &App, dry_run: bool) {
    let mail = |from: &str, subject: &str, date: &str, files: &[(&str, u32)]| {
        let mut m = Mail::new(from, subject, date);
        for (name, seed) in files {
            m = m.attach(name, &jpeg(*seed));
        }
        m.build()
    };
    app.import_one("1.eml", &mail("gltpcs@163.com", "嘎鲁图派出所3月份素材", MAR19, &[("①主题党日.jpg", 41), ("活动照片.jpg", 42)]));
    app.import_one("2.eml", &mail("zhang@qq.com", "图克派出所3月份宣传素材", "Tue, 19 Mar 2024 11:00:00 +0800", &[("巡逻.jpg", 43)]));
    app.import_one("3.eml", &mail("wdh_new@qq.com", "无定河派出所3月素材", "Tue, 19 Mar 2024 12:00:00 +0800", &[("⑥夜巡.jpg", 44)]));
    app.import_one("4.eml", &mail("wsq_jgdd@163.com", "交管大队素材", "Wed, 20 Mar 2024 09:00:00 +0800", &[("⑦路面.jpg", 45)]));

    // What people decided: an approval, a reassignment, a category and an extension.
    app.ok(&["quarantine", "approve", &held_id(app, "zhang@qq.com"), "--department", "图克所"]);
    let items = app.items(&[]);
    app.ok(&["reassign", &by_name(&items, "⑦路面.jpg")["package"].to_string(), "--cycle", "2024-04"]);
    app.ok(&["recategorize", &by_name(&items, "活动照片.jpg")["id"].to_string(), "3"]);
    app.ok(&["extend", "嘎鲁图所", "--cycle", "2024-03", "--until", "2024-03-28"]);
    let items = app.items(&[]);
    app.ok(&["adopt", &by_name(&items, "巡逻.jpg")["id"].to_string(), "--level", "city", "--date", "2024-03-22"]);
    let points = |app: &App| -> f64 {
        let s: Value = serde_json::from_str(&app.ok(&["score", "--year", "2024", "--department", "图克所", "--json"])).unwrap();
        let d = &s["departments"][0];
        d["items"].as_array().unwrap().iter().find(|i| i["item"] == "图片视频报送").unwrap_or_else(|| panic!("{s}"))["points"].as_f64().unwrap()
    };
    assert_eq!(points(app), 0.2);
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["state"], "missing", "its mail is held");
    let before = books(app);

    // The rule fix: 无定河派出所's new address goes into the roster, and photos under
    // 2000 px are now low resolution.
    let roster = std::fs::read_to_string(app.config().with_file_name("departments.toml")).unwrap();
    app.set_roster(&roster.replace("senders = [\"wdhpcs@163.com\"]", "senders = [\"wdhpcs@163.com\", \"wdh_new@qq.com\"]"));
    let config = std::fs::read_to_string(app.config()).unwrap();
    std::fs::write(app.config(), format!("{config}\n[inspect]\nmin_photo_long_side = 2000\n")).unwrap();

    // A dry run says what would change and changes nothing.
    if dry_run {
        let dry = app.ok(&["reprocess", "--cycle", "2024-03", "--dry-run"]);
        assert!(dry.contains("试运行（未改动数据）") && dry.contains("无定河派出所"), "{dry}");
        assert!(dry.contains("原来：待审核") && dry.contains("现在：计入 无定河派出所 2024-03：计入 1，重复 0，拒收 0（标记：分辨率低1）"), "{dry}");
    } else {
        let dry = app.run(&["reprocess", "--cycle", "2024-03", "--dry-run"]);
        assert!(!dry.ok && dry.stderr.contains("--dry-run 只支持 SQLite 数据库"), "{}", dry.stderr);
    }
    assert_eq!(books(app), before, "a dry run changes nothing");

    let out = app.ok(&["reprocess", "--all"]);
    assert!(out.contains("共 4 封，其中 4 封有变化"), "{out}");
    assert!(out.contains("2024-03 无定河派出所\n    原来：未报"), "{out}");
    let items = app.items(&[]);
    let held_now = by_name(&items, "⑥夜巡.jpg");
    assert_eq!((held_now["department"].as_str(), held_now["status"].as_str()), (Some("无定河派出所"), Some("accepted")), "the roster fix applies");
    assert_eq!(by_name(&items, "巡逻.jpg")["department"], "图克派出所", "the approval stands");
    assert_eq!(by_name(&items, "⑦路面.jpg")["cycle"], "2024-04", "the reassignment stands");
    assert_eq!(by_name(&items, "活动照片.jpg")["category"], "3", "the chosen category stands");
    assert!(items.iter().all(|i| i["flags"].as_array().unwrap().iter().any(|f| f == "low_resolution")), "the threshold fix applies: {items:?}");
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!((row["extended_until"].as_str(), row["photos"].as_i64()), (Some("2024-03-28"), Some(2)), "{row}");
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["state"], "on_time");
    assert!(app.tree().iter().any(|p| p.starts_with("2024-03/无定河派出所/")), "{:?}", app.tree());
    assert!(app.tree().iter().any(|p| p.starts_with("2024-03/嘎鲁图派出所/③")), "the chosen category is the folder: {:?}", app.tree());
    assert_eq!(points(app), 0.2, "the adoption follows its file");
    let audit = app.ok(&["audit"]);
    assert!(audit.contains("reprocess") || audit.contains("重新处理"), "{audit}");

    // Idempotent: a second run finds nothing to change.
    let after = books(app);
    let again = app.ok(&["reprocess", "--all"]);
    assert!(again.contains("共 4 封，其中 0 封有变化"), "{again}");
    assert_eq!(books(app), after);
}

#[test]
fn reprocess_needs_a_month_or_all_and_says_so_in_chinese() {
    let app = App::new();
    let r = app.run(&["reprocess"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("--cycle") && r.stderr.contains("--all"), "{}", r.stderr);
}

/// A month of mail from three departments, then a rule fix (a lower resolution bar).
fn month_then_fix() -> App {
    let app = App::new();
    for n in 0..9u32 {
        let (from, name) = [("gltpcs@163.com", "嘎鲁图派出所"), ("wdhpcs@163.com", "无定河派出所"), ("tkpcs@qq.com", "图克派出所")][n as usize % 3];
        let date = format!("Tue, {} Mar 2024 10:00:00 +0800", 10 + n);
        let raw = Mail::new(from, &format!("{name}3月份素材{n}"), &date).attach(&format!("①活动{n}.jpg"), &jpeg(60 + n)).attach(&format!("⑥巡逻{n}.jpg"), &jpeg(80 + n)).build();
        app.import_one(&format!("{n}.eml"), &raw);
    }
    let config = std::fs::read_to_string(app.config()).unwrap();
    std::fs::write(app.config(), format!("{config}\n[inspect]\nmin_photo_long_side = 2000\n")).unwrap();
    app
}

#[test]
fn killed_at_any_moment_reprocess_finishes_on_the_next_run_with_the_same_books() {
    let reference = month_then_fix();
    reference.ok(&["reprocess", "--all"]);
    let expected = books(&reference);
    assert!(expected.0.iter().all(|i| i.contains("low_resolution")), "{expected:?}");

    for delay_ms in [150u64, 400, 900] {
        let app = month_then_fix();
        let mut child = app.spawn(&["reprocess", "--all"]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        crate::harness::signal(&child, libc::SIGKILL);
        let _ = child.wait();
        // What the killed run left queued is decided by the next writer; running the
        // command again decides everything once more, to the same result.
        let out = app.ok(&["reprocess", "--all"]);
        assert!(out.contains("共 9 封"), "{out}");
        assert_eq!(books(&app), expected, "killed after {delay_ms} ms");
        assert_eq!(app.items(&[]).len(), 18, "no file recorded twice");
    }
}
