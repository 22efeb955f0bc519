//! The cookies of one download, kept per site. QQ's file hosts (`*.ftn.qq.com`) want
//! the `mail5k` cookie that its download page (`wx.mail.qq.com`) set, a host of
//! another name under the same site, so a cookie goes to every host of the site that
//! set it, and never to another site: a QQ cookie never reaches 163 or anywhere else.

use super::net::site;

#[derive(Debug, Default, Clone)]
pub struct Jar {
    /// (site, name, value), in the order they were set.
    cookies: Vec<(String, String, String)>,
}

/// Most cookies kept for one download: a server cannot grow the jar without end.
const MAX_COOKIES: usize = 32;
/// Longest cookie kept (name and value).
const MAX_COOKIE_LEN: usize = 4096;

impl Jar {
    /// Takes what a `Set-Cookie` header from `host` says: its name and value (the
    /// attributes are not needed: a cookie lives for one download).
    pub fn set(&mut self, host: &str, header: &str) {
        let pair = header.split(';').next().unwrap_or("").trim();
        let Some((name, value)) = pair.split_once('=') else { return };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || name.len() + value.len() > MAX_COOKIE_LEN || !name.chars().all(|c| c.is_ascii_graphic() && c != '=') {
            return;
        }
        let site = site(host);
        // An expired cookie (Max-Age=0, an empty value) is a deletion.
        let deleted = value.is_empty() || header.to_ascii_lowercase().contains("max-age=0");
        self.cookies.retain(|(s, n, _)| !(*s == site && n == name));
        if !deleted && self.cookies.len() < MAX_COOKIES {
            self.cookies.push((site, name.to_string(), value.to_string()));
        }
    }

    /// The `Cookie` header for a request to `host`, if any cookie belongs to its site.
    pub fn header_for(&self, host: &str) -> Option<String> {
        let site = site(host);
        let pairs: Vec<String> = self.cookies.iter().filter(|(s, _, _)| *s == site).map(|(_, n, v)| format!("{n}={v}")).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qq_cookie_reaches_qq_file_hosts_only() {
        let mut jar = Jar::default();
        jar.set("wx.mail.qq.com", "mail5k=6c9e1d58; Path=/; Domain=.mail.qq.com; HttpOnly");
        assert_eq!(jar.header_for("gzc-dfsdown.mail.ftn.qq.com").as_deref(), Some("mail5k=6c9e1d58"));
        assert_eq!(jar.header_for("njc-download.ftn.qq.com").as_deref(), Some("mail5k=6c9e1d58"));
        assert_eq!(jar.header_for("mail.163.com"), None);
        assert_eq!(jar.header_for("nos.126.net"), None);
        assert_eq!(jar.header_for("qq.com.evil.cn"), None);
    }

    #[test]
    fn later_values_replace_and_deletions_remove() {
        let mut jar = Jar::default();
        jar.set("wx.mail.qq.com", "a=1");
        jar.set("iwx.mail.qq.com", "a=2");
        jar.set("wx.mail.qq.com", "b=3");
        assert_eq!(jar.header_for("x.ftn.qq.com").as_deref(), Some("a=2; b=3"));
        jar.set("wx.mail.qq.com", "a=; Max-Age=0");
        assert_eq!(jar.header_for("x.ftn.qq.com").as_deref(), Some("b=3"));
        jar.set("wx.mail.qq.com", "garbage");
        for i in 0..100 {
            jar.set("wx.mail.qq.com", &format!("c{i}=1"));
        }
        assert!(jar.header_for("x.ftn.qq.com").unwrap().matches('=').count() <= MAX_COOKIES);
    }
}
