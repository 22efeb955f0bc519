//! Where raw mail comes from. Every source yields `Incoming`: the raw bytes, a
//! reference a person can follow back, the receipt time when the source knows it
//! (IMAP's INTERNALDATE; for files the pipeline reads it from the headers), and for
//! IMAP the cursor position that is committed with the message's records.

pub mod files;
pub mod imap;


use std::ops::Deref;

/// A message's bytes: in memory, or mapped from a spool file for large mail.
pub enum Raw {
    Bytes(Vec<u8>),
    Mapped { map: memmap2::Mmap, _spool: tempfile::TempPath },
}

impl Deref for Raw {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Raw::Bytes(b) => b,
            Raw::Mapped { map, .. } => map,
        }
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raw({} bytes)", self.len())
    }
}

/// Where an IMAP message sits; advanced in the transaction that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub account: String,
    pub folder: String,
    pub uid_validity: i64,
    pub uid: i64,
}

#[derive(Debug)]
pub struct Incoming {
    pub raw: Raw,
    /// "path/to/a.eml", "box.mbox#12", "imap:user@host/INBOX;UIDVALIDITY=5/UID=7".
    pub source: String,
    pub received_at: Option<i64>,
    pub cursor: Option<Cursor>,
}
