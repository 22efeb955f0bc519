//! No message can stop intake: a panic while examining a file refuses that file, a
//! panic while reading a message refuses the message, and a message whose processing
//! fails every time (a disk error) is tried a bounded number of times, then recorded
//! as failed with its reason, and the messages after it go on. Over IMAP too, without
//! a storm of logins.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::dovecot::Dovecot;
use crate::fixtures::{Mail, jpeg};
use crate::harness::{App, signal, summary_count, wait_until};
use crate::ingest::{AS_OF, MAR19};

fn package(from: &str, subject: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut m = Mail::new(from, subject, MAR19);
    for (name, data) in files {
        m = m.attach(name, data);
    }
    m.build()
}

fn batch(app: &App, mails: &[(&str, Vec<u8>)]) -> String {
    let dir = app.dir.path().join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, raw) in mails {
        std::fs::write(dir.join(format!("{name}.eml")), raw).unwrap();
    }
    dir.to_str().unwrap().to_string()
}

/// Makes storing a file with this content fail with a real disk error, even as root:
/// the folder its blob goes into is taken by a plain file.
fn block_blob(app: &App, content: &[u8]) {
    let sha = hex::encode(Sha256::digest(content));
    let blobs = app.data().join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&sha[..2]), b"not a folder").unwrap();
}

#[test]
fn a_panic_while_examining_a_file_refuses_that_file_and_intake_goes_on() {
    let app = App::new();
    let dir = batch(
        &app,
        &[
            ("1", package("gltpcs@163.com", "3月", &[("好的.jpg", jpeg(1)), ("爆炸.jpg", jpeg(2)), ("也好.jpg", jpeg(3))])),
            ("2", package("wdhpcs@163.com", "3月", &[("别的.jpg", jpeg(4))])),
        ],
    );
    let r = app.run_env(&["import", &dir], &[("BAOSONG_FAILPOINT_PANIC", "爆炸.jpg")]);
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(summary_count(&r.stdout, "计入报送"), 2, "{}", r.stdout);
    let items = app.items(&["--department", "嘎鲁图派出所"]);
    let boom = items.iter().find(|i| i["name"] == "爆炸.jpg").unwrap();
    assert_eq!(boom["status"], "rejected");
    assert_eq!(boom["rejection"], "processing_failed");
    let reason = boom["reason"].as_str().unwrap();
    assert!(reason.contains("程序出错") && reason.contains("failpoint: 爆炸.jpg"), "{reason}");
    assert_eq!(app.photos("嘎鲁图派出所"), 2, "the other files of the message count");
    assert_eq!(app.photos("无定河派出所"), 1, "the next message was taken in");
}

#[test]
fn a_panic_while_reading_a_message_refuses_it_whole_with_the_panic() {
    let app = App::new();
    let dir = batch(
        &app,
        &[
            ("1", package("gltpcs@163.com", "炸弹邮件", &[("a.jpg", jpeg(5))])),
            ("2", package("wdhpcs@163.com", "3月", &[("b.jpg", jpeg(6))])),
        ],
    );
    let r = app.run_env(&["import", &dir], &[("BAOSONG_FAILPOINT_PANIC", "炸弹邮件")]);
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(summary_count(&r.stdout, "整封拒收"), 1, "{}", r.stdout);
    let board = app.status("2024-03", AS_OF);
    let refused = &board["rejected_messages"][0];
    assert_eq!(refused["code"], "processing_failed");
    assert!(refused["detail"].as_str().unwrap().contains("failpoint"), "{refused}");
    assert_eq!(app.photos("无定河派出所"), 1);
    let table = app.ok(&["status", "--cycle", "2024-03", "--as-of", AS_OF]);
    assert!(table.contains("整封拒收") && table.contains("程序出错"), "{table}");
}

