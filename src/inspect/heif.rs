//! HEIC/HEIF (iPhone photos): the image size from the `ispe` property in the meta
//! box. Decoding needs libheif, which is not linked, so HEIC gets metadata only.

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
