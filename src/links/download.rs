//! One link's file, from the provider to a file of `tmp/links/`: the provider's flow
//! finds the file, the body is streamed to disk by a writer thread that hashes it on
//! the way (the network task only hands it pieces, a few MiB at most in flight), and a
//! download cut short resumes with `Range` where the server allows it (a 200 answer
//! to a ranged request starts again). Nothing is held whole in memory. Checked before
//! a byte is written where the server says the size, and again as bytes arrive: the
//! size cap, the caption's size (5 %), room on the disk, and that the answer is not a
//! web page.

use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use url::Url;

use super::http::{Client, IDLE_TIMEOUT, Response};
use super::{Failure, Target, netease, qq, size_matches};
use crate::config::links::LinksConfig;

/// A downloaded file, complete and durable in `tmp/links/`.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// The file's name: as the provider gives it, or the caption's.
    pub name: String,
}

/// What is downloaded.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub id: i64,
    pub url: &'a str,
    pub provider: &'a str,
    pub caption_name: &'a str,
    pub caption_size: i64,
}

/// Room kept free on the disk beside a download.
const DISK_MARGIN: u64 = 256 << 20;
/// Pieces of the body in flight between the network and the writer.
const IN_FLIGHT: usize = 64;

/// Where a link's partial download lives while it is not complete.
pub fn part_path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.part"))
}

/// Downloads `job` into `dir` (`tmp/links`), resuming what an earlier try left.
/// `progress` is told the bytes so far and the total when known.
pub async fn fetch(client: &mut Client, job: &Job<'_>, dir: &Path, config: &LinksConfig, progress: &(dyn Fn(u64, Option<u64>) + Sync)) -> Result<Fetched, Failure> {
    let link = Url::parse(job.url).map_err(|_| Failure::Unrecognised("链接无法识别".into()))?;
    // `timeout` bounds the whole download, the provider's pages included: a landing
    // page that sends a byte every few seconds must not hold the queue for hours.
    let deadline = tokio::time::Instant::now() + config.timeout;
    let result = tokio::time::timeout_at(deadline, async {
        let target = match job.provider {
            "qq" => qq::resolve(client, &link).await?,
            _ => netease::resolve(client, &link).await?,
        };
        std::fs::create_dir_all(dir).map_err(|e| Failure::Transient(format!("无法创建临时目录：{e}")))?;
        let part = part_path(dir, job.id);
        let have = std::fs::metadata(&part).map_or(0, |m| m.len());
        let range: Vec<(&str, String)> = if have > 0 { vec![("range", format!("bytes={have}-"))] } else { vec![] };
        let resp = client.get(&target.url, &range).await?;
        body(resp, &target, job, &part, have, config, progress).await
    })
    .await;
    match result {
        Ok(r) => r,
        Err(_) => Err(Failure::Transient(format!("下载超过 {} 分钟未完成（links.timeout）", config.timeout.as_secs().div_ceil(60)))),
    }
}

