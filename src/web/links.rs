//! 超大附件 on the console: what the item page of a link says of it (state, caption,
//! expiry, last failure, tries), and 补交文件: the office uploads the file it downloaded
//! in a browser, streamed to the store's `tmp/` through `corrections::attach::Stager` (never
//! read into memory: a video can be GBs), then taken in by `corrections::attach::attach`, as
//! `baosong attach` does, audited as `web:<account>`.
//!
//! The upload is the raw request body (the page's script sends the chosen file with its
//! name in `X-File-Name`, percent-encoded, and the CSRF token in `X-CSRF-Token`, which
//! `auth::guard` checks without reading the body).

use std::io;
use std::path::PathBuf;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::TryStreamExt;

use super::auth::{Session, drain};
use super::{Failure, Page, Shared, now};
use crate::db::{self, items::ListedItem};
use crate::corrections::attach::{self, Refusal, Staged, Stager};
use crate::links::{self, State as LinkState};
use crate::report;

/// The file name an upload's `X-File-Name` gives: percent-decoded (UTF-8, lossy), the
/// last part of a path (a browser may send `C:\fakepath\…`), without control characters.
pub fn upload_name(header: &str) -> String {
    let bytes = header.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    let name = String::from_utf8_lossy(&out);
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    last.chars().filter(|c| !c.is_control()).collect::<String>().trim().chars().take(255).collect()
}

/// The link shown by an item (a link, or the file it became), for the item page.
pub async fn view(app: &Shared, li: &ListedItem) -> Result<Option<minijinja::Value>, Failure> {
    let it = &li.item;
    if it.url.is_empty() {
        return Ok(None);
    }
    let Some(l) = db::links::by_message_url(&app.db, it.message_ref, &it.url).await? else { return Ok(None) };
    let k = &l.link;
    let config = &app.config;
    let time = |t: i64| if t > 0 { report::shown_time(t, config) } else { String::new() };
    let size = |n: i64| if n > 0 { links::mib(n) } else { String::new() };
    let guessed = (k.expiry_guessed != 0).then(|| {
        let provider = if k.provider == "qq" { "QQ 邮箱" } else { "网易邮箱" };
        format!("邮件中没有写到期时间，按{provider}保存 {} 天估计", links::default_lifetime_days(&k.provider))
    });
    let expired = k.expires_at > 0 && k.expires_at <= now();
    let max = config.links.max_size;
    Ok(Some(minijinja::context! {
        id => k.id, state => k.state.code(), label => k.state.label(), attachable => k.state.attachable(), has_file => k.state.has_file(),
        url => k.url.clone(), provider => k.provider.clone(), name => k.name.clone(), caption_size => size(k.caption_size),
        expires => time(k.expires_at), guessed => guessed, expired => expired,
        reason => k.detail.clone(), reason_code => k.reason_code.clone(), tries => k.tries,
        next_try => if k.state == LinkState::Waiting { time(k.next_attempt_at) } else { String::new() },
        done => time(k.done_at), taken_in_by => k.taken_in_by.clone(), file_name => k.file_name.clone(), file_size => size(k.size),
        max_size => max, max_text => links::mib(max as i64),
    }))
}

