//! `DecodeLimits`: how many pixels and bytes one image decode may take. A leaf that
//! the photo and HEIF decoders both use.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    pub max_pixels: u64,
    pub max_alloc: u64,
}

impl DecodeLimits {
    /// 80 MiB per decode. A 64 MiB message held raw and parsed takes about 140 MiB
    /// here, and a decode costs a little more than its estimate (allocator arenas), so
    /// `import` stays under 256 MiB. Every 8-bit 12 MP photo fits: a 4:4:4 progressive
    /// JPEG's coefficients 70 MiB, a TIFF 76, a lossy WebP 78, a PNG 41–55, a baseline
    /// JPEG 2 at 1/8 scale.
    pub const DEFAULT: DecodeLimits = DecodeLimits { max_pixels: 250_000_000, max_alloc: 80 << 20 };
}
