//! Hostile archives: bombs refused within the memory bound, ZIP64 read, RAR through the
//! data directory's tmp/ with names decoded like ZIP names, and the right code for
//! archives and entries that are broken.

use std::io::Write;

use crate::fixtures::{Mail, ZipEntry, gbk, jpeg, noise, sevenz, zip};
use crate::harness::{App, summary_count};
use crate::ingest::{AS_OF, MAR19};

fn mail(subject: &str) -> Mail {
    Mail::new("gltpcs@163.com", subject, MAR19)
}


fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}


/// A ZIP written from pieces: `locals` are (name, crc, deflated body, size) written once
/// each; `central` are (name, index into locals) so that several entries may point at
/// one local entry.
fn zip_of(locals: &[(String, u32, &[u8], u32)], central: &[(String, usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    let header = |v: &mut Vec<u8>, name: &str, crc: u32, body: &[u8], size: u32| {
        v.extend(20u16.to_le_bytes());
        v.extend(0x0800u16.to_le_bytes());
        v.extend(8u16.to_le_bytes());
        v.extend([0u8; 4]);
        v.extend(crc.to_le_bytes());
        v.extend((body.len() as u32).to_le_bytes());
        v.extend(size.to_le_bytes());
        v.extend((name.len() as u16).to_le_bytes());
        v.extend(0u16.to_le_bytes());
    };
    for (name, crc, body, size) in locals {
        offsets.push(out.len() as u32);
        out.extend(b"PK\x03\x04");
        header(&mut out, name, *crc, body, *size);
        out.extend(name.as_bytes());
        out.extend(*body);
    }
    let cd_offset = out.len() as u32;
    for (name, i) in central {
        let (_, crc, body, size) = &locals[*i];
        out.extend(b"PK\x01\x02\x14\x00");
        header(&mut out, name, *crc, body, *size);
        out.extend([0u8; 10]);
        out.extend(offsets[*i].to_le_bytes());
        out.extend(name.as_bytes());
    }
    let cd_len = out.len() as u32 - cd_offset;
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend((central.len() as u16).to_le_bytes());
    out.extend((central.len() as u16).to_le_bytes());
    out.extend(cd_len.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0u8; 2]);
    out
}

/// A ZIP64 archive as `zip -fz` writes it: every size and offset in the 0x0001 extra
/// field (local and central), a ZIP64 end record and its locator, and an end record
/// whose counts and offsets are all ones.
fn zip64(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u64;
        let crc = crc32fast::hash(data);
        let common = |v: &mut Vec<u8>, extra_len: u16| {
            v.extend(45u16.to_le_bytes());
            v.extend(0x0800u16.to_le_bytes());
            v.extend(0u16.to_le_bytes()); // stored
            v.extend([0u8; 4]);
            v.extend(crc.to_le_bytes());
            v.extend(u32::MAX.to_le_bytes());
            v.extend(u32::MAX.to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend(extra_len.to_le_bytes());
        };
        out.extend(b"PK\x03\x04");
        common(&mut out, 20);
        out.extend(name.as_bytes());
        out.extend(1u16.to_le_bytes());
        out.extend(16u16.to_le_bytes());
        out.extend((data.len() as u64).to_le_bytes());
        out.extend((data.len() as u64).to_le_bytes());
        out.extend(data);
        central.extend(b"PK\x01\x02");
        central.extend(0x031Eu16.to_le_bytes()); // made by: Unix, 3.0
        common(&mut central, 28);
        central.extend([0u8; 8]); // comment length, disk, internal attributes, external (part)
        central.extend([0u8; 2]);
        central.extend(u32::MAX.to_le_bytes());
        central.extend(name.as_bytes());
        central.extend(1u16.to_le_bytes());
        central.extend(24u16.to_le_bytes());
        central.extend((data.len() as u64).to_le_bytes());
        central.extend((data.len() as u64).to_le_bytes());
        central.extend(offset.to_le_bytes());
    }
    let cd_offset = out.len() as u64;
    out.extend(&central);
    let record = out.len() as u64;
    out.extend(b"PK\x06\x06");
    out.extend(44u64.to_le_bytes());
    out.extend(0x031Eu16.to_le_bytes());
    out.extend(45u16.to_le_bytes());
    out.extend([0u8; 8]); // this disk, the directory's disk
    out.extend((entries.len() as u64).to_le_bytes());
    out.extend((entries.len() as u64).to_le_bytes());
    out.extend((central.len() as u64).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(b"PK\x06\x07\x00\x00\x00\x00");
    out.extend(record.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    out.extend(b"PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00");
    out
}

/// A RAR 4 archive of stored entries (as in fixtures::rar), with each name given as raw
/// bytes and, when `unicode`, flagged LHD_UNICODE and written as `ascii\0<encoded>`.
fn rar4(entries: &[(Vec<u8>, bool, &[u8])]) -> Vec<u8> {
    let crc16 = |b: &[u8]| (crc32fast::hash(b) & 0xFFFF) as u16;
    let mut out = b"Rar!\x1a\x07\x00".to_vec();
    let main = [0x73u8, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0];
    out.extend(crc16(&main).to_le_bytes());
    out.extend(main);
    for (name, unicode, data) in entries {
        let mut h = vec![0x74u8];
        let flags: u16 = 0x8000 | if *unicode { 0x0200 } else { 0 };
        h.extend(flags.to_le_bytes());
        h.extend(((32 + name.len()) as u16).to_le_bytes());
        h.extend((data.len() as u32).to_le_bytes());
        h.extend((data.len() as u32).to_le_bytes());
        h.push(2);
        h.extend(crc32fast::hash(data).to_le_bytes());
        h.extend(0x5863_0000u32.to_le_bytes());
        h.push(20);
        h.push(0x30);
        h.extend((name.len() as u16).to_le_bytes());
        h.extend(0x20u32.to_le_bytes());
        h.extend(name);
        out.extend(crc16(&h).to_le_bytes());
        out.extend(&h);
        out.extend(*data);
    }
    out.extend([0xC4, 0x3D, 0x7B, 0x00, 0x40, 0x07, 0x00]);
    out
}

/// A RAR 2.9 Unicode name: an ASCII stand-in, NUL, then high byte 0 and every UTF-16
/// unit written whole (opcode 2, four to a flag byte).
fn rar_unicode_name(name: &str) -> Vec<u8> {
    let units: Vec<u16> = name.encode_utf16().collect();
    let mut out = vec![b'_'; units.len()];
    out.extend([0, 0]);
    for chunk in units.chunks(4) {
        out.push(0xAA);
        for u in chunk {
            out.extend(u.to_le_bytes());
        }
    }
    out
}

/// The import of a folder of mails, measured: (summary, peak RSS in KiB).
fn import_measured(app: &App, mails: &[(&str, Vec<u8>)]) -> (String, u64) {
    let dir = app.dir.path().join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, raw) in mails {
        std::fs::write(dir.join(format!("{name}.eml")), raw).unwrap();
    }
    let (run, rss, _) = app.run_measured(&["import", dir.to_str().unwrap()]);
    assert!(run.ok, "import failed:\n{}\n{}", run.stdout, run.stderr);
    (run.stdout, rss)
}

/// 3,900 central-directory entries that all point at one deflated 1 MiB local entry.
pub(crate) fn overlap_bomb_mail() -> Vec<u8> {
    let mib = vec![0u8; 1 << 20];
    let (crc, body) = (crc32fast::hash(&mib), deflate(&mib));
    let one = [("0.jpg".to_string(), crc, &body[..], 1u32 << 20)];
    let central: Vec<(String, usize)> = (0..3900).map(|i| (format!("{i}.jpg"), 0)).collect();
    mail("3月").attach("overlap.zip", &zip_of(&one, &central)).build()
}

/// 3,900 real entries of 1 MiB each (about 6 MB of mail).
pub(crate) fn many_mib_bomb_mail() -> Vec<u8> {
    let mib = vec![0u8; 1 << 20];
    let (crc, body) = (crc32fast::hash(&mib), deflate(&mib));
    let locals: Vec<(String, u32, &[u8], u32)> = (0..3900).map(|i| (format!("{i}.jpg"), crc, &body[..], 1u32 << 20)).collect();
    let central: Vec<(String, usize)> = (0..3900).map(|i| (format!("{i}.jpg"), i)).collect();
    mail("3月").attach("many.zip", &zip_of(&locals, &central)).build()
}

/// A legitimate package near the size limit: a 40 MiB video and 20 photos, stored.
pub(crate) fn big_legit_mail() -> Vec<u8> {
    let payload = noise(40 << 20, 7);
    let video = crate::fixtures::mp4_movie(60, 1920, 1080, None, &payload);
    drop(payload);
    let mut entries = vec![ZipEntry::utf8("⑩点滴/巡逻.mp4", &video)];
    drop(video);
    for i in 0..20 {
        let mut photo = jpeg(100 + i);
        photo.extend(noise(200 << 10, u64::from(i)));
        entries.push(ZipEntry::utf8(&format!("①党建/{i}.jpg"), &photo));
    }
    let big = zip(&entries);
    drop(entries);
    mail("3月").attach("素材.zip", &big).build()
}

/// A ZIP64 archive of 100,000 one-byte entries (for `cargo bench --bench hostile`; the
/// test below sends the same archive beside a valid ZIP64 one).
#[allow(dead_code)]
pub(crate) fn zip64_huge_mail() -> Vec<u8> {
    let huge = zip64(&(0..100_000).map(|i| (format!("{i}.jpg"), vec![i as u8])).collect::<Vec<_>>());
    mail("3月").attach("huge.zip", &huge).build()
}

#[test]
fn zip_bombs_are_refused_and_a_60_mib_mail_is_read_within_256_mib() {
    let app = App::new();
    let big_mail = big_legit_mail();
    assert!(big_mail.len() > 58 << 20 && big_mail.len() < 64 << 20, "{} bytes", big_mail.len());

    let (out, rss) = import_measured(
        &app,
        &[
            ("1overlap", overlap_bomb_mail()),
            ("2many", many_mib_bomb_mail()),
            ("3big", big_mail),
            ("4good", Mail::new("wdhpcs@163.com", "3月", MAR19).attach("good.jpg", &jpeg(1)).build()),
        ],
    );
    eprintln!("peak RSS {} MiB", rss >> 10);
    assert_eq!(summary_count(&out, "计入报送"), 4, "{out}");
    assert_eq!(app.rejections(), pairs(&[("many.zip", "zip_bomb"), ("overlap.zip", "zip_bomb")]));
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["videos"], 1, "{row}");
    assert_eq!(row["photos"], 20, "{row}");
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["photos"], 1, "the mail after the bombs was counted");
    assert!(rss < 256 * 1024, "peak RSS {} MiB", rss >> 10);
}

