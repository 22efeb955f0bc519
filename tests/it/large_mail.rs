//! Large messages (over 16 MiB) are analysed from a skeleton, their attachments
//! streamed out of the stored raw mail: a 100 MiB video mail costs a few MiB, and what
//! is counted is exactly what was sent.

use sha2::{Digest, Sha256};

use crate::fixtures::{Mail, Part, ZipEntry, jpeg, mp4_movie, noise, zip};
use crate::harness::App;
use crate::ingest::MAR19;

/// The bound the issue sets for a message of any size.
const LARGE_RSS_KIB: u64 = 64 << 10;

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[test]
fn a_100_mib_video_mail_is_counted_whole_within_64_mib() {
    let app = App::new();
    let video = mp4_movie(300, 1920, 1080, None, &noise(75 << 20, 1));
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月视频", MAR19).attach("宣讲.mp4", &video).build();
    assert!(mail.len() > 100 << 20, "{} bytes", mail.len());
    let path = app.eml("big.eml", &mail);
    drop(mail);
    let (run, rss, wall) = app.run_measured(&["import", path.to_str().unwrap()]);
    eprintln!("100 MiB video mail: peak RSS {} MiB, {:.1} s", rss >> 10, wall.as_secs_f64());
    assert!(run.ok, "import failed:\n{}\n{}", run.stdout, run.stderr);
    let items = app.items(&[]);
    assert_eq!(items.len(), 1, "{items:?}");
    let i = &items[0];
    assert_eq!((i["status"].as_str(), i["kind"].as_str(), i["department"].as_str()), (Some("accepted"), Some("video"), Some("嘎鲁图派出所")), "{i}");
    assert_eq!(i["duration_ms"].as_i64(), Some(300_000), "{i}");
    assert_eq!((i["width"].as_u64(), i["height"].as_u64()), (Some(1920), Some(1080)), "{i}");
    // The stored file is the video byte for byte.
    assert_eq!(i["sha256"].as_str(), Some(sha256(&video).as_str()));
    let filed = app.data().join(i["path"].as_str().unwrap_or_else(|| panic!("not filed: {i}")));
    let blob = std::fs::read(&filed).unwrap_or_else(|e| panic!("{}: {e}", filed.display()));
    assert!(blob == video, "the stored video differs from the one sent");
    assert!(rss < LARGE_RSS_KIB, "peak RSS {} MiB for a 100 MiB mail", rss >> 10);
    // Nothing is left behind in the temporary folder.
    assert_eq!(std::fs::read_dir(app.data().join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_large_mail_with_a_zip_and_small_parts_is_read_like_a_small_one() {
    let app = App::new();
    let archive = zip(&[ZipEntry::utf8("①党建/会议.jpg", &jpeg(1)), ZipEntry::utf8("⑩点滴/训练.mp4", &mp4_movie(20, 1280, 720, None, &noise(18 << 20, 2)))]);
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19)
        .part(Part::text("这是本月的素材，请查收。"))
        .attach("素材.zip", &archive)
        .attach("⑤反诈/宣传.jpg", &jpeg(3))
        .build();
    assert!(mail.len() > 24 << 20);
    app.import_one("big.eml", &mail);
    let mut got: Vec<(String, String, String)> = app
        .items(&[])
        .iter()
        .map(|i| (i["name"].as_str().unwrap().to_string(), i["category"].as_str().unwrap_or("").to_string(), i["status"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    let want = |n: &str, c: &str| (n.to_string(), c.to_string(), "accepted".to_string());
    assert_eq!(got, vec![want("⑤反诈/宣传.jpg", "5"), want("素材.zip/①党建/会议.jpg", "1"), want("素材.zip/⑩点滴/训练.mp4", "10")]);
}

#[test]
fn a_cut_attachment_in_a_large_mail_is_refused_as_broken_base64() {
    let app = App::new();
    let video = mp4_movie(60, 1920, 1080, None, &noise(20 << 20, 3));
    let whole = Mail::new("gltpcs@163.com", "3月视频", MAR19).attach("宣讲.mp4", &video).build();
    // Cut inside the base64 body, mid-quantum, as a dropped connection leaves it.
    let cut = &whole[..whole.len() - 1000 * 77 - 3];
    app.import_one("cut.eml", cut);
    assert_eq!(app.rejections(), [("宣讲.mp4".to_string(), "broken_base64".to_string())]);
}

#[test]
fn a_large_mail_that_is_not_attachments_is_refused_with_its_sender_known() {
    let app = App::new();
    // 20 MiB of text with no line breaks, sent as 8bit: not a base64 body, so it would
    // all have to be held in memory.
    let mail = Mail::new("gltpcs@163.com", "3月素材", MAR19).part(Part::raw("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n", &vec![b'x'; 20 << 20])).build();
    let (run, rss, _) = app.run_measured(&["import", app.eml("text.eml", &mail).to_str().unwrap()]);
    assert!(run.ok, "{}", run.stderr);
    assert!(rss < LARGE_RSS_KIB, "peak RSS {} MiB", rss >> 10);
    let s = app.status("2024-03", "2024-03-28T12:00:00+08:00");
    let m = &s["rejected_messages"].as_array().unwrap()[0];
    assert_eq!(m["code"].as_str(), Some("too_large"), "{m}");
    assert_eq!(m["from"].as_str(), Some("gltpcs@163.com"), "{m}");
    assert!(m["detail"].as_str().unwrap_or("").contains("附件以外的内容超过 16 MiB"), "{m}");
}

#[test]
fn over_imap_a_large_mail_is_fetched_in_ranges_and_counted_within_64_mib() {
    let d = crate::dovecot::Dovecot::start();
    let video = mp4_movie(120, 1920, 1080, None, &noise(30 << 20, 4));
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月视频", MAR19).attach("巡逻.mp4", &video).build();
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &mail);
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\nchunk_size = \"1MiB\"");
    let (run, rss, _) = app.run_measured(&["poll", "--once"]);
    eprintln!("{} MiB mail over IMAP: peak RSS {} MiB", mail.len() >> 20, rss >> 10);
    assert!(run.ok, "poll failed:\n{}\n{}", run.stdout, run.stderr);
    let items = app.items(&[]);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!((items[0]["status"].as_str(), items[0]["kind"].as_str()), (Some("accepted"), Some("video")), "{}", items[0]);
    assert_eq!(items[0]["sha256"].as_str(), Some(sha256(&video).as_str()));
    // The raw mail kept is the message as the server has it, byte for byte.
    let raw = std::fs::read_dir(app.data().join("raw")).unwrap().flatten().flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten()).map(|f| std::fs::read(f.path()).unwrap()).collect::<Vec<_>>();
    assert_eq!(raw.len(), 1);
    assert!(raw[0] == mail, "stored raw mail differs from the one on the server");
    assert!(rss < LARGE_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}

/// Issue 21: after kill -9 during `import` and a second import, a file was left in
/// data/tmp. The second import (the writer, under its lock) removes what the killed
/// one left, however young, and everything is counted once.
#[test]
fn a_killed_import_leaves_nothing_in_tmp_after_the_next_one() {
    let app = App::new();
    let video = mp4_movie(300, 1920, 1080, None, &noise(60 << 20, 2));
    let path = app.eml("big.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月视频", MAR19).attach("宣讲.mp4", &video).build());
    let tmp = app.data().join("tmp");
    let busy = || {
        std::fs::read_dir(&tmp).map_or(false, |d| {
            d.flatten().any(|e| e.path().is_dir() && std::fs::read_dir(e.path()).map_or(false, |f| f.flatten().any(|x| x.file_name() != ".lock")))
        })
    };
    let mut child = app.spawn(&["import", path.to_str().unwrap()]);
    let start = std::time::Instant::now();
    while !busy() && start.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(busy(), "the import never wrote a temporary file");
    crate::harness::signal(&child, libc::SIGKILL);
    let _ = child.wait();
    assert!(busy(), "the killed import left its temporary files (what this test is about)");
    let run = app.run(&["import", path.to_str().unwrap()]);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "left in data/tmp: {left:?}");
    let items = app.items(&[]);
    assert_eq!(items.len(), 1, "counted once: {items:?}");
    assert_eq!(items[0]["sha256"].as_str(), Some(sha256(&video).as_str()));
}
