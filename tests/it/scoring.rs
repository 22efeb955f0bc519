//! Scoring (issue 13): adoptions of submitted works, ledger entries, every
//! department's points under the 2024 考核细则, the audit log and the Excel exports,
//! checked with the seed's numbers.

use calamine::{Data, Reader, Xlsx, open_workbook};
use serde_json::Value;

use crate::fixtures::{Mail, encode_jpeg, encode_png, jpeg, texture, with_exif};
use crate::harness::App;
use crate::ingest::MAR19;

const APR10: &str = "Wed, 10 Apr 2024 10:00:00 +0800";

/// A real, decodable JPEG as a phone writes it.
fn photo(seed: u32) -> Vec<u8> {
    with_exif(&encode_jpeg(&texture(1600, 1200, seed), 90), 1, Some("2024:04:08 10:00:00"), "HUAWEI", "HUAWEI P40")
}

/// The same picture made smaller and saved again: a near-duplicate of `photo(seed)`.
fn resized(seed: u32) -> Vec<u8> {
    let small = image::imageops::resize(&texture(1600, 1200, seed), 1200, 900, image::imageops::FilterType::Triangle);
    with_exif(&encode_jpeg(&small, 75), 1, Some("2024:04:08 10:00:00"), "HUAWEI", "HUAWEI P40")
}

fn id_of(app: &App, name: &str) -> String {
    let items = app.items(&[]);
    let i = items.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no item {name} in {items:?}"));
    i["id"].as_i64().unwrap().to_string()
}

fn scores(app: &App, args: &[&str]) -> Value {
    let mut a = vec!["score", "--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&app.ok(&a)).unwrap()
}

fn department<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["departments"].as_array().unwrap().iter().find(|d| d["department"] == name).unwrap_or_else(|| panic!("{name} not in {s}"))
}

/// (raw, points, max) of one item of one department.
fn item(s: &Value, name: &str, item: &str) -> (f64, f64, f64) {
    let d = department(s, name);
    let i = d["items"].as_array().unwrap().iter().find(|i| i["item"] == item).unwrap_or_else(|| panic!("{item} not in {d}"));
    (i["raw"].as_f64().unwrap(), i["points"].as_f64().unwrap(), i["max"].as_f64().unwrap())
}

fn total(s: &Value, name: &str) -> f64 {
    department(s, name)["total"].as_f64().unwrap()
}

/// Deduction items in full (矩阵响应 2, 政务新媒体 1, 典型选树 3), additions at 0.
const NOTHING: f64 = 6.0;

