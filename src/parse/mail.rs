//! A stored raw message, read for analysis within a memory bound: whole when it is
//! small, as a skeleton with its attachment bodies left in the file when it is large
//! (`parse::skeleton`), so that a 300 MiB message costs a few MiB to analyse.

use std::io::{self, Read};
use std::path::Path;

use super::skeleton::{self, Skeleton};

/// Messages up to this size are read whole.
pub const WHOLE_UP_TO: u64 = 16 << 20;
/// Runs of base64 lines from this long are left in the file.
const MIN_HOLE: usize = 1 << 20;
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

/// A large message: its skeleton, and the file its holes are read from.
#[derive(Debug)]
pub struct Spooled {
    pub skeleton: Skeleton,
    pub file: std::fs::File,
}

impl Mail {
    pub fn open(path: &Path) -> io::Result<Mail> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        if len <= WHOLE_UP_TO {
            let mut raw = Vec::with_capacity(len as usize);
            (&file).read_to_end(&mut raw)?;
            return Ok(Mail::Whole(raw));
        }
        match skeleton::build(&file, MIN_HOLE, MAX_SKELETON)? {
            Some(skeleton) => Ok(Mail::Spooled(Spooled { skeleton, file })),
            None => {
                let mut head = Vec::new();
                std::fs::File::open(path)?.take(HEAD).read_to_end(&mut head)?;
                Ok(Mail::Oversized { head, len })
            }
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
    /// Reads `range` of the file in pieces of at most 1 MiB.
    pub fn read_range(&self, range: std::ops::Range<u64>, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; (1 << 20).min((range.end - range.start) as usize)];
        let mut at = range.start;
        while at < range.end {
            let want = ((range.end - at) as usize).min(buf.len());
            let n = self.file.read_at(&mut buf[..want], at)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "原始邮件比分析时短"));
            }
            each(&buf[..n])?;
            at += n as u64;
        }
        Ok(())
    }
}
