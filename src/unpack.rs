//! From a parsed message to files: attachments, inline images and forwarded messages
//! (message/rfc822), with ZIP, 7z and RAR archives opened recursively under limits.
//! Every problem becomes a recorded rejection; nothing is written to disk here. Files
//! are handed to a sink as they are found, borrowed, so that a large attachment is
//! never copied.

pub mod links;
pub mod names;
pub mod rar;
pub mod sevenz;
pub mod zip;

use chrono_tz::Tz;
use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};

use crate::config::Limits;
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
}

impl Unpacked {
    /// Whether the mail carried anything at all (a file, a refused file or a link).
    pub fn is_package(&self) -> bool {
        self.files > 0 || !self.refused.is_empty() || !self.links.is_empty() || self.message_rejection.is_some()
    }
}

struct Walk<'l, 's> {
    limits: &'l Limits,
    sink: &'s mut dyn FnMut(File<'_>),
    budget: u64,
    out: Unpacked,
    texts: Vec<String>,
    htmls: Vec<String>,
    unnamed: usize,
}

/// Walks `msg`, handing every file found to `sink`.
pub fn unpack(msg: &Message<'_>, limits: &Limits, tz: Tz, sink: &mut dyn FnMut(File<'_>)) -> Unpacked {
    let mut w = Walk { limits, sink, budget: limits.max_unpacked_bytes, out: Unpacked::default(), texts: vec![], htmls: vec![], unnamed: 0 };
    if count_parts(msg) > limits.max_mime_parts {
        w.out.message_rejection = Some(Rejection::TooManyParts);
        return w.out;
    }
    if let Err(r) = w.message(msg, 0) {
        w.out.message_rejection = Some(r);
        return w.out;
    }
    w.out.links = links::find(&w.texts, &w.htmls, tz);
    w.out
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

impl Walk<'_, '_> {
    fn message(&mut self, msg: &Message<'_>, depth: usize) -> Result<(), Rejection> {
        self.part(msg, 0, depth)
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
        match &part.body {
            PartType::Multipart(children) => {
                for &c in children {
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
                if declared_base64(part, raw) && part.is_encoding_problem {
                    let shown = named.map(|n| n.text).unwrap_or_else(|| "（正文）".into());
                    self.refuse(shown, Rejection::BrokenBase64, "");
                } else if let (Some(n), true) = (&named, is_attachment(part, raw)) {
                    self.file(vec![], n.text.clone(), t.as_bytes(), 0, charset_flag(n));
                } else if matches!(part.body, PartType::Html(_)) {
                    self.htmls.push(t.to_string());
                } else {
                    self.texts.push(t.to_string());
                }
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                let flags = named.as_ref().map(charset_flag).unwrap_or_default();
                let name = match named {
                    Some(n) => n.text,
                    None => {
                        self.unnamed += 1;
                        format!("未命名附件{}{}", self.unnamed, ext_for(part))
                    }
                };
                if declared_base64(part, raw) && part.is_encoding_problem {
                    self.refuse(name, Rejection::BrokenBase64, "");
                } else {
                    self.file(vec![], name, b, 0, flags);
                }
            }
        }
        Ok(())
    }

    fn refuse(&mut self, shown: String, rejection: Rejection, detail: &str) {
        self.out.refused.push(Refused { shown, rejection, detail: detail.to_string() });
    }

    /// A file at `folders`/`name` (as decoded); archives are opened, the rest kept.
    fn file(&mut self, folders: Vec<(String, String)>, name: String, data: &[u8], nesting: usize, mut flags: Vec<Flag>) {
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
        if (data.len() as u64) > self.budget {
            return self.refuse(shown, Rejection::TooLarge, "");
        }
        self.budget -= data.len() as u64;
        if changed {
            flags.push(Flag::NameSanitized);
        }
        let folders = folders.into_iter().map(|(_, safe)| safe).collect();
        self.out.files += 1;
        (self.sink)(File { folders, name: safe, shown, data, flags });
    }

    fn archive(&mut self, kind: ArchiveKind, data: &[u8], folders: Vec<(String, String)>, shown: &str, nesting: usize) {
        let l = self.limits;
        let entries: Vec<(String, Result<Vec<u8>, Rejection>)> = match kind {
            ArchiveKind::Zip => match self.zip_entries(data) {
                Ok(e) => e,
                Err(r) => return self.refuse(shown.to_string(), r, ""),
            },
            ArchiveKind::SevenZ | ArchiveKind::Rar => {
                let res = if kind == ArchiveKind::SevenZ {
                    sevenz::extract(data, l.max_archive_entries, self.budget, l.max_compression_ratio)
                } else {
                    rar::extract(data, l.max_archive_entries, self.budget, l.max_compression_ratio)
                };
                match res {
                    Ok(v) => v.into_iter().map(|e| (e.name, Ok(e.data))).collect(),
                    Err(r) => return self.refuse(shown.to_string(), r, ""),
                }
            }
        };
        // Two entries with one name in one folder both stay; the tree suffixes clashes.
        for (entry_name, bytes) in entries {
            let entry_shown = format!("{shown}/{entry_name}");
            let Some(mut parts) = names::split_entry_path(&entry_name) else {
                self.refuse(entry_shown, Rejection::UnsafePath, &entry_name);
                continue;
            };
            let Some(file_name) = parts.pop() else { continue };
            if is_system_file(&parts, &file_name) {
                continue;
            }
            let bytes = match bytes {
                Ok(b) => b,
                Err(r) => {
                    self.refuse(entry_shown, r, "");
                    continue;
                }
            };
            let mut f = folders.clone();
            f.extend(parts.into_iter().map(|p| {
                let safe = names::sanitize(&p).0;
                (p, safe)
            }));
            self.file(f, file_name, &bytes, nesting, vec![]);
        }
    }

    /// Reads a ZIP's entries after checking its declared sizes against the limits.
    fn zip_entries(&self, data: &[u8]) -> Result<Vec<(String, Result<Vec<u8>, Rejection>)>, Rejection> {
        let entries = zip::entries(data, self.limits.max_archive_entries)?;
        let files: Vec<_> = entries.into_iter().filter(|e| !e.is_dir()).collect();
        if files.iter().any(|e| e.encrypted) {
            return Err(Rejection::EncryptedArchive);
        }
        let declared: u64 = files.iter().map(|e| e.size).sum();
        if declared > self.budget {
            return Err(Rejection::TooLarge);
        }
        let ratio = self.limits.max_compression_ratio;
        if files.iter().any(|e| e.size > (1 << 20) && e.size / e.compressed.max(1) > ratio) {
            return Err(Rejection::ZipBomb);
        }
        Ok(files.into_iter().map(|e| (e.name.clone(), zip::read(data, &e))).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveKind {
    Zip,
    SevenZ,
    Rar,
}

/// Archives are told by content. A ZIP that is really a DOCX/XLSX is a document.
fn archive_kind(data: &[u8]) -> Option<ArchiveKind> {
    if data.starts_with(b"7z\xBC\xAF\x27\x1C") {
        Some(ArchiveKind::SevenZ)
    } else if data.starts_with(b"Rar!\x1A\x07") {
        Some(ArchiveKind::Rar)
    } else if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        let office = infer::get(data).is_some_and(|t| t.mime_type() != "application/zip");
        (!office).then_some(ArchiveKind::Zip)
    } else {
        None
    }
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

/// mail-parser gives up on a base64 body with a character outside the alphabet and
/// hands the part over as text with `is_encoding_problem` set.
fn declared_base64(part: &MessagePart<'_>, raw: &[u8]) -> bool {
    raw_header(part, raw, &HeaderName::ContentTransferEncoding)
        .is_some_and(|v| String::from_utf8_lossy(v).trim().eq_ignore_ascii_case("base64"))
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
