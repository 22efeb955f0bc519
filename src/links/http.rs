//! A small https client for link downloads, on hyper's HTTP/1.1 connection and rustls.
//! Each request opens its own connection to an address `net` checked, so every hop of
//! a redirect is checked again; `http://` links are fetched as https on the same host;
//! response heads are bounded (64 KiB), redirects too (5), and so is every wait.
//! Cookies are kept per download, per site (`cookies`). Requests to one provider are
//! spaced by `[links] pause` (`Pacer`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use url::Url;

use super::Failure;
use super::cookies::Jar;
use super::net;
use crate::config::links::LinksConfig;

/// How long connecting, the TLS handshake and the answer's head may each take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a body may send nothing before the download is given up (and retried).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most a response head may take (status line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;
/// Largest page or JSON answer read before the file itself.
pub const MAX_PAGE: usize = 1 << 20;
/// What baosong says it is: a desktop browser's name, as the providers' pages expect.
const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 baosong/0.1";

/// Spaces the requests to each provider by `pause`.
#[derive(Debug)]
pub struct Pacer {
    pause: Duration,
    next: Mutex<HashMap<String, tokio::time::Instant>>,
}

impl Pacer {
    pub fn new(pause: Duration) -> Pacer {
        Pacer { pause, next: Mutex::new(HashMap::new()) }
    }

