//! 7z archives (sevenz-rust2). Names are UTF-16 in the format, so no guessing is needed.

use std::io::{Cursor, Read};

use sevenz_rust2::{ArchiveReader, Error, Password};

use crate::rejection::Rejection;

/// One extracted entry: its path as stored, and its bytes.
pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
}

fn rejection(e: &Error) -> Rejection {
    match e {
        Error::PasswordRequired | Error::MaybeBadPassword(_) => Rejection::EncryptedArchive,
        Error::UnsupportedCompressionMethod(_) | Error::Unsupported(_) | Error::ExternalUnsupported => {
            Rejection::UnsupportedArchive
        }
        Error::MaxMemLimited { .. } => Rejection::ZipBomb,
        _ => Rejection::CorruptArchive,
    }
}

/// Checks the declared sizes against the limits, then reads every file entry.
pub fn extract(data: &[u8], max_entries: usize, budget: u64, max_ratio: u64) -> Result<Vec<Entry>, Rejection> {
    let mut reader = ArchiveReader::new(Cursor::new(data), Password::empty()).map_err(|e| rejection(&e))?;
    let files: Vec<_> = reader.archive().files.iter().filter(|f| !f.is_directory).collect();
    if files.len() > max_entries {
        return Err(Rejection::TooManyEntries);
    }
    let declared: u64 = files.iter().map(|f| f.size).sum();
    if declared > budget {
        return Err(Rejection::TooLarge);
    }
    if declared > (1 << 20) && declared / (data.len() as u64).max(1) > max_ratio {
        return Err(Rejection::ZipBomb);
    }
    let mut out = Vec::new();
    reader
        .for_each_entries(|entry, r| {
            if entry.is_directory {
                return Ok(true);
            }
            let mut buf = Vec::with_capacity(entry.size.min(64 << 20) as usize);
            r.take(entry.size + 1).read_to_end(&mut buf)?;
            if buf.len() as u64 != entry.size {
                return Err(Error::Other("size differs from header".into()));
            }
            out.push(Entry { name: entry.name.clone(), data: buf });
            Ok(true)
        })
        .map_err(|e| rejection(&e))?;
    Ok(out)
}
