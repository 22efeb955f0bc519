//! One writer per data directory: a second `import`, `poll` or `run` says in Chinese
//! which process holds the data directory and exits non-zero, while reading and manual
//! commands work alongside the running daemon.

use std::time::Duration;

use crate::dovecot::Dovecot;
use crate::fixtures::{Mail, jpeg};
use crate::harness::{App, signal, wait_until};
use crate::ingest::{AS_OF, MAR19};

#[test]
fn a_second_writer_is_refused_and_readers_work_alongside() {
    let d = Dovecot::start();
    let mut c = d.client();
    c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &Mail::new("gltpcs@163.com", "3月", MAR19).attach("a.jpg", &jpeg(1)).build());
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\npoll_interval = \"10m\"");
    let mut daemon = app.spawn(&["run"]);
    assert!(wait_until(Duration::from_secs(20), || app.photos("嘎鲁图派出所") == 1), "{}", app.daemon_log());

    let eml = app.eml("b.eml", &Mail::new("wdhpcs@163.com", "3月", MAR19).attach("b.jpg", &jpeg(2)).build());
    for args in [vec!["import", eml.to_str().unwrap()], vec!["poll", "--once"], vec!["run"]] {
        let r = app.run(&args);
        assert!(!r.ok, "{args:?} must be refused");
        let want = format!("正被另一个 baosong 进程使用：进程 {}（baosong run，自 ", daemon.id());
        assert!(r.stderr.contains(&want), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("同一数据目录同一时间只能有一个收件或导入进程"), "{}", r.stderr);
    }
    assert_eq!(app.photos("无定河派出所"), 0, "the refused import changed nothing");
    // Reading and manual changes go on beside the daemon.
    let items = app.items(&[]);
    let id = items[0]["id"].to_string();
    app.ok(&["recategorize", &id, "3"]);
    app.ok(&["extend", "无定河派出所", "--cycle", "2024-03", "--until", "2024-03-28"]);
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["extended_until"], "2024-03-28");

    signal(&daemon, libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || daemon.try_wait().unwrap().is_some()));
    // Once the daemon is gone, the import goes through.
    app.ok(&["import", eml.to_str().unwrap()]);
    assert_eq!(app.photos("无定河派出所"), 1);
}

#[test]
fn parallel_first_runs_on_a_fresh_directory_do_not_race_in_migrations() {
    let app = App::new();
    let eml = app.eml("a.eml", &Mail::new("gltpcs@163.com", "3月", MAR19).attach("a.jpg", &jpeg(3)).build());
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let cfg = app.config();
            std::thread::spawn(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_baosong"))
                    .args(["--config", cfg.to_str().unwrap(), "status", "--cycle", "2024-03", "--json"])
                    .env_remove("BAOSONG_CONFIG")
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let import = app.run(&["import", eml.to_str().unwrap()]);
    for r in readers {
        let out = r.join().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(import.ok, "{}", import.stderr);
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
}
