//! ZIP archives as Chinese Windows writes them. Names are decoded in this order: the
//! Info-ZIP Unicode Path field (0x7075, CRC-checked), the UTF-8 flag (bit 11), strict
//! UTF-8, then GB18030 (7-Zip, 360压缩 and WinRAR on zh-CN Windows write GBK without
//! the flag). Decoding happens before splitting on `\`, because a GBK trail byte can
//! be 0x5C. Stored and deflated entries are read; others are refused.

use std::io::Read;

use crate::parse::header::decode_unlabelled;
use crate::rejection::Rejection;

/// One entry of the central directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub encrypted: bool,
    pub method: u16,
    pub crc: u32,
    pub compressed: u64,
    pub size: u64,
    local_offset: u64,
}

impl Entry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/') || self.name.ends_with('\\')
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads the central directory. Errors are rejections of the whole archive.
pub fn entries(data: &[u8], max_entries: usize) -> Result<Vec<Entry>, Rejection> {
    let search_from = data.len().saturating_sub(22 + 65535);
    let eocd = (search_from..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Rejection::CorruptArchive)?;
    let total = u16_at(data, eocd + 10).ok_or(Rejection::CorruptArchive)?;
    let cd_offset = u32_at(data, eocd + 16).ok_or(Rejection::CorruptArchive)?;
    if total == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        return Err(Rejection::UnsupportedArchive); // ZIP64: not sent by mail in practice
    }
    if usize::from(total) > max_entries {
        return Err(Rejection::TooManyEntries);
    }
    let mut out = Vec::with_capacity(usize::from(total));
    let mut at = cd_offset as usize;
    for _ in 0..total {
        let h = data.get(at..at + 46).ok_or(Rejection::CorruptArchive)?;
        if !h.starts_with(b"PK\x01\x02") {
            return Err(Rejection::CorruptArchive);
        }
        let flags = u16_at(h, 8).unwrap_or(0);
        let method = u16_at(h, 10).unwrap_or(0);
        let crc = u32_at(h, 16).unwrap_or(0);
        let compressed = u32_at(h, 20).unwrap_or(0);
        let size = u32_at(h, 24).unwrap_or(0);
        let name_len = usize::from(u16_at(h, 28).unwrap_or(0));
        let extra_len = usize::from(u16_at(h, 30).unwrap_or(0));
        let comment_len = usize::from(u16_at(h, 32).unwrap_or(0));
        let local = u32_at(h, 42).unwrap_or(0);
        if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
            return Err(Rejection::UnsupportedArchive);
        }
        let raw_name = data.get(at + 46..at + 46 + name_len).ok_or(Rejection::CorruptArchive)?;
        let extra = data.get(at + 46 + name_len..at + 46 + name_len + extra_len).ok_or(Rejection::CorruptArchive)?;
        out.push(Entry {
            name: decode_name(raw_name, extra, flags),
            encrypted: flags & 1 != 0,
            method,
            crc,
            compressed: u64::from(compressed),
            size: u64::from(size),
            local_offset: u64::from(local),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// The name rule from the module docs.
pub fn decode_name(raw: &[u8], extra: &[u8], flags: u16) -> String {
    if let Some(name) = unicode_path(raw, extra) {
        return name;
    }
    if flags & 0x0800 != 0 {
        return String::from_utf8_lossy(raw).into_owned();
    }
    decode_unlabelled(raw)
}

fn unicode_path(raw: &[u8], extra: &[u8]) -> Option<String> {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16_at(extra, i)?;
        let len = usize::from(u16_at(extra, i + 2)?);
        let body = extra.get(i + 4..i + 4 + len)?;
        if id == 0x7075 && body.len() >= 5 && body[0] == 1 {
            let crc = u32_at(body, 1)?;
            if crc == crc32fast::hash(raw) {
                return std::str::from_utf8(&body[5..]).ok().map(str::to_string);
            }
        }
        i += 4 + len;
    }
    None
}

/// The bytes of one entry, checked against its CRC. `limit` is what the caller can
/// still afford; the entry's declared size has been checked against it already.
pub fn read(data: &[u8], e: &Entry) -> Result<Vec<u8>, Rejection> {
    if e.encrypted {
        return Err(Rejection::EncryptedArchive);
    }
    let at = e.local_offset as usize;
    let h = data.get(at..at + 30).ok_or(Rejection::CorruptArchive)?;
    if !h.starts_with(b"PK\x03\x04") {
        return Err(Rejection::CorruptArchive);
    }
    let start = at + 30 + usize::from(u16_at(h, 26).unwrap_or(0)) + usize::from(u16_at(h, 28).unwrap_or(0));
    let body = data.get(start..start + e.compressed as usize).ok_or(Rejection::CorruptArchive)?;
    let out = match e.method {
        0 => body.to_vec(),
        8 => {
            let mut out = Vec::with_capacity(e.size.min(64 << 20) as usize);
            flate2::read::DeflateDecoder::new(body)
                .take(e.size + 1)
                .read_to_end(&mut out)
                .map_err(|_| Rejection::CorruptArchive)?;
            out
        }
        _ => return Err(Rejection::UnsupportedArchive),
    };
    if out.len() as u64 != e.size || crc32fast::hash(&out) != e.crc {
        return Err(Rejection::CorruptArchive);
    }
    Ok(out)
}
