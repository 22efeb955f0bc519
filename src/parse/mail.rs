//! A stored raw message, read for analysis within a memory bound: whole when it is
//! small, as a skeleton with its attachment bodies left in the file when it is large
//! (`parse::skeleton`), so that a 300 MiB message costs a few MiB to analyse.
//!
//! A small message is read into memory, and its attachments' bodies are still left
//! out of what mail-parser reads (`file_holes_only`): unpacking
//! then decodes each one from the raw text many lines at a time (`parse::base64`),
//! where mail-parser decodes a character at a time. Which files come out, and their
//! bytes, are the same either way.

use std::io::{self, Read};
use std::ops::Range;
use std::path::Path;

use super::skeleton::{self, Skeleton};

/// Messages up to this size are read whole.
pub const WHOLE_UP_TO: u64 = 16 << 20;
/// Runs of base64 lines from this long are left in the file.
const MIN_HOLE: usize = 1 << 20;
/// In a message read whole, runs from this long are decoded outside mail-parser.
const MIN_HOLE_IN_MEMORY: usize = 8 << 10;
/// The most a large message's skeleton may hold (headers, text, small parts).
pub const MAX_SKELETON: usize = 16 << 20;
/// What is read of a message whose skeleton would be larger, to learn its sender.
const HEAD: u64 = 256 << 10;

#[derive(Debug)]
pub enum Mail {
    Whole(Vec<u8>),
    Spooled(Spooled),
    /// Large, and more than `MAX_SKELETON` of it is not base64 bodies: refused
    /// `too_large`. `head` is its beginning, for the envelope.
    Oversized { head: Vec<u8>, len: u64 },
}

/// A message as its skeleton, and where its holes are read from.
#[derive(Debug)]
pub struct Spooled {
    pub skeleton: Skeleton,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// A large message: the holes stay in the file.
    File(std::fs::File),
    /// A small one, read whole.
    Memory(Vec<u8>),
}

impl Mail {
    pub fn open(path: &Path) -> io::Result<Mail> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len <= WHOLE_UP_TO {
            let mut raw = Vec::with_capacity(len as usize);
            (&file).read_to_end(&mut raw)?;
            return Ok(Mail::in_memory(raw));
        }
        match skeleton::build(&file, MIN_HOLE, MAX_SKELETON)? {
            Some(skeleton) => Ok(Mail::Spooled(Spooled { skeleton, source: Source::File(file) })),
            None => {
                let mut head = Vec::new();
                std::fs::File::open(path)?.take(HEAD).read_to_end(&mut head)?;
                Ok(Mail::Oversized { head, len })
            }
        }
    }

    /// A message read whole: as a skeleton over it when every hole is a file's body.
    pub fn in_memory(raw: Vec<u8>) -> Mail {
        let skeleton = skeleton::build_in(&raw, MIN_HOLE_IN_MEMORY, MAX_SKELETON).filter(|s| !s.holes.is_empty());
        match skeleton.and_then(|s| file_holes_only(s, &raw)) {
            Some(skeleton) => Mail::Spooled(Spooled { skeleton, source: Source::Memory(raw) }),
            None => Mail::Whole(raw),
        }
    }

    /// The bytes mail-parser reads.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Mail::Whole(raw) => raw,
            Mail::Spooled(s) => &s.skeleton.bytes,
            Mail::Oversized { head, .. } => head,
        }
    }

    pub fn spooled(&self) -> Option<&Spooled> {
        match self {
            Mail::Spooled(s) => Some(s),
            _ => None,
        }
    }
}

impl Spooled {
    /// Whether the message is in memory (small): its parts are decoded into memory too.
    pub fn in_memory(&self) -> bool {
        matches!(self.source, Source::Memory(_))
    }

    /// Reads `range` of the message: from memory at once, from the file in pieces of
    /// at most 1 MiB.
    pub fn read_range(&self, range: std::ops::Range<u64>, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let file = match &self.source {
            Source::File(f) => f,
            Source::Memory(raw) => {
                let piece = raw.get(range.start as usize..range.end as usize).ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "原始邮件比分析时短"))?;
                return each(piece);
            }
        };
        let mut buf = vec![0u8; (1 << 20).min((range.end - range.start) as usize)];
        let mut at = range.start;
        while at < range.end {
            let want = ((range.end - at) as usize).min(buf.len());
            let n = file.read_at(&mut buf[..want], at)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "原始邮件比分析时短"));
            }
            each(&buf[..n])?;
            at += n as u64;
        }
        Ok(())
    }
}

/// The skeleton of a small message with holes only where unpacking decodes them as
/// files: the whole base64 body of a leaf part that mail-parser reads as bytes (an
/// attachment, an inline image). A hole in a text or HTML body, in an attached message
/// or in a part that is not base64 gets its text back, so mail-parser reads that part
/// as before. None when no hole is left, or on any doubt (a skeleton it cannot parse,
/// a panic): the message is then read whole.
fn file_holes_only(sk: Skeleton, raw: &[u8]) -> Option<Skeleton> {
    let sk = match file_bodies(&sk) {
        Some(files) if sk.holes.iter().all(|h| in_any(&files, h.at)) => sk,
        Some(files) => {
            let sk = sk.keeping(raw, &|h| in_any(&files, h.at));
            // Parsed again without them, the parts keep their holes.
            let files = file_bodies(&sk)?;
            sk.holes.iter().all(|h| in_any(&files, h.at)).then_some(sk)?
        }
        None => return None,
    };
    (!sk.holes.is_empty()).then_some(sk)
}

fn in_any(ranges: &[Range<usize>], at: usize) -> bool {
    ranges.iter().any(|r| r.contains(&at))
}

/// Where in the skeleton the bodies of its base64 file parts are.
fn file_bodies(sk: &Skeleton) -> Option<Vec<Range<usize>>> {
    std::panic::catch_unwind(|| {
        let msg = super::parse(&sk.bytes)?;
        let mut out = Vec::new();
        collect_file_bodies(&msg, &sk.bytes, 0, &mut out);
        Some(out)
    })
    .ok()
    .flatten()
}

/// `file_bodies` of `msg`, attached messages included where their text is the
/// skeleton's own, to a depth past which unpacking refuses the message anyway.
fn collect_file_bodies(msg: &mail_parser::Message<'_>, skeleton: &[u8], depth: usize, out: &mut Vec<Range<usize>>) {
    use mail_parser::{HeaderName, PartType};
    let raw = msg.raw_message();
    let Some(offset) = (raw.as_ptr() as usize).checked_sub(skeleton.as_ptr() as usize).filter(|o| o + raw.len() <= skeleton.len()) else { return };
    if depth > 64 {
        return;
    }
    for part in &msg.parts {
        match &part.body {
            PartType::Message(inner) => collect_file_bodies(inner, skeleton, depth + 1, out),
            PartType::Binary(_) | PartType::InlineBinary(_) => {
                if super::raw_header(part, raw, &HeaderName::ContentTransferEncoding).is_some_and(|v| String::from_utf8_lossy(v).trim().eq_ignore_ascii_case("base64")) {
                    out.push(offset + part.raw_body_offset() as usize..offset + part.raw_end_offset() as usize);
                }
            }
            _ => {}
        }
    }
}
