//! The IMAP source: one persistent session to the office mailbox (QQ Mail in
//! production, Dovecot in tests), read-only with BODY.PEEK, never EXPUNGE.
//! Provider quirks are written down where they are handled.

pub mod backoff;
pub mod fetch;
pub mod folders;
pub mod idle;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::imap::{ImapConfig, Tls};

pub type Session = async_imap::Session<Conn>;

/// TCP with a large read buffer: rustls asks for a few KiB at a time, and every read
/// that reaches the socket wakes the runtime. Buffering cut a 200-message pass from
/// about 52,000 reads to a few thousand.
type Tcp = tokio::io::BufReader<TcpStream>;
const READ_BUFFER: usize = 256 * 1024;

/// The transport under the IMAP client: plain TCP (tests only) or TLS.
pub enum Conn {
    Plain(Tcp),
    Tls(Box<TlsStream<Tcp>>),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Plain(_) => "Conn::Plain",
            Conn::Tls(_) => "Conn::Tls",
        })
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What went wrong with the mailbox. Everything here is retried; `Auth` waits long.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("无法连接邮箱服务器 {0}：{1}")]
    Connect(String, String),
    #[error("TLS 加密连接失败：{0}")]
    Tls(String),
    #[error("邮箱登录被拒绝：{0}")]
    Auth(String),
    #[error("邮箱服务器 {0} 秒内没有响应")]
    Timeout(u64),
    #[error("邮箱通信出错：{0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("{0:#}")]
    Local(#[from] anyhow::Error),
}

impl ImapError {
    pub fn is_auth(&self) -> bool {
        matches!(self, ImapError::Auth(_))
    }

    /// What a person should check, in Chinese.
    pub fn advice(&self) -> &'static str {
        match self {
            ImapError::Connect(..) => "请检查网络、[imap] 中的 host 和 port（QQ 邮箱为 imap.qq.com:993）",
            ImapError::Tls(_) => "请检查 tls 设置（993 端口用 \"tls\"，143 端口用 \"starttls\"）；自建服务器的证书可用 ca_file 指定",
            ImapError::Auth(_) => {
                "请检查：① user 是完整邮箱地址；② 密码是授权码而不是 QQ 密码（QQ 邮箱网页版 设置 → 账号与安全 → 生成授权码）；③ 已开启 IMAP/SMTP 服务。为免账号被锁，30 分钟后再试"
            }
            ImapError::Timeout(_) | ImapError::Protocol(_) => "网络不稳定或服务器繁忙，稍后自动重连",
            ImapError::Local(_) => "本机数据目录或数据库出错，请检查磁盘空间和权限",
        }
    }
}

/// Runs one IMAP operation with a deadline, so a dead connection cannot hang the daemon.
pub async fn timed<T, F>(limit: Duration, f: F) -> Result<T, ImapError>
where
    F: Future<Output = Result<T, async_imap::error::Error>>,
{
    match tokio::time::timeout(limit, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ImapError::Timeout(limit.as_secs())),
    }
}

fn tls_config(cfg: &ImapConfig) -> Result<Arc<rustls::ClientConfig>, ImapError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(ca) = &cfg.ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
            .and_then(|it| it.collect())
            .map_err(|e| ImapError::Tls(format!("无法读取 ca_file {}：{e}", ca.display())))?;
        for c in certs {
            roots.add(c).map_err(|e| ImapError::Tls(format!("ca_file 中的证书无效：{e}")))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn wrap_tls(cfg: &ImapConfig, tcp: Tcp) -> Result<Conn, ImapError> {
    let name = ServerName::try_from(cfg.host.clone()).map_err(|e| ImapError::Tls(format!("服务器名 {} 无效：{e}", cfg.host)))?;
    let connector = tokio_rustls::TlsConnector::from(tls_config(cfg)?);
    let tls = tokio::time::timeout(cfg.timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| ImapError::Timeout(cfg.timeout.as_secs()))?
        .map_err(|e| ImapError::Tls(e.to_string()))?;
    Ok(Conn::Tls(Box::new(tls)))
}

/// Connects and reads the greeting, upgrading with STARTTLS when configured.
pub async fn connect(cfg: &ImapConfig) -> Result<async_imap::Client<Conn>, ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let tcp = tokio::time::timeout(cfg.timeout, TcpStream::connect(&addr))
        .await
        .map_err(|_| ImapError::Connect(addr.clone(), "连接超时".into()))?
        .map_err(|e| ImapError::Connect(addr.clone(), e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let tcp = tokio::io::BufReader::with_capacity(READ_BUFFER, tcp);
    let conn = match cfg.tls {
        Tls::Implicit => wrap_tls(cfg, tcp).await?,
        Tls::Plain | Tls::StartTls => Conn::Plain(tcp),
    };
    let mut client = async_imap::Client::new(conn);
    let greeting = tokio::time::timeout(cfg.timeout, client.read_response())
        .await
        .map_err(|_| ImapError::Timeout(cfg.timeout.as_secs()))?
        .map_err(|e| ImapError::Connect(addr.clone(), e.to_string()))?;
    if greeting.is_none() {
        return Err(ImapError::Connect(addr, "服务器没有问候就关闭了连接".into()));
    }
    if cfg.tls == Tls::StartTls {
        timed(cfg.timeout, client.run_command_and_check_ok("STARTTLS", None)).await?;
        let Conn::Plain(tcp) = client.into_inner() else { unreachable!("STARTTLS starts on plain TCP") };
        client = async_imap::Client::new(wrap_tls(cfg, tcp).await?);
    }
    Ok(client)
}

/// Logs in and identifies itself. Returns the session and the capabilities.
pub async fn login(cfg: &ImapConfig, password: &str) -> Result<(Session, Vec<String>), ImapError> {
    let client = connect(cfg).await?;
    let mut session = match tokio::time::timeout(cfg.timeout, client.login(&cfg.user, password)).await {
        Err(_) => return Err(ImapError::Timeout(cfg.timeout.as_secs())),
        Ok(Ok(s)) => s,
        Ok(Err((async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m), _))) => return Err(ImapError::Auth(m)),
        Ok(Err((e, _))) => return Err(e.into()),
    };
    let caps = timed(cfg.timeout, session.capabilities()).await?;
    let mut caps: Vec<String> = caps.iter().map(cap_name).collect();
    caps.sort();
    // 163 refuses SELECT without RFC 2971 ID ("NO SELECT Unsafe Login"); a server
    // that does not list ID can be desynchronised by it, so only then.
    if caps.iter().any(|c| c.eq_ignore_ascii_case("ID")) {
        timed(cfg.timeout, session.id([("name", Some("baosong")), ("version", Some(env!("CARGO_PKG_VERSION")))])).await?;
    }
    Ok((session, caps))
}

fn cap_name(c: &async_imap::types::Capability) -> String {
    use async_imap::types::Capability;
    match c {
        Capability::Imap4rev1 => "IMAP4rev1".into(),
        Capability::Auth(a) => format!("AUTH={a}"),
        Capability::Atom(a) => a.clone(),
    }
}

pub fn has_cap(caps: &[String], name: &str) -> bool {
    caps.iter().any(|c| c.eq_ignore_ascii_case(name))
}
