//! Where raw mail comes from. Every source yields `Incoming`: the raw bytes, a
//! reference a person can follow back, and the receipt time when the source knows it
//! (IMAP's INTERNALDATE; for files the pipeline reads it from the headers).

pub mod files;

#[derive(Debug, Clone)]
pub struct Incoming {
    pub raw: Vec<u8>,
    /// "path/to/a.eml", "box.mbox#12", "imap:INBOX/uidvalidity/uid".
    pub source: String,
    pub received_at: Option<i64>,
}
