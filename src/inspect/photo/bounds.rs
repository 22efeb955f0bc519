//! What decoding an image would cost, read from its header alone: size, layout and the
//! bytes the decoder will allocate, for PNG, TIFF, GIF, WebP and JPEG (baseline,
//! progressive, lossless). Pure and panic-free on any input: a bomb is refused from
//! these numbers before any decoder is handed its bytes.

/// The image formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Tiff,
    Gif,
    WebP,
    Jpeg,
}

/// How the decoder lays the picture out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Decoded whole, at full size: `bytes_per_pixel` counts the decoder's output
    /// and its own full-size copies (TIFF's strip buffer, WebP's RGBA frame).
    Full { bytes_per_pixel: u64, out_bytes_per_pixel: u64 },
    /// JPEG: decoded at a DCT scale (1/1, 1/2, 1/4, 1/8) except lossless, and a
    /// progressive JPEG keeps every coefficient of the full-size picture. Arithmetic
    /// coding and a sample precision other than 8 bits are codings no browser shows.
    Jpeg { components: u8, progressive: bool, lossless: bool, arithmetic: bool, precision: u8, coefficient_bytes: u64 },
}

/// An image's header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
}

/// The long side the full-size decoders' output is resized to (the working copy);
/// the resizer keeps one intermediate of this width by the picture's short side.
const RESIZE_SIDE: u64 = 800;

impl Bounds {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Bytes the decode allocates, JPEG decoded at 1/`jpeg_factor` scale. Saturates:
    /// a header that declares absurd sizes gives a huge cost, never an overflow.
    pub fn decode_bytes(&self, jpeg_factor: u32) -> u64 {
        let (w, h) = (u64::from(self.width), u64::from(self.height));
        match self.layout {
            Layout::Full { bytes_per_pixel, out_bytes_per_pixel } => {
                let resize = RESIZE_SIDE.saturating_mul(w.min(h)).saturating_mul(out_bytes_per_pixel);
                w.saturating_mul(h).saturating_mul(bytes_per_pixel).saturating_add(resize)
            }
            Layout::Jpeg { components, lossless: true, .. } => {
                // Each component as u16 samples, then the output.
                w.saturating_mul(h).saturating_mul(u64::from(components)).saturating_mul(4)
            }
            Layout::Jpeg { components, coefficient_bytes, .. } => {
                let f = u64::from(jpeg_factor.clamp(1, 8));
                // The component planes and the colour-converted output, at the scale.
                let scaled = w.div_ceil(f).saturating_mul(h.div_ceil(f)).saturating_mul(u64::from(components));
                scaled.saturating_mul(2).saturating_add(coefficient_bytes)
            }
        }
    }
}

/// The header of a PNG, TIFF, GIF, WebP or JPEG in `data`; `None` for anything else,
/// or a header too damaged to say how large the picture is.
pub fn read(data: &[u8]) -> Option<Bounds> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(data)
    } else if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        tiff(data)
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        gif(data)
    } else if data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        webp(data)
    } else if data.starts_with(&[0xFF, 0xD8]) {
        jpeg(data)
    } else {
        None
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(3)?)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn full(format: Format, width: u32, height: u32, bytes_per_pixel: u64, out_bytes_per_pixel: u64) -> Option<Bounds> {
    Some(Bounds { format, width, height, layout: Layout::Full { bytes_per_pixel, out_bytes_per_pixel } })
}

/// IHDR: the decoder expands palettes and low bit depths to 8 bits and a tRNS chunk
/// to an alpha channel, so count the alpha a colour type may gain.
fn png(data: &[u8]) -> Option<Bounds> {
    if data.get(12..16)? != b"IHDR" {
        return None;
    }
    let (w, h, depth, colour) = (be32(data, 16)?, be32(data, 20)?, *data.get(24)?, *data.get(25)?);
    let channels = match colour {
        0 | 4 => 2, // grey (+ tRNS alpha), grey + alpha
        2 | 3 | 6 => 4, // RGB (+ tRNS alpha), palette → RGB(A), RGBA
        _ => return None,
    };
    let bytes = if depth == 16 { 2 } else { 1 };
    full(Format::Png, w, h, channels * bytes, channels * bytes)
}