#[test]
fn eighty_banner_adoptions_cap_at_seven() {
    let app = App::new();
    let mut mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所4月素材", APR10);
    for n in 0..80 {
        mail = mail.attach(&format!("③安保{n:02}.jpg"), &jpeg(1000 + n));
    }
    app.import_one("a.eml", &mail.build());
    let ids: Vec<String> = app.items(&[]).iter().map(|i| i["id"].as_i64().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 80);
    let mut args = vec!["adopt"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--level", "banner", "--date", "2024-04-15", "--channel", "乌审公安微信公众号"]);
    let out = app.ok(&args);
    assert_eq!(out.lines().filter(|l| l.starts_with("已登记采用")).count(), 80, "{out}");
    let s = scores(&app, &["--year", "2024"]);
    assert_eq!(item(&s, "嘎鲁图派出所", "图片视频报送"), (8.0, 7.0, 7.0));
    assert_eq!(total(&s, "嘎鲁图派出所"), NOTHING + 7.0);
    assert_eq!(department(&s, "嘎鲁图派出所")["rank"], 1);
    assert_eq!(s["year"], 2024);
    // The month holds them too; the next month does not.
    assert_eq!(item(&scores(&app, &["--month", "2024-04"]), "嘎鲁图派出所", "图片视频报送").1, 7.0);
    assert_eq!(item(&scores(&app, &["--month", "2024-05"]), "嘎鲁图派出所", "图片视频报送").1, 0.0);
    let table = app.ok(&["score", "--department", "嘎鲁图所"]);
    assert!(table.contains("基础业务 · 宣传策划 · 图片视频报送") && table.contains("8.00") && table.contains("7.00"), "{table}");
}

#[test]
fn a_work_adopted_at_banner_and_city_scores_point_two_once_and_every_change_is_audited() {
    adopted_at_banner_and_city_scores_once_and_is_audited(&App::new());
}

/// On `app` (also on PostgreSQL, `on_postgres`): a work adopted at banner and city
/// level scores 0.2 once; withdrawing one leaves the other; every change is audited.
pub fn adopted_at_banner_and_city_scores_once_and_is_audited(app: &App) {
    app.import_one("a.eml", &Mail::new("tkpcs@qq.com", "图克派出所4月素材", APR10).attach("①党建.jpg", &jpeg(1)).attach("②练兵.jpg", &jpeg(2)).build());
    let work = id_of(app, "①党建.jpg");
    let tester = [("USER", "zhangsan")];
    let r = app.run_env(&["adopt", &work, "--level", "banner", "--date", "2024-04-12"], &tester);
    assert!(r.ok, "{}", r.stderr);
    let r = app.run_env(&["adopt", &work, "--level", "city", "--date", "2024-04-20", "--url", "https://mp.weixin.qq.com/s/x"], &tester);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("该作品此前已登记：2024-04-12 旗局采用"), "{}", r.stdout);
    let s = scores(app, &[]);
    assert_eq!(item(&s, "图克派出所", "图片视频报送"), (0.2, 0.2, 7.0));
    assert_eq!(total(&s, "图克派出所"), NOTHING + 0.2);

    // --explain lists both adoptions and says which one counts.
    let ex = app.ok(&["score", "--explain", "图克所"]);
    assert!(ex.contains("图克派出所 得分明细（2 条）"), "{ex}");
    assert!(ex.contains(&format!("作品 {work}「①党建.jpg」被旗局采用，图片视频报送 +0.10；同一作品只计分一次，取最高分")), "{ex}");
    assert!(ex.contains(&format!("作品 {work}「①党建.jpg」被市局采用，图片视频报送 +0.20")), "{ex}");
    let j = scores(app, &["--explain", "图克派出所"]);
    let lines = department(&j, "图克派出所")["lines"].as_array().unwrap().clone();
    assert_eq!(lines.iter().map(|l| l["counted"].as_f64().unwrap()).collect::<Vec<_>>(), [0.0, 0.2]);

    // Withdrawing the city adoption leaves the banner one: 0.1.
    let city_id = lines[1]["source"]["id"].as_i64().unwrap().to_string();
    let r = app.run_env(&["unadopt", &city_id], &tester);
    assert!(r.ok && r.stdout.contains(&format!("已撤销采用 {city_id}")), "{}{}", r.stdout, r.stderr);
    assert_eq!(item(&scores(app, &[]), "图克派出所", "图片视频报送").1, 0.1);
    assert!(!app.run(&["unadopt", &city_id]).ok);

    // The audit log: who, what, before and after, newest first.
    let audit: Vec<Value> = serde_json::from_str::<Value>(&app.ok(&["audit", "--json"])).unwrap().as_array().unwrap().clone();
    let actions: Vec<&str> = audit.iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["unadopt", "adopt", "adopt"]);
    assert!(audit.iter().all(|a| a["who"] == "cli:zhangsan"), "{audit:?}");
    let before: Value = serde_json::from_str(audit[0]["before"].as_str().unwrap()).unwrap();
    assert_eq!((before["level"].as_str(), before["url"].as_str()), (Some("city"), Some("https://mp.weixin.qq.com/s/x")));
    assert_eq!(audit[0]["after"], "");
    let text = app.ok(&["audit"]);
    assert!(text.contains("cli:zhangsan  撤销采用") && text.contains("登记采用"), "{text}");
}

