//! What counts and what is marked (issue 9): photos resent from earlier months or
//! shared between departments, flags where the office looks (status, items, digest),
//! Message-ID collisions, and impossible dates.

use serde_json::Value;

use crate::fixtures::{Mail, ZipEntry, b64, encode_jpeg, encode_png, gbk, jpeg, texture, with_exif, zip};
use crate::harness::{App, summary_count};
use crate::ingest::{AS_OF, MAR19};

const APR19: &str = "Fri, 19 Apr 2024 10:00:00 +0800";
const APR_AS_OF: &str = "2024-04-28T12:00:00+08:00";

/// A real JPEG as a phone writes it: decodable, with EXIF.
fn photo(seed: u32) -> Vec<u8> {
    with_exif(&encode_jpeg(&texture(1600, 1200, seed), 90), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40")
}

/// The same picture, made smaller and saved again (as WeChat or a resend does).
fn resized(seed: u32) -> Vec<u8> {
    let small = image::imageops::resize(&texture(1600, 1200, seed), 1200, 900, image::imageops::FilterType::Triangle);
    with_exif(&encode_jpeg(&small, 75), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40")
}

fn flags(v: &Value) -> Vec<String> {
    v["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect()
}

fn by_name(items: &[Value], name: &str) -> Value {
    items.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no item {name} in {items:?}")).clone()
}

/// The status table's line for one department.
fn table_line(app: &App, cycle: &str, as_of: &str, department: &str) -> String {
    let out = app.ok(&["status", "--cycle", cycle, "--as-of", as_of]);
    out.lines().find(|l| l.starts_with(department)).unwrap_or_else(|| panic!("{department} not in\n{out}")).to_string()
}

#[test]
fn an_exact_resend_from_an_earlier_month_is_marked_reused_and_still_counts() {
    let app = App::new();
    let (march, other) = (photo(31), photo(32));
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月宣传素材", MAR19).attach("①党建活动.jpg", &march).attach("②练兵.jpg", &other).build());
    // April: the same department sends the March photo again, byte for byte; another
    // department sends a resized copy of the other March photo; in May that department
    // sends the first March photo, byte for byte.
    app.import_one("b.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所4月宣传素材", APR19).attach("①党建.jpg", &march).build());
    app.import_one("c.eml", &Mail::new("tkpcs@qq.com", "图克派出所4月宣传素材", APR19).attach("②训练.jpg", &resized(32)).attach("③新的.jpg", &photo(33)).build());
    app.import_one("d.eml", &Mail::new("tkpcs@qq.com", "图克派出所5月宣传素材", "Sun, 19 May 2024 10:00:00 +0800").attach("①学习.jpg", &march).build());
    let items = app.items(&[]);
    let first = by_name(&items, "①党建活动.jpg");
    assert!(flags(&first).is_empty(), "{first}");
    for (name, earlier) in [("①党建.jpg", &first), ("②训练.jpg", &by_name(&items, "②练兵.jpg")), ("①学习.jpg", &first)] {
        let it = by_name(&items, name);
        assert!(flags(&it).contains(&"reused".to_string()), "{it}");
        assert_eq!(it["similar_to"], earlier["id"], "{it}");
        assert_eq!(it["status"], "accepted", "reused is a mark, not a refusal: {it}");
    }
    assert!(flags(&by_name(&items, "③新的.jpg")).is_empty());
    // Still counted, and counted on the board.
    let g = app.row("2024-04", APR_AS_OF, "嘎鲁图派出所");
    assert_eq!((g["photos"].as_i64(), g["flags"]["reused"].as_i64()), (Some(1), Some(1)), "{g}");
    let t = app.row("2024-04", APR_AS_OF, "图克派出所");
    assert_eq!((t["photos"].as_i64(), t["flags"]["reused"].as_i64()), (Some(2), Some(1)), "{t}");
    // `items --flag reused` lists exactly those three.
    let reused: Vec<String> = app.items(&["--flag", "reused"]).iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(reused, ["①党建.jpg", "②训练.jpg", "①学习.jpg"]);
    assert!(table_line(&app, "2024-04", APR_AS_OF, "图克派出所").contains("旧图1"));
}

#[test]
fn a_joint_operation_photo_counts_for_the_first_sender_only_and_both_are_marked() {
    let app = App::new();
    let (joint, patrol) = (photo(41), photo(42));
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月宣传素材", MAR19).attach("①联合行动.jpg", &joint).attach("②巡逻.jpg", &patrol).build());
    // Later the same month another department sends the same photo, and a resized copy
    // of the other one, with a photo of its own.
    let later = "Wed, 20 Mar 2024 09:30:00 +0800";
    app.import_one("b.eml", &Mail::new("wdhpcs@163.com", "无定河派出所3月宣传素材", later).attach("①联合.jpg", &joint).attach("②巡逻2.jpg", &resized(42)).attach("③自己的.jpg", &photo(43)).build());
    let items = app.items(&[]);
    let (a1, a2) = (by_name(&items, "①联合行动.jpg"), by_name(&items, "②巡逻.jpg"));
    let (b1, b2, b3) = (by_name(&items, "①联合.jpg"), by_name(&items, "②巡逻2.jpg"), by_name(&items, "③自己的.jpg"));
    for first in [&a1, &a2] {
        assert_eq!(first["status"], "accepted", "{first}");
        assert!(flags(first).contains(&"shared_work".to_string()), "the first sender's item is marked too: {first}");
    }
    for (late, first) in [(&b1, &a1), (&b2, &a2)] {
        assert_eq!(late["status"], "shared", "{late}");
        assert!(flags(late).contains(&"shared_work".to_string()), "{late}");
        assert_eq!(late["similar_to"], first["id"]);
        assert_eq!(late["path"], "", "not filed twice");
    }
    assert!(!flags(&b3).contains(&"shared_work".to_string()));
    let (g, w) = (app.row("2024-03", AS_OF, "嘎鲁图派出所"), app.row("2024-03", AS_OF, "无定河派出所"));
    assert_eq!((g["photos"].as_i64(), g["flags"]["shared_work"].as_i64()), (Some(2), Some(2)), "{g}");
    assert_eq!((w["photos"].as_i64(), w["shared"].as_i64(), w["flags"]["shared_work"].as_i64()), (Some(1), Some(2), Some(2)), "{w}");
    // The tables say it in Chinese.
    assert!(table_line(&app, "2024-03", AS_OF, "无定河派出所").contains("共享2"));
    let listed = app.ok(&["items", "--department", "无定河派出所"]);
    let line = listed.lines().find(|l| l.contains("①联合.jpg")).unwrap();
    assert!(line.contains("共享不计") && line.contains("共享"), "{listed}");
    // Sent again by the second department, it is that department's duplicate.
    app.import_one("c.eml", &Mail::new("wdhpcs@163.com", "无定河派出所3月补充", "Thu, 21 Mar 2024 09:00:00 +0800").attach("①联合行动2.jpg", &joint).build());
    assert_eq!(by_name(&app.items(&[]), "①联合行动2.jpg")["status"], "duplicate");
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["photos"], 1);
}

#[test]
fn flags_show_in_the_status_and_items_tables_the_json_and_the_digest() {
    let app = App::with_config("[notify]\noffice = [\"office@example.test\"]\nquiet_hours = \"none\"");
    let p = jpeg(50);
    // Sent on 无定河's behalf from 嘎鲁图's mailbox, with the same file twice.
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "代无定河镇派出所报送3月素材", MAR19).attach("a.jpg", &p).attach("a副本.jpg", &p).build());
    app.import_one("b.eml", &Mail::new("tkpcs@qq.com", "图克派出所3月素材", MAR19).attach("b.jpg", &jpeg(51)).build());
    let w = app.row("2024-03", AS_OF, "无定河派出所");
    assert_eq!(w["flags"]["sent_on_behalf"], 1, "one package sent on its behalf: {w}");
    assert_eq!(w["flags"]["duplicate"], 1);
    let line = table_line(&app, "2024-03", AS_OF, "无定河派出所");
    assert!(line.contains("重复1") && line.contains("代发1"), "{line}");
    assert!(!table_line(&app, "2024-03", AS_OF, "图克派出所").contains("代发"));
    let out = app.ok(&["status", "--cycle", "2024-03", "--as-of", AS_OF]);
    assert!(out.lines().nth(2).unwrap().contains("标记"), "{out}");

    let items = app.items(&[]);
    assert_eq!(by_name(&items, "a.jpg")["sent_on_behalf"], true);
    assert_eq!(by_name(&items, "b.jpg")["sent_on_behalf"], false);
    let table = app.ok(&["items"]);
    assert!(table.lines().next().unwrap().contains("标记"));
    let dup = table.lines().find(|l| l.contains("a副本.jpg")).unwrap();
    assert!(dup.contains("重复") && dup.contains("代发"), "{table}");
    // --flag takes message flags too, and checks the code.
    let behalf: Vec<Value> = app.items(&["--flag", "sent_on_behalf"]);
    assert_eq!(behalf.len(), 2);
    let bad = app.run(&["items", "--flag", "resued"]);
    assert!(!bad.ok);
    assert!(bad.stderr.contains("没有标记") && bad.stderr.contains("reused（旧图）") && bad.stderr.contains("shared_work（共享）"), "{}", bad.stderr);

    let digest = app.ok(&["digest", "--date", "2024-03-20", "--print"]);
    let section = digest.split("有标记的文件").nth(1).unwrap_or_else(|| panic!("no flagged section:\n{digest}"));
    assert!(section.contains("无定河派出所："), "{digest}");
    assert!(section.contains("a副本.jpg：重复"), "{digest}");
    assert!(section.contains("代发"), "{digest}");
    assert!(!section.contains("b.jpg"), "unflagged files are not listed: {digest}");
}

