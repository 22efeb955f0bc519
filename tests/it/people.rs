//! Issue 23's people: the roster's people, the author of every work (from the file or
//! folder name, EXIF, the sender, or by hand), a person who moves department, and the
//! roster's errors about people with their line and column.

use serde_json::Value;

use crate::fixtures::{Mail, ZipEntry, b64, jpeg, zip};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

/// Two departments with people: 张三 has a police number, an alias and an address of his own.
pub const ROSTER: &str = r#"
[[department]]
name = "嘎鲁图派出所"
aliases = ["嘎鲁图所"]
senders = ["gltpcs@163.com"]
people = [
  { name = "张三", number = "150621", senders = ["zs@qq.com"], aliases = ["小张"] },
  { name = "李四" },
  { name = "王五" },
]

[[department]]
name = "图克派出所"
aliases = ["图克所"]
senders = ["tkpcs@qq.com"]
people = [{ name = "赵六" }]
"#;

fn app() -> App {
    let app = App::new();
    app.set_roster(ROSTER);
    app
}

/// The item named `name` in `items --json`.
fn item(app: &App, name: &str) -> Value {
    app.items(&[]).into_iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no item {name}"))
}

/// (author, author_source) of an item, as `items --json` gives them.
fn author(app: &App, name: &str) -> (Value, String) {
    let i = item(app, name);
    (i["author"].clone(), i["author_source"].as_str().unwrap().to_string())
}

/// `person list --json`: (department, works) by name.
fn people(app: &App) -> Vec<(String, String, u64)> {
    let v: Value = serde_json::from_str(&app.ok(&["person", "list", "--json"])).unwrap();
    v["people"].as_array().unwrap().iter().map(|p| (p["name"].as_str().unwrap().to_string(), p["department"].as_str().unwrap().to_string(), p["works"].as_u64().unwrap())).collect()
}