#[test]
fn adopting_a_copy_of_an_adopted_work_adds_nothing_and_shared_works_score_for_the_first_sender() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所4月素材", APR10).attach("①党建.jpg", &photo(61)).build());
    app.import_one("b.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所4月素材补充", APR10).attach("①学习.jpg", &resized(61)).build());
    app.import_one("c.eml", &Mail::new("tkpcs@qq.com", "图克派出所4月素材", APR10).attach("联合行动.jpg", &photo(61)).build());
    let (original, copy, shared) = (id_of(&app, "①党建.jpg"), id_of(&app, "①学习.jpg"), id_of(&app, "联合行动.jpg"));
    let items = app.items(&[]);
    let near = items.iter().find(|i| i["name"] == "①学习.jpg").unwrap();
    assert!(near["flags"].as_array().unwrap().contains(&Value::from("near_duplicate")), "{near}");
    assert_eq!(items.iter().find(|i| i["name"] == "联合行动.jpg").unwrap()["status"], "shared");

    app.ok(&["adopt", &original, "--level", "city", "--date", "2024-04-15"]);
    let out = app.ok(&["adopt", &copy, "--level", "city", "--date", "2024-04-16"]);
    assert!(out.contains(&format!("是作品 {original}「①党建.jpg」的副本，按原作品计分")), "{out}");
    let s = scores(&app, &[]);
    assert_eq!(item(&s, "嘎鲁图派出所", "图片视频报送"), (0.2, 0.2, 7.0), "the copy adds nothing");
    // The other department's copy of the same photo is the same work: it lifts the
    // work to its highest level, once, for the department that sent it first.
    let out = app.ok(&["adopt", &shared, "--level", "province", "--date", "2024-04-18"]);
    assert!(out.contains("计入 嘎鲁图派出所"), "{out}");
    let s = scores(&app, &[]);
    assert_eq!(item(&s, "嘎鲁图派出所", "图片视频报送"), (0.3, 0.3, 7.0));
    assert_eq!(item(&s, "图克派出所", "图片视频报送"), (0.0, 0.0, 7.0));
}

#[test]
fn refused_decoration_and_duplicate_files_cannot_be_adopted() {
    let app = App::new();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend([0u8; 100]);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("照片.jpg", &exe).attach("好的.jpg", &jpeg(5)).attach("再发一次.jpg", &jpeg(5)).build());
    let logo = encode_png(&texture(120, 40, 1));
    app.import_one("b.eml", &crate::counted::qq_with_signature("嘎鲁图派出所3月宣传素材", &logo, &[("①党建活动.jpg", &jpeg(6))]));
    let items = app.items(&[]);
    let id = |status: &str| items.iter().find(|i| i["status"] == status).unwrap_or_else(|| panic!("no {status} in {items:?}"))["id"].as_i64().unwrap().to_string();
    let good = id_of(&app, "好的.jpg");
    for (status, why) in [
        ("rejected", "「照片.jpg」已拒收（"),
        ("decoration", "是邮件正文中的装饰图片（如签名图标），不是作品，不能登记采用"),
        ("duplicate", &format!("是重复报送的文件，与文件 {good} 完全相同；请登记文件 {good}")),
    ] {
        let r = app.run(&["adopt", &good, &id(status), "--level", "city", "--date", "2024-03-30"]);
        assert!(!r.ok, "{status}");
        assert!(r.stderr.contains(why), "{status}: {}", r.stderr);
        assert!(r.stderr.contains("没有登记任何采用"), "{}", r.stderr);
    }
    let r = app.run(&["adopt", "99999", "--level", "city"]);
    assert!(r.stderr.contains("没有编号为 99999 的文件"), "{}", r.stderr);
    let r = app.run(&["adopt", &good, "--level", "county"]);
    assert!(r.stderr.contains("采用级别 \"county\" 无法识别"), "{}", r.stderr);
    // Nothing was recorded: all or none.
    assert_eq!(item(&scores(&app, &[]), "嘎鲁图派出所", "图片视频报送").0, 0.0);
    assert_eq!(app.ok(&["audit"]).trim(), "还没有操作记录。");
}

