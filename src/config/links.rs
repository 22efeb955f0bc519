//! `[links]`: downloading 超大附件 links — whether, how large, how long, and which hosts
//! may be contacted. `resolve` and `ca_file` exist for tests against a loopback
//! imitation of the providers, and are refused for anything but loopback addresses.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::imap::parse_duration;

/// The providers' domains, each with its subdomains: QQ's download pages and file
/// hosts, and NetEase's (163 pages; files on 126.net / 127.net hosts).
pub const DEFAULT_ALLOW: [&str; 5] = ["mail.qq.com", "ftn.qq.com", "163.com", "126.net", "127.net"];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLinks {
    fetch: Option<bool>,
    max_size: Option<String>,
    timeout: Option<String>,
    pause: Option<String>,
    allow_domains: Option<Vec<String>>,
    resolve: Option<BTreeMap<String, String>>,
    ca_file: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LinksConfig {
    /// Download links automatically (`run`, `links fetch`).
    pub fetch: bool,
    /// The largest file taken in, downloaded or uploaded.
    pub max_size: u64,
    /// How long one download (or one upload) may take in all.
    pub timeout: Duration,
    /// The least time between two requests to the same provider.
    pub pause: Duration,
    /// Hosts that may be contacted: these domains and their subdomains.
    pub allow: Vec<String>,
    /// Tests only: host → loopback address to connect to instead of resolving it.
    pub resolve: BTreeMap<String, SocketAddr>,
    /// Tests only: one more CA to trust (PEM).
    pub ca_file: Option<PathBuf>,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            fetch: true,
            max_size: 4 << 30,
            timeout: Duration::from_secs(2 * 3600),
            pause: Duration::from_secs(2),
            allow: DEFAULT_ALLOW.iter().map(|s| s.to_string()).collect(),
            resolve: BTreeMap::new(),
            ca_file: None,
        }
    }
}

impl LinksConfig {
    pub(crate) fn from_raw(origin: &str, base: &Path, raw: RawLinks) -> Result<LinksConfig, ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError::new(origin, &format!("links.{key}"), problem, fix);
        let d = LinksConfig::default();
        let max_size = match raw.max_size {
            None => d.max_size,
            Some(t) => super::parse_size(&t).filter(|&n| n > 0).ok_or_else(|| err("max_size", format!("无法识别的大小 \"{t}\""), "写成带单位的大小，例如 \"4GiB\""))?,
        };
        let duration = |key: &str, v: Option<String>, default: Duration, zero_ok: bool| -> Result<Duration, ConfigError> {
            match v {
                None => Ok(default),
                Some(t) => parse_duration(&t)
                    .filter(|x| zero_ok || !x.is_zero())
                    .ok_or_else(|| err(key, format!("无法识别的时长 \"{t}\""), "写成 \"2h\"、\"30m\"、\"90s\" 这样的时长")),
            }
        };
        let timeout = duration("timeout", raw.timeout, d.timeout, false)?;
        let pause = duration("pause", raw.pause, d.pause, true)?;
        let mut allow = d.allow;
        for (i, extra) in raw.allow_domains.unwrap_or_default().into_iter().enumerate() {
            let domain = extra.trim().trim_start_matches("*.").trim_matches('.').to_ascii_lowercase();
            let valid = domain.contains('.') && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            if !valid {
                return Err(ConfigError::new(
                    origin,
                    &format!("links.allow_domains[{i}]"),
                    format!("\"{extra}\" 不是域名"),
                    "写成域名，例如 \"ftn.qq.com\"（其子域名也都允许）",
                ));
            }
            if !allow.contains(&domain) {
                allow.push(domain);
            }
        }
        let mut resolve = BTreeMap::new();
        for (host, addr) in raw.resolve.unwrap_or_default() {
            let parsed: SocketAddr = addr.trim().parse().map_err(|_| {
                err("resolve", format!("\"{host}\" 的地址 \"{addr}\" 无法识别"), "写成 IP:端口，例如 \"127.0.0.1:8443\"；此项只用于测试")
            })?;
            if !parsed.ip().is_loopback() {
                return Err(err(
                    "resolve",
                    format!("\"{host}\" 指向 {parsed}，不是本机回环地址"),
                    "resolve 只用于测试，只能指向 127.0.0.1 或 ::1；正式运行时删去此项",
                ));
            }
            resolve.insert(host.trim().to_ascii_lowercase(), parsed);
        }
        let ca_file = raw.ca_file.map(|f| base.join(f));
        if ca_file.is_some() && resolve.is_empty() {
            return Err(err("ca_file", "写了 ca_file 却没有 resolve".into(), "ca_file 只用于测试（与 resolve 一起指向本机的模拟服务器）；正式运行时删去此项"));
        }
        Ok(LinksConfig { fetch: raw.fetch.unwrap_or(d.fetch), max_size, timeout, pause, allow, resolve, ca_file })
    }

    /// The test settings are on: `check-config` and `run` warn while they are.
    pub fn test_overrides(&self) -> Option<String> {
        if self.resolve.is_empty() {
            return None;
        }
        let hosts: Vec<String> = self.resolve.iter().map(|(h, a)| format!("{h} → {a}")).collect();
        Some(format!("警告：[links] resolve 已设置（{}），超大附件会从本机的模拟服务器下载；这只用于测试，正式运行时请删去 resolve 和 ca_file", hosts.join("，")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LinksConfig, ConfigError> {
        let raw: RawLinks = toml::from_str(text).unwrap();
        LinksConfig::from_raw("baosong.toml", Path::new("/etc/baosong"), raw)
    }

    #[test]
    fn defaults() {
        let c = parse("").unwrap();
        assert!(c.fetch);
        assert_eq!(c.max_size, 4 << 30);
        assert_eq!(c.timeout, Duration::from_secs(7200));
        assert_eq!(c.allow, DEFAULT_ALLOW);
        assert!(c.test_overrides().is_none());
    }

    #[test]
    fn resolve_only_to_loopback() {
        let c = parse("resolve = { \"wx.mail.qq.com\" = \"127.0.0.1:8443\" }\nca_file = \"ca.pem\"").unwrap();
        assert_eq!(c.resolve["wx.mail.qq.com"], "127.0.0.1:8443".parse().unwrap());
        assert_eq!(c.ca_file.as_deref(), Some(Path::new("/etc/baosong/ca.pem")));
        assert!(c.test_overrides().unwrap().contains("wx.mail.qq.com"));
        let e = parse("resolve = { \"wx.mail.qq.com\" = \"10.0.0.1:443\" }").unwrap_err();
        assert_eq!(e.key, "links.resolve");
        assert!(e.problem.contains("不是本机回环地址"), "{}", e.problem);
        assert_eq!(parse("ca_file = \"ca.pem\"").unwrap_err().key, "links.ca_file");
    }

    #[test]
    fn extra_domains_and_bad_values() {
        let c = parse("allow_domains = [\"*.ftn.example.cn\"]").unwrap();
        assert!(c.allow.contains(&"ftn.example.cn".to_string()));
        assert_eq!(parse("allow_domains = [\"http://x\"]").unwrap_err().key, "links.allow_domains[0]");
        assert_eq!(parse("max_size = \"big\"").unwrap_err().key, "links.max_size");
        assert_eq!(parse("timeout = \"0s\"").unwrap_err().key, "links.timeout");
    }
}
