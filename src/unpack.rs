//! From a parsed message to files: attachments, inline images and forwarded messages
//! (message/rfc822), with ZIP, 7z and RAR archives opened recursively under limits.
//! Every problem becomes a recorded rejection; nothing is written to disk here except
//! RAR extraction's private files under the data directory's `tmp/`, and failing to
//! write those is an error (`Unpacked::disk_error`), not a rejection. Files are handed
//! to a sink as they are found, borrowed, so that a large attachment is never copied.
//!
//! Archives are streamed: each reader first checks the archive as a whole (entry count,
//! declared total against the remaining budget, the ratio of all declared sizes to the
//! archive's bytes, overlapping ZIP entries), then hands over one entry at a time with a
//! way to read it (`Visit`). The walk decides before reading: an entry declared larger
//! than `limits.max_file_bytes` is refused `too_large` without being decompressed, and
//! decompression never goes past the declared size. The entry's bytes live in one Vec
//! while the sink sees them and are dropped before the next entry is read.
//!
//! Why entries are held in memory and capped, rather than spooled to a temp file and
//! mapped: the sink (inspection, hashing, the blob write) reads every byte, and mapped
//! pages count in the resident set once touched, so a map would save nothing. The cap
//! costs nothing real: photos and videos do not compress, so a mail of up to 64 MiB
//! (48 MiB of attachment after base64) cannot carry a larger legitimate file. An archive
//! inside an archive stays held while its own entries are read, so the cap applies to
//! everything held at once (`Walk::held`). With mail-parser's raw and decoded copies
//! (about 64 + 48 MiB for the largest mail), this keeps one message under 256 MiB.

mod limits;
pub mod links;
pub mod names;
pub mod rar;
pub mod sevenz;
pub mod spooled;
pub mod zip;

use std::io;
use std::path::Path;

use chrono_tz::Tz;
use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};

pub use limits::Limits;
use crate::parse::mail::Spooled;
use crate::parse::{part_name, raw_header};
use crate::rejection::{Flag, Rejection};
use links::ExternalLink;

/// A file found in the message, ready to be inspected.
#[derive(Debug, Clone)]
pub struct File<'a> {
    /// Folder components it sat in: archive names (without extension), then folders inside.
    pub folders: Vec<String>,
    /// Its safe name.
    pub name: String,
    /// Where it came from, as the sender would recognise it: "素材.zip/①党建/1.jpg".
    pub shown: String,
    pub data: &'a [u8],
    pub flags: Vec<Flag>,
    /// A part shown inside the HTML body: its Content-ID is referenced by a `cid:` in
    /// an HTML part of the same message, and it is not marked as an attachment. A
    /// small one is a signature logo or a decoration, not a work (`pipeline`).
    pub inline: bool,
    /// A part streamed out of a large message, or a link's original: `data` maps this file.
    pub on_disk: Option<spooled::OnDisk>,
    /// The 超大附件 link it was taken in for, if it came from one (see `original`).
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub shown: String,
    pub rejection: Rejection,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Unpacked {
    /// How many files went to the sink.
    pub files: usize,
    pub refused: Vec<Refused>,
    pub links: Vec<ExternalLink>,
    /// Names of archives and attached messages' subjects: they may name a department or month.
    pub names: Vec<String>,
    /// The message as a whole was refused (too many parts, nested too deep).
    pub message_rejection: Option<Rejection>,
    pub unknown_charset: bool,
    /// Writing a temporary file failed (RAR extraction): the walk stopped there, and
    /// the message must be retried, not recorded.
    pub disk_error: Option<io::Error>,
}

impl Unpacked {
    /// Whether the mail carried anything at all (a file, a refused file or a link).
    pub fn is_package(&self) -> bool {
        self.files > 0 || !self.refused.is_empty() || !self.links.is_empty() || self.message_rejection.is_some()
    }
}