/// A package as iPhone Mail writes it (Apple-Mail boundary, `Message-Id`, base64
/// text part, folded parameters).
fn iphone(message_id: &str, received: Option<&str>, files: &[(&str, &[u8])]) -> Vec<u8> {
    let boundary = "Apple-Mail-5E2A4C1B-7D3F-4F0E-9B6A-2C8D1E3F4A5B";
    let mut m = String::new();
    if let Some(r) = received {
        m += &format!("Received: from [192.168.1.23] by smtp.qq.com (ESMTP) with SMTP\r\n\tid 0; {r}\r\n");
    }
    m += &format!("Content-Type: multipart/mixed; boundary={boundary}\r\nContent-Transfer-Encoding: 7bit\r\n");
    m += &format!("From: =?utf-8?B?{}?= <tkpcs@qq.com>\r\n", b64("图克所宣传员".as_bytes()));
    m += "Mime-Version: 1.0 (1.0)\r\nDate: Tue, 19 Mar 2024 10:00:00 +0800\r\n";
    m += &format!("Subject: =?utf-8?B?{}?=\r\n", b64("图克派出所3月宣传素材".as_bytes()));
    m += &format!("Message-Id: <{message_id}>\r\nTo: 1605739848@qq.com\r\nX-Mailer: iPhone Mail (21D61)\r\n\r\n\r\n");
    m += &format!("--{boundary}\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n", b64("3月素材，请查收\r\n\r\n发自我的iPhone".as_bytes()));
    for (name, data) in files {
        m += &format!("\r\n--{boundary}\r\nContent-Type: image/jpeg;\r\n\tname={name}\r\nContent-Disposition: attachment;\r\n\tfilename={name}\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        for chunk in b64(data).as_bytes().chunks(76) {
            m += std::str::from_utf8(chunk).unwrap();
            m += "\r\n";
        }
    }
    m += &format!("\r\n--{boundary}--\r\n");
    m.into_bytes()
}