#[test]
fn matrix_response_deductions_stop_at_zero() {
    let app = App::new();
    for day in 1..=11 {
        let date = format!("2024-05-{day:02}");
        app.ok(&["score", "add", "看守所", "--item", "矩阵响应", "--points", "-0.2", "--date", &date, "--note", "转发任务未完成"]);
    }
    let s = scores(&app, &[]);
    let (raw, points, max) = item(&s, "看守所", "矩阵响应");
    assert!((raw - -0.2).abs() < 1e-9 && points == 0.0 && max == 2.0, "{raw} {points} {max}");
    assert_eq!(total(&s, "看守所"), NOTHING - 2.0);
    let r = app.run(&["score", "add", "看守所", "--item", "矩阵响应", "--points", "-0.3", "--date", "2024-05-12"]);
    assert!(r.stderr.contains("「矩阵响应」不能登记 -0.30 分。可登记的分值：-0.20（转发、投票任务未完成）"), "{}", r.stderr);
    let r = app.run(&["score", "add", "看守所", "--item", "图片视频报送", "--points", "0.1", "--date", "2024-05-12"]);
    assert!(r.stderr.contains("按报送作品的采用计分，不能手工登记"), "{}", r.stderr);
    let r = app.run(&["score", "add", "看守所", "--item", "宣传", "--points", "0.1", "--date", "2024-05-12"]);
    assert!(r.stderr.contains("考核细则中没有项目「宣传」。可登记的项目：市局矩阵策划、矩阵响应、创佳绩"), "{}", r.stderr);
    // list and remove, audited.
    let list: Vec<Value> = serde_json::from_str::<Value>(&app.ok(&["score", "list", "--json", "--department", "看守所"])).unwrap().as_array().unwrap().clone();
    assert_eq!(list.len(), 11);
    assert_eq!((list[0]["points"].as_f64(), list[0]["note"].as_str()), (Some(-0.2), Some("转发任务未完成")));
    let first = list[0]["id"].as_i64().unwrap().to_string();
    assert!(app.ok(&["score", "remove", &first]).contains(&format!("已删除计分登记 {first}")));
    assert_eq!(item(&scores(&app, &[]), "看守所", "矩阵响应").1, 0.0, "ten deductions still take it all");
    app.ok(&["score", "remove", &list[1]["id"].as_i64().unwrap().to_string()]);
    assert_eq!(item(&scores(&app, &[]), "看守所", "矩阵响应").1, 0.2);
    let audit: Vec<Value> = serde_json::from_str::<Value>(&app.ok(&["audit", "--json", "--limit", "3"])).unwrap().as_array().unwrap().clone();
    assert_eq!(audit.iter().map(|a| a["action"].as_str().unwrap()).collect::<Vec<_>>(), ["score_remove", "score_remove", "score_add"]);
}

#[test]
fn new_media_cases_double_on_negative_opinion_and_stop_at_zero() {
    let app = App::new();
    let add = |date: &str, doubled: bool| {
        let mut a = vec!["score", "add", "图克所", "--item", "政务新媒体", "--points", "-0.2", "--date", date, "--note", "擅自开设抖音号被市局通报"];
        if doubled {
            a.push("--negative-opinion");
        }
        app.ok(&a)
    };
    assert!(add("2024-06-03", true).contains("翻倍为 -0.40"));
    assert_eq!(item(&scores(&app, &[]), "图克派出所", "政务新媒体"), (0.6, 0.6, 1.0));
    add("2024-06-10", false);
    assert_eq!(item(&scores(&app, &[]), "图克派出所", "政务新媒体").1, 0.4);
    add("2024-07-01", true);
    let (raw, points, _) = item(&scores(&app, &[]), "图克派出所", "政务新媒体");
    assert!((raw - 0.0).abs() < 1e-9 && points == 0.0, "{raw} {points}");
    add("2024-07-02", true);
    let (raw, points, _) = item(&scores(&app, &[]), "图克派出所", "政务新媒体");
    assert!((raw - -0.4).abs() < 1e-9 && points == 0.0, "扣满1分止: {raw} {points}");
    let r = app.run(&["score", "add", "图克所", "--item", "矩阵响应", "--points", "-0.2", "--date", "2024-06-03", "--negative-opinion"]);
    assert!(r.stderr.contains("「矩阵响应」没有翻倍扣分的规定"), "{}", r.stderr);
}

