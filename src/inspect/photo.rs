//! What a photo looks like: size, EXIF (capture time, camera, orientation), a
//! perceptual hash, a blur score and a 320 px JPEG thumbnail. JPEG is decoded at
//! reduced scale (DCT scaling), so a 12 MP photo costs a fraction of a full decode.
//! Decoding is bounded by a pixel count and an allocation limit, both checked against
//! the header (`bounds`) before any decoder runs.

use std::io::Cursor;

pub mod bounds;

use fast_image_resize::{ResizeOptions, Resizer};
use image::{DynamicImage, GrayImage, RgbImage};

use super::limits::DecodeLimits;
use crate::rejection::Rejection;
use bounds::{Bounds, Format};

/// EXIF facts used for flags and shown to people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exif {
    pub present: bool,
    pub orientation: u32,
    /// DateTimeOriginal, as written (local time of the camera), "YYYY-MM-DD HH:MM:SS".
    pub taken: Option<String>,
    pub camera: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PhotoInfo {
    pub width: u32,
    pub height: u32,
    pub exif: Exif,
    pub phash: Option<String>,
    pub blur: Option<f64>,
    /// The 320 px thumbnail, JPEG, orientation applied.
    pub thumbnail: Option<Vec<u8>>,
    /// A full-size JPEG of a photo Windows cannot open itself (HEIC).
    pub rendition: Option<Vec<u8>>,
}

/// The least long side of the working copy: enough for a sharp 320 px thumbnail and
/// a meaningful blur score. JPEG decodes at the smallest DCT scale (1/8, 1/4, 1/2)
/// that still gives this, so a 12 MP photo decodes at 1/8.
const WORKING: u32 = 400;
pub const THUMB: u32 = 320;

pub fn read_exif(data: &[u8]) -> Exif {
    let Ok(e) = exif::Reader::new().read_from_container(&mut Cursor::new(data)) else { return Exif::default() };
    let text = |tag| {
        e.get_field(tag, exif::In::PRIMARY).map(|f| f.display_value().to_string().trim_matches('"').trim().to_string()).filter(|s| !s.is_empty())
    };
    let taken = e.get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY).and_then(|f| match &f.value {
        exif::Value::Ascii(v) => v.first().and_then(|a| exif::DateTime::from_ascii(a).ok()),
        _ => None,
    });
    let camera = match (text(exif::Tag::Make), text(exif::Tag::Model)) {
        (Some(m), Some(n)) if n.starts_with(&m) => Some(n),
        (Some(m), Some(n)) => Some(format!("{m} {n}")),
        (a, b) => a.or(b),
    };
    Exif {
        present: true,
        orientation: e.get_field(exif::Tag::Orientation, exif::In::PRIMARY).and_then(|f| f.value.get_uint(0)).unwrap_or(1),
        taken: taken.map(|t| format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute, t.second)),
        camera,
    }
}

/// Why no working copy could be made.
enum DecodeError {
    /// Beyond the limits: refused as `image_bomb`.
    Bomb,
    /// The decoder failed: the photo cannot be shown, refused as `corrupt_image`.
    Unreadable,
    /// A JPEG coding no browser or viewer shows (arithmetic, lossless, 16-bit).
    Unsupported,
}
use DecodeError::{Bomb, Unreadable, Unsupported};

/// Why a photo that cannot be shown was refused, in words for the sender.
fn corrupt_detail(e: &DecodeError, format: Option<Format>, data: &[u8]) -> &'static str {
    match e {
        Unsupported => "照片采用了不常见的编码方式，电脑上无法打开，请另存为普通 JPEG 后重发",
        _ if format.is_none() => "照片文件头已损坏，读不出尺寸，请重新发送原图",
        _ if format.is_some_and(|f| truncated(f, data)) => "照片不完整（文件被截断），请重新发送原图",
        _ => "照片数据已损坏，无法完整显示，请重新发送原图",
    }
}

/// Whether the file stops before its format's end marker: a JPEG without EOI, a PNG
/// without IEND, a GIF without its trailer, a WebP shorter than its RIFF size.
fn truncated(format: Format, data: &[u8]) -> bool {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let data = &data[..end];
    match format {
        Format::Jpeg => !data.ends_with(&[0xFF, 0xD9]),
        Format::Png => !data[data.len().saturating_sub(64)..].windows(4).any(|w| w == b"IEND"),
        Format::Gif => data.last() != Some(&0x3B),
        Format::WebP => data.get(4..8).is_some_and(|n| u64::from(u32::from_le_bytes([n[0], n[1], n[2], n[3]])) + 8 > end as u64),
        Format::Tiff => false,
    }
}