#[test]
fn a_strangers_mail_with_a_packages_message_id_hides_nothing() {
    let app = App::new();
    let mid = "8F1C2D3E-4A5B-6C7D-8E9F-0A1B2C3D4E5F@qq.com";
    // A stranger's mail reusing that Message-ID arrives first (QQ Mail web style).
    let stranger = Mail::new("ad@163.com", "优惠活动", "Mon, 18 Mar 2024 09:00:00 +0800").message_id(&format!("<{mid}>")).attach("广告.jpg", &jpeg(60));
    app.import_one("s.eml", &stranger.build());
    let out = app.import_one("t.eml", &iphone(mid, None, &[("IMG_0412.JPG", &jpeg(61))]));
    assert_eq!(summary_count(&out, "计入报送"), 1, "{out}");
    let t = app.row("2024-03", AS_OF, "图克派出所");
    assert_eq!((t["state"].as_str(), t["photos"].as_i64()), (Some("on_time"), Some(1)), "{t}");
    assert_eq!(t["flags"]["message_id_collision"], 1, "{t}");
    assert_eq!(by_name(&app.items(&[]), "IMG_0412.JPG")["message_flags"], serde_json::json!(["message_id_collision"]));
    assert!(table_line(&app, "2024-03", AS_OF, "图克派出所").contains("编号冲突1"));

    // The same mail delivered again through another relay (a Received line more,
    // other bytes): a re-delivery, not counted twice.
    let again = app.import_one("t2.eml", &iphone(mid, Some("Tue, 19 Mar 2024 10:00:05 +0800"), &[("IMG_0412.JPG", &jpeg(61))]));
    assert_eq!(summary_count(&again, "此前已导入"), 1, "{again}");
    // The same sender and Message-ID with other files is another message.
    let other = app.import_one("t3.eml", &iphone(mid, None, &[("IMG_0413.JPG", &jpeg(62))]));
    assert_eq!(summary_count(&other, "计入报送"), 1, "{other}");
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["photos"], 2);
}

