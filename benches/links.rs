//! 超大附件 downloads: a 1 GiB video fetched through the loopback imitation of QQ's
//! flow (tests/it/providers.rs: landing page, `func=4` redirect with the `mail5k`
//! cookie, the file host), by `baosong links fetch` (the flow, the body streamed to
//! disk and hashed, then the message recorded again with the video) and by `curl`
//! on the file's own URL with the cookie (the body to a file, nothing else), alternated,
//! 3 runs each after a warm-up, over TLS from the same server in the same process.
//! Prints each median, the throughput ratio (goal ≥ 0.8× curl) and baosong's peak
//! RssAnon (goal < 64 MiB), read from /proc/PID/status while it runs.
//! Run with `cargo bench --bench links` (needs curl).

#[path = "../tests/it/dovecot.rs"]
#[allow(dead_code, unused_imports)]
mod dovecot;
#[path = "../tests/it/fixtures.rs"]
#[allow(dead_code, unused_imports)]
mod fixtures;
#[path = "../tests/it/harness.rs"]
#[allow(dead_code, unused_imports)]
mod harness;
#[path = "../tests/it/providers.rs"]
#[allow(dead_code, unused_imports)]
mod providers;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::App;
use providers::{Providers, QQ_FILE_HOST};

const SIZE: usize = 1 << 30;
const RUNS: usize = 3;
const GOAL_RATIO: f64 = 0.8;
const GOAL_RSS_MIB: f64 = 64.0;

/// Peak RssAnon (KiB) of a child, sampled every 5 ms from /proc until it exits.
fn run_sampled(mut c: Command) -> (Duration, u64, bool) {
    let started = Instant::now();
    let mut child = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = s.lines().find_map(|l| l.strip_prefix("RssAnon:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()) {
                peak = peak.max(kib);
            }
        }
        if let Some(st) = child.try_wait().expect("wait") {
            return (started.elapsed(), peak, st.success());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let ok = Command::new("cp").arg("-a").arg(from).arg(to).status().expect("cp");
    assert!(ok.success());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let p = Providers::start();
    // A real MP4 (one video track, 10 minutes, 1920×1080) whose samples fill 1 GiB.
    let video = fixtures::mp4_movie(600, 1920, 1080, Some(1_710_813_600), &fixtures::noise(SIZE, 7));
    let size = video.len();
    p.add_file("benchvideo", "巡逻视频.mp4", video);
    let app = App::with_config(&p.config("30m"));
    let body = format!(
        "从QQ邮箱发来的超大附件\n\n巡逻视频.mp4 ({:.2}M, 2030年4月23日 15:02 到期)进入下载页面：{}\n",
        size as f64 / 1048576.0,
        providers::qq_link("benchvideo")
    );
    let mail = fixtures::Mail::new("gltpcs@163.com", "嘎鲁图派出所3月视频", "Tue, 19 Mar 2024 10:00:00 +0800").part(fixtures::Part::text(&body)).build();
    app.import_one("link.eml", &mail);
    let template = app.dir.path().join("data-template");
    copy_dir(&app.data(), &template);
    let out = app.dir.path().join("curl.out");
    let file_url = format!("https://{QQ_FILE_HOST}/file?fname=bench.mp4&k=benchvideo");
    let ca = dovecot::certs().dir.join("ca.pem");
    let curl = || {
        let mut c = Command::new("curl");
        c.args(["-s", "-f", "-o"]).arg(&out).arg("--cacert").arg(&ca);
        // The imitation listens on its own port: curl is pointed there as baosong is.
        c.args(["-H", "Cookie: mail5k=bench", "--connect-to", &format!("{QQ_FILE_HOST}:443:127.0.0.1:{}", p.port), &file_url]);
        c
    };
    let baosong = || {
        copy_dir(&template, &app.data());
        let mut c = Command::new(env!("CARGO_BIN_EXE_baosong"));
        c.arg("--config").arg(app.config()).args(["links", "fetch"]);
        c
    };
    // Warm-up: the page cache, the server's first connections.
    let (_, _, ok) = run_sampled(curl());
    assert!(ok, "curl failed");
    let (_, _, ok) = run_sampled(baosong());
    assert!(ok, "baosong links fetch failed");
    let fetched = app.ok(&["links", "--json"]);
    assert!(fetched.contains("\"state\": \"fetched\""), "{fetched}");
    let items = app.ok(&["items", "--json"]);
    assert!(items.contains("\"kind\": \"video\"") && items.contains(&format!("\"size\": {size}")), "the video is counted: {items}");

    let (mut curl_s, mut baosong_s, mut peaks) = (vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let (t, _, ok) = run_sampled(curl());
        assert!(ok);
        curl_s.push(t.as_secs_f64());
        let (t, peak, ok) = run_sampled(baosong());
        assert!(ok);
        baosong_s.push(t.as_secs_f64());
        peaks.push(peak as f64 / 1024.0);
    }
    let mib = size as f64 / 1048576.0;
    let (c, b) = (median(curl_s.clone()), median(baosong_s.clone()));
    let peak = peaks.iter().copied().fold(0.0, f64::max);
    println!("1 GiB video ({size} bytes) over TLS from the loopback QQ imitation, {RUNS} runs each, alternated:");
    println!("  curl (file URL, cookie, to a file)      median {c:.2} s  {:.0} MiB/s  runs {curl_s:.2?}", mib / c);
    println!("  baosong links fetch (flow, hash, record) median {b:.2} s  {:.0} MiB/s  runs {baosong_s:.2?}", mib / b);
    println!("  throughput ratio baosong/curl: {:.2}× (goal ≥ {GOAL_RATIO}×) {}", c / b, if c / b >= GOAL_RATIO { "met" } else { "NOT MET" });
    println!("  baosong peak RssAnon: {peak:.1} MiB (goal < {GOAL_RSS_MIB} MiB) {}", if peak < GOAL_RSS_MIB { "met" } else { "NOT MET" });
}
