//! The console on a synthetic year: 30 departments × 12 months × 300 items, each with
//! a thumbnail on disk (30 distinct JPEG files shared by the items). Written straight
//! into the database through db/ (the pipeline is not what is measured here).
//! Measures, against `/healthz` served by the same process as the baseline:
//!   - the board computed afresh, the first view of each of the 12 months;
//!   - p50/p95 latency of the board (`/?cycle=2024-06`) and of a gallery page
//!     (`/gallery/2024-06/单位01大队`, 300 items), 200 sequential requests each;
//!   - the board's throughput with `wrk -t2 -c16 -d10s` (Debian's `wrk`).
//! Run with `cargo bench --bench web`. Goals: the board p95 < 20 ms (issue 22), a department's month p95 < 50 ms, board ≥ 500 req/s.

use std::process::Command;
use std::time::{Duration, Instant};

use baosong::config::Config;
use baosong::db;
use baosong::app::App;

const DEPARTMENTS: usize = 30;
const MONTHS: u32 = 12;
const ITEMS: usize = 300;

fn roster() -> String {
    (1..=DEPARTMENTS).map(|n| format!("[[department]]\nname = \"单位{n:02}大队\"\nsenders = [\"d{n:02}@example.com\"]\n\n")).collect()
}

async fn seed(app: &App) {
    let thumbs: Vec<String> = (0..30u8)
        .map(|n| {
            let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x as u8).wrapping_mul(n), (y as u8).wrapping_add(n), n.wrapping_mul(7)]));
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&img).unwrap();
            app.store.put_thumb(&format!("{n:02x}{}", "0".repeat(62)), &jpeg).unwrap()
        })
        .collect();
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-10T10:00:00+08:00").unwrap().timestamp();
    let mut serial = 0u64;
    for month in 1..=MONTHS {
        for d in 1..=DEPARTMENTS {
            serial += 1;
            let received = base + i64::from(month - 1) * 30 * 86_400 + d as i64 * 600;
            let m = db::messages::MessageRow {
                raw_sha256: format!("{serial:064x}"),
                message_id: format!("<{serial}@bench>"),
                source: "bench".into(),
                from_addr: format!("d{d:02}@example.com"),
                subject: format!("单位{d:02}大队{month}月素材"),
                received_at: received,
                processed_at: received,
                disposition: db::messages::Disposition::Package,
                department: format!("单位{d:02}大队"),
                cycle: format!("2024-{month:02}"),
                cycle_rule: db::messages::CycleRule::Received,
                ..Default::default()
            };
            let mut tx = app.db.begin().await.unwrap();
            let id = db::messages::insert(&mut tx, &m).await.unwrap().unwrap();
            for i in 0..ITEMS {
                let cat = i % 11;
                let sha = format!("{:032x}{:032x}", serial, i);
                let it = db::items::ItemRow {
                    message_ref: id,
                    status: db::items::Status::Accepted,
                    kind: db::items::Kind::Photo,
                    category: if cat == 10 { "uncategorized".into() } else { (cat + 1).to_string() },
                    shown_name: format!("照片{i:03}.jpg"),
                    file_name: format!("照片{i:03}.jpg"),
                    size: 3_000_000,
                    blob_path: baosong::store::Store::blob_rel(&sha),
                    tree_path: format!("tree/2024-{month:02}/单位{d:02}大队/c{cat}/照片{i:03}.jpg"),
                    sha256: sha,
                    mime: "image/jpeg".into(),
                    flags: if i % 17 == 0 { "blurry".into() } else { String::new() },
                    width: 4000,
                    height: 3000,
                    thumb_path: thumbs[i % thumbs.len()].clone(),
                    ..Default::default()
                };
                db::items::insert(&mut tx, &it).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// p50 and p95 in ms of 200 sequential GETs.
fn latency(agent: &ureq::Agent, url: &str, cookie: &str) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mut r = agent.get(url).header("Cookie", cookie).call().unwrap();
        assert_eq!(r.status(), 200, "{url}");
        r.body_mut().read_to_vec().unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (percentile(&mut times, 0.5), percentile(&mut times, 0.95))
}

/// Requests per second by wrk, or None when wrk is not installed.
fn wrk(url: &str, cookie: &str) -> Option<f64> {
    let out = Command::new("wrk").args(["-t2", "-c16", "-d10s", "-H", &format!("Cookie: {cookie}"), url]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(dir.path().join("departments.toml"), roster()).unwrap();
    std::fs::write(dir.path().join("baosong.toml"), format!("[storage]\ndata_dir = \"data\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n")).unwrap();
    let config = Config::load(Some(&dir.path().join("baosong.toml"))).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let app = rt.block_on(async {
        let app = App::open(config.clone()).await.unwrap();
        seed(&app).await;
        baosong::web::accounts::add(&app.db, "bench", baosong::web::auth::Role::Viewer, "bench-password", "bench", 0).await.unwrap().unwrap();
        app
    });
    println!("合成一年的数据：{DEPARTMENTS} 个单位 × {MONTHS} 个月 × {ITEMS} 个文件，用时 {:.1} 秒", started.elapsed().as_secs_f64());
    let (_stop, rx) = tokio::sync::watch::channel(false);
    rt.spawn(baosong::web::serve(app, rx));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).timeout_global(Some(Duration::from_secs(30))).build().into();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    while agent.get(&url("/healthz")).call().is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Log in as a browser does.
    let mut page = agent.get(&url("/login")).call().unwrap();
    let login_cookie = page.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).next().unwrap();
    let html = page.body_mut().read_to_string().unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = html[at..].split('"').next().unwrap().to_string();
    let r = agent.post(&url("/login")).header("Cookie", &login_cookie).send_form([("name", "bench"), ("password", "bench-password"), ("csrf", token.as_str())]).unwrap();
    let cookie = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).find(|c| c.starts_with("baosong_session=")).unwrap();

    let board = url("/?cycle=2024-06");
    let gallery = url(&format!("/gallery/2024-06/{}", "%E5%8D%95%E4%BD%8D01%E5%A4%A7%E9%98%9F"));
    // The first view of a month computes its board (later views reuse it until something
    // changes or 30 s pass): once per month, before the warm measurements.
    let mut cold: Vec<f64> = (1..=MONTHS)
        .map(|m| {
            let t = Instant::now();
            let mut r = agent.get(&url(&format!("/?cycle=2024-{m:02}"))).header("Cookie", &cookie).call().unwrap();
            r.body_mut().read_to_vec().unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let (c50, cmax) = (percentile(&mut cold, 0.5), percentile(&mut cold, 1.0));
    let (h50, h95) = latency(&agent, &url("/healthz"), &cookie);
    let (b50, b95) = latency(&agent, &board, &cookie);
    let (g50, g95) = latency(&agent, &gallery, &cookie);
    println!("基准 /healthz：p50 {h50:.2} ms，p95 {h95:.2} ms");
    println!("看板首次计算（12 个月各一次）：中位 {c50:.1} ms，最长 {cmax:.1} ms");
    println!("看板（30 个单位，9000 个文件）：p50 {b50:.2} ms，p95 {b95:.2} ms（目标 < 20 ms）");
    println!("单位本月（300 个文件）：p50 {g50:.2} ms，p95 {g95:.2} ms（目标 < 50 ms）");
    match (wrk(&url("/healthz"), &cookie), wrk(&board, &cookie)) {
        (Some(base), Some(b)) => println!("吞吐（wrk -t2 -c16 -d10s）：/healthz {base:.0} 次/秒，看板 {b:.0} 次/秒（基准的 {:.2} 倍；目标 ≥ 500）", b / base),
        _ => println!("没有安装 wrk（apt-get install wrk），跳过吞吐测量"),
    }
}
