//! The intake under faults: SIGTERM at any moment of a backlog, a store that cannot
//! take mail, a folder the server refuses, Chinese folder names, and the 授权码 kept
//! out of every log.

use std::time::{Duration, Instant};

use crate::dovecot::{self, Dovecot};
use crate::fixtures::{Mail, jpeg};
use crate::harness::{App, signal, wait_until};

fn package(from: &str, seed: u32) -> Vec<u8> {
    Mail::new(from, "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach(&format!("照片{seed}.jpg"), &jpeg(seed)).build()
}

/// Sends SIGTERM and returns how long the process took to exit (and that it exited well).
fn stop(daemon: &mut std::process::Child) -> (Duration, bool) {
    let asked = Instant::now();
    signal(daemon, libc::SIGTERM);
    loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            return (asked.elapsed(), s.success());
        }
        if asked.elapsed() > Duration::from_secs(30) {
            signal(daemon, libc::SIGKILL);
            let _ = daemon.wait();
            return (asked.elapsed(), false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_at_random_moments_of_a_backlog_ends_run_within_5_s_and_loses_nothing() {
    let d = Dovecot::start();
    {
        let mut c = d.client();
        // More than every queue: the fetch queue (8), a journal group (32) and a worker batch (64).
        for i in 0..240 {
            c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 1000 + i));
        }
    }
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\npoll_interval = \"10m\"\nchunk_size = \"64KiB\"");
    let mut rng = 0x2545_f491_u32;
    for round in 0..10 {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        let after = Duration::from_millis(u64::from(150 + rng % 1500));
        let mut daemon = app.spawn(&["run"]);
        std::thread::sleep(after);
        let (took, ok) = stop(&mut daemon);
        assert!(took < Duration::from_secs(5), "round {round}: SIGTERM {after:?} after start took {took:?}:\n{}", app.daemon_log());
        assert!(ok, "round {round}: exit status after SIGTERM:\n{}", app.daemon_log());
    }
    // What was left is taken in by one more run, each message exactly once.
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(90), || app.photos("嘎鲁图派出所") == 240), "{}", app.daemon_log());
    stop(&mut daemon);
    let items = app.items(&[]);
    assert_eq!(items.len(), 240, "one item per message, none twice");
}

#[test]
fn a_store_that_cannot_take_mail_makes_the_daemon_reconnect_not_hang() {
    let d = Dovecot::start();
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 1));
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\npoll_interval = \"10m\"");
    // Every folder raw mail could go into is taken by a plain file: a real disk
    // error, even as root.
    let raw = app.data().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    for i in 0..=255u8 {
        std::fs::write(raw.join(format!("{i:02x}")), b"x").unwrap();
    }
    let mut daemon = app.spawn(&["run"]);
    let retried = wait_until(Duration::from_secs(20), || app.daemon_log().matches("邮箱连接中断，稍后重连").count() >= 2);
    assert!(retried, "{}", app.daemon_log());
    assert!(app.daemon_log().contains("无法保存原始邮件"), "{}", app.daemon_log());
    let (took, ok) = stop(&mut daemon);
    assert!(took < Duration::from_secs(5) && ok, "{took:?}");
    assert_eq!(app.photos("嘎鲁图派出所"), 0);
    // The cursor did not pass the message: once the disk is fixed, it comes in.
    for i in 0..=255u8 {
        std::fs::remove_file(raw.join(format!("{i:02x}"))).unwrap();
    }
    app.ok(&["poll", "--once"]);
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
}

#[test]
fn a_folder_the_server_refuses_is_recorded_and_the_others_go_on() {
    let d = Dovecot::start();
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 2));
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\nfolders = [\"没有这个文件夹\", \"INBOX\"]");
    let out = app.ok(&["poll", "--once"]);
    assert!(out.contains("新入库 1 封"), "{out}");
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-28T12:00:00+08:00"]);
    assert!(status.contains("文件夹 没有这个文件夹 无法读取"), "{status}");
}

#[test]
fn chinese_folder_names_are_read_and_moved_to_in_modified_utf7() {
    let d = Dovecot::start();
    let mut c = d.client();
    c.create("&UXZO1mWHTvZZOQ-/&W6NPIA-"); // 其他文件夹/宣传
    c.create("&XfJipZAB-"); // 已报送
    c.append("&UXZO1mWHTvZZOQ-/&W6NPIA-", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 3));
    c.append("Junk", "19-Mar-2024 11:00:00 +0800", &package("wdhpcs@163.com", 4));
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\nfolders = [\"其他文件夹/宣传\", \"Junk\"]\nafter_ingest = \"move:已报送\"");
    let out = app.ok(&["poll", "--once"]);
    assert!(out.contains("新入库 2 封"), "{out}");
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
    assert_eq!(app.photos("无定河派出所"), 1);
    assert_eq!(c.count("&XfJipZAB-"), 2, "both moved to 已报送");
    assert_eq!(c.count("&UXZO1mWHTvZZOQ-/&W6NPIA-"), 0);
}

#[test]
fn the_password_never_appears_in_the_log_even_at_trace() {
    let d = Dovecot::start();
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", 5));
    let app = App::with_imap(d.tls_port, true, "scan_junk = false");
    let r = app.run_env(&["poll", "--once"], &[("BAOSONG_LOG", "trace")]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.len() > 10_000, "trace logging was on: {} bytes", r.stderr.len());
    assert!(!r.stderr.contains(dovecot::PASSWORD) && !r.stdout.contains(dovecot::PASSWORD), "the 授权码 leaked into the log");
    // A refused login is logged too, still without the password.
    let wrong = App::with_imap(d.tls_port, true, "scan_junk = false");
    let r = wrong.run_env(&["poll", "--once"], &[("BAOSONG_LOG", "trace"), ("BAOSONG_TEST_IMAP_PASSWORD", "wrong-shouquanma")]);
    assert!(!r.ok);
    assert!(!r.stderr.contains("wrong-shouquanma"), "{}", r.stderr);
}
