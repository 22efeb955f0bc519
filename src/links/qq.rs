//! QQ Mail's 超大附件 (文件中转站) flow, which Tencent does not document. What it does,
//! as open-source downloaders read it (qaiu/netdisk-fast-download `QQTool.java`,
//! Litrix2/MailDownloader, mail-downloader-next `crawler.py`):
//!
//! 1. The link (`wx.mail.qq.com/ftn/download?func=3&key=…&code=…`, `iwx.mail.qq.com`,
//!    or the old `mail.qq.com/cgi-bin/ftnExs_download?k=…&code=…`, which redirects to
//!    the former) answers with a landing page. It sets the `mail5k` cookie and holds
//!    `var url = "…"` (the `func=4` address, `&` written `\x26`), `var filename`,
//!    `var filesize` and `var status` (1: the file is there).
//! 2. Where the page has no `var url`, a POST of `f=json` to the same address answers
//!    `{"head":{"ret":0},"body":{"url":…,"name":…,"size":…}}`; `ret` ≠ 0 with `msg`
//!    is a refusal.
//! 3. The `func=4` address redirects (302) to the file on a host under `ftn.qq.com`
//!    (`gzc-dfsdown.mail.ftn.qq.com`, `njc-download.ftn.qq.com`), which answers 400
//!    without the `mail5k` cookie; the cookie jar sends QQ's cookies to QQ's hosts.
//!
//! What QQ answers when the file is gone: the page says 已过期 (expired), 已删除 /
//! 已被删除 (deleted by the sender) or that the download count (下载次数) ran out, or
//! `var status` is not 1 (expired or deleted, not said which: taken as expired); the
//! JSON answer's `msg` says the same words.

use url::Url;

use super::http::Client;
use super::{Failure, Target};

/// Follows the landing page to the file's address.
pub async fn resolve(client: &mut Client, link: &Url) -> Result<Target, Failure> {
    // A link straight to a file host is the file.
    if link.host_str().is_some_and(|h| h.ends_with(".ftn.qq.com")) {
        return Ok(Target { url: link.clone(), name: None, size: None });
    }
    let landing = client.get(link, &[]).await?;
    let landing_url = landing.url.clone();
    let status = landing.status;
    let page = landing.text().await?;
    if status >= 500 || status == 429 {
        return Err(Failure::Transient(format!("QQ 邮箱下载页面答复 {status}")));
    }
    // A page that gives the address (with `var status` 1, or none) is the file's page,
    // whatever else it says ("过期时间：…" on a good file's page is no refusal).
    let status_ok = var(&page, "status").is_none_or(|s| s.trim() == "1");
    if let (true, Some(t)) = (status_ok, from_page(&page, &landing_url)) {
        return Ok(t);
    }
    if let Some(gone) = refusal(&page) {
        return Err(gone);
    }
    // No address in the page: ask for it as JSON, as the page's own script does.
    let referer = format!("{}://{}/", landing_url.scheme(), landing_url.host_str().unwrap_or(""));
    let answer = client
        .send(hyper::Method::POST, &landing_url, &[("referer", referer)], Some(("application/x-www-form-urlencoded", b"f=json".to_vec())))
        .await?;
    let status = answer.status;
    let text = answer.text().await?;
    if status >= 500 || status == 429 {
        return Err(Failure::Transient(format!("QQ 邮箱答复 {status}")));
    }
    from_json(&text, &landing_url)
}

/// What a page or message says when the file cannot be had.
fn refusal(text: &str) -> Option<Failure> {
    if text.contains("下载次数") && (text.contains("上限") || text.contains("超过") || text.contains("已满") || text.contains("用完")) {
        return Some(Failure::LimitReached);
    }
    if text.contains("已被删除") || text.contains("已删除") || text.contains("被发送者删除") {
        return Some(Failure::Deleted);
    }
    if text.contains("已过期") || text.contains("过期") && text.contains("文件") {
        return Some(Failure::Expired);
    }
    match var(text, "status") {
        Some(s) if s.trim() != "1" && !s.trim().is_empty() => Some(Failure::Expired),
        _ => None,
    }
}

