//! A loopback imitation of QQ Mail's and 163's 超大附件 download flows, as
//! src/links/qq.rs and src/links/netease.rs describe them: one https server, with a
//! certificate of the test CA for every provider host, that routes on the Host header
//! and the path, serves the files a test registers (`add_file`), acts out the scenario
//! that a key's name starts with (`scenario`), and records every request it answers.
//! baosong reaches it only through `[links] resolve` and `ca_file` (`config`).
//!
//! The server runs on a thread of its own with its own tokio runtime, and stops when the
//! `Providers` is dropped. Every body that dribbles (`slow`, `endless`, `throttled`)
//! ends when the client goes away or after `BODY_LIMIT`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The hosts a link download may contact, each sent to this server by `config`.
pub const HOSTS: [&str; 6] = ["wx.mail.qq.com", "mail.qq.com", QQ_FILE_HOST, "mail.163.com", "dashi.163.com", NOS];
/// QQ's file host (the `func=4` redirect points there); any `*.ftn.qq.com` is served.
pub const QQ_FILE_HOST: &str = "gzc-dfsdown.mail.ftn.qq.com";
/// NetEase's file host (`downloadUrl` points there).
pub const NOS: &str = "nos.126.net";
/// Where the `offlist` and `private` scenarios redirect to.
pub const EVIL: &str = "https://evil.example/file";
pub const PRIVATE: &str = "https://10.0.0.1/file";
/// No body of the imitation runs longer than this.
const BODY_LIMIT: Duration = Duration::from_secs(60);
/// The `throttled` rate: this many bytes every `THROTTLE_EVERY` (640 KiB/s).
const THROTTLE_PIECE: usize = 64 << 10;
const THROTTLE_EVERY: Duration = Duration::from_millis(100);

/// What a key makes the imitation do, by the key's first letters: `expired…`,
/// `deleted…`, `limit…` (the provider refuses), `html…` (the file host answers a web
/// page as text/html), `htmlbin…` (a web page, chunked, as application/octet-stream),
/// `offlist…` (redirect to evil.example), `private…` (redirect to 10.0.0.1),
/// `endless…` (a chunked body that never ends), `slow…` (1 byte a second),
/// `throttled…` / `big…` (640 KiB/s), `json…` (QQ's page has no `var url`: the
/// address comes from a POST of `f=json`), `htmllen…` (a web page as
/// application/octet-stream with its Content-Length), `slowpage…` (QQ's landing page
/// and NetEase's prepare answer, 1 byte a second). Anything else: the plain flow.
pub fn scenario(key: &str) -> &'static str {
    const ALL: [&str; 14] =
        ["expired", "deleted", "limit", "htmllen", "htmlbin", "html", "offlist", "private", "endless", "slowpage", "slow", "throttled", "big", "json"];
    ALL.into_iter().find(|s| key.starts_with(s)).map_or("normal", |s| if s == "big" { "throttled" } else { s })
}

/// One request the imitation answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub host: String,
    pub method: String,
    /// Path and query.
    pub target: String,
    pub cookie: Option<String>,
    pub range: Option<String>,
    /// The link key the request is about, where it names one.
    pub key: Option<String>,
}

impl Seen {
    /// A request to a file host (QQ's `*.ftn.qq.com`, NetEase's nos.126.net).
    pub fn is_file(&self) -> bool {
        self.host.ends_with(".ftn.qq.com") || self.host == NOS
    }
}

#[derive(Clone)]
struct Served {
    name: String,
    bytes: Bytes,
}

#[derive(Default)]
struct Shared {
    files: Mutex<HashMap<String, Served>>,
    seen: Mutex<Vec<Seen>>,
}

pub struct Providers {
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The QQ link a mail carries for `key` (the landing page, `func=3`).
pub fn qq_link(key: &str) -> String {
    format!("https://wx.mail.qq.com/ftn/download?func=3&key={key}&code={}&k={key}", code(key))
}

/// QQ's old form of the link, over http.
pub fn qq_old_link(key: &str) -> String {
    format!("http://mail.qq.com/cgi-bin/ftnExs_download?t=exs_ftn_download&k={key}&code={}", code(key))
}

/// 163's link for `key`.
pub fn netease_link(key: &str) -> String {
    format!("https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT&file={key}")
}

/// 邮箱大师's link for `key`.
pub fn dashi_link(key: &str) -> String {
    format!("https://dashi.163.com/html/cloud-attachment-download/?key={key}")
}

fn code(key: &str) -> String {
    format!("c{:x}", key.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))))
}

