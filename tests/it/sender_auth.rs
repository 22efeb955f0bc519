//! A forged department address never counts (issue 24): DKIM verified as mail is
//! analysed, SPF and DMARC from mx.qq.com's own topmost Authentication-Results, the
//! evidence kept and shown, the policy applied. Every test asks a loopback DNS server
//! (`dns.rs`) loaded with a key made by openssl; nothing reaches the network.

use serde_json::Value;

use crate::dns::{Dns, on_top, qq_signed, sign};
use crate::dovecot::Dovecot;
use crate::fixtures::{Mail, jpeg};
use crate::harness::App;

const AS_OF: &str = "2024-04-30T00:00:00+08:00";

/// 图克派出所's package of March 2024 from its roster address.
pub(crate) fn package(seed: u32) -> Vec<u8> {
    Mail::new("tkpcs@qq.com", "图克所3月宣传素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach(&format!("照片{seed}.jpg"), &jpeg(seed)).build()
}

/// Imports `raw` with the policy applied (as mail taken in over IMAP is).
pub(crate) fn import_checked(app: &App, name: &str, raw: &[u8]) -> String {
    let p = app.eml(name, raw);
    app.ok(&["import", "--check-senders", p.to_str().unwrap()])
}

/// The review queue, in the order the mail was taken in.
fn held(app: &App) -> Vec<Value> {
    let mut q = serde_json::from_str::<Value>(&app.ok(&["quarantine", "list", "--json"])).unwrap().as_array().unwrap().clone();
    q.sort_by_key(|m| m["id"].as_i64());
    q
}

/// The `sender_auth` of the first item of 图克派出所.
fn item_auth(app: &App) -> Value {
    app.items(&["--department", "图克派出所"])[0]["sender_auth"].clone()
}

#[test]
fn a_signed_roster_mail_is_counted_and_shown_verified() {
    let dns = Dns::qq();
    let app = App::with_intake(&dns.intake("dmarc"), "");
    let out = import_checked(&app, "signed.eml", &qq_signed(&package(1)));
    assert!(out.contains("计入报送    1 封"), "{out}");
    assert_eq!(app.photos("图克派出所"), 1);
    let a = item_auth(&app);
    assert_eq!(a["verdict"], "pass", "{a}");
    assert_eq!(a["dkim"], serde_json::json!([{"domain": "qq.com", "selector": "s201512", "result": "pass"}]));
    assert_eq!((a["source"].as_str(), a["spf"].as_str(), a["dmarc"].as_str()), (Some("computed"), Some("not_checked"), Some("pass")));
    assert_eq!(a["summary"], "发件人已验证（qq.com 签名有效）");
    assert!(app.items(&["--department", "图克派出所"])[0]["message_flags"].as_array().unwrap().is_empty());
    assert!(held(&app).is_empty());
}

#[test]
fn unsigned_or_altered_mail_from_a_roster_address_is_held_with_the_reason_and_approval_counts_it() {
    let dns = Dns::qq();
    let app = App::with_intake(&dns.intake("dmarc"), "[notify]\noffice = [\"1605739848@qq.com\"]\n");
    import_checked(&app, "unsigned.eml", &package(2));
    // Signed, then a word of the body changed on the way.
    let signed = qq_signed(&package(3));
    let text = crate::fixtures::b64("各位领导好，附件是本月的宣传素材，请查收。".as_bytes());
    let altered = String::from_utf8(signed).unwrap().replacen(&text[..20], "QUFBQUFBQUFBQUFBQUFB", 1);
    let out = import_checked(&app, "altered.eml", altered.as_bytes());
    assert!(out.contains("待审核      1 封"), "{out}");
    assert_eq!(app.photos("图克派出所"), 0, "nothing counted before someone approves");
    let q = held(&app);
    assert_eq!(q.len(), 2, "{q:?}");
    for m in &q {
        assert_eq!(m["reason_code"], "sender_auth_failed");
        assert_eq!(m["guessed_department"], "图克派出所");
        assert_eq!(m["sender_auth"]["verdict"], "fail");
        assert_eq!(m["sender_auth"]["source"], "computed");
    }
    assert_eq!(q[0]["sender_auth"]["summary"], "发件人地址可能被冒充：没有有效签名，qq.com 要求签名");
    assert_eq!(q[1]["sender_auth"]["dkim"][0]["result"], "neutral");
    assert_eq!(q[1]["sender_auth"]["dkim"][0]["reason"], "body_changed");
    assert!(q[1]["sender_auth"]["summary"].as_str().unwrap().contains("签名后邮件被改动过"));
    // The review queue says why, in the list and on the board.
    let list = app.ok(&["quarantine", "list"]);
    assert!(list.contains("原因：发件人地址可能被冒充") && list.contains("发件人验证：发件人地址可能被冒充：没有有效签名，qq.com 要求签名"), "{list}");
    let status = app.ok(&["status", "--cycle", "2024-03", "--as-of", AS_OF]);
    assert!(status.contains("原因：发件人地址可能被冒充"), "{status}");
    let digest = app.ok(&["digest", "--date", "2024-03-20", "--print"]);
    assert!(digest.contains("待审核：2 封") && digest.contains("原因：发件人地址可能被冒充") && digest.contains("发件人验证：发件人地址可能被冒充：没有有效签名"), "{digest}");
    let board = app.status("2024-03", AS_OF);
    assert_eq!(board["review_queue"][0]["reason_code"], "sender_auth_failed");
    // The office approves the first: counted, audited, the failed check still visible.
    let id = q[0]["id"].as_i64().unwrap().to_string();
    let out = app.ok(&["quarantine", "approve", &id, "--department", "图克所"]);
    assert!(out.contains("已批准"), "{out}");
    assert_eq!(app.photos("图克派出所"), 1);
    let audit = app.ok(&["audit", "--json"]);
    assert!(audit.contains("quarantine_approve"), "{audit}");
    let flags = app.items(&["--department", "图克派出所"])[0]["message_flags"].clone();
    assert_eq!(flags, serde_json::json!(["sender_auth_failed"]));
}

#[test]
fn forged_authentication_results_are_ignored_and_mx_qq_com_s_own_is_used() {
    let dns = Dns::qq();
    let app = App::with_intake(&dns.intake("dmarc"), "");
    let real = "Authentication-Results: mx.qq.com; spf=fail smtp.mailfrom=evil.test; dkim=none; dmarc=fail (p=QUARANTINE) header.from=qq.com\r\nReceived: from evil.test by mx.qq.com; Tue, 19 Mar 2024 10:00:01 +0800\r\n";
    let forged = "Authentication-Results: mx.qq.com; spf=pass smtp.mailfrom=tkpcs@qq.com; dkim=pass header.d=qq.com; dmarc=pass header.from=qq.com\r\n";
    // A forged header below the real one.
    import_checked(&app, "below.eml", &on_top(&format!("{real}{forged}"), &package(4)));
    // The topmost header is someone else's: a lower mx.qq.com one counts for nothing.
    import_checked(&app, "other-id.eml", &on_top(&format!("Authentication-Results: mail.evil.test; dmarc=pass header.from=qq.com\r\n{forged}"), &package(5)));
    let q = held(&app);
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!((q[0]["sender_auth"]["source"].as_str(), q[0]["sender_auth"]["spf"].as_str()), (Some("header"), Some("fail")), "{q:#?}");
    assert_eq!((q[1]["sender_auth"]["source"].as_str(), q[1]["sender_auth"]["spf"].as_str()), (Some("computed"), Some("not_checked")));
    // mx.qq.com's own header on top of honest signed mail: SPF and DMARC from it.
    let honest = "Authentication-Results: mx.qq.com; spf=pass smtp.mailfrom=tkpcs@qq.com; dkim=pass header.d=qq.com; dmarc=pass (p=QUARANTINE) header.from=qq.com\r\n";
    import_checked(&app, "honest.eml", &on_top(honest, &qq_signed(&package(6))));
    let a = item_auth(&app);
    assert_eq!((a["source"].as_str(), a["spf"].as_str(), a["verdict"].as_str()), (Some("header"), Some("pass"), Some("pass")), "{a}");
    assert_eq!(app.photos("图克派出所"), 1);
}

#[test]
fn another_domain_s_signature_does_not_align_and_p_none_only_flags() {
    let dns = Dns::qq();
    dns.txt("s1._domainkey.evil.test", &crate::dns::key_record());
    dns.txt("_dmarc.163.com", "v=DMARC1; p=none");
    let app = App::with_intake(&dns.intake("dmarc"), "");
    import_checked(&app, "evil.eml", &sign(&package(7), "evil.test", "s1"));
    let q = held(&app);
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0]["sender_auth"]["dkim"], serde_json::json!([{"domain": "evil.test", "selector": "s1", "result": "pass"}]));
    assert!(q[0]["sender_auth"]["summary"].as_str().unwrap().contains("只有 evil.test 的签名"), "{}", q[0]["sender_auth"]);
    // 163.com publishes p=none here: an unsigned mail from 嘎鲁图派出所 is counted and flagged.
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图所3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("a.jpg", &jpeg(8)).build();
    import_checked(&app, "pnone.eml", &mail);
    assert_eq!(app.photos("嘎鲁图派出所"), 1);
    let item = &app.items(&["--department", "嘎鲁图派出所"])[0];
    assert_eq!(item["message_flags"], serde_json::json!(["sender_auth_failed"]));
    assert!(item["sender_auth"]["summary"].as_str().unwrap().contains("p=none"), "{}", item["sender_auth"]);
    // With sender_auth = "dkim" a signature is required whatever DMARC says.
    let strict = App::with_intake(&dns.intake("dkim"), "");
    import_checked(&strict, "pnone.eml", &mail);
    assert_eq!(held(&strict).len(), 1);
}

