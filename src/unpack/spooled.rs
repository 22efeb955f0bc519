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
    pieces(spool, segments, transfer, &mut |bytes| {
        hash.update(bytes);
        len += bytes.len() as u64;
        file.write_all(bytes)
    })?;
    file.flush().map_err(Failure::Disk)?;
    Ok(Decoded { file, sha256: hex::encode(hash.finalize()), len })
}

/// Decodes the body made of `segments` of a message held in memory, into memory.
pub fn decode_in_memory(spool: &Spooled, segments: &[Segment], transfer: Transfer) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    let mut decoder = Decoder::default();
    texts(spool, segments, transfer, &mut |text| {
        match transfer {
            Transfer::Base64 => decoder.feed(text, &mut body),
            Transfer::AsIs => body.extend_from_slice(text),
        }
        Ok(())
    })
    .map_err(Failure::Disk)?;
    finished(&decoder, transfer)?;
    Ok(body)
}

/// Hands the decoded body to `each` piece by piece.
fn pieces(spool: &Spooled, segments: &[Segment], transfer: Transfer, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> Result<(), Failure> {
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    texts(spool, segments, transfer, &mut |text| match transfer {
        Transfer::Base64 => {
            out.clear();
            decoder.feed(text, &mut out);
            each(&out)
        }
        Transfer::AsIs => each(text),
    })
    .map_err(Failure::Disk)?;
    finished(&decoder, transfer)
}

/// Hands the body's text (as encoded) to `each` piece by piece.
fn texts(spool: &Spooled, segments: &[Segment], transfer: Transfer, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let last = segments.len().saturating_sub(1);
    for (i, s) in segments.iter().enumerate() {
        match s {
            Segment::Skeleton(r) => {
                let text = &spool.skeleton.bytes[r.clone()];
                // What ends a base64 body (a boundary that lost its end) is not data.
                each(if transfer == Transfer::Base64 && i == last { base64_data(text) } else { text })?;
            }
            Segment::File(r) => spool.read_range(r.clone(), each)?,
        }
    }
    Ok(())
}

/// A base64 body must end whole.
fn finished(decoder: &Decoder, transfer: Transfer) -> Result<(), Failure> {
    match (transfer, decoder.finish()) {
        (Transfer::Base64, bad @ (Base64State::Truncated | Base64State::Broken)) => Err(Failure::Broken(bad)),
        _ => Ok(()),
    }
}