struct Walk<'l, 's> {
    limits: &'l Limits,
    tmp: &'l Path,
    /// The spool file of a large message, whose attachment bodies are read from it.
    spool: Option<&'l Spooled>,
    /// Where the part being handed over is on disk (a spooled part).
    on_disk: Option<spooled::OnDisk>,
    /// The link whose original is being walked.
    link: Option<&'l str>,
    sink: &'s mut dyn FnMut(File<'_>),
    /// What may still be unpacked: `max_unpacked_bytes` less every byte decompressed
    /// from an archive and every attachment kept.
    budget: u64,
    /// Bytes of archive entries held in memory right now (an entry, and the archives
    /// it sits in when they are entries themselves).
    held: u64,
    out: Unpacked,
    texts: Vec<String>,
    htmls: Vec<String>,
    unnamed: usize,
    /// Content-IDs referenced by `cid:` in the HTML parts of the message being walked.
    cids: std::collections::HashSet<String>,
}

/// Walks `msg`, handing every file found to `sink`. `tmp` is the data directory's
/// temporary folder (RAR extraction, spooled parts). `spool` is given when `msg` was
/// parsed from a large message's skeleton.
pub fn unpack(msg: &Message<'_>, spool: Option<&Spooled>, limits: &Limits, tz: Tz, tmp: &Path, sink: &mut dyn FnMut(File<'_>)) -> Unpacked {
    let mut w = Walk::new(limits, tmp, spool, sink);
    if count_parts(msg) > limits.max_mime_parts {
        w.out.message_rejection = Some(Rejection::TooManyParts);
        return w.out;
    }
    if let Err(r) = w.message(msg, 0) {
        w.out.message_rejection = Some(r);
        return w.out;
    }
    if w.out.disk_error.is_some() {
        return w.out;
    }
    w.out.links = links::find(&w.texts, &w.htmls, tz);
    w.out
}