#[test]
fn a_dns_timeout_is_retried_then_recorded_as_unverified_and_counted() {
    let dns = Dns::qq();
    dns.silent(true);
    let app = App::with_intake(&dns.intake("dmarc"), "[notify]\noffice = [\"1605739848@qq.com\"]\n");
    let started = std::time::Instant::now();
    import_checked(&app, "timeout.eml", &qq_signed(&package(9)));
    let took = started.elapsed();
    assert!(dns.queries() >= 3, "tried again: {} queries", dns.queries());
    assert!(took < std::time::Duration::from_secs(30), "bounded: {took:?}");
    assert_eq!(app.photos("图克派出所"), 1, "only a definite failure holds mail");
    let item = &app.items(&["--department", "图克派出所"])[0];
    assert_eq!(item["message_flags"], serde_json::json!(["sender_unverified"]));
    assert_eq!(item["sender_auth"]["verdict"], "temperror");
    assert!(item["sender_auth"]["summary"].as_str().unwrap().starts_with("发件人未能验证"));
    // The digest lists it with the flagged mail.
    let digest = app.ok(&["digest", "--date", "2024-03-20", "--print"]);
    let flagged = digest.split("有标记的文件").nth(1).unwrap_or_else(|| panic!("no flagged section:\n{digest}"));
    assert!(flagged.contains("图克派出所") && flagged.contains("发件人未能验证"), "{digest}");
    // The same under the dkim policy: counted, flagged.
    let strict = App::with_intake(&dns.intake("dkim"), "");
    import_checked(&strict, "timeout.eml", &qq_signed(&package(10)));
    assert_eq!(strict.photos("图克派出所"), 1);
}

