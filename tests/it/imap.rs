//! The IMAP intake against a real Dovecot: receipt times, IDLE, polling, reconnects,
//! UIDVALIDITY resets, kill -9, ID, ascending UID sets and chunked fetch.

use std::time::{Duration, Instant};

use crate::dovecot::{Dovecot, Proxy};
use crate::fixtures::{Mail, jpeg};
use crate::harness::{App, signal, wait_until};

/// A department package whose Date: header disagrees with the INTERNALDATE it is appended with.
fn package(from: &str, seed: u32) -> Vec<u8> {
    Mail::new(from, "素材", "Mon, 01 Jan 2024 08:00:00 +0800").attach(&format!("照片{seed}.jpg"), &jpeg(seed)).build()
}

#[test]
fn poll_once_ingests_with_internaldate_receipt_times_including_junk() {
    let d = Dovecot::start();
    let mut c = d.client();
    c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 1));
    c.append("INBOX", "27-Mar-2024 09:00:00 +0800", &package("wdhpcs@163.com", 2));
    c.append("Junk", "20-Mar-2024 10:00:00 +0800", &package("tkpcs@qq.com", 3));
    c.create("&UXZO1mWHTvZZOQ-/&W6NPIGdQZZk-");
    c.append("&UXZO1mWHTvZZOQ-/&W6NPIGdQZZk-", "21-Mar-2024 10:00:00 +0800", &package("wsq_jgdd@163.com", 4));
    let app = App::with_imap(d.tls_port, true, "");
    let out = app.ok(&["poll", "--once"]);
    assert!(out.contains("新入库 4 封。"), "{out}");
    let as_of = "2024-03-28T12:00:00+08:00";
    let g = app.row("2024-03", as_of, "嘎鲁图派出所");
    assert_eq!(g["state"], "on_time");
    assert_eq!(g["first_received_at"], "2024-03-19T10:00:00+08:00", "INTERNALDATE, not Date:");
    let w = app.row("2024-03", as_of, "无定河派出所");
    assert_eq!(w["state"], "late");
    assert_eq!(w["late_by_seconds"], 33 * 3600);
    assert_eq!(app.row("2024-03", as_of, "图克派出所")["state"], "on_time", "Junk is read");
    assert_eq!(app.row("2024-03", as_of, "交管大队")["state"], "on_time", "其他文件夹/* is read");
    // Read-only: nothing was marked read, and a second pass finds nothing new.
    assert!(c.flags("INBOX").iter().all(|l| !l.contains("\\Seen")));
    let again = app.ok(&["poll", "--once"]);
    assert!(again.contains("新入库 0 封。"), "{again}");
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", as_of]);
    assert!(status.contains("邮箱 office@example.test@localhost：上次成功检查"), "{status}");
}

#[test]
fn after_ingest_seen_marks_only_what_was_recorded() {
    let d = Dovecot::start();
    let mut c = d.client();
    c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 5));
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\nafter_ingest = \"seen\"");
    app.ok(&["poll", "--once"]);
    assert!(c.flags("INBOX")[0].contains("\\Seen"));
    assert_eq!(c.count("INBOX"), 1, "never expunged");
}

#[test]
fn idle_picks_up_new_mail_and_sigterm_exits_cleanly() {
    let d = Dovecot::start();
    let app = App::with_imap(d.tls_port, true, "poll_interval = \"10m\"");
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(15), || app.daemon_log().contains("已登录邮箱")), "{}", app.daemon_log());
    std::thread::sleep(Duration::from_millis(500));
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 6));
    // Polling is 10 minutes away: only IDLE can bring this in.
    assert!(wait_until(Duration::from_secs(10), || app.photos("嘎鲁图派出所") == 1), "{}", app.daemon_log());
    let asked = Instant::now();
    signal(&daemon, libc::SIGTERM);
    let status = loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            break s;
        }
        assert!(asked.elapsed() < Duration::from_secs(10), "did not exit within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(app.daemon_log().contains("已退出邮箱"), "{}", app.daemon_log());
}