/// Where the answer starts in the file and the file's whole size, if known.
fn span(resp: &Response, have: u64) -> Result<(u64, Option<u64>), Failure> {
    let length = resp.header(hyper::header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    match resp.status {
        200 => Ok((0, length)),
        206 => {
            // Content-Range: bytes START-END/TOTAL
            let cr = resp.header(hyper::header::CONTENT_RANGE).unwrap_or("");
            let spec = cr.trim().strip_prefix("bytes").map(str::trim).unwrap_or("");
            let (range, total) = spec.split_once('/').unwrap_or(("", ""));
            let start = range.split('-').next().and_then(|s| s.trim().parse::<u64>().ok());
            match start {
                Some(s) if s == have => Ok((s, total.trim().parse().ok())),
                _ => Err(Failure::Transient(format!("服务器续传的位置不对（{cr}），从头重新下载"))),
            }
        }
        416 => Err(Failure::Transient("服务器不接受续传，从头重新下载".into())),
        408 | 429 | 500..=599 => Err(Failure::Transient(format!("文件服务器答复 {}", resp.status))),
        s => Err(Failure::Unrecognised(format!("文件服务器答复 {s}"))),
    }
}

async fn body(
    mut resp: Response,
    target: &Target,
    job: &Job<'_>,
    part: &Path,
    have: u64,
    config: &LinksConfig,
    progress: &(dyn Fn(u64, Option<u64>) + Sync),
) -> Result<Fetched, Failure> {
    let (start, total) = match span(&resp, have) {
        Ok(s) => s,
        Err(f) => {
            // A resume the server cannot do starts again next time.
            if f.is_transient() && have > 0 {
                let _ = std::fs::remove_file(part);
            }
            return Err(f);
        }
    };
    let content_type = resp.header(hyper::header::CONTENT_TYPE).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("text/html") || content_type.starts_with("application/xhtml") {
        return Err(Failure::NotMedia);
    }
    if let Some(total) = total {
        if let Err(f) = check_size(total, job.caption_size, config.max_size) {
            // A login or error page served as a file, with its length: say it is a web
            // page, not that the file's size differs (its first bytes tell).
            if start == 0 && matches!(f, Failure::SizeMismatch { .. }) {
                let idle = IDLE_TIMEOUT.min(config.timeout).max(Duration::from_secs(1));
                if let Ok(Some(head)) = resp.chunk(idle).await
                    && looks_like_html(&head)
                {
                    return Err(Failure::NotMedia);
                }
            }
            return Err(f);
        }
        let free = free_space(part.parent().unwrap_or(part));
        let need = total - start + DISK_MARGIN;
        if free < need {
            return Err(Failure::NoRoom { need: total - start, free: free.saturating_sub(DISK_MARGIN) });
        }
    }
    let name = target.name.clone().or_else(|| resp.headers.get(hyper::header::CONTENT_DISPOSITION).and_then(|v| disposition_name(v.as_bytes()))).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| job.caption_name.to_string());
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(IN_FLIGHT);
    let path = part.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || write(&path, start, rx));
    let streamed = stream(&mut resp, tx, start, total, job.caption_size, config, progress).await;
    let written = writer.await.map_err(|e| Failure::Transient(format!("写入线程异常：{e}")))?;
    let (sha256, size) = written.map_err(|e| Failure::Transient(format!("无法写入临时文件：{e}")))?;
    if let Err(f) = streamed {
        if !f.is_transient() {
            let _ = std::fs::remove_file(part);
        }
        return Err(f);
    }
    if let Some(total) = total {
        if size != total {
            return Err(Failure::Transient(format!("下载不完整：{size} / {total} 字节")));
        }
    }
    check_size(size, job.caption_size, config.max_size).inspect_err(|_| {
        let _ = std::fs::remove_file(part);
    })?;
    Ok(Fetched { path: part.to_path_buf(), sha256, size, name })
}

/// Hands the body to the writer piece by piece, checking as it goes.
async fn stream(
    resp: &mut Response,
    tx: tokio::sync::mpsc::Sender<Bytes>,
    start: u64,
    total: Option<u64>,
    caption: i64,
    config: &LinksConfig,
    progress: &(dyn Fn(u64, Option<u64>) + Sync),
) -> Result<(), Failure> {
    let idle = IDLE_TIMEOUT.min(config.timeout).max(Duration::from_secs(1));
    // Past this the file is not the one announced: stop reading.
    let ceiling = if caption > 0 { (caption as u64 + caption as u64 / 20).min(config.max_size) } else { config.max_size };
    let mut at = start;
    let mut first = start == 0;
    while let Some(piece) = resp.chunk(idle).await? {
        if first && !piece.is_empty() {
            if looks_like_html(&piece) {
                return Err(Failure::NotMedia);
            }
            first = false;
        }
        at += piece.len() as u64;
        if at > ceiling {
            return Err(if at > config.max_size { Failure::TooLarge { size: at, max: config.max_size } } else { Failure::SizeMismatch { caption, got: at as i64 } });
        }
        if tx.send(piece).await.is_err() {
            return Err(Failure::Transient("写入线程已停止".into()));
        }
        progress(at, total);
    }
    Ok(())
}

