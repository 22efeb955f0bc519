//! `[intake] sender_auth` and `dns_servers`: what a failed sender check does, and which
//! DNS servers the checks ask (`sender_auth::Policy`).

use std::net::{IpAddr, SocketAddr};

use super::ConfigError;
use crate::sender_auth::{Mode, Policy};

/// The policy from the raw keys: `sender_auth` ("dmarc", "dkim", "off"; default "dmarc")
/// and `dns_servers` ("127.0.0.1:5353", or an address alone for port 53).
pub fn policy(origin: &str, mode: Option<&str>, dns_servers: &[String]) -> Result<Policy, ConfigError> {
    let mode = match mode {
        None => Mode::default(),
        Some(m) => Mode::from_code(m.trim()).ok_or_else(|| {
            ConfigError::new(
                origin,
                "intake.sender_auth",
                format!("无法识别的发件人验证方式 \"{m}\""),
                "写 \"dmarc\"（默认：按发件域名的 DMARC 策略扣留冒充邮件）、\"dkim\"（没有有效签名就扣留）或 \"off\"（不验证）",
            )
        })?,
    };
    let mut servers = Vec::with_capacity(dns_servers.len());
    for (i, s) in dns_servers.iter().enumerate() {
        let text = s.trim();
        let addr = text.parse::<SocketAddr>().ok().or_else(|| text.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)));
        match addr {
            Some(a) => servers.push(a),
            None => {
                return Err(ConfigError::new(
                    origin,
                    &format!("intake.dns_servers[{i}]"),
                    format!("\"{s}\" 不是 DNS 服务器地址"),
                    "写成 IP 地址，可带端口，例如 \"10.1.1.1\" 或 \"127.0.0.1:5353\"；不写此项则使用系统的 DNS 设置",
                ));
            }
        }
    }
    Ok(Policy { mode, dns_servers: servers, check_imports: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_servers() {
        let p = policy("baosong.toml", None, &[]).unwrap();
        assert_eq!((p.mode, p.dns_servers.len()), (Mode::Dmarc, 0));
        let p = policy("baosong.toml", Some("dkim"), &["10.1.1.1".into(), "127.0.0.1:5353".into()]).unwrap();
        assert_eq!(p.mode, Mode::Dkim);
        assert_eq!(p.dns_servers, vec!["10.1.1.1:53".parse().unwrap(), "127.0.0.1:5353".parse().unwrap()]);
        let e = policy("baosong.toml", Some("spf"), &[]).unwrap_err();
        assert_eq!(e.key, "intake.sender_auth");
        let e = policy("baosong.toml", None, &["dns.example".into()]).unwrap_err();
        assert!(e.problem.contains("dns.example"));
    }
}
