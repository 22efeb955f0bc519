//! ZIP archives as Chinese Windows writes them. Names are decoded in this order: the
//! Info-ZIP Unicode Path field (0x7075, CRC-checked), the UTF-8 flag (bit 11), strict
//! UTF-8, then GB18030 (7-Zip, 360压缩 and WinRAR on zh-CN Windows write GBK without
//! the flag). Decoding happens before splitting on `\`, because a GBK trail byte can
//! be 0x5C. Stored, deflated and Deflate64 entries (method 9, which Windows Explorer
//! writes for files over 2 GiB… and often for smaller ones) are read; any other method
//! is refused `unsupported_method`, naming it. ZIP64 (the end record, its locator and
//! the 0x0001 extra field) is read.
//!
//! A ZIP can be an office document: OOXML (`[Content_Types].xml`, from Word, WPS, Excel)
//! or ODF (a `mimetype` entry, from LibreOffice and WPS). `document_mime` tells them by
//! their entries, wherever in the archive they sit.
//!
//! `open` checks the archive as a whole before anything is decompressed: the entry
//! count, encryption, entries whose data overlap (the "one local entry, thousands of
//! central-directory entries" bomb) and the ratio of all declared sizes to the archive's
//! bytes. `read` then decompresses one entry, never past its declared size.

use std::io::Read;

