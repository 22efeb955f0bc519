//! IMAP intake against mbsync, all pulling the same 200 × ~1 MB mailbox from a local
//! Dovecot over TLS, alternated, at least 5 runs each:
//! - mbsync 1.4 (`PipelineDepth 50`, default FSync) downloading into a Maildir;
//! - `baosong poll --once --queue-only`: the fetch-to-durable-cursor path alone (raw
//!   mail written and fsynced, queued in the journal with the cursor);
//! - `baosong poll --once`: the whole ingest (also parse, unpack, hash, sniff, store,
//!   record, by the journal's workers).
//! Full ingest decodes every photo in full, so it is also held against two references
//! in the same run, on the same photos (the 600 of the mailbox, extracted once before
//! timing), two processes at once as on the 2-core machine:
//! - what the office would otherwise run for the same result: mbsync, then
//!   `vipsthumbnail -s 320` over every photo (libvips decodes JPEG at reduced DCT scale);
//! - the floor: mbsync, then `djpeg -scale 1/2` over every photo (libjpeg-turbo).
//! Then peak RSS of baosong on a 100 MiB and a 300 MiB message, and an idle daemon's
//! RSS and CPU use; and what checking senders costs (issue 24): `poll --once` of the
//! same 200 packages signed as 163.com signs (DKIM, a loopback DNS server with the
//! key and DMARC record, the cache warm after the first message) with
//! `sender_auth = "dmarc"` against `"off"`, alternated; and full ingest with the books
//! in a local PostgreSQL 15, and with the books there and the archive in a local S3
//! server (SeaweedFS), against SQLite and a local folder, alternated (issue 25); and `cluster`: the
//! failover time of `run` and `baosong worker`s sharing a journal (issue 25). Run with
//! `cargo bench --bench imap` (`BENCH_PART=throughput`, `rss`, `idle`, `sender_auth`,
//! `postgres`, `failover` or `workers` for one part). Needs mbsync (isync), vipsthumbnail (libvips-tools)
//! and djpeg (libjpeg-turbo-progs).
//!
//! Goals: the fetch path alone ≥ 1.0× mbsync's throughput; full ingest ≥ 1.25× the
//! office's reference and ≥ 0.8× the floor (issue 21; the old goal of 0.8× mbsync alone
//! was retired: mbsync decodes nothing); under 64 MiB peak RSS for a 300 MiB message;
//! an idle daemon under 30 MiB RSS and using no CPU; checking senders adds < 5 % to
//! full ingest.

#[path = "../tests/it/dovecot.rs"]
#[allow(dead_code)]
mod dovecot;
#[path = "../tests/it/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
#[path = "../tests/it/dns.rs"]
#[allow(dead_code)]
mod dns;
#[path = "../tests/it/postgres.rs"]
#[allow(dead_code)]
mod postgres;
#[path = "../tests/it/seaweed.rs"]
#[allow(dead_code)]
mod seaweed;
#[path = "imap/cluster.rs"]
mod cluster;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use fixtures::{Mail, ZipEntry, zip};

const RUNS: usize = 5;
const MESSAGES: u32 = 200;

/// A real photo (1280 × 960, noisy enough to weigh about 350 KB, with EXIF), which
/// baosong decodes, hashes, thumbnails and files like a department's.
fn photo(seed: u32) -> Vec<u8> {
    fixtures::with_exif(&fixtures::encode_jpeg(&fixtures::texture(1280, 960, seed), 80), 1, None, "HUAWEI", "HUAWEI P40")
}

/// A configuration reading `folders`, with the sender checks off (the throughput,
/// RSS and idle figures are those of the intake itself).
fn config(dir: &Path, d: &dovecot::Dovecot, folders: &str) -> std::path::PathBuf {
    config_with(dir, d, folders, "sender_auth = \"off\"")
}

/// `config` with `intake` written into `[intake]`.
fn config_with(dir: &Path, d: &dovecot::Dovecot, folders: &str, intake: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for f in ["departments.toml", "categories.toml"] {
        std::fs::copy(root.join(f), dir.join(f)).unwrap();
    }
    let p = dir.join("baosong.toml");
    std::fs::write(
        &p,
        format!(
            "[intake]\n{intake}\n[storage]\ndata_dir = \"data\"\n[imap]\nhost = \"localhost\"\nport = {}\ntls = \"tls\"\nca_file = \"{}\"\nuser = \"{}\"\npassword_env = \"BENCH_PW\"\nscan_junk = false\nfolders = {folders}\n",
            d.tls_port,
            dovecot::certs().dir.join("ca.pem").display(),
            dovecot::USER
        ),
    )
    .unwrap();
    p
}