/// A refusal as the upload script reads it: JSON with the code and the Chinese message.
fn refusal(r: &Refusal) -> Response {
    let status = match r {
        Refusal::NoSuchItem(_) => StatusCode::NOT_FOUND,
        Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::Mismatch(_) | Refusal::AlreadyIn { .. } => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    // The console asks again with a checkbox, not a command-line flag.
    let message = match r {
        Refusal::Mismatch(why) => format!("{why}。确认是这个链接的文件，请勾选“确认是这个链接的文件”后再次提交"),
        _ => r.message(),
    };
    (status, axum::Json(serde_json::json!({ "code": r.code(), "message": message }))).into_response()
}

/// What stops an upload before its body is read: no such item, not a link, already in.
async fn precheck(app: &Shared, item: i64) -> anyhow::Result<Option<Refusal>> {
    let Some(li) = db::items::get(&app.db, item).await? else { return Ok(Some(Refusal::NoSuchItem(item))) };
    if li.item.url.is_empty() {
        return Ok(Some(Refusal::NotALink(item)));
    }
    match db::links::by_message_url(&app.db, li.item.message_ref, &li.item.url).await? {
        None => Ok(Some(Refusal::NotALink(item))),
        Some(l) if !l.link.state.attachable() => Ok(Some(Refusal::AlreadyIn { item, state: l.link.state })),
        Some(_) => Ok(None),
    }
}

/// One piece of an upload, or its end: a body that stops without `End` was broken off.
enum Piece {
    Data(Bytes),
    End,
}

/// Streams `body` into a file staged in `tmp`, on a blocking thread (the writes and the
/// hash), a few pieces in flight at most. `None`: the body broke off (the staged part
/// is removed).
async fn receive(tmp: PathBuf, name: String, max: u64, body: Body) -> Result<Option<Result<Staged, Refusal>>, Failure> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(8);
    let writer = tokio::task::spawn_blocking(move || -> io::Result<Option<Result<Staged, Refusal>>> {
        let mut s = Stager::new(&tmp, &name)?;
        while let Some(piece) = rx.blocking_recv() {
            match piece {
                Piece::Data(b) => {
                    if let Err(r) = s.push(&b, max)? {
                        return Ok(Some(Err(r)));
                    }
                }
                Piece::End => return s.finish().map(Some),
            }
        }
        Ok(None)
    });
    let mut stream = body.into_data_stream();
    let mut ended = false;
    loop {
        match stream.try_next().await {
            Ok(Some(b)) => {
                // The writer stopped early (over the limit, or a disk error): said below.
                if tx.send(Piece::Data(b)).await.is_err() {
                    break;
                }
            }
            Ok(None) => {
                ended = tx.send(Piece::End).await.is_ok();
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "补交文件的上传中断");
                break;
            }
        }
    }
    drop(tx);
    let staged = writer.await.map_err(|e| anyhow::anyhow!("{e}"))?.map_err(|e| anyhow::anyhow!("无法把上传的文件写入临时目录 tmp：{e}"))?;
    Ok(match staged {
        Some(Err(r)) => Some(Err(r)),
        Some(Ok(s)) if ended => Some(Ok(s)),
        _ => None,
    })
}

/// 补交文件: the upload of a link's file (`POST /items/<id>/attach`, the file as the
/// body). Refusals answer JSON with the Chinese message; a name or size that differs
/// from the mail's caption is asked again (`X-Confirm: 1`). Success goes to the item
/// page of the file the link became.
pub async fn upload(State(app): State<Shared>, Extension(s): Extension<Session>, UrlPath(id): UrlPath<String>, headers: HeaderMap, body: Body) -> Page {
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        drain(body).await;
        return Err(Failure::not_found("没有这个文件"));
    };
    if let Some(r) = precheck(&app, id).await? {
        drain(body).await;
        return Ok(refusal(&r));
    }
    let max = app.config.links.max_size;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|n| *n > max) {
        drain(body).await;
        return Ok(refusal(&Refusal::TooLarge { size, max }));
    }
    let name = headers.get("x-file-name").and_then(|v| v.to_str().ok()).map(upload_name).unwrap_or_default();
    let confirmed = headers.get("x-confirm").is_some_and(|v| v.as_bytes() == b"1");
    let staged = match receive(app.store.tmp_dir(), name, max, body).await? {
        Some(Ok(s)) => s,
        Some(Err(r)) => return Ok(refusal(&r)),
        None => return Err(Failure::bad("上传中断，文件没有收全，请重新提交。")),
    };
    let (size, sha256) = (staged.size, staged.sha256.clone());
    match attach::attach(&app.config, &app.db, &app.store, &s.who(), id, staged, confirmed, now()).await? {
        Err(r) => Ok(refusal(&r)),
        Ok(done) => {
            tracing::info!(item = id, link = done.link, size, sha256 = %sha256, who = %s.who(), "补交文件");
            // The file the link became shows the same link (the lowest item of its URL).
            let to = db::links::get(&app.db, done.link).await?.map(|l| l.item).filter(|i| *i > 0);
            let page = match to {
                Some(item) => format!("/items/{item}?attached=1"),
                None => format!("/gallery/{}/{}", done.cycle, done.department),
            };
            Ok(Redirect::to(&page).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_decoded_and_kept_to_the_last_part() {
        // encodeURIComponent("嘎鲁图 巡逻+1.mp4")
        assert_eq!(upload_name("%E5%98%8E%E9%B2%81%E5%9B%BE%20%E5%B7%A1%E9%80%BB%2B1.mp4"), "嘎鲁图 巡逻+1.mp4");
        assert_eq!(upload_name("C%3A%5Cfakepath%5Cv.mp4"), "v.mp4");
        assert_eq!(upload_name("..%2F..%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(upload_name("a%0D%0Ab.mp4"), "ab.mp4");
        assert_eq!(upload_name("100%.mp4"), "100%.mp4", "a lone % is kept");
        assert_eq!(upload_name(""), "");
    }
}