/// A 超大附件 link's file (downloaded, or taken in by hand), kept as an original at
/// `path` with SHA-256 `sha256`: mapped, and walked as an attachment named `name` of
/// its message would be (an archive is opened, a video inspected), each file marked
/// with `link`. The caller's limits apply, with `[links] max_size` as the budget.
pub fn original(path: &Path, name: &str, sha256: &str, link: &str, limits: &Limits, tmp: &Path, sink: &mut dyn FnMut(File<'_>)) -> io::Result<Unpacked> {
    let file = std::fs::File::open(path)?;
    let mut w = Walk::new(limits, tmp, None, sink);
    w.link = Some(link);
    if file.metadata()?.len() == 0 {
        w.refuse(name.to_string(), Rejection::EmptyFile, "");
        return Ok(w.out);
    }
    // SAFETY: originals are read-only (0444) and never written while mapped.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    w.on_disk = Some(spooled::OnDisk { path: path.to_path_buf(), sha256: sha256.to_string() });
    w.file(vec![], name.to_string(), &map, 0, vec![], false);
    Ok(w.out)
}

fn count_parts(msg: &Message<'_>) -> usize {
    msg.parts
        .iter()
        .map(|p| match &p.body {
            PartType::Message(m) => 1 + count_parts(m),
            _ => 1,
        })
        .sum()
}

impl<'l, 's> Walk<'l, 's> {
    fn new(limits: &'l Limits, tmp: &'l Path, spool: Option<&'l Spooled>, sink: &'s mut dyn FnMut(File<'_>)) -> Walk<'l, 's> {
        Walk { limits, tmp, spool, on_disk: None, link: None, sink, budget: limits.max_unpacked_bytes, held: 0, out: Unpacked::default(), texts: vec![], htmls: vec![], unnamed: 0, cids: Default::default() }
    }

    fn message(&mut self, msg: &Message<'_>, depth: usize) -> Result<(), Rejection> {
        // A forwarded message's body references its own parts: its cids are its own.
        let outer = std::mem::replace(&mut self.cids, referenced_cids(msg));
        let r = self.part(msg, 0, depth);
        self.cids = outer;
        r
    }

    fn part(&mut self, msg: &Message<'_>, id: usize, depth: usize) -> Result<(), Rejection> {
        if depth > self.limits.max_mime_depth {
            return Err(Rejection::MimeTooDeep);
        }
        let Some(part) = msg.parts.get(id) else { return Ok(()) };
        let raw = msg.raw_message();
        let named = part_name(part, raw);
        if let Some(n) = &named {
            self.out.unknown_charset |= n.unknown_charset;
        }
        if let Some(segments) = self.spooled_segments(part, raw) {
            self.spooled_part(part, raw, named, &segments);
            return Ok(());
        }
        // A base64 body is judged from its raw text (parse::base64_part): mail-parser
        // gives up on an intact body whose closing boundary is missing, and accepts one
        // cut mid-quantum.
        let recovered;
        let body = match crate::parse::base64_part(part, raw) {
            Some(crate::parse::Base64Part::Refused(_)) => {
                let shown = named.map(|n| n.text).unwrap_or_else(|| "（正文）".into());
                self.refuse(shown, Rejection::BrokenBase64, "");
                return Ok(());
            }
            Some(crate::parse::Base64Part::Recovered(b)) => {
                recovered = b;
                &recovered
            }
            _ => &part.body,
        };
        match body {
            PartType::Multipart(children) => {
                for &c in children {
                    if self.out.disk_error.is_some() {
                        break;
                    }
                    self.part(msg, c as usize, depth + 1)?;
                }
            }
            PartType::Message(inner) => {
                let subject = crate::parse::envelope(inner).subject;
                if !subject.is_empty() {
                    self.out.names.push(subject);
                }
                self.message(inner, depth + 1)?;
            }
            PartType::Text(t) | PartType::Html(t) => {
                if let (Some(n), true) = (&named, is_attachment(part, raw)) {
                    self.file(vec![], n.text.clone(), t.as_bytes(), 0, charset_flag(n), false);
                } else if matches!(body, PartType::Html(_)) {
                    self.htmls.push(t.to_string());
                } else {
                    self.texts.push(t.to_string());
                }
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                let (name, flags) = self.file_name(part, named);
                let inline = self.is_inline(part, raw);
                self.file(vec![], name, b, 0, flags, inline);
            }
        }
        Ok(())
    }

    /// A file part's name (numbered when it has none) and the flags its name earns.
    fn file_name(&mut self, part: &MessagePart<'_>, named: Option<crate::parse::header::Decoded>) -> (String, Vec<Flag>) {
        let flags = named.as_ref().map(charset_flag).unwrap_or_default();
        let name = match named {
            Some(n) => n.text,
            None => {
                self.unnamed += 1;
                format!("未命名附件{}{}", self.unnamed, ext_for(part))
            }
        };
        (name, flags)
    }

    /// Shown inside the HTML body (see `File::inline`).
    fn is_inline(&self, part: &MessagePart<'_>, raw: &[u8]) -> bool {
        !is_attachment(part, raw) && part.content_id().is_some_and(|id| self.cids.contains(&cid_key(id)))
    }

    /// The body of a leaf part with holes in it (parts of it left in the spool file).
    fn spooled_segments(&self, part: &MessagePart<'_>, raw: &[u8]) -> Option<Vec<crate::parse::skeleton::Segment>> {
        let spool = self.spool?;
        if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
            return None;
        }
        let skeleton = &spool.skeleton.bytes;
        // Where `raw` (the message or the attached message the part is in) sits in
        // the skeleton; an attached message decoded from base64 is a copy, not in it.
        let offset = (raw.as_ptr() as usize).checked_sub(skeleton.as_ptr() as usize).filter(|o| o + raw.len() <= skeleton.len())?;
        spool.skeleton.segments(offset + part.raw_body_offset() as usize..offset + part.raw_end_offset() as usize)
    }

    /// A part whose body is (partly) in the spool file, or left out of a small
    /// message's skeleton: decoded from it into a temporary file, which is mapped, or
    /// into memory, and handed over like any part.
    fn spooled_part(&mut self, part: &MessagePart<'_>, raw: &[u8], named: Option<crate::parse::header::Decoded>, segments: &[crate::parse::skeleton::Segment]) {
        let Some(spool) = self.spool else { return };
        let cte = raw_header(part, raw, &HeaderName::ContentTransferEncoding).map(|v| String::from_utf8_lossy(v).trim().to_ascii_lowercase()).unwrap_or_default();
        let transfer = match cte.as_str() {
            "base64" => spooled::Transfer::Base64,
            "" | "7bit" | "8bit" | "binary" => spooled::Transfer::AsIs,
            other => {
                let (name, _) = self.file_name(part, named);
                let detail = format!("超过 {} MiB 的部分只收 base64 编码，这一部分是 {other}", crate::parse::mail::WHOLE_UP_TO >> 20);
                return self.refuse(name, Rejection::TooLarge, &detail);
            }
        };
        if spool.in_memory() {
            let body = match spooled::decode_in_memory(spool, segments, transfer) {
                Ok(b) => b,
                Err(failure) => return self.spool_failed(named, failure),
            };
            let (name, flags) = self.file_name(part, named);
            let inline = self.is_inline(part, raw);
            return self.file(vec![], name, &body, 0, flags, inline);
        }
        let decoded = match spooled::decode(spool, segments, transfer, self.tmp) {
            Ok(d) => d,
            Err(failure) => return self.spool_failed(named, failure),
        };
        let (name, flags) = self.file_name(part, named);
        if decoded.len == 0 {
            return self.refuse(name, Rejection::EmptyFile, "");
        }
        // SAFETY: the temporary file is private to this process and not written while mapped.
        let map = match unsafe { memmap2::Mmap::map(decoded.file.as_file()) } {
            Ok(m) => m,
            Err(e) => {
                self.out.disk_error = Some(e);
                return;
            }
        };
        let inline = self.is_inline(part, raw);
        self.on_disk = Some(spooled::OnDisk { path: decoded.file.path().to_path_buf(), sha256: decoded.sha256.clone() });
        self.file(vec![], name, &map, 0, flags, inline);
        self.on_disk = None;
    }

    /// A spooled body that could not be decoded: refused as a broken base64 body is
    /// when read whole (shown by its name, or as the body), or a disk error.
    fn spool_failed(&mut self, named: Option<crate::parse::header::Decoded>, failure: spooled::Failure) {
        match failure {
            spooled::Failure::Broken(_) => self.refuse(named.map(|n| n.text).unwrap_or_else(|| "（正文）".into()), Rejection::BrokenBase64, ""),
            spooled::Failure::Disk(e) => self.out.disk_error = Some(e),
        }
    }

    fn refuse(&mut self, shown: String, rejection: Rejection, detail: &str) {
        self.out.refused.push(Refused { shown, rejection, detail: detail.to_string() });
    }

    /// A file at `folders`/`name` (as decoded); archives are opened, the rest kept.
    /// `nesting` is 0 for the message's own parts, whose bytes are charged here;
    /// archive entries were charged when they were read.
    fn file(&mut self, folders: Vec<(String, String)>, name: String, data: &[u8], nesting: usize, mut flags: Vec<Flag>, inline: bool) {
        if self.out.disk_error.is_some() {
            return;
        }
        let shown_prefix: String = folders.iter().map(|(shown, _)| format!("{shown}/")).collect();
        let shown = format!("{shown_prefix}{name}");
        if data.is_empty() {
            return self.refuse(shown, Rejection::EmptyFile, "");
        }
        let (safe, changed) = names::sanitize(&name);
        let kind = archive_kind(data);
        if let Some(kind) = kind {
            self.out.names.push(name.clone());
            if nesting >= self.limits.max_nesting_depth {
                return self.refuse(shown, Rejection::NestingTooDeep, "");
            }
            let mut inner_folders = folders.clone();
            inner_folders.push((name.clone(), names::stem(&safe).to_string()));
            return self.archive(kind, data, inner_folders, &shown, nesting + 1);
        }
        if nesting == 0 {
            if (data.len() as u64) > self.budget {
                return self.refuse(shown, Rejection::TooLarge, "");
            }
            self.budget -= data.len() as u64;
        }
        if changed {
            flags.push(Flag::NameSanitized);
        }
        let folders = folders.into_iter().map(|(_, safe)| safe).collect();
        self.out.files += 1;
        // Only the part itself is where `on_disk` says, not what an archive holds.
        let on_disk = if nesting == 0 { self.on_disk.take() } else { None };
        let link = self.link.map(str::to_string);
        (self.sink)(File { folders, name: safe, shown, data, flags, inline, on_disk, link });
    }

    fn archive(&mut self, kind: ArchiveKind, data: &[u8], folders: Vec<(String, String)>, shown: &str, nesting: usize) {
        let (l, tmp) = (self.limits, self.tmp);
        let mut visit = ArchiveVisit { walk: self, folders, shown, nesting };
        let result = match kind {
            ArchiveKind::Zip => zip_entries(data, l, &mut visit),
            ArchiveKind::SevenZ => sevenz::extract(data, l.max_archive_entries, l.max_compression_ratio, &mut visit),
            ArchiveKind::Rar => rar::extract(data, l.max_archive_entries, l.max_compression_ratio, tmp, &mut visit),
        };
        match result {
            Ok(()) => {}
            Err(Failure::Refused(Rejection::EmptyFile)) => self.refuse(shown.to_string(), Rejection::EmptyFile, "压缩包内没有文件"),
            Err(Failure::Refused(r)) => self.refuse(shown.to_string(), r, ""),
            Err(Failure::Detailed(r, detail)) => self.refuse(shown.to_string(), r, &detail),
            Err(Failure::Disk(e)) => self.out.disk_error = Some(e),
            Err(Failure::Broken) => self.refuse(shown.to_string(), Rejection::CorruptArchive, ""),
        }
    }
}

fn zip_entries(data: &[u8], l: &Limits, visit: &mut dyn Visit) -> Result<(), Failure> {
    let files = zip::open(data, l.max_archive_entries, l.max_compression_ratio)?;
    let declared = files.iter().fold(0u64, |sum, e| sum.saturating_add(e.size));
    visit.declared(declared, files.len())?;
    for e in files {
        let mut read = || match zip::read(data, &e) {
            Err(Rejection::UnsupportedMethod) => Err(Failure::Detailed(Rejection::UnsupportedMethod, zip::method_name(e.method))),
            r => r.map_err(Failure::from),
        };
        if !visit.entry(e.name.clone(), e.size, &mut read) {
            break;
        }
    }
    Ok(())
}

/// Why an archive or an entry could not be read: a problem in the input, or the disk.
#[derive(Debug)]
pub enum Failure {
    Refused(Rejection),
    /// Refused, with a Chinese detail (which compression method).
    Detailed(Rejection, String),
    Disk(io::Error),
    /// A stream format (7z, RAR) broke inside this entry: nothing after it can be read,
    /// and the reader refuses the archive as a whole instead of this one entry.
    Broken,
}

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Failure {
        Failure::Refused(r)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Disk(e)
    }
}

