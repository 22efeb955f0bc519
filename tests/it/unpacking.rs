//! Attachments, inline images, forwarded packages and archives of every kind.

use crate::fixtures::{Mail, Part, ZipEntry, gbk, jpeg, mp4, png, sevenz, zip};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

fn names(app: &App) -> Vec<String> {
    let mut v: Vec<String> = app.items(&[]).iter().map(|i| format!("{}:{}", i["status"].as_str().unwrap(), i["name"].as_str().unwrap())).collect();
    v.sort();
    v
}

#[test]
fn zip_names_follow_the_unicode_field_then_the_flag_then_utf8_then_gb18030() {
    let app = App::new();
    let archive = zip(&[
        // A wrong-CRC unicode field is ignored; the GBK bytes are used.
        ZipEntry { unicode_path: Some("错误.jpg".into()), stale_unicode: true, name: gbk("图克所\\①党建.jpg"), data: jpeg(1), ..Default::default() },
        // A right-CRC unicode field wins over mojibake-looking raw bytes.
        {
            let mut e = ZipEntry { name: b"CP437 junk \x81\x82.jpg".to_vec(), data: jpeg(2), ..Default::default() };
            e.unicode_path = Some("图克所/②练兵.jpg".into());
            e
        },
        ZipEntry::utf8("图克所/③安保.jpg", &jpeg(3)),
        // Strict UTF-8 without the flag (macOS Archive Utility).
        ZipEntry { name: "图克所/④表彰.jpg".as_bytes().to_vec(), data: jpeg(4), ..Default::default() },
        // A GBK trail byte 0x5C ("\") inside a character must not split the path.
        ZipEntry::gbk("图克所\\⑤打击盗窃.jpg", &jpeg(5)),
        // What archivers add by themselves is neither kept nor reported.
        ZipEntry::utf8("__MACOSX/图克所/._②练兵.jpg", b"\x00\x05\x16\x07 resource fork"),
        ZipEntry::utf8("图克所/Thumbs.db", b"\xd0\xcf\x11\xe0 cache"),
    ]);
    let mail = Mail::new("tkpcs@qq.com", "3月素材", MAR19).attach("图克所.zip", &archive);
    app.import_one("a.eml", &mail.build());
    let n = names(&app);
    assert!(n.contains(&"accepted:图克所.zip/图克所/①党建.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:图克所.zip/图克所/②练兵.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:图克所.zip/图克所/③安保.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:图克所.zip/图克所/④表彰.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:图克所.zip/图克所/⑤打击盗窃.jpg".to_string()), "{n:?}");
    assert_eq!(n.len(), 5, "{n:?}");
}

#[test]
fn a_gbk_trail_byte_of_backslash_stays_inside_the_name() {
    // "錦" is 0xE5 0x5C in GBK.
    let name = "乌审召所\\巡逻送錦旗.jpg";
    let bytes = gbk(name);
    assert!(bytes.windows(2).any(|w| w[1] == 0x5C && w[0] >= 0x81), "fixture must contain a 0x5C trail byte");
    let app = App::new();
    let mail = Mail::new("wszpcs@qq.com", "3月", MAR19).attach("a.zip", &zip(&[ZipEntry::gbk(name, &jpeg(6))]));
    app.import_one("a.eml", &mail.build());
    assert_eq!(names(&app), ["accepted:a.zip/乌审召所/巡逻送錦旗.jpg"]);
    assert_eq!(app.tree(), ["2024-03/乌审召派出所/⑥公共安全/巡逻送錦旗.jpg"]);
}

#[test]
fn sevenz_archives_nested_zips_inline_images_and_forwarded_packages() {
    let app = App::new();
    let inner_zip = zip(&[ZipEntry::utf8("8.便民服务/窗口.jpg", &jpeg(11))]);
    let archive = sevenz(&[("7、雪亮工程/监控.jpg", &jpeg(10)), ("补充.zip", &inner_zip), ("⑩点滴/v.mp4", &mp4(12))]);
    let forwarded = Mail::new("someone@qq.com", "九月素材", MAR19).attach("转发的照片.png", &png(13)).build();
    let mail = Mail::new("wsq_jgdd@163.com", "交管大队3月素材", MAR19)
        .attach("交管大队.7z", &archive)
        .part(Part::inline_image("img1", &jpeg(14)))
        .part(Part::forwarded(&forwarded));
    app.import_one("a.eml", &mail.build());
    let n = names(&app);
    assert!(n.contains(&"accepted:交管大队.7z/7、雪亮工程/监控.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:交管大队.7z/补充.zip/8.便民服务/窗口.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:交管大队.7z/⑩点滴/v.mp4".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:转发的照片.png".to_string()), "{n:?}");
    assert!(n.iter().any(|x| x.starts_with("accepted:未命名附件")), "inline image kept: {n:?}");
    let row = app.row("2024-03", AS_OF, "交管大队");
    assert_eq!(row["photos"], 4);
    assert_eq!(row["videos"], 1);
    assert_eq!(row["by_category"]["7"], 1);
    assert_eq!(row["by_category"]["8"], 1);
    assert_eq!(row["by_category"]["10"], 1);
    // The subject names March; the forwarded mail's "九月" comes after it and does not decide.
    assert_eq!(row["state"], "on_time");
}

#[test]
fn documents_are_stored_not_counted_and_a_wrong_extension_is_flagged() {
    let app = App::new();
    let mail = Mail::new("gltpcs@163.com", "3月素材", MAR19)
        .attach("说明.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")
        .attach("现场.png", &jpeg(20));
    app.import_one("a.eml", &mail.build());
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["documents"], 1);
    assert_eq!(row["photos"], 1);
    assert_eq!(row["flags"]["name_mismatch"], 1);
    let items = app.items(&[]);
    let pdf = items.iter().find(|i| i["kind"] == "document").unwrap();
    assert!(!pdf["path"].as_str().unwrap().is_empty(), "documents are filed in the tree");
}

#[test]
fn rar_archives_are_opened_and_refused_when_locked_or_cut() {
    let app = App::new();
    let good = crate::fixtures::rar(&[("7.xueliang/camera.jpg", &jpeg(60)), ("2.training/drill.mp4", &mp4(61))], false);
    let locked = crate::fixtures::rar(&[("secret.jpg", &jpeg(62))], true);
    let cut = good[..good.len() / 2].to_vec();
    let mail = Mail::new("wsq_zadd@163.com", "治安大队3月素材", MAR19).attach("素材.rar", &good).attach("加密.rar", &locked).attach("坏的.rar", &cut);
    app.import_one("a.eml", &mail.build());
    let n = names(&app);
    assert!(n.contains(&"accepted:素材.rar/7.xueliang/camera.jpg".to_string()), "{n:?}");
    assert!(n.contains(&"accepted:素材.rar/2.training/drill.mp4".to_string()), "{n:?}");
    let items = app.items(&[]);
    let code = |name: &str| items.iter().find(|i| i["name"] == name).map(|i| i["rejection"].as_str().unwrap().to_string());
    assert_eq!(code("加密.rar").as_deref(), Some("encrypted_archive"));
    assert_eq!(code("坏的.rar").as_deref(), Some("corrupt_archive"));
    let row = app.row("2024-03", AS_OF, "治安管理大队");
    assert_eq!(row["by_category"]["7"], 1);
    assert_eq!(row["by_category"]["2"], 1);
}