/// The value of `var NAME = …` in a page's script: a quoted string (unescaped) or
/// the text up to `;` or the line's end.
fn var(page: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = page[from..].find("var ") {
        let start = from + at + 4;
        from = start;
        let rest = page[start..].trim_start();
        let Some(after) = rest.strip_prefix(name) else { continue };
        let after = after.trim_start();
        let Some(value) = after.strip_prefix('=') else { continue };
        let value = value.trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let body = &value[1..];
            let end = body.find(quote)?;
            return Some(unescape(&body[..end]));
        }
        let end = value.find([';', '\n', '\r']).unwrap_or(value.len());
        return Some(value[..end].trim().to_string());
    }
    None
}

/// `\x26` → `&`, `\/` → `/`, `&amp;` → `&`: how the page writes its address.
fn unescape(s: &str) -> String {
    s.replace("\\x26", "&").replace("\\u0026", "&").replace("\\/", "/").replace("&amp;", "&")
}

fn from_page(page: &str, base: &Url) -> Option<Target> {
    let url = var(page, "url").filter(|u| !u.is_empty())?;
    let url = base.join(&url).ok()?;
    let size = var(page, "filesize").and_then(|s| s.trim_matches(['"', '\'']).parse().ok());
    Some(Target { url, name: var(page, "filename").filter(|n| !n.is_empty()), size })
}

fn from_json(text: &str, base: &Url) -> Result<Target, Failure> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| Failure::Unrecognised("QQ 邮箱的答复不是预期的格式".into()))?;
    let ret = v.pointer("/head/ret").or_else(|| v.get("ret")).and_then(serde_json::Value::as_i64).unwrap_or(0);
    if ret != 0 {
        let msg = v.pointer("/head/msg").or_else(|| v.get("msg")).and_then(serde_json::Value::as_str).unwrap_or("");
        return Err(refusal(msg).unwrap_or_else(|| Failure::Unrecognised(format!("QQ 邮箱答复 {ret} {msg}"))));
    }
    let url = v
        .pointer("/body/url")
        .and_then(serde_json::Value::as_str)
        .filter(|u| !u.is_empty())
        .and_then(|u| base.join(&unescape(u)).ok())
        .ok_or_else(|| Failure::Unrecognised("QQ 邮箱的答复中没有下载地址".into()))?;
    let name = v.pointer("/body/name").and_then(serde_json::Value::as_str).map(str::to_string);
    let size = v.pointer("/body/size").and_then(serde_json::Value::as_i64);
    Ok(Target { url, name, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://wx.mail.qq.com/ftn/download?func=3&key=abc&code=def").unwrap()
    }

    #[test]
    fn the_landing_pages_address_name_and_size() {
        let page = "<html><script nonce=\"x\">\n var status = 1;\n var url = \"https://wx.mail.qq.com/ftn/download?func=4\\x26key=abc\\x26code=def\";\n var filename = \"巡逻.mp4\";\n var filesize = 300310000;\n</script></html>";
        let t = from_page(page, &base()).unwrap();
        assert_eq!(t.url.as_str(), "https://wx.mail.qq.com/ftn/download?func=4&key=abc&code=def");
        assert_eq!(t.name.as_deref(), Some("巡逻.mp4"));
        assert_eq!(t.size, Some(300_310_000));
        assert_eq!(refusal(page), None);
    }

    #[test]
    fn what_qq_says_when_the_file_is_gone() {
        assert_eq!(refusal("<div>该文件已过期，无法下载</div>"), Some(Failure::Expired));
        assert_eq!(refusal("<div>文件已被发送者删除</div>"), Some(Failure::Deleted));
        assert_eq!(refusal("<p>该文件下载次数已达上限</p>"), Some(Failure::LimitReached));
        assert_eq!(refusal("<script>var status = 2;</script>"), Some(Failure::Expired));
        assert_eq!(refusal("<script>var status = 1;</script>"), None);
    }

    #[test]
    fn the_json_answer() {
        let ok = r#"{"head":{"ret":0},"body":{"url":"https://wx.mail.qq.com/ftn/download?func=4&key=abc&code=def","name":"a.mp4","size":12818496}}"#;
        let t = from_json(ok, &base()).unwrap();
        assert_eq!(t.name.as_deref(), Some("a.mp4"));
        assert_eq!(t.size, Some(12_818_496));
        assert_eq!(from_json(r#"{"head":{"ret":-5002,"msg":"文件已过期"}}"#, &base()), Err(Failure::Expired));
        assert!(matches!(from_json(r#"{"head":{"ret":-5002,"msg":"fileid error"}}"#, &base()), Err(Failure::Unrecognised(_))));
        assert!(matches!(from_json("<html>", &base()), Err(Failure::Unrecognised(_))));
    }
}