#[test]
fn a_stranger_reusing_the_message_id_later_is_a_new_message_too() {
    let app = App::new();
    let mid = "<tencent_6A1F0C2B3D4E5F60718293A4@qq.com>";
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月宣传素材", MAR19).message_id(mid).attach("a.jpg", &jpeg(70)).build());
    // Another registered department's mail with the same Message-ID (a broken client).
    let out = app.import_one("b.eml", &Mail::new("wdhpcs@163.com", "无定河派出所3月宣传素材", MAR19).message_id(mid).attach("b.jpg", &jpeg(71)).build());
    assert_eq!(summary_count(&out, "此前已导入"), 0, "{out}");
    assert_eq!(summary_count(&out, "计入报送"), 1, "{out}");
    let w = app.row("2024-03", AS_OF, "无定河派出所");
    assert_eq!((w["photos"].as_i64(), w["flags"]["message_id_collision"].as_i64()), (Some(1), Some(1)), "{w}");
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["flags"].get("message_id_collision"), None, "the first keeps no mark");
}

/// The current month in Beijing time, "YYYY-MM".
fn this_month() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m").to_string()
}

#[test]
fn impossible_dates_fall_back_and_are_marked_bad_date() {
    let app = App::new();
    // Foxmail on a PC whose clock was reset, one set to 2099, an old client's Chinese
    // date, each with a subject that names no month.
    for (from, date, name) in [
        ("gltpcs@163.com", "Thu, 01 Jan 1970 08:00:00 +0800", "1970.jpg"),
        ("wdhpcs@163.com", "Thu, 19 Mar 2099 10:00:00 +0800", "2099.jpg"),
        ("tkpcs@qq.com", "星期二, 19 三月 2024 10:00:00 +0800", "garbage.jpg"),
    ] {
        let mut mail = Mail::new(from, "宣传素材", date).attach(name, &jpeg(80 + name.len() as u32));
        mail.subject = b"=?gb18030?B?0Pu0q8vYssQ=?=".to_vec(); // 宣传素材, as Foxmail writes it
        app.import_one(name, &mail.build());
    }
    // A far-future Received line (a relay with a broken clock) gives way to Date.
    app.import_one("r.eml", &Mail::new("tkpcs@qq.com", "图克派出所宣传素材", MAR19).received("Mon, 19 Mar 2125 10:00:00 +0800").attach("received.jpg", &jpeg(90)).build());
    let items = app.items(&[]);
    for name in ["1970.jpg", "2099.jpg", "garbage.jpg"] {
        let it = by_name(&items, name);
        assert_eq!(it["cycle"], this_month(), "processing time decides: {it}");
        assert_eq!(it["message_flags"], serde_json::json!(["bad_date"]), "{it}");
    }
    let r = by_name(&items, "received.jpg");
    assert_eq!((r["cycle"].as_str(), r["received_at"].as_str()), (Some("2024-03"), Some("2024-03-19T10:00:00+08:00")), "{r}");
    assert_eq!(r["message_flags"], serde_json::json!(["bad_date"]));
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["flags"]["bad_date"], 1);
    let cycles: Vec<&str> = items.iter().map(|i| i["cycle"].as_str().unwrap()).collect();
    assert!(cycles.iter().all(|c| *c == "2024-03" || *c == this_month()), "no impossible month: {cycles:?}");
    assert!(table_line(&app, "2024-03", AS_OF, "图克派出所").contains("日期有误1"));
    // A plain good Date is not marked.
    app.import_one("ok.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("ok.jpg", &jpeg(91)).build());
    assert_eq!(by_name(&app.items(&[]), "ok.jpg")["message_flags"], serde_json::json!([]));
}

