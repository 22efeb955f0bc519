//! 7z archives (sevenz-rust2). Names are UTF-16 in the format, so no guessing is needed.
//! Entries are streamed: the decoder hands over one entry's reader at a time and the
//! caller decides whether to read it, so only one entry is ever held.

use std::io::Cursor;

use sevenz_rust2::{ArchiveReader, Error, Password};

use crate::rejection::Rejection;
use crate::unpack::{Failure, Visit};
use crate::unpack::zip::read_exactly;

/// Dictionaries and headers larger than this are refused before anything is allocated:
/// 7-Zip's "ultra" level uses 64 MiB; larger needs a hand-set `-md`.
const MEMORY_LIMIT_KIB: usize = 64 << 10;

fn rejection(e: &Error) -> Rejection {
    match e {
        Error::PasswordRequired | Error::MaybeBadPassword(_) => Rejection::EncryptedArchive,
        Error::UnsupportedCompressionMethod(_) | Error::Unsupported(_) | Error::ExternalUnsupported | Error::MaxMemLimited { .. } => {
            Rejection::UnsupportedArchive
        }
        _ => Rejection::CorruptArchive,
    }
}

/// Checks the declared sizes against the limits, then hands every file entry to `visit`.
pub fn extract(data: &[u8], max_entries: usize, max_ratio: u64, visit: &mut dyn Visit) -> Result<(), Failure> {
    let mut reader = ArchiveReader::new_with_memory_limit(Cursor::new(data), Password::empty(), MEMORY_LIMIT_KIB).map_err(|e| rejection(&e))?;
    reader.set_thread_count(1);
    let files: Vec<_> = reader.archive().files.iter().filter(|f| !f.is_directory).collect();
    if files.len() > max_entries {
        return Err(Rejection::TooManyEntries.into());
    }
    let declared = files.iter().fold(0u64, |sum, f| sum.saturating_add(f.size));
    if declared > (data.len() as u64).saturating_mul(max_ratio) {
        return Err(Rejection::ZipBomb.into());
    }
    visit.declared(declared, files.len())?;
    // The walk stops at a disk error, and at an entry that failed to read: what follows
    // it in a solid block cannot be trusted, and the archive is refused as corrupt.
    let (mut stopped, mut broken) = (false, false);
    reader
        .for_each_entries(|entry, r| {
            if entry.is_directory {
                return Ok(true);
            }
            let mut read = || {
                let bytes = read_exactly(&mut *r, entry.size).ok().filter(|b| !entry.has_crc || u64::from(crc32fast::hash(b)) == entry.crc);
                broken = bytes.is_none();
                bytes.ok_or(Failure::Broken)
            };
            stopped = !visit.entry(entry.name.clone(), entry.size, &mut read);
            if stopped { Err(Error::Other("stopped".into())) } else { Ok(true) }
        })
        .or_else(|e| if stopped { Ok(()) } else { Err(rejection(&e)) })?;
    if broken { Err(Rejection::CorruptArchive.into()) } else { Ok(()) }
}
