//! Pure rules for the quality flags, with thresholds from `[inspect]`. The rules ask
//! for high-quality photos and videos; these flags point the office at the ones that
//! are not, so nobody has to open every file.

use std::sync::LazyLock;

use regex::Regex;

use crate::rejection::Flag;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A photo whose long side is below this is `low_resolution`.
    pub min_photo_long_side: u32,
    /// A video whose short side is below this (720p) is `low_resolution`.
    pub min_video_short_side: u32,
    /// A blur score (variance of the Laplacian on the ~800 px working copy) below this is `blurry`.
    pub blur: f64,
    /// A capture more than this many days before the cycle's month is `old_capture`.
    pub old_capture_days: i64,
    /// A video shorter than this is `short_video`.
    pub short_video_ms: i64,
    /// Perceptual-hash distance (of 64 bits) at or below which photos are near-duplicates.
    pub near_duplicate_distance: u32,
    /// JPEG without EXIF under this many bits per pixel looks recompressed.
    pub recompressed_bits_per_pixel: f64,
    /// An image shown inside the HTML body (`cid:`) with fewer pixels than this is a
    /// decoration (a signature logo), not a work.
    pub min_work_pixels: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_photo_long_side: 1600,
            min_video_short_side: 720,
            blur: 100.0,
            old_capture_days: 60,
            short_video_ms: 3000,
            near_duplicate_distance: 6,
            recompressed_bits_per_pixel: 1.0,
            min_work_pixels: 300_000,
        }
    }
}

static WECHAT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(mmexport\d{13}|微信图片_\d{14})").expect("regex"));

/// Phone screens are tall: 16:9 and longer, held either way.
fn phone_screen(w: u32, h: u32) -> bool {
    let (long, short) = (w.max(h) as f64, w.min(h).max(1) as f64);
    long / short >= 1.7 && short >= 600.0 && short <= 1600.0
}

/// Flags of a photo from what it contains.
#[allow(clippy::too_many_arguments)]
pub fn photo(t: &Thresholds, name: &str, mime: &str, bytes: usize, w: u32, h: u32, has_exif: bool, blur: Option<f64>) -> Vec<Flag> {
    let mut f = Vec::new();
    if w > 0 && w.max(h) < t.min_photo_long_side {
        f.push(Flag::LowResolution);
    }
    if blur.is_some_and(|b| b < t.blur) {
        f.push(Flag::Blurry);
    }
    let bpp = if w > 0 && h > 0 { bytes as f64 * 8.0 / (f64::from(w) * f64::from(h)) } else { f64::MAX };
    if WECHAT.is_match(name) || (mime == "image/jpeg" && !has_exif && bpp < t.recompressed_bits_per_pixel) {
        f.push(Flag::Recompressed);
    }
    if mime == "image/png" && !has_exif && phone_screen(w, h) {
        f.push(Flag::Screenshot);
    }
    f
}

/// Flags of a video from its metadata.
pub fn video(t: &Thresholds, w: Option<u32>, h: Option<u32>, duration_ms: Option<i64>) -> Vec<Flag> {
    let mut f = Vec::new();
    if let (Some(w), Some(h)) = (w, h) {
        if w > 0 && w.min(h) < t.min_video_short_side {
            f.push(Flag::LowResolution);
        }
    }
    if duration_ms.is_some_and(|d| d < t.short_video_ms) {
        f.push(Flag::ShortVideo);
    }
    f
}

/// Whether a capture time lies more than `days` before the cycle's first day.
pub fn old_capture(captured_at: Option<i64>, cycle_start: i64, days: i64) -> bool {
    captured_at.is_some_and(|c| c < cycle_start - days * 24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_flags() {
        let t = Thresholds::default();
        assert!(photo(&t, "a.jpg", "image/jpeg", 4_000_000, 4000, 3000, true, Some(500.0)).is_empty());
        assert_eq!(photo(&t, "a.jpg", "image/jpeg", 400_000, 1280, 960, true, Some(500.0)), [Flag::LowResolution]);
        assert_eq!(photo(&t, "a.jpg", "image/jpeg", 4_000_000, 4000, 3000, true, Some(20.0)), [Flag::Blurry]);
        assert_eq!(photo(&t, "mmexport1710813600123.jpg", "image/jpeg", 4_000_000, 4000, 3000, true, Some(500.0)), [Flag::Recompressed]);
        assert_eq!(photo(&t, "微信图片_20240319101200.jpg", "image/jpeg", 4_000_000, 4000, 3000, true, None), [Flag::Recompressed]);
        assert_eq!(photo(&t, "a.jpg", "image/jpeg", 300_000, 2560, 1920, false, Some(500.0)), [Flag::Recompressed]);
        assert_eq!(photo(&t, "s.png", "image/png", 900_000, 1080, 2340, false, Some(500.0)), [Flag::Screenshot]);
        assert!(!photo(&t, "s.png", "image/png", 900_000, 3000, 2000, false, Some(500.0)).contains(&Flag::Screenshot));
    }

    #[test]
    fn video_flags_and_old_captures() {
        let t = Thresholds::default();
        assert!(video(&t, Some(1920), Some(1080), Some(15_000)).is_empty());
        assert_eq!(video(&t, Some(640), Some(480), Some(2_000)), [Flag::LowResolution, Flag::ShortVideo]);
        assert_eq!(video(&t, Some(1080), Some(1920), Some(3_000)), []);
        let start = 1_709_222_400; // 2024-03-01 00:00 +08:00
        assert!(old_capture(Some(start - 61 * 86400), start, 60));
        assert!(!old_capture(Some(start - 59 * 86400), start, 60));
        assert!(!old_capture(None, start, 60));
    }
}
