//! `[web]`: where the office console listens and the address mail links point to.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWeb {
    listen: Option<String>,
    base_url: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// `127.0.0.1:8080` unless set; `0.0.0.0:8080` serves the office network.
    pub listen: SocketAddr,
    /// The console's address as people reach it (links in mail), without a trailing /.
    pub base_url: String,
    /// Certificate and key (PEM) when the console itself speaks https.
    pub tls: Option<(PathBuf, PathBuf)>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl WebConfig {
    pub(crate) fn from_raw(origin: &str, base: &Path, raw: RawWeb) -> Result<WebConfig, ConfigError> {
        let text = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = text.trim().parse().map_err(|_| {
            ConfigError::new(
                origin,
                "web.listen",
                format!("无法识别的监听地址 \"{text}\""),
                "写成 IP:端口，例如 \"127.0.0.1:8080\"（只本机可访问）或 \"0.0.0.0:8080\"（办公网可访问）",
            )
        })?;
        let tls = match (raw.tls_cert, raw.tls_key) {
            (None, None) => None,
            (Some(c), Some(k)) => Some((base.join(c), base.join(k))),
            (Some(_), None) => return Err(ConfigError::new(origin, "web.tls_key", "写了 tls_cert 却没有 tls_key", "同时写上私钥文件 tls_key = \"key.pem\"，或删去 tls_cert")),
            (None, Some(_)) => return Err(ConfigError::new(origin, "web.tls_cert", "写了 tls_key 却没有 tls_cert", "同时写上证书文件 tls_cert = \"cert.pem\"，或删去 tls_key")),
        };
        // The files themselves are read when the console starts and by check-config
        // (web::tls): a key readable only by the service's account must not stop
        // `baosong user add` run by another.
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = match raw.base_url {
            Some(u) if tls.is_some() && u.starts_with("http://") => {
                return Err(ConfigError::new(
                    origin,
                    "web.base_url",
                    format!("控制台用 tls_cert 直接提供 https，网址 \"{u}\" 却以 http:// 开头，邮件中的链接会打不开"),
                    "改成以 https:// 开头，例如 \"https://baosong.gaj.local:8443\"",
                ));
            }
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.trim_end_matches('/').to_string(),
            Some(u) => {
                return Err(ConfigError::new(origin, "web.base_url", format!("\"{u}\" 不是网址"), "写成以 http:// 或 https:// 开头的地址，例如 \"https://baosong.gaj.local\""));
            }
            None => format!("{scheme}://{listen}"),
        };
        Ok(WebConfig { listen, base_url, tls })
    }
}