impl Providers {
    pub fn start() -> Providers {
        let tls = server_tls();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let port = tcp.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("providers".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                rt.block_on(async move {
                    let listener = TlsListener { tcp: tokio::net::TcpListener::from_std(tcp).unwrap(), acceptor: tokio_rustls::TlsAcceptor::from(tls) };
                    let app = axum::Router::new().fallback(handle).with_state(state);
                    tokio::select! {
                        r = axum::serve(listener, app).into_future() => r.unwrap(),
                        _ = stopped => {}
                    }
                });
                // Bodies still dribbling are dropped with the runtime.
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .unwrap();
        Providers { port, shared, stop: Some(stop), thread: Some(thread) }
    }

    /// The `[links]` table that sends every provider host to this server.
    pub fn config(&self, timeout: &str) -> String {
        let resolve: Vec<String> = HOSTS.iter().map(|h| format!("\"{h}\" = \"127.0.0.1:{}\"", self.port)).collect();
        format!(
            "[links]\nresolve = {{ {} }}\nca_file = \"{}\"\npause = \"0s\"\ntimeout = \"{timeout}\"\n",
            resolve.join(", "),
            crate::dovecot::certs().dir.join("ca.pem").display()
        )
    }

    /// Serves `bytes` as the file of `key`, named `name`.
    pub fn add_file(&self, key: &str, name: &str, bytes: Vec<u8>) {
        self.shared.files.lock().unwrap().insert(key.to_string(), Served { name: name.to_string(), bytes: Bytes::from(bytes) });
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn requests_to(&self, host: &str) -> Vec<Seen> {
        self.requests().into_iter().filter(|r| r.host == host).collect()
    }

    /// Requests for the file of `key` on a file host.
    pub fn file_requests(&self, key: &str) -> Vec<Seen> {
        self.requests().into_iter().filter(|r| r.is_file() && r.key.as_deref() == Some(key)).collect()
    }

    /// Every request about `key`, on any host.
    pub fn requests_for(&self, key: &str) -> Vec<Seen> {
        self.requests().into_iter().filter(|r| r.key.as_deref() == Some(key)).collect()
    }
}

impl Drop for Providers {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A certificate of the test CA for every provider host, made once per test run in
/// the CA's folder.
fn server_cert() -> &'static (PathBuf, PathBuf) {
    static CERT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    CERT.get_or_init(|| {
        let dir = crate::dovecot::certs().dir.clone();
        let names = [
            "wx.mail.qq.com",
            "iwx.mail.qq.com",
            "mail.qq.com",
            "*.mail.ftn.qq.com",
            "*.ftn.qq.com",
            "mail.163.com",
            "dashi.163.com",
            "*.126.net",
            "*.127.net",
        ];
        let san: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        std::fs::write(
            dir.join("providers-ext.cnf"),
            format!("subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", san.join(",")),
        )
        .unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(&dir).output().expect("openssl must be installed (tests/install-deps.sh)");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(&["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "providers-key.pem", "-out", "providers.csr", "-subj", "/CN=mail.qq.com"]);
        run(&[
            "x509", "-req", "-in", "providers.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "providers-cert.pem", "-days", "30", "-extfile",
            "providers-ext.cnf",
        ]);
        for f in ["providers-key.pem", "providers-cert.pem"] {
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        (dir.join("providers-cert.pem"), dir.join("providers-key.pem"))
    })
}

fn server_tls() -> Arc<rustls::ServerConfig> {
    let (cert, key) = server_cert();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let mut c = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(c)
}

/// Hands axum connections whose TLS handshake finished (each within 10 s).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let Ok((tcp, peer)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = tcp.set_nodelay(true);
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), self.acceptor.accept(tcp)).await {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

fn query(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

/// The link key a request names: `key`/`k` in QQ's query, `linkKey` in NetEase's JSON
/// body, the path's last part on nos.126.net.
fn key_of(host: &str, path: &str, q: &HashMap<String, String>, body: &[u8]) -> Option<String> {
    if host == NOS {
        return path.strip_prefix("/f/").map(str::to_string);
    }
    if host.ends_with("163.com") {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        return v.get("linkKey").and_then(|k| k.as_str()).map(str::to_string);
    }
    q.get("key").or_else(|| q.get("k")).cloned()
}

async fn handle(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").split(':').next().unwrap_or("").to_ascii_lowercase();
    let q = query(&uri);
    let path = uri.path().to_string();
    let key = key_of(&host, &path, &q, &body);
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    s.seen.lock().unwrap().push(Seen {
        host: host.clone(),
        method: method.to_string(),
        target: uri.path_and_query().map_or_else(|| path.clone(), |p| p.to_string()),
        cookie: text(header::COOKIE),
        range: text(header::RANGE),
        key: key.clone(),
    });
    let key = key.unwrap_or_default();
    let file = s.files.lock().unwrap().get(&key).cloned();
    match (host.as_str(), path.as_str()) {
        ("wx.mail.qq.com" | "iwx.mail.qq.com", "/ftn/download") => qq_download(&host, &method, &q, &key, file.as_ref(), &body),
        ("mail.qq.com", "/cgi-bin/ftnExs_download") => {
            let to = format!("https://wx.mail.qq.com/ftn/download?func=3&key={key}&code={}&k={key}", q.get("code").map_or("", String::as_str));
            redirect(&to, false)
        }
        (h, "/file") if h.ends_with(".ftn.qq.com") => {
            if !text(header::COOKIE).is_some_and(|c| c.contains("mail5k=")) {
                // What QQ's file hosts answer without the page's cookie.
                return plain(StatusCode::BAD_REQUEST, "text/plain", "400 Bad Request");
            }
            serve_file(&key, file, &headers, false)
        }
        ("mail.163.com", "/filehub/bg/dl/prepare") if method == Method::POST => netease_prepare(&key, "data"),
        ("dashi.163.com", "/filehub-master/file/dl/prepare2") if method == Method::POST => netease_prepare(&key, "result"),
        (NOS, p) if p.starts_with("/f/") => serve_file(&key, file, &headers, true),
        _ => plain(StatusCode::NOT_FOUND, "text/plain", "not found"),
    }
}

fn plain(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder().status(status).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap()
}

fn mail5k() -> String {
    format!("mail5k={:016x}; Path=/; HttpOnly", fastrand::u64(..))
}

fn redirect(to: &str, cookie: bool) -> Response {
    let mut r = Response::builder().status(StatusCode::FOUND).header(header::LOCATION, to);
    if cookie {
        r = r.header(header::SET_COOKIE, mail5k());
    }
    r.body(Body::empty()).unwrap()
}

/// QQ's `/ftn/download`: `func=3` is the landing page (GET) or its JSON (POST
/// `f=json`), `func=4` redirects to the file host.
fn qq_download(host: &str, method: &Method, q: &HashMap<String, String>, key: &str, file: Option<&Served>, body: &[u8]) -> Response {
    let code = q.get("code").cloned().unwrap_or_default();
    let (name, size) = file.map_or(("未知文件.mp4".to_string(), 0), |f| (f.name.clone(), f.bytes.len()));
    let func4 = format!("https://{host}/ftn/download?func=4&key={key}&code={code}");
    match q.get("func").map(String::as_str) {
        Some("4") => {
            let to = match scenario(key) {
                "offlist" => EVIL.to_string(),
                "private" => PRIVATE.to_string(),
                _ => format!("https://{QQ_FILE_HOST}/file?fname={}&k={key}", url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()),
            };
            redirect(&to, true)
        }
        Some("3") if *method == Method::POST => {
            if !String::from_utf8_lossy(body).contains("f=json") {
                return plain(StatusCode::BAD_REQUEST, "text/plain", "400");
            }
            let answer = match scenario(key) {
                "expired" => serde_json::json!({"head": {"ret": -5002, "msg": "文件已过期"}}),
                _ => serde_json::json!({"head": {"ret": 0}, "body": {"url": func4, "name": name, "size": size}}),
            };
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .header(header::SET_COOKIE, mail5k())
                .body(Body::from(answer.to_string()))
                .unwrap()
        }
        Some("3") => {
            let url_line = format!("var url = \"{}\";", func4.replace('&', "\\x26"));
            let (notice, status, url_line) = match scenario(key) {
                "expired" => ("<div class=\"err\">该文件已过期，无法下载</div>", 0, String::new()),
                "deleted" => ("<div class=\"err\">文件已被发送者删除</div>", 0, String::new()),
                "limit" => ("<div class=\"err\">该文件下载次数已达上限</div>", 1, String::new()),
                "json" => ("", 1, String::new()),
                _ => ("", 1, url_line),
            };
            let page = format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>QQ邮箱 - 超大附件下载</title></head><body>\n{notice}\n\
                 <div class=\"ft_name\">{name}</div>\n<script nonce=\"t3st\">\n  var status = {status};\n  {url_line}\n  var filename = \"{name}\";\n  var filesize = {size};\n</script>\n</body></html>\n"
            );
            let body = if scenario(key) == "slowpage" { paced(Bytes::from(page), 1, Duration::from_secs(1)) } else { Body::from(page) };
            Response::builder().header(header::CONTENT_TYPE, "text/html; charset=utf-8").header(header::SET_COOKIE, mail5k()).body(body).unwrap()
        }
        _ => plain(StatusCode::NOT_FOUND, "text/plain", "not found"),
    }
}

/// NetEase's prepare call (`data` for 163, `result` for 邮箱大师).
fn netease_prepare(key: &str, result_key: &str) -> Response {
    let answer = match scenario(key) {
        "expired" => serde_json::json!({"code": 601, "desc": "EXPIRED"}),
        "deleted" => serde_json::json!({"code": 404, "desc": "NOT_FOUND"}),
        "limit" => serde_json::json!({"code": 602, "desc": "DOWNLOAD_LIMIT"}),
        s => {
            let url = match s {
                "offlist" => EVIL.to_string(),
                "private" => PRIVATE.to_string(),
                _ => format!("https://{NOS}/f/{key}"),
            };
            let mut v = serde_json::json!({"code": 200});
            v[result_key] = serde_json::json!({"downloadUrl": url, "token": "t"});
            v
        }
    };
    let body = if scenario(key) == "slowpage" { paced(Bytes::from(answer.to_string()), 1, Duration::from_secs(1)) } else { Body::from(answer.to_string()) };
    plain(StatusCode::OK, "application/json;charset=UTF-8", body)
}

const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>下载</title></head><body>请登录后下载此文件。</body></html>\n";

/// A file host's answer for `key`, after its scenario; `Range: bytes=N-` is answered 206.
fn serve_file(key: &str, file: Option<Served>, headers: &HeaderMap, disposition: bool) -> Response {
    let scenario = scenario(key);
    match scenario {
        "html" => return plain(StatusCode::OK, "text/html; charset=utf-8", HTML_PAGE),
        // Chunked, as a dynamic error page is: no length to check before the bytes.
        "htmlbin" => return plain(StatusCode::OK, "application/octet-stream", paced(Bytes::from_static(HTML_PAGE.as_bytes()), 64, Duration::ZERO)),
        // With its length, which is not the caption's.
        "htmllen" => return plain(StatusCode::OK, "application/octet-stream", HTML_PAGE),
        _ => {}
    }
    let Some(file) = file else { return plain(StatusCode::NOT_FOUND, "text/plain", "no such file") };
    let total = file.bytes.len();
    let mut r = Response::builder().header(header::CONTENT_TYPE, "application/octet-stream").header(header::ACCEPT_RANGES, "bytes");
    if disposition {
        // NetEase writes the name as raw UTF-8.
        r = r.header(header::CONTENT_DISPOSITION, HeaderValue::from_bytes(format!("attachment; filename=\"{}\"", file.name).as_bytes()).unwrap());
    }
    if scenario == "endless" {
        // Chunked, a few bytes every half second, never the end.
        return r.body(endless(file.bytes)).unwrap();
    }
    let start = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok());
    let (status, from) = match start {
        Some(n) if n >= total => {
            return Response::builder().status(StatusCode::RANGE_NOT_SATISFIABLE).header(header::CONTENT_RANGE, format!("bytes */{total}")).body(Body::empty()).unwrap();
        }
        Some(n) => {
            r = r.header(header::CONTENT_RANGE, format!("bytes {n}-{}/{total}", total - 1));
            (StatusCode::PARTIAL_CONTENT, n)
        }
        None => (StatusCode::OK, 0),
    };
    let rest = file.bytes.slice(from..);
    r = r.status(status).header(header::CONTENT_LENGTH, rest.len());
    let body = match scenario {
        "slow" => paced(rest, 1, Duration::from_secs(1)),
        "throttled" => paced(rest, THROTTLE_PIECE, THROTTLE_EVERY),
        _ => Body::from(rest),
    };
    r.body(body).unwrap()
}

/// `data` in pieces of `piece` bytes, one every `every`, for at most `BODY_LIMIT`.
fn paced(data: Bytes, piece: usize, every: Duration) -> Body {
    let deadline = tokio::time::Instant::now() + BODY_LIMIT;
    let stream = futures::stream::unfold((data, true), move |(rest, first)| async move {
        if rest.is_empty() || tokio::time::Instant::now() >= deadline {
            return None;
        }
        if !first && !every.is_zero() {
            tokio::time::sleep(every).await;
        }
        let n = piece.min(rest.len());
        Some((Ok::<_, Infallible>(rest.slice(..n)), (rest.slice(n..), false)))
    });
    Body::from_stream(stream)
}

/// 16 bytes of `data` (going round) every half second until `BODY_LIMIT`.
fn endless(data: Bytes) -> Body {
    let deadline = tokio::time::Instant::now() + BODY_LIMIT;
    let len = data.len().max(1);
    let stream = futures::stream::unfold(0usize, move |i| {
        let data = data.clone();
        async move {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            let piece: Vec<u8> = (0..16).map(|j| data.get((i * 16 + j) % len).copied().unwrap_or(0)).collect();
            Some((Ok::<_, Infallible>(Bytes::from(piece)), i + 1))
        }
    });
    Body::from_stream(stream)
}

/// The imitation against baosong's own client, below the binary: each flow ends in
/// the file or the failure it stands for.
#[test]
fn the_imitation_plays_each_flow_to_the_real_client() {
    use baosong::config::links::LinksConfig;
    use baosong::links::Failure;
    use baosong::links::download::{Job, fetch};
    use baosong::links::http::{Client, Pacer, tls_config};

    let p = Providers::start();
    let file = crate::fixtures::mp4(41);
    for key in ["qq1", "json1", "ne1", "ds1", "htmlbin1", "offlist1", "slow1"] {
        p.add_file(key, &format!("{key}.mp4"), file.clone());
    }
    let config = LinksConfig {
        resolve: HOSTS.iter().map(|h| (h.to_string(), SocketAddr::from(([127, 0, 0, 1], p.port)))).collect(),
        ca_file: Some(crate::dovecot::certs().dir.join("ca.pem")),
        pause: Duration::ZERO,
        timeout: Duration::from_secs(3),
        ..LinksConfig::default()
    };
    let tls = tls_config(&config).unwrap();
    let pacer = Arc::new(Pacer::new(Duration::ZERO));
    let config = Arc::new(config);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut id = 0;
    let mut get = |url: &str, provider: &str| {
        id += 1;
        let mut client = Client::new(config.clone(), tls.clone(), pacer.clone(), provider);
        let job = Job { id, url, provider, caption_name: "caption.mp4", caption_size: 0 };
        rt.block_on(fetch(&mut client, &job, dir.path(), &config, &|_, _| {}))
    };
    for (url, provider, name) in [
        (qq_link("qq1"), "qq", "qq1.mp4"),
        (qq_link("json1"), "qq", "json1.mp4"),
        (qq_old_link("qq1"), "qq", "qq1.mp4"),
        (netease_link("ne1"), "163", "ne1.mp4"),
        (dashi_link("ds1"), "163", "ds1.mp4"),
    ] {
        let f = get(&url, provider).unwrap_or_else(|e| panic!("{url}: {e:?}"));
        assert_eq!((f.size, f.name.as_str()), (file.len() as u64, name), "{url}");
        assert_eq!(std::fs::read(&f.path).unwrap(), file);
    }
    assert_eq!(get(&qq_link("expired1"), "qq").unwrap_err(), Failure::Expired);
    assert_eq!(get(&qq_link("deleted1"), "qq").unwrap_err(), Failure::Deleted);
    assert_eq!(get(&qq_link("limit1"), "qq").unwrap_err(), Failure::LimitReached);
    assert_eq!(get(&netease_link("expired2"), "163").unwrap_err(), Failure::Expired);
    assert_eq!(get(&netease_link("deleted2"), "163").unwrap_err(), Failure::Deleted);
    assert_eq!(get(&netease_link("limit2"), "163").unwrap_err(), Failure::LimitReached);
    assert_eq!(get(&qq_link("htmlbin1"), "qq").unwrap_err(), Failure::NotMedia);
    assert!(matches!(get(&qq_link("offlist1"), "qq"), Err(Failure::Refused(_))));
    assert!(matches!(get(&qq_link("slow1"), "qq"), Err(Failure::Transient(_))));
    // Without the page's cookie QQ's file host says 400.
    let mut client = Client::new(config.clone(), tls.clone(), pacer.clone(), "qq");
    let bare = url::Url::parse(&format!("https://{QQ_FILE_HOST}/file?fname=qq1.mp4&k=qq1")).unwrap();
    assert_eq!(rt.block_on(client.get(&bare, &[])).unwrap().status, 400);
    let files = p.file_requests("qq1");
    assert!(files[..2].iter().all(|r| r.cookie.as_deref().is_some_and(|c| c.starts_with("mail5k="))), "{files:#?}");
    assert!(p.requests().iter().filter(|r| r.host.ends_with("163.com") || r.host == NOS).all(|r| r.cookie.is_none()));
}