#[test]
fn zip64_archives_are_read_and_a_100000_entry_one_has_too_many_entries() {
    let app = App::new();
    let small = zip64(&[("①党建/学习.jpg".to_string(), jpeg(1)), ("⑤专项/抓捕.jpg".to_string(), jpeg(2))]);
    let huge = zip64(&(0..100_000).map(|i| (format!("{i}.jpg"), vec![i as u8])).collect::<Vec<_>>());
    let m = mail("3月").attach("zip64.zip", &small).attach("huge.zip", &huge);
    app.import_one("a.eml", &m.build());
    assert_eq!(app.rejections(), pairs(&[("huge.zip", "too_many_entries")]));
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!(row["photos"], 2, "{row}");
    assert_eq!(row["by_category"]["1"], 1);
    assert_eq!(row["by_category"]["5"], 1);
}

#[test]
fn entries_named_only_dots_are_recorded() {
    let app = App::new();
    let archive = zip(&[ZipEntry::utf8(".", &jpeg(1)), ZipEntry::utf8("./", &jpeg(2)), ZipEntry::utf8("./.", &jpeg(3)), ZipEntry::utf8("ok.jpg", &jpeg(4))]);
    app.import_one("a.eml", &mail("3月").attach("dots.zip", &archive).build());
    assert_eq!(app.rejections(), pairs(&[("dots.zip/.", "unsafe_path"), ("dots.zip/./", "unsafe_path"), ("dots.zip/./.", "unsafe_path")]));
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["photos"], 1);
}

