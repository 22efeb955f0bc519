//! Which folders to read: the configured ones, and with `scan_junk` also Junk and the
//! folders under QQ's 其他文件夹, because spam rules and user filters move department
//! mail there.

use async_imap::types::NameAttribute;
use futures::TryStreamExt;

use super::{ImapError, Session};
use crate::config::imap::ImapConfig;

/// QQ keeps user folders under the \NoSelect parent 其他文件夹, in modified UTF-7.
const QQ_OTHER_FOLDERS: &str = "&UXZO1mWHTvZZOQ-";
/// Junk folder names seen without a \Junk attribute ("垃圾邮件" in modified UTF-7).
const JUNK_NAMES: [&str; 3] = ["junk", "spam", "&V4NXPpCuTvY-"];

/// A folder as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub name: String,
    pub selectable: bool,
    pub junk: bool,
}

pub async fn list(session: &mut Session, cfg: &ImapConfig) -> Result<Vec<Folder>, ImapError> {
    let limit = cfg.timeout;
    let names = tokio::time::timeout(limit, async {
        let stream = session.list(Some(""), Some("*")).await?;
        stream.try_collect::<Vec<_>>().await
    })
    .await
    .map_err(|_| ImapError::Timeout(limit.as_secs()))??;
    Ok(names
        .iter()
        .map(|n| {
            let attrs = n.attributes();
            let junk = attrs.iter().any(|a| matches!(a, NameAttribute::Junk) || matches!(a, NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\Spam")))
                || JUNK_NAMES.contains(&n.name().to_lowercase().as_str());
            Folder { name: n.name().to_string(), selectable: !attrs.iter().any(|a| matches!(a, NameAttribute::NoSelect)), junk }
        })
        .collect())
}

/// The folders to read, configured ones first, each once.
pub async fn to_read(session: &mut Session, cfg: &ImapConfig) -> Result<Vec<String>, ImapError> {
    let mut out = cfg.folders.clone();
    if cfg.scan_junk {
        for f in list(session, cfg).await? {
            let under_other = f.name.starts_with(&format!("{QQ_OTHER_FOLDERS}/")) || f.name.starts_with(&format!("{QQ_OTHER_FOLDERS}."));
            if f.selectable && (f.junk || under_other) && !out.contains(&f.name) {
                out.push(f.name);
            }
        }
    }
    Ok(out)
}
