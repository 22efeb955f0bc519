//! HEIC/HEIF (iPhone photos), decoded with libheif: the size, a working copy for the
//! thumbnail, hash and blur score, and a full-size JPEG rendition that Windows users
//! can open (the tree shows it next to the original). The size is read from the
//! `ispe` property first and bounded before libheif allocates anything.

use image::{DynamicImage, RgbImage};
use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};

use super::limits::DecodeLimits;
use crate::rejection::Rejection;

/// Bytes per pixel a decode holds at its peak, as measured here: libheif's YCbCr
/// planes and tiles, the interleaved RGB image and the JPEG rendition being written
/// (a 4032 × 3024 photo peaked 98 MiB above the process's base).
const BYTES_PER_PIXEL: u64 = 8;
/// HEVC has no reduced-scale decoding, so a HEIC gets this many times the decode
/// budget: at the default 80 MiB, up to 26 MP, which covers the 24 MP photos that
/// recent iPhones take by default (5712 × 4284), and keeps a message under 256 MiB.
const BUDGET_FACTOR: u64 = 5;
const BUDGET_DIVISOR: u64 = 2;
const RENDITION_QUALITY: u8 = 90;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The largest `ispe` (image spatial extents) found: the primary image's size.
pub fn dimensions(data: &[u8]) -> Option<(u32, u32)> {
    let mut best: Option<(u32, u32)> = None;
    let mut from = 0;
    while let Some(pos) = data[from..].windows(4).position(|w| w == b"ispe") {
        let at = from + pos + 4; // version/flags, then width and height
        if let (Some(w), Some(h)) = (u32_at(data, at + 4), u32_at(data, at + 8)) {
            if best.is_none_or(|(bw, bh)| u64::from(w) * u64::from(h) > u64::from(bw) * u64::from(bh)) {
                best = Some((w, h));
            }
        }
        from = at;
        if from > 1 << 20 {
            break; // the meta box sits at the start
        }
    }
    best
}

/// A decoded HEIC: its size, a working copy no larger than `side` px on its long
/// side (already upright: libheif applies the file's rotation and mirroring), and
/// the full-size JPEG rendition.
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub work: DynamicImage,
    pub rendition: Vec<u8>,
}

fn corrupt(why: &str) -> (Rejection, String) {
    (Rejection::CorruptImage, why.to_string())
}

pub fn decode(data: &[u8], limits: DecodeLimits, side: u32) -> Result<Decoded, (Rejection, String)> {
    let (w, h) = dimensions(data).ok_or_else(|| corrupt("HEIC 照片文件头已损坏，读不出尺寸，请重新发送原图"))?;
    let budget = limits.max_alloc.saturating_mul(BUDGET_FACTOR) / BUDGET_DIVISOR;
    let within = |w: u32, h: u32| {
        let px = u64::from(w) * u64::from(h);
        px <= limits.max_pixels && px * BYTES_PER_PIXEL <= budget
    };
    let too_big = |w: u32, h: u32| {
        let mp = u64::from(w) * u64::from(h) / 1_000_000;
        (Rejection::ImageBomb, format!("HEIC 照片 {w} × {h}（约 {mp} 百万像素）超过解码上限；请在手机“设置 → 相机 → 格式”中选“兼容性最佳”（JPEG）或降低像素后重发"))
    };
    if !within(w, h) {
        return Err(too_big(w, h));
    }
    let broken = |_| corrupt("HEIC 照片数据已损坏或不完整，无法显示，请重新发送原图");
    let ctx = HeifContext::read_from_bytes(data).map_err(broken)?;
    let handle = ctx.primary_image_handle().map_err(broken)?;
    // The primary image may be a grid larger than any one `ispe` seen so far.
    if !within(handle.width(), handle.height()) {
        return Err(too_big(handle.width(), handle.height()));
    }
    let mut image = LibHeif::new().decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None).map_err(broken)?;
    let planes = image.planes_mut();
    let plane = planes.interleaved.ok_or_else(|| corrupt("HEIC 照片的颜色格式无法转换"))?;
    let (pw, ph, stride) = (plane.width, plane.height, plane.stride);
    let row = pw as usize * 3;
    let data = plane.data;
    if pw == 0 || ph == 0 || stride < row || data.len() < stride * (ph as usize - 1) + row {
        return Err(corrupt("HEIC 照片解码结果为空"));
    }
    // Rows are padded to `stride`: pack them in place, so the encoder and the
    // working copy read one contiguous RGB buffer without a full-size copy.
    for y in 1..ph as usize {
        data.copy_within(y * stride..y * stride + row, y * row);
    }
    let rgb = &data[..row * ph as usize];
    let rendition = encode_jpeg(rgb, pw, ph)?;
    let work = DynamicImage::ImageRgb8(shrink(rgb, pw, ph, side));
    Ok(Decoded { width: pw, height: ph, work, rendition })
}

/// The rendition, encoded by libjpeg-turbo (a 12 MP picture in about a tenth of the
/// image crate's encoder's time).
fn encode_jpeg(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, (Rejection, String)> {
    super::photo::turbo::encode_rgb(rgb, w, h, RENDITION_QUALITY).ok_or_else(|| corrupt("HEIC 照片转为 JPEG 时出错"))
}

/// A box-filtered copy of packed RGB, at most `side` px on the long side.
fn shrink(rgb: &[u8], w: u32, h: u32, side: u32) -> RgbImage {
    let k = w.max(h).div_ceil(side).max(1);
    let (nw, nh) = (w.div_ceil(k), h.div_ceil(k));
    RgbImage::from_fn(nw, nh, |x, y| {
        let (mut sum, mut n) = ([0u32; 3], 0u32);
        for sy in y * k..((y + 1) * k).min(h) {
            let at = (sy * w) as usize * 3;
            for sx in x * k..((x + 1) * k).min(w) {
                let p = at + sx as usize * 3;
                for c in 0..3 {
                    sum[c] += u32::from(rgb[p + c]);
                }
                n += 1;
            }
        }
        image::Rgb(sum.map(|s| (s / n.max(1)) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_averages_whole_blocks() {
        let rgb: Vec<u8> = (0..4 * 2).flat_map(|i| [if i % 2 == 0 { 0 } else { 200 }, 10, 20]).collect();
        let small = shrink(&rgb, 4, 2, 2);
        assert_eq!(small.dimensions(), (2, 1));
        assert_eq!(small.get_pixel(0, 0).0, [100, 10, 20]);
    }

    #[test]
    fn a_48_mp_heic_is_refused_from_its_header_in_words() {
        // ftyp, then a meta box whose ipco holds ispe 8064 × 6048 (iPhone ProRAW-size HEIC).
        let mut data = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        data.extend(b"\0\0\0\x14ispe\0\0\0\0");
        data.extend(8064u32.to_be_bytes());
        data.extend(6048u32.to_be_bytes());
        let (r, why) = decode(&data, DecodeLimits::DEFAULT, 800).err().unwrap();
        assert_eq!(r, Rejection::ImageBomb);
        assert!(why.contains("8064 × 6048") && why.contains("兼容性最佳"), "{why}");
    }

    #[test]
    fn garbage_after_a_heic_brand_is_refused_not_decoded() {
        let mut data = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        data.extend([0x5Au8; 400]);
        assert_eq!(decode(&data, DecodeLimits::DEFAULT, 800).err().map(|e| e.0), Some(Rejection::CorruptImage));
    }
}
