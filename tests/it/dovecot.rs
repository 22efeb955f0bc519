//! A private Dovecot for each test, on free loopback ports: a plain and a TLS
//! listener with a certificate from a test CA, a passwd-file user, Maildir storage.
//! Started with `dovecot -F`, ready when the greeting arrives.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const USER: &str = "office@example.test";
pub const PASSWORD: &str = "shouquanma16char";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A CA and a localhost certificate, made once per test run with openssl.
pub struct Certs {
    pub dir: PathBuf,
}

pub fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("baosong-test-certs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(&dir).output().expect("openssl must be installed (tests/install-deps.sh)");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(&["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=baosong test CA"]);
        run(&["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=localhost"]);
        run(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "30", "-extfile", "ext.cnf"]);
        for f in ["key.pem", "cert.pem", "ca.pem"] {
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        Certs { dir }
    })
}

pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub plain_port: u16,
    pub tls_port: u16,
    pub lmtp_port: u16,
    extra: String,
    child: Option<Child>,
}

/// As root, mail cannot be owned by root: use the `mail` user (uid 8). Otherwise run
/// everything as the calling user.
fn ids() -> (u32, u32, &'static str, &'static str) {
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    if uid == 0 { (8, 8, "dovecot", "dovenull") } else { (uid, gid, "", "") }
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Self::start_with("")
    }

    /// `extra` is appended to dovecot.conf (e.g. `imap_capability = …`).
    pub fn start_with(extra: &str) -> Dovecot {
        let dir = tempfile::Builder::new().prefix("baosong-dovecot-").tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut d = Dovecot { dir, plain_port: free_port(), tls_port: free_port(), lmtp_port: free_port(), extra: extra.to_string(), child: None };
        d.write_config();
        d.launch();
        d
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("home").join(USER).join("Maildir")
    }

    fn write_config(&self) {
        let p = self.dir.path();
        let (uid, gid, internal, login) = ids();
        let home = p.join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
        std::fs::write(p.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n")).unwrap();
        let users = if internal.is_empty() {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            format!("default_internal_user = {me}\ndefault_login_user = {me}\nservice imap-login {{\n  chroot =\n}}\nservice anvil {{\n  chroot =\n}}\n")
        } else {
            format!("default_internal_user = {internal}\ndefault_login_user = {login}\n")
        };
        let certs = certs();
        let conf = format!(
            r#"base_dir = {p}/run
state_dir = {p}/state
instance_name = baosong-{port}
log_path = {p}/dovecot.log
info_log_path = {p}/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
postmaster_address = postmaster@example.test
ssl = yes
ssl_cert = <{certs}/cert.pem
ssl_key = <{certs}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_max_userip_connections = 100
first_valid_uid = {uid}
{users}
passdb {{
  driver = passwd-file
  args = {p}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={p}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Junk {{
    special_use = \Junk
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {plain}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
{extra}
"#,
            p = p.display(),
            port = self.plain_port,
            certs = certs.dir.display(),
            plain = self.plain_port,
            tls = self.tls_port,
            lmtp = self.lmtp_port,
            extra = self.extra,
        );
        std::fs::write(p.join("dovecot.conf"), conf).unwrap();
    }

    fn launch(&mut self) {
        use std::os::unix::process::CommandExt;
        let child = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(self.dir.path().join("dovecot.conf"))
            // A group of its own, so that stopping it kills every Dovecot process at once.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot must be installed (tests/install-deps.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.plain_port)) {
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("* OK") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "dovecot did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGKILL to the whole group: the master, and the login, auth and imap
            // processes that would otherwise hold the login socket for seconds (and
            // make a restart fail with "Socket already exists").
            // SAFETY: signalling the process group of our own child.
            unsafe {
                libc::kill(-(c.id() as i32), libc::SIGKILL);
            }
            let _ = c.wait();
            let deadline = Instant::now() + Duration::from_secs(5);
            while TcpStream::connect(("127.0.0.1", self.plain_port)).is_ok() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Forgets every UID: the same mail comes back under a new UIDVALIDITY with the same UIDs 1, 2, …
    pub fn reset_uidvalidity(&mut self) {
        self.stop();
        remove_index_files(&self.maildir());
        std::thread::sleep(Duration::from_millis(1100)); // UIDVALIDITY is a timestamp
        self.launch();
    }

    pub fn client(&self) -> Client {
        Client::login(self.plain_port)
    }
}

fn remove_index_files(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && name.starts_with('.') {
            remove_index_files(&p);
        } else if name == "dovecot-uidlist" || name.starts_with("dovecot.index") || name.starts_with("dovecot-uidvalidity") {
            let _ = std::fs::remove_file(&p);
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A minimal synchronous IMAP client for putting mail into the test server.
pub struct Client {
    stream: BufReader<TcpStream>,
    tag: u32,
}

impl Client {
    pub fn login(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut c = Client { stream: BufReader::new(s), tag: 0 };
        let mut greeting = String::new();
        c.stream.read_line(&mut greeting).unwrap();
        c.command(&format!("LOGIN \"{USER}\" \"{PASSWORD}\""));
        c
    }

    /// Sends a command and returns the lines up to and including its tagged reply, which must be OK.
    pub fn command(&mut self, cmd: &str) -> Vec<String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.stream.get_mut().write_all(format!("{tag} {cmd}\r\n").as_bytes()).unwrap();
        self.read_until(&tag)
    }

    fn read_until(&mut self, tag: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(self.stream.read_line(&mut line).unwrap() > 0, "server closed: {lines:?}");
            let done = line.starts_with(&format!("{tag} "));
            lines.push(line.clone());
            if done {
                assert!(line.starts_with(&format!("{tag} OK")), "{lines:?}");
                return lines;
            }
        }
    }

    /// APPENDs with an INTERNALDATE such as "19-Mar-2024 10:00:00 +0800".
    pub fn append(&mut self, folder: &str, internal_date: &str, raw: &[u8]) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let head = format!("{tag} APPEND \"{folder}\" \"{internal_date}\" {{{}+}}\r\n", raw.len());
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(raw).unwrap();
        s.write_all(b"\r\n").unwrap();
        self.read_until(&tag);
    }

    pub fn create(&mut self, folder: &str) {
        self.command(&format!("CREATE \"{folder}\""));
    }

    /// The number of messages in a folder.
    pub fn count(&mut self, folder: &str) -> usize {
        let lines = self.command(&format!("STATUS \"{folder}\" (MESSAGES)"));
        let line = lines.iter().find(|l| l.contains("MESSAGES")).unwrap();
        line.split("MESSAGES ").nth(1).unwrap().trim_end_matches([')', '\r', '\n']).trim().parse().unwrap()
    }

    /// Every message in a folder, whole, in UID order.
    pub fn messages(&mut self, folder: &str) -> Vec<Vec<u8>> {
        self.command(&format!("EXAMINE \"{folder}\""));
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        self.stream.get_mut().write_all(format!("{tag} UID FETCH 1:* (BODY.PEEK[])\r\n").as_bytes()).unwrap();
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            assert!(self.stream.read_until(b'\n', &mut line).unwrap() > 0);
            let text = String::from_utf8_lossy(&line).to_string();
            if text.starts_with(&format!("{tag} ")) {
                assert!(text.starts_with(&format!("{tag} OK")) || text.contains("No messages") || out.is_empty(), "{text}");
                return out;
            }
            if let Some(n) = text.trim_end().strip_suffix('}').and_then(|t| t.rsplit_once('{')).and_then(|(_, n)| n.parse::<usize>().ok()) {
                let mut body = vec![0u8; n];
                self.stream.read_exact(&mut body).unwrap();
                out.push(body);
            }
        }
    }

    /// Flags of every message in a folder, by UID order.
    pub fn flags(&mut self, folder: &str) -> Vec<String> {
        self.command(&format!("EXAMINE \"{folder}\""));
        self.command("UID FETCH 1:* (FLAGS)").into_iter().filter(|l| l.starts_with("* ")).collect()
    }
}

/// A TCP proxy in front of a server: records what the client sends, and can cut
/// every open connection at once (`cut`), or leave the client hanging (`cut_silently`).
pub struct Proxy {
    pub port: u16,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// (client, server) of every connection.
    conns: std::sync::Arc<std::sync::Mutex<Vec<(TcpStream, TcpStream)>>>,
    /// Set by `cut_silently`: nothing passes any more, and clients are never closed.
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Connections held open and silent after `cut_silently`.
    held: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Proxy {
        use std::sync::atomic::Ordering::SeqCst;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let p = Proxy { port, log: Default::default(), conns: Default::default(), silent: Default::default(), held: Default::default() };
        let (l2, c2, silent, held) = (p.log.clone(), p.conns.clone(), p.silent.clone(), p.held.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if silent.load(SeqCst) {
                    held.lock().unwrap().push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                c2.lock().unwrap().push((client.try_clone().unwrap(), server.try_clone().unwrap()));
                let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                let (log, silent_in, silent_out) = (l2.clone(), silent.clone(), silent.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 || silent_in.load(SeqCst) || s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = s_read.read(&mut buf) {
                        if n == 0 || silent_out.load(SeqCst) || c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    if !silent_out.load(SeqCst) {
                        let _ = c_write.shutdown(std::net::Shutdown::Both);
                    }
                });
            }
        });
        p
    }

    /// Cuts every connection open now, as a broken network would.
    pub fn cut(&self) {
        for (c, s) in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// From now on nothing passes either way: the server sees every connection closed
    /// (and ends its sessions), while the clients' sockets stay open and silent, new
    /// ones included, as for a client whose network went away.
    pub fn cut_silently(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
        for (c, s) in self.conns.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
            self.held.lock().unwrap().push(c);
        }
    }

    /// The command lines the client sent (literals excluded as far as lines go).
    pub fn commands(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.log.lock().unwrap()).lines().map(str::to_string).collect()
    }
}

/// A real SMTP server (aiosmtpd, tests/smtp_relay.py) with implicit TLS and AUTH,
/// relaying every accepted message over LMTP into the Dovecot user's INBOX.
pub struct Relay {
    pub port: u16,
    child: Option<Child>,
    lmtp_port: u16,
}

pub const SMTP_USER: &str = "office@example.test";
pub const SMTP_PASSWORD: &str = "smtpshouquanma16";

impl Relay {
    pub fn start(d: &Dovecot) -> Relay {
        let mut r = Relay { port: free_port(), child: None, lmtp_port: d.lmtp_port };
        r.launch();
        r
    }

    fn launch(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_relay.py");
        let certs = certs();
        let mut child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .arg(certs.dir.join("cert.pem"))
            .arg(certs.dir.join("key.pem"))
            .arg(self.lmtp_port.to_string())
            .arg(USER)
            .arg(SMTP_USER)
            .arg(SMTP_PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd must be installed (tests/install-deps.sh)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "smtp_relay.py did not start");
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}