/// The DCT scale (1/8, 1/4, 1/2, 1/1) a JPEG of this size is decoded at: the smallest
/// that still gives a `WORKING` px long side.
fn jpeg_factor(w: u32, h: u32) -> u32 {
    [8, 4, 2, 1].into_iter().find(|f| w.max(h) / f >= WORKING).unwrap_or(1)
}

/// Decodes a working copy no larger than about `WORKING` px on its long side (JPEG)
/// or twice that (the others). What the decode will allocate is read from the header
/// first and checked against the limits: nothing is decoded that the header cannot
/// bound, and a bomb is refused before any decoder sees it.
fn decode(data: &[u8], limits: DecodeLimits) -> Result<(u32, u32, DynamicImage), DecodeError> {
    let b = bounds::read(data).ok_or(Unreadable)?;
    let factor = jpeg_factor(b.width, b.height);
    if b.pixels() > limits.max_pixels || b.decode_bytes(factor) > limits.max_alloc {
        return Err(Bomb);
    }
    match b.format {
        Format::Jpeg => decode_jpeg(data, &b, factor, limits).map(|img| (b.width, b.height, img)),
        Format::Png => decode_full(data, image::ImageFormat::Png, &b, limits),
        Format::Tiff => decode_full(data, image::ImageFormat::Tiff, &b, limits),
        Format::Gif => decode_full(data, image::ImageFormat::Gif, &b, limits),
        Format::WebP => decode_full(data, image::ImageFormat::WebP, &b, limits),
    }
}

/// JPEG at reduced scale with jpeg-decoder (the image crate's zune-jpeg has no DCT
/// scaling).
fn decode_jpeg(data: &[u8], b: &Bounds, factor: u32, limits: DecodeLimits) -> Result<DynamicImage, DecodeError> {
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(data));
    d.read_info().map_err(jpeg_error)?;
    let info = d.info().ok_or(Unreadable)?;
    // The decoder reads the same first frame header; anything else was not bounded.
    if (u32::from(info.width), u32::from(info.height)) != (b.width, b.height) {
        return Err(Unreadable);
    }
    d.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    let (w, h) = (b.width, b.height);
    let (rw, rh) = (w.div_ceil(factor).min(u32::from(u16::MAX)) as u16, h.div_ceil(factor).min(u32::from(u16::MAX)) as u16);
    let (sw, sh) = d.scale(rw, rh).map_err(|_| Unreadable)?;
    // Every scan is read, at whatever scale: a truncated or damaged photo fails here.
    let pixels = d.decode().map_err(jpeg_error)?;
    let format = d.info().map(|i| i.pixel_format).ok_or(Unreadable)?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    match format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8),
        jpeg_decoder::PixelFormat::L8 => GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8),
        jpeg_decoder::PixelFormat::CMYK32 => {
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u16::from(p[3]);
                    [(255 - u16::from(p[0])) * k / 255, (255 - u16::from(p[1])) * k / 255, (255 - u16::from(p[2])) * k / 255].map(|v| v as u8)
                })
                .collect();
            RgbImage::from_raw(sw, sh, rgb).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L16 => return Err(Unsupported),
    }
    .ok_or(Unreadable)
}

fn jpeg_error(e: jpeg_decoder::Error) -> DecodeError {
    match e {
        jpeg_decoder::Error::Unsupported(_) => Unsupported,
        _ => Unreadable,
    }
}

/// PNG, TIFF, GIF and WebP, decoded whole by the image crate in `format` (the one the
/// header was read as), under its limits as a second guard: no side beyond what the
/// header said, no allocation beyond `max_alloc`. The working copy is resized from
/// the decoded buffer itself, never from a full-size converted copy.
fn decode_full(data: &[u8], format: image::ImageFormat, b: &Bounds, limits: DecodeLimits) -> Result<(u32, u32, DynamicImage), DecodeError> {
    let mut reader = image::ImageReader::with_format(Cursor::new(data), format);
    let mut l = image::Limits::default();
    l.max_image_width = Some(b.width);
    l.max_image_height = Some(b.height);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Bomb,
        _ => Unreadable,
    })?;
    let (w, h) = (img.width(), img.height());
    let work = DynamicImage::ImageRgb8(resize(&img, WORKING * 2).to_rgb8());
    Ok((w, h, work))
}