/// Runs `args` under a small python3 parent and returns its peak RSS in MiB. (A child
/// forked straight from this process would count this process's own pages in its
/// ru_maxrss until it execs.)
fn peak_rss(args: &[&std::ffi::OsStr]) -> (f64, f64) {
    let out = Command::new("python3")
        .arg("-c")
        .arg("import resource,subprocess,sys,time\nt=time.time()\nr=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL)\nprint(time.time()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\nsys.exit(r.returncode)")
        .args(args)
        .env("BENCH_PW", dovecot::PASSWORD)
        .env("BAOSONG_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut f = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
    (f.next().unwrap(), f.next().unwrap() / 1024.0)
}

/// Runs a command to its end: wall seconds and the child's resource usage.
fn run_to_end(cmd: &mut Command) -> (f64, libc::rusage) {
    let start = Instant::now();
    let child = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0 && status == 0, "{cmd:?} failed ({status})");
    (start.elapsed().as_secs_f64(), usage)
}

/// Runs a command, returning wall seconds and the child's peak RSS in MiB.
fn measure(cmd: &mut Command) -> (f64, f64) {
    let (wall, usage) = run_to_end(cmd);
    (wall, usage.ru_maxrss as f64 / 1024.0)
}

/// `measure`'s wall time, and the CPU time (user + system) the command used.
fn measure_cpu(cmd: &mut Command) -> (f64, f64) {
    let (wall, usage) = run_to_end(cmd);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (wall, secs(usage.ru_utime) + secs(usage.ru_stime))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists; nothing to list here
    }
    let d = dovecot::Dovecot::start();
    let mut total = 0usize;
    let work = tempfile::tempdir().unwrap();
    let photos = work.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    {
        let mut c = d.client();
        for i in 0..MESSAGES {
            for j in 0..3 {
                std::fs::write(photos.join(format!("{:04}.jpg", i * 3 + j)), photo(i * 3 + j)).unwrap();
            }
            let archive = zip(&[ZipEntry::utf8("①党建/a.jpg", &photo(i * 3)), ZipEntry::utf8("⑤反诈/b.jpg", &photo(i * 3 + 1)), ZipEntry::utf8("⑩点滴/c.jpg", &photo(i * 3 + 2))]);
            let raw = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("素材.zip", &archive).build();
            total += raw.len();
            c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &raw);
        }
    }
    let mb = total as f64 / 1e6;
    println!("mailbox: {MESSAGES} messages, {mb:.1} MB, Dovecot over TLS on localhost");

    let mbsync_conf = work.path().join("mbsyncrc");
    std::fs::write(
        &mbsync_conf,
        format!(
            "IMAPAccount bench\nHost localhost\nPort {}\nUser {}\nPass {}\nSSLType IMAPS\nCertificateFile {}\nPipelineDepth 50\n\nIMAPStore remote\nAccount bench\n\nMaildirStore local\nPath {}/maildir/\nInbox {}/maildir/INBOX\n\nChannel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nSync Pull\nCreate Near\nSyncState *\n",
            d.tls_port,
            dovecot::USER,
            dovecot::PASSWORD,
            dovecot::certs().dir.join("ca.pem").display(),
            work.path().display(),
            work.path().display()
        ),
    )
    .unwrap();
    let run_mbsync = || {
        let _ = std::fs::remove_dir_all(work.path().join("maildir"));
        std::fs::create_dir_all(work.path().join("maildir")).unwrap();
        measure(Command::new("mbsync").arg("-q").arg("-c").arg(&mbsync_conf).arg("bench"))
    };
    let run_baosong = || {
        let dir = tempfile::tempdir().unwrap();
        let conf = config(dir.path(), &d, "[\"INBOX\"]");
        let r = measure(Command::new(env!("CARGO_BIN_EXE_baosong")).arg("--config").arg(&conf).args(["poll", "--once"]).env("BENCH_PW", dovecot::PASSWORD).env("BAOSONG_LOG", "warn"));
        let items = Command::new(env!("CARGO_BIN_EXE_baosong")).arg("--config").arg(&conf).args(["items", "--json"]).output().unwrap();
        let n = serde_json::from_slice::<serde_json::Value>(&items.stdout).unwrap().as_array().unwrap().len();
        assert_eq!(n, MESSAGES as usize * 3, "baosong must have ingested every photo");
        r
    };
    let run_queue_only = || {
        let dir = tempfile::tempdir().unwrap();
        let conf = config(dir.path(), &d, "[\"INBOX\"]");
        let r = measure(Command::new(env!("CARGO_BIN_EXE_baosong")).arg("--config").arg(&conf).args(["poll", "--once", "--queue-only"]).env("BENCH_PW", dovecot::PASSWORD).env("BAOSONG_LOG", "warn"));
        let raw = walk_count(&dir.path().join("data/raw"));
        assert_eq!(raw, MESSAGES as usize, "every message must be on disk");
        r
    };
    if let Ok(dir) = std::env::var("BENCH_HOLD") {
        // For profiling by hand: leave a ready configuration and keep Dovecot up.
        let conf = config(Path::new(&dir), &d, "[\"INBOX\"]");
        println!("holding: BENCH_PW={} baosong --config {} poll --once", dovecot::PASSWORD, conf.display());
        std::thread::sleep(std::time::Duration::from_secs(900));
        return;
    }
    // The references' decoding, two processes at once over the same 600 photos.
    let thumbs = work.path().join("thumbs");
    let run_vips = || {
        let _ = std::fs::remove_dir_all(&thumbs);
        std::fs::create_dir_all(&thumbs).unwrap();
        let script = format!("ls {}/*.jpg | xargs -P2 -n 50 vipsthumbnail -s 320 -o '{}/%s.jpg'", photos.display(), thumbs.display());
        measure(Command::new("sh").arg("-c").arg(script))
    };
    let run_djpeg = || {
        let script = format!("ls {}/*.jpg | xargs -P2 -n 1 djpeg -scale 1/2 -outfile /dev/null", photos.display());
        measure(Command::new("sh").arg("-c").arg(script))
    };
    let only = std::env::var("BENCH_PART").unwrap_or_default();
    if only.is_empty() || only == "throughput" {
        throughput(run_mbsync, run_queue_only, run_baosong, (run_vips, run_djpeg), mb);
    }
    if only.is_empty() || only == "rss" {
        rss(&work);
    }
    if only.is_empty() || only == "idle" {
        idle(&d);
    }
    if only.is_empty() || only == "sender_auth" {
        sender_auth(&d);
    }
    if only.is_empty() || only == "postgres" {
        on_postgres(&d, mb);
    }
    if only.is_empty() || only == "failover" {
        cluster::failover(&d);
    }
    if only.is_empty() || only == "workers" {
        cluster::workers(&d, MESSAGES as usize);
    }
}