use crate::unpack::Limits;
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
    /// A directory entry: a name ending in a slash, and nothing in it.
    pub fn is_dir(&self) -> bool {
        (self.name.ends_with('/') || self.name.ends_with('\\')) && self.size == 0
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn index(n: u64) -> Result<usize, Rejection> {
    usize::try_from(n).map_err(|_| Rejection::CorruptArchive)
}

/// Where the central directory is and how many entries it declares.
struct Directory {
    total: u64,
    offset: u64,
}

fn directory(data: &[u8]) -> Result<Directory, Rejection> {
    let search_from = data.len().saturating_sub(22 + 65535);
    let eocd = (search_from..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Rejection::CorruptArchive)?;
    let total = u16_at(data, eocd + 10).ok_or(Rejection::CorruptArchive)?;
    let offset = u32_at(data, eocd + 16).ok_or(Rejection::CorruptArchive)?;
    // The ZIP64 locator sits right before the end record and points at the ZIP64 end record.
    let locator = eocd.checked_sub(20).and_then(|at| data.get(at..eocd)).filter(|l| l.starts_with(b"PK\x06\x07"));
    if let Some(l) = locator {
        let at = index(u64_at(l, 8).ok_or(Rejection::CorruptArchive)?)?;
        let record = data.get(at..).filter(|r| r.starts_with(b"PK\x06\x06")).ok_or(Rejection::CorruptArchive)?;
        let total = u64_at(record, 32).ok_or(Rejection::CorruptArchive)?;
        let offset = u64_at(record, 48).ok_or(Rejection::CorruptArchive)?;
        return Ok(Directory { total, offset });
    }
    Ok(Directory { total: u64::from(total), offset: u64::from(offset) })
}

/// Reads the central directory. Errors are rejections of the whole archive.
pub fn entries(data: &[u8], max_entries: usize) -> Result<Vec<Entry>, Rejection> {
    let dir = directory(data)?;
    if dir.total > max_entries as u64 {
        return Err(Rejection::TooManyEntries);
    }
    let mut out = Vec::with_capacity(index(dir.total)?);
    let mut at = index(dir.offset)?;
    for _ in 0..dir.total {
        let h = data.get(at..at + 46).ok_or(Rejection::CorruptArchive)?;
        if !h.starts_with(b"PK\x01\x02") {
            return Err(Rejection::CorruptArchive);
        }
        let flags = u16_at(h, 8).unwrap_or(0);
        let name_len = usize::from(u16_at(h, 28).unwrap_or(0));
        let extra_len = usize::from(u16_at(h, 30).unwrap_or(0));
        let comment_len = usize::from(u16_at(h, 32).unwrap_or(0));
        let raw_name = data.get(at + 46..at + 46 + name_len).ok_or(Rejection::CorruptArchive)?;
        let extra = data.get(at + 46 + name_len..at + 46 + name_len + extra_len).ok_or(Rejection::CorruptArchive)?;
        let mut compressed = u64::from(u32_at(h, 20).unwrap_or(0));
        let mut size = u64::from(u32_at(h, 24).unwrap_or(0));
        let mut local_offset = u64::from(u32_at(h, 42).unwrap_or(0));
        // ZIP64 extra field: only the fields whose 32-bit value is all ones, in this order.
        if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF || local_offset == 0xFFFF_FFFF {
            let z = extra_field(extra, 0x0001).ok_or(Rejection::CorruptArchive)?;
            let mut i = 0;
            for v in [&mut size, &mut compressed, &mut local_offset] {
                if *v == 0xFFFF_FFFF {
                    *v = u64_at(z, i).ok_or(Rejection::CorruptArchive)?;
                    i += 8;
                }
            }
        }
        out.push(Entry {
            name: decode_name(raw_name, extra, flags),
            encrypted: flags & 1 != 0,
            method: u16_at(h, 10).unwrap_or(0),
            crc: u32_at(h, 16).unwrap_or(0),
            compressed,
            size,
            local_offset,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

fn extra_field(extra: &[u8], wanted: u16) -> Option<&[u8]> {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16_at(extra, i)?;
        let len = usize::from(u16_at(extra, i + 2)?);
        let body = extra.get(i + 4..i + 4 + len)?;
        if id == wanted {
            return Some(body);
        }
        i += 4 + len;
    }
    None
}

/// The central directory, checked as a whole: the entry count, encryption, overlapping
/// entries and the whole-archive compression ratio. Directory entries are left out.
pub fn open(data: &[u8], max_entries: usize, max_ratio: u64) -> Result<Vec<Entry>, Rejection> {
    let all = entries(data, max_entries)?;
    if overlapping(data, &all) {
        return Err(Rejection::ZipBomb);
    }
    let files: Vec<Entry> = all.into_iter().filter(|e| !e.is_dir()).collect();
    if files.iter().any(|e| e.encrypted) {
        return Err(Rejection::EncryptedArchive);
    }
    let declared = files.iter().fold(0u64, |sum, e| sum.saturating_add(e.size));
    if declared > (data.len() as u64).saturating_mul(max_ratio) {
        return Err(Rejection::ZipBomb);
    }
    if files.iter().any(|e| e.size > (1 << 20) && e.size / e.compressed.max(1) > max_ratio) {
        return Err(Rejection::ZipBomb);
    }
    Ok(files)
}

/// Whether two entries' local headers and data share bytes. Sorting by offset makes it
/// linear after the sort.
fn overlapping(data: &[u8], entries: &[Entry]) -> bool {
    let mut ranges: Vec<(u64, u64)> = entries
        .iter()
        .map(|e| {
            let at = e.local_offset;
            let header = usize::try_from(at)
                .ok()
                .and_then(|a| Some(30 + u64::from(u16_at(data, a + 26)?) + u64::from(u16_at(data, a + 28)?)))
                .unwrap_or(30);
            (at, at.saturating_add(header).saturating_add(e.compressed))
        })
        .collect();
    ranges.sort_unstable();
    ranges.windows(2).any(|w| w[1].0 < w[0].1)
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
    let body = extra_field(extra, 0x7075)?;
    if body.len() >= 5 && body[0] == 1 && u32_at(body, 1)? == crc32fast::hash(raw) {
        return std::str::from_utf8(&body[5..]).ok().map(str::to_string);
    }
    None
}

/// The bytes of one entry, checked against its size and CRC. The caller has checked
/// the declared size against what it can afford; decompression never goes past it.
pub fn read(data: &[u8], e: &Entry) -> Result<Vec<u8>, Rejection> {
    if e.encrypted {
        return Err(Rejection::EncryptedArchive);
    }
    let at = index(e.local_offset)?;
    let h = data.get(at..at.saturating_add(30)).ok_or(Rejection::CorruptArchive)?;
    if !h.starts_with(b"PK\x03\x04") {
        return Err(Rejection::CorruptArchive);
    }
    let start = at + 30 + usize::from(u16_at(h, 26).unwrap_or(0)) + usize::from(u16_at(h, 28).unwrap_or(0));
    let body = data.get(start..start.saturating_add(index(e.compressed)?)).ok_or(Rejection::CorruptArchive)?;
    // Deflate cannot expand more than 1032 times: a larger declared size is a lie, and
    // is refused before anything is allocated for it.
    if e.method == 8 && e.size / 1032 > e.compressed + 1 {
        return Err(Rejection::CorruptArchive);
    }
    let out = match e.method {
        0 if body.len() as u64 == e.size => body.to_vec(),
        0 => return Err(Rejection::CorruptArchive),
        8 => read_exactly(flate2::read::DeflateDecoder::new(body), e.size)?,
        9 => read_exactly(deflate64::Deflate64Decoder::new(body), e.size)?,
        _ => return Err(Rejection::UnsupportedMethod),
    };
    if crc32fast::hash(&out) != e.crc {
        return Err(Rejection::CorruptArchive);
    }
    Ok(out)
}

/// A compression method's name, for the Chinese detail of `unsupported_method`.
pub fn method_name(method: u16) -> String {
    let name = match method {
        1 => "Shrink",
        6 => "Implode",
        12 => "BZIP2",
        14 => "LZMA",
        93 => "Zstandard",
        95 => "XZ",
        96 => "JPEG",
        97 => "WavPack",
        98 => "PPMd",
        99 => "AES 加密",
        _ => "",
    };
    if name.is_empty() { format!("压缩方式编号 {method}") } else { format!("压缩方式 {name}（方法 {method}）") }
}

/// The document type of a ZIP that is an office file, told by its entries in any
/// order: `[Content_Types].xml` with `word/`, `xl/` or `ppt/` parts (OOXML), or a
/// `mimetype` entry naming an OpenDocument type (ODF). `infer` looks only at the first
/// entry, and WPS and LibreOffice do not put it where Word does.
pub fn document_mime(data: &[u8]) -> Option<&'static str> {
    if !data.starts_with(b"PK\x03\x04") {
        return None;
    }
    let all = entries(data, 100_000).ok()?;
    let has = |name: &str| all.iter().any(|e| e.name == name);
    if has("[Content_Types].xml") {
        return if has("word/document.xml") {
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        } else if has("xl/workbook.xml") {
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        } else if has("ppt/presentation.xml") {
            Some("application/vnd.openxmlformats-officedocument.presentationml.presentation")
        } else {
            None
        };
    }
    let m = all.iter().find(|e| e.name == "mimetype" && e.size <= 200)?;
    let text = read(data, m).ok()?;
    match text.trim_ascii() {
        b"application/vnd.oasis.opendocument.text" => Some("application/vnd.oasis.opendocument.text"),
        b"application/vnd.oasis.opendocument.spreadsheet" => Some("application/vnd.oasis.opendocument.spreadsheet"),
        b"application/vnd.oasis.opendocument.presentation" => Some("application/vnd.oasis.opendocument.presentation"),
        _ => None,
    }
}

/// Exactly `size` bytes from `r`, in one allocation of that size; more or fewer is corrupt.
pub(crate) fn read_exactly(mut r: impl Read, size: u64) -> Result<Vec<u8>, Rejection> {
    let mut out = vec![0u8; index(size)?];
    r.read_exact(&mut out).map_err(|_| Rejection::CorruptArchive)?;
    let mut probe = [0u8; 1];
    match r.read(&mut probe) {
        Ok(0) => Ok(out),
        _ => Err(Rejection::CorruptArchive),
    }
}

/// Walks an in-memory ZIP the way the unpacker does, without recursion: `open`'s
/// whole-archive checks, then each file entry read in turn (entries declared larger
/// than `limits.max_file_bytes` are handed over as `too_large` without being read).
/// Never panics; meant for fuzzing and tools.
pub fn for_each_entry(data: &[u8], limits: &Limits, f: &mut dyn FnMut(&Entry, Result<Vec<u8>, Rejection>)) -> Result<(), Rejection> {
    for e in open(data, limits.max_archive_entries, limits.max_compression_ratio)? {
        let bytes = if e.size > limits.max_file_bytes { Err(Rejection::TooLarge) } else { read(data, &e) };
        f(&e, bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(name: &str, data: &[u8]) -> Vec<u8> {
        let mut z = b"PK\x03\x04\x14\x00\x00\x08\x00\x00\x00\x00\x00\x00".to_vec();
        z.extend(crc32fast::hash(data).to_le_bytes());
        z.extend((data.len() as u32).to_le_bytes());
        z.extend((data.len() as u32).to_le_bytes());
        z.extend((name.len() as u16).to_le_bytes());
        z.extend(0u16.to_le_bytes());
        z.extend(name.as_bytes());
        z.extend(data);
        let cd = z.len() as u32;
        let mut c = b"PK\x01\x02\x14\x00".to_vec();
        c.extend(&z[4..30]);
        c.extend([0u8; 14]); // comment length, disk, attributes, local offset 0
        c.extend(name.as_bytes());
        let cd_len = c.len() as u32;
        z.extend(c);
        z.extend(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
        z.extend(cd_len.to_le_bytes());
        z.extend(cd.to_le_bytes());
        z.extend([0, 0]);
        z
    }

    #[test]
    fn an_entry_is_read_and_a_truncated_one_is_corrupt() {
        let z = stored("a.jpg", b"hello");
        let mut got = vec![];
        for_each_entry(&z, &Limits::default(), &mut |e, b| got.push((e.name.clone(), b))).unwrap();
        assert_eq!(got, [("a.jpg".to_string(), Ok(b"hello".to_vec()))]);
        for cut in 0..z.len() {
            let _ = for_each_entry(&z[..cut], &Limits::default(), &mut |_, _| {});
        }
    }

    #[test]
    fn deflate_output_past_the_declared_size_is_corrupt() {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &[0u8; 4096]).unwrap();
        let body = enc.finish().unwrap();
        assert_eq!(read_exactly(flate2::read::DeflateDecoder::new(&body[..]), 100), Err(Rejection::CorruptArchive));
        assert_eq!(read_exactly(flate2::read::DeflateDecoder::new(&body[..]), 4096).map(|v| v.len()), Ok(4096));
    }
}