/// The first IFD: ImageWidth, ImageLength, BitsPerSample, SamplesPerPixel. The image
/// crate decodes into the tiff crate's buffer and copies it out: two full-size buffers.
fn tiff(data: &[u8]) -> Option<Bounds> {
    let le = data.starts_with(b"II");
    let u16_at = |at: usize| if le { le16(data, at) } else { be16(data, at) };
    let u32_at = |at: usize| if le { be32(data, at).map(u32::swap_bytes) } else { be32(data, at) };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    let (mut w, mut h, mut bits, mut samples) = (None, None, 1u32, 1u32);
    for i in 0..count {
        let at = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        let (tag, kind) = (u16_at(at)?, u16_at(at + 2)?);
        // SHORT (3) or LONG (4) values sit in the entry; for a list, the first value
        // (BitsPerSample lists one per sample; they are equal in what decoders read).
        let value = || -> Option<u32> {
            let n = u32_at(at + 4)?;
            match (kind, n) {
                (3, 1 | 2) => u16_at(at + 8).map(u32::from),
                (3, _) => u16_at(usize::try_from(u32_at(at + 8)?).ok()?).map(u32::from),
                (4, 1) => u32_at(at + 8),
                _ => None,
            }
        };
        match tag {
            256 => w = value(),
            257 => h = value(),
            258 => bits = value()?,
            277 => samples = value()?,
            _ => {}
        }
    }
    let bytes = u64::from(bits.div_ceil(8).max(1)) * u64::from(samples.max(1));
    full(Format::Tiff, w?, h?, bytes.saturating_mul(2), bytes)
}

/// The logical screen: the image crate decodes the first frame into an RGBA screen,
/// through a frame buffer of the same size at most.
fn gif(data: &[u8]) -> Option<Bounds> {
    let (w, h) = (le16(data, 6)?, le16(data, 8)?);
    full(Format::Gif, u32::from(w), u32::from(h), 8, 4)
}

