//! A fresh baosong installation per test: its own config folder (the shipped roster
//! and categories) and data directory, driven through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub struct App {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl App {
    pub fn new() -> App {
        Self::with_config("")
    }

    /// `extra` is appended to baosong.toml (e.g. a `[limits]` table). Senders are not
    /// checked (`sender_auth = "off"`): the tests of the checks use `with_intake` and a
    /// loopback DNS server (`dns.rs`), and no test asks the machine's DNS.
    pub fn with_config(extra: &str) -> App {
        Self::with_intake("sender_auth = \"off\"", extra)
    }

    /// `intake` is written into `[intake]` (e.g. `sender_auth` and `dns_servers`),
    /// `extra` appended to baosong.toml.
    pub fn with_intake(intake: &str, extra: &str) -> App {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for f in ["departments.toml", "categories.toml"] {
            std::fs::copy(root.join("config").join(f), dir.path().join(f)).unwrap();
        }
        std::fs::write(
            dir.path().join("baosong.toml"),
            format!("[intake]\ntimezone = \"Asia/Shanghai\"\ndeadline_day = 25\n{intake}\n\n[storage]\ndata_dir = \"data\"\n\n{extra}\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("inbox")).unwrap();
        App { dir }
    }

    /// An installation reading the test Dovecot's mailbox. `tls`: through the TLS
    /// listener with the test CA; otherwise plain (for the recording proxy).
    pub fn with_imap(port: u16, tls: bool, extra: &str) -> App {
        Self::with_imap_intake(port, tls, "sender_auth = \"off\"", extra)
    }

    /// `with_imap` with `intake` written into `[intake]`.
    pub fn with_imap_intake(port: u16, tls: bool, intake: &str, extra: &str) -> App {
        let transport = if tls {
            format!("tls = \"tls\"\nca_file = \"{}\"", crate::dovecot::certs().dir.join("ca.pem").display())
        } else {
            "tls = \"plain\"\nallow_insecure = true".to_string()
        };
        let password = if extra.contains("password_") { "" } else { "password_env = \"BAOSONG_TEST_IMAP_PASSWORD\"\n" };
        App::with_intake(intake, &format!(
            "[imap]\nhost = \"localhost\"\nport = {port}\n{transport}\nuser = \"{}\"\n{password}timeout = \"10s\"\n{extra}\n",
            crate::dovecot::USER
        ))
    }

    /// An installation that sends mail through the test relay; `notify` is added to `[notify]`.
    pub fn with_smtp(relay_port: u16, notify: &str) -> App {
        App::with_config(&smtp_config(relay_port, notify))
    }

    /// Keeps the books in the database at `url` (`[storage] database_url`) instead of
    /// the SQLite file in the data directory.
    pub fn set_database(&self, url: &str) {
        let config = std::fs::read_to_string(self.config()).unwrap();
        let with = config.replacen("data_dir = \"data\"\n", &format!("data_dir = \"data\"\ndatabase_url = \"{url}\"\n"), 1);
        assert_ne!(with, config, "baosong.toml has its [storage] data_dir line");
        std::fs::write(self.config(), with).unwrap();
    }

    /// Replaces the roster.
    pub fn set_roster(&self, toml: &str) {
        std::fs::write(self.dir.path().join("departments.toml"), toml).unwrap();
    }

    /// Starts `baosong ARGS` in the background, logging to daemon.log in the test folder.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.spawn_env(args, &[])
    }

    /// `spawn` with extra environment variables.
    pub fn spawn_env(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        self.spawn_logged(args, env, "daemon.log")
    }

    /// `spawn_env`, logging to `log` in the test folder (one per instance, when several
    /// run on one configuration).
    pub fn spawn_logged(&self, args: &[&str], env: &[(&str, &str)], log: &str) -> std::process::Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join(log)).unwrap();
        self.command(args)
            .env("BAOSONG_LOG", "info")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    pub fn daemon_log(&self) -> String {
        self.log("daemon.log")
    }

    /// What the instance logging to `name` (`spawn_logged`) has logged so far.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Accepted and duplicate items, and packages, of one department in March 2024.
    pub fn photos(&self, department: &str) -> i64 {
        self.row("2024-03", "2024-04-30T00:00:00+08:00", department)["photos"].as_i64().unwrap()
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("baosong.toml")
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `baosong --config … ARGS`, with the test mailboxes' passwords in the environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_baosong"));
        c.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("BAOSONG_CONFIG")
            .env("BAOSONG_TEST_IMAP_PASSWORD", crate::dovecot::PASSWORD)
            .env("BAOSONG_TEST_SMTP_PASSWORD", crate::dovecot::SMTP_PASSWORD);
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Runs with extra environment variables (e.g. a test build's failpoint).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(args);
        c.envs(env.iter().copied());
        let out = c.output().unwrap();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `baosong ARGS` and measures it: the child's own peak anonymous memory
    /// (RssAnon: heap and stacks) in KiB, and its wall time. The peak is the largest
    /// RssAnon read from /proc every 2 ms while it runs. File-backed pages are not
    /// counted: they are the binary's code (some 20 MiB of a debug build, which grew by
    /// 2 MiB when the S3 client was linked in) and mail mapped from disk, page cache the
    /// kernel can drop, not what the input costs. wait4's ru_maxrss cannot be used
    /// alone: the child is spawned with vfork, and exec records the parent's peak (this
    /// test process, with every fixture of every test running in it) as the child's. It
    /// is the fallback only if the child ended before a single reading.
    pub fn run_measured(&self, args: &[&str]) -> (Run, u64, std::time::Duration) {
        use std::io::Read;
        use std::sync::atomic::{AtomicBool, Ordering};
        let start = std::time::Instant::now();
        let mut child = self
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let errs = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let running = std::sync::Arc::new(AtomicBool::new(true));
        let (status_path, still) = (format!("/proc/{}/status", child.id()), running.clone());
        let watcher = std::thread::spawn(move || {
            let mut peak = 0u64;
            // Until the child has closed its pipes; not reaped yet, so the pid is still its.
            while still.load(Ordering::Relaxed) {
                let anon = std::fs::read_to_string(&status_path).ok().and_then(|s| {
                    s.lines().find_map(|l| l.strip_prefix("RssAnon:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                });
                peak = peak.max(anon.unwrap_or(0));
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            peak
        });
        let mut stdout = String::new();
        let _ = out.read_to_string(&mut stdout);
        let stderr = errs.join().unwrap();
        running.store(false, Ordering::Relaxed);
        let polled = watcher.join().unwrap();
        let mut status = 0;
        // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child, which std
        // has not waited for.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        assert!(pid > 0, "wait4 failed");
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        let peak = if polled > 0 { polled } else { usage.ru_maxrss as u64 };
        (Run { ok, stdout, stderr }, peak, start.elapsed())
    }

    /// Runs with `input` on stdin (a password for `user add`).
    pub fn run_input(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self.command(args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Run { ok: out.status.success(), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
    }

    /// Runs and insists it succeeded.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(r.ok, "baosong {args:?} failed:\nstdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
        r.stdout
    }

    /// Writes `raw` as an .eml in the inbox and returns its path.
    pub fn eml(&self, name: &str, raw: &[u8]) -> PathBuf {
        let p = self.dir.path().join("inbox").join(name);
        std::fs::write(&p, raw).unwrap();
        p
    }

    /// Imports one message and returns the summary printed.
    pub fn import_one(&self, name: &str, raw: &[u8]) -> String {
        let p = self.eml(name, raw);
        self.ok(&["import", p.to_str().unwrap()])
    }

    pub fn status(&self, cycle: &str, as_of: &str) -> Value {
        serde_json::from_str(&self.ok(&["status", "--cycle", cycle, "--as-of", as_of, "--json"])).unwrap()
    }

    pub fn items(&self, args: &[&str]) -> Vec<Value> {
        let mut a = vec!["items", "--json"];
        a.extend_from_slice(args);
        serde_json::from_str::<Value>(&self.ok(&a)).unwrap().as_array().unwrap().clone()
    }

    /// The board row of one department.
    pub fn row(&self, cycle: &str, as_of: &str, department: &str) -> Value {
        let s = self.status(cycle, as_of);
        s["departments"].as_array().unwrap().iter().find(|d| d["department"] == department).unwrap_or_else(|| panic!("{department} not on the board: {s}")).clone()
    }

    /// (name, rejection code) of every refused item, sorted.
    pub fn rejections(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .items(&[])
            .iter()
            .filter(|i| i["status"] == "rejected")
            .map(|i| (i["name"].as_str().unwrap().to_string(), i["rejection"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    }

    /// Every file under data/tree, relative to it.
    pub fn tree(&self) -> Vec<String> {
        let mut out = Vec::new();
        let root = self.data().join("tree");
        walk(&root, &root, &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// Import summary line value: the number after a label like "计入报送".
pub fn summary_count(summary: &str, label: &str) -> usize {
    let line = summary.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("no {label} in {summary}"));
    line.trim_start()[label.len()..].trim_start().split_whitespace().next().unwrap().parse().unwrap()
}

/// Waits up to `limit` for `cond`, checking every 100 ms.
pub fn wait_until(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    cond()
}

/// Sends SIGTERM (or SIGKILL) to a child.
pub fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// `[smtp]` through the test relay and `[notify]` with `notify` added (see `App::with_smtp`).
pub fn smtp_config(relay_port: u16, notify: &str) -> String {
    format!(
        "[smtp]\nhost = \"localhost\"\nport = {relay_port}\ntls = \"tls\"\nca_file = \"{}\"\nuser = \"{}\"\npassword_env = \"BAOSONG_TEST_SMTP_PASSWORD\"\nfrom = \"乌审旗公安局宣传工作领导小组办公室 <{}>\"\ntimeout = \"10s\"\n\n[notify]\nquiet_hours = \"none\"\n{notify}\n",
        crate::dovecot::certs().dir.join("ca.pem").display(),
        crate::dovecot::SMTP_USER,
        crate::dovecot::SMTP_USER
    )
}
