//! The office takes a link's file in by hand (`baosong attach ITEM FILE`, or the
//! upload form on the console's item page of a link): when the provider refused the
//! download, or the link expired, the office downloads the file in a browser, or gets
//! it from the department, and hands it in. The file is staged into `tmp/` (streamed,
//! hashed on the way, under `[links] max_size`), kept as the link's original, and the
//! message is recorded again with it, counted with the mail's receipt time. Audited:
//! who, when, which link, the file's hash.

use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::links::{State, download::looks_like_html, mib, size_matches};
use crate::config::Config;
use crate::db::Db;
use crate::store::Store;
use crate::db::{self, links::FileIn};
use crate::pipeline;

/// A file staged in the store's `tmp/`, hashed, not yet taken in. Removed when dropped.
#[derive(Debug)]
pub struct Staged {
    pub file: tempfile::NamedTempFile,
    pub sha256: String,
    pub size: u64,
    /// The name it had (a path's file name, an upload's file name).
    pub name: String,
    /// The first bytes, to tell a web page from a file.
    pub head: Vec<u8>,
}

/// Why a file was not taken in. Each is said in Chinese; `Mismatch` is asked again
/// with the confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoSuchItem(i64),
    NotALink(i64),
    AlreadyIn { item: i64, state: State },
    Empty,
    TooLarge { size: u64, max: u64 },
    NotMedia,
    /// The name or size clearly differs from the mail's caption: taken in only when
    /// confirmed.
    Mismatch(String),
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoSuchItem(_) => "no_such_item",
            Refusal::NotALink(_) => "not_a_link",
            Refusal::AlreadyIn { .. } => "already_in",
            Refusal::Empty => "empty_file",
            Refusal::TooLarge { .. } => "too_large",
            Refusal::NotMedia => "not_media",
            Refusal::Mismatch(_) => "needs_confirmation",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::NoSuchItem(id) => format!("没有编号为 {id} 的文件"),
            Refusal::NotALink(id) => format!("文件 {id} 不是超大附件链接，不能补交文件"),
            Refusal::AlreadyIn { item, state } => format!("文件 {item} 的超大附件{}，不需要再补交", state.label()),
            Refusal::Empty => "文件是空的".into(),
            Refusal::TooLarge { size, max } => format!("文件 {} 超过上限 {}（links.max_size）", mib(*size as i64), mib(*max as i64)),
            Refusal::NotMedia => "这是一个网页，不是照片、视频或压缩包；请在下载页面点“下载”保存文件本身".into(),
            Refusal::Mismatch(why) => format!("{why}，请确认是这个链接的文件"),
        }
    }
}

/// Copies `source` into `tmp/`, hashing it on the way, refusing it past `max` bytes.
pub fn stage(tmp: &Path, source: &Path, max: u64) -> io::Result<Result<Staged, Refusal>> {
    let name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut input = std::fs::File::open(source)?;
    stage_from(tmp, &mut input, &name, max)
}

/// Stages what `input` gives (a file, an upload's body read piece by piece).
pub fn stage_from(tmp: &Path, input: &mut dyn Read, name: &str, max: u64) -> io::Result<Result<Staged, Refusal>> {
    let mut s = Stager::new(tmp, name)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if let Err(r) = s.push(&buf[..n], max)? {
            return Ok(Err(r));
        }
    }
    s.finish()
}

/// A file being staged piece by piece (the console's upload is streamed through one).
pub struct Stager {
    file: tempfile::NamedTempFile,
    out: io::BufWriter<std::fs::File>,
    hash: Sha256,
    size: u64,
    head: Vec<u8>,
    name: String,
}

impl Stager {
    pub fn new(tmp: &Path, name: &str) -> io::Result<Stager> {
        let file = tempfile::Builder::new().prefix("upload-").tempfile_in(tmp)?;
        let out = io::BufWriter::with_capacity(1 << 20, file.reopen()?);
        Ok(Stager { file, out, hash: Sha256::new(), size: 0, head: Vec::new(), name: name.to_string() })
    }

    /// One more piece; refused (and nothing more is written) past `max` bytes.
    pub fn push(&mut self, piece: &[u8], max: u64) -> io::Result<Result<(), Refusal>> {
        self.size += piece.len() as u64;
        if self.size > max {
            return Ok(Err(Refusal::TooLarge { size: self.size, max }));
        }
        if self.head.len() < 512 {
            let take = (512 - self.head.len()).min(piece.len());
            self.head.extend_from_slice(&piece[..take]);
        }
        self.hash.update(piece);
        self.out.write_all(piece)?;
        Ok(Ok(()))
    }

    pub fn finish(self) -> io::Result<Result<Staged, Refusal>> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        if self.size == 0 {
            return Ok(Err(Refusal::Empty));
        }
        Ok(Ok(Staged { file: self.file, sha256: hex::encode(self.hash.finalize()), size: self.size, name: self.name, head: self.head }))
    }
}

/// What taking a file in did.
#[derive(Debug, Clone)]
pub struct Attached {
    pub link: i64,
    pub message_ref: i64,
    pub department: String,
    pub cycle: String,
    /// What recording the message again gave (None: it waits in the journal for the
    /// running `baosong run`).
    pub outcome: Option<pipeline::Outcome>,
}