/// Resizes to at most `side` px on the long side (never up), in the picture's own
/// pixel type, so that a large picture is never copied at full size.
pub fn resize(img: &DynamicImage, side: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    if w.max(h) <= side {
        return img.clone();
    }
    let scale = f64::from(side) / f64::from(w.max(h));
    let (nw, nh) = (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1));
    let mut dst = DynamicImage::new(nw, nh, img.color());
    // Without alpha handling: with it, the resizer premultiplies a full-size copy.
    match Resizer::new().resize(img, &mut dst, &ResizeOptions::new().use_alpha(false)) {
        Ok(()) => dst,
        Err(_) => img.thumbnail(nw, nh),
    }
}

/// Turns the picture upright as EXIF orientation (1–8) says.
pub fn orient(img: DynamicImage, orientation: u32) -> DynamicImage {
    match orientation {
        2 => img.fliph(),
        3 => img.rotate180(),
        4 => img.flipv(),
        5 => img.rotate90().fliph(),
        6 => img.rotate90(),
        7 => img.rotate270().fliph(),
        8 => img.rotate270(),
        _ => img,
    }
}

/// Variance of the Laplacian of the grey working copy: low means blurry.
pub fn blur_score(img: &DynamicImage) -> f64 {
    let g = grey(img);
    let (w, h) = (g.width() as usize, g.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = g.as_raw();
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = i32::from(p[y * w + x]);
            let l = i32::from(p[y * w + x - 1]) + i32::from(p[y * w + x + 1]) + i32::from(p[(y - 1) * w + x]) + i32::from(p[(y + 1) * w + x]) - 4 * c;
            let l = f64::from(l);
            sum += l;
            sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sq / n - mean * mean
}

/// The grey copy (luma by sRGB weights, as `to_luma8` gives within a level) of the
/// working copy. An 8-bit RGB picture, nearly every photo, is converted in integers:
/// the image crate's conversion goes through floats and cost a tenth of an import.
fn grey(img: &DynamicImage) -> GrayImage {
    let DynamicImage::ImageRgb8(rgb) = img else { return img.to_luma8() };
    let luma = rgb.as_raw().chunks_exact(3).map(|p| ((54 * u32::from(p[0]) + 183 * u32::from(p[1]) + 19 * u32::from(p[2]) + 128) >> 8) as u8).collect();
    GrayImage::from_raw(rgb.width(), rgb.height(), luma).unwrap_or_else(|| img.to_luma8())
}

/// Examines a photo. One that cannot be shown (truncated, damaged, no readable
/// header) is refused as `corrupt_image` with the reason in words; one beyond the
/// decode limits as `image_bomb`.
pub fn analyse(mime: &str, data: &[u8], limits: DecodeLimits, want_thumbnail: bool) -> Result<PhotoInfo, (Rejection, String)> {
    let exif = read_exif(data);
    let heif = matches!(mime, "image/heif" | "image/heic" | "image/avif");
    let (width, height, work, rendition) = if heif {
        let d = super::heif::decode(data, limits, WORKING * 2)?;
        (d.width, d.height, d.work, Some(d.rendition))
    } else {
        let (w, h, work) = decode(data, limits).map_err(|e| match e {
            Bomb => (Rejection::ImageBomb, String::new()),
            e => (Rejection::CorruptImage, corrupt_detail(&e, bounds::read(data).map(|b| b.format), data).to_string()),
        })?;
        (w, h, work, None)
    };
    // libheif has already turned a HEIC upright; the others follow their EXIF.
    let orientation = if heif { 1 } else { exif.orientation };
    let blur = blur_score(&work);
    let small = resize(&work, THUMB);
    // Hashing the small copy gives the same hash for far less work.
    let hasher = image_hasher::HasherConfig::new().hash_size(8, 8).to_hasher();
    let phash = hex::encode(hasher.hash_image(&small).as_bytes());
    let thumbnail = if want_thumbnail { Some(jpeg(&orient(small, orientation), 80)) } else { None };
    Ok(PhotoInfo { width, height, exif, phash: Some(phash), blur: Some(blur), thumbnail, rendition })
}

/// `img` as a JPEG of this quality.
pub fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to memory fails only on an empty picture, which no decoder gives.
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img.to_rgb8());
    out
}

