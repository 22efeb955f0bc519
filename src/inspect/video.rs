//! MP4, MOV and 3GP metadata read from the ISO-BMFF boxes themselves, without ffmpeg:
//! container brand, duration and creation time (mvhd), and the video track's size
//! (tkhd) and codec (stsd). A video is playable only if it has a video track with a
//! duration and its media data (mdat) holds every sample the track declares (stsz).

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
    /// Whether a video track (hdlr `vide`) was found.
    pub video_track: bool,
    /// The video track's own duration (mdhd), in ms.
    pub track_ms: Option<i64>,
    /// Bytes the video track's samples take, by its sample size table (stsz); `None`
    /// when the track has no stsz (a compact stz2 table, or none).
    pub sample_bytes: Option<u64>,
    /// Bytes of media data present in the file: every mdat body, as far as the file goes.
    pub media_bytes: u64,
    /// Fragmented MP4 (moov/mvex): samples are described in the fragments instead.
    pub fragmented: bool,
    /// The author tags (©ART, ©aut) as written: who filmed it, if the phone or editor says.
    pub authors: Vec<String>,
}

/// Why a video cannot be played, in words for the sender; `None` if it can.
pub fn unplayable(v: &VideoInfo) -> Option<&'static str> {
    if !v.video_track {
        return Some("文件中没有视频画面（找不到视频轨道），请重新导出视频后发送");
    }
    if v.duration_ms.unwrap_or(0) <= 0 && v.track_ms.unwrap_or(0) <= 0 {
        return Some("视频时长为 0，无法播放，请重新导出视频后发送");
    }
    if v.fragmented {
        return (v.media_bytes == 0).then_some("视频不完整（没有视频数据），请重新发送");
    }
    match v.sample_bytes {
        Some(need) if need == 0 || v.media_bytes < need => Some("视频不完整（文件被截断或视频数据缺失），请重新发送原视频"),
        None if v.media_bytes == 0 => Some("视频不完整（没有视频数据），请重新发送"),
        _ => None,
    }
}

/// The sum of a `stsz` box's sample sizes (one size for all, or one per sample).
fn stsz_total(stsz: &[u8]) -> u64 {
    let (Some(size), Some(count)) = (u32_at(stsz, 4), u32_at(stsz, 8)) else { return 0 };
    if size != 0 {
        return u64::from(size) * u64::from(count);
    }
    (0..count as usize).map_while(|i| u32_at(stsz, 12 + 4 * i)).map(u64::from).sum()
}