#[test]
fn the_best_star_deduction_is_refused_outside_march_to_august() {
    let app = App::new();
    for date in ["2024-02-20", "2024-09-01", "2024-12-15"] {
        let r = app.run(&["score", "add", "拘留所", "--item", "典型选树", "--points", "-0.5", "--date", date]);
        assert!(!r.ok, "{date}");
        assert!(r.stderr.contains("「典型选树」只考核 3月、4月、5月、6月、7月、8月"), "{}", r.stderr);
    }
    app.ok(&["score", "add", "拘留所", "--item", "典型选树", "--points", "-0.5", "--date", "2024-03-31", "--note", "3月最美之星未推荐"]);
    let r = app.run(&["score", "add", "拘留所", "--item", "典型选树", "--points", "-0.5", "--date", "2024-03-05"]);
    assert!(r.stderr.contains("每月只登记一次，该单位3月已有登记"), "{}", r.stderr);
    app.ok(&["score", "add", "拘留所", "--item", "典型选树", "--points", "-0.5", "--date", "2024-08-01"]);
    assert_eq!(item(&scores(&app, &[]), "拘留所", "典型选树"), (2.0, 2.0, 3.0));
    assert_eq!(item(&scores(&app, &["--month", "2024-03"]), "拘留所", "典型选树").1, 2.5);
    let r = app.run(&["score", "add", "拘留所", "--item", "矩阵响应", "--points", "-0.2", "--date", "2025-01-05"]);
    assert!(r.stderr.contains("不在 2024 年"), "{}", r.stderr);
}

#[test]
fn a_department_with_nothing_scores_deductions_in_full_and_additions_at_zero() {
    let app = App::new();
    let s = scores(&app, &["--year", "2024"]);
    let d = department(&s, "拘留所");
    let items: Vec<(String, f64, f64, f64)> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["item"].as_str().unwrap().to_string(), i["raw"].as_f64().unwrap(), i["points"].as_f64().unwrap(), i["max"].as_f64().unwrap()))
        .collect();
    let want = [
        ("市局矩阵策划", 0.0, 0.0, 2.0),
        ("图片视频报送", 0.0, 0.0, 7.0),
        ("矩阵响应", 2.0, 2.0, 2.0),
        ("创佳绩", 0.0, 0.0, 1.0),
        ("政务新媒体", 1.0, 1.0, 1.0),
        ("典型选树", 3.0, 3.0, 3.0),
        ("原创作品展播", 0.0, 0.0, 1.0),
        ("原创作品获奖", 0.0, 0.0, 1.0),
        ("外宣刊稿", 0.0, 0.0, 10.0),
    ];
    assert_eq!(items, want.iter().map(|(a, b, c, e)| (a.to_string(), *b, *c, *e)).collect::<Vec<_>>());
    assert_eq!(d["items"][0]["section"], "基础业务");
    assert_eq!(d["total"].as_f64(), Some(NOTHING));
    // Every roster department is there, all ranked first.
    assert_eq!(s["departments"].as_array().unwrap().len(), 20);
    assert!(s["departments"].as_array().unwrap().iter().all(|d| d["rank"] == 1));
    let ex = app.ok(&["score", "--explain", "拘留所"]);
    assert!(ex.contains("没有采用或计分登记：扣分项按满分计，加分项为 0 分。"), "{ex}");
    let out = app.ok(&["check-config"]);
    assert!(out.contains("考核细则：2024 年，5 节 9 项，满分 28.00（内置考核细则 rubric-2024.toml）"), "{out}");
    let r = app.run(&["score", "--year", "2025"]);
    assert!(r.stderr.contains("是 2024 年的，不能计算 2025 年") && r.stderr.contains("[scoring] 中写 rubric = \"rubric-2025.toml\""), "{}", r.stderr);
}