    /// Waits until a request to `provider` may go, and books the slot after it.
    pub async fn wait(&self, provider: &str) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let at = next.get(provider).copied().filter(|t| *t > now).unwrap_or(now);
            next.insert(provider.to_string(), at + self.pause);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// One download's client: the configuration, its cookies and the provider's pacing.
pub struct Client {
    config: Arc<LinksConfig>,
    tls: Arc<rustls::ClientConfig>,
    pacer: Arc<Pacer>,
    provider: String,
    pub jar: Jar,
}

/// An answer whose body has not been read yet.
pub struct Response {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    /// The address that answered (after redirects).
    pub url: Url,
    body: Incoming,
}

/// The TLS settings: the public CAs, and `[links] ca_file` (tests) on top.
pub fn tls_config(config: &LinksConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(ca) = &config.ca_file {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(ca).and_then(|it| it.collect()).map_err(|e| format!("无法读取 links.ca_file {}：{e}", ca.display()))?;
        for c in certs {
            roots.add(c).map_err(|e| format!("links.ca_file 中的证书无效：{e}"))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `http://` becomes `https://` on the same host (QQ's old links are http); any other
/// scheme, or a host outside the providers' domains, is refused.
pub fn checked_url(url: &Url, config: &LinksConfig) -> Result<Url, Failure> {
    let mut url = url.clone();
    match url.scheme() {
        "https" => {}
        "http" => {
            if url.port() == Some(80) {
                let _ = url.set_port(None);
            }
            url.set_scheme("https").map_err(|()| Failure::Refused(format!("{url} 无法改为 https")))?;
        }
        other => return Err(Failure::Refused(format!("不支持的网址类型 {other}:"))),
    }
    let host = url.host_str().unwrap_or("");
    if !net::host_allowed(host, &config.allow) {
        return Err(Failure::Refused(format!("{host} 不是 QQ 邮箱或网易邮箱的下载地址（links.allow_domains）")));
    }
    Ok(url)
}

fn transient(what: impl std::fmt::Display) -> Failure {
    Failure::Transient(what.to_string())
}

impl Client {
    pub fn new(config: Arc<LinksConfig>, tls: Arc<rustls::ClientConfig>, pacer: Arc<Pacer>, provider: &str) -> Client {
        Client { config, tls, pacer, provider: provider.to_string(), jar: Jar::default() }
    }

    /// One request, no redirect followed. `headers` are added to the usual ones.
    pub async fn send(&mut self, method: hyper::Method, url: &Url, headers: &[(&str, String)], body: Option<(&str, Vec<u8>)>) -> Result<Response, Failure> {
        let url = checked_url(url, &self.config)?;
        let host = url.host_str().unwrap_or("").to_string();
        let port = url.port().unwrap_or(443);
        let addr = net::resolve(&host, port, &self.config).await.map_err(Failure::Refused)?;
        self.pacer.wait(&self.provider).await;
        let tcp = tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| transient(format!("连接 {host} 超时")))?
            .map_err(|e| transient(format!("无法连接 {host}：{e}")))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.clone()).map_err(|e| Failure::Refused(format!("主机名 {host} 无效：{e}")))?;
        let tls = tokio::time::timeout(STEP_TIMEOUT, tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, tcp))
            .await
            .map_err(|_| transient(format!("与 {host} 建立加密连接超时")))?
            .map_err(|e| transient(format!("与 {host} 建立加密连接失败：{e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_HEAD)
            .handshake::<_, Full<Bytes>>(TokioIo::new(tls))
            .await
            .map_err(|e| transient(format!("与 {host} 的连接失败：{e}")))?;
        // The connection is driven beside the request and ends with its body.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(target)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .header(hyper::header::ACCEPT, "*/*")
            .header(hyper::header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9");
        if let Some(cookie) = self.jar.header_for(&host) {
            req = req.header(hyper::header::COOKIE, cookie);
        }
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let payload = match body {
            Some((content_type, bytes)) => {
                req = req.header(hyper::header::CONTENT_TYPE, content_type);
                Bytes::from(bytes)
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(payload)).map_err(|e| Failure::Refused(format!("请求无效：{e}")))?;
        let resp = tokio::time::timeout(STEP_TIMEOUT, sender.send_request(req))
            .await
            .map_err(|_| transient(format!("{host} 没有答复")))?
            .map_err(|e| transient(format!("{host} 的答复无法读取：{e}")))?;
        for v in resp.headers().get_all(hyper::header::SET_COOKIE) {
            if let Ok(text) = v.to_str() {
                self.jar.set(&host, text);
            }
        }
        let (parts, body) = resp.into_parts();
        Ok(Response { status: parts.status.as_u16(), headers: parts.headers, url, body })
    }

    /// A GET that follows redirects, each hop checked as the first.
    pub async fn get(&mut self, url: &Url, headers: &[(&str, String)]) -> Result<Response, Failure> {
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let resp = self.send(hyper::Method::GET, &url, headers, None).await?;
            match resp.redirect() {
                Some(next) => url = next,
                None => return Ok(resp),
            }
        }
        Err(Failure::Refused(format!("重定向超过 {MAX_REDIRECTS} 次")))
    }
}

impl Response {
    /// Where a redirect points, resolved against this answer's address.
    pub fn redirect(&self) -> Option<Url> {
        if !matches!(self.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = self.headers.get(hyper::header::LOCATION)?.to_str().ok()?;
        self.url.join(location.trim()).ok()
    }

    pub fn header(&self, name: hyper::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next piece of the body, `None` at its end. Waits at most `idle`.
    pub async fn chunk(&mut self, idle: Duration) -> Result<Option<Bytes>, Failure> {
        loop {
            let frame = tokio::time::timeout(idle, self.body.frame())
                .await
                .map_err(|_| transient(format!("服务器 {} 秒没有发送数据", idle.as_secs())))?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(transient(format!("下载中断：{e}"))),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// A page or JSON answer, at most `MAX_PAGE` bytes, decoded as UTF-8 (lossy).
    pub async fn text(mut self) -> Result<String, Failure> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk(STEP_TIMEOUT).await? {
            if out.len() + c.len() > MAX_PAGE {
                return Err(Failure::Unrecognised(format!("页面超过 {} KiB", MAX_PAGE >> 10)));
            }
            out.extend_from_slice(&c);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_links_become_https_and_other_hosts_are_refused() {
        let c = LinksConfig::default();
        let u = checked_url(&Url::parse("http://mail.qq.com/cgi-bin/ftnExs_download?k=1&code=2").unwrap(), &c).unwrap();
        assert_eq!(u.as_str(), "https://mail.qq.com/cgi-bin/ftnExs_download?k=1&code=2");
        assert!(matches!(checked_url(&Url::parse("https://evil.example/x").unwrap(), &c), Err(Failure::Refused(_))));
        assert!(matches!(checked_url(&Url::parse("https://10.0.0.1/x").unwrap(), &c), Err(Failure::Refused(_))));
        assert!(matches!(checked_url(&Url::parse("ftp://mail.qq.com/x").unwrap(), &c), Err(Failure::Refused(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_provider_are_spaced() {
        let pacer = Pacer::new(Duration::from_secs(2));
        let start = tokio::time::Instant::now();
        pacer.wait("qq").await;
        pacer.wait("163").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        pacer.wait("qq").await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        pacer.wait("qq").await;
        assert_eq!(start.elapsed(), Duration::from_secs(4));
    }
}
