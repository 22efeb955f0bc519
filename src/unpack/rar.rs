//! RAR archives, through the unrar crate (the freeware UnRAR source, extraction only).
//! UnRAR reads from a path, so the archive is written to a private temporary file.

use std::io::Write;

use crate::rejection::Rejection;
use crate::unpack::sevenz::Entry;

pub fn extract(data: &[u8], max_entries: usize, budget: u64, max_ratio: u64) -> Result<Vec<Entry>, Rejection> {
    let mut tmp = tempfile::Builder::new().suffix(".rar").tempfile().map_err(|_| Rejection::CorruptArchive)?;
    tmp.write_all(data).and_then(|_| tmp.flush()).map_err(|_| Rejection::CorruptArchive)?;
    let path = tmp.path().to_path_buf();

    // First pass: list, so that limits are checked before anything is decompressed.
    let mut declared = 0u64;
    let mut count = 0usize;
    let listing = unrar::Archive::new(&path).open_for_listing().map_err(|_| Rejection::CorruptArchive)?;
    if listing.has_encrypted_headers() {
        return Err(Rejection::EncryptedArchive);
    }
    for header in listing {
        let h = header.map_err(|_| Rejection::CorruptArchive)?;
        if h.is_encrypted() {
            return Err(Rejection::EncryptedArchive);
        }
        if h.is_file() {
            count += 1;
            declared = declared.saturating_add(h.unpacked_size);
        }
    }
    if count > max_entries {
        return Err(Rejection::TooManyEntries);
    }
    if declared > budget {
        return Err(Rejection::TooLarge);
    }
    if declared > (1 << 20) && declared / (data.len() as u64).max(1) > max_ratio {
        return Err(Rejection::ZipBomb);
    }

    let mut out = Vec::new();
    let mut archive = unrar::Archive::new(&path).open_for_processing().map_err(|_| Rejection::CorruptArchive)?;
    while let Some(header) = archive.read_header().map_err(|_| Rejection::CorruptArchive)? {
        let entry = header.entry();
        if entry.is_file() {
            let name = entry.filename.to_string_lossy().into_owned();
            let (bytes, rest) = header.read().map_err(|_| Rejection::CorruptArchive)?;
            out.push(Entry { name, data: bytes });
            archive = rest;
        } else {
            archive = header.skip().map_err(|_| Rejection::CorruptArchive)?;
        }
    }
    Ok(out)
}
