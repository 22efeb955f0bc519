//! Which hosts and addresses a link download may reach. A link comes from mail that
//! anyone can send, so a crafted one must not make baosong reach the office's intranet:
//! only hosts under the providers' domains are contacted, over https, and only at
//! public addresses, checked after resolving and connected to as checked (no second
//! lookup that a DNS answer could change). `[links] resolve` (tests) is the only
//! exemption, and the configuration allows only loopback addresses there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::links::LinksConfig;

/// Whether `host` is one of `allow` or under one of them.
pub fn host_allowed(host: &str, allow: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allow.iter().any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// The site a cookie belongs to: the registrable part of a host ("qq.com" for
/// "gzc-dfsdown.mail.ftn.qq.com", "163.com.cn" style names keep three labels).
pub fn site(host: &str) -> String {
    let labels: Vec<&str> = host.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && ["com", "net", "org", "gov", "edu"].contains(&labels[n - 2]) { 3 } else { 2 };
    labels[n.saturating_sub(keep)..].join(".").to_ascii_lowercase()
}

/// Whether an address is on the public internet. Refused: loopback, private ranges,
/// link-local, shared (CGNAT), unspecified, broadcast, multicast, documentation and
/// reserved ranges, IPv6 unique-local and link-local, and any IPv6 form that carries
/// one of those IPv4 addresses (mapped, compatible, NAT64).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64/10, shared address space
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24, protocol assignments
        || (a == 198 && (18..20).contains(&b)) // 198.18/15, benchmarking
        || a >= 240; // 240/4 reserved
    !refused
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::/96 (NAT64) carry an IPv4.
    if s[..6] == [0; 6] || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return !ip.is_unspecified() && !ip.is_loopback() && public_v4(v4);
    }
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // 2001::/23 special purpose (Teredo, benchmarking …)
        || s[0] == 0x0100 && s[1..4] == [0; 3]; // 100::/64 discard
    !refused
}

/// The one address to connect to for `host`, from the resolver's `answers`: the
/// first public one. `None` when every answer is refused. A host given in `[links]
/// resolve` is connected to there instead (loopback, tests only).
pub fn choose(host: &str, answers: &[SocketAddr], config: &LinksConfig) -> Option<SocketAddr> {
    if let Some(&fixed) = config.resolve.get(&host.to_ascii_lowercase()) {
        return Some(fixed);
    }
    answers.iter().copied().find(|a| is_public(a.ip()))
}

/// Resolves `host:port` and picks the address to connect to, or says why not.
pub async fn resolve(host: &str, port: u16, config: &LinksConfig) -> Result<SocketAddr, String> {
    if let Some(&fixed) = config.resolve.get(&host.to_ascii_lowercase()) {
        return Ok(fixed);
    }
    let answers: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port)).await.map_err(|e| format!("无法解析 {host}：{e}"))?.collect(),
    };
    choose(host, &answers, config).ok_or_else(|| {
        let shown: Vec<String> = answers.iter().map(|a| a.ip().to_string()).collect();
        format!("{host} 解析到内部或保留地址（{}），不连接", shown.join("、"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn resolver_answers_that_are_refused() {
        for refused in [
            "127.0.0.1", "127.9.9.9", "10.0.0.1", "10.255.1.2", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
            "100.64.0.1", "100.127.255.254", "0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.1", "198.18.0.1", "240.0.0.1",
            "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.1.1",
            "64:ff9b::a00:1", "::10.0.0.1", "2001:db8::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} must be refused");
        }
        for public in ["14.18.175.154", "183.3.226.35", "172.32.0.1", "100.128.0.1", "2402:4e00::1", "::ffff:14.18.175.154", "64:ff9b::e12:af9a"] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn one_private_answer_among_public_ones_is_passed_over() {
        let c = LinksConfig::default();
        let answers: Vec<SocketAddr> = vec!["10.0.0.1:443".parse().unwrap(), "14.18.175.154:443".parse().unwrap()];
        assert_eq!(choose("wx.mail.qq.com", &answers, &c), Some("14.18.175.154:443".parse().unwrap()));
        assert_eq!(choose("wx.mail.qq.com", &answers[..1], &c), None);
    }

    #[test]
    fn loopback_only_through_the_test_setting() {
        let mut c = LinksConfig::default();
        let lo: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        assert_eq!(choose("wx.mail.qq.com", &[lo], &c), None);
        c.resolve.insert("wx.mail.qq.com".into(), lo);
        assert_eq!(choose("WX.mail.qq.com", &[], &c), Some(lo));
        assert_eq!(choose("mail.163.com", &[lo], &c), None);
    }

    #[test]
    fn hosts_under_the_providers_domains() {
        let allow = LinksConfig::default().allow;
        for ok in ["wx.mail.qq.com", "mail.qq.com", "gzc-dfsdown.mail.ftn.qq.com", "njc-download.ftn.qq.com", "mail.163.com", "nos.126.net", "dashi.163.com"] {
            assert!(host_allowed(ok, &allow), "{ok}");
        }
        for no in ["qq.com", "evilmail.qq.com", "ftn.qq.com.evil.cn", "mail.qq.com.evil.cn", "x163.com", "localhost", "10.0.0.1", "www.qq.com"] {
            assert!(!host_allowed(no, &allow), "{no}");
        }
    }

    #[test]
    fn sites_of_hosts() {
        assert_eq!(site("gzc-dfsdown.mail.ftn.qq.com"), "qq.com");
        assert_eq!(site("wx.mail.qq.com"), "qq.com");
        assert_eq!(site("mail.163.com"), "163.com");
        assert_eq!(site("files.example.com.cn"), "example.com.cn");
    }
}