/// A QQ Mail web message, byte for byte as it writes one with an HTML signature holding
/// a logo: multipart/mixed around multipart/related (multipart/alternative of text and
/// GB18030 HTML, then the logo with a Content-ID the HTML shows as `cid:`, inline), then
/// the attachments.
pub(crate) fn qq_with_signature(subject: &str, logo: &[u8], attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let cid = "3C1A7F20@5B6E2D94.9A0C6F6600000000.png";
    let html = format!(
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=GB18030\"><div>附件是本月素材，请查收。</div><div><br></div><div><sign signid=\"1\"><div style=\"color:#909090;font-family:Arial Narrow;font-size:12px\">------------------</div><div style=\"font-size:14px;font-family:Verdana;color:#000;\"><div><img src=\"cid:{cid}\" width=\"120\" height=\"40\"></div><div>嘎鲁图派出所 宣传员</div></div></sign></div>"
    );
    let mut m = Vec::new();
    m.extend(format!("From: \"=?gb18030?B?{}?=\" <gltpcs@163.com>\r\nTo: \"=?gb18030?B?{}?=\" <1605739848@qq.com>\r\nSubject: =?gb18030?B?{}?=\r\nMime-Version: 1.0\r\n", b64(&gbk("宣传员")), b64(&gbk("宣传办")), b64(&gbk(subject))).as_bytes());
    m.extend(b"Content-Type: multipart/mixed;\r\n\tboundary=\"----=_NextPart_6607B4C1_0C3F0A58_7C1E2A3B\"\r\nContent-Transfer-Encoding: 8Bit\r\n");
    m.extend(format!("Date: {MAR19}\r\nX-Priority: 3\r\nMessage-ID: <tencent_5D6E7F809A1B2C3D4E5F6A7B@qq.com>\r\nX-QQ-MIME: TCMime 1.0 by Tencent\r\nX-Mailer: QQMail 2.x\r\nX-QQ-Mailer: QQMail 2.x\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n").as_bytes());
    m.extend(b"------=_NextPart_6607B4C1_0C3F0A58_7C1E2A3B\r\nContent-Type: multipart/related;\r\n\tboundary=\"----=_NextPart_6607B4C1_0C3F0A58_2B7E9D4F\";\r\n\ttype=\"multipart/alternative\"\r\n\r\n");
    m.extend(b"------=_NextPart_6607B4C1_0C3F0A58_2B7E9D4F\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"----=_NextPart_6607B4C1_0C3F0A58_5A1C3E8B\";\r\n\r\n");
    m.extend(format!("------=_NextPart_6607B4C1_0C3F0A58_5A1C3E8B\r\nContent-Type: text/plain;\r\n\tcharset=\"gb18030\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n", b64(&gbk("附件是本月素材，请查收。\r\n\r\n------------------\r\n嘎鲁图派出所 宣传员"))).as_bytes());
    m.extend(format!("------=_NextPart_6607B4C1_0C3F0A58_5A1C3E8B\r\nContent-Type: text/html;\r\n\tcharset=\"gb18030\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n", b64(&gbk(&html))).as_bytes());
    m.extend(b"------=_NextPart_6607B4C1_0C3F0A58_5A1C3E8B--\r\n\r\n");
    m.extend(format!("------=_NextPart_6607B4C1_0C3F0A58_2B7E9D4F\r\nContent-Type: image/png;\r\n\tname=\"{cid}\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <{cid}>\r\nContent-Disposition: inline;\r\n\tfilename=\"{cid}\"\r\n\r\n{}\r\n\r\n", b64(logo)).as_bytes());
    m.extend(b"------=_NextPart_6607B4C1_0C3F0A58_2B7E9D4F--\r\n\r\n");
    for (name, data) in attachments {
        let word = b64(&gbk(name));
        m.extend(format!("------=_NextPart_6607B4C1_0C3F0A58_7C1E2A3B\r\nContent-Type: application/octet-stream;\r\n\tcharset=\"gb18030\";\r\n\tname=\"=?gb18030?B?{word}?=\"\r\nContent-Disposition: attachment; filename=\"=?gb18030?B?{word}?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n", b64(data)).as_bytes());
    }
    m.extend(b"------=_NextPart_6607B4C1_0C3F0A58_7C1E2A3B--\r\n\r\n");
    m
}