/// Bytes of every top-level `mdat` body actually present.
fn media_bytes(data: &[u8]) -> u64 {
    boxes(data).filter(|(k, _)| *k == b"mdat").map(|(_, b)| b.len() as u64).sum()
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

/// The author tags of moov/udta: iTunes-style (meta/ilst/©ART/data, as phones and
/// editors write it) and QuickTime's own (©ART or ©aut: a 16-bit length, a language,
/// then the text).
fn author_tags(udta: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let ilst = child(udta, b"meta").and_then(|m| m.get(4..)).and_then(|m| child(m, b"ilst"));
    for (kind, body) in ilst.into_iter().flat_map(boxes) {
        if (kind == b"\xa9ART" || kind == b"\xa9aut")
            && let Some(text) = child(body, b"data").and_then(|d| d.get(8..))
        {
            out.push(String::from_utf8_lossy(text).trim_matches(char::from(0)).trim().to_string());
        }
    }
    for (kind, body) in boxes(udta) {
        let len = body.get(..2).map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        if (kind == b"\xa9ART" || kind == b"\xa9aut")
            && let Some(text) = body.get(4..4 + len)
        {
            out.push(String::from_utf8_lossy(text).trim_matches(char::from(0)).trim().to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out
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
    info.media_bytes = media_bytes(data);
    let Some(moov) = child(data, b"moov") else { return info };
    info.fragmented = child(moov, b"mvex").is_some();
    info.authors = child(moov, b"udta").map(author_tags).unwrap_or_default();
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
        info.video_track = true;
        if let Some(mdhd) = child(mdia, b"mdhd") {
            let (timescale, duration) = if mdhd.first() == Some(&1) { (u32_at(mdhd, 20), u64_at(mdhd, 24)) } else { (u32_at(mdhd, 12), u32_at(mdhd, 16).map(u64::from)) };
            if let (Some(ts), Some(d)) = (timescale.filter(|&t| t > 0), duration) {
                info.track_ms = Some((d.min(i64::MAX as u64) as i64).saturating_mul(1000) / i64::from(ts));
            }
        }
        if let Some(tkhd) = child(trak, b"tkhd") {
            let n = tkhd.len();
            info.width = u32_at(tkhd, n.saturating_sub(8)).map(|w| w >> 16);
            info.height = u32_at(tkhd, n.saturating_sub(4)).map(|h| h >> 16);
        }
        let stbl = child(mdia, b"minf").and_then(|m| child(m, b"stbl"));
        info.sample_bytes = stbl.and_then(|s| child(s, b"stsz")).map(stsz_total);
        let stsd = stbl.and_then(|s| child(s, b"stsd"));
        if let Some(entry) = stsd.and_then(|s| s.get(8..)) {
            info.codec = entry.get(4..8).map(|c| String::from_utf8_lossy(c).trim().to_string());
        }
        break;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playable() -> VideoInfo {
        VideoInfo { video_track: true, duration_ms: Some(10_000), track_ms: Some(10_000), sample_bytes: Some(600), media_bytes: 600, ..VideoInfo::default() }
    }

    #[test]
    fn a_video_plays_when_its_track_has_time_and_its_samples_are_all_there() {
        assert_eq!(unplayable(&playable()), None);
        assert!(unplayable(&VideoInfo { media_bytes: 599, ..playable() }).unwrap().contains("被截断"));
        assert!(unplayable(&VideoInfo { video_track: false, ..playable() }).unwrap().contains("视频轨道"));
        assert!(unplayable(&VideoInfo { duration_ms: Some(0), track_ms: Some(0), ..playable() }).unwrap().contains("时长为 0"));
        // A compact sample table (stz2) is not read: the media data must only be there.
        assert_eq!(unplayable(&VideoInfo { sample_bytes: None, ..playable() }), None);
        assert!(unplayable(&VideoInfo { sample_bytes: None, media_bytes: 0, ..playable() }).is_some());
        // Fragmented MP4 describes its samples in the fragments.
        assert_eq!(unplayable(&VideoInfo { fragmented: true, sample_bytes: Some(0), ..playable() }), None);
    }

    fn mp4_box(kind: &[u8], body: &[u8]) -> Vec<u8> {
        [((body.len() + 8) as u32).to_be_bytes().as_slice(), kind, body].concat()
    }

    #[test]
    fn author_tags_are_read_in_both_forms() {
        let data = [b"\x00\x00\x00\x01\x00\x00\x00\x00".as_slice(), "张三".as_bytes()].concat();
        let ilst = mp4_box(b"ilst", &mp4_box(b"\xa9ART", &mp4_box(b"data", &data)));
        let meta = mp4_box(b"meta", &[&[0u8; 4][..], &mp4_box(b"hdlr", &[0u8; 25]), &ilst].concat());
        let qt = mp4_box(b"\xa9aut", &[&(("李四".len() as u16).to_be_bytes())[..], &[0x55, 0xC4], "李四".as_bytes()].concat());
        let moov = mp4_box(b"moov", &mp4_box(b"udta", &[meta, qt].concat()));
        assert_eq!(read(&moov).authors, ["张三", "李四"]);
        assert!(read(&mp4_box(b"moov", &[])).authors.is_empty());
    }

    #[test]
    fn sample_sizes_are_summed_from_either_form_of_stsz() {
        let mut one_size = vec![0u8; 4];
        one_size.extend(1000u32.to_be_bytes());
        one_size.extend(3u32.to_be_bytes());
        assert_eq!(stsz_total(&one_size), 3000);
        let mut each = vec![0u8; 8];
        each.extend(2u32.to_be_bytes());
        each.extend(7u32.to_be_bytes());
        each.extend(5u32.to_be_bytes());
        assert_eq!(stsz_total(&each), 12);
        // A count larger than the table stops where the table does.
        let mut lying = vec![0u8; 8];
        lying.extend(u32::MAX.to_be_bytes());
        lying.extend(9u32.to_be_bytes());
        assert_eq!(stsz_total(&lying), 9);
    }
}
