//! Several machines on one PostgreSQL database (issue 25, point 8), simulated on this
//! one: instances sharing one data folder and one database, as machines sharing the
//! folder over the network would.
//! - `failover`: two `run`s, the reader killed with SIGKILL ten times; each time, how
//!   long until the standby has taken over, and until a mail sent right after the kill
//!   is on the books. The killed one is started again as the next standby.
//! - `workers`: the 200 packages queued by `poll --once --queue-only`, then analysed
//!   by one `baosong worker`, and by two; with two, how many messages were recorded
//!   by each and whether any was analysed by both. Then two again, one killed with
//!   SIGKILL after 3 s: how long its claimed entries took to be done (goal: within one
//!   lease, 15 s, plus their analysis).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{config, dovecot, fixtures, median, postgres};

fn baosong(conf: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baosong"));
    cmd.arg("--config").arg(conf).args(args).env("BENCH_PW", dovecot::PASSWORD).env("BAOSONG_DATABASE_URL", url).stdout(Stdio::null());
    cmd
}

fn spawn(conf: &Path, url: &str, args: &[&str], log: &Path) -> Child {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    baosong(conf, url, args).env("BAOSONG_LOG", "info").stderr(file).spawn().unwrap()
}

fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn logged(log: &Path, what: &str) -> bool {
    std::fs::read_to_string(log).unwrap_or_default().contains(what)
}

fn items(conf: &Path, url: &str) -> usize {
    let out = baosong(conf, url, &["items", "--json"]).stdout(Stdio::piped()).output().unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout).map_or(0, |v| v.as_array().map_or(0, Vec::len))
}

/// VmRSS of process `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap();
    kib / 1024.0
}

fn kill(child: &mut Child) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

fn stop(child: &mut Child) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
}

