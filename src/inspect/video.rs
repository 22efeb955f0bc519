//! MP4, MOV and 3GP metadata read from the ISO-BMFF boxes themselves, without ffmpeg:
//! container brand, duration and creation time (mvhd), and the video track's size
//! (tkhd) and codec (stsd).

/// Seconds between 1904-01-01 (the QuickTime epoch) and 1970-01-01.
const EPOCH_1904: i64 = 2_082_844_800;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoInfo {
    pub container: String,
    pub duration_ms: Option<i64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub codec: Option<String>,
    pub created_at: Option<i64>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The boxes directly inside `data`: (type, body).
fn boxes(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size = u32_at(data, at)? as u64;
        let kind = data.get(at + 4..at + 8)?;
        let (header, size) = match size {
            1 => (16, u64_at(data, at + 8)?),
            0 => (8, (data.len() - at) as u64),
            s => (8, s),
        };
        if size < header as u64 {
            return None;
        }
        let end = at.checked_add(usize::try_from(size).ok()?)?.min(data.len());
        let body = data.get(at + header..end)?;
        at = end;
        Some((kind, body))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| *k == kind).map(|(_, b)| b)
}

pub fn read(data: &[u8]) -> VideoInfo {
    let mut info = VideoInfo { container: "mp4".into(), ..Default::default() };
    if let Some(ftyp) = child(data, b"ftyp") {
        let brand = ftyp.get(..4).unwrap_or_default();
        info.container = if brand == b"qt  " {
            "mov".into()
        } else if brand.starts_with(b"3g") {
            "3gp".into()
        } else {
            "mp4".into()
        };
    }
    let Some(moov) = child(data, b"moov") else { return info };
    if let Some(mvhd) = child(moov, b"mvhd") {
        let v1 = mvhd.first() == Some(&1);
        let (created, timescale, duration) = if v1 {
            (u64_at(mvhd, 4).map(|x| x as i64), u32_at(mvhd, 20), u64_at(mvhd, 24))
        } else {
            (u32_at(mvhd, 4).map(i64::from), u32_at(mvhd, 12), u32_at(mvhd, 16).map(u64::from))
        };
        info.created_at = created.filter(|&c| c > 0).map(|c| c - EPOCH_1904);
        if let (Some(ts), Some(d)) = (timescale.filter(|&t| t > 0), duration) {
            info.duration_ms = Some((d as i64).saturating_mul(1000) / i64::from(ts));
        }
    }
    for (kind, trak) in boxes(moov) {
        if kind != b"trak" {
            continue;
        }
        let Some(mdia) = child(trak, b"mdia") else { continue };
        let is_video = child(mdia, b"hdlr").and_then(|h| h.get(8..12)) == Some(b"vide");
        if !is_video {
            continue;
        }
        if let Some(tkhd) = child(trak, b"tkhd") {
            let n = tkhd.len();
            info.width = u32_at(tkhd, n.saturating_sub(8)).map(|w| w >> 16);
            info.height = u32_at(tkhd, n.saturating_sub(4)).map(|h| h >> 16);
        }
        let stsd = child(mdia, b"minf").and_then(|m| child(m, b"stbl")).and_then(|s| child(s, b"stsd"));
        if let Some(entry) = stsd.and_then(|s| s.get(8..)) {
            info.codec = entry.get(4..8).map(|c| String::from_utf8_lossy(c).trim().to_string());
        }
        break;
    }
    info
}
