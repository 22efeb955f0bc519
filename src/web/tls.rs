//! The console's own https (`[web] tls_cert` / `tls_key`): the PEM certificate chain
//! and key loaded into a rustls config (ring), and a listener that hands axum finished
//! TLS connections, so https is served by the same `axum::serve` as http: the same
//! router, the peer's address for the login rate limit, the same graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::web::WebConfig;
use crate::config::{ConfigError, io_reason, located};

/// A browser that has not finished its handshake by then is dropped.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Handshakes under way at once; past this, new connections wait to be accepted.
const HANDSHAKES: usize = 128;

/// The https configuration when `tls_cert` and `tls_key` are set: both files read and
/// checked now, each fault a configuration error naming the key, the file and the fix.
pub fn server_config(origin: &str, web: &WebConfig) -> Result<Option<Arc<ServerConfig>>, ConfigError> {
    let Some((cert, key)) = &web.tls else { return Ok(None) };
    load(origin, cert, key).map(Some).map_err(located)
}

fn load(origin: &str, cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>, ConfigError> {
    let (cert_file, key_file) = (cert_path.display(), key_path.display());
    let read = |key: &str, path: &Path, what: &str| {
        std::fs::read(path).map_err(|e| {
            ConfigError::new(
                origin,
                key,
                format!("无法读取{what}文件 {}：{}", path.display(), io_reason(&e)),
                "检查文件名和权限（运行 baosong 的系统用户要能读取）；相对路径从主配置文件所在的目录算起，也可写绝对路径",
            )
        })
    };
    let cert_pem = read("web.tls_cert", cert_path, "证书")?;
    let key_pem = read("web.tls_key", key_path, "私钥")?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<_, _>>().unwrap_or_default();
    if chain.is_empty() {
        let swapped = contains(&cert_pem, "PRIVATE KEY");
        return Err(ConfigError::new(
            origin,
            "web.tls_cert",
            format!("{cert_file} 中没有 PEM 格式的证书（-----BEGIN CERTIFICATE-----）{}", if swapped { "，这个文件是私钥" } else { "" }),
            if swapped {
                "tls_cert 和 tls_key 可能写反了：tls_cert 写证书文件，tls_key 写私钥文件".to_string()
            } else {
                "tls_cert 写 PEM 格式的证书链（本机证书在前，中间证书在后）；.cer/.der 格式可用 openssl x509 -inform der -in 证书.cer -out cert.pem 转换".to_string()
            },
        ));
    }
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(_) => {
            let (problem, fix) = if contains(&key_pem, "ENCRYPTED PRIVATE KEY") {
                ("私钥有密码保护，控制台无法在启动时输入密码", "导出不带密码的私钥：openssl pkey -in 原私钥.pem -out key.pem，并用 chmod 600 保护它")
            } else if contains(&key_pem, "CERTIFICATE") {
                ("这个文件是证书，不是私钥", "tls_key 写私钥文件（-----BEGIN PRIVATE KEY-----）；tls_cert 和 tls_key 可能写反了")
            } else {
                ("没有 PEM 格式的私钥（-----BEGIN PRIVATE KEY-----、RSA PRIVATE KEY 或 EC PRIVATE KEY）", "tls_key 写与证书配对的 PEM 格式私钥文件")
            };
            return Err(ConfigError::new(origin, "web.tls_key", format!("{key_file} 中{problem}"), fix));
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => ConfigError::new(
                origin,
                "web.tls_key",
                format!("私钥 {key_file} 与证书 {cert_file} 不配对"),
                "tls_key 写签发这张证书时生成的私钥；可用 openssl x509 -noout -pubkey -in 证书 与 openssl pkey -pubout -in 私钥 比较两者的公钥",
            ),
            e => ConfigError::new(
                origin,
                "web.tls_cert",
                format!("证书 {cert_file} 或私钥 {key_file} 无法使用：{e}"),
                "使用 RSA（2048 位以上）、ECDSA P-256/P-384 或 Ed25519 的证书和私钥，均为 PEM 格式",
            ),
        });
    let mut config = config?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn contains(pem: &[u8], label: &str) -> bool {
    pem.windows(label.len()).any(|w| w == label.as_bytes())
}

/// Accepts TCP connections and hands axum those whose TLS handshake finished. The
/// handshakes run in their own tasks (at most `HANDSHAKES`, each within `HANDSHAKE`),
/// so one slow browser never holds up the next; dropping the listener (axum does at
/// shutdown) stops accepting.
pub struct Listener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl Listener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Listener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(16);
        let accepting = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(Listener { ready, local, accepting })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for Listener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task ended (it only does when the listener is dropped).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(tcp: TcpListener, acceptor: TlsAcceptor, tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let handshakes = Arc::new(Semaphore::new(HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else { return };
        let (stream, peer) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                // As axum's own listener: a connection reset before it was accepted is
                // nothing; anything else (out of file descriptors) waits a second.
                use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
                if !matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
                    tracing::error!(error = %e, "控制台无法接受连接");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        // Without TCP_NODELAY each response waits ~40 ms for the delayed ACK.
        let _ = stream.set_nodelay(true);
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                // A browser that does not trust the certificate yet, or plain http on
                // the https port: the browser says so to its user.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "控制台 TLS 握手失败"),
                Err(_) => tracing::debug!(%peer, "控制台 TLS 握手超时"),
            }
        });
    }
}
