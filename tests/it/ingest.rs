//! A department's package becomes counted, categorised, stored items.

use crate::fixtures::{Mail, ZipEntry, b64, jpeg, mp4, zip};
use crate::harness::{App, summary_count};

pub const MAR19: &str = "Tue, 19 Mar 2024 10:00:00 +0800";
pub const AS_OF: &str = "2024-03-28T12:00:00+08:00";

pub fn package_zip() -> Vec<u8> {
    zip(&[
        ZipEntry::gbk("嘎鲁图派出所3月\\①党建活动\\IMG_0001.jpg", &jpeg(1)),
        ZipEntry { deflate: true, ..ZipEntry::gbk("嘎鲁图派出所3月\\5、反诈宣传\\IMG_0002.jpg", &jpeg(2)) },
        ZipEntry::gbk("嘎鲁图派出所3月\\⑩民警生活\\训练.mp4", &mp4(3)),
    ])
}

#[test]
fn a_package_is_counted_categorised_stored_and_filed() {
    let app = App::new();
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月宣传素材", MAR19)
        .attach("嘎鲁图派出所3月.zip", &package_zip())
        .attach("夜间巡逻.jpg", &jpeg(4));
    let summary = app.import_one("a.eml", &mail.build());
    assert_eq!(summary_count(&summary, "计入报送"), 1, "{summary}");

    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["state"], "on_time");
    assert_eq!(row["first_received_at"], "2024-03-19T10:00:00+08:00");
    assert_eq!(row["packages"], 1);
    assert_eq!(row["photos"], 3);
    assert_eq!(row["videos"], 1);
    assert_eq!(row["by_category"]["1"], 1);
    assert_eq!(row["by_category"]["5"], 1);
    assert_eq!(row["by_category"]["6"], 1, "巡逻 is a ⑥ keyword");
    assert_eq!(row["by_category"]["10"], 1);
    assert_eq!(row["by_category"]["uncategorized"], 0);

    let tree = app.tree();
    assert!(tree.contains(&"2024-03/嘎鲁图派出所/①党的建设/IMG_0001.jpg".to_string()), "{tree:?}");
    assert!(tree.contains(&"2024-03/嘎鲁图派出所/⑤专项行动/IMG_0002.jpg".to_string()), "{tree:?}");
    assert!(tree.contains(&"2024-03/嘎鲁图派出所/⑩民警辅警生活点滴/训练.mp4".to_string()), "{tree:?}");
    assert!(tree.contains(&"2024-03/嘎鲁图派出所/⑥公共安全/夜间巡逻.jpg".to_string()), "{tree:?}");

    // The tree file is the blob, and the blob sits at blobs/ab/cd/<sha256>.
    let items = app.items(&["--cycle", "2024-03"]);
    let first = items.iter().find(|i| i["name"].as_str().unwrap().ends_with("IMG_0001.jpg")).unwrap();
    assert_eq!(first["name"], "嘎鲁图派出所3月.zip/嘎鲁图派出所3月/①党建活动/IMG_0001.jpg");
    let sha = first["sha256"].as_str().unwrap();
    let blob = app.data().join("blobs").join(&sha[..2]).join(&sha[2..4]).join(sha);
    assert_eq!(std::fs::read(&blob).unwrap(), jpeg(1));
    assert_eq!(std::fs::read(app.data().join("tree/2024-03/嘎鲁图派出所/①党的建设/IMG_0001.jpg")).unwrap(), jpeg(1));
    // The raw mail is kept too.
    let raw_count = walkdir_count(&app.data().join("raw"));
    assert_eq!(raw_count, 1);
}

fn walkdir_count(p: &std::path::Path) -> usize {
    std::fs::read_dir(p).unwrap().flatten().map(|e| if e.path().is_dir() { walkdir_count(&e.path()) } else { 1 }).sum()
}

#[test]
fn importing_the_same_mail_again_changes_nothing() {
    let app = App::new();
    let mail = Mail::new("gltpcs@163.com", "3月素材", MAR19).attach("a.jpg", &jpeg(10));
    let raw = mail.build();
    app.import_one("a.eml", &raw);
    let before = app.status("2024-03", AS_OF);
    let again = app.import_one("b.eml", &raw);
    assert_eq!(summary_count(&again, "此前已导入"), 1, "{again}");
    assert_eq!(summary_count(&again, "计入报送"), 0);
    // The same Message-ID relayed with an extra Received header is the same mail.
    let relayed = mail.received("Tue, 19 Mar 2024 10:00:05 +0800").build();
    let third = app.import_one("c.eml", &relayed);
    assert_eq!(summary_count(&third, "此前已导入"), 1, "{third}");
    assert_eq!(app.status("2024-03", AS_OF), before);
    assert_eq!(app.items(&[]).len(), 1);
}

#[test]
fn the_same_file_twice_in_a_cycle_counts_once() {
    let app = App::new();
    let photo = jpeg(20);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", MAR19).attach("党建.jpg", &photo).build());
    app.import_one("b.eml", &Mail::new("gltpcs@163.com", "3月素材补充", "Wed, 20 Mar 2024 10:00:00 +0800").attach("党建活动.jpg", &photo).attach("另一张.jpg", &jpeg(21)).build());
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["packages"], 2);
    assert_eq!(row["photos"], 2);
    assert_eq!(row["flags"]["duplicate"], 1);
    let items = app.items(&[]);
    let dup = items.iter().find(|i| i["status"] == "duplicate").expect("a duplicate item");
    assert_eq!(dup["name"], "党建活动.jpg");
    assert_eq!(dup["path"], "", "duplicates are not filed twice");
    // Another department sending the same photo is not a duplicate of this one: it is a
    // shared work, counted for the first sender only (issue 9).
    app.import_one("c.eml", &Mail::new("wdhpcs@163.com", "3月素材", MAR19).attach("x.jpg", &photo).build());
    let w = app.row("2024-03", AS_OF, "无定河派出所");
    assert_eq!((w["photos"].as_i64(), w["shared"].as_i64(), w["flags"]["duplicate"].as_i64()), (Some(0), Some(1), None), "{w}");
}