/// A JPEG with an EXIF Artist tag (UTF-8, as Chinese cameras write it) in IFD0.
fn with_artist(jpeg: &[u8], artist: &str) -> Vec<u8> {
    let mut value = artist.as_bytes().to_vec();
    value.push(0);
    let mut t = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    t.extend(1u16.to_be_bytes());
    t.extend(0x013Bu16.to_be_bytes());
    t.extend(2u16.to_be_bytes());
    t.extend((value.len() as u32).to_be_bytes());
    t.extend((8u32 + 2 + 12 + 4).to_be_bytes());
    t.extend(0u32.to_be_bytes());
    t.extend(&value);
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(t);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// An MP4 whose moov carries a QuickTime author tag (udta/©aut), as phones write it.
fn with_video_author(mp4: &[u8], author: &str) -> Vec<u8> {
    let at = mp4.windows(4).position(|w| w == b"moov").unwrap() - 4;
    let size = u32::from_be_bytes(mp4[at..at + 4].try_into().unwrap()) as usize;
    let mut tag = (author.len() as u16).to_be_bytes().to_vec();
    tag.extend([0x55, 0xC4]);
    tag.extend(author.as_bytes());
    let aut = [((tag.len() + 8) as u32).to_be_bytes().as_slice(), b"\xa9aut", &tag].concat();
    let udta = [((aut.len() + 8) as u32).to_be_bytes().as_slice(), b"udta", &aut].concat();
    let mut out = mp4[..at].to_vec();
    out.extend(((size + udta.len()) as u32).to_be_bytes());
    out.extend(&mp4[at + 4..at + size]);
    out.extend(udta);
    out.extend(&mp4[at + size..]);
    out
}

/// A mail whose From display name is `name` (the fixtures write 宣传员).
fn from_named(mail: &Mail, name: &str) -> Vec<u8> {
    let raw = String::from_utf8(mail.build()).unwrap();
    raw.replacen(&b64("宣传员".as_bytes()), &b64(name.as_bytes()), 1).into_bytes()
}

#[test]
fn every_work_gets_its_author_from_the_file_name_exif_or_sender_and_only_people_on_the_roster() {
    let app = app();
    let folder = zip(&[ZipEntry::utf8("张三、李四摄/巡逻.jpg", &jpeg(31))]);
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19)
        .attach("摄影：李四.jpg", &jpeg(32))
        .attach("主题党日.jpg", &jpeg(33))
        .attach("赵六摄.jpg", &jpeg(34))
        .attach("IMG_0001.jpg", &with_artist(&jpeg(35), "王五"))
        .attach("IMG_0002.jpg", &with_artist(&jpeg(36), "Canon"))
        .attach("VID_0001.mp4", &with_video_author(&crate::fixtures::mp4_video(12, 1920, 1080, 1_710_813_600), "李四"))
        .attach("素材.zip", &folder);
    app.import_one("a.eml", &mail.build());
    // 张三's own address counts for his department, and names him.
    app.import_one("b.eml", &Mail::new("zs@qq.com", "3月补充", MAR19).attach("IMG_0003.jpg", &jpeg(37)).build());
    // The department's address with a person's name as the display name.
    app.import_one("c.eml", &from_named(&Mail::new("gltpcs@163.com", "3月补充二", MAR19).attach("IMG_0004.jpg", &jpeg(38)), "王五"));

    assert_eq!(author(&app, "摄影：李四.jpg"), ("李四".into(), "file_name".into()));
    assert_eq!(author(&app, "IMG_0001.jpg"), ("王五".into(), "exif".into()));
    assert_eq!(author(&app, "VID_0001.mp4"), ("李四".into(), "exif".into()), "a video's author tag");
    assert_eq!(author(&app, "IMG_0003.jpg"), ("张三".into(), "sender".into()));
    assert_eq!(author(&app, "IMG_0004.jpg"), ("王五".into(), "sender".into()));
    // Words that are not a person of the department: 未署名. 赵六 is 图克派出所's.
    for name in ["主题党日.jpg", "赵六摄.jpg", "IMG_0002.jpg"] {
        assert_eq!(author(&app, name), (Value::Null, "none".into()), "{name}");
        assert_eq!(item(&app, name)["authors"], serde_json::json!([]), "{name}");
    }
    // A folder named for two people: they share the work.
    let shared = app.items(&[]).into_iter().find(|i| i["name"].as_str().unwrap().ends_with("巡逻.jpg")).unwrap();
    assert_eq!(shared["author"], "张三、李四");
    assert_eq!(shared["author_source"], "file_name");
    assert_eq!(
        shared["authors"],
        serde_json::json!([{"name": "张三", "number": "150621", "department": "嘎鲁图派出所", "share": 0.5}, {"name": "李四", "number": "", "department": "嘎鲁图派出所", "share": 0.5}])
    );
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["photos"], 8, "mail from a person's address counts for the department");

    assert_eq!(
        people(&app),
        [("张三".into(), "嘎鲁图派出所".into(), 2), ("李四".into(), "嘎鲁图派出所".into(), 3), ("王五".into(), "嘎鲁图派出所".into(), 2), ("赵六".into(), "图克派出所".into(), 0)]
    );
    // The month's file list (export items) has the author of each file.
    let xlsx = app.dir.path().join("items.xlsx");
    app.ok(&["export", "items", "--month", "2024-03", "--xlsx", xlsx.to_str().unwrap()]);
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut wb, "文件清单").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let col = rows[0].iter().position(|h| h == "作者").expect("an 作者 column");
    let name = rows[0].iter().position(|h| h == "文件名").unwrap();
    let author_of = |file: &str| rows.iter().find(|r| r[name] == file).unwrap_or_else(|| panic!("{file} not exported"))[col].clone();
    assert_eq!((author_of("摄影：李四.jpg"), author_of("主题党日.jpg")), ("李四".to_string(), "未署名".to_string()));
    let text = app.ok(&["person", "list", "--department", "嘎鲁图所"]);
    assert!(text.contains("张三") && text.contains("150621") && !text.contains("赵六") && text.contains("共 3 人"), "{text}");
}