/// Hamming distance between two hex perceptual hashes.
pub fn distance(a: &str, b: &str) -> Option<u32> {
    let (a, b) = (hex::decode(a).ok()?, hex::decode(b).ok()?);
    (a.len() == b.len()).then(|| a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn over_the_memory_limit_is_a_bomb_before_decoding() {
        let data = png(1200, 900);
        let p = analyse("image/png", &data, DecodeLimits::DEFAULT, true).unwrap();
        assert_eq!((p.width, p.height), (1200, 900));
        assert!(p.thumbnail.is_some() && p.phash.is_some());
        // 1200 × 900 × 4 + 800 × 900 × 4 bytes, one byte short.
        let tight = DecodeLimits { max_alloc: 1200 * 900 * 4 + 800 * 900 * 4 - 1, ..DecodeLimits::DEFAULT };
        assert_eq!(analyse("image/png", &data, tight, true).unwrap_err().0, Rejection::ImageBomb);
        // The header alone is enough: a PNG cut right after IHDR is still a bomb.
        let mut cut = data[..33].to_vec();
        cut[16..24].copy_from_slice(&[0, 0, 0x3D, 0xB8, 0, 0, 0x3D, 0xB8]); // 15800 × 15800
        assert_eq!(analyse("image/png", &cut, DecodeLimits::DEFAULT, true).unwrap_err().0, Rejection::ImageBomb);
    }

    #[test]
    fn what_has_no_readable_header_is_refused() {
        for data in [&b"\x89PNG\r\n\x1a\n\0\0"[..], b"\xFF\xD8\xFF\xDA\0\x02", b"II*\0\xFF\xFF\xFF\xFF"] {
            let (r, why) = analyse("image/png", data, DecodeLimits::DEFAULT, true).unwrap_err();
            assert_eq!((r, why.as_str()), (Rejection::CorruptImage, "照片文件头已损坏，读不出尺寸，请重新发送原图"));
        }
    }

    fn real_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]));
        jpeg(&DynamicImage::ImageRgb8(img), 90)
    }

    #[test]
    fn a_truncated_or_damaged_jpeg_is_refused_in_words() {
        let whole = real_jpeg(1600, 1200);
        assert_eq!(analyse("image/jpeg", &whole, DecodeLimits::DEFAULT, false).unwrap().width, 1600);
        let cut = &whole[..whole.len() * 2 / 3];
        let (r, why) = analyse("image/jpeg", cut, DecodeLimits::DEFAULT, false).unwrap_err();
        assert_eq!((r, why.as_str()), (Rejection::CorruptImage, "照片不完整（文件被截断），请重新发送原图"));
        // JPEG magic and a frame header, then random bytes where the scan should be.
        let sos = whole.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let mut noise = whole[..sos + 14].to_vec();
        noise.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8 | 1));
        noise.extend([0xFF, 0xD9]);
        let (r, _) = analyse("image/jpeg", &noise, DecodeLimits::DEFAULT, false).unwrap_err();
        assert_eq!(r, Rejection::CorruptImage);
    }

    #[test]
    fn a_truncated_png_is_refused() {
        let whole = png(800, 600);
        let (r, why) = analyse("image/png", &whole[..whole.len() / 2], DecodeLimits::DEFAULT, false).unwrap_err();
        assert_eq!((r, why.as_str()), (Rejection::CorruptImage, "照片不完整（文件被截断），请重新发送原图"));
    }

    #[test]
    fn the_grey_copy_matches_the_image_crates_within_a_level() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x * y) % 256) as u8])));
        let (ours, theirs) = (grey(&img), img.to_luma8());
        assert!(ours.pixels().zip(theirs.pixels()).all(|(a, b)| a.0[0].abs_diff(b.0[0]) <= 1));
    }

    #[test]
    fn resizing_keeps_the_pixel_type_and_never_enlarges() {
        let grey = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(1000, 500, image::Luma([40_000u16])));
        let small = resize(&grey, 100);
        assert_eq!((small.width(), small.height(), small.color()), (100, 50, image::ColorType::L16));
        assert_eq!(resize(&small, 400).width(), 100);
    }
}