#[test]
fn sources_eml_folders_maildir_and_mbox() {
    let app = App::new();
    let root = app.dir.path().join("export");
    for d in ["emls/sub", "md/cur", "md/new", "md/tmp"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let m = |from: &str, seed: u32| Mail::new(from, "3月素材", MAR19).attach("p.jpg", &jpeg(seed)).build();
    std::fs::write(root.join("emls/sub/1.eml"), m("gltpcs@163.com", 30)).unwrap();
    std::fs::write(root.join("md/cur/1700000000.1.host:2,S"), m("wdhpcs@163.com", 31)).unwrap();
    std::fs::write(root.join("md/new/1700000001.2.host"), m("tkpcs@qq.com", 32)).unwrap();
    let mut mbox = Vec::new();
    for (i, from) in ["wsq_jgdd@163.com", "wsq_kss@163.com"].iter().enumerate() {
        mbox.extend(format!("From {from} Tue Mar 19 10:00:00 2024\n").as_bytes());
        mbox.extend(m(from, 33 + i as u32));
        mbox.extend(b"\n");
    }
    let mbox_path = app.dir.path().join("box.mbox");
    std::fs::write(&mbox_path, mbox).unwrap();
    let out = app.ok(&["import", root.to_str().unwrap(), mbox_path.to_str().unwrap()]);
    assert!(out.contains("共 5 封邮件"), "{out}");
    assert_eq!(summary_count(&out, "计入报送"), 5, "{out}");
    let s = app.status("2024-03", AS_OF);
    let on_time: Vec<&str> = s["departments"].as_array().unwrap().iter().filter(|d| d["state"] == "on_time").map(|d| d["department"].as_str().unwrap()).collect();
    assert_eq!(on_time, ["交管大队", "嘎鲁图派出所", "无定河派出所", "图克派出所", "看守所"]);
}

#[test]
fn receipt_time_is_the_topmost_received_header() {
    let app = App::new();
    // Written on the 25th, received by the server after midnight: late.
    let mail = Mail::new("gltpcs@163.com", "素材", "Mon, 25 Mar 2024 23:50:00 +0800")
        .received("Tue, 26 Mar 2024 00:10:00 +0800")
        .attach("a.jpg", &jpeg(40));
    app.import_one("a.eml", &mail.build());
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["state"], "late");
    assert_eq!(row["late_by_seconds"], 600);
}

#[test]
fn external_links_are_recorded_not_counted_as_works() {
    let app = App::new();
    let body = "从QQ邮箱发来的超大附件\n\n嘎鲁图派出所3月视频.mp4 (286.40M, 2024年4月23日 15:02 到期)进入下载页面：https://wx.mail.qq.com/ftn/download?func=3&key=abc&code=def&k=1\n";
    let mut mail = Mail::new("gltpcs@163.com", "3月视频", MAR19).no_parts();
    mail.parts.push(crate::fixtures::Part::raw("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", b64(body.as_bytes()).as_bytes()));
    // The HTML copy of the same body names the same link; it is recorded once.
    let html = format!("<div>{}</div>", body.replace('&', "&amp;").replace('\n', "<br>"));
    mail.parts.push(crate::fixtures::Part::html(&html));
    let out = app.import_one("a.eml", &mail.build());
    assert_eq!(summary_count(&out, "计入报送"), 1, "a link is a package: {out}");
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["external_links"], 1);
    assert_eq!(row["photos"], 0);
    assert_eq!(row["videos"], 0);
    assert_eq!(row["flags"]["external_link"], 1);
    assert_eq!(row["state"], "on_time", "a link arriving on time makes the department on time");
    let items = app.items(&[]);
    assert_eq!(items[0]["kind"], "link");
    assert_eq!(items[0]["name"], "嘎鲁图派出所3月视频.mp4");
    assert!(items[0]["url"].as_str().unwrap().starts_with("https://wx.mail.qq.com/ftn/download"));
}

#[test]
fn recategorize_and_tree_rebuild() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", MAR19).attach("IMG_9.jpg", &jpeg(50)).build());
    let items = app.items(&[]);
    assert_eq!(items[0]["category"], "uncategorized");
    assert_eq!(app.tree(), ["2024-03/嘎鲁图派出所/未分类/IMG_9.jpg"]);
    let id = items[0]["id"].to_string();
    app.ok(&["recategorize", &id, "7"]);
    assert_eq!(app.tree(), ["2024-03/嘎鲁图派出所/⑦智慧警务/IMG_9.jpg"]);
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["by_category"]["7"], 1);
    std::fs::remove_dir_all(app.data().join("tree")).unwrap();
    let out = app.ok(&["tree", "rebuild"]);
    assert!(out.contains("1 个文件"), "{out}");
    assert_eq!(app.tree(), ["2024-03/嘎鲁图派出所/⑦智慧警务/IMG_9.jpg"]);
}
