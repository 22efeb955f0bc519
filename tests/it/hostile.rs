//! Hostile input: each case gets its rejection code, nothing is written outside the
//! store, and the import carries on with the next message.

use std::io::Write;

use crate::fixtures::{Mail, Part, ZipEntry, b64, jpeg, sevenz, zip};
use crate::harness::{App, summary_count};
use crate::ingest::{AS_OF, MAR19};

fn mail(subject: &str) -> Mail {
    Mail::new("gltpcs@163.com", subject, MAR19)
}

/// Imports every message of `mails` in one run; returns the summary.
fn import_all(app: &App, mails: &[(&str, Vec<u8>)]) -> String {
    let dir = app.dir.path().join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, raw) in mails {
        std::fs::write(dir.join(format!("{name}.eml")), raw).unwrap();
    }
    app.ok(&["import", dir.to_str().unwrap()])
}


fn bomb(size: usize) -> ZipEntry {
    ZipEntry { deflate: true, ..ZipEntry::utf8("zeros.jpg", &vec![0u8; size]) }
}

fn deflate(data: &[u8]) -> usize {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap().len()
}

#[test]
fn archives_that_attack_are_refused_with_their_codes() {
    let app = App::new();
    let slip = zip(&[
        ZipEntry::utf8("../../escape.jpg", &jpeg(1)),
        ZipEntry::utf8("/tmp/abs.jpg", &jpeg(2)),
        ZipEntry::gbk("C:\\Windows\\drive.jpg", &jpeg(3)),
        ZipEntry::utf8("ok/fine.jpg", &jpeg(4)),
    ]);
    let flat_bomb = zip(&[bomb(24 << 20)]);
    assert!((24 << 20) / deflate(&vec![0u8; 24 << 20]) > 200, "fixture must exceed the ratio limit");
    let nested_bomb = zip(&[ZipEntry::utf8("inner.zip", &zip(&[ZipEntry::utf8("inner2.zip", &zip(&[bomb(24 << 20)]))]))]);
    let mut deep = zip(&[ZipEntry::utf8("deep.jpg", &jpeg(5))]);
    for i in 0..4 {
        deep = zip(&[ZipEntry::utf8(&format!("level{i}.zip"), &deep)]);
    }
    let encrypted = zip(&[ZipEntry { encrypted: true, ..ZipEntry::utf8("secret.jpg", &jpeg(6)) }]);
    let whole = zip(&[ZipEntry::utf8("a.jpg", &jpeg(7)), ZipEntry::utf8("b.jpg", &jpeg(8))]);
    let truncated_zip = whole[..whole.len() / 2].to_vec();
    let seven = sevenz(&[("a.jpg", &jpeg(9)), ("b.jpg", &jpeg(10))]);
    let truncated_7z = seven[..seven.len() - 40].to_vec();

    let batch = vec![
        ("slip", mail("3月").attach("slip.zip", &slip).build()),
        ("flat", mail("3月").attach("flat.zip", &flat_bomb).build()),
        ("nested", mail("3月").attach("nested.zip", &nested_bomb).build()),
        ("deep", mail("3月").attach("deep.zip", &deep).build()),
        ("enc", mail("3月").attach("enc.zip", &encrypted).build()),
        ("tzip", mail("3月").attach("cut.zip", &truncated_zip).build()),
        ("t7z", mail("3月").attach("cut.7z", &truncated_7z).build()),
        ("good", Mail::new("wdhpcs@163.com", "3月", MAR19).attach("good.jpg", &jpeg(11)).build()),
    ];
    let out = import_all(&app, &batch);
    assert_eq!(summary_count(&out, "计入报送"), 8, "{out}");
    let r = app.rejections();
    let want = [
        ("cut.7z", "corrupt_archive"),
        ("cut.zip", "corrupt_archive"),
        ("deep.zip/level3.zip/level2.zip/level1.zip", "nesting_too_deep"),
        ("enc.zip", "encrypted_archive"),
        ("flat.zip", "zip_bomb"),
        ("nested.zip/inner.zip/inner2.zip", "zip_bomb"),
        ("slip.zip/../../escape.jpg", "unsafe_path"),
        ("slip.zip//tmp/abs.jpg", "unsafe_path"),
        ("slip.zip/C:\\Windows\\drive.jpg", "unsafe_path"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(r, want);
    // Nothing escaped the store, and the good entry of the slip archive was kept.
    assert!(!app.dir.path().join("escape.jpg").exists() && !app.data().join("escape.jpg").exists());
    assert!(!std::path::Path::new("/tmp/abs.jpg").exists());
    assert!(app.tree().contains(&"2024-03/嘎鲁图派出所/未分类/fine.jpg".to_string()));
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["photos"], 1, "the import carried on");
    let board = app.status("2024-03", AS_OF);
    let row = board["departments"].as_array().unwrap().iter().find(|d| d["department"] == "嘎鲁图派出所").unwrap().clone();
    assert_eq!(row["rejected"], 9);
    // The reason is in Chinese for people.
    let items = app.items(&[]);
    let enc = items.iter().find(|i| i["rejection"] == "encrypted_archive").unwrap();
    assert!(enc["reason"].as_str().unwrap().contains("密码"), "{enc}");
}

#[test]
fn bad_files_and_bad_parts_are_refused_with_their_codes() {
    let app = App::new();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend([0u8; 100]);
    let m = mail("3月")
        .attach("照片.jpg", &exe)
        .attach("空文件.jpg", b"")
        .attach("notes.txt", b"just text")
        .part(Part::raw(
            "Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"broken.jpg\"\r\n",
            b"/9j/4AAQ!!!!@@@@####\r\n",
        ))
        .attach("好的.jpg", &jpeg(20));
    import_all(&app, &[("bad", m.build())]);
    let r = app.rejections();
    let want: Vec<(String, String)> = [("broken.jpg", "broken_base64"), ("notes.txt", "unsupported_type"), ("照片.jpg", "executable"), ("空文件.jpg", "empty_file")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(r, want);
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["photos"], 1);
}

#[test]
fn messages_with_too_many_or_too_deep_parts_are_refused_whole() {
    let app = App::new();
    let mut many = mail("3月");
    for i in 0..5000 {
        many = many.part(Part::raw("Content-Type: text/plain\r\n", format!("part {i}").as_bytes()));
    }
    let mut deep = String::from("Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"d.jpg\"\r\n\r\n");
    deep += &b64(&jpeg(30));
    deep += "\r\n";
    for level in 0..100 {
        deep = format!("Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n{deep}\r\n--b{level}--\r\n");
    }
    let mut deep_mail = format!("From: gltpcs@163.com\r\nSubject: 3月\r\nDate: {MAR19}\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n").into_bytes();
    deep_mail.extend(deep.as_bytes());
    let out = import_all(&app, &[("many", many.build()), ("deep", deep_mail), ("good", mail("3月").attach("ok.jpg", &jpeg(31)).build())]);
    assert_eq!(summary_count(&out, "整封拒收"), 2, "{out}");
    assert_eq!(summary_count(&out, "计入报送"), 1, "{out}");
    let s = app.status("2024-03", AS_OF);
    let mut codes: Vec<&str> = s["rejected_messages"].as_array().unwrap().iter().map(|m| m["code"].as_str().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, ["mime_too_deep", "too_many_parts"]);
}

#[test]
fn unsafe_and_clashing_names_are_made_safe_in_the_tree() {
    let app = App::new();
    let long = format!("{}.jpg", "很长的名字".repeat(60));
    let archive = zip(&[
        ZipEntry::utf8("现场/CON.jpg", &jpeg(40)),
        ZipEntry::utf8("现场/a\u{1}b\u{0}c.jpg", &jpeg(41)),
        ZipEntry::utf8(&format!("现场/{long}"), &jpeg(42)),
        ZipEntry::utf8("现场/同名.jpg", &jpeg(43)),
        ZipEntry::utf8("现场/同名.jpg", &jpeg(44)),
        ZipEntry::utf8("现场/aux", &jpeg(45)),
    ]);
    import_all(&app, &[("names", mail("3月").attach("n.zip", &archive).build())]);
    let tree = app.tree();
    let dir = "2024-03/嘎鲁图派出所/未分类/";
    for want in ["_CON.jpg", "a_b_c.jpg", "同名.jpg", "同名 (2).jpg", "_aux.jpg"] {
        assert!(tree.contains(&format!("{dir}{want}")), "{want} missing from {tree:?}");
    }
    let long_file = tree.iter().find(|t| t.contains("很长的名字")).unwrap();
    let name = long_file.rsplit('/').next().unwrap();
    assert!(name.len() <= 200 && name.ends_with(".jpg"), "{name}");
    assert_eq!(tree.len(), 6);
    let items = app.items(&[]);
    let sanitized = items.iter().filter(|i| i["flags"].as_array().unwrap().iter().any(|f| f == "name_sanitized")).count();
    assert_eq!(sanitized, 4, "CON, control characters, the long name and aux were renamed");
}
