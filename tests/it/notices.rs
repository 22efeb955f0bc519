//! Receipts, the daily digest and reminders, sent through a real SMTP server that
//! relays over LMTP into Dovecot, and read back over IMAP.

use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;

use crate::dovecot::{Dovecot, Relay};
use crate::fixtures::{Mail, jpeg};
use crate::harness::{App, signal};

/// What arrived: (to, cc, subject, text) of each message, in arrival order.
fn arrived(d: &Dovecot) -> Vec<(String, String, String, String, String)> {
    d.client()
        .messages("INBOX")
        .iter()
        .map(|raw| {
            let m = MessageParser::default().parse(raw).unwrap();
            let addrs = |a: Option<&mail_parser::Address>| {
                a.map(|a| a.iter().filter_map(|x| x.address()).collect::<Vec<_>>().join(",")).unwrap_or_default()
            };
            (
                addrs(m.to()),
                addrs(m.cc()),
                m.subject().unwrap_or_default().to_string(),
                m.body_text(0).unwrap_or_default().to_string(),
                m.message_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const ROSTER: &str = r#"
[[department]]
name = "嘎鲁图派出所"
aliases = ["嘎鲁图所"]
senders = ["gltpcs@163.com"]
contacts = ["gltpcs@example.test"]

[[department]]
name = "无定河派出所"
senders = ["wdhpcs@163.com"]
contacts = ["wdhpcs@example.test"]

[[department]]
name = "图克派出所"
senders = ["tkpcs@qq.com"]
contacts = ["tkpcs@example.test"]
escalation = ["tk-head@example.test"]
"#;

#[test]
fn the_digest_for_a_fixture_month_arrives_and_reads_right() {
    let d = Dovecot::start();
    let _relay = Relay::start(&d);
    let app = App::with_smtp(_relay.port, "office = [\"office@example.test\"]");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-mailbox");
    app.ok(&["import", sample.to_str().unwrap()]);
    let printed = app.ok(&["digest", "--date", "2024-03-28", "--print"]);
    assert!(printed.contains("【每日汇总】2024-03-28"), "{printed}");
    let out = app.ok(&["digest", "--date", "2024-03-28", "--send"]);
    assert!(out.contains("成功 1 封"), "{out}");
    let mail = arrived(&d);
    assert_eq!(mail.len(), 1);
    let (to, _, subject, text, _) = &mail[0];
    assert_eq!(to, "office@example.test");
    assert_eq!(subject, "【每日汇总】2024-03-28 宣传素材报送情况");
    for want in ["嘎鲁图派出所：按时，邮件 2 封，照片 4，视频 1，①2 ⑤1 ⑩1 未分类1", "无定河派出所：逾期（晚 1天9小时）", "图克派出所：未报", "待审核：1 封", "疑似：图克派出所", "按时 4 个", "逾期 1 个", "未报 15 个"] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The HTML alternative is there too, and a second --send sends nothing.
    let raw = d.client().messages("INBOX").remove(0);
    let parsed = MessageParser::default().parse(&raw).unwrap();
    assert!(parsed.body_html(0).unwrap().contains("<table"), "html part");
    assert!(parsed.parts.iter().any(|p| p.content_type().is_some_and(|c| c.subtype() == Some("html"))));
    let again = app.ok(&["digest", "--date", "2024-03-28", "--send"]);
    assert!(again.contains("此前已发送过"), "{again}");
    assert_eq!(arrived(&d).len(), 1);
}

#[test]
fn reminders_go_to_pending_and_missing_departments_on_the_right_days_once() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    app.set_roster(ROSTER);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("a.jpg", &jpeg(1)).build());

    // Three days before: the two pending departments, not the one that sent.
    app.ok(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--send"]);
    let mail = arrived(&d);
    let mut to: Vec<&str> = mail.iter().map(|m| m.0.as_str()).collect();
    to.sort();
    assert_eq!(to, ["tkpcs@example.test", "wdhpcs@example.test"]);
    assert!(mail[0].2.contains("还有3天截止"), "{}", mail[0].2);
    // Asking again, or later the same day, sends nothing more.
    let again = app.ok(&["remind", "--as-of", "2024-03-22T15:00:00+08:00", "--send"]);
    assert!(again.contains("新放入发件箱的提醒 0 封"), "{again}");
    assert_eq!(arrived(&d).len(), 2);
    // Before 09:00 on the deadline day the last step is still "before": nothing new.
    app.ok(&["remind", "--as-of", "2024-03-25T08:00:00+08:00", "--send"]);
    assert_eq!(arrived(&d).len(), 2);

    // 无定河 sends late on the 26th; then the first overdue reminder goes to 图克 only, with no CC.
    app.import_one("b.eml", &Mail::new("wdhpcs@163.com", "3月素材", "Tue, 26 Mar 2024 08:00:00 +0800").attach("b.jpg", &jpeg(2)).build());
    app.ok(&["remind", "--as-of", "2024-03-26T09:30:00+08:00", "--send"]);
    let mail = arrived(&d);
    assert_eq!(mail.len(), 3);
    assert_eq!((mail[2].0.as_str(), mail[2].1.as_str()), ("tkpcs@example.test", ""));
    assert!(mail[2].2.contains("已逾期1天"), "{}", mail[2].2);
    // The second overdue reminder copies the department head.
    app.ok(&["remind", "--as-of", "2024-03-29T09:30:00+08:00", "--send"]);
    let mail = arrived(&d);
    assert_eq!(mail.len(), 4);
    assert_eq!((mail[3].0.as_str(), mail[3].1.as_str()), ("tkpcs@example.test", "tk-head@example.test"));
    // Every Message-ID is distinct: nothing went out twice.
    let mut ids: Vec<&str> = mail.iter().map(|m| m.4.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[test]
fn an_extension_moves_the_deadline_for_state_and_reminders() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    app.set_roster(ROSTER);
    app.ok(&["extend", "图克所", "--cycle", "2024-03", "--until", "2024-03-28"]);
    let row = app.row("2024-03", "2024-03-27T12:00:00+08:00", "图克派出所");
    assert_eq!((row["state"].as_str(), row["extended_until"].as_str()), (Some("pending"), Some("2024-03-28")));
    assert_eq!(app.row("2024-03", "2024-03-27T12:00:00+08:00", "无定河派出所")["state"], "missing");
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-03-27T12:00:00+08:00"]);
    assert!(status.contains("延至03-28"), "{status}");
    app.ok(&["remind", "--as-of", "2024-03-26T09:30:00+08:00", "--send"]);
    let mail = arrived(&d);
    let tk = mail.iter().find(|m| m.0 == "tkpcs@example.test").unwrap();
    assert!(tk.2.contains("还有2天截止") && tk.3.contains("已批准延期"), "{} {}", tk.2, tk.3);
}

fn outbox(app: &App) -> Vec<Value> {
    serde_json::from_str::<Value>(&app.ok(&["outbox", "list", "--json", "--limit", "500"])).unwrap().as_array().unwrap().clone()
}

#[test]
fn mail_waits_while_the_server_is_down_and_a_5xx_is_recorded_as_failed() {
    let d = Dovecot::start();
    let mut relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    app.set_roster(&ROSTER.replace("wdhpcs@example.test", "reject-wdh@example.test"));
    relay.stop();
    let out = app.ok(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--send"]);
    assert!(out.contains("暂缓重试 1 封"), "{out}");
    assert!(outbox(&app).iter().all(|r| r["state"] == "pending"), "{:?}", outbox(&app));
    relay.restart();
    let out = app.ok(&["outbox", "flush"]);
    assert!(out.contains("成功 2 封，被拒 1 封"), "{out}");
    let rows = outbox(&app);
    let failed = rows.iter().find(|r| r["to"] == "reject-wdh@example.test").unwrap();
    assert_eq!(failed["state"], "failed");
    assert!(failed["last_error"].as_str().unwrap().contains("550"), "{failed}");
    let list = app.ok(&["outbox", "list"]);
    assert!(list.contains("失败") && list.contains("550"), "{list}");
    let mut to: Vec<String> = arrived(&d).into_iter().map(|m| m.0).collect();
    to.sort();
    assert_eq!(to, ["gltpcs@example.test", "tkpcs@example.test"], "the deliverable reminders arrived, the refused one did not");
}

#[test]
fn kill_9_while_sending_delivers_everything_and_repeats_only_interrupted_mail() {
    let d = Dovecot::start();
    let mut relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    let mut roster = String::new();
    for i in 0..40 {
        roster += &format!("[[department]]\nname = \"测试{i}派出所\"\nsenders = [\"s{i}@163.com\"]\ncontacts = [\"c{i}@example.test\"]\n\n");
    }
    app.set_roster(&roster);
    // Queue the 40 reminders while the server is down, then send with kills in between.
    relay.stop();
    let out = app.ok(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--send"]);
    assert!(out.contains("新放入发件箱的提醒 40 封"), "{out}");
    relay.restart();
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..6 {
        let mut child = app.spawn(&["outbox", "flush"]);
        std::thread::sleep(Duration::from_millis(rng.u64(50..400)));
        signal(&child, libc::SIGKILL);
        child.wait().unwrap();
    }
    app.ok(&["outbox", "flush"]);
    let rows = outbox(&app);
    assert_eq!(rows.len(), 40, "seed {seed}");
    assert!(rows.iter().all(|r| r["state"] == "sent"), "seed {seed}: {rows:?}");
    let mail = arrived(&d);
    for r in &rows {
        let id = r["message_id"].as_str().unwrap().trim_matches(['<', '>']);
        let copies = mail.iter().filter(|m| m.4 == id).count();
        assert!(copies >= 1, "{} never arrived (seed {seed})", r["key"]);
        assert!(copies == 1 || r["interrupted"].as_i64().unwrap() > 0, "{} arrived {copies} times without an interruption (seed {seed})", r["key"]);
    }
}

#[test]
fn receipts_one_per_package_none_to_unknown_senders_with_chinese_reasons() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    app.set_roster(ROSTER);
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let date = (now - chrono::Duration::hours(2)).to_rfc2822();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend([0u8; 64]);
    let good = Mail::new("gltpcs@163.com", "本月素材", &date).attach("①党建活动.jpg", &jpeg(10)).attach("⑤反诈.jpg", &jpeg(11)).attach("查看器.jpg", &exe);
    let stranger = Mail::new("someone@qq.com", "图克所本月素材", &date).attach("x.jpg", &jpeg(12));
    let spam = Mail::new("ads@example.com", "优惠", &date).attach("y.jpg", &jpeg(13));
    let old = Mail::new("wdhpcs@163.com", "旧素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("z.jpg", &jpeg(14));
    let dir = app.dir.path().join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    for (n, m) in [("1", &good), ("2", &stranger), ("3", &spam), ("4", &old)] {
        std::fs::write(dir.join(format!("{n}.eml")), m.build()).unwrap();
    }
    let out = app.ok(&["import", dir.to_str().unwrap()]);
    assert!(out.contains("回执 1 封"), "{out}");
    // Importing again, and the daemon's own scan, add nothing.
    app.ok(&["import", dir.to_str().unwrap()]);
    let mail = arrived(&d);
    assert_eq!(mail.len(), 1, "one receipt: none to the stranger, the spammer, or for mail received long ago");
    let (to, _, subject, text, _) = &mail[0];
    assert_eq!(to, "gltpcs@163.com");
    assert!(subject.starts_with("【回执】嘎鲁图派出所"), "{subject}");
    for want in ["计入作品 2 个", "①党的建设：1 个", "⑤专项行动：1 个", "查看器.jpg：可执行程序，已拒收"] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("executable"), "codes are not shown to people:\n{text}");
}

#[test]
fn a_broken_template_is_a_start_up_error() {
    let app = App::with_config("[notify]\ntemplates_dir = \"tpl\"\n");
    std::fs::create_dir_all(app.dir.path().join("tpl")).unwrap();
    std::fs::write(app.dir.path().join("tpl/reminder.txt"), "主题 {{ departmnet }}\n\n正文").unwrap();
    let r = app.run(&["check-config"]);
    assert!(!r.ok && r.stderr.contains("reminder.txt") && r.stderr.contains("departmnet"), "{}", r.stderr);
    std::fs::write(app.dir.path().join("tpl/reminder.txt"), "主题 {% if %}").unwrap();
    let r = app.run(&["status"]);
    assert!(!r.ok && r.stderr.contains("reminder.txt"), "{}", r.stderr);
}

#[test]
fn quiet_hours_hold_mail_back() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "");
    let conf = std::fs::read_to_string(app.config()).unwrap().replace("quiet_hours = \"none\"", "quiet_hours = \"00:00-23:59\"");
    std::fs::write(app.config(), conf).unwrap();
    app.set_roster(ROSTER);
    app.ok(&["remind", "--as-of", "2024-03-22T09:30:00+08:00", "--send"]);
    assert!(outbox(&app).iter().all(|r| r["state"] == "pending"));
    assert!(arrived(&d).is_empty());
}

#[test]
fn the_daemon_sends_a_receipt_for_mail_it_takes_in_and_nothing_twice_after_a_restart() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    // One Dovecot is both the office mailbox (read over IMAP) and where sent mail lands.
    let app = App::with_smtp(relay.port, "");
    let imap = format!(
        "\n[imap]\nhost = \"localhost\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nuser = \"{}\"\npassword_env = \"BAOSONG_TEST_IMAP_PASSWORD\"\nfolders = [\"Office\"]\nscan_junk = false\n",
        d.tls_port,
        crate::dovecot::certs().dir.join("ca.pem").display(),
        crate::dovecot::USER
    );
    let conf = std::fs::read_to_string(app.config()).unwrap() + &imap;
    // Reminders are not part of this test: keep them away from the real clock.
    let conf = conf.replace("quiet_hours = \"none\"", "quiet_hours = \"none\"\nremind_days_before = 0\nremind_on_deadline = false\noverdue_for_days = 1\nreminder_time = \"23:59\"");
    std::fs::write(app.config(), conf).unwrap();
    app.set_roster(ROSTER);
    let mut c = d.client();
    c.create("Office");
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let raw = Mail::new("gltpcs@163.com", "本月素材", &(now - chrono::Duration::minutes(5)).to_rfc2822()).attach("①党建.jpg", &jpeg(40)).build();
    c.append("Office", &(now - chrono::Duration::minutes(5)).format("%d-%b-%Y %H:%M:%S %z").to_string(), &raw);
    let mut daemon = app.spawn(&["run"]);
    let receipt = crate::harness::wait_until(Duration::from_secs(20), || arrived(&d).iter().any(|m| m.2.starts_with("【回执】")));
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    assert!(receipt, "no receipt arrived: {}", app.daemon_log());
    // A restart sends nothing again.
    let mut daemon = app.spawn(&["run"]);
    std::thread::sleep(Duration::from_secs(3));
    signal(&daemon, libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    let receipts = arrived(&d).iter().filter(|m| m.2.starts_with("【回执】")).count();
    assert_eq!(receipts, 1, "{}", app.daemon_log());
}

#[test]
fn the_digest_embeds_a_contact_sheet_of_the_days_photos() {
    use crate::fixtures::{encode_jpeg, texture};
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "office = [\"office@example.test\"]");
    let mail = Mail::new("gltpcs@163.com", "3月素材", "Wed, 20 Mar 2024 10:00:00 +0800")
        .attach("①党建.jpg", &encode_jpeg(&texture(1600, 1200, 21), 85))
        .attach("⑤反诈.jpg", &encode_jpeg(&texture(1600, 1200, 22), 85));
    app.import_one("a.eml", &mail.build());
    app.ok(&["digest", "--date", "2024-03-21", "--send"]);
    let raw = d.client().messages("INBOX").remove(0);
    let m = MessageParser::default().parse(&raw).unwrap();
    let html = m.body_html(0).unwrap().to_string();
    assert!(html.contains("嘎鲁图派出所：今日照片") && html.contains("cid:sheet-1@baosong"), "{html}");
    let sheet = m.parts.iter().find(|p| p.content_id() == Some("sheet-1@baosong")).expect("the sheet is attached inline");
    let img = image::load_from_memory(sheet.contents()).unwrap();
    assert_eq!((img.width(), img.height()), (2 * 166 + 6, 184 + 6), "two tiles side by side");
}

/// Changes a row of the installation's database directly (as the download queue
/// would), through the library's own connection: the SQL is `sql` with `binds`.
fn update_db(app: &App, sql: &str, binds: &[&str]) -> u64 {
    let url = format!("sqlite://{}", app.data().join("baosong.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = baosong::db::Db::open(&url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
        for b in binds {
            q = q.bind(b.to_string());
        }
        let n = q.execute(&db.pool).await.unwrap().rows_affected();
        db.close().await;
        n
    })
}

/// A mail from QQ Mail whose body holds 超大附件 links, each expiring at `expires`.
fn link_mail(from: &str, date: &str, expires: chrono::DateTime<chrono_tz::Tz>, links: &[(&str, &str)]) -> Mail {
    let mut body = String::from("从QQ邮箱发来的超大附件\n\n");
    for (name, key) in links {
        body += &format!("{name} (286.40M, {} 到期)进入下载页面：https://wx.mail.qq.com/ftn/download?func=3&key={key}&code=def&k=1\n", expires.format("%Y年%-m月%-d日 %H:%M"));
    }
    Mail::new(from, "本月视频", date).no_parts().part(crate::fixtures::Part::text(&body))
}

#[test]
fn a_link_package_is_told_it_is_fetched_then_gets_one_follow_up_per_link_and_the_office_one_reminder() {
    let d = Dovecot::start();
    let relay = Relay::start(&d);
    let app = App::with_smtp(relay.port, "office = [\"office@example.test\"]");
    app.set_roster(ROSTER);
    let tz = chrono_tz::Asia::Shanghai;
    let now = chrono::Utc::now().with_timezone(&tz);
    let expires = now + chrono::Duration::days(10);
    let mail = link_mail("gltpcs@163.com", &(now - chrono::Duration::hours(2)).to_rfc2822(), expires, &[("巡逻视频.mp4", "a1"), ("表彰大会.mp4", "b2")]);
    let batch = app.dir.path().join("batch");
    std::fs::create_dir_all(&batch).unwrap();
    std::fs::write(batch.join("1.eml"), mail.build()).unwrap();
    let out = app.ok(&["import", batch.to_str().unwrap()]);
    assert!(out.contains("回执 1 封"), "{out}");

    // The receipt says each link was received and is being fetched.
    let mail = arrived(&d);
    assert_eq!(mail.len(), 1);
    let (to, _, subject, text, _) = &mail[0];
    assert_eq!(to, "gltpcs@163.com");
    assert!(subject.starts_with("【回执】嘎鲁图派出所"), "{subject}");
    let when = expires.format("%Y-%m-%d %H:%M");
    for name in ["巡逻视频.mp4", "表彰大会.mp4"] {
        let want = format!("超大附件 {name}（286.4 MiB，{when} 到期）已收到，正在自动下载，下载完成后另行通知。");
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }

    // One is taken in by hand (a 2 min 13 s video); the other fails for good.
    let items = app.items(&[]);
    let item = |name: &str| items.iter().find(|i| i["name"] == name && i["kind"] == "link").unwrap_or_else(|| panic!("{name}: {items:#?}"))["id"].as_i64().unwrap();
    let (patrol, ceremony) = (item("巡逻视频.mp4"), item("表彰大会.mp4"));
    let video = app.dir.path().join("巡逻视频.mp4");
    std::fs::write(&video, crate::fixtures::mp4_movie(133, 1280, 720, None, &crate::fixtures::noise(64 << 10, 7))).unwrap();
    let out = app.ok(&["attach", &patrol.to_string(), video.to_str().unwrap(), "--confirm"]);
    assert!(out.contains("已补交"), "{out}");
    let soon = (now + chrono::Duration::days(2)).timestamp().to_string();
    let done = chrono::Utc::now().timestamp().to_string();
    let changed = update_db(
        &app,
        "UPDATE links SET state = 'needs_office', reason_code = 'link_limit_reached', detail = '下载次数已达上限，下载页面不再提供文件', \
         done_at = CAST($1 AS INTEGER), expires_at = CAST($2 AS INTEGER), tries = 1 WHERE name = '表彰大会.mp4'",
        &[&done, &soon],
    );
    assert_eq!(changed, 1);

    // The next round of receipts sends one short mail for each, and only once.
    let out = app.ok(&["import", batch.to_str().unwrap()]);
    assert!(out.contains("回执 2 封"), "{out}");
    app.ok(&["import", batch.to_str().unwrap()]);
    let mail = arrived(&d);
    assert_eq!(mail.len(), 3, "{:#?}", mail.iter().map(|m| &m.2).collect::<Vec<_>>());
    let fetched = mail.iter().find(|m| m.2.contains("巡逻视频.mp4")).expect("a mail for the file taken in");
    assert_eq!(fetched.0, "gltpcs@163.com");
    assert_eq!(fetched.2, "【回执】嘎鲁图派出所 超大附件已取到：巡逻视频.mp4");
    assert!(fetched.3.contains("已取到并计入：巡逻视频.mp4，时长 2 分 13 秒"), "{}", fetched.3);
    let failed = mail.iter().find(|m| m.2.contains("表彰大会.mp4")).expect("a mail for the link that failed");
    assert_eq!(failed.0, "gltpcs@163.com");
    assert_eq!(failed.2, "【请重新发送】嘎鲁图派出所 超大附件未能下载：表彰大会.mp4");
    let by = chrono::DateTime::from_timestamp(soon.parse().unwrap(), 0).unwrap().with_timezone(&tz).format("%Y-%m-%d %H:%M");
    for want in ["未能下载：下载次数已达上限，下载页面不再提供文件。".to_string(), format!("请在 {by} 前重新发送这个文件")] {
        assert!(failed.3.contains(&want), "missing {want:?} in:\n{}", failed.3);
    }
    assert!(!failed.3.contains("link_limit_reached"), "codes are not shown to people:\n{}", failed.3);

    // The digest lists the link waiting for the office, with the days left and why.
    let printed = app.ok(&["digest", "--date", &now.format("%Y-%m-%d").to_string(), "--print"]);
    assert!(printed.contains("等待办公室处理的超大附件"), "{printed}");
    let line = printed.lines().find(|l| l.contains("表彰大会.mp4")).unwrap_or_else(|| panic!("{printed}"));
    assert!(line.contains("还剩 ") && line.contains("嘎鲁图派出所") && line.contains("下载次数已达上限"), "{line}");
    assert!(!printed.contains("巡逻视频.mp4（"), "the file taken in is not listed:\n{printed}");

    // The daemon reminds the office of the link expiring in two days, once, across a restart.
    let imap = format!(
        "\n[imap]\nhost = \"localhost\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nuser = \"{}\"\npassword_env = \"BAOSONG_TEST_IMAP_PASSWORD\"\nfolders = [\"Office\"]\nscan_junk = false\n\n[links]\nfetch = false\n",
        d.tls_port,
        crate::dovecot::certs().dir.join("ca.pem").display(),
        crate::dovecot::USER
    );
    let conf = std::fs::read_to_string(app.config()).unwrap() + &imap;
    let conf = conf.replace("quiet_hours = \"none\"", "quiet_hours = \"none\"\nremind_days_before = 0\nremind_on_deadline = false\noverdue_for_days = 1\nreminder_time = \"23:59\"");
    std::fs::write(app.config(), conf).unwrap();
    let mut c = d.client();
    c.create("Office");
    let reminders = |d: &Dovecot| arrived(d).into_iter().filter(|m| m.2.starts_with("【超大附件将到期】")).collect::<Vec<_>>();
    for round in 0..2 {
        let mut daemon = app.spawn(&["run"]);
        let seen = crate::harness::wait_until(Duration::from_secs(20), || !reminders(&d).is_empty());
        std::thread::sleep(Duration::from_secs(2));
        signal(&daemon, libc::SIGTERM);
        assert!(daemon.wait().unwrap().success());
        assert!(seen, "round {round}: no reminder arrived: {}", app.daemon_log());
    }
    let sent = reminders(&d);
    assert_eq!(sent.len(), 1, "{}", app.daemon_log());
    let (to, _, subject, text, _) = &sent[0];
    assert_eq!(to, "office@example.test");
    assert!(subject.contains("嘎鲁图派出所 表彰大会.mp4"), "{subject}");
    for want in ["浏览器".to_string(), format!("/items/{ceremony}"), format!("baosong attach {ceremony} "), "还剩 2 天".to_string()] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    // Still nothing more to the sender.
    assert_eq!(arrived(&d).iter().filter(|m| m.0 == "gltpcs@163.com").count(), 3);
}