/// Full ingest with the books in PostgreSQL, and with the books there and the archive
/// in S3, against SQLite and a local folder (issue 25): the same 200 packages taken in
/// by `poll --once`, the three alternated after a warm-up. PostgreSQL 15 runs on this
/// machine with its default, durable settings (every commit flushed), a fresh database
/// each run; SeaweedFS (`weed server -s3`) on this machine too, a fresh bucket each run.
fn on_postgres(d: &dovecot::Dovecot, mb: f64) {
    let pg = postgres::Postgres::start_with(true);
    let s3 = seaweed::Seaweed::start();
    let mut n = 0;
    let (mut cpu_local, mut cpu_s3) = (Vec::new(), Vec::new());
    let mut run = |on_postgres: bool, on_s3: bool| {
        let dir = tempfile::tempdir().unwrap();
        let conf = config(dir.path(), d, "[\"INBOX\"]");
        n += 1;
        let url = on_postgres.then(|| pg.database(&format!("bench{n}")));
        if on_s3 {
            let bucket = format!("bench{n}");
            s3.make_bucket(&bucket);
            s3.install_in(&conf, &bucket);
        }
        let baosong = |args: &[&str]| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_baosong"));
            cmd.arg("--config").arg(&conf).args(args).env("BENCH_PW", dovecot::PASSWORD).env("BAOSONG_LOG", "warn");
            if let Some(url) = &url {
                cmd.env("BAOSONG_DATABASE_URL", url);
            }
            cmd
        };
        let server = s3.cpu_seconds();
        let (r, cpu) = measure_cpu(&mut baosong(&["poll", "--once"]));
        if on_s3 {
            cpu_s3.push((cpu, s3.cpu_seconds() - server));
        } else if !on_postgres {
            cpu_local.push(cpu);
        }
        let items = baosong(&["items", "--json"]).output().unwrap();
        let count = serde_json::from_slice::<serde_json::Value>(&items.stdout).unwrap().as_array().unwrap().len();
        assert_eq!(count, MESSAGES as usize * 3, "every photo counted");
        if on_s3 {
            let raw = s3.objects_in(&format!("bench{n}")).iter().filter(|(k, _)| k.starts_with("raw/")).count();
            assert_eq!(raw, MESSAGES as usize, "every message's raw mail in the bucket");
        }
        r
    };
    run(false, false);
    run(true, false);
    run(true, true);
    let (mut sqlite, mut postgres, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        sqlite.push(run(false, false));
        postgres.push(run(true, false));
        both.push(run(true, true));
    }
    let show = |v: &[f64]| v.iter().map(|s| format!("{s:.2}s")).collect::<Vec<_>>().join(" ");
    let (a, b, c) = (median(sqlite.clone()), median(postgres.clone()), median(both.clone()));
    println!("poll --once on SQLite + folder       runs: {}  median {a:.2}s  {:.0} MB/s", show(&sqlite), mb / a);
    println!("poll --once on PostgreSQL + folder   runs: {}  median {b:.2}s  {:.0} MB/s", show(&postgres), mb / b);
    println!("poll --once on PostgreSQL + S3       runs: {}  median {c:.2}s  {:.0} MB/s", show(&both), mb / c);
    println!("full ingest on PostgreSQL: {:.2}x SQLite's throughput (the store a local folder in both)", a / b);
    println!("full ingest on PostgreSQL + S3: {:.2}x SQLite + local folder's throughput (goal >= 0.80x)", a / c);
    let cpu_base = median(cpu_local.clone());
    let (mine, server) = (median(cpu_s3.iter().map(|c| c.0).collect()), median(cpu_s3.iter().map(|c| c.1).collect()));
    println!(
        "  CPU per run (median): baosong on SQLite + folder {cpu_base:.2}s; on PostgreSQL + S3 baosong {mine:.2}s and the S3 server (SeaweedFS, same machine) {server:.2}s"
    );
    let dir = tempfile::tempdir().unwrap();
    let conf = config(dir.path(), d, "[\"INBOX\"]");
    s3.make_bucket("idle");
    s3.install_in(&conf, "idle");
    idle_daemon(dir.path(), &conf, &[("BAOSONG_DATABASE_URL", pg.database("idle"))], "idle daemon on PostgreSQL + S3");
}