#[test]
fn authors_assigned_by_hand_are_audited_and_kept_by_reprocess() {
    let app = app();
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("张三摄.jpg", &jpeg(41)).attach("小张摄.jpg", &jpeg(42));
    app.import_one("a.eml", &mail.build());
    let id = item(&app, "张三摄.jpg")["id"].as_i64().unwrap().to_string();
    assert_eq!(author(&app, "小张摄.jpg"), ("张三".into(), "file_name".into()), "an alias names its person");

    let out = app.ok(&["author", &id, "--person", "李四", "--person", "150621"]);
    assert!(out.contains("已将文件") && out.contains("李四（嘎鲁图派出所）、张三（嘎鲁图派出所）") && out.contains("原为 张三（嘎鲁图派出所）"), "{out}");
    let i = item(&app, "张三摄.jpg");
    assert_eq!((i["author"].as_str(), i["author_source"].as_str()), (Some("李四、张三"), Some("manual")));
    assert_eq!(i["authors"][0]["share"], 0.5);
    let audit: Vec<Value> = serde_json::from_str::<Value>(&app.ok(&["audit", "--json"])).unwrap().as_array().unwrap().clone();
    assert_eq!(audit[0]["action"], "author");
    assert_eq!(audit[0]["before"], "张三（嘎鲁图派出所）");
    assert_eq!(audit[0]["after"], "李四（嘎鲁图派出所）、张三（嘎鲁图派出所）");
    assert!(app.ok(&["audit"]).contains("指定作者"));

    // The roster changes: 小张 is no longer 张三's alias. reprocess recomputes what the
    // rules found and keeps what a person decided.
    app.set_roster(&ROSTER.replace(", aliases = [\"小张\"]", ""));
    app.ok(&["reprocess", "--all"]);
    let i = item(&app, "张三摄.jpg");
    assert_eq!((i["author"].as_str(), i["author_source"].as_str()), (Some("李四、张三"), Some("manual")));
    assert_eq!(author(&app, "小张摄.jpg"), (Value::Null, "none".into()));

    // Names that are not one person are refused in words; nothing changes.
    let r = app.run(&["author", &id, "--person", "孙七"]);
    assert!(!r.ok && r.stderr.contains("名单（departments.toml）中没有“孙七”"), "{}", r.stderr);
    app.set_roster(&ROSTER.replace("{ name = \"赵六\" }", "{ name = \"李四\" }"));
    let r = app.run(&["author", &id, "--person", "李四"]);
    assert!(!r.ok && r.stderr.contains("“李四”不止一人：李四@嘎鲁图派出所、李四@图克派出所"), "{}", r.stderr);
    let out = app.ok(&["author", &id, "--person", "李四@图克所"]);
    assert!(out.contains("李四（图克派出所）"), "{out}");
}

#[test]
fn a_person_who_moves_keeps_their_history_only_with_a_police_number_and_past_credit_stays() {
    let app = app();
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("张三摄.jpg", &jpeg(51)).attach("李四摄.jpg", &jpeg(52));
    app.import_one("a.eml", &mail.build());
    // Both move to 图克派出所: 张三 with his police number, 李四 without one.
    app.set_roster(
        r#"
[[department]]
name = "嘎鲁图派出所"
senders = ["gltpcs@163.com"]
people = [{ name = "王五" }]

[[department]]
name = "图克派出所"
senders = ["tkpcs@qq.com"]
people = [{ name = "赵六" }, { name = "张三", number = "150621" }, { name = "李四" }]
"#,
    );
    let now = people(&app);
    assert!(now.contains(&("张三".into(), "图克派出所".into(), 1)), "{now:?}");
    assert!(now.contains(&("李四".into(), "图克派出所".into(), 0)), "{now:?}");
    // The work stays 嘎鲁图派出所's, and so does its author's credit.
    let i = item(&app, "张三摄.jpg");
    assert_eq!(i["department"], "嘎鲁图派出所");
    assert_eq!(i["authors"][0]["department"], "嘎鲁图派出所");
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["photos"], 2);
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["photos"], 0);
    // reprocess cannot find them on 嘎鲁图派出所's roster any more: 张三's credit follows his
    // number; 李四's work, without one, is 未署名 now.
    app.ok(&["reprocess", "--all"]);
    assert_eq!(author(&app, "张三摄.jpg"), ("张三".into(), "file_name".into()));
    assert_eq!(item(&app, "张三摄.jpg")["authors"][0]["department"], "嘎鲁图派出所");
    assert_eq!(author(&app, "李四摄.jpg"), (Value::Null, "none".into()));
    assert!(people(&app).contains(&("张三".into(), "图克派出所".into(), 1)));
}

