//! What a photo looks like: size, EXIF (capture time, camera, orientation), a
//! perceptual hash, a blur score and a 320 px JPEG thumbnail. JPEG is decoded at
//! reduced scale (DCT scaling), so a 12 MP photo costs a fraction of a full decode.
//! Decoding is bounded by a pixel count and an allocation limit, both checked against
//! the header (`bounds`) before any decoder runs.

use std::io::Cursor;

pub mod bounds;
mod luma;
pub mod turbo;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GrayImage, RgbImage};

use super::limits::DecodeLimits;
use crate::rejection::Rejection;
use bounds::{Bounds, Format, Layout};

/// EXIF facts used for flags and shown to people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exif {
    pub present: bool,
    pub orientation: u32,
    /// DateTimeOriginal, as written (local time of the camera), "YYYY-MM-DD HH:MM:SS".
    pub taken: Option<String>,
    pub camera: Option<String>,
    /// Artist and XPAuthor (Windows' 作者), as written: who took it, if the camera or
    /// the office's software says.
    pub authors: Vec<String>,
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
    // Artist is ASCII by the standard, but Chinese cameras and Windows write UTF-8 there;
    // XPAuthor (0x9C9D) is UTF-16LE bytes, as Windows' file properties write it.
    let artist = e.get_field(exif::Tag::Artist, exif::In::PRIMARY).and_then(|f| match &f.value {
        exif::Value::Ascii(v) => v.first().map(|a| String::from_utf8_lossy(a).trim_matches(char::from(0)).trim().to_string()),
        _ => None,
    });
    let xp_author = e.get_field(exif::Tag(exif::Context::Tiff, 0x9C9D), exif::In::PRIMARY).and_then(|f| match &f.value {
        exif::Value::Byte(b) => {
            let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0).collect();
            Some(String::from_utf16_lossy(&units).trim().to_string())
        }
        _ => None,
    });
    Exif {
        authors: [artist, xp_author].into_iter().flatten().filter(|s| !s.is_empty()).collect(),
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
        Format::Jpeg => decode_jpeg(data, &b, factor).map(|img| (b.width, b.height, img)),
        Format::Png => decode_full(data, image::ImageFormat::Png, &b, limits),
        Format::Tiff => decode_full(data, image::ImageFormat::Tiff, &b, limits),
        Format::Gif => decode_full(data, image::ImageFormat::Gif, &b, limits),
        Format::WebP => decode_full(data, image::ImageFormat::WebP, &b, limits),
    }
}