/// The walk's side of an archive reader: told the archive's totals once, then handed
/// each file entry with a way to read it.
pub trait Visit {
    /// The sum of the file entries' declared sizes and their count, before any is read.
    /// An error refuses the archive as a whole (`empty_file` when there are none).
    fn declared(&mut self, total: u64, files: usize) -> Result<(), Rejection>;
    /// One file entry, declared `size` bytes. `read` decompresses it (never more than
    /// `size` bytes) and may be left uncalled. Returns false when the walk must stop.
    fn entry(&mut self, name: String, size: u64, read: &mut dyn FnMut() -> Result<Vec<u8>, Failure>) -> bool;
}

struct ArchiveVisit<'w, 'l, 's> {
    walk: &'w mut Walk<'l, 's>,
    folders: Vec<(String, String)>,
    shown: &'w str,
    nesting: usize,
}

impl Visit for ArchiveVisit<'_, '_, '_> {
    fn declared(&mut self, total: u64, files: usize) -> Result<(), Rejection> {
        if files == 0 {
            return Err(Rejection::EmptyFile);
        }
        if total > self.walk.budget {
            return Err(Rejection::TooLarge);
        }
        Ok(())
    }

    // Two entries with one name in one folder both stay; the tree suffixes clashes.
    fn entry(&mut self, entry_name: String, size: u64, read: &mut dyn FnMut() -> Result<Vec<u8>, Failure>) -> bool {
        let w = &mut *self.walk;
        let entry_shown = format!("{}/{entry_name}", self.shown);
        let Some(mut parts) = names::split_entry_path(&entry_name) else {
            w.refuse(entry_shown, Rejection::UnsafePath, &entry_name);
            return true;
        };
        // A name of only dots and slashes ("." or "./.") has no file name left.
        let Some(file_name) = parts.pop() else {
            w.refuse(entry_shown, Rejection::UnsafePath, &entry_name);
            return true;
        };
        if is_system_file(&parts, &file_name) {
            return true;
        }
        let entry_shown = format!("{}/{}", self.shown, parts.iter().chain([&file_name]).map(String::as_str).collect::<Vec<_>>().join("/"));
        let cap = w.limits.max_file_bytes;
        if w.held.saturating_add(size) > cap {
            let detail = format!("单个文件 {} MiB，超过上限 {} MiB（limits.max_file_size）", size.div_ceil(1 << 20), cap >> 20);
            w.refuse(entry_shown, Rejection::TooLarge, &detail);
            return true;
        }
        if size > w.budget {
            w.refuse(entry_shown, Rejection::TooLarge, "");
            return true;
        }
        let bytes = match read() {
            Ok(b) => b,
            Err(Failure::Refused(r)) => {
                w.refuse(entry_shown, r, "");
                return true;
            }
            Err(Failure::Detailed(r, detail)) => {
                w.refuse(entry_shown, r, &detail);
                return true;
            }
            Err(Failure::Disk(e)) => {
                w.out.disk_error = Some(e);
                return false;
            }
            Err(Failure::Broken) => return false,
        };
        let len = bytes.len() as u64;
        w.budget = w.budget.saturating_sub(len);
        w.held += len;
        let mut f = self.folders.clone();
        f.extend(parts.into_iter().map(|p| {
            let safe = names::sanitize(&p).0;
            (p, safe)
        }));
        w.file(f, file_name, &bytes, self.nesting, vec![], false);
        w.held -= len;
        w.out.disk_error.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    Zip,
    SevenZ,
    Rar,
}