/// What checking senders adds to full ingest: the same 200 packages, each signed with
/// a test key as 163.com signs (rsa-sha256, relaxed/relaxed), in a folder of their own,
/// taken in by `poll --once` with `sender_auth = "dmarc"` (a loopback DNS server holds
/// the key and `_dmarc.163.com`; each process asks it once per name, then its cache
/// answers) and with `"off"`, alternated after a warm-up.
fn sender_auth(d: &dovecot::Dovecot) {
    let dns = dns::Dns::start();
    dns.txt("s110527._domainkey.163.com", &dns::key_record());
    dns.txt("_dmarc.163.com", "v=DMARC1; p=quarantine");
    {
        let mut c = d.client();
        c.create("Signed");
        for i in 0..MESSAGES {
            let archive = zip(&[ZipEntry::utf8("①党建/a.jpg", &photo(i * 3)), ZipEntry::utf8("⑤反诈/b.jpg", &photo(i * 3 + 1)), ZipEntry::utf8("⑩点滴/c.jpg", &photo(i * 3 + 2))]);
            let raw = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", "Tue, 19 Mar 2024 10:00:00 +0800").attach("素材.zip", &archive).build();
            c.append("Signed", "19-Mar-2024 10:00:00 +0800", &dns::sign(&raw, "163.com", "s110527"));
        }
    }
    let run = |intake: &str, verified: bool| {
        let dir = tempfile::tempdir().unwrap();
        let conf = config_with(dir.path(), d, "[\"Signed\"]", intake);
        let r = measure(Command::new(env!("CARGO_BIN_EXE_baosong")).arg("--config").arg(&conf).args(["poll", "--once"]).env("BENCH_PW", dovecot::PASSWORD).env("BAOSONG_LOG", "warn"));
        let items = Command::new(env!("CARGO_BIN_EXE_baosong")).arg("--config").arg(&conf).args(["items", "--json"]).output().unwrap();
        let items = serde_json::from_slice::<serde_json::Value>(&items.stdout).unwrap();
        let items = items.as_array().unwrap();
        assert_eq!(items.len(), MESSAGES as usize * 3, "every photo counted");
        assert!(items.iter().all(|i| (i["sender_auth"]["verdict"] == "pass") == verified), "every sender verified when checked");
        r.0
    };
    let checked = format!("sender_auth = \"dmarc\"\ndns_servers = [\"{}\"]", dns.addr);
    let (off, on) = (|| run("sender_auth = \"off\"", false), || run(&checked, true));
    off();
    on();
    let queries = dns.queries();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        a.push(off());
        b.push(on());
    }
    let show = |v: &[f64]| v.iter().map(|s| format!("{s:.2}s")).collect::<Vec<_>>().join(" ");
    let (ma, mb) = (median(a.clone()), median(b.clone()));
    println!("poll --once, 200 signed packages, sender_auth = \"off\"   runs: {}  median {ma:.2}s", show(&a));
    println!("poll --once, 200 signed packages, sender_auth = \"dmarc\" runs: {}  median {mb:.2}s", show(&b));
    println!("DNS queries per checked run: {} (the rest from the cache)", (dns.queries() - queries) / RUNS);
    println!("checking senders adds {:+.1} % to full ingest (goal < 5 %)", (mb / ma - 1.0) * 100.0);
}