#[test]
fn a_message_that_always_fails_is_recorded_failed_after_bounded_tries() {
    let app = App::with_config("[notify]\noffice = [\"office@example.test\"]\n");
    let doomed = jpeg(7);
    block_blob(&app, &doomed);
    let dir = batch(
        &app,
        &[
            ("1", package("gltpcs@163.com", "3月", &[("a.jpg", jpeg(8))])),
            ("2", package("tkpcs@qq.com", "3月素材", &[("存不下.jpg", doomed)])),
            ("3", package("wdhpcs@163.com", "3月", &[("b.jpg", jpeg(13))])),
        ],
    );
    let r = app.run(&["import", &dir]);
    assert!(!r.ok, "a failed message makes the import exit non-zero:\n{}", r.stdout);
    assert_eq!(summary_count(&r.stdout, "计入报送"), 2, "{}", r.stdout);
    assert!(r.stdout.contains("处理失败    1 封（重试 3 次仍失败"), "{}", r.stdout);
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
    assert_eq!(app.photos("无定河派出所"), 1, "the message after the failing one was taken in");
    let board = app.status("2024-03", AS_OF);
    let failed = board["failed_messages"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{board}");
    assert_eq!(failed[0]["subject"], "3月素材");
    assert_eq!(failed[0]["from"], "tkpcs@qq.com");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("试了 3 次") && error.contains("无法保存文件"), "{error}");
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["state"], "missing", "nothing of it is counted");
    let table = app.ok(&["status", "--cycle", "2024-03", "--as-of", AS_OF]);
    assert!(table.contains("处理失败 [") && table.contains("「3月素材」"), "{table}");
    let digest = app.ok(&["digest", "--date", "2024-03-20", "--print"]);
    assert!(digest.contains("处理失败的邮件") && digest.contains("「3月素材」"), "{digest}");
    // Importing again does not count it twice or try it again.
    let again = app.run(&["import", &dir]);
    assert_eq!(summary_count(&again.stdout, "此前已导入"), 3, "{}", again.stdout);
    // Once the disk is fixed, `retry` takes it in from the stored raw mail.
    let sha = hex::encode(Sha256::digest(jpeg(7)));
    std::fs::remove_file(app.data().join("blobs").join(&sha[..2])).unwrap();
    let out = app.ok(&["retry"]);
    assert!(out.contains("重新处理 1 封邮件") && out.contains("计入报送 1 封") && out.contains("仍然失败 0 封"), "{out}");
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["photos"], 1);
    assert!(app.status("2024-03", AS_OF)["failed_messages"].as_array().unwrap().is_empty());
    assert_eq!(app.ok(&["retry"]).trim(), "没有处理失败的邮件。");
}

#[test]
fn over_imap_a_failing_message_is_recorded_failed_without_a_login_storm() {
    let d = Dovecot::start();
    let mut c = d.client();
    let doomed = jpeg(10);
    c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &package("gltpcs@163.com", "3月", &[("a.jpg", jpeg(11))]));
    c.append("INBOX", "19-Mar-2024 10:05:00 +0800", &package("tkpcs@qq.com", "3月素材", &[("存不下.jpg", doomed.clone())]));
    c.append("INBOX", "19-Mar-2024 10:10:00 +0800", &package("wdhpcs@163.com", "3月", &[("b.jpg", jpeg(12))]));
    let app = App::with_imap(d.tls_port, true, "scan_junk = false\npoll_interval = \"10m\"");
    block_blob(&app, &doomed);
    let mut daemon = app.spawn(&["run"]);
    let done = wait_until(Duration::from_secs(60), || app.status("2024-03", AS_OF)["failed_messages"].as_array().is_some_and(|f| f.len() == 1));
    assert!(done, "{}", app.daemon_log());
    assert!(wait_until(Duration::from_secs(10), || app.photos("无定河派出所") == 1), "the message after it went in: {}", app.daemon_log());
    // Let any storm show itself, then count logins: one per try, with growing waits.
    std::thread::sleep(Duration::from_secs(4));
    let logins = app.daemon_log().matches("已登录邮箱").count();
    assert!(logins <= 3, "{logins} logins:\n{}", app.daemon_log());
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
    signal(&daemon, libc::SIGTERM);
    assert!(wait_until(Duration::from_secs(10), || daemon.try_wait().unwrap().is_some()), "did not exit");
}