#[test]
fn an_honour_scores_once_across_the_rubric_and_departments_are_ranked() {
    let app = App::new();
    app.ok(&["score", "add", "嘎鲁图所", "--item", "创佳绩", "--points", "0.2", "--date", "2024-07-01", "--work", "短视频《守护》", "--note", "自治区级奖项"]);
    app.ok(&["score", "add", "嘎鲁图所", "--item", "原创作品获奖", "--points", "0.5", "--date", "2024-07-02", "--work", "短视频《守护》", "--note", "全国评比获奖"]);
    app.ok(&["score", "add", "图克所", "--item", "外宣刊稿", "--points", "1.25", "--date", "2024-08-02", "--note", "人民日报客户端"]);
    let s = scores(&app, &[]);
    assert_eq!(item(&s, "嘎鲁图派出所", "创佳绩").1, 0.0);
    assert_eq!(item(&s, "嘎鲁图派出所", "原创作品获奖").1, 0.5);
    let ranked: Vec<(&str, i64, f64)> =
        s["departments"].as_array().unwrap().iter().take(3).map(|d| (d["department"].as_str().unwrap(), d["rank"].as_i64().unwrap(), d["total"].as_f64().unwrap())).collect();
    assert_eq!(ranked[0], ("图克派出所", 1, 7.25));
    assert_eq!(ranked[1], ("嘎鲁图派出所", 2, 6.5));
    assert_eq!(ranked[2].1, 3);
}

fn cell(path: &std::path::Path, sheet: &str, row: u32, col: u32) -> Data {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.get_value((row, col)).cloned().unwrap_or(Data::Empty)
}

fn find_row(path: &std::path::Path, sheet: &str, first: &str) -> Vec<Data> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().find(|r| r.iter().any(|c| *c == Data::String(first.into()))).unwrap_or_else(|| panic!("no row {first} in {sheet}")).to_vec()
}

fn headers(path: &std::path::Path, sheet: &str) -> Vec<String> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().next().unwrap().iter().map(|c| c.to_string()).collect()
}

