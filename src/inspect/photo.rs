//! What a photo looks like: size, EXIF (capture time, camera, orientation), a
//! perceptual hash, a blur score and a 320 px JPEG thumbnail. JPEG is decoded at
//! reduced scale (DCT scaling), so a 12 MP photo costs a fraction of a full decode.
//! Decoding is bounded by a pixel count and an allocation limit.

use std::io::Cursor;

use fast_image_resize::{ResizeOptions, Resizer, images::Image as FirImage};
use image::{DynamicImage, GrayImage, RgbImage};

use crate::rejection::Rejection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_pixels: u64,
    pub max_alloc: u64,
}

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
    /// Our decoders cannot read it; the file is kept, unexamined.
    Unreadable,
}
use DecodeError::{Bomb, Unreadable};

/// Decodes a working copy no larger than about `WORKING` px on its long side.
fn decode(mime: &str, data: &[u8], limits: DecodeLimits) -> Result<(u32, u32, DynamicImage), DecodeError> {
    if mime == "image/jpeg" {
        let mut d = jpeg_decoder::Decoder::new(Cursor::new(data));
        d.read_info().map_err(|_| Unreadable)?;
        let info = d.info().ok_or(Unreadable)?;
        let (w, h) = (u32::from(info.width), u32::from(info.height));
        if u64::from(w) * u64::from(h) > limits.max_pixels {
            return Err(Bomb);
        }
        d.set_max_decoding_buffer_size(limits.max_alloc as usize);
        let factor = [8, 4, 2, 1].into_iter().find(|f| w.max(h) / f >= WORKING).unwrap_or(1);
        let (rw, rh) = (w.div_ceil(factor).min(u32::from(u16::MAX)) as u16, h.div_ceil(factor).min(u32::from(u16::MAX)) as u16);
        let (sw, sh) = d.scale(rw, rh).map_err(|_| Unreadable)?;
        let pixels = d.decode().map_err(|_| Unreadable)?;
        let format = d.info().map(|i| i.pixel_format).ok_or(Unreadable)?;
        let (sw, sh) = (u32::from(sw), u32::from(sh));
        let img = match format {
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
            jpeg_decoder::PixelFormat::L16 => None,
        }
        .ok_or(Unreadable)?;
        return Ok((w, h, img));
    }
    let reader = image::ImageReader::new(Cursor::new(data)).with_guessed_format().map_err(|_| Unreadable)?;
    let (w, h) = reader.into_dimensions().map_err(|_| Unreadable)?;
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(Bomb);
    }
    let mut reader = image::ImageReader::new(Cursor::new(data)).with_guessed_format().map_err(|_| Unreadable)?;
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Bomb,
        _ => Unreadable,
    })?;
    Ok((w, h, resize(&DynamicImage::ImageRgb8(img.to_rgb8()), WORKING * 2)))
}

/// Resizes to at most `side` px on the long side (never up).
pub fn resize(img: &DynamicImage, side: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    if w.max(h) <= side {
        return img.clone();
    }
    let scale = f64::from(side) / f64::from(w.max(h));
    let (nw, nh) = (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1));
    let src = DynamicImage::ImageRgb8(img.to_rgb8());
    let mut dst = FirImage::new(nw, nh, fast_image_resize::PixelType::U8x3);
    if Resizer::new().resize(&src, &mut dst, &ResizeOptions::new()).is_err() {
        return img.thumbnail(nw, nh);
    }
    RgbImage::from_raw(nw, nh, dst.into_vec()).map(DynamicImage::ImageRgb8).unwrap_or_else(|| img.thumbnail(nw, nh))
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
    let g = img.to_luma8();
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

pub fn analyse(mime: &str, data: &[u8], limits: DecodeLimits, want_thumbnail: bool) -> Result<PhotoInfo, Rejection> {
    let exif = read_exif(data);
    if matches!(mime, "image/heif" | "image/heic" | "image/avif") {
        let (width, height) = super::heif::dimensions(data).unwrap_or((0, 0));
        return Ok(PhotoInfo { width, height, exif, ..Default::default() });
    }
    let (width, height, work) = match decode(mime, data, limits) {
        Ok(d) => d,
        Err(Bomb) => return Err(Rejection::ImageBomb),
        // A photo our decoders cannot read (an unusual JPEG, a damaged file) is still
        // the sender's work: kept, without size, hash or thumbnail.
        Err(Unreadable) => return Ok(PhotoInfo { exif, ..Default::default() }),
    };
    let blur = blur_score(&work);
    let small = resize(&work, THUMB);
    // Hashing the small copy gives the same hash for far less work.
    let hasher = image_hasher::HasherConfig::new().hash_size(8, 8).to_hasher();
    let phash = hex::encode(hasher.hash_image(&small).as_bytes());
    let thumbnail = if want_thumbnail {
        let t = orient(small, exif.orientation);
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&t.to_rgb8()).ok().map(|_| out)
    } else {
        None
    };
    Ok(PhotoInfo { width, height, exif, phash: Some(phash), blur: Some(blur), thumbnail })
}

/// Hamming distance between two hex perceptual hashes.
pub fn distance(a: &str, b: &str) -> Option<u32> {
    let (a, b) = (hex::decode(a).ok()?, hex::decode(b).ok()?);
    (a.len() == b.len()).then(|| a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum())
}