#[test]
fn a_plain_import_records_the_evidence_and_never_holds_and_reprocess_never_checks_again() {
    let dns = Dns::qq();
    let app = App::with_intake(&dns.intake("dmarc"), "");
    // A backfill of old mail: recorded with its evidence, counted.
    app.import_one("old.eml", &package(11));
    assert_eq!(app.photos("图克派出所"), 1);
    assert_eq!(item_auth(&app)["verdict"], "fail");
    // Held by the policy, then reprocessed with the DNS gone: the stored evidence decides.
    import_checked(&app, "forged.eml", &package(12));
    import_checked(&app, "signed.eml", &qq_signed(&package(13)));
    assert_eq!(held(&app).len(), 1);
    let asked = dns.queries();
    dns.silent(true);
    let out = app.ok(&["reprocess", "--all"]);
    assert_eq!(dns.queries(), asked, "reprocess asks the DNS nothing: {out}");
    assert_eq!(held(&app).len(), 1);
    assert_eq!(app.photos("图克派出所"), 2);
    // Mail recorded before senders were checked has no evidence and is never held for it.
    let before = App::with_intake("sender_auth = \"off\"", "");
    let p = before.eml("before.eml", &package(14));
    before.ok(&["import", "--check-senders", p.to_str().unwrap()]);
    assert!(item_auth(&before).is_null());
    std::fs::write(before.config(), std::fs::read_to_string(before.config()).unwrap().replace("sender_auth = \"off\"", &dns.intake("dkim"))).unwrap();
    before.ok(&["reprocess", "--all"]);
    assert_eq!(before.photos("图克派出所"), 1);
    assert!(held(&before).is_empty());
}

