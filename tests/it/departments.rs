//! Whose package a mail is: registered senders, mail sent on another's behalf, the
//! review queue for unknown senders, unrelated mail and correspondence.

use crate::fixtures::{Mail, jpeg};
use crate::harness::{App, summary_count};
use crate::ingest::{AS_OF, MAR19};

#[test]
fn a_registered_sender_naming_one_other_department_sends_on_its_behalf() {
    let app = App::new();
    let mail = Mail::new("gltpcs@163.com", "代无定河镇派出所报送3月素材", MAR19).attach("a.jpg", &jpeg(1));
    app.import_one("a.eml", &mail.build());
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["state"], "on_time");
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["flags"]["sent_on_behalf"], 1, "a message flag, counted once per package");
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["state"], "missing");
    let items = app.items(&[]);
    assert_eq!(items[0]["department"], "无定河派出所");
}

#[test]
fn unknown_sender_naming_a_department_is_held_then_approved_with_its_receipt_time() {
    let app = App::new();
    let mail = Mail::new("someone@qq.com", "乌审旗公安局无定河派出所3月份宣传素材", MAR19).attach("a.jpg", &jpeg(2));
    let out = app.import_one("a.eml", &mail.build());
    assert_eq!(summary_count(&out, "待审核"), 1, "{out}");
    let s = app.status("2024-03", AS_OF);
    let queue = s["review_queue"].as_array().unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["guessed_department"], "无定河派出所");
    assert_eq!(queue[0]["from"], "someone@qq.com");
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["state"], "missing", "held mail is not counted");
    let list = app.ok(&["quarantine", "list"]);
    assert!(list.contains("someone@qq.com") && list.contains("无定河派出所"), "{list}");

    let id = queue[0]["id"].as_str().unwrap().to_string();
    // Approved after the deadline, it keeps its receipt time: on time.
    let out = app.ok(&["quarantine", "approve", &id, "--department", "无定河所", "--remember-sender"]);
    assert!(out.contains("已批准"), "{out}");
    let row = app.row("2024-03", AS_OF, "无定河派出所");
    assert_eq!(row["state"], "on_time");
    assert_eq!(row["first_received_at"], "2024-03-19T10:00:00+08:00");
    assert_eq!(app.status("2024-03", AS_OF)["review_queue"].as_array().unwrap().len(), 0);
    // Remembered: the next mail from that address counts straight away.
    let next = Mail::new("someone@qq.com", "补充", "Wed, 20 Mar 2024 10:00:00 +0800").attach("b.jpg", &jpeg(3));
    let out = app.import_one("b.eml", &next.build());
    assert_eq!(summary_count(&out, "计入报送"), 1, "{out}");
    assert_eq!(app.row("2024-03", AS_OF, "无定河派出所")["photos"], 2);
}

#[test]
fn rejected_review_is_not_counted_and_leaves_the_queue() {
    let app = App::new();
    let mail = Mail::new("stranger@163.com", "图克所3月", MAR19).attach("a.jpg", &jpeg(4));
    app.import_one("a.eml", &mail.build());
    let id = app.status("2024-03", AS_OF)["review_queue"][0]["id"].as_str().unwrap().to_string();
    app.ok(&["quarantine", "reject", &id]);
    assert_eq!(app.status("2024-03", AS_OF)["review_queue"].as_array().unwrap().len(), 0);
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["state"], "missing");
    let again = app.run(&["quarantine", "approve", &id, "--department", "图克派出所"]);
    assert!(!again.ok && again.stderr.contains("不在待审核队列"), "{}", again.stderr);
}

#[test]
fn unknown_sender_naming_no_department_is_unrelated_and_no_attachment_is_correspondence() {
    let app = App::new();
    let spam = Mail::new("ads@example.com", "发票代开", MAR19).attach("a.jpg", &jpeg(5));
    let out = app.import_one("a.eml", &spam.build());
    assert_eq!(summary_count(&out, "无关邮件"), 1, "{out}");
    let note = Mail::new("gltpcs@163.com", "关于3月素材的说明", MAR19).no_parts();
    let out = app.import_one("b.eml", &note.build());
    assert_eq!(summary_count(&out, "往来邮件"), 1, "{out}");
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["packages"], 0);
    assert!(app.items(&[]).is_empty());
}