#[test]
fn polling_without_idle_picks_up_new_mail() {
    let d = Dovecot::start();
    let app = App::with_imap(d.tls_port, true, "idle = false\npoll_interval = \"1s\"");
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(15), || app.daemon_log().contains("已登录邮箱")), "{}", app.daemon_log());
    assert!(app.daemon_log().contains("idle=false"));
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 7));
    assert!(wait_until(Duration::from_secs(10), || app.photos("嘎鲁图派出所") == 1), "{}", app.daemon_log());
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
}

#[test]
fn reconnects_after_a_server_restart_and_a_cut_connection_losing_nothing() {
    let mut d = Dovecot::start();
    let proxy = Proxy::start(d.plain_port);
    let app = App::with_imap(proxy.port, false, "poll_interval = \"10m\"");
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(15), || app.daemon_log().contains("已登录邮箱")), "{}", app.daemon_log());
    let mut seed = 100;
    let mut put = |d: &Dovecot, n: usize| {
        let mut c = d.client();
        for _ in 0..n {
            seed += 1;
            c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", seed));
        }
    };
    put(&d, 3);
    assert!(wait_until(Duration::from_secs(10), || app.photos("嘎鲁图派出所") == 3), "{}", app.daemon_log());
    d.restart();
    put(&d, 3);
    assert!(wait_until(Duration::from_secs(30), || app.photos("嘎鲁图派出所") == 6), "after restart: {}", app.daemon_log());
    proxy.cut();
    put(&d, 3);
    assert!(wait_until(Duration::from_secs(30), || app.photos("嘎鲁图派出所") == 9), "after cut: {}", app.daemon_log());
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    assert!(app.daemon_log().contains("稍后重连"), "the disconnects were noticed: {}", app.daemon_log());
    assert_eq!(app.items(&[]).len(), 9, "nothing lost, nothing twice");
}

#[test]
fn a_uidvalidity_reset_counts_nothing_twice() {
    let mut d = Dovecot::start();
    {
        let mut c = d.client();
        for i in 0..5 {
            c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 200 + i));
        }
    }
    let app = App::with_imap(d.tls_port, true, "scan_junk = false");
    app.ok(&["poll", "--once"]);
    assert_eq!(app.photos("嘎鲁图派出所"), 5);
    d.reset_uidvalidity();
    d.client().append("INBOX", "20-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 300));
    let out = app.ok(&["poll", "--once"]);
    assert!(out.contains("新入库 1 封，另有 5 封此前已入库（不重复计入）"), "{out}");
    assert_eq!(app.photos("嘎鲁图派出所"), 6);
    assert_eq!(app.items(&[]).len(), 6);
    assert_eq!(app.row("2024-03", "2024-04-30T00:00:00+08:00", "嘎鲁图派出所")["packages"], 6);
}

#[test]
fn id_is_sent_only_when_advertised_and_uid_sets_only_ascend() {
    for (extra, expect_id) in [("", true), ("imap_capability = IMAP4rev1 IDLE UIDPLUS LITERAL+", false)] {
        let d = Dovecot::start_with(extra);
        {
            let mut c = d.client();
            for i in 0..30 {
                c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 400 + i));
            }
        }
        let proxy = Proxy::start(d.plain_port);
        // A small chunk size forces several batches.
        let app = App::with_imap(proxy.port, false, "chunk_size = \"64KiB\"");
        app.ok(&["poll", "--once"]);
        assert_eq!(app.photos("嘎鲁图派出所"), 30);
        let commands = proxy.commands();
        let sent_id = commands.iter().any(|l| l.contains(" ID ("));
        assert_eq!(sent_id, expect_id, "capability line {extra:?}: {commands:?}");
        let mut fetches = 0;
        for line in commands.iter().filter(|l| l.contains("UID FETCH ")) {
            let set = line.split("UID FETCH ").nth(1).unwrap().split(' ').next().unwrap();
            let mut prev = 0u64;
            for range in set.split(',') {
                let (a, b) = range.split_once(':').unwrap_or((range, range));
                let a: u64 = a.parse().unwrap();
                let b: u64 = if b == "*" { u64::MAX } else { b.parse().unwrap() };
                assert!(a <= b && a > prev, "descending UID set in {line}");
                prev = b;
            }
            fetches += 1;
        }
        assert!(fetches >= 3, "expected several batches: {commands:?}");
        assert!(!commands.iter().any(|l| l.contains("EXPUNGE")), "never expunge");
    }
}

