//! QQ and 163 超大附件 (huge attachment) links in text or HTML bodies. The file is not
//! in the mail; the link, its name, size and expiry are recorded as an external item.
//! Fetching the file is `crate::links`.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalLink {
    pub provider: &'static str,
    pub url: String,
    pub name: String,
    pub size_bytes: Option<i64>,
    /// When the provider deletes the file (Unix seconds), if the mail says.
    pub expires_at: Option<i64>,
}

static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"https?://[^\s"'<>（）()]+"#).expect("regex"));
// NAME (286.40M, 2024年4月23日 15:02 到期)
static SPAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([^\s>]+(?:[ \t][^\s>(（]+)*)\s*[（(]\s*([\d.]+)\s*([KMGkmg]?)B?\s*[,，]\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2}):(\d{2}))?\s*到期\s*[)）]")
        .expect("regex")
});
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("regex"));
static HREF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i)href\s*=\s*["']([^"']+)["']"#).expect("regex"));

/// Which provider serves a 超大附件 link, if it is one.
fn provider(url: &str) -> Option<&'static str> {
    let host = url.split("://").nth(1)?.split(['/', '?']).next()?.to_ascii_lowercase();
    let path = url.split("://").nth(1)?.get(host.len()..).unwrap_or("");
    if (host == "wx.mail.qq.com" || host == "iwx.mail.qq.com") && path.starts_with("/ftn/download") {
        return Some("qq");
    }
    if host == "mail.qq.com" && path.starts_with("/cgi-bin/ftnExs_download") {
        return Some("qq");
    }
    if host.ends_with(".ftn.qq.com") {
        return Some("qq");
    }
    if host == "mail.163.com" && path.starts_with("/large-attachment-download") {
        return Some("163");
    }
    if host == "dashi.163.com" && path.starts_with("/html/cloud-attachment-download") {
        return Some("163");
    }
    None
}

/// Turns HTML into text good enough to find the links and their captions.
fn html_to_text(html: &str) -> String {
    let with_breaks = html.replace("<br", "\n<br").replace("</div>", "</div>\n").replace("</p>", "</p>\n");
    // Keep href targets visible, so links shown only as "进入下载页面" are found.
    let exposed = HREF.replace_all(&with_breaks, "> $1 <a ");
    TAG.replace_all(&exposed, " ").replace("&amp;", "&").replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">")
}

/// Every 超大附件 link in the given bodies, each once. Linear in the bodies' length:
/// each byte is searched once for a URL and at most once for a caption, and links
/// already seen are looked up in a set (a list search made 50,000 links take 11.7 s).
pub fn find(texts: &[String], htmls: &[String], tz: Tz) -> Vec<ExternalLink> {
    let mut out: Vec<ExternalLink> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let bodies = texts.iter().cloned().chain(htmls.iter().map(|h| html_to_text(h)));
    for body in bodies {
        let mut caption_from = 0;
        for m in URL.find_iter(&body) {
            let url = m.as_str().trim_end_matches(['.', ',', '，', '。']).to_string();
            let Some(p) = provider(&url) else { continue };
            let before = &body[caption_from..m.start()];
            caption_from = m.end();
            if !seen.insert(url.clone()) {
                continue;
            }
            let caption = SPAN.captures_iter(before).last();
            let (name, size_bytes, expires_at) = match caption {
                Some(c) => {
                    let num: f64 = c[2].parse().unwrap_or(0.0);
                    let mult = match c[3].to_ascii_uppercase().as_str() {
                        "K" => 1024.0,
                        "M" => 1024.0 * 1024.0,
                        "G" => 1024.0 * 1024.0 * 1024.0,
                        _ => 1.0,
                    };
                    let date = NaiveDate::from_ymd_opt(c[4].parse().unwrap_or(0), c[5].parse().unwrap_or(0), c[6].parse().unwrap_or(0));
                    let (h, mi) = (c.get(7).map_or(23, |x| x.as_str().parse().unwrap_or(23)), c.get(8).map_or(59, |x| x.as_str().parse().unwrap_or(59)));
                    let expires = date
                        .and_then(|d| d.and_hms_opt(h, mi, 0))
                        .and_then(|t| tz.from_local_datetime(&t).earliest())
                        .map(|t| t.timestamp());
                    let name = c[1].trim().trim_start_matches(['：', ':']).to_string();
                    (name, Some((num * mult) as i64), expires)
                }
                None => ("超大附件".to_string(), None, None),
            };
            out.push(ExternalLink { provider: p, url, name, size_bytes, expires_at });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qq_text_body() {
        let body = "从QQ邮箱发来的超大附件\n\n嘎鲁图派出所3月视频.mp4 (286.40M, 2024年4月23日 15:02 到期)进入下载页面：https://wx.mail.qq.com/ftn/download?func=3&key=abc&code=def&k=1\n".to_string();
        let links = find(&[body], &[], chrono_tz::Asia::Shanghai);
        assert_eq!(links.len(), 1);
        let l = &links[0];
        assert_eq!(l.provider, "qq");
        assert_eq!(l.name, "嘎鲁图派出所3月视频.mp4");
        assert_eq!(l.size_bytes, Some((286.40 * 1024.0 * 1024.0) as i64));
        assert_eq!(l.expires_at, Some(1713855720));
    }

    #[test]
    fn netease_html_and_promotions() {
        let html = r#"<div>从网易163邮箱发来的超大附件</div><div>巡逻 防控.mov (1.2G, 2024年5月1日 到期)<a href="https://mail.163.com/large-attachment-download/index.html?file=XYZ&amp;p=1">下载</a></div><a href="https://u.163.com/promo">免费领取</a>"#;
        let links = find(&[], &[html.to_string()], chrono_tz::Asia::Shanghai);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].provider, "163");
        assert_eq!(links[0].name, "巡逻 防控.mov");
        assert_eq!(links[0].url, "https://mail.163.com/large-attachment-download/index.html?file=XYZ&p=1");
    }

    /// 50,000 distinct links (with a caption each) and 50,000 repeats of one, in text
    /// and in HTML. A list search for repeats took 11.7 s here.
    #[test]
    fn fifty_thousand_links_are_found_in_linear_time() {
        let mut text = String::new();
        let mut html = String::new();
        for i in 0..50_000 {
            text += &format!("视频{i}.mp4 (1.5M, 2024年4月23日 15:02 到期)进入下载页面：https://wx.mail.qq.com/ftn/download?k={i}\n");
            html += "<a href=\"https://mail.163.com/large-attachment-download/index.html?file=same\">下载</a>";
        }
        let started = std::time::Instant::now();
        let links = find(&[text], &[html], chrono_tz::Asia::Shanghai);
        let took = started.elapsed();
        assert_eq!(links.len(), 50_001);
        assert_eq!(links[49_999].name, "视频49999.mp4");
        assert_eq!(links[50_000].provider, "163");
        assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    }

    #[test]
    fn ordinary_links_are_not_packages() {
        assert!(find(&["见 https://www.example.com/a 和 http://mail.qq.com/".into()], &[], chrono_tz::Asia::Shanghai).is_empty());
    }
}