/// check-config's first line, with the test folder written as DIR.
fn config_error(app: &App, roster: &str) -> String {
    app.set_roster(roster);
    let r = app.run(&["check-config"]);
    assert!(!r.ok, "check-config passed:\n{}", r.stdout);
    r.stderr.replace(app.dir.path().to_str().unwrap(), "DIR").lines().next().unwrap().to_string()
}

#[test]
fn mistakes_in_the_people_list_are_config_errors_with_line_and_column() {
    let app = App::new();
    let dep = "[[department]]\nname = \"嘎鲁图派出所\"\nsenders = [\"gltpcs@163.com\"]\n";
    assert_eq!(
        config_error(&app, &format!("{dep}people = [\n  {{ name = \"张三\" }},\n  {{ name = \"张三\" }},\n]\n")),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 6 行第 12 列的 `department.people.name`：第 1 个单位“嘎鲁图派出所”的人员“张三”写了两次"
    );
    assert_eq!(
        config_error(&app, &format!("{dep}people = [\n  {{ name = \"张三\", senders = [\"zs@qq.com\"] }},\n  {{ name = \"李四\", senders = [\"ZS@qq.com\"] }},\n]\n")),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 6 行第 29 列的 `department.people.senders`：第 1 个单位“嘎鲁图派出所”的人员“李四”的发件地址 zs@qq.com 已属于人员“张三”"
    );
    assert_eq!(
        config_error(&app, &format!("{dep}people = [{{ name = \"张三\", number = \"150621\" }}]\n[[department]]\nname = \"图克派出所\"\nsenders = [\"tkpcs@qq.com\"]\npeople = [{{ name = \"李四\", number = \"150621\" }}]\n")),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 8 行第 35 列的 `department.people.number`：第 2 个单位“图克派出所”的人员“李四”的警号 150621 已属于第 1 个单位“嘎鲁图派出所”的“张三”"
    );
    assert_eq!(
        config_error(&app, &format!("[[department]]\nname = \"图克派出所\"\nsenders = [\"tkpcs@qq.com\"]\n{dep}people = [{{ name = \"张三\", senders = [\"tkpcs@qq.com\"] }}]\n")),
        "错误：配置错误 (config error): 文件 DIR/departments.toml 第 7 行第 37 列的 `department.people.senders`：第 2 个单位“嘎鲁图派出所”的人员“张三”的发件地址 tkpcs@qq.com 已属于第 1 个单位“图克派出所”"
    );
}

