//! Thumbnails and original files, found by item id only: no path is ever taken from
//! the request, and a path from the database must stay inside the store.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{Failure, Page, Shared};
use crate::db;

/// `rel` under the store root, if it is a plain relative path into one of the stored
/// folders (blobs, thumbs, renditions); never `..`, never absolute.
pub fn inside(root: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    let mut parts = p.components();
    let first = parts.next()?;
    if !matches!(first, Component::Normal(f) if f == "blobs" || f == "thumbs" || f == "renditions") {
        return None;
    }
    parts.all(|c| matches!(c, Component::Normal(_))).then(|| root.join(p))
}

/// The local path of the archived file `rel` (one of `inside`'s), downloaded from the
/// object store first when this machine has none; None when it is not to be served.
pub async fn fetched(store: &crate::store::Store, rel: &str) -> Option<PathBuf> {
    inside(store.root(), rel)?;
    let (store, rel) = (store.clone(), rel.to_string());
    tokio::task::spawn_blocking(move || store.local(&rel).ok()).await.ok().flatten()
}

async fn item(app: &Shared, id: &str) -> Result<db::items::ListedItem, Failure> {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这个文件"))?;
    db::items::get(&app.db, id).await?.ok_or_else(|| Failure::not_found(format!("没有编号为 {id} 的文件")))
}

/// A file's body as a stream of 64 KiB chunks, never read whole into memory.
pub async fn stream(path: &Path) -> Result<(Body, u64), Failure> {
    let file = tokio::fs::File::open(path).await.map_err(|_| Failure::not_found("文件不在存档中（可运行 baosong verify 检查）"))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let chunks = futures::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes_of(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    Ok((Body::from_stream(chunks.boxed()), len))
}

fn bytes_of(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}

/// `Content-Disposition` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987).
pub fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The 320-px thumbnail: its name is the content's SHA-256, so it never changes.
pub async fn thumb(State(app): State<Shared>, UrlPath(id): UrlPath<String>, headers: HeaderMap) -> Page {
    let li = item(&app, &id).await?;
    let it = &li.item;
    let path = fetched(&app.store, &it.thumb_path).await.ok_or_else(|| Failure::not_found("这个文件没有缩略图"))?;
    let etag = format!("\"{}\"", it.sha256);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let (body, len) = stream(&path).await?;
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(r)
}

/// The original as it was sent (a HEIC photo as its JPEG rendition, which browsers
/// can show), with its type and its Chinese name.
pub async fn original(State(app): State<Shared>, UrlPath(id): UrlPath<String>) -> Page {
    let li = item(&app, &id).await?;
    let it = &li.item;
    let (rel, mime, name) = if !it.rendition_path.is_empty() {
        (&it.rendition_path, "image/jpeg".to_string(), format!("{}.jpg", it.shown_name))
    } else {
        (&it.blob_path, it.mime.clone(), it.shown_name.clone())
    };
    let path = fetched(&app.store, rel).await.ok_or_else(|| Failure::not_found("这个文件没有存档（被拒收或是外部链接）"))?;
    let (body, len) = stream(&path).await?;
    let mut r = Response::new(body);
    let h = r.headers_mut();
    let mime = if mime.is_empty() { "application/octet-stream".into() } else { mime };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&disposition("inline", &name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_into_the_store() {
        let root = Path::new("/data");
        assert_eq!(inside(root, "thumbs/ab/abcd.jpg"), Some(PathBuf::from("/data/thumbs/ab/abcd.jpg")));
        assert_eq!(inside(root, "blobs/ab/abcd"), Some(PathBuf::from("/data/blobs/ab/abcd")));
        for bad in ["", "/etc/passwd", "thumbs/../../etc/passwd", "../thumbs/x", "raw/ab/x.eml", "baosong.db"] {
            assert_eq!(inside(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn utf8_file_names() {
        assert_eq!(disposition("inline", "党建 1.jpg"), "inline; filename=\"___1.jpg\"; filename*=UTF-8''%E5%85%9A%E5%BB%BA%201.jpg");
    }
}
