//! The ZIP package a .docx is: a few XML parts, deflated, written in memory. The
//! console's streaming ZIP writer (web/download/zip.rs) stores files from disk into an
//! HTTP body as they are read; a Word document is a handful of small strings, so this
//! is the plain form: local headers with sizes and CRC known up front, then the
//! central directory. Names are ASCII; no ZIP64 (parts are kilobytes).

use std::io::Write;

/// The bytes of a ZIP holding `parts` (name, content), in that order.
pub fn zip(parts: &[(&str, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    for (name, data) in parts {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(data)?;
        let packed = z.finish()?;
        let crc = crc32fast::hash(data);
        let offset = u32::try_from(out.len()).map_err(|_| std::io::Error::other("文档过大"))?;
        let (size, packed_size) = (len32(data.len())?, len32(packed.len())?);
        let name_len = u16::try_from(name.len()).map_err(|_| std::io::Error::other("部件名过长"))?;
        // Local file header: version 2.0, no flags, deflate, 1980-01-01 00:00.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 8, 0, 0x21] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, packed_size, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&packed);
        // Its central directory header.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 8, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, packed_size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(parts.len()).map_err(|_| std::io::Error::other("部件过多"))?;
    let (dir_at, dir_len) = (len32(out.len())?, len32(central.len())?);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&dir_len.to_le_bytes());
    out.extend_from_slice(&dir_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

fn len32(n: usize) -> std::io::Result<u32> {
    u32::try_from(n).map_err(|_| std::io::Error::other("文档过大"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The archive reads back with unzip's layout: each part's local header, its
    /// deflated bytes inflate to the content, and the directory counts them.
    #[test]
    fn parts_inflate_back_and_the_directory_counts_them() {
        let parts = [("a.xml", b"<a>hello hello hello</a>".to_vec()), ("word/b.xml", "通报".repeat(100).into_bytes())];
        let z = zip(&parts).unwrap();
        let mut at = 0usize;
        for (name, data) in &parts {
            assert_eq!(&z[at..at + 4], &[0x50, 0x4b, 3, 4]);
            let u16_at = |i: usize| u16::from_le_bytes([z[i], z[i + 1]]) as usize;
            let u32_at = |i: usize| u32::from_le_bytes([z[i], z[i + 1], z[i + 2], z[i + 3]]) as usize;
            let (packed, size, name_len) = (u32_at(at + 18), u32_at(at + 22), u16_at(at + 26));
            assert_eq!(size, data.len());
            assert_eq!(&z[at + 30..at + 30 + name_len], name.as_bytes());
            let body = &z[at + 30 + name_len..at + 30 + name_len + packed];
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::DeflateDecoder::new(body), &mut back).unwrap();
            assert_eq!(&back, data);
            assert_eq!(u32_at(at + 14), crc32fast::hash(data) as usize);
            at += 30 + name_len + packed;
        }
        let end = z.len() - 22;
        assert_eq!(&z[end..end + 4], &[0x50, 0x4b, 5, 6]);
        assert_eq!(u16::from_le_bytes([z[end + 10], z[end + 11]]), 2);
        assert_eq!(u32::from_le_bytes([z[end + 16], z[end + 17], z[end + 18], z[end + 19]]) as usize, at);
    }
}