/// Whether the staged file is clearly not the one the caption announced.
fn mismatch(caption_name: &str, caption_size: i64, name: &str, size: u64) -> Option<String> {
    if !size_matches(caption_size, size as i64) {
        return Some(format!("文件大小 {} 与邮件中写的 {} 不符", mib(size as i64), mib(caption_size)));
    }
    let ext = |n: &str| n.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let stem = |n: &str| n.rsplit_once('.').map_or(n, |(s, _)| s).trim().to_lowercase();
    let (a, b) = (stem(caption_name), stem(name));
    let names_differ = !a.is_empty() && !b.is_empty() && !a.contains(&b) && !b.contains(&a);
    if ext(caption_name) != ext(name) || names_differ {
        return Some(format!("文件名“{name}”与邮件中写的“{caption_name}”不符"));
    }
    None
}

/// Takes `staged` in as the file of the link shown as item `item`, for `who`.
pub async fn attach(config: &Config, db: &Db, store: &Store, who: &str, item: i64, staged: Staged, confirmed: bool, now: i64) -> anyhow::Result<Result<Attached, Refusal>> {
    let Some(it) = db::items::get(db, item).await? else { return Ok(Err(Refusal::NoSuchItem(item))) };
    if it.item.url.is_empty() {
        return Ok(Err(Refusal::NotALink(item)));
    }
    let Some(link) = db::links::by_message_url(db, it.item.message_ref, &it.item.url).await? else { return Ok(Err(Refusal::NotALink(item))) };
    if !link.link.state.attachable() {
        return Ok(Err(Refusal::AlreadyIn { item, state: link.link.state }));
    }
    if looks_like_html(&staged.head) {
        return Ok(Err(Refusal::NotMedia));
    }
    if !confirmed {
        if let Some(why) = mismatch(&link.link.name, link.link.caption_size, &staged.name, staged.size) {
            return Ok(Err(Refusal::Mismatch(why)));
        }
    }
    let rel = store.adopt_original(&staged.sha256, staged.file.path())?;
    let m = db::messages::get(db, link.link.message_ref).await?.ok_or_else(|| anyhow::anyhow!("邮件 {} 不存在", link.link.message_ref))?;
    let mut tx = db.begin().await?;
    let name = if staged.name.is_empty() { link.link.name.clone() } else { staged.name.clone() };
    let f = FileIn { sha256: &staged.sha256, original_path: &rel, file_name: &name, size: staged.size as i64, by: who };
    if !db::links::file_in(&mut tx, link.link.id, &f, now).await? {
        return Ok(Err(Refusal::AlreadyIn { item, state: State::TakenIn }));
    }
    let entry = db::journal::enqueue_redo(&mut tx, m.id, &m.raw_sha256, &m.raw_path, now).await?;
    db::journal::hold(&mut tx, db.backend, entry).await?;
    let after = serde_json::json!({"link": link.link.id, "url": link.link.url, "file": name, "size": staged.size, "sha256": staged.sha256}).to_string();
    let change = db::audit::Change { who, action: "link_attach", target: &format!("文件 {item}"), before: link.link.state.code(), after: &after };
    db::audit::record(&mut tx, now, &change).await?;
    tx.commit().await?;
    // Recorded now, so that the office sees the result at once; a crash before this
    // leaves the journal entry, which the workers take.
    let prepared = pipeline::prepare_redo(config, db, store, m.id, now).await?.journaled(entry);
    let outcome = pipeline::commit(config, db, store, prepared).await?;
    Ok(Ok(Attached { link: link.link.id, message_ref: m.id, department: m.department, cycle: m.cycle, outcome: Some(outcome) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sizes_that_clearly_differ() {
        let mb = 1 << 20;
        assert_eq!(mismatch("巡逻视频.mp4", 300 * mb, "巡逻视频.mp4", 300 * mb as u64), None);
        assert_eq!(mismatch("巡逻视频.mp4", 300 * mb, "巡逻视频 (1).mp4", 299 * mb as u64), None);
        assert!(mismatch("巡逻视频.mp4", 300 * mb, "巡逻视频.mp4", 10 * mb as u64).unwrap().contains("大小"));
        assert!(mismatch("巡逻视频.mp4", 300 * mb, "年终总结.zip", 300 * mb as u64).unwrap().contains("文件名"));
        assert!(mismatch("巡逻视频.mp4", 0, "别的.mp4", 5).is_some());
    }

    #[test]
    fn staging_hashes_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("v.mp4");
        std::fs::write(&src, b"\x00\x00\x00\x18ftypmp42 video bytes").unwrap();
        let s = stage(dir.path(), &src, 1 << 20).unwrap().unwrap();
        assert_eq!(s.sha256, crate::inspect::sha256_hex(b"\x00\x00\x00\x18ftypmp42 video bytes"));
        assert_eq!(s.name, "v.mp4");
        let len = std::fs::metadata(&src).unwrap().len();
        assert!(matches!(stage(dir.path(), &src, 4).unwrap().unwrap_err(), Refusal::TooLarge { size, max: 4 } if size > 4 && size <= len));
        std::fs::write(&src, b"").unwrap();
        assert_eq!(stage(dir.path(), &src, 4).unwrap().unwrap_err(), Refusal::Empty);
    }
}