/// Archives are told by content. A ZIP that is really an office document (OOXML or
/// ODF, its parts in any order) is a document, kept whole.
fn archive_kind(data: &[u8]) -> Option<ArchiveKind> {
    if data.starts_with(b"7z\xBC\xAF\x27\x1C") {
        Some(ArchiveKind::SevenZ)
    } else if data.starts_with(b"Rar!\x1A\x07") {
        Some(ArchiveKind::Rar)
    } else if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        let office = zip::document_mime(data).is_some() || infer::get(data).is_some_and(|t| t.mime_type() != "application/zip");
        (!office).then_some(ArchiveKind::Zip)
    } else {
        None
    }
}

/// The Content-IDs that the HTML parts of `msg` (not of messages inside it) show with
/// `<img src="cid:…">`, as `cid_key`s. RFC 2392 percent-encodes the cid URL; QQ Mail,
/// Foxmail and Outlook write it plain.
fn referenced_cids(msg: &Message<'_>) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for p in &msg.parts {
        let PartType::Html(html) = &p.body else { continue };
        let lower = html.to_ascii_lowercase();
        let mut from = 0;
        while let Some(at) = lower[from..].find("cid:") {
            let start = from + at + 4;
            let end = html[start..].find(|c: char| matches!(c, '"' | '\'' | '>' | ')') || c.is_whitespace()).map_or(html.len(), |e| start + e);
            out.insert(cid_key(&percent_encoding::percent_decode_str(&html[start..end]).decode_utf8_lossy()));
            from = end.max(start);
        }
    }
    out
}