#[test]
fn rar_garbage_and_bare_signatures_are_corrupt_archives() {
    let app = App::new();
    let mut garbage5 = b"Rar!\x1a\x07\x01\x00".to_vec();
    garbage5.extend(noise(4096, 3));
    let mut garbage4 = b"Rar!\x1a\x07\x00".to_vec();
    garbage4.extend(noise(4096, 4));
    let m = mail("3月")
        .attach("bare4.rar", b"Rar!\x1a\x07\x00")
        .attach("bare5.rar", b"Rar!\x1a\x07\x01\x00")
        .attach("garbage4.rar", &garbage4)
        .attach("garbage5.rar", &garbage5);
    app.import_one("a.eml", &m.build());
    let want = [("bare4.rar", "corrupt_archive"), ("bare5.rar", "corrupt_archive"), ("garbage4.rar", "corrupt_archive"), ("garbage5.rar", "corrupt_archive")];
    assert_eq!(app.rejections(), pairs(&want));
}

#[test]
fn gbk_and_unicode_names_in_rar4_keep_their_category_folders() {
    let app = App::new();
    let archive = rar4(&[
        (gbk("①党的建设\\活动.jpg"), false, &jpeg(1)),
        (rar_unicode_name("⑤专项行动\\抓捕.jpg"), true, &jpeg(2)),
    ]);
    app.import_one("a.eml", &mail("3月素材").attach("素材.rar", &archive).build());
    let items = app.items(&[]);
    let by_name = |n: &str| items.iter().find(|i| i["name"] == n).unwrap_or_else(|| panic!("{n} missing: {items:?}")).clone();
    assert_eq!(by_name("素材.rar/①党的建设/活动.jpg")["category"].to_string().trim_matches('"'), "1");
    assert_eq!(by_name("素材.rar/⑤专项行动/抓捕.jpg")["category"].to_string().trim_matches('"'), "5");
    let tree = app.tree();
    assert!(tree.iter().any(|t| t.contains("①党的建设") && t.ends_with("活动.jpg")), "{tree:?}");
}

