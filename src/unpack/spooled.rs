//! A part of a large message whose body was left in the spool file
//! (`parse::skeleton`): decoded piece by piece into a temporary file next to the
//! store, hashed on the way, so that the walk sees it mapped and the store links it
//! instead of copying it. Memory stays at one piece, whatever the part's size.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::parse::base64::Decoder;
use crate::parse::mail::Spooled;
use crate::parse::skeleton::Segment;
use crate::parse::{Base64State, base64_data};

/// A file's bytes already on disk, in a temporary file of the store's `tmp/`, and
/// their SHA-256: the store links it rather than writing the bytes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    pub path: PathBuf,
    pub sha256: String,
}

/// How the part's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    Base64,
    /// 7bit, 8bit, binary: the body is the bytes.
    AsIs,
}

/// The decoded part, in its temporary file (deleted when dropped).
pub struct Decoded {
    pub file: tempfile::NamedTempFile,
    pub sha256: String,
    pub len: u64,
}

#[derive(Debug)]
pub enum Failure {
    /// The base64 body is cut or broken (`broken_base64`).
    Broken(Base64State),
    Disk(io::Error),
}

/// Decodes the body made of `segments` (skeleton bytes and file ranges) into a new
/// temporary file in `tmp`.
pub fn decode(spool: &Spooled, segments: &[Segment], transfer: Transfer, tmp: &Path) -> Result<Decoded, Failure> {
    let mut file = tempfile::NamedTempFile::new_in(tmp).map_err(Failure::Disk)?;
    let mut hash = Sha256::new();
    let mut len = 0u64;
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    let last = segments.len().saturating_sub(1);
    let mut each = |piece: &[u8], out: &mut Vec<u8>, file: &mut tempfile::NamedTempFile| -> io::Result<()> {
        let bytes: &[u8] = match transfer {
            Transfer::Base64 => {
                out.clear();
                decoder.feed(piece, out);
                out
            }
            Transfer::AsIs => piece,
        };
        hash.update(bytes);
        len += bytes.len() as u64;
        file.write_all(bytes)
    };
    for (i, s) in segments.iter().enumerate() {
        match s {
            Segment::Skeleton(r) => {
                let text = &spool.skeleton.bytes[r.clone()];
                // What ends a base64 body (a boundary that lost its end) is not data.
                let text = if transfer == Transfer::Base64 && i == last { base64_data(text) } else { text };
                each(text, &mut out, &mut file).map_err(Failure::Disk)?;
            }
            Segment::File(r) => spool.read_range(r.clone(), &mut |piece| each(piece, &mut out, &mut file)).map_err(Failure::Disk)?,
        }
    }
    if transfer == Transfer::Base64 {
        match decoder.finish() {
            Base64State::Intact => {}
            bad => return Err(Failure::Broken(bad)),
        }
    }
    file.flush().map_err(Failure::Disk)?;
    Ok(Decoded { file, sha256: hex::encode(hash.finalize()), len })
}
