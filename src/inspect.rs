//! What a file really is, told by its content: photo, video or document, or refused.
//! A name whose extension disagrees with the content is flagged, not refused. Photos
//! and videos are then examined (`examine`): size, capture time, camera, perceptual
//! hash, blur, thumbnail and quality flags.

pub mod heif;
pub mod limits;
pub mod photo;
pub mod quality;
pub mod sheet;
pub mod video;

use std::sync::{Condvar, Mutex};

use chrono_tz::Tz;

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

/// Kept here too, where callers and tests have long found it.
pub use crate::hash::sha256_hex;

/// Sniffs `data`; `name` is used only to flag a mismatch.
pub fn inspect(name: &str, data: &[u8]) -> Result<Inspection, Rejection> {
    if data.is_empty() {
        return Err(Rejection::EmptyFile);
    }
    if is_executable(data) {
        return Err(Rejection::Executable);
    }
    // An office document's parts may come in any order (WPS, LibreOffice): told by its entries.
    if let Some(mime) = crate::unpack::zip::document_mime(data) {
        let flags = extension(name).filter(|ext| !extension_fits(ext, Kind::Document, mime)).map(|_| Flag::NameMismatch).into_iter().collect();
        return Ok(Inspection { kind: Kind::Document, mime, flags });
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

/// How photos and videos are examined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaConfig {
    pub thresholds: quality::Thresholds,
    pub limits: limits::DecodeLimits,
    pub thumbnails: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            thresholds: quality::Thresholds::default(),
            limits: limits::DecodeLimits::DEFAULT,
            thumbnails: true,
        }
    }
}

/// What examining a photo or video found.
#[derive(Debug, Clone, Default)]
pub struct Media {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<i64>,
    pub container: Option<String>,
    pub codec: Option<String>,
    /// EXIF DateTimeOriginal (read as local time) or the video's creation time.
    pub captured_at: Option<i64>,
    pub camera: Option<String>,
    /// EXIF Artist and XPAuthor of a photo, the author tags of a video, as written.
    pub authors: Vec<String>,
    pub phash: Option<String>,
    pub blur: Option<f64>,
    pub thumbnail: Option<Vec<u8>>,
    /// A full-size JPEG of a HEIC photo, filed next to it in the tree.
    pub rendition: Option<Vec<u8>>,
    pub flags: Vec<Flag>,
}

/// At most this many decodes run at once, whoever asks: intake never waits on a pile
/// of slow decodes, and a burst of large photos cannot exhaust memory.
struct Pool {
    free: Mutex<usize>,
    freed: Condvar,
}

static POOL: std::sync::LazyLock<Pool> = std::sync::LazyLock::new(|| Pool {
    free: Mutex::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
    freed: Condvar::new(),
});

/// A decode slot, returned when dropped, so that a panicking decoder cannot keep it.
struct Permit;

impl Permit {
    fn take() -> Permit {
        let mut free = POOL.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = POOL.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        *POOL.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        POOL.freed.notify_one();
    }
}

fn with_permit<T>(f: impl FnOnce() -> T) -> T {
    let _permit = Permit::take();
    f()
}

/// Examines a photo or video (other kinds give an empty `Media`).
/// Sniffs `data` and examines it if it is a photo or video: what `inspect` and
/// `examine` say together, with the detail of a refusal in words.
pub fn file(name: &str, data: &[u8], cfg: &MediaConfig, tz: Tz) -> Result<(Inspection, Media), (Rejection, String)> {
    let ins = inspect(name, data).map_err(|r| (r, String::new()))?;
    let media = examine(ins.kind, ins.mime, name, data, cfg, tz)?;
    Ok((ins, media))
}

/// A photo that cannot be shown is refused (`corrupt_image`, `image_bomb`), and so is a
/// video that cannot be played (`corrupt_video`), with the reason in words.
pub fn examine(kind: Kind, mime: &str, name: &str, data: &[u8], cfg: &MediaConfig, tz: Tz) -> Result<Media, (Rejection, String)> {
    let t = &cfg.thresholds;
    match kind {
        Kind::Photo => with_permit(|| {
            let p = photo::analyse(mime, data, cfg.limits, cfg.thumbnails)?;
            let captured_at = p.exif.taken.as_deref().and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()).and_then(|n| n.and_local_timezone(tz).earliest()).map(|t| t.timestamp());
            Ok(Media {
                flags: quality::photo(t, name, mime, data.len(), p.width, p.height, p.exif.present, p.blur),
                width: (p.width > 0).then_some(p.width),
                height: (p.height > 0).then_some(p.height),
                captured_at,
                camera: p.exif.camera,
                authors: p.exif.authors,
                phash: p.phash,
                blur: p.blur,
                thumbnail: p.thumbnail,
                rendition: p.rendition,
                ..Media::default()
            })
        }),
        Kind::Video => {
            if !matches!(mime, "video/mp4" | "video/quicktime" | "video/3gpp" | "video/x-m4v") {
                return Ok(Media { container: Some(mime.trim_start_matches("video/").trim_start_matches("x-").to_string()), ..Media::default() });
            }
            let v = video::read(data);
            if let Some(why) = video::unplayable(&v) {
                return Err((Rejection::CorruptVideo, why.to_string()));
            }
            Ok(Media {
                flags: quality::video(t, v.width, v.height, v.duration_ms),
                width: v.width,
                height: v.height,
                duration_ms: v.duration_ms,
                container: Some(v.container),
                codec: v.codec,
                captured_at: v.created_at,
                authors: v.authors,
                ..Media::default()
            })
        }
        Kind::Document => Ok(Media::default()),
    }
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
        Kind::Document => crate::unpack::names::extensions_for(mime).is_some_and(|fits| fits.contains(&ext)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1];

    #[test]
    fn a_panicking_decode_returns_its_permit() {
        let slots = *POOL.free.lock().unwrap();
        for _ in 0..slots + 2 {
            let r = std::panic::catch_unwind(|| with_permit(|| panic!("decoder blew up")));
            assert!(r.is_err());
        }
        assert_eq!(*POOL.free.lock().unwrap(), slots, "every permit came back");
        assert_eq!(with_permit(|| 7), 7, "decoding still works after panics");
    }

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