/// The points worked by hand from the 2024 rubric (图片视频报送: 旗局 0.1, 市局 0.2, 公安厅 0.3;
/// each work once at its highest level), shared evenly and summed exactly.
#[test]
fn score_people_gives_each_person_their_share_of_adopted_works_and_the_candidates() {
    let app = app();
    let apr = "Wed, 10 Apr 2024 10:00:00 +0800";
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所4月素材", apr)
        .attach("张三、李四摄.jpg", &jpeg(71))
        .attach("王五摄.jpg", &jpeg(72))
        .attach("张三摄.jpg", &jpeg(73))
        .attach("张三、李四、王五摄.jpg", &jpeg(74));
    app.import_one("a.eml", &mail.build());
    let id = |name: &str| item(&app, name)["id"].as_i64().unwrap().to_string();
    for (name, level, date) in [
        ("张三、李四摄.jpg", "banner", "2024-04-12"),
        ("张三、李四摄.jpg", "city", "2024-04-20"),
        ("王五摄.jpg", "province", "2024-05-03"),
        ("张三摄.jpg", "banner", "2024-04-15"),
        ("张三、李四、王五摄.jpg", "banner", "2024-04-16"),
    ] {
        app.ok(&["adopt", &id(name), "--level", level, "--date", date]);
    }
    let year: Value = serde_json::from_str(&app.ok(&["score", "people", "--year", "2024", "--json"])).unwrap();
    assert_eq!(year["year"], 2024);
    let row = |v: &Value, name: &str| v["people"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} not in {v}")).clone();
    // 王五 0.3 + 0.1/3; 张三 0.2/2 + 0.1 + 0.1/3; 李四 0.2/2 + 0.1/3.
    let points = |v: &Value| ["王五", "张三", "李四", "赵六"].map(|n| (row(v, n)["points"].as_f64().unwrap(), row(v, n)["rank"].as_u64().unwrap()));
    assert_eq!(points(&year), [(0.33, 1), (0.23, 2), (0.13, 3), (0.0, 4)]);
    assert_eq!(row(&year, "张三")["department"], "嘎鲁图派出所");
    assert_eq!(row(&year, "张三")["counted_works"], 3);
    let works: Vec<(String, String, f64)> = row(&year, "张三")["works"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["name"].as_str().unwrap().to_string(), w["level"].as_str().unwrap().to_string(), w["points"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        works,
        [("张三摄.jpg".to_string(), "banner".to_string(), 0.1), ("张三、李四、王五摄.jpg".into(), "banner".into(), 0.03), ("张三、李四摄.jpg".into(), "city".into(), 0.1)]
    );
    let list: Value = serde_json::from_str(&app.ok(&["person", "list", "--json"])).unwrap();
    assert_eq!(list["people"][0]["points"], 0.23, "person list gives 张三's points too: {list}");
    let candidates: Vec<&str> = year["candidates"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(candidates, ["王五", "张三", "李四"], "赵六 earned nothing and is no candidate");

    // April alone: 王五's 公安厅 adoption is May's.
    let april: Value = serde_json::from_str(&app.ok(&["score", "people", "--month", "2024-04", "--json"])).unwrap();
    assert_eq!(row(&april, "张三")["points"], 0.23);
    assert_eq!(row(&april, "王五")["points"], 0.03);

    // Quarters: the year-to-date at the quarter's end less at its start.
    let q2: Value = serde_json::from_str(&app.ok(&["score", "people", "--quarter", "2024Q2", "--json"])).unwrap();
    assert_eq!((q2["quarter"].as_str(), points(&q2)), (Some("2024Q2"), points(&year)));
    let q3: Value = serde_json::from_str(&app.ok(&["score", "people", "--quarter", "2024Q3", "--json"])).unwrap();
    assert_eq!(row(&q3, "王五")["points"], 0.0);
    assert!(q3["candidates"].as_array().unwrap().is_empty());

    let xlsx = app.dir.path().join("people.xlsx");
    app.ok(&["score", "people", "--year", "2024", "--xlsx", xlsx.to_str().unwrap()]);
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(calamine::Reader::sheet_names(&wb), ["2024年个人积分", "得分作品", "优秀宣传员候选"]);
    let sheet = calamine::Reader::worksheet_range(&mut wb, "2024年个人积分").unwrap();
    let first: Vec<String> = sheet.rows().nth(1).unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(first, ["1", "王五", "", "嘎鲁图派出所", "0.33", "2", "2"]);

    let text = app.ok(&["score", "people", "--year", "2024"]);
    assert!(text.contains("优秀宣传员候选") && text.contains("1. 王五（嘎鲁图派出所）0.33 分，作品 2 件，采用 2 次"), "{text}");
    let only: Value = serde_json::from_str(&app.ok(&["score", "people", "--department", "图克所", "--json"])).unwrap();
    let names: Vec<&str> = only["people"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["赵六"]);
    assert_eq!(only["candidates"].as_array().unwrap().len(), 3, "the candidates are the whole bureau's");

    // The year-end 通报 names them with the numbers behind each; a quarter's does not.
    let tongbao = app.ok(&["report", "tongbao", "--year", "2024", "--as-of", "2025-01-05"]);
    let flat: String = tongbao.split_whitespace().collect();
    assert!(flat.contains("优秀宣传员候选"), "{tongbao}");
    assert!(flat.contains("1.王五（嘎鲁图派出所），个人积分0.33分，报送作品2件，被采用2次。"), "{tongbao}");
    assert!(flat.contains("3.李四（嘎鲁图派出所），个人积分0.13分"), "{tongbao}");
    let quarter = app.ok(&["report", "tongbao", "--quarter", "2024Q2", "--as-of", "2024-07-05"]);
    assert!(!quarter.contains("优秀宣传员"), "{quarter}");
}