/// Appends what arrives to `path` after its first `start` bytes (hashed first), then
/// makes it durable. Returns the whole file's SHA-256 and length.
fn write(path: &Path, start: u64, mut rx: tokio::sync::mpsc::Receiver<Bytes>) -> io::Result<(String, u64)> {
    let mut file = std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
    file.set_len(start)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = start;
    file.seek(io::SeekFrom::Start(0))?;
    while left > 0 {
        let n = file.read(&mut buf[..left.min(1 << 20) as usize])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "已下载的部分比记录的短"));
        }
        hash.update(&buf[..n]);
        left -= n as u64;
    }
    drop(buf);
    let mut len = start;
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    while let Some(piece) = rx.blocking_recv() {
        hash.update(&piece);
        out.write_all(&piece)?;
        len += piece.len() as u64;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((hex::encode(hash.finalize()), len))
}

fn check_size(size: u64, caption: i64, max: u64) -> Result<(), Failure> {
    if size > max {
        return Err(Failure::TooLarge { size, max });
    }
    if !size_matches(caption, size as i64) {
        return Err(Failure::SizeMismatch { caption, got: size as i64 });
    }
    Ok(())
}

/// An HTML page where a file was expected (a login or error page served as 200).
pub fn looks_like_html(head: &[u8]) -> bool {
    let text: String = String::from_utf8_lossy(&head[..head.len().min(512)]).trim_start_matches('\u{feff}').trim_start().chars().take(64).collect::<String>().to_ascii_lowercase();
    text.starts_with("<!doctype html") || text.starts_with("<html") || text.starts_with("<head") || text.starts_with("<?xml") && text.contains("html")
}

/// The file name in Content-Disposition: `filename*=UTF-8''…` (percent-encoded) or
/// `filename="…"`, which NetEase sends as raw UTF-8.
fn disposition_name(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    for param in text.split(';').map(str::trim) {
        if let Some(v) = param.strip_prefix("filename*=") {
            let v = v.split_once("''").map_or(v, |(_, rest)| rest);
            return Some(percent_encoding::percent_decode_str(v.trim_matches('"')).decode_utf8_lossy().into_owned());
        }
    }
    text.split(';').map(str::trim).find_map(|p| p.strip_prefix("filename=")).map(|v| v.trim_matches('"').to_string())
}

/// Bytes free for this process on the file system of `dir`.
pub fn free_space(dir: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return u64::MAX };
    // SAFETY: statvfs fills the struct it is given; the path is NUL-terminated.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return u64::MAX;
        }
        (s.f_bavail as u64).saturating_mul(s.f_frsize as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_pages_are_told_from_files() {
        assert!(looks_like_html(b"\n  <!DOCTYPE html><html>"));
        assert!(looks_like_html(b"<html><body>expired</body></html>"));
        assert!(!looks_like_html(b"\x00\x00\x00\x18ftypmp42"));
        assert!(!looks_like_html(b"PK\x03\x04"));
    }

    #[test]
    fn names_from_content_disposition() {
        assert_eq!(disposition_name(b"attachment; filename*=UTF-8''%E5%B7%A1%E9%80%BB.mp4").as_deref(), Some("巡逻.mp4"));
        // NetEase sends the name as raw UTF-8 between quotes.
        assert_eq!(disposition_name("attachment; filename=\"巡逻 视频.mp4\"".as_bytes()).as_deref(), Some("巡逻 视频.mp4"));
        assert_eq!(disposition_name(b"inline"), None);
    }

    #[test]
    fn writer_resumes_after_what_is_there_and_hashes_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.part");
        std::fs::write(&path, b"hello, and some bytes a crash left over").unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Bytes::from_static(b" world")).unwrap();
        drop(tx);
        let (sha, len) = write(&path, 6, rx).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello, world");
        assert_eq!(len, 12);
        assert_eq!(sha, crate::inspect::sha256_hex(b"hello, world"));
    }

}