fn walk_count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |r| r.flatten().map(|e| if e.path().is_dir() { walk_count(&e.path()) } else { 1 }).sum())
}

type Run<'a> = &'a dyn Fn() -> (f64, f64);

fn throughput(run_mbsync: impl Fn() -> (f64, f64), run_queue_only: impl Fn() -> (f64, f64), run_baosong: impl Fn() -> (f64, f64), (run_vips, run_djpeg): (impl Fn() -> (f64, f64), impl Fn() -> (f64, f64)), mb: f64) {
    let runs: [(&str, Run<'_>); 5] = [
        ("mbsync  (download into a Maildir)     ", &run_mbsync),
        ("baosong (fetch to durable cursor only)", &run_queue_only),
        ("baosong (full ingest)                 ", &run_baosong),
        ("vipsthumbnail -s 320, 600 photos, ×2  ", &run_vips),
        ("djpeg -scale 1/2, 600 photos, ×2      ", &run_djpeg),
    ];
    // Warm the caches once each, then alternate.
    for (_, run) in &runs {
        run();
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for _ in 0..RUNS {
        for (t, (_, run)) in times.iter_mut().zip(&runs) {
            t.push(run().0);
        }
    }
    let show = |v: &[f64]| v.iter().map(|s| format!("{s:.2}s")).collect::<Vec<_>>().join(" ");
    for ((name, _), t) in runs.iter().zip(&times) {
        println!("{name} runs: {}  median {:.2}s", show(t), median(t.clone()));
    }
    let [mm, qm, bm, vm, jm] = [0, 1, 2, 3, 4].map(|i| median(times[i].clone()));
    println!("median: mbsync {mm:.2}s ({:.0} MB/s), fetch only {qm:.2}s ({:.0} MB/s), full ingest {bm:.2}s ({:.0} MB/s)", mb / mm, mb / qm, mb / bm);
    println!("throughput ratio, fetch path alone / mbsync: {:.2}× (goal ≥ 1.00×)", mm / qm);
    println!("full ingest against what the office would run (mbsync {mm:.2}s + vipsthumbnail {vm:.2}s = {:.2}s): {:.2}× (goal ≥ 1.25×)", mm + vm, (mm + vm) / bm);
    println!("full ingest against the floor (mbsync {mm:.2}s + djpeg -scale 1/2 {jm:.2}s = {:.2}s): {:.2}× (goal ≥ 0.80×)", mm + jm, (mm + jm) / bm);
    println!("(full ingest / mbsync alone: {:.2}×, the retired yardstick)", mm / bm);
}

/// An idle daemon (the mailbox read, nothing new): its RSS and the CPU it uses over 20 s.
fn idle(d: &dovecot::Dovecot) {
    let dir = tempfile::tempdir().unwrap();
    let conf = config(dir.path(), d, "[\"INBOX\"]");
    idle_daemon(dir.path(), &conf, &[], "idle daemon");
}

/// `run` on `conf` (its data directory in `dir`), measured once it has taken in the
/// mailbox and sat idle for 70 s.
fn idle_daemon(dir: &Path, conf: &Path, env: &[(&str, String)], what: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baosong"))
        .arg("--config")
        .arg(conf)
        .arg("run")
        .env("BENCH_PW", dovecot::PASSWORD)
        .env("BAOSONG_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Let it take in the mailbox and settle into IDLE.
    let settle = Instant::now();
    while walk_count(&dir.join("data/raw")) < MESSAGES as usize && settle.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // An idle daemon: a minute after the last message, as it will be most of the month.
    std::thread::sleep(std::time::Duration::from_secs(70));
    let ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = stat.rsplit_once(") ").unwrap().1;
        let f: Vec<&str> = after.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let field = |name: &str| -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
    };
    let rss = || field("VmRSS:");
    let (t0, r0) = (ticks(), rss());
    std::thread::sleep(std::time::Duration::from_secs(20));
    let (t1, r1) = (ticks(), rss());
    println!("  of which heap and stacks {:.1} MiB, mapped files (the program's code) {:.1} MiB", field("RssAnon:"), field("RssFile:"));
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let hz = 100.0; // USER_HZ on Linux
    println!("{what}, 70 s after taking in {MESSAGES} messages: RSS {r0:.1} MiB, then {r1:.1} MiB 20 s later (goal < 30 MiB); CPU over those 20 s: {:.2} s (goal: none)", (t1 - t0) as f64 / hz);
}

/// Peak RSS of `poll --once` (chunked IMAP fetch into a spool) and of `import` of the
/// same message from a file, for a 100 MiB and a 300 MiB message.
fn rss(work: &tempfile::TempDir) {
    for size_mib in [100usize, 300] {
        let d = dovecot::Dovecot::start();
        let attachment = fixtures::mp4_movie(600, 1920, 1080, None, &fixtures::noise(size_mib * 1024 * 1024 * 3 / 4 - 4096, 7));
        let raw = Mail::new("gltpcs@163.com", "3月视频", "Tue, 19 Mar 2024 10:00:00 +0800").attach("big.mp4", &attachment).build();
        let raw_mib = raw.len() as f64 / (1024.0 * 1024.0);
        let eml = work.path().join(format!("big-{size_mib}.eml"));
        std::fs::write(&eml, &raw).unwrap();
        d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &raw);
        drop(raw);
        drop(attachment);
        let dir = tempfile::tempdir().unwrap();
        let conf = config(dir.path(), &d, "[\"INBOX\"]");
        let bin = std::ffi::OsStr::new(env!("CARGO_BIN_EXE_baosong"));
        let (secs, rss) = peak_rss(&[bin, "--config".as_ref(), conf.as_os_str(), "poll".as_ref(), "--once".as_ref()]);
        println!("{raw_mib:.0} MiB message over IMAP: ingested in {secs:.1}s, peak RSS {rss:.0} MiB (goal < 64 MiB)");
        let dir = tempfile::tempdir().unwrap();
        let conf = config(dir.path(), &d, "[\"INBOX\"]");
        let (secs, rss) = peak_rss(&[bin, "--config".as_ref(), conf.as_os_str(), "import".as_ref(), eml.as_os_str()]);
        println!("{raw_mib:.0} MiB message from a file: ingested in {secs:.1}s, peak RSS {rss:.0} MiB (goal < 64 MiB)");
    }
}
