//! RAR archives, through the unrar crate (the freeware UnRAR source, extraction only).
//! UnRAR reads from a path and writes to paths, so the archive and each entry in turn
//! go to a private folder under the data directory's `tmp/` (never the system temp
//! directory: a full or missing TMPDIR must not turn a valid RAR into a rejection).
//! Failing to write there is a disk error, not a rejection. Only one entry is on disk
//! and in memory at a time. Names: see `headers`.

pub mod headers;

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use unrar::error::{Code, UnrarError};

use crate::rejection::Rejection;
use crate::unpack::{Failure, Visit};
use headers::Names;

fn failure(e: &UnrarError) -> Failure {
    match e.code {
        Code::ECreate | Code::EWrite | Code::EClose => {
            Failure::Disk(io::Error::other(format!("UnRAR 无法写临时文件：{e}")))
        }
        Code::MissingPassword | Code::BadPassword => Failure::Refused(Rejection::EncryptedArchive),
        _ => Failure::Refused(Rejection::CorruptArchive),
    }
}

fn corrupt(_: UnrarError) -> Failure {
    Failure::Refused(Rejection::CorruptArchive)
}

/// Checks the headers and declared sizes, then hands every file entry to `visit`.
pub fn extract(data: &[u8], max_entries: usize, max_ratio: u64, tmp: &Path, visit: &mut dyn Visit) -> Result<(), Failure> {
    let names = headers::read(data)?;
    let dir = tempfile::Builder::new().prefix("rar-").tempdir_in(tmp)?;
    let path = dir.path().join("a.rar");
    let mut f = fs::File::create(&path)?;
    f.write_all(data)?;
    drop(f);

    // First pass: list, so that limits are checked before anything is decompressed.
    let mut declared = 0u64;
    let mut count = 0usize;
    let listing = unrar::Archive::new(&path).open_for_listing().map_err(corrupt)?;
    if listing.has_encrypted_headers() {
        return Err(Rejection::EncryptedArchive.into());
    }
    for header in listing {
        let h = header.map_err(corrupt)?;
        if h.is_encrypted() {
            return Err(Rejection::EncryptedArchive.into());
        }
        if h.is_file() {
            count += 1;
            declared = declared.saturating_add(h.unpacked_size);
        }
    }
    if count > max_entries {
        return Err(Rejection::TooManyEntries.into());
    }
    if declared > (data.len() as u64).saturating_mul(max_ratio) {
        return Err(Rejection::ZipBomb.into());
    }
    visit.declared(declared, count)?;

    let out = dir.path().join("entry");
    let mut archive = unrar::Archive::new(&path).open_for_processing().map_err(corrupt)?;
    let mut i = 0;
    while let Some(header) = archive.read_header().map_err(corrupt)? {
        let entry = header.entry();
        let name = match &names {
            Names::Rar4(n) => n.get(i).cloned(),
            Names::FromUnrar => None,
        };
        let name = name.unwrap_or_else(|| entry.filename.to_string_lossy().into_owned());
        i += 1;
        if entry.is_directory() {
            archive = header.skip().map_err(corrupt)?;
            continue;
        }
        let size = entry.unpacked_size;
        let mut cursor = Some(header);
        let mut next = None;
        let mut broken = false;
        let go_on = {
            let mut read = || {
                let h = cursor.take().ok_or(Failure::Broken)?;
                let result = h.extract_to(&out).map_err(|e| failure(&e)).and_then(|rest| {
                    next = Some(rest);
                    read_extracted(&out, size)
                });
                // A damaged entry: UnRAR cannot go on, and the archive is refused as a whole.
                broken = matches!(result, Err(Failure::Refused(Rejection::CorruptArchive)));
                result.map_err(|e| if broken { Failure::Broken } else { e })
            };
            visit.entry(name, size, &mut read)
        };
        if broken {
            return Err(Rejection::CorruptArchive.into());
        }
        if !go_on {
            return Ok(());
        }
        archive = match (next, cursor) {
            (Some(n), _) => n,
            (None, Some(h)) => h.skip().map_err(corrupt)?,
            // Extraction failed (recorded on the entry); UnRAR's handle is gone.
            (None, None) => return Ok(()),
        };
    }
    Ok(())
}

/// The extracted entry: a regular file (a symlink UnRAR made is not followed) of
/// exactly the declared size. It is removed once read.
fn read_extracted(path: &Path, size: u64) -> Result<Vec<u8>, Failure> {
    let opened = fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path);
    let result = match opened {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(Failure::Refused(Rejection::UnsafePath)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Failure::Refused(Rejection::CorruptArchive)),
        Err(e) => Err(e.into()),
        Ok(f) => match f.metadata() {
            Ok(m) if !m.is_file() => Err(Failure::Refused(Rejection::UnsafePath)),
            Ok(m) if m.len() != size => Err(Failure::Refused(Rejection::CorruptArchive)),
            Ok(_) => {
                let mut buf = vec![0u8; usize::try_from(size).map_err(|_| Failure::Refused(Rejection::TooLarge))?];
                f.take(size).read_exact(&mut buf).map(|()| buf).map_err(Failure::from)
            }
            Err(e) => Err(e.into()),
        },
    };
    let _ = fs::remove_file(path);
    result
}