#[test]
fn a_signature_logo_inline_in_the_html_is_a_decoration_not_a_work() {
    let app = App::new();
    let logo = encode_png(&texture(120, 40, 1));
    // The same small picture sent as an attachment is still counted (flagged).
    let small = encode_png(&texture(120, 40, 2));
    app.import_one("a.eml", &qq_with_signature("嘎鲁图派出所3月宣传素材", &logo, &[("①党建活动.jpg", &photo(51)), ("②小图.png", &small)]));
    let items = app.items(&[]);
    assert_eq!(items.len(), 3, "{items:?}");
    let deco = items.iter().find(|i| i["status"] == "decoration").unwrap_or_else(|| panic!("no decoration in {items:?}"));
    assert_eq!((deco["kind"].as_str(), deco["path"].as_str()), (Some("photo"), Some("")), "stored, listed, not filed: {deco}");
    assert!(flags(deco).is_empty(), "a decoration carries no quality marks: {deco}");
    assert_eq!(by_name(&items, "①党建活动.jpg")["status"], "accepted");
    let attached = by_name(&items, "②小图.png");
    assert_eq!(attached["status"], "accepted", "{attached}");
    assert!(flags(&attached).contains(&"low_resolution".to_string()), "{attached}");
    let g = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(g["photos"].as_i64(), Some(2), "the logo is not a photo: {g}");
    assert_eq!(g["flags"]["low_resolution"].as_i64(), Some(1), "{g}");
    assert_eq!(app.tree().len(), 2, "{:?}", app.tree());
    let table = app.ok(&["items"]);
    assert!(table.lines().any(|l| l.contains("装饰图片") && l.contains("签名")), "{table}");

    // A reply that carries nothing but the signature is correspondence, not a package:
    // it neither counts nor makes the department on time.
    let app = App::new();
    app.import_one("b.eml", &qq_with_signature("回复：关于报送3月素材的通知", &logo, &[]));
    let w = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!((w["photos"].as_i64(), w["packages"].as_i64(), w["state"].as_str()), (Some(0), Some(0), Some("missing")), "{w}");
    assert!(app.items(&[]).is_empty());
}

