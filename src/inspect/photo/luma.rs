//! The grey copy of an 8-bit RGB picture: luma by sRGB weights in integers,
//! `(54 R + 183 G + 19 B + 128) >> 8`. The compiler leaves the three-byte stride
//! scalar on the baseline x86-64 target, so where the processor has SSSE3 (every
//! x86-64 since 2008) sixteen pixels at a time are split into their channels with
//! byte shuffles and weighed in 16-bit lanes; the rest, and other processors, take the
//! same sum one pixel at a time. Both give the same bytes (tested).

/// Luma of every pixel of `rgb` (three bytes each).
pub fn plane(rgb: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; rgb.len() / 3];
    let done = vector(rgb, &mut out);
    scalar(&rgb[done * 3..], &mut out[done..]);
    out
}

pub fn of(r: u8, g: u8, b: u8) -> u8 {
    ((54 * u16::from(r) + 183 * u16::from(g) + 19 * u16::from(b) + 128) >> 8) as u8
}

fn scalar(rgb: &[u8], out: &mut [u8]) {
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = of(p[0], p[1], p[2]);
    }
}

/// Pixels done with vector code (a multiple of 16), 0 without SSSE3.
fn vector(rgb: &[u8], out: &mut [u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the processor has SSSE3 (checked just above).
        return unsafe { ssse3(rgb, out) };
    }
    let _ = (rgb, out);
    0
}

/// For channel `ch` (0 R, 1 G, 2 B) and source vector `v` (bytes 16 v … 16 v + 15 of
/// a 48-byte block), where lane `i` of the channel is in `v`, or 0x80 (a zero).
const fn mask(ch: usize, v: usize) -> [u8; 16] {
    let mut m = [0x80u8; 16];
    let mut i = 0;
    while i < 16 {
        let at = 3 * i + ch;
        if at / 16 == v {
            m[i] = (at % 16) as u8;
        }
        i += 1;
    }
    m
}

const MASKS: [[[u8; 16]; 3]; 3] = {
    let mut m = [[[0u8; 16]; 3]; 3];
    let mut ch = 0;
    while ch < 3 {
        let mut v = 0;
        while v < 3 {
            m[ch][v] = mask(ch, v);
            v += 1;
        }
        ch += 1;
    }
    m
};

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
unsafe fn ssse3(rgb: &[u8], out: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let blocks = (rgb.len() / 48).min(out.len() / 16);
    // SAFETY (whole body): every load reads 16 bytes inside block k of `rgb` (k < blocks,
    // so 48 k + 48 <= rgb.len()), every store writes 16 bytes inside `out` (16 k + 16 <=
    // out.len()); unaligned loads and stores are used throughout.
    unsafe {
        let m = |ch: usize, v: usize| _mm_loadu_si128(MASKS[ch][v].as_ptr().cast());
        let masks = [[m(0, 0), m(0, 1), m(0, 2)], [m(1, 0), m(1, 1), m(1, 2)], [m(2, 0), m(2, 1), m(2, 2)]];
        let zero = _mm_setzero_si128();
        let (kr, kg, kb, half) = (_mm_set1_epi16(54), _mm_set1_epi16(183), _mm_set1_epi16(19), _mm_set1_epi16(128));
        for k in 0..blocks {
            let p = rgb.as_ptr().add(k * 48);
            let src = [_mm_loadu_si128(p.cast()), _mm_loadu_si128(p.add(16).cast()), _mm_loadu_si128(p.add(32).cast())];
            let mut chans = [zero; 3];
            for (c, m) in chans.iter_mut().zip(&masks) {
                *c = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(src[0], m[0]), _mm_shuffle_epi8(src[1], m[1])), _mm_shuffle_epi8(src[2], m[2]));
            }
            // At most 256 × 255 + 128 = 65 408: the sums fit 16 bits without sign.
            let lo = _mm_add_epi16(
                _mm_add_epi16(_mm_mullo_epi16(_mm_unpacklo_epi8(chans[0], zero), kr), _mm_mullo_epi16(_mm_unpacklo_epi8(chans[1], zero), kg)),
                _mm_add_epi16(_mm_mullo_epi16(_mm_unpacklo_epi8(chans[2], zero), kb), half),
            );
            let hi = _mm_add_epi16(
                _mm_add_epi16(_mm_mullo_epi16(_mm_unpackhi_epi8(chans[0], zero), kr), _mm_mullo_epi16(_mm_unpackhi_epi8(chans[1], zero), kg)),
                _mm_add_epi16(_mm_mullo_epi16(_mm_unpackhi_epi8(chans[2], zero), kb), half),
            );
            let y = _mm_packus_epi16(_mm_srli_epi16(lo, 8), _mm_srli_epi16(hi, 8));
            _mm_storeu_si128(out.as_mut_ptr().add(k * 16).cast(), y);
        }
    }
    blocks * 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_colour_gives_the_same_grey_both_ways() {
        // Every (r, g) pair with several blues, in one row whose length is not a
        // multiple of 16 (the tail goes one pixel at a time).
        let mut rgb = Vec::new();
        for r in 0..=255u8 {
            for g in 0..=255u8 {
                rgb.extend([r, g, r ^ g.rotate_left(3)]);
            }
        }
        rgb.extend([255, 255, 255, 0, 0, 0, 1, 2, 3]);
        let mut want = vec![0u8; rgb.len() / 3];
        scalar(&rgb, &mut want);
        assert_eq!(plane(&rgb), want);
        let mut vectored = vec![0u8; rgb.len() / 3];
        let done = vector(&rgb, &mut vectored);
        assert!(done >= rgb.len() / 3 - 16, "the vector code ran ({done} pixels)");
        assert_eq!(vectored[..done], want[..done]);
        assert_eq!(of(255, 255, 255), 255);
        assert_eq!(of(0, 0, 0), 0);
    }
}
