//! `baosong worker` (issue 25, point 2): several processes analyse one journal in
//! PostgreSQL. Each entry is claimed by one worker for a lease; analysis runs in
//! parallel, but messages are decided in receipt order whatever worker holds them:
//! a department's second package after the deadline still rolls over, and the first
//! sender of a shared work still gets the credit. A killed worker's entries are taken
//! over once its lease runs out, and nothing is recorded twice.

use std::time::{Duration, Instant};

use crate::dovecot::Dovecot;
use crate::fixtures::{Mail, jpeg, jpeg_sized};
use crate::harness::{App, signal, wait_until};
use crate::postgres::Postgres;

const FILLER: &str = "wsq_jgdd@163.com";
/// (sender, department, position of its slow first package, of its quick second one).
const PAIRS: [(&str, &str, usize, usize); 3] = [("gltpcs@163.com", "嘎鲁图派出所", 58, 70), ("wdhpcs@163.com", "无定河派出所", 100, 110), ("tkpcs@qq.com", "图克派出所", 124, 131)];
const TOTAL: usize = 140;
const MAR26: &str = "Tue, 26 Mar 2024 10:00:00 +0800";
const MAR27: &str = "Wed, 27 Mar 2024 10:00:00 +0800";

/// 140 messages in receipt order: filler packages of 交管大队, and for three
/// departments a slow first package after the deadline (6 large photos) and, a few
/// places later, a quick second one (1 small photo). 嘎鲁图派出所's first package also
/// holds a photo that 无定河派出所's first package, later, sends again.
fn mailbox(d: &Dovecot) {
    let shared = jpeg_sized(9000, 1200, 900);
    let mut c = d.client();
    for at in 0..TOTAL {
        // The receipt time is the server's (INTERNALDATE).
        let (raw, received) = match PAIRS.iter().find(|p| p.2 == at || p.3 == at) {
            Some(&(from, _, first, _)) if first == at => {
                let mut m = Mail::new(from, "素材", MAR26);
                for i in 0..6 {
                    m = m.attach(&format!("{at}-{i}.jpg"), &jpeg_sized(3000 + (at * 10 + i) as u32, 2000, 1500));
                }
                if from == PAIRS[0].0 || from == PAIRS[1].0 {
                    m = m.attach("共同.jpg", &shared);
                }
                (m.build(), "26-Mar-2024 10:00:00 +0800")
            }
            Some(&(from, ..)) => {
                let m = Mail::new(from, "素材", MAR27).attach(&format!("{at}.jpg"), &jpeg(5000 + at as u32));
                (m.build(), "27-Mar-2024 10:00:00 +0800")
            }
            None => (Mail::new(FILLER, "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach(&format!("{at}.jpg"), &jpeg(7000 + at as u32)).build(), "19-Mar-2024 10:00:00 +0800"),
        };
        c.append("INBOX", received, &raw);
    }
}

/// Mail left to analyse in the journal.
fn queued(pg: &Postgres, db: &str) -> usize {
    pg.query(db, "SELECT count(*) FROM journal WHERE state = 'queued'")[0].parse().unwrap()
}

/// What the books say is what receipt order says, for every pair and the shared work.
fn decided_in_receipt_order(app: &App) {
    let as_of = "2024-04-30T00:00:00+08:00";
    for (_, department, ..) in PAIRS {
        let mar = app.row("2024-03", as_of, department);
        assert_eq!((mar["state"].as_str(), mar["packages"].as_i64()), (Some("late"), Some(1)), "{department}: the first package stays in March: {mar}");
        assert!(mar["photos"].as_i64().unwrap() >= 6, "{mar}");
        let apr = app.row("2024-04", as_of, department);
        assert_eq!(apr["packages"].as_i64(), Some(1), "{department}: the second package rolls over to April: {apr}");
    }
    let items = app.items(&[]);
    let shared: Vec<_> = items.iter().filter(|i| i["name"].as_str().is_some_and(|n| n.ends_with("共同.jpg"))).collect();
    assert_eq!(shared.len(), 2, "{shared:?}");
    let first = shared.iter().find(|i| i["department"] == PAIRS[0].1).unwrap();
    let second = shared.iter().find(|i| i["department"] == PAIRS[1].1).unwrap();
    assert_eq!(first["status"], "accepted", "the first sender gets the credit: {first}");
    assert_ne!(second["status"], "accepted", "the later sender's copy is not counted again: {second}");
}

#[test]
fn two_workers_share_the_journal_and_decide_in_receipt_order() {
    let pg = Postgres::start();
    let d = Dovecot::start();
    mailbox(&d);
    let app = App::with_imap(d.tls_port, true, crate::imap::BACKLOG_IMAP);
    app.set_database(&pg.database("workers"));
    app.ok(&["poll", "--once", "--queue-only"]);
    assert_eq!(queued(&pg, "workers"), TOTAL);

    let mut workers: Vec<_> = (0..2).map(|n| app.spawn_logged(&["worker"], &[], &format!("worker-{n}.log"))).collect();
    assert!(wait_until(Duration::from_secs(240), || queued(&pg, "workers") == 0), "{}\n{}", app.log("worker-0.log"), app.log("worker-1.log"));
    for w in &workers {
        signal(w, libc::SIGTERM);
    }
    for w in &mut workers {
        assert!(w.wait().unwrap().success());
    }
    let logs = [app.log("worker-0.log"), app.log("worker-1.log")];
    let recorded = |log: &str| log.lines().filter(|l| l.contains("已计入") || l.contains("已记录")).count();
    assert!(logs.iter().all(|l| recorded(l) > 0), "both workers took their share: {} and {}", recorded(&logs[0]), recorded(&logs[1]));
    assert_eq!(recorded(&logs[0]) + recorded(&logs[1]), TOTAL, "each message recorded once, by one worker");
    assert!(logs.iter().all(|l| !l.contains("已由其他处理进程接手")), "no message was analysed by both");
    assert_eq!(pg.query("workers", "SELECT count(*) FROM messages"), [TOTAL.to_string()]);
    decided_in_receipt_order(&app);
}

/// One of two workers is killed with SIGKILL while both work through the journal:
/// the other takes over its entries once their lease runs out, and every message is
/// on the books once, still in receipt order.
#[test]
fn a_killed_workers_mail_is_taken_over_after_its_lease() {
    let pg = Postgres::start();
    let d = Dovecot::start();
    mailbox(&d);
    let app = App::with_imap(d.tls_port, true, crate::imap::BACKLOG_IMAP);
    app.set_database(&pg.database("killed"));
    app.ok(&["poll", "--once", "--queue-only"]);

    let mut doomed = app.spawn_logged(&["worker"], &[], "doomed.log");
    let mut survivor = app.spawn_logged(&["worker"], &[], "survivor.log");
    let held_by_both = || pg.query("killed", "SELECT count(DISTINCT claimed_by) FROM journal WHERE state = 'queued' AND claimed_by <> ''") == ["2"];
    assert!(wait_until(Duration::from_secs(60), held_by_both), "{}", app.log("doomed.log"));
    signal(&doomed, libc::SIGKILL);
    let killed = Instant::now();
    doomed.wait().unwrap();
    let left = queued(&pg, "killed");
    assert!(left > 0, "killed while mail was still queued");
    assert!(wait_until(Duration::from_secs(240), || queued(&pg, "killed") == 0), "{}", app.log("survivor.log"));
    eprintln!("{left} queued at the kill; the journal was empty {:?} after it", killed.elapsed());
    signal(&survivor, libc::SIGTERM);
    assert!(survivor.wait().unwrap().success());
    assert_eq!(pg.query("killed", "SELECT count(*) FROM messages"), [TOTAL.to_string()]);
    assert_eq!(pg.query("killed", "SELECT count(*) FROM journal WHERE state = 'done' AND message_ref = 0"), ["0"]);
    decided_in_receipt_order(&app);
}
