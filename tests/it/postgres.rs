//! A throwaway PostgreSQL 15 cluster for a test: `initdb` and `pg_ctl` in a temporary
//! folder, on a free loopback port, no system service; stopped when dropped. As root
//! (CI) the cluster runs as the `postgres` user that Debian's package creates, since
//! PostgreSQL refuses to run as root.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

/// The folder of initdb, pg_ctl and postgres: Debian's postgresql-15.
fn bin_dir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output();
    let from_config = out.ok().filter(|o| o.status.success()).map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    [Some(PathBuf::from("/usr/lib/postgresql/15/bin")), from_config]
        .into_iter()
        .flatten()
        .find(|d| d.join("initdb").exists())
        .expect("PostgreSQL 15 must be installed (tests/install-deps.sh: postgresql-15)")
}

fn as_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

impl Postgres {
    /// A cluster for tests: nothing is flushed to disk (fsync off).
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// `durable`: PostgreSQL's default settings, every commit flushed (for benches).
    pub fn start_with(durable: bool) -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let pg = Postgres { dir, port: crate::dovecot::free_port(), bin: bin_dir() };
        let data = pg.data();
        pg.run("initdb", &["-D", data.to_str().unwrap(), "-U", "baosong", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
        let relaxed = if durable { "" } else { " -c fsync=off -c full_page_writes=off" };
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1{relaxed}", pg.port, pg.dir.path().display());
        let log = pg.dir.path().join("postgres.log");
        pg.run("pg_ctl", &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options, "-w", "-t", "60", "start"]);
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of PostgreSQL's programs, as `postgres` when this is root.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut c = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = c.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(out.status.success(), "{program} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// A new, empty database on the cluster, as a `postgres://` URL.
    pub fn database(&self, name: &str) -> String {
        let exe = self.bin.join("createdb");
        let out = Command::new(exe).args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "baosong", name]).output().unwrap();
        assert!(out.status.success(), "createdb {name}: {}", String::from_utf8_lossy(&out.stderr));
        format!("postgres://baosong@127.0.0.1:{}/{name}", self.port)
    }

    /// The rows `sql` gives on database `name`, one line each, fields separated by `|`.
    pub fn query(&self, name: &str, sql: &str) -> Vec<String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "baosong", "-d", name, "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let mut c = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let _ = c.args(["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]).output();
    }
}