#[test]
fn exports_read_back_with_chinese_headers_and_numbers_as_numbers() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所4月素材", APR10).attach("①党建.jpg", &jpeg(1)).attach("⑤反诈.jpg", &jpeg(2)).attach("⑤反诈2.jpg", &jpeg(3)).build());
    app.import_one("b.eml", &Mail::new("tkpcs@qq.com", "图克派出所4月素材", "Sat, 27 Apr 2024 09:00:00 +0800").attach("巡逻.jpg", &jpeg(4)).build());
    let dir = app.dir.path();

    let board = dir.join("导出/4月报送情况.xlsx");
    let out = app.ok(&["export", "board", "--month", "2024-04", "--xlsx", board.to_str().unwrap(), "--as-of", "2024-04-30"]);
    assert!(out.contains("已导出 2024-04 报送情况通报（20 个单位）"), "{out}");
    let h = headers(&board, "2024年04月报送情况");
    assert_eq!(&h[..6], ["单位", "状态", "首次报送时间", "逾期时长", "逾期小时数", "报送邮件数"]);
    assert!(h.contains(&"类别①".to_string()) && h.contains(&"类别⑤".to_string()) && h.contains(&"标记".to_string()), "{h:?}");
    let g = find_row(&board, "2024年04月报送情况", "嘎鲁图派出所");
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    assert_eq!(g[col("状态")], Data::String("按时".into()));
    assert_eq!(g[col("照片")], Data::Float(3.0));
    assert_eq!(g[col("类别⑤")], Data::Float(2.0));
    assert_eq!(g[col("逾期小时数")], Data::Float(0.0));
    let t = find_row(&board, "2024年04月报送情况", "图克派出所");
    assert_eq!(t[col("状态")], Data::String("逾期".into()));
    assert_eq!(t[col("逾期时长")], Data::String("1天9小时".into()));
    assert_eq!(t[col("逾期小时数")], Data::Float(33.0));

    let items = dir.join("items.xlsx");
    app.ok(&["export", "items", "--month", "2024-04", "--xlsx", items.to_str().unwrap()]);
    let h = headers(&items, "文件清单");
    assert_eq!(&h[..10], ["编号", "邮件编号", "单位", "月份", "收到时间", "类别", "类型", "状态", "标记", "文件名"]);
    let row = find_row(&items, "文件清单", "⑤反诈.jpg");
    assert_eq!(row[2], Data::String("嘎鲁图派出所".into()));
    assert_eq!((&row[6], &row[7]), (&Data::String("照片".into()), &Data::String("计入".into())));
    assert!(matches!(row[0], Data::Float(_)) && matches!(row[10], Data::Float(_)), "{row:?}");
    assert_eq!(cell(&items, "文件清单", 4, 3), Data::String("2024-04".into()));

    let id = id_of(&app, "①党建.jpg");
    app.ok(&["adopt", &id, "--level", "province", "--date", "2024-04-20"]);
    app.ok(&["score", "add", "图克所", "--item", "矩阵响应", "--points", "-0.2", "--date", "2024-04-22"]);
    let sc = dir.join("scores.xlsx");
    let out = app.ok(&["export", "scores", "--year", "2024", "--xlsx", sc.to_str().unwrap()]);
    assert!(out.contains("已导出 2024 年考核得分（20 个单位，5 节）"), "{out}");
    let wb: Xlsx<_> = open_workbook(&sc).unwrap();
    assert_eq!(wb.sheet_names(), ["总分", "基础业务", "政务新媒体", "典型选树", "公安文化", "外宣刊稿"]);
    let h = headers(&sc, "总分");
    assert_eq!(h, ["名次", "单位", "基础业务（12.00分）", "政务新媒体（1.00分）", "典型选树（3.00分）", "公安文化（2.00分）", "外宣刊稿（10.00分）", "总分（28.00分）"]);
    assert_eq!(cell(&sc, "总分", 1, 1), Data::String("嘎鲁图派出所".into()), "ranked first");
    assert_eq!(cell(&sc, "总分", 1, 0), Data::Float(1.0));
    assert_eq!(cell(&sc, "总分", 1, 7), Data::Float(6.3));
    let t = find_row(&sc, "总分", "图克派出所");
    assert_eq!(t[7], Data::Float(5.8));
    let h = headers(&sc, "基础业务");
    assert_eq!(&h[2..6], ["市局矩阵策划 原始分", "市局矩阵策划 得分（2.00分）", "图片视频报送 原始分", "图片视频报送 得分（7.00分）"]);
    let g = find_row(&sc, "基础业务", "嘎鲁图派出所");
    assert_eq!((&g[4], &g[5]), (&Data::Float(0.3), &Data::Float(0.3)));
    assert_eq!(g[h.len() - 1], Data::Float(2.3));
}

