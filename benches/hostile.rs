//! Hostile mail, one message at a time: `baosong import` of each crafted message from
//! issue 8 into a fresh data directory, with the child's peak RSS (wait4, that process
//! alone) and wall time, and the outcome it recorded. Baselines in the same run: a
//! normal 1 MB package and a legitimate 60 MB one. The bound is 256 MiB of peak RSS
//! for any single message up to 64 MiB. Run with `cargo bench --bench hostile`.
//!
//! The messages are the tests' own fixtures (tests/it/hostile_*.rs), built byte for byte.

#[path = "../tests/it/dovecot.rs"]
#[allow(dead_code, unused_imports)]
mod dovecot;
#[path = "../tests/it/fixtures.rs"]
#[allow(dead_code, unused_imports)]
mod fixtures;
#[path = "../tests/it/harness.rs"]
#[allow(dead_code, unused_imports)]
mod harness;
#[path = "../tests/it/hostile_archives.rs"]
#[allow(dead_code, unused_imports)]
mod hostile_archives;
#[path = "../tests/it/hostile_images.rs"]
#[allow(dead_code, unused_imports)]
mod hostile_images;
#[path = "../tests/it/ingest.rs"]
#[allow(dead_code, unused_imports)]
mod ingest;

use fixtures::{Mail, ZipEntry, b64, jpeg, zip};
use harness::App;

const BOUND_MIB: f64 = 256.0;

fn mail(subject: &str) -> Mail {
    Mail::new("gltpcs@163.com", subject, ingest::MAR19)
}

/// A normal package: a ZIP of three 260 KB photos in category folders (about 1 MB).
fn normal_package() -> Vec<u8> {
    let photo = |seed: u32| {
        let mut p = jpeg(seed);
        let mut x = seed.wrapping_mul(2654435761) | 1;
        while p.len() < 260_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            p.extend(x.to_le_bytes());
        }
        p
    };
    let archive = zip(&[ZipEntry::utf8("①党建/a.jpg", &photo(1)), ZipEntry::utf8("⑤反诈/b.jpg", &photo(2)), ZipEntry::utf8("⑩点滴/c.jpg", &photo(3))]);
    mail("嘎鲁图派出所3月素材").attach("素材.zip", &archive).build()
}

/// 24 MiB of zeros deflated in one entry.
fn zero_bomb() -> Vec<u8> {
    mail("3月").attach("flat.zip", &zip(&[ZipEntry { deflate: true, ..ZipEntry::utf8("zeros.jpg", &vec![0u8; 24 << 20]) }])).build()
}

/// A Subject of 3 MB of encoded words that never close.
fn long_subject() -> Vec<u8> {
    let mut subject = "嘎鲁图派出所3月 ".as_bytes().to_vec();
    subject.extend(b"=?x?Q? ".repeat(3_000_000 / 7));
    mail("").subject_raw(&subject).attach("a.jpg", &jpeg(1)).build()
}

/// A file name parameter of 3 MB of encoded words.
fn long_file_name() -> Vec<u8> {
    let mut head = b"Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"".to_vec();
    head.extend(b"=?x?Q? ".repeat(3_000_000 / 7));
    head.extend(b".jpg\"\r\n");
    mail("3月素材").part(fixtures::Part::raw(&String::from_utf8(head).unwrap_or_default(), format!("{}\r\n", b64(&jpeg(2))).as_bytes())).build()
}

/// 50,000 QQ 超大附件 links in one body.
fn many_links() -> Vec<u8> {
    let mut text = String::from("从QQ邮箱发来的超大附件\n\n");
    for i in 0..50_000 {
        text += &format!("视频{i}.mp4 (1.5M, 2024年4月23日 15:02 到期)进入下载页面：https://wx.mail.qq.com/ftn/download?k={i}\n");
    }
    mail("3月视频").part(fixtures::Part::text(&text)).build()
}

/// 1 MB of binary garbage.
fn garbage() -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 7) as u8
        })
        .collect()
}