#[test]
fn rar_extraction_ignores_an_unusable_tmpdir_and_leaves_nothing_behind() {
    let app = App::new();
    let archive = crate::fixtures::rar(&[("1.党建/学习.jpg", &jpeg(1))], false);
    let path = app.eml("a.eml", &mail("3月").attach("素材.rar", &archive).build());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baosong"))
        .arg("--config")
        .arg(app.config())
        .args(["import", path.to_str().unwrap()])
        .env_remove("BAOSONG_CONFIG")
        .env("TMPDIR", "/nonexistent/baosong-test")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(app.rejections(), pairs(&[]));
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["photos"], 1);
    let left: Vec<_> = std::fs::read_dir(app.data().join("tmp")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn entries_over_max_file_size_are_refused_unread_and_the_rest_kept() {
    let app = App::with_config("[limits]\nmax_file_size = \"1MiB\"\n");
    let mut big = jpeg(9);
    big.extend(noise(2 << 20, 9));
    let z = zip(&[ZipEntry::utf8("big.jpg", &big), ZipEntry::utf8("small.jpg", &jpeg(1))]);
    let s = sevenz(&[("big.jpg", &big), ("small.jpg", &jpeg(2))]);
    let r = crate::fixtures::rar(&[("big.jpg", &big), ("small.jpg", &jpeg(3))], false);
    // A nested archive counts together with what is read from it: 600 KiB + 600 KiB > 1 MiB.
    let mut half = jpeg(10);
    half.extend(noise(600 << 10, 10));
    let nested = zip(&[ZipEntry::utf8("inner.zip", &zip(&[ZipEntry::utf8("half.jpg", &half), ZipEntry::utf8("tiny.jpg", &jpeg(4))]))]);
    let m = mail("3月").attach("a.zip", &z).attach("b.7z", &s).attach("c.rar", &r).attach("d.zip", &nested);
    app.import_one("a.eml", &m.build());
    let want = [("a.zip/big.jpg", "too_large"), ("b.7z/big.jpg", "too_large"), ("c.rar/big.jpg", "too_large"), ("d.zip/inner.zip/half.jpg", "too_large")];
    assert_eq!(app.rejections(), pairs(&want));
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["photos"], 4);
}

#[test]
fn archives_with_no_files_are_recorded_as_empty() {
    let app = App::new();
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    let only_dirs = zip(&[ZipEntry::utf8("①党建/", b"")]);
    let m = mail("3月").attach("empty.zip", &empty_zip).attach("dirs.zip", &only_dirs).attach("empty.rar", &rar4(&[])).attach("ok.jpg", &jpeg(1));
    app.import_one("a.eml", &m.build());
    assert_eq!(app.rejections(), pairs(&[("dirs.zip", "empty_file"), ("empty.rar", "empty_file"), ("empty.zip", "empty_file")]));
    let items = app.items(&[]);
    let dirs = items.iter().find(|i| i["name"] == "dirs.zip").unwrap();
    assert!(dirs["reason"].as_str().unwrap().contains("空"), "{dirs}");
}