/// A Content-ID as compared: without angle brackets or spaces, lower-cased.
fn cid_key(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').trim().to_ascii_lowercase()
}

/// Metadata that archivers add by themselves (macOS resource forks, Windows thumbnail
/// caches): not the sender's material, so neither kept nor reported.
fn is_system_file(folders: &[String], name: &str) -> bool {
    folders.iter().any(|f| f == "__MACOSX")
        || ["thumbs.db", ".ds_store", "desktop.ini"].contains(&name.to_ascii_lowercase().as_str())
}

fn charset_flag(name: &crate::parse::header::Decoded) -> Vec<Flag> {
    if name.unknown_charset { vec![Flag::UnknownCharset] } else { vec![] }
}

fn is_attachment(part: &MessagePart<'_>, raw: &[u8]) -> bool {
    raw_header(part, raw, &HeaderName::ContentDisposition)
        .is_some_and(|v| String::from_utf8_lossy(v).trim_start().to_ascii_lowercase().starts_with("attachment"))
}

fn ext_for(part: &MessagePart<'_>) -> &'static str {
    match part.content_type().map(|c| (c.c_type.as_ref().to_ascii_lowercase(), c.subtype().unwrap_or("").to_ascii_lowercase())) {
        Some((t, s)) if t == "image" && s == "jpeg" => ".jpg",
        Some((t, s)) if t == "image" && s == "png" => ".png",
        Some((t, _)) if t == "video" => ".mp4",
        _ => ".bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::mail::Mail;
    use base64::Engine as _;

    /// What unpacking hands over and refuses, with each file's bytes hashed.
    fn unpacked(mail: &Mail, tmp: &Path) -> String {
        let msg = crate::parse::parse(mail.bytes()).expect("parses");
        let mut files = vec![];
        let out = unpack(&msg, mail.spooled(), &Limits::default(), chrono_tz::Asia::Shanghai, tmp, &mut |f| {
            files.push(format!("{:?} {} {} {} {:?} {}", f.folders, f.name, f.shown, crate::hash::sha256_hex(f.data), f.flags, f.inline));
        });
        format!("{files:#?}\n{:?}\n{:?}\n{:?}\n{:?}", out.refused, out.names, out.links, out.message_rejection)
    }

    fn b64(data: &[u8]) -> String {
        let text = base64::engine::general_purpose::STANDARD.encode(data);
        text.as_bytes().chunks(76).map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap())).collect()
    }

    /// A package with every kind of part a small message's skeleton must leave to
    /// mail-parser, or decode the same as mail-parser would.
    fn package() -> String {
        let bytes = |n: usize, seed: u32| -> Vec<u8> { (0..n as u32).map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 11) as u8).collect() };
        let text: String = "四月份素材，请查收。".repeat(800);
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let html = format!("<html><body><p>{}</p><img src=\"cid:logo@x\"></body></html>", text.repeat(2));
        let good = b64(&bytes(30_000, 1));
        let broken = good.replacen('Q', "*", 1).replacen("\r\n", "\r\n*", 200);
        let stray = format!("{}QQ==\r\n{}", &good[..good.len() / 2 / 78 * 78], b64(&bytes(9000, 2)));
        let inner = format!(
            "From: a@b.c\r\nSubject: =?UTF-8?B?{}?=\r\nContent-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: image/jpeg; name=\"转发.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--in--\r\n",
            base64::engine::general_purpose::STANDARD.encode("转发的素材"),
            b64(&bytes(12_000, 3))
        );
        let part = |headers: &str, body: &str| format!("--b\r\n{headers}\r\n\r\n{body}\r\n");
        [
            "From: =?GBK?B?vbvN?= <jg@qq.com>\r\nTo: x@qq.com\r\nSubject: 4月 交管大队\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n".to_string(),
            part("Content-Type: text/plain; charset=\"gbk\"\r\nContent-Transfer-Encoding: base64", &b64(&gbk)),
            part("Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64", &b64(html.as_bytes())),
            part("Content-Type: image/jpeg; name=\"1.jpg\"\r\nContent-Disposition: attachment; filename=\"1.jpg\"\r\nContent-Transfer-Encoding: base64", &good),
            part("Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64", &b64(&bytes(20_000, 4))),
            part("Content-Type: application/octet-stream; name=\"坏.jpg\"\r\nContent-Transfer-Encoding: base64", &broken),
            part("Content-Type: application/octet-stream; name=\"截断.jpg\"\r\nContent-Transfer-Encoding: base64", &good[..good.len() - 7]),
            part("Content-Type: application/octet-stream; name=\"中间有等号.jpg\"\r\nContent-Transfer-Encoding: base64", &stray),
            part("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64", &b64(&bytes(10_000, 5))),
            part("Content-Type: text/plain; name=\"名单.txt\"\r\nContent-Disposition: attachment; filename=\"名单.txt\"\r\nContent-Transfer-Encoding: base64", &b64(&gbk)),
            part("Content-Type: application/octet-stream; name=\"8bit.dat\"\r\nContent-Transfer-Encoding: 8bit", &good),
            part("Content-Type: message/rfc822", &inner),
            part("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64", &b64(inner.as_bytes())),
            // The last part loses its closing boundary.
            format!("--b\r\nContent-Type: image/jpeg; name=\"末尾.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}", b64(&bytes(16_000, 6))),
        ]
        .concat()
    }

    #[test]
    fn a_small_message_unpacks_the_same_with_its_files_left_out_of_the_skeleton() {
        let tmp = tempfile::tempdir().unwrap();
        let package = package();
        let samples = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sample-mailbox")).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap());
        let mut spooled = 0;
        for raw in std::iter::once(package.clone().into_bytes()).chain(samples) {
            let whole = unpacked(&Mail::Whole(raw.clone()), tmp.path());
            let mail = Mail::in_memory(raw);
            if let Some(s) = mail.spooled() {
                spooled += 1;
                assert!(s.in_memory());
            }
            assert_eq!(unpacked(&mail, tmp.path()), whole);
        }
        assert!(spooled >= 3, "{spooled} of the messages had files left out of their skeleton");
        // In the package, only the base64 files' bodies are holes: not the text, the
        // HTML, the 名单.txt attachment, the 8bit part or the attached messages. The
        // part that lost its closing boundary is left to mail-parser too.
        let Mail::Spooled(s) = Mail::in_memory(package.into_bytes()) else { panic!("the package's files are decoded outside mail-parser") };
        let types: Vec<String> = s.skeleton.holes.iter().map(|h| {
            let before = String::from_utf8_lossy(&s.skeleton.bytes[..h.at]);
            before.rsplit("Content-Type: ").next().unwrap().lines().next().unwrap().to_string()
        }).collect();
        let want = ["image/jpeg; name=\"1.jpg\"", "image/png", "application/octet-stream; name=\"截断.jpg\"", "application/octet-stream; name=\"中间有等号.jpg\"", "application/octet-stream"];
        assert_eq!(types, want);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "nothing is written for a small message");
    }
}