#[test]
fn a_100_mib_message_is_fetched_in_chunks() {
    let d = Dovecot::start();
    // A 75 MiB video: its samples are random bytes.
    let mut samples = Vec::with_capacity(75 << 20);
    let mut x: u32 = 12345;
    while samples.len() < 75 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        samples.extend(x.to_le_bytes());
    }
    let big = crate::fixtures::mp4_movie(300, 1920, 1080, None, &samples);
    drop(samples);
    let raw = Mail::new("gltpcs@163.com", "3月视频素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("大文件.mp4", &big).build();
    assert!(raw.len() > 100 << 20, "{} bytes", raw.len());
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &raw);
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\nchunk_size = \"8MiB\"");
    let run = app.run(&["poll", "--once"]);
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let items = app.items(&[]);
    assert_eq!(items.len(), 1);
    let sha = items[0]["sha256"].as_str().unwrap();
    assert_eq!(sha, baosong::inspect::sha256_hex(&big));
    assert_eq!(items[0]["size"], big.len());
}

#[test]
fn a_wrong_password_is_explained_and_backs_off() {
    let d = Dovecot::start();
    let app = App::with_imap(d.tls_port, true, "password_env = \"BAOSONG_TEST_WRONG\"");
    let r = app.run(&["check-config"]);
    // check-config reports on stdout, like the login failure below, and fails.
    assert!(!r.ok && r.stdout.contains("无法读取收件邮箱的授权码：") && r.stdout.contains("BAOSONG_TEST_WRONG") && r.stdout.contains("授权码"), "{}", r.stdout);

    let app = App::with_imap(d.tls_port, true, "password_file = \"pw.txt\"");
    std::fs::write(app.dir.path().join("pw.txt"), "wrong-code\n").unwrap();
    let r = app.run(&["check-config"]);
    assert!(!r.ok && r.stdout.contains("登录失败") && r.stdout.contains("授权码"), "{}", r.stdout);
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(30), || app.daemon_log().contains("retry_in_seconds=1800")), "{}", app.daemon_log());
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    assert!(app.daemon_log().contains("生成授权码"), "{}", app.daemon_log());
}

#[test]
fn check_config_logs_in_and_lists_folders() {
    let d = Dovecot::start();
    d.client().create("&UXZO1mWHTvZZOQ-/&W6NPIGdQZZk-");
    let app = App::with_imap(d.tls_port, true, "");
    let out = app.ok(&["check-config"]);
    assert!(out.contains("登录成功") && out.contains("IDLE") && out.contains("其他文件夹/宣传材料"), "{out}");
    assert!(out.contains("将读取：INBOX、Junk、其他文件夹/宣传材料") || out.contains("将读取：INBOX"), "{out}");
}

#[test]
fn kill_9_at_random_moments_counts_every_message_exactly_once() {
    kill_9_at_random_moments_counts_once(None, None);
}