#[test]
fn a_large_picture_inline_in_the_html_still_counts() {
    let app = App::new();
    app.import_one("a.eml", &qq_with_signature("嘎鲁图派出所3月宣传素材", &photo(52), &[]));
    let g = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(g["photos"].as_i64(), Some(1), "a photo pasted into the body is a work: {g}");
}

#[test]
fn deflate64_entries_are_read_and_other_methods_are_named() {
    let app = App::new();
    let z = zip(&[
        ZipEntry { deflate: true, method: Some(9), ..ZipEntry::utf8("①党建/活动.jpg", &photo(61)) },
        ZipEntry { method: Some(14), ..ZipEntry::utf8("①党建/压缩.jpg", &photo(62)) },
    ]);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月宣传素材", MAR19).attach("素材.zip", &z).build());
    let items = app.items(&[]);
    let read = by_name(&items, "素材.zip/①党建/活动.jpg");
    assert_eq!(read["status"], "accepted", "{read}");
    let refused = by_name(&items, "素材.zip/①党建/压缩.jpg");
    assert_eq!(refused["rejection"], "unsupported_method", "{refused}");
    assert!(refused["reason"].as_str().unwrap().contains("LZMA（方法 14）"), "{refused}");
}

/// A .docx as WPS writes it: the parts first, `[Content_Types].xml` last.
fn wps_docx(title: &str) -> Vec<u8> {
    zip(&[
        ZipEntry { deflate: true, ..ZipEntry::utf8("docProps/app.xml", b"<?xml version=\"1.0\"?><Properties><Application>WPS Office</Application></Properties>") },
        ZipEntry { deflate: true, ..ZipEntry::utf8("word/document.xml", format!("<?xml version=\"1.0\"?><w:document><w:body><w:p><w:r><w:t>{title}</w:t></w:r></w:p></w:body></w:document>").as_bytes()) },
        ZipEntry { deflate: true, ..ZipEntry::utf8("_rels/.rels", b"<?xml version=\"1.0\"?><Relationships/>") },
        ZipEntry { deflate: true, ..ZipEntry::utf8("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types/>") },
    ])
}

/// An .odt as LibreOffice writes it: `mimetype` first, stored.
fn odt() -> Vec<u8> {
    zip(&[
        ZipEntry::utf8("mimetype", b"application/vnd.oasis.opendocument.text"),
        ZipEntry { deflate: true, ..ZipEntry::utf8("content.xml", "<?xml version=\"1.0\"?><office:document-content><office:text>三月总结</office:text></office:document-content>".as_bytes()) },
        ZipEntry { deflate: true, ..ZipEntry::utf8("META-INF/manifest.xml", b"<?xml version=\"1.0\"?><manifest:manifest/>") },
    ])
}

#[test]
fn office_documents_are_told_by_their_entries_in_any_order_and_kept_whole() {
    let app = App::new();
    let inner = zip(&[ZipEntry::utf8("材料/总结.docx", &wps_docx("宣传工作情况")), ZipEntry::utf8("①党建活动.jpg", &photo(71))]);
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月宣传素材", MAR19).attach("三月总结.docx", &wps_docx("三月宣传工作总结")).attach("说明.odt", &odt()).attach("素材.zip", &inner);
    app.import_one("a.eml", &mail.build());
    let items = app.items(&[]);
    assert_eq!(items.len(), 4, "no document was opened as an archive: {items:?}");
    for name in ["三月总结.docx", "说明.odt", "素材.zip/材料/总结.docx"] {
        let d = by_name(&items, name);
        assert_eq!((d["status"].as_str(), d["kind"].as_str()), (Some("accepted"), Some("document")), "{d}");
        assert!(flags(&d).is_empty(), "the extension fits: {d}");
    }
    let g = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!((g["photos"].as_i64(), g["documents"].as_i64()), (Some(1), Some(3)), "{g}");
}