/// JPEG at reduced scale with libjpeg-turbo (`turbo`): SIMD Huffman decoding and IDCT,
/// scaled in the IDCT itself, every scan read. Codings no browser shows are refused
/// before decoding, from the header: arithmetic, lossless, other than 8 bits.
fn decode_jpeg(data: &[u8], b: &Bounds, factor: u32) -> Result<DynamicImage, DecodeError> {
    if let Layout::Jpeg { arithmetic, lossless, precision, .. } = b.layout {
        if arithmetic || lossless || precision != 8 {
            return Err(Unsupported);
        }
    }
    let tj = turbo::Decompressor::new().map_err(|_| Unreadable)?;
    let head = tj.header(data).map_err(|_| Unreadable)?;
    // The decoder reads the same first frame header; anything else was not bounded.
    if (head.width, head.height) != (b.width, b.height) {
        return Err(Unreadable);
    }
    let d = tj.decode(data, head, factor).map_err(|_| Unreadable)?;
    let (w, h) = (d.width, d.height);
    match d.pixels {
        turbo::Pixels::Rgb => RgbImage::from_raw(w, h, d.data).map(DynamicImage::ImageRgb8),
        turbo::Pixels::Grey => GrayImage::from_raw(w, h, d.data).map(DynamicImage::ImageLuma8),
        turbo::Pixels::Cmyk => {
            // Adobe's inverted CMYK: each byte is 255 less the ink.
            let rgb: Vec<u8> = d
                .data
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    [u16::from(p[0]) * k / 255, u16::from(p[1]) * k / 255, u16::from(p[2]) * k / 255].map(|v| v as u8)
                })
                .collect();
            RgbImage::from_raw(w, h, rgb).map(DynamicImage::ImageRgb8)
        }
    }
    .ok_or(Unreadable)
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
/// pixel type, so that a large picture is never copied at full size. The filter is a
/// bilinear (triangle) convolution, widened with the scale so that it still averages
/// every pixel: for the 2× shrink of a working copy to its thumbnail it reads a third
/// of Lanczos3's taps and needs no sines for its weights; Lanczos3 took a twentieth of
/// a whole import (README, benchmarks).
pub fn resize(img: &DynamicImage, side: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    if w.max(h) <= side {
        return img.clone();
    }
    let scale = f64::from(side) / f64::from(w.max(h));
    let (nw, nh) = (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1));
    let mut dst = DynamicImage::new(nw, nh, img.color());
    // Without alpha handling: with it, the resizer premultiplies a full-size copy.
    let opts = ResizeOptions::new().use_alpha(false).resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    match Resizer::new().resize(img, &mut dst, &opts) {
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

/// Variance of the Laplacian of the grey working copy: low means blurry. Summed in
/// integers (exact, and four times faster than in floats).
pub fn blur_score(img: &DynamicImage) -> f64 {
    laplacian_variance(&grey(img))
}

fn laplacian_variance(g: &GrayImage) -> f64 {
    let (w, h) = (g.width() as usize, g.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = g.as_raw();
    let (mut sum, mut sq) = (0i64, 0i64);
    for y in 1..h - 1 {
        let (up, row, down) = (&p[(y - 1) * w..y * w], &p[y * w..(y + 1) * w], &p[(y + 1) * w..(y + 2) * w]);
        let (s, q) = row_sums(&row[..w - 2], &row[1..w - 1], &row[2..], &up[1..w - 1], &down[1..w - 1]);
        sum += s;
        sq += q;
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / n;
    sq as f64 / n - mean * mean
}

/// The sum of the Laplacian `left + right + up + down − 4 × centre` over a row, and of
/// its squares. Over slices of one length (no index checks inside) and in runs of 1024
/// pixels, whose sums fit i32 (|l| ≤ 1020, l² ≤ 1 040 400): the compiler turns the
/// inner loop into vector instructions (SSE2), and the blur score's share of a
/// `poll --once` profile fell from 2.3 % to 1.4 %.
fn row_sums(left: &[u8], centre: &[u8], right: &[u8], up: &[u8], down: &[u8]) -> (i64, i64) {
    let (mut sum, mut sq) = (0i64, 0i64);
    for start in (0..centre.len()).step_by(1024) {
        let end = (start + 1024).min(centre.len());
        let (l, c, r, u, d) = (&left[start..end], &centre[start..end], &right[start..end], &up[start..end], &down[start..end]);
        let (mut s, mut q) = (0i32, 0i32);
        for i in 0..c.len() {
            let v = i32::from(l[i]) + i32::from(r[i]) + i32::from(u[i]) + i32::from(d[i]) - 4 * i32::from(c[i]);
            s += v;
            q += v * v;
        }
        sum += i64::from(s);
        sq += i64::from(q);
    }
    (sum, sq)
}

/// The 64-bit perceptual hash of a grey picture, as image_hasher's default (gradient,
/// 8 × 8, Lanczos3, first bit lowest) computes it: shrunk to 9 × 8, each pixel compared
/// with its right neighbour. The shrink is fast_image_resize's (SIMD) instead of the
/// image crate's, which with image_hasher's own grey conversion took a twentieth of a
/// whole import; the hashes agree within a bit or two (rounding), far below the
/// near-duplicate distance.
fn gradient_hash(g: &GrayImage) -> [u8; 8] {
    let mut small = GrayImage::new(9, 8);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if Resizer::new().resize(g, &mut small, &opts).is_err() {
        small = image::imageops::resize(g, 9, 8, image::imageops::FilterType::Lanczos3);
    }
    let p = small.as_raw();
    let mut hash = [0u8; 8];
    for (row, byte) in hash.iter_mut().enumerate() {
        for x in 0..8 {
            if p[row * 9 + x] < p[row * 9 + x + 1] {
                *byte |= 1 << x;
            }
        }
    }
    hash
}

/// The grey copy (luma by sRGB weights, as `to_luma8` gives within a level) of the
/// working copy. An 8-bit RGB picture, nearly every photo, is converted in integers:
/// the image crate's conversion goes through floats and cost a tenth of an import;
/// `luma` does sixteen pixels at a time.
fn grey(img: &DynamicImage) -> GrayImage {
    let DynamicImage::ImageRgb8(rgb) = img else { return img.to_luma8() };
    let luma = luma::plane(rgb.as_raw());
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
    let phash = hex::encode(gradient_hash(&grey(&small)));
    let thumbnail = if want_thumbnail { Some(jpeg(&orient(small, orientation), 80)) } else { None };
    Ok(PhotoInfo { width, height, exif, phash: Some(phash), blur: Some(blur), thumbnail, rendition })
}

/// `img` as a JPEG of this quality, encoded by libjpeg-turbo (a tenth of the image
/// crate's encoder's time); a picture that is not 8-bit RGB is converted first.
pub fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let converted;
    let rgb = match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        _ => {
            converted = img.to_rgb8();
            &converted
        }
    };
    turbo::encode_rgb(rgb.as_raw(), rgb.width(), rgb.height(), quality).unwrap_or_else(|| {
        let mut out = Vec::new();
        // Writing to memory fails only on an empty picture, which no decoder gives.
        let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(rgb);
        out
    })
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
    fn the_grey_copy_is_exact_for_every_pixel() {
        let img = RgbImage::from_fn(37, 23, |x, y| image::Rgb([(x * 97 + y * 13) as u8, (x * y * 31) as u8, (255 - x * 7) as u8]));
        let g = grey(&DynamicImage::ImageRgb8(img.clone()));
        for (p, y) in img.pixels().zip(g.pixels()) {
            let want = (54 * u32::from(p.0[0]) + 183 * u32::from(p.0[1]) + 19 * u32::from(p.0[2]) + 128) >> 8;
            assert_eq!(u32::from(y.0[0]), want, "{p:?}");
        }
    }

    #[test]
    fn the_blur_score_of_a_row_longer_than_a_run_is_exact_at_the_extremes() {
        // A checkerboard of 0 and 255 gives |l| = 1020 everywhere: the largest square,
        // over rows of 2 500 pixels (three runs of at most 1 024).
        let (w, h) = (2500u32, 4u32);
        let g = GrayImage::from_fn(w, h, |x, y| image::Luma([if (x + y) % 2 == 0 { 255 } else { 0 }]));
        let v = laplacian_variance(&g);
        // Half the inner pixels are +1020 (the zeros, -4 × 0 + 4 × 255), half -1020.
        let n = f64::from((w - 2) * (h - 2));
        let mean = (n / 2.0).floor().mul_add(-1020.0, (n / 2.0).ceil() * 1020.0) / n;
        let want = 1020.0 * 1020.0 - mean * mean;
        assert!((v - want).abs() < 1e-6, "{v} against {want}");
    }

    fn smooth(w: u32, h: u32, seed: u32) -> RgbImage {
        let s = f64::from(seed);
        RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
            let a = 128.0 + 100.0 * (u * (2.0 + s) * 6.3 + s).sin() * (v * (1.0 + s * 0.7) * 6.3).cos();
            image::Rgb([a as u8, (255.0 - a) as u8, ((a + f64::from(x % 37)) % 256.0) as u8])
        })
    }

    #[test]
    fn the_perceptual_hash_is_image_hashers_within_rounding() {
        let hasher = image_hasher::HasherConfig::new().hash_size(8, 8).to_hasher();
        for seed in 0..12 {
            let img = DynamicImage::ImageRgb8(smooth(320, 240, seed));
            let theirs = hex::encode(hasher.hash_image(&img).as_bytes());
            let ours = hex::encode(gradient_hash(&grey(&img)));
            let d = distance(&ours, &theirs).unwrap();
            assert!(d <= 3, "seed {seed}: {ours} against {theirs}, {d} bits apart");
        }
    }

    #[test]
    fn the_blur_score_in_integers_is_the_float_one() {
        let g = grey(&DynamicImage::ImageRgb8(smooth(201, 133, 5)));
        let (w, h, p) = (201usize, 133usize, g.as_raw());
        let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let l = f64::from(i32::from(p[y * w + x - 1]) + i32::from(p[y * w + x + 1]) + i32::from(p[(y - 1) * w + x]) + i32::from(p[(y + 1) * w + x]) - 4 * i32::from(p[y * w + x]));
                sum += l;
                sq += l * l;
                n += 1.0;
            }
        }
        let float = sq / n - (sum / n) * (sum / n);
        assert!((laplacian_variance(&g) - float).abs() < 1e-6 * float.max(1.0), "{} against {float}", laplacian_variance(&g));
    }

    #[test]
    fn grey_and_cmyk_jpegs_are_examined() {
        let mut out = Vec::new();
        let g = GrayImage::from_fn(1200, 900, |x, y| image::Luma([((x * 3 + y * 5) % 256) as u8]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&g).unwrap();
        let p = analyse("image/jpeg", &out, DecodeLimits::DEFAULT, true).unwrap();
        assert_eq!((p.width, p.height), (1200, 900));
        assert!(p.thumbnail.is_some() && p.blur.is_some());
        // Adobe CMYK as Photoshop writes it (inverted: 255 is no ink): cyan-free, full
        // magenta and yellow, no black, which is red.
        let cmyk: Vec<u8> = (0..64 * 48).flat_map(|_| [255u8, 0, 0, 255]).collect();
        let jpeg = turbo_cmyk(&cmyk, 64, 48);
        let b = bounds::read(&jpeg).unwrap();
        let DynamicImage::ImageRgb8(rgb) = decode_jpeg(&jpeg, &b, 1).ok().unwrap() else { panic!("not RGB") };
        let px = rgb.get_pixel(10, 10).0;
        assert!(px[0] > 240 && px[1] < 15 && px[2] < 15, "{px:?}");
    }

    /// CMYK pixels as a YCCK JPEG, as libjpeg-turbo writes them (values stored as given).
    fn turbo_cmyk(cmyk: &[u8], w: i32, h: i32) -> Vec<u8> {
        use turbojpeg_sys as tj;
        // SAFETY: test helper; `cmyk` holds w × h × 4 bytes; the output is freed once.
        unsafe {
            let handle = tj::tjInitCompress();
            let (mut buf, mut size) = (std::ptr::null_mut(), 0);
            assert_eq!(tj::tjCompress2(handle, cmyk.as_ptr(), w, 0, h, tj::TJPF_TJPF_CMYK as i32, &mut buf, &mut size, tj::TJSAMP_TJSAMP_444 as i32, 90, 0), 0);
            let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
            tj::tjFree(buf);
            tj::tjDestroy(handle);
            out
        }
    }

    #[test]
    fn codings_no_browser_shows_are_refused_from_the_header() {
        let whole = real_jpeg(640, 480);
        let sof = whole.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        for (marker, precision) in [(0xC9, 8), (0xC3, 8), (0xC1, 12)] {
            let mut v = whole.clone();
            v[sof + 1] = marker;
            v[sof + 4] = precision;
            let (r, why) = analyse("image/jpeg", &v, DecodeLimits::DEFAULT, false).unwrap_err();
            assert_eq!((r, why.as_str()), (Rejection::CorruptImage, "照片采用了不常见的编码方式，电脑上无法打开，请另存为普通 JPEG 后重发"), "{marker:x}");
        }
    }

    #[test]
    fn resizing_keeps_the_pixel_type_and_never_enlarges() {
        let grey = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(1000, 500, image::Luma([40_000u16])));
        let small = resize(&grey, 100);
        assert_eq!((small.width(), small.height(), small.color()), (100, 50, image::ColorType::L16));
        assert_eq!(resize(&small, 400).width(), 100);
    }
}
