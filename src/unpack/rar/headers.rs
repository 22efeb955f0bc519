//! RAR block headers read by hand, for what UnRAR does not tell us: whether the bytes
//! after the signature are a RAR archive at all (a bare signature lists as an empty
//! archive), and the raw bytes of RAR4 names. UnRAR converts RAR4 names that are not
//! flagged Unicode through the C locale, which garbles GBK; here they go through the
//! same rule as ZIP names (`decode_unlabelled`: UTF-8 when valid, else GB18030).
//! RAR5 names are always UTF-8 and UnRAR's are used.

use crate::parse::header::decode_unlabelled;
use crate::rejection::Rejection;

const RAR4: &[u8] = b"Rar!\x1A\x07\x00";
const RAR5: &[u8] = b"Rar!\x1A\x07\x01\x00";

/// What the headers say, once the structure is known to be sound.
#[derive(Debug, PartialEq, Eq)]
pub enum Names {
    /// RAR4: the decoded name of every file header (directories included), in order.
    Rar4(Vec<String>),
    /// RAR5, or RAR4 with encrypted headers: UnRAR's names are used.
    FromUnrar,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// Checks the signature and first header (its CRC) and, for RAR4, collects the names.
pub fn read(data: &[u8]) -> Result<Names, Rejection> {
    if data.starts_with(RAR5) {
        return rar5_main(&data[RAR5.len()..]).map(|()| Names::FromUnrar);
    }
    if !data.starts_with(RAR4) {
        return Err(Rejection::CorruptArchive);
    }
    rar4(data)
}

/// The first RAR5 header: CRC32 over the size field and the header that follows.
fn rar5_main(b: &[u8]) -> Result<(), Rejection> {
    let crc = u32_at(b, 0).ok_or(Rejection::CorruptArchive)?;
    let (size, used) = vint(b.get(4..).unwrap_or(&[])).ok_or(Rejection::CorruptArchive)?;
    let end = usize::try_from(size).ok().and_then(|s| (4 + used).checked_add(s)).ok_or(Rejection::CorruptArchive)?;
    let covered = b.get(4..end).ok_or(Rejection::CorruptArchive)?;
    if size == 0 || crc32fast::hash(covered) != crc {
        return Err(Rejection::CorruptArchive);
    }
    Ok(())
}

/// RAR5's variable-length integer: 7 bits a byte, low first, high bit continues.
fn vint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().take(10).enumerate() {
        v |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn rar4(data: &[u8]) -> Result<Names, Rejection> {
    let mut at = RAR4.len();
    let mut names = Vec::new();
    let mut first = true;
    while let (Some(kind), Some(flags), Some(size)) = (data.get(at + 2).copied(), u16_at(data, at + 3), u16_at(data, at + 5)) {
        let size = usize::from(size);
        let header = data.get(at..at + size).filter(|_| size >= 7).ok_or(Rejection::CorruptArchive)?;
        if first {
            // The main header comes first, with its CRC (the low half of a CRC32).
            let crc = u16_at(header, 0).unwrap_or(0);
            if kind != 0x73 || (crc32fast::hash(&header[2..]) & 0xFFFF) as u16 != crc {
                return Err(Rejection::CorruptArchive);
            }
            if flags & 0x0080 != 0 {
                return Ok(Names::FromUnrar); // encrypted headers
            }
            first = false;
        }
        let mut data_size = 0u64;
        if kind == 0x74 {
            let (name, packed) = file_header(header, flags).ok_or(Rejection::CorruptArchive)?;
            names.push(name);
            data_size = packed;
        } else if flags & 0x8000 != 0 {
            data_size = u64::from(u32_at(header, 7).ok_or(Rejection::CorruptArchive)?);
        }
        if kind == 0x7B {
            break;
        }
        let next = u64::try_from(at + size).ok().and_then(|n| n.checked_add(data_size)).and_then(|n| usize::try_from(n).ok());
        match next {
            Some(n) if n <= data.len() => at = n,
            _ => break, // cut short: UnRAR reports what it can still read
        }
    }
    if first {
        return Err(Rejection::CorruptArchive);
    }
    Ok(Names::Rar4(names))
}

/// A file header's name and packed size.
fn file_header(h: &[u8], flags: u16) -> Option<(String, u64)> {
    let mut packed = u64::from(u32_at(h, 7)?);
    let name_len = usize::from(u16_at(h, 26)?);
    let mut name_at = 32;
    if flags & 0x0100 != 0 {
        packed |= u64::from(u32_at(h, 32)?) << 32;
        name_at = 40;
    }
    let raw = h.get(name_at..name_at + name_len)?;
    let name = if flags & 0x0200 == 0 {
        decode_unlabelled(raw)
    } else {
        match raw.iter().position(|&b| b == 0) {
            None => String::from_utf8_lossy(raw).into_owned(),
            Some(zero) => String::from_utf16_lossy(&decode_unicode(&raw[..zero], &raw[zero + 1..])),
        }
    };
    Some((name, packed))
}

/// RAR 2.9's compressed Unicode names (UnRAR's `EncodeFileName::Decode`): a high byte,
/// then two-bit opcodes: a low byte, a low byte with the high byte, a whole UTF-16
/// unit, or a run copied from the ASCII name (with a correction).
fn decode_unicode(ascii: &[u8], enc: &[u8]) -> Vec<u16> {
    const MAX: usize = 1024;
    let mut out = Vec::new();
    let mut pos = 0;
    let mut next = || {
        let b = enc.get(pos).copied();
        pos += 1;
        b
    };
    let Some(high) = next() else { return out };
    let high = u16::from(high) << 8;
    let (mut flags, mut bits) = (0u8, 0);
    while out.len() < MAX {
        if bits == 0 {
            let Some(f) = next() else { break };
            flags = f;
            bits = 8;
        }
        match flags >> 6 {
            0 => match next() {
                Some(b) => out.push(u16::from(b)),
                None => break,
            },
            1 => match next() {
                Some(b) => out.push(u16::from(b) | high),
                None => break,
            },
            2 => match (next(), next()) {
                (Some(lo), Some(hi)) => out.push(u16::from(lo) | u16::from(hi) << 8),
                _ => break,
            },
            _ => {
                let Some(len) = next() else { break };
                if len & 0x80 != 0 {
                    let Some(correction) = next() else { break };
                    for _ in 0..(len & 0x7F) + 2 {
                        let c = ascii.get(out.len()).copied().unwrap_or(0).wrapping_add(correction);
                        out.push(u16::from(c) | high);
                    }
                } else {
                    for _ in 0..len + 2 {
                        out.push(u16::from(ascii.get(out.len()).copied().unwrap_or(0)));
                    }
                }
            }
        }
        flags <<= 2;
        bits -= 2;
    }
    out.truncate(MAX);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_signature_or_garbage_is_corrupt() {
        for bad in [&b"Rar!\x1A\x07\x00"[..], b"Rar!\x1A\x07\x01\x00", b"Rar!\x1A\x07\x01\x00garbage garbage", b"Rar!\x1A\x07\x00\x00\x00\x73\x00\x00\x0d\x00"] {
            assert_eq!(read(bad), Err(Rejection::CorruptArchive), "{bad:?}");
        }
    }

    #[test]
    fn compressed_unicode_names_decode() {
        // "ab" + U+4E2D: ascii "ab", high byte 0x4E; flags 00 00 01 00: 'a', 'b', 0x2D|0x4E00.
        let enc = [0x4E, 0b0000_0100, b'a', b'b', 0x2D];
        assert_eq!(String::from_utf16_lossy(&decode_unicode(b"ab", &enc)), "ab中");
        // A run of 3 copied from the ASCII name.
        assert_eq!(String::from_utf16_lossy(&decode_unicode(b"abc", &[0, 0b1100_0000, 1])), "abc");
    }
}