/// VP8 (lossy: YUV planes, then RGB(A)), VP8L (lossless: RGBA, then RGB) or VP8X
/// (extended: the canvas, which an animation composes from frames of its size).
fn webp(data: &[u8]) -> Option<Bounds> {
    let chunk = data.get(12..16)?;
    let body = 20;
    match chunk {
        b"VP8 " => {
            // Frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height.
            if data.get(body + 3..body + 6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let (w, h) = (le16(data, body + 6)? & 0x3FFF, le16(data, body + 8)? & 0x3FFF);
            full(Format::WebP, u32::from(w), u32::from(h), 6, 4)
        }
        b"VP8L" => {
            if *data.get(body)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(data.get(body + 1..body + 5)?.try_into().ok()?);
            let (w, h) = ((bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1);
            full(Format::WebP, w, h, 8, 4)
        }
        b"VP8X" => {
            let (w, h) = (le24(data, body + 4)? + 1, le24(data, body + 7)? + 1);
            full(Format::WebP, w, h, 12, 4)
        }
        _ => None,
    }
}

/// Walks the marker segments to the first SOF: size, components and their sampling
/// factors, and the coding process. A progressive decode keeps every block's 64
/// coefficients as i16, counted in whole MCUs as the decoder allocates them.
fn jpeg(data: &[u8]) -> Option<Bounds> {
    let mut at = 2;
    loop {
        if *data.get(at)? != 0xFF {
            return None;
        }
        // Fill bytes: any number of 0xFF before the marker.
        while *data.get(at + 1)? == 0xFF {
            at += 1;
        }
        let marker = *data.get(at + 1)?;
        at += 2;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD8..=0xDA => return None, // another SOI, EOI or scan data before any frame
            _ => {}
        }
        let len = usize::from(be16(data, at)?);
        if len < 2 {
            return None;
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return sof(marker, data.get(at + 2..at + len)?);
        }
        at += len;
    }
}

fn sof(marker: u8, body: &[u8]) -> Option<Bounds> {
    let (h, w, n) = (be16(body, 1)?, be16(body, 3)?, *body.get(5)?);
    let comps = body.get(6..6 + 3 * usize::from(n))?;
    if n == 0 || w == 0 {
        return None;
    }
    let sampling: Vec<(u64, u64)> = comps.chunks_exact(3).map(|c| (u64::from(c[1] >> 4).max(1), u64::from(c[1] & 0x0F).max(1))).collect();
    let (hmax, vmax) = sampling.iter().fold((1, 1), |(a, b), &(x, y)| (a.max(x), b.max(y)));
    // A height of 0 is "set by a later DNL marker": count it as the largest there is.
    let h = if h == 0 { u16::MAX } else { h };
    let (mcu_x, mcu_y) = (u64::from(w).div_ceil(8 * hmax), u64::from(h).div_ceil(8 * vmax));
    let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
    let coefficient_bytes = if progressive { sampling.iter().map(|&(x, y)| mcu_x * x * mcu_y * y * 64 * 2).sum() } else { 0 };
    let lossless = matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF);
    let arithmetic = marker >= 0xC9;
    let precision = *body.first()?;
    Some(Bounds { format: Format::Jpeg, width: u32::from(w), height: u32::from(h), layout: Layout::Jpeg { components: n, progressive, lossless, arithmetic, precision, coefficient_bytes } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_header(w: u32, h: u32, depth: u8, colour: u8) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend(w.to_be_bytes());
        v.extend(h.to_be_bytes());
        v.extend([depth, colour, 0, 0, 0]);
        v
    }

    fn jpeg_header(marker: u8, w: u16, h: u16, sampling: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        v.extend([0xFF, marker]);
        v.extend((8 + 3 * sampling.len() as u16).to_be_bytes());
        v.push(8);
        v.extend(h.to_be_bytes());
        v.extend(w.to_be_bytes());
        v.push(sampling.len() as u8);
        for (i, s) in sampling.iter().enumerate() {
            v.extend([i as u8 + 1, *s, 0]);
        }
        v
    }

    #[test]
    fn png_counts_expanded_channels_and_depth() {
        let b = read(&png_header(15_800, 15_800, 8, 0)).unwrap();
        assert_eq!((b.format, b.width, b.height), (Format::Png, 15_800, 15_800));
        assert_eq!(b.decode_bytes(1), 15_800 * 15_800 * 2 + 800 * 15_800 * 2);
        let rgb16 = read(&png_header(4000, 3000, 16, 2)).unwrap();
        assert_eq!(rgb16.decode_bytes(1), 4000 * 3000 * 8 + 800 * 3000 * 8);
        assert_eq!(read(&png_header(1, 1, 8, 5)), None, "no such colour type");
    }

    #[test]
    fn tiff_both_byte_orders() {
        // II, IFD at 8: width LONG 100000, height SHORT 300, SamplesPerPixel 3.
        let mut le = b"II*\0\x08\0\0\0\x03\0".to_vec();
        le.extend([0x00, 0x01, 4, 0, 1, 0, 0, 0, 0xA0, 0x86, 0x01, 0x00]);
        le.extend([0x01, 0x01, 3, 0, 1, 0, 0, 0, 0x2C, 0x01, 0, 0]);
        le.extend([0x15, 0x01, 3, 0, 1, 0, 0, 0, 3, 0, 0, 0]);
        let b = read(&le).unwrap();
        assert_eq!((b.format, b.width, b.height), (Format::Tiff, 100_000, 300));
        assert_eq!(b.layout, Layout::Full { bytes_per_pixel: 6, out_bytes_per_pixel: 3 });
        let mut be = b"MM\0*\0\0\0\x08\0\x02".to_vec();
        be.extend([0x01, 0x00, 0, 3, 0, 0, 0, 1, 0x0F, 0xA0, 0, 0]);
        be.extend([0x01, 0x01, 0, 4, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8]);
        let b = read(&be).unwrap();
        assert_eq!((b.width, b.height), (4000, 3000));
        assert_eq!(read(&le[..30]), None, "cut inside the IFD");
    }

    #[test]
    fn gif_and_webp() {
        let gif = read(b"GIF89a\x10\x27\x10\x27\0\0\0").unwrap();
        assert_eq!((gif.format, gif.width, gif.height), (Format::Gif, 10_000, 10_000));
        let riff = |chunk: &[u8], body: &[u8]| [b"RIFF\0\0\0\0WEBP".as_slice(), chunk, &[0, 0, 0, 0], body].concat();
        let lossy = read(&riff(b"VP8 ", &[0, 0, 0, 0x9D, 0x01, 0x2A, 0xA0, 0x0F, 0xB8, 0x0B])).unwrap();
        assert_eq!((lossy.width, lossy.height), (4000, 3000));
        // 16384 × 16384, the largest VP8L says.
        let lossless = read(&riff(b"VP8L", &[0x2F, 0xFF, 0xFF, 0xFF, 0x0F])).unwrap();
        assert_eq!((lossless.width, lossless.height), (16_384, 16_384));
        let extended = read(&riff(b"VP8X", &[0x10, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])).unwrap();
        assert_eq!((extended.width, extended.height), (1 << 24, 1 << 24));
        assert!(extended.decode_bytes(1) > 1 << 50);
    }

    #[test]
    fn jpeg_baseline_scales_and_progressive_keeps_coefficients() {
        let base = read(&jpeg_header(0xC0, 4000, 3000, &[0x22, 0x11, 0x11])).unwrap();
        assert_eq!((base.width, base.height), (4000, 3000));
        assert_eq!(base.decode_bytes(8), 500 * 375 * 3 * 2);
        let prog = read(&jpeg_header(0xC2, 15_800, 15_800, &[0x11, 0x11, 0x11])).unwrap();
        // 1975² blocks per component, 64 i16 coefficients each, whatever the scale.
        assert!(prog.decode_bytes(8) > 1975 * 1975 * 3 * 128, "{}", prog.decode_bytes(8));
        // 4:2:0: Y at full size, Cb and Cr at a quarter, in 16×16 MCUs.
        let p420 = read(&jpeg_header(0xC2, 4000, 3000, &[0x22, 0x11, 0x11])).unwrap();
        assert_eq!(p420.layout, Layout::Jpeg { components: 3, progressive: true, lossless: false, arithmetic: false, precision: 8, coefficient_bytes: 250 * 188 * 6 * 128 });
        assert!(matches!(read(&jpeg_header(0xC9, 640, 480, &[0x11])).unwrap().layout, Layout::Jpeg { arithmetic: true, progressive: false, .. }));
        // Markers before the frame are skipped by their length; a scan before it is not a frame.
        assert_eq!(read(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), None);
        assert_eq!(read(&jpeg_header(0xC0, 4000, 3000, &[0x22, 0x11, 0x11])[..15]), None);
    }

    #[test]
    fn never_panics_on_cut_or_scrambled_headers() {
        let seeds = [
            png_header(15_800, 15_800, 8, 0),
            jpeg_header(0xC2, 15_800, 15_800, &[0x11, 0x11, 0x11]),
            b"II*\0\x08\0\0\0\x03\0\x00\x01\x04\0\x01\0\0\0\xA0\x86\x01\0".to_vec(),
            b"MM\0*\xFF\xFF\xFF\xF0\0\x02".to_vec(),
            b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\x10\0\0\0\xFF\xFF".to_vec(),
            b"GIF89a\x10".to_vec(),
        ];
        let mut x = 0x2545_F491u32;
        for seed in &seeds {
            for cut in 0..=seed.len() {
                let _ = read(&seed[..cut]).map(|b| b.decode_bytes(1));
            }
            for _ in 0..2000 {
                let mut v = seed.clone();
                for _ in 0..3 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let i = x as usize % v.len();
                    v[i] = (x >> 24) as u8;
                }
                let _ = read(&v).map(|b| (b.pixels(), b.decode_bytes(1), b.decode_bytes(8)));
            }
        }
    }
}
