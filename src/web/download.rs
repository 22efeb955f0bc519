//! A department's month, or a whole month, as one ZIP, streamed as it is written:
//! stored (the photos are compressed already), names in UTF-8 with flag 0x0800 (so
//! Windows 10+ Explorer shows them right), sizes and CRCs in data descriptors after
//! each file, folders by category. Files are read in 64 KiB pieces, never whole.

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::io::AsyncReadExt;

use super::files::{disposition, inside};
use super::{Failure, Page, Shared};
use crate::db;

/// Above this a ZIP needs ZIP64; the console refuses in words instead.
const LIMIT: u64 = u32::MAX as u64;

/// General purpose flags: bit 3 (sizes in a data descriptor) and bit 11 (UTF-8 names).
const FLAGS: u16 = 0x0808;

/// One file: its name in the archive, where it is, its size.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub path: std::path::PathBuf,
    pub size: u64,
}

fn local_header(name: &str) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + name.len());
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
    h.extend_from_slice(&FLAGS.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // stored
    h.extend_from_slice(&[0; 4]); // time and date: 1980-01-00, the files' own dates are in the database
    h.extend_from_slice(&[0; 12]); // CRC and sizes follow in the descriptor
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    h
}

fn descriptor(crc: u32, size: u32) -> Vec<u8> {
    let mut d = Vec::with_capacity(16);
    d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
    d.extend_from_slice(&crc.to_le_bytes());
    d.extend_from_slice(&size.to_le_bytes());
    d.extend_from_slice(&size.to_le_bytes());
    d
}

fn central(name: &str, crc: u32, size: u32, offset: u32) -> Vec<u8> {
    let mut c = Vec::with_capacity(46 + name.len());
    c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    c.extend_from_slice(&(0x0300u16 | 20).to_le_bytes()); // made by: Unix, 2.0
    c.extend_from_slice(&20u16.to_le_bytes());
    c.extend_from_slice(&FLAGS.to_le_bytes());
    c.extend_from_slice(&0u16.to_le_bytes());
    c.extend_from_slice(&[0; 4]);
    c.extend_from_slice(&crc.to_le_bytes());
    c.extend_from_slice(&size.to_le_bytes());
    c.extend_from_slice(&size.to_le_bytes());
    c.extend_from_slice(&(name.len() as u16).to_le_bytes());
    c.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
    c.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
    c.extend_from_slice(&offset.to_le_bytes());
    c.extend_from_slice(name.as_bytes());
    c
}

fn end(count: u16, size: u32, offset: u32) -> Vec<u8> {
    let mut e = Vec::with_capacity(22);
    e.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    e.extend_from_slice(&[0; 4]);
    e.extend_from_slice(&count.to_le_bytes());
    e.extend_from_slice(&count.to_le_bytes());
    e.extend_from_slice(&size.to_le_bytes());
    e.extend_from_slice(&offset.to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e
}

/// The whole archive's size, if it fits without ZIP64.
pub fn archive_size(entries: &[Entry]) -> Option<u64> {
    if entries.len() > u16::MAX as usize {
        return None;
    }
    let total: u64 = entries.iter().map(|e| 30 + 16 + 46 + 2 * e.name.len() as u64 + e.size).sum::<u64>() + 22;
    (total <= LIMIT).then_some(total)
}

/// Writes the archive into `tx` piece by piece; stops when the receiver is gone.
async fn write(entries: Vec<Entry>, tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) {
    let mut offset: u64 = 0;
    let mut directory = Vec::new();
    for e in &entries {
        let header = local_header(&e.name);
        let start = offset;
        offset += header.len() as u64;
        if tx.send(Ok(Bytes::from(header))).await.is_err() {
            return;
        }
        let mut file = match tokio::fs::File::open(&e.path).await {
            Ok(f) => f,
            Err(err) => {
                let _ = tx.send(Err(err)).await;
                return;
            }
        };
        let (mut crc, mut written) = (crc32fast::Hasher::new(), 0u64);
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            };
            buf.truncate(n);
            crc.update(&buf);
            written += n as u64;
            if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                return;
            }
        }
        if written != e.size {
            // The archive's size was promised in Content-Length: a changed file ends it.
            let _ = tx.send(Err(std::io::Error::other(format!("{} 的大小与登记不符", e.name)))).await;
            return;
        }
        let crc = crc.finalize();
        let d = descriptor(crc, written as u32);
        offset += written + d.len() as u64;
        if tx.send(Ok(Bytes::from(d))).await.is_err() {
            return;
        }
        directory.extend_from_slice(&central(&e.name, crc, written as u32, start as u32));
    }
    let tail = end(entries.len() as u16, directory.len() as u32, offset as u32);
    directory.extend_from_slice(&tail);
    let _ = tx.send(Ok(Bytes::from(directory))).await;
}

