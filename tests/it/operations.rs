//! Set-up and operations (issue 11): SMTP failures that hold mail instead of failing
//! it, notices that say what to configure, the command line's help and formats, and
//! the deployment as shipped.

use serde_json::Value;

use crate::dovecot::{Dovecot, Relay, SMTP_USER};
use crate::harness::App;

const ROSTER: &str = r#"
[[department]]
name = "嘎鲁图派出所"
aliases = ["嘎鲁图所"]
senders = ["gltpcs@163.com"]
contacts = ["gltpcs@example.test"]

[[department]]
name = "图克派出所"
senders = ["tkpcs@qq.com"]
contacts = ["tkpcs@example.test"]
"#;

fn outbox(app: &App) -> Vec<Value> {
    serde_json::from_str::<Value>(&app.ok(&["outbox", "list", "--json"])).unwrap().as_array().unwrap().clone()
}

#[test]
fn a_refused_smtp_login_holds_the_outbox_and_the_fixed_password_sends_it() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "office = [\"office@example.test\"]");
    app.set_roster(ROSTER);
    let wrong = [("BAOSONG_TEST_SMTP_PASSWORD", "jiudeshouquanma")];
    let r = app.run_env(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--send"], &wrong);
    println!("{}\n{}", r.stdout, r.stderr);
    assert!(!r.ok, "a held outbox is not success");
    assert!(r.stdout.contains("新放入发件箱的提醒 2 封"), "{}", r.stdout);
    let reason = format!("发信邮箱 {SMTP_USER} 登录被拒绝（服务器答复：permanent error (535): ");
    assert!(r.stdout.contains(&format!("发信暂停：{reason}")), "{}", r.stdout);
    assert!(
        r.stdout.contains("授权码错误或已更换：请在邮箱网页版重新生成授权码，写入 smtp.password_file 指定的文件（或 BAOSONG_TEST_SMTP_PASSWORD 环境变量），再运行 baosong outbox flush。\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("发件箱中 2 封待发邮件都保留着，不会丢失；baosong run 每 30 分钟自动重试。"), "{}", r.stdout);
    // Nothing failed, nothing counted as an attempt.
    let rows = outbox(&app);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["state"] == "pending" && r["attempts"] == 0), "{rows:?}");
    // The board shows the hold; a second try with the wrong code keeps it, still failing nothing.
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-22T10:00:00+08:00"]);
    assert!(status.contains("⚠ 发信已暂停（") && status.contains(&reason), "{status}");
    assert!(status.contains("。\n  发件箱中 2 封待发邮件都保留着，不会丢失；每 30 分钟自动重试一次（下次 "), "{status}");
    let board: Value = serde_json::from_str(&app.ok(&["status", "--json", "--cycle", "2024-03", "--as-of", "2024-03-22T10:00:00+08:00"])).unwrap();
    let hold = &board["outbox_hold"][0];
    assert_eq!(hold["waiting"], 2, "{board}");
    assert!(hold["account"].as_str().unwrap().starts_with(SMTP_USER), "{hold}");
    let printed = app.ok(&["digest", "--date", "2024-03-22", "--print"]);
    assert!(printed.contains("⚠ 发信已暂停（") && printed.contains("发件箱中 2 封待发邮件都保留着，每 30 分钟自动重试。"), "{printed}");
    assert!(!app.run_env(&["outbox", "flush"], &wrong).ok);
    assert!(outbox(&app).iter().all(|r| r["state"] == "pending"));
    // The right 授权码: everything goes, and the hold is gone from the board.
    let out = app.ok(&["outbox", "flush"]);
    assert!(out.contains("发送：成功 2 封，被拒 0 封，暂缓重试 0 封。"), "{out}");
    assert!(outbox(&app).iter().all(|r| r["state"] == "sent"));
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-22T10:00:00+08:00"]);
    assert!(!status.contains("发信已暂停"), "{status}");
    assert_eq!(d.client().count("INBOX"), 2);
}