/// What one import recorded: every rejection code, or else how many items counted.
fn outcome(app: &App, summary: &str) -> String {
    let items = app.items(&[]);
    let mut codes: Vec<String> = items.iter().filter_map(|i| i["rejection"].as_str().filter(|c| !c.is_empty()).map(str::to_string)).collect();
    let board = app.status("2024-03", ingest::AS_OF);
    codes.extend(board["rejected_messages"].as_array().into_iter().flatten().filter_map(|m| m["code"].as_str().map(|c| format!("整封 {c}"))));
    if harness::summary_count(summary, "整封拒收") > 0 && !codes.iter().any(|c| c.starts_with("整封")) {
        // No usable date, so it was received now: look at this month's board.
        let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
        let board = app.status(&now.format("%Y-%m").to_string(), &now.to_rfc3339());
        codes.extend(board["rejected_messages"].as_array().into_iter().flatten().filter_map(|m| m["code"].as_str().map(|c| format!("整封 {c}"))));
    }
    codes.sort();
    codes.dedup();
    let kept = items.iter().filter(|i| i["status"] == "accepted").count();
    match (codes.is_empty(), kept) {
        (true, n) => format!("{n} 个计入"),
        (false, 0) => codes.join(", "),
        (false, n) => format!("{}; {n} 个计入", codes.join(", ")),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    type Case = (&'static str, fn() -> Vec<u8>);
    let cases: Vec<Case> = vec![
        ("baseline: normal 1 MB package", normal_package),
        ("baseline: legitimate 60 MB package", hostile_archives::big_legit_mail),
        ("ZIP: 3,900 entries over one 1 MiB entry", hostile_archives::overlap_bomb_mail),
        ("ZIP: 3,900 real 1 MiB entries", hostile_archives::many_mib_bomb_mail),
        ("ZIP: 24 MiB of zeros", zero_bomb),
        ("ZIP64: 100,000 entries", hostile_archives::zip64_huge_mail),
        ("PNG: IDAT expanding to 15800²", || hostile_images::bomb_mail("bomb.png", &hostile_images::png_zlib_bomb(15800, 15800))),
        ("TIFF: deflate strips of 15800²", || hostile_images::bomb_mail("bomb.tif", &hostile_images::tiff_deflate_bomb(15800, 15800))),
        ("TIFF: declaring 100000²", || hostile_images::bomb_mail("huge.tif", &hostile_images::tiff_header_only(100_000, 100_000))),
        ("JPEG: progressive 15800², with scans", || hostile_images::bomb_mail("bomb.jpg", &hostile_images::progressive_bomb(true))),
        ("JPEG: progressive 15800², header only", || hostile_images::bomb_mail("head.jpg", &hostile_images::progressive_bomb(false))),
        ("header: 3 MB Subject of encoded words", long_subject),
        ("header: 3 MB file name of encoded words", long_file_name),
        ("body: 50,000 超大附件 links", many_links),
        ("1 MB of binary garbage", garbage),
    ];
    println!("{:<44} {:>9} {:>10} {:>8}  outcome", "message", "mail MB", "peak RSS", "time");
    let mut worst: f64 = 0.0;
    for (name, build) in cases {
        let app = App::new();
        let raw = build();
        let size = raw.len() as f64 / 1e6;
        let path = app.eml("case.eml", &raw);
        drop(raw);
        let (run, rss_kib, wall) = app.run_measured(&["import", path.to_str().unwrap_or_default()]);
        let rss = rss_kib as f64 / 1024.0;
        let mark = if rss < BOUND_MIB { "" } else { "  ✗ over the bound" };
        let result = if run.ok { outcome(&app, &run.stdout) } else { format!("import failed: {}", run.stderr.lines().last().unwrap_or_default()) };
        println!("{name:<44} {size:>9.1} {rss:>7.0} MiB {:>7.2}s  {result}{mark}", wall.as_secs_f64());
        if !name.starts_with("baseline") {
            worst = worst.max(rss);
        }
    }
    println!("highest peak RSS of a hostile message: {worst:.0} MiB (bound {BOUND_MIB:.0} MiB)");
}