#[test]
fn a_real_signature_is_verified_through_the_imap_path_and_a_forgery_is_held() {
    let dns = Dns::qq();
    let d = Dovecot::start();
    let mut c = d.client();
    let received = "Received: from smtpbg.qq.com by mx.qq.com with ESMTPS; Tue, 19 Mar 2024 10:00:01 +0800\r\n";
    c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &on_top(received, &qq_signed(&package(15))));
    c.append("INBOX", "19-Mar-2024 11:00:00 +0800", &on_top(received, &package(16)));
    let app = App::with_imap_intake(d.tls_port, true, &dns.intake("dmarc"), "");
    let out = app.ok(&["poll", "--once"]);
    assert!(out.contains("新入库 2 封。"), "{out}");
    assert_eq!(app.photos("图克派出所"), 1);
    assert_eq!(item_auth(&app)["summary"], "发件人已验证（qq.com 签名有效）");
    let q = held(&app);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["sender_auth"]["summary"], "发件人地址可能被冒充：没有有效签名，qq.com 要求签名");
}

/// Subjects of the mail that reached the test mailbox (receipts come back to it).
fn receipts(d: &Dovecot) -> Vec<String> {
    d.client()
        .messages("INBOX")
        .iter()
        .filter_map(|raw| mail_parser::MessageParser::default().parse(raw).and_then(|m| m.subject().map(str::to_string)))
        .filter(|s| s.starts_with("【回执】"))
        .collect()
}

#[test]
fn a_held_forgery_gets_no_receipt_and_approval_sends_it() {
    let dns = Dns::qq();
    let d = Dovecot::start();
    let relay = crate::dovecot::Relay::start(&d);
    let app = App::with_intake(&dns.intake("dmarc"), &crate::harness::smtp_config(relay.port, ""));
    // Receipts go out for mail processed in the last two days.
    let date = (chrono::Utc::now() - chrono::Duration::hours(2)).with_timezone(&chrono_tz::Asia::Shanghai).to_rfc2822();
    let forged = Mail::new("tkpcs@qq.com", "图克所本月素材", &date).attach("a.jpg", &jpeg(20)).build();
    let out = import_checked(&app, "forged.eml", &forged);
    assert!(!out.contains("回执"), "{out}");
    assert!(receipts(&d).is_empty(), "a forger learns nothing");
    let id = held(&app)[0]["id"].as_i64().unwrap().to_string();
    app.ok(&["quarantine", "approve", &id, "--department", "图克派出所"]);
    // The next round of notices sends the receipt of the approved mail, as for any.
    let again = import_checked(&app, "forged.eml", &forged);
    assert!(again.contains("回执 1 封"), "{again}");
    let got = receipts(&d);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("图克派出所"), "{got:?}");
}

#[test]
fn a_colleague_s_mail_forwarded_by_the_department_passes_on_the_outer_signature() {
    let dns = Dns::qq();
    let app = App::with_intake(&dns.intake("dmarc"), "");
    // A colleague's package, unsigned, with a failing verdict of its own inside.
    let inner = on_top(
        "Authentication-Results: mx.qq.com; spf=fail smtp.mailfrom=colleague@163.com; dmarc=fail (p=QUARANTINE) header.from=qq.com\r\n",
        &Mail::new("colleague@163.com", "3月素材", "Mon, 18 Mar 2024 09:00:00 +0800").attach("巡逻.jpg", &jpeg(21)).build(),
    );
    let forwarded = Mail::new("tkpcs@qq.com", "转发：图克所3月宣传素材", "Tue, 19 Mar 2024 10:00:00 +0800").part(crate::fixtures::Part::forwarded(&inner)).build();
    let out = import_checked(&app, "forwarded.eml", &qq_signed(&forwarded));
    assert!(out.contains("计入报送    1 封"), "{out}");
    assert!(held(&app).is_empty());
    assert_eq!(app.photos("图克派出所"), 1, "the forwarded photo counts for the department that forwarded it");
    let a = item_auth(&app);
    assert_eq!((a["verdict"].as_str(), a["source"].as_str()), (Some("pass"), Some("computed")), "{a}");
    assert_eq!(a["summary"], "发件人已验证（qq.com 签名有效）");
    // The same forward, unsigned: the department's own address is what is judged.
    let out = import_checked(&app, "forwarded-unsigned.eml", &Mail::new("tkpcs@qq.com", "转发：图克所3月素材（补）", "Tue, 19 Mar 2024 11:00:00 +0800").part(crate::fixtures::Part::forwarded(&inner)).build());
    assert!(out.contains("待审核      1 封"), "{out}");
}
