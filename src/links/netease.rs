//! NetEase's 超大附件 flow (163, 126 and 邮箱大师), which NetEase does not document.
//! What it does, as open-source downloaders read it (Litrix2/MailDownloader and
//! mail-downloader-next `crawler.py`):
//!
//! - `mail.163.com/large-attachment-download/index.html?file=KEY` (`p=` is a constant
//!   marker, not the key): `POST /filehub/bg/dl/prepare` on the same host with the JSON
//!   `{"linkKey":KEY}` answers `{"code":200,"data":{"downloadUrl":…}}`.
//! - `dashi.163.com/html/cloud-attachment-download/?key=KEY` (邮箱大师): `POST
//!   /filehub-master/file/dl/prepare2` with `{"fid":"","linkKey":KEY}` answers
//!   `{"code":200,"result":{"downloadUrl":…}}`.
//! - `downloadUrl` is fetched with no cookie; the file's name is in
//!   Content-Disposition, as raw UTF-8.
//!
//! What NetEase answers when the file is gone (`code`, and `desc`): 400, 601 or
//! `EXPIRED`: expired; 404: deleted; -17 / -3 (the older service): expired or deleted;
//! 602 or -4: the download count reached its limit; 571 `PARAM_ILLEGAL`: the key is not
//! known (the link is broken), which the office must look at.

use url::Url;

use super::http::Client;
use super::{Failure, Target};

/// Asks NetEase where the file is.
pub async fn resolve(client: &mut Client, link: &Url) -> Result<Target, Failure> {
    let (endpoint, body, result_key) = request_for(link)?;
    let answer = client.send(hyper::Method::POST, &endpoint, &[("referer", link.to_string())], Some(("application/json", body))).await?;
    let status = answer.status;
    let text = answer.text().await?;
    if status >= 500 || status == 429 {
        return Err(Failure::Transient(format!("网易邮箱答复 {status}")));
    }
    from_json(&text, result_key, &endpoint)
}

/// The prepare call for a link: its address, its JSON body, and where the answer puts
/// the result.
fn request_for(link: &Url) -> Result<(Url, Vec<u8>, &'static str), Failure> {
    let param = |name: &str| link.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).filter(|v| !v.is_empty());
    let host = link.host_str().unwrap_or("");
    let origin = format!("https://{host}");
    let join = |path: &str| Url::parse(&format!("{origin}{path}")).map_err(|e| Failure::Unrecognised(e.to_string()));
    if host.starts_with("dashi.") || link.path().contains("cloud-attachment-download") {
        let key = param("key").ok_or_else(|| Failure::Unrecognised("邮箱大师链接中没有 key".into()))?;
        let body = serde_json::json!({ "fid": "", "linkKey": key });
        return Ok((join("/filehub-master/file/dl/prepare2")?, body.to_string().into_bytes(), "result"));
    }
    let key = param("file").ok_or_else(|| Failure::Unrecognised("网易邮箱链接中没有 file".into()))?;
    let mut body = serde_json::json!({ "linkKey": key });
    if let Some(token) = param("encryptToken") {
        body["accessToken"] = serde_json::Value::String(token);
    }
    Ok((join("/filehub/bg/dl/prepare")?, body.to_string().into_bytes(), "data"))
}

fn from_json(text: &str, result_key: &str, base: &Url) -> Result<Target, Failure> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| Failure::Unrecognised("网易邮箱的答复不是预期的格式".into()))?;
    let code = v.get("code").and_then(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.parse().ok()))).unwrap_or(0);
    let desc = v.get("desc").or_else(|| v.get("msg")).and_then(serde_json::Value::as_str).unwrap_or("");
    if code != 200 {
        return Err(match (code, desc) {
            (400 | 601 | -17 | -3, _) | (_, "EXPIRED") => Failure::Expired,
            (404, _) => Failure::Deleted,
            (602 | -4, _) => Failure::LimitReached,
            _ => Failure::Unrecognised(format!("网易邮箱答复 {code} {desc}")),
        });
    }
    let url = v
        .pointer(&format!("/{result_key}/downloadUrl"))
        .or_else(|| v.get("downloadUrl"))
        .and_then(serde_json::Value::as_str)
        .filter(|u| !u.is_empty())
        .and_then(|u| base.join(u).ok())
        .ok_or_else(|| Failure::Unrecognised("网易邮箱的答复中没有下载地址".into()))?;
    Ok(Target { url, name: None, size: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_calls_for_each_link_shape() {
        let mail = Url::parse("https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT&file=KEY1&title=a").unwrap();
        let (u, body, key) = request_for(&mail).unwrap();
        assert_eq!(u.as_str(), "https://mail.163.com/filehub/bg/dl/prepare");
        assert_eq!(String::from_utf8(body).unwrap(), r#"{"linkKey":"KEY1"}"#);
        assert_eq!(key, "data");
        let dashi = Url::parse("https://dashi.163.com/html/cloud-attachment-download/?key=KEY2").unwrap();
        let (u, body, key) = request_for(&dashi).unwrap();
        assert_eq!(u.as_str(), "https://dashi.163.com/filehub-master/file/dl/prepare2");
        assert_eq!(String::from_utf8(body).unwrap(), r#"{"fid":"","linkKey":"KEY2"}"#);
        assert_eq!(key, "result");
        assert!(request_for(&Url::parse("https://mail.163.com/large-attachment-download/index.html?p=X").unwrap()).is_err());
    }

    #[test]
    fn netease_answers() {
        let base = Url::parse("https://mail.163.com/filehub/bg/dl/prepare").unwrap();
        let ok = r#"{"code":200,"data":{"downloadUrl":"https://nos.126.net/f/abc?token=1","token":"t"}}"#;
        assert_eq!(from_json(ok, "data", &base).unwrap().url.as_str(), "https://nos.126.net/f/abc?token=1");
        assert_eq!(from_json(r#"{"code":601,"desc":"EXPIRED"}"#, "data", &base), Err(Failure::Expired));
        assert_eq!(from_json(r#"{"code":400}"#, "data", &base), Err(Failure::Expired));
        assert_eq!(from_json(r#"{"code":404,"desc":"NOT_FOUND"}"#, "data", &base), Err(Failure::Deleted));
        assert_eq!(from_json(r#"{"code":602}"#, "result", &base), Err(Failure::LimitReached));
        assert!(matches!(from_json(r#"{"code":571,"desc":"PARAM_ILLEGAL"}"#, "data", &base), Err(Failure::Unrecognised(_))));
        assert!(matches!(from_json(r#"{"code":200,"data":{}}"#, "data", &base), Err(Failure::Unrecognised(_))));
    }
}
