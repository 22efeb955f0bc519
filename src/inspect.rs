//! What a file really is, told by its content: photo, video or document, or refused.
//! A name whose extension disagrees with the content is flagged, not refused.

use sha2::{Digest, Sha256};

use crate::rejection::{Flag, Rejection};
use crate::unpack::names::extension;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Photo,
    Video,
    Document,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Photo => "photo",
            Kind::Video => "video",
            Kind::Document => "document",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub kind: Kind,
    pub mime: &'static str,
    pub flags: Vec<Flag>,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Sniffs `data`; `name` is used only to flag a mismatch.
pub fn inspect(name: &str, data: &[u8]) -> Result<Inspection, Rejection> {
    if data.is_empty() {
        return Err(Rejection::EmptyFile);
    }
    if is_executable(data) {
        return Err(Rejection::Executable);
    }
    let t = infer::get(data).ok_or(Rejection::UnsupportedType)?;
    let mime = t.mime_type();
    let kind = match mime {
        "image/jpeg" | "image/png" | "image/heif" | "image/heic" | "image/avif" | "image/webp" | "image/tiff" => Kind::Photo,
        "video/mp4" | "video/quicktime" | "video/3gpp" | "video/x-msvideo" | "video/x-matroska" | "video/x-m4v" => Kind::Video,
        "application/pdf"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/msword" => Kind::Document,
        _ if t.matcher_type() == infer::MatcherType::App => return Err(Rejection::Executable),
        _ => return Err(Rejection::UnsupportedType),
    };
    let mut flags = vec![];
    if let Some(ext) = extension(name) {
        if !extension_fits(&ext, kind, mime) {
            flags.push(Flag::NameMismatch);
        }
    }
    Ok(Inspection { kind, mime, flags })
}

fn is_executable(data: &[u8]) -> bool {
    data.starts_with(b"MZ") || data.starts_with(b"\x7fELF") || data.starts_with(&[0xCF, 0xFA, 0xED, 0xFE]) || data.starts_with(b"#!")
}

fn extension_fits(ext: &str, kind: Kind, mime: &str) -> bool {
    match kind {
        Kind::Photo => match mime {
            "image/jpeg" => matches!(ext, "jpg" | "jpeg" | "jpe" | "jfif"),
            "image/png" => ext == "png",
            "image/heif" | "image/heic" | "image/avif" => matches!(ext, "heic" | "heif" | "hif" | "avif"),
            "image/webp" => ext == "webp",
            _ => matches!(ext, "tif" | "tiff"),
        },
        Kind::Video => matches!(ext, "mp4" | "mov" | "3gp" | "3g2" | "avi" | "mkv" | "m4v" | "qt"),
        Kind::Document => matches!(ext, "pdf" | "docx" | "doc"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1];

    #[test]
    fn kinds_by_content() {
        assert_eq!(inspect("a.jpg", JPEG).unwrap().kind, Kind::Photo);
        assert_eq!(inspect("a.png", JPEG).unwrap().flags, vec![Flag::NameMismatch]);
        assert_eq!(inspect("a.jpg", b"MZ\x90\x00\x03\x00\x00\x00"), Err(Rejection::Executable));
        assert_eq!(inspect("a.jpg", b"\x7fELF\x02\x01\x01"), Err(Rejection::Executable));
        assert_eq!(inspect("a.txt", b"just some text"), Err(Rejection::UnsupportedType));
        assert_eq!(inspect("a.pdf", b"%PDF-1.4\n").unwrap().kind, Kind::Document);
        assert_eq!(inspect("a.jpg", b""), Err(Rejection::EmptyFile));
    }
}