pub fn failover(d: &dovecot::Dovecot) {
    let pg = postgres::Postgres::start_with(true);
    let url = pg.database("failover");
    let dir = tempfile::tempdir().unwrap();
    d.client().create("Failover");
    let conf = config(dir.path(), d, "[\"Failover\"]");
    let log = |n: usize| dir.path().join(format!("run-{n}.log"));
    let mut reader = spawn(&conf, &url, &["run"], &log(0));
    assert!(wait_for(Duration::from_secs(60), || logged(&log(0), "已取得数据库写入锁")), "the first run takes the lock");
    let mut standby = (spawn(&conf, &url, &["run"], &log(1)), 1);
    assert!(wait_for(Duration::from_secs(60), || logged(&log(1), "本实例待命")));
    let (mut took_over, mut recorded) = (Vec::new(), Vec::new());
    let mut started = 2;
    for round in 0..10u32 {
        let before = items(&conf, &url);
        kill(&mut reader);
        let killed = Instant::now();
        let raw = fixtures::Mail::new("gltpcs@163.com", "3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach(&format!("f{round}.jpg"), &fixtures::jpeg(60_000 + round)).build();
        d.client().append("Failover", "19-Mar-2024 10:00:00 +0800", &raw);
        assert!(wait_for(Duration::from_secs(60), || logged(&log(standby.1), "已接手收件")), "round {round}: no takeover");
        took_over.push(killed.elapsed().as_secs_f64());
        assert!(wait_for(Duration::from_secs(60), || items(&conf, &url) > before), "round {round}: the mail sent after the kill is not on the books");
        recorded.push(killed.elapsed().as_secs_f64());
        let next = (spawn(&conf, &url, &["run"], &log(started)), started);
        assert!(wait_for(Duration::from_secs(60), || logged(&log(started), "本实例待命")));
        started += 1;
        reader = std::mem::replace(&mut standby, next).0;
    }
    // Both idle now: what a reader and a standby hold (goal: under 30 MiB each).
    std::thread::sleep(Duration::from_secs(60));
    let rss = |c: &Child| rss_mib(c.id());
    let (reader_rss, standby_rss) = (rss(&reader), rss(&standby.0));
    stop(&mut reader);
    stop(&mut standby.0);
    assert_eq!(items(&conf, &url), 10, "each mail once");
    let show = |v: &[f64]| v.iter().map(|s| format!("{s:.1}s")).collect::<Vec<_>>().join(" ");
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!("failover, reader killed (10 runs): taken over after {}", show(&took_over));
    println!("  idle 60 s after the last takeover: the reader {reader_rss:.1} MiB, the standby {standby_rss:.1} MiB RSS (goal: under 30 MiB)");
    println!("  taken over: median {:.1}s, longest {:.1}s; the mail sent at the kill on the books: median {:.1}s, longest {:.1}s (goal: within 30 s)", median(took_over.clone()), max(&took_over), median(recorded.clone()), max(&recorded));
}

pub fn workers(d: &dovecot::Dovecot, messages: usize) {
    let pg = postgres::Postgres::start_with(true);
    let mut n = 0;
    // A fresh database and data folder with the INBOX queued, not analysed.
    let mut queued = || {
        n += 1;
        let url = pg.database(&format!("workers{n}"));
        let dir = tempfile::tempdir().unwrap();
        let conf = config(dir.path(), d, "[\"INBOX\"]");
        assert!(baosong(&conf, &url, &["poll", "--once", "--queue-only"]).env("BAOSONG_LOG", "warn").status().unwrap().success());
        (url, dir, conf)
    };
    let left = |pg: &postgres::Postgres, db: &str| pg.query(db, "SELECT count(*) FROM journal WHERE state = 'queued'")[0].parse::<usize>().unwrap();
    let analyse = |count: usize, (url, dir, conf): &(String, tempfile::TempDir, std::path::PathBuf), db: &str| {
        let start = Instant::now();
        let mut ws: Vec<Child> = (0..count).map(|i| spawn(conf, url, &["worker"], &dir.path().join(format!("w{i}.log")))).collect();
        assert!(wait_for(Duration::from_secs(600), || left(&pg, db) == 0));
        let took = start.elapsed().as_secs_f64();
        ws.iter_mut().for_each(stop);
        let per: Vec<usize> = (0..count)
            .map(|i| std::fs::read_to_string(dir.path().join(format!("w{i}.log"))).unwrap().lines().filter(|l| l.contains("已计入") || l.contains("已记录")).count())
            .collect();
        let lost: usize = (0..count).map(|i| std::fs::read_to_string(dir.path().join(format!("w{i}.log"))).unwrap().matches("已由其他处理进程接手").count()).sum();
        (took, per, lost)
    };
    let one = queued();
    let (t1, _, _) = analyse(1, &one, "workers1");
    let two = queued();
    let (t2, per, lost) = analyse(2, &two, "workers2");
    println!("{messages} packages queued, analysed by one worker in {t1:.2}s, by two in {t2:.2}s ({:.2}x; this machine has 2 cores)", t1 / t2);
    println!("  with two: recorded {} and {} (sum {}, each message once); analysed by both and thrown away: {lost}", per[0], per[1], per[0] + per[1]);
    assert_eq!(per.iter().sum::<usize>(), messages);

    let (url, dir, conf) = queued();
    let mut doomed = spawn(&conf, &url, &["worker"], &dir.path().join("doomed.log"));
    let mut survivor = spawn(&conf, &url, &["worker"], &dir.path().join("survivor.log"));
    std::thread::sleep(Duration::from_secs(3));
    let pid = doomed.id();
    kill(&mut doomed);
    let killed = Instant::now();
    let held = format!("SELECT count(*) FROM journal WHERE state = 'queued' AND claimed_by LIKE '%:{pid}:%'");
    let claimed = pg.query("workers3", &held)[0].parse::<usize>().unwrap();
    assert!(wait_for(Duration::from_secs(600), || pg.query("workers3", &held) == ["0"]));
    let done = killed.elapsed().as_secs_f64();
    assert!(wait_for(Duration::from_secs(600), || left(&pg, "workers3") == 0));
    stop(&mut survivor);
    assert_eq!(items(&conf, &url), messages * 3, "every photo once");
    println!("  a worker killed holding {claimed} entries: all done {done:.1}s after the kill (lease 15 s, then their analysis)");
}
