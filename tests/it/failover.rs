//! `baosong run` on several machines over one PostgreSQL database (issue 25, point 3):
//! one instance reads the mailbox, the others stand by; when the reader is killed or
//! cut off from the database, a standby takes over within 30 s, and every message is
//! still counted exactly once. The instances share the data folder, as machines
//! sharing it over the network would.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::dovecot::{Dovecot, Proxy};
use crate::harness::{App, signal, wait_until};
use crate::imap::{BACKLOG_IMAP, backlog, each_counted_once};
use crate::postgres::Postgres;

const TOOK_LOCK: &str = "已取得数据库写入锁，本实例负责收件";
const STANDING_BY: &str = "本实例待命";
const TOOK_OVER: &str = "已接手收件";
const FENCED: &str = "失去数据库写入锁";

/// One `run` and the log it writes.
struct Instance {
    child: Child,
    log: String,
}

fn start(app: &App, n: usize, env: &[(&str, &str)]) -> Instance {
    let log = format!("run-{n}.log");
    Instance { child: app.spawn_logged(&["run"], env, &log), log }
}

/// When (UTC, as the log prints it) `what` first shows in `log`.
fn logged_at(log: &str, what: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let line = log.lines().find(|l| l.contains(what))?;
    chrono::DateTime::parse_from_rfc3339(line.split_whitespace().next()?).ok().map(|t| t.to_utc())
}

/// A backlog of 200 packages; the reader is killed with SIGKILL at random moments, six
/// times, each time a new standby is started in its place; the standby takes over
/// within 30 s each time, and each message is on the books once.
#[test]
fn a_standby_takes_over_from_a_killed_reader_and_every_message_counts_once() {
    let pg = Postgres::start();
    let d = Dovecot::start();
    backlog(&d, 200);
    let app = App::with_imap(d.tls_port, true, BACKLOG_IMAP);
    app.set_database(&pg.database("failover"));
    let count = || app.items(&[]).len();

    let mut started = 0;
    let mut reader = start(&app, started, &[]);
    assert!(wait_until(Duration::from_secs(30), || app.log(&reader.log).contains(TOOK_LOCK)), "{}", app.log(&reader.log));
    started += 1;
    let mut standby = start(&app, started, &[]);
    assert!(wait_until(Duration::from_secs(30), || app.log(&standby.log).contains(STANDING_BY)), "{}", app.log(&standby.log));

    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut takeovers, mut mid_batch) = (Vec::new(), 0);
    for round in 0..6 {
        std::thread::sleep(Duration::from_millis(300 + rng.u64(..1500)));
        let before = count();
        signal(&reader.child, libc::SIGKILL);
        let killed = Instant::now();
        reader.child.wait().unwrap();
        if before > 0 && before < 200 {
            mid_batch += 1;
        }
        let took_over = wait_until(Duration::from_secs(30), || app.log(&standby.log).contains(TOOK_OVER));
        assert!(took_over, "round {round}: no takeover within 30 s (seed {seed}): {}", app.log(&standby.log));
        takeovers.push(killed.elapsed());
        eprintln!("round {round}: killed with {before} of 200 recorded, taken over after {:?} (seed {seed})", killed.elapsed());
        // The killed machine comes back, and stands by.
        started += 1;
        let next = start(&app, started, &[]);
        reader = std::mem::replace(&mut standby, next);
        assert!(wait_until(Duration::from_secs(30), || app.log(&standby.log).contains(STANDING_BY)), "{}", app.log(&standby.log));
        if count() >= 200 {
            break;
        }
    }
    assert!(mid_batch >= 2, "at least two kills must land while the backlog is being read (seed {seed})");
    assert!(wait_until(Duration::from_secs(120), || count() >= 200), "{}", app.log(&reader.log));
    for i in [&reader, &standby] {
        signal(&i.child, libc::SIGTERM);
    }
    for i in [&mut reader, &mut standby] {
        assert!(i.child.wait().unwrap().success(), "{}", app.log(&i.log));
    }
    each_counted_once(&app, 200, seed);
    takeovers.sort();
    eprintln!("takeovers: median {:?}, longest {:?}", takeovers[takeovers.len() / 2], takeovers.last().unwrap());
}

/// The reader's network to the database goes away: the server sees its side closed at
/// once and frees the lock, while the reader hears nothing. It stops reading mail on
/// its own (its checks go unanswered) before the standby, which waits out that bound,
/// starts; the standby takes over within 30 s, mail sent afterwards is taken in, and
/// nothing is counted twice. The cut-off instance stands by again.
#[test]
fn a_reader_cut_off_from_the_database_stops_before_the_standby_takes_over() {
    let pg = Postgres::start();
    let d = Dovecot::start();
    backlog(&d, 20);
    let app = App::with_imap(d.tls_port, true, BACKLOG_IMAP);
    let url = pg.database("cut");
    app.set_database(&url);
    let proxy = Proxy::start(pg.port);
    let through_proxy = url.replace(&format!(":{}/", pg.port), &format!(":{}/", proxy.port));
    let mut reader = start(&app, 0, &[("BAOSONG_DATABASE_URL", &through_proxy)]);
    assert!(wait_until(Duration::from_secs(30), || app.log(&reader.log).contains(TOOK_LOCK)), "{}", app.log(&reader.log));
    let mut standby = start(&app, 1, &[]);
    assert!(wait_until(Duration::from_secs(30), || app.log(&standby.log).contains(STANDING_BY)), "{}", app.log(&standby.log));
    assert!(wait_until(Duration::from_secs(60), || app.items(&[]).len() >= 20), "{}", app.log(&reader.log));

    proxy.cut_silently();
    let cut = Instant::now();
    assert!(wait_until(Duration::from_secs(30), || app.log(&standby.log).contains(TOOK_OVER)), "{}", app.log(&standby.log));
    eprintln!("taken over {:?} after the cut", cut.elapsed());
    let (reader_log, standby_log) = (app.log(&reader.log), app.log(&standby.log));
    let fenced = logged_at(&reader_log, FENCED).unwrap_or_else(|| panic!("the cut-off reader must stop: {reader_log}"));
    let took_over = logged_at(&standby_log, TOOK_OVER).unwrap();
    assert!(fenced < took_over, "the cut-off reader stopped at {fenced}, the standby started at {took_over}");

    {
        let mut c = d.client();
        let raw = crate::fixtures::Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("after.jpg", &crate::fixtures::jpeg(4242)).build();
        c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &raw);
    }
    assert!(wait_until(Duration::from_secs(30), || app.items(&[]).len() >= 21), "{}", app.log(&standby.log));
    let items = app.items(&[]);
    assert_eq!(items.len(), 21);
    assert!(items.iter().all(|i| i["status"] == "accepted"), "nothing counted twice");
    assert!(wait_until(Duration::from_secs(20), || app.log(&reader.log).contains("待命中无法连接数据库")), "{}", app.log(&reader.log));
    for i in [&reader, &standby] {
        signal(&i.child, libc::SIGTERM);
    }
    for i in [&mut reader, &mut standby] {
        assert!(wait_until(Duration::from_secs(15), || i.child.try_wait().unwrap().is_some()), "SIGTERM ends a standby too: {}", app.log(&i.log));
    }
}