/// The files of a month (and department) as archive entries: `[单位/]类别/文件名`.
async fn entries(app: &Shared, cycle: &str, department: Option<&str>) -> Result<Vec<Entry>, Failure> {
    let filter = db::items::Filter { cycle: Some(cycle.to_string()), department: department.map(str::to_string), ..Default::default() };
    let list = db::items::list(&app.ctx.db, &filter).await?;
    let prefix = match department {
        Some(d) => format!("tree/{cycle}/{d}/"),
        None => format!("tree/{cycle}/"),
    };
    let mut out = Vec::new();
    for li in list {
        let it = &li.item;
        let (Some(name), Some(path)) = (it.tree_path.strip_prefix(&prefix), inside(app.ctx.store.root(), &it.blob_path)) else { continue };
        out.push(Entry { name: name.to_string(), path, size: it.size.max(0) as u64 });
    }
    Ok(out)
}

async fn send(app: &Shared, cycle: &str, department: Option<String>) -> Page {
    let cycle = super::board::cycle_of(app, Some(cycle))?.to_string();
    let department = match department {
        Some(d) => Some(app.ctx.config.roster.by_name(&d).map(|x| x.name.clone()).ok_or_else(|| Failure::not_found(format!("名单中没有单位 \"{d}\"")))?),
        None => None,
    };
    let list = entries(app, &cycle, department.as_deref()).await?;
    if list.is_empty() {
        return Err(Failure::not_found("这个月还没有可下载的文件"));
    }
    let Some(size) = archive_size(&list) else {
        return Err(Failure::bad("文件总量超过 4 GB，无法打成一个 ZIP：请按单位分别下载（看板上点单位名称，再点“下载本单位本月文件”）"));
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(write(list, tx));
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) }));
    let name = match &department {
        Some(d) => format!("{d}-{cycle}.zip"),
        None => format!("报送-{cycle}.zip"),
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition("attachment", &name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

pub async fn month(State(app): State<Shared>, UrlPath(cycle): UrlPath<String>) -> Page {
    send(&app, &cycle, None).await
}

pub async fn department(State(app): State<Shared>, UrlPath((cycle, department)): UrlPath<(String, String)>) -> Page {
    send(&app, &cycle, Some(department)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_carry_the_utf8_flag_and_sizes_add_up() {
        let h = local_header("①党建/学习.jpg");
        assert_eq!(u16::from_le_bytes([h[6], h[7]]) & 0x0800, 0x0800);
        assert_eq!(&h[30..], "①党建/学习.jpg".as_bytes());
        let e = vec![Entry { name: "a.jpg".into(), path: "/x".into(), size: 10 }];
        assert_eq!(archive_size(&e), Some(30 + 5 + 10 + 16 + 46 + 5 + 22));
        let big = vec![Entry { name: "a.mp4".into(), path: "/x".into(), size: 5 << 30 }];
        assert_eq!(archive_size(&big), None, "ZIP64 sizes are refused");
    }
}
