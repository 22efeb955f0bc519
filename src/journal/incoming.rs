//! What a source hands to the journal: the raw bytes, a reference a person can
//! follow back, the receipt time when the source knows it (IMAP's INTERNALDATE; for
//! files the pipeline reads it from the headers), and for IMAP the cursor position
//! that is committed with the message's entry.

use crate::db::cursors::Cursor;

/// A message's bytes: in memory, or, for large mail, in a spool file of the store's
/// `tmp/` that becomes the stored raw mail itself.
pub enum Raw {
    Bytes(Vec<u8>),
    Spooled { file: tempfile::TempPath, len: u64, sha256: String },
}

impl Raw {
    pub fn len(&self) -> u64 {
        match self {
            Raw::Bytes(b) => b.len() as u64,
            Raw::Spooled { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raw({} bytes)", self.len())
    }
}

/// Writes a large message to a spool file piece by piece, hashing it on the way, so
/// that it is never in memory whole and never read again to be hashed.
pub struct Spool {
    file: tempfile::NamedTempFile,
    hash: sha2::Sha256,
    len: u64,
}

impl Spool {
    pub fn new(tmp: &std::path::Path) -> std::io::Result<Spool> {
        Ok(Spool { file: tempfile::NamedTempFile::new_in(tmp)?, hash: Default::default(), len: 0 })
    }

    pub fn write(&mut self, piece: &[u8]) -> std::io::Result<()> {
        use sha2::Digest;
        use std::io::Write;
        self.hash.update(piece);
        self.len += piece.len() as u64;
        self.file.write_all(piece)
    }

    pub fn finish(mut self) -> std::io::Result<Raw> {
        use sha2::Digest;
        use std::io::Write;
        self.file.flush()?;
        Ok(Raw::Spooled { file: self.file.into_temp_path(), len: self.len, sha256: hex::encode(self.hash.finalize()) })
    }
}

#[derive(Debug)]
pub struct Incoming {
    pub raw: Raw,
    /// "path/to/a.eml", "box.mbox#12", "imap:user@host/INBOX;UIDVALIDITY=5/;UID=7".
    pub source: String,
    pub received_at: Option<i64>,
    pub cursor: Option<Cursor>,
}