/// 200 messages taken in by `run`s killed with SIGKILL at random moments, then one run
/// to the end: each message is counted exactly once. The books are in SQLite, or in
/// the database at `database_url` (PostgreSQL, `on_postgres`).
pub fn kill_9_at_random_moments_counts_once(database_url: Option<&str>, s3: Option<&crate::seaweed::Seaweed>) {
    let d = Dovecot::start();
    backlog(&d, 200);
    let app = App::with_imap(d.tls_port, true, BACKLOG_IMAP);
    if let Some(url) = database_url {
        app.set_database(url);
    }
    if let Some(s3) = s3 {
        s3.install(&app.config());
    }
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let count = |app: &App| app.items(&[]).len();
    let mut mid_batch = 0;
    // The kill delay adapts so that each run gets through roughly ten messages,
    // whatever the speed of the machine: shorter after a big step, longer after none.
    let (mut window, mut last) = (150f64, 0);
    for round in 0..60 {
        let mut daemon = app.spawn(&["run"]);
        let delay = (window * (0.7 + 0.6 * rng.f64())) as u64;
        std::thread::sleep(Duration::from_millis(delay));
        signal(&daemon, libc::SIGKILL);
        daemon.wait().unwrap();
        let n = count(&app);
        let step = n - last;
        eprintln!("round {round}: killed after {delay} ms, {n} of 200 recorded (seed {seed})");
        if step > 0 && n < 200 {
            mid_batch += 1;
        }
        if step == 0 {
            window = window * 1.5 + 50.0;
        } else if step > 15 {
            window = (window * 0.7).max(30.0);
        }
        last = n;
        if mid_batch >= 10 || n >= 200 {
            break;
        }
    }
    assert!(mid_batch >= 10, "at least 10 kills must land mid-batch (seed {seed})");
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(120), || count(&app) >= 200), "{}", app.daemon_log());
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());

    each_counted_once(&app, 200, seed);
}

/// `[imap]` for a backlog: polled every second, fetched in 1 MiB chunks.
pub const BACKLOG_IMAP: &str = "scan_junk = false\nidle = false\npoll_interval = \"1s\"\nchunk_size = \"1MiB\"";

/// `n` packages of 嘎鲁图派出所 in INBOX, one photo of about 60 KB each, so that a batch
/// takes long enough to be interrupted.
pub fn backlog(d: &Dovecot, n: u32) {
    let mut c = d.client();
    for i in 0..n {
        let mut photo = jpeg(1000 + i);
        photo.extend(std::iter::repeat_n((i % 251) as u8, 60_000).enumerate().map(|(k, b)| b ^ (k as u8)));
        let raw = Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach(&format!("{i}.jpg"), &photo).build();
        c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &raw);
    }
}

/// The `backlog` of `n` is on the books exactly once: `n` accepted photos in `n`
/// packages, and the board says so.
pub fn each_counted_once(app: &App, n: usize, seed: u64) {
    let items = app.items(&[]);
    assert_eq!(items.len(), n, "seed {seed}");
    assert!(items.iter().all(|i| i["status"] == "accepted"), "no duplicates: seed {seed}");
    let mut packages: Vec<i64> = items.iter().map(|i| i["package"].as_i64().unwrap()).collect();
    packages.sort_unstable();
    packages.dedup();
    assert_eq!(packages.len(), n, "one package per message, each with its one file");
    let row = app.row("2024-03", "2024-04-30T00:00:00+08:00", "嘎鲁图派出所");
    assert_eq!((row["packages"].as_i64(), row["photos"].as_i64()), (Some(n as i64), Some(n as i64)), "seed {seed}");
}

/// Issue 21: with a configured folder the server refuses, `run` logged in 51 times in
/// 40 s (the refused folder was examined for IDLE, failed, and the reconnect started at
/// once). Now the refused folder waits a poll interval, IDLE runs on INBOX, and new mail
/// still arrives through IDLE.
#[test]
fn a_refused_folder_causes_no_login_storm() {
    let d = Dovecot::start();
    let app = App::with_imap(d.tls_port, true, "folders = [\"不存在的文件夹\", \"INBOX\"]\npoll_interval = \"10m\"");
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(15), || app.daemon_log().contains("已登录邮箱")), "{}", app.daemon_log());
    std::thread::sleep(Duration::from_secs(20));
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 7));
    assert!(wait_until(Duration::from_secs(10), || app.photos("嘎鲁图派出所") == 1), "IDLE on INBOX: {}", app.daemon_log());
    std::thread::sleep(Duration::from_secs(12));
    signal(&daemon, libc::SIGTERM);
    let _ = daemon.wait();
    // The test's own client logged in once to append.
    let logins = d.log().matches("Login: user=").count().saturating_sub(1);
    assert!(d.log().contains("Login: user="), "{}", d.log());
    assert!(logins <= 3, "{logins} logins in 40 s:\n{}", app.daemon_log());
    assert!(app.daemon_log().contains("服务器拒绝读取此文件夹"), "{}", app.daemon_log());
}