#[test]
fn a_rubric_with_a_mistake_is_refused_at_start_up_naming_the_key() {
    let app = App::with_config("[scoring]\nrubric = \"rubric-2024.toml\"\n");
    let shipped = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rubric-2024.toml")).unwrap();
    std::fs::write(app.dir.path().join("rubric-2024.toml"), shipped.replace("mode = \"deduct\"\nfloor = 0\nevents = [{ name = \"转发", "mode = \"deduct\"\nevents = [{ name = \"转发")).unwrap();
    let r = app.run(&["score"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("rubric-2024.toml 第 ") && r.stderr.contains("的 `section.item.mode`：项目「矩阵响应」是扣分项（mode = \"deduct\"），没有写最低分 floor"), "{}", r.stderr);
    assert!(r.stderr.contains("修改方法 (fix): 写 floor = 0（扣完为止）"), "{}", r.stderr);
    std::fs::write(app.dir.path().join("rubric-2024.toml"), shipped.replace("year = 2024", "year = 2025")).unwrap();
    let s = scores(&app, &["--year", "2025"]);
    assert_eq!(s["year"], 2025);
    std::fs::write(app.dir.path().join("rubric-2024.toml"), shipped.replace("max = 12", "max = 12\nfull = true")).unwrap();
    let r = app.run(&["score"]);
    assert!(r.stderr.contains("full"), "{}", r.stderr);
}

#[test]
fn the_daily_digest_summarises_the_months_adoptions() {
    let app = App::with_config("[notify]\noffice = [\"office@example.test\"]\n");
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("①党建.jpg", &jpeg(1)).attach("②练兵.jpg", &jpeg(2)).build());
    let before = app.ok(&["digest", "--date", "2024-03-28", "--print"]);
    assert!(!before.contains("作品采用"), "no adoptions, no section: {before}");
    let (a, b) = (id_of(&app, "①党建.jpg"), id_of(&app, "②练兵.jpg"));
    app.ok(&["adopt", &a, &b, "--level", "banner", "--date", "2024-03-21"]);
    app.ok(&["adopt", &a, "--level", "city", "--date", "2024-03-22"]);
    // Another month's adoption is not in March's summary.
    app.ok(&["adopt", &b, "--level", "province", "--date", "2024-04-02"]);
    let text = app.ok(&["digest", "--date", "2024-03-28", "--print"]);
    assert!(text.contains("2024年3月作品采用：共 3 次，2 件作品（同一作品按最高级别计分一次）"), "{text}");
    // ① counts at city level (0.2); ②'s highest adoption is April's, so it scores in April.
    assert!(text.contains("  嘎鲁图派出所：旗局 2 次，市局 1 次，公安厅 0 次，2 件作品，本月计 0.20 分"), "{text}");
}

#[test]
fn the_earlier_manual_commands_are_audited_too() {
    let app = App::new();
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("①党建.jpg", &jpeg(1)).build());
    app.import_one("b.eml", &Mail::new("stranger@qq.com", "图克派出所3月素材", MAR19).attach("a.jpg", &jpeg(2)).build());
    let item = id_of(&app, "①党建.jpg");
    let package = app.items(&[])[0]["package"].as_i64().unwrap().to_string();
    app.ok(&["recategorize", &item, "3"]);
    app.ok(&["reassign", &package, "--cycle", "2024-04"]);
    app.ok(&["extend", "图克所", "--cycle", "2024-03", "--until", "2024-03-28"]);
    let held = app.ok(&["quarantine", "list"]);
    let id = held.split(']').next().unwrap().trim_start_matches('[').to_string();
    app.ok(&["quarantine", "reject", &id]);
    let audit: Vec<Value> = serde_json::from_str::<Value>(&app.ok(&["audit", "--json"])).unwrap().as_array().unwrap().clone();
    let rows: Vec<(&str, &str, &str)> = audit.iter().map(|a| (a["action"].as_str().unwrap(), a["before"].as_str().unwrap(), a["after"].as_str().unwrap())).collect();
    assert_eq!(rows, [("quarantine_reject", "held", "dismissed"), ("extend", "", "2024-03-28"), ("reassign", "2024-03", "2024-04"), ("recategorize", "1", "3")]);
    let text = app.ok(&["audit"]);
    assert!(text.contains("驳回待审核邮件") && text.contains("图克派出所 2024-03 延期") && text.contains(&format!("文件 {item}「①党建.jpg」  1 → 3")), "{text}");
}
