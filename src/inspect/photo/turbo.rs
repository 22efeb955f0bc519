//! libjpeg-turbo through its TurboJPEG API (Debian's libturbojpeg 2.1): a JPEG decoded
//! at a reduced DCT scale, every scan read, and a small picture encoded as JPEG. The
//! only unsafe code of inspect lives here, behind two plain functions.
//!
//! libjpeg-turbo carries on past damage: a file cut short is padded with grey and a bad
//! Huffman code with zeros, and it only *warns*. Every warning is taken as damage here
//! (`TJFLAG_STOPONWARNING`), except junk between the last scan and the end marker
//! (some cameras write a stray byte there; the picture is whole), so that a truncated
//! or damaged photo is still `corrupt_image`.

use std::ffi::CStr;

use turbojpeg_sys as tj;

/// How a decode went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// libjpeg-turbo refused the data or warned about it; its message.
    Damaged(String),
    /// The library could not start (out of memory).
    Init,
}

/// The pixels libjpeg-turbo hands back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pixels {
    Rgb,
    Grey,
    /// As stored: Adobe's inverted CMYK (0 = full ink), which nearly every CMYK JPEG is.
    Cmyk,
}

impl Pixels {
    pub fn channels(self) -> usize {
        match self {
            Pixels::Rgb => 3,
            Pixels::Grey => 1,
            Pixels::Cmyk => 4,
        }
    }

    fn format(self) -> tj::TJPF {
        match self {
            Pixels::Rgb => tj::TJPF_TJPF_RGB,
            Pixels::Grey => tj::TJPF_TJPF_GRAY,
            Pixels::Cmyk => tj::TJPF_TJPF_CMYK,
        }
    }
}

/// A decoded picture: `width × height` pixels of `pixels`, row after row, no padding.
#[derive(Debug)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub pixels: Pixels,
    pub data: Vec<u8>,
}

/// What the header says: full size and the pixels the colour space decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub pixels: Pixels,
}

/// One TurboJPEG instance, destroyed when dropped.
struct Handle(tj::tjhandle);

impl Handle {
    fn decompress() -> Result<Handle, Error> {
        // SAFETY: no arguments; a null handle is checked.
        let h = unsafe { tj::tjInitDecompress() };
        if h.is_null() { Err(Error::Init) } else { Ok(Handle(h)) }
    }

    fn compress() -> Result<Handle, Error> {
        // SAFETY: as above.
        let h = unsafe { tj::tjInitCompress() };
        if h.is_null() { Err(Error::Init) } else { Ok(Handle(h)) }
    }

    /// The message of the last error or warning on this handle (the first warning of a
    /// decode: libjpeg formats only that one).
    fn message(&self) -> String {
        // SAFETY: the handle is live; the library returns a NUL-terminated string it owns
        // (per handle or per thread), read before any other call on this thread.
        let p = unsafe { tj::tjGetErrorStr2(self.0) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: non-null and NUL-terminated, as above.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: created by tjInit*, destroyed once.
        unsafe { tj::tjDestroy(self.0) };
    }
}

fn len(data: &[u8]) -> std::os::raw::c_ulong {
    data.len() as std::os::raw::c_ulong
}

/// A decompressor: one TurboJPEG instance for a header and the decode that follows.
pub struct Decompressor(Handle);

impl Decompressor {
    pub fn new() -> Result<Decompressor, Error> {
        Handle::decompress().map(Decompressor)
    }

    fn code(&self) -> i32 {
        // SAFETY: the handle is live.
        unsafe { tj::tjGetErrorCode(self.0.0) }
    }

    /// Reads the header: size and colour space. A warning here (a bad JFIF or Adobe
    /// segment) is left to the decode, which meets it again.
    pub fn header(&self, data: &[u8]) -> Result<Header, Error> {
        let (mut w, mut h, mut subsamp, mut space) = (0, 0, 0, 0);
        // SAFETY: `data` outlives the call; the out-pointers are to locals.
        let r = unsafe { tj::tjDecompressHeader3(self.0.0, data.as_ptr(), len(data), &mut w, &mut h, &mut subsamp, &mut space) };
        if r != 0 && self.code() != tj::TJERR_TJERR_WARNING as i32 {
            return Err(Error::Damaged(self.0.message()));
        }
        // A tables-only stream (no frame) reads as 0 × 0 without an error.
        let (Ok(width @ 1..), Ok(height @ 1..)) = (u32::try_from(w), u32::try_from(h)) else { return Err(Error::Damaged(format!("no image: {}", self.0.message()))) };
        let pixels = match space as tj::TJCS {
            tj::TJCS_TJCS_GRAY => Pixels::Grey,
            tj::TJCS_TJCS_CMYK | tj::TJCS_TJCS_YCCK => Pixels::Cmyk,
            _ => Pixels::Rgb,
        };
        Ok(Header { width, height, pixels })
    }

    /// Decodes the whole of `data` at 1/`factor` scale (1, 2, 4 or 8), to `header.pixels`.
    /// Every scan is read; a fatal error or any warning but junk before the end marker
    /// fails. `header` is what `header(data)` returned, so that the output is allocated
    /// first. Chroma is upsampled by replication (libjpeg-turbo's merged upsampling, SIMD):
    /// the grey the blur score and the hash read is the same, and a thumbnail cannot show
    /// the difference.
    pub fn decode(&self, data: &[u8], header: Header, factor: u32) -> Result<Decoded, Error> {
        let f = factor.clamp(1, 8);
        let (w, h) = (header.width.div_ceil(f), header.height.div_ceil(f));
        let size = (w as usize).checked_mul(h as usize).and_then(|n| n.checked_mul(header.pixels.channels())).ok_or(Error::Init)?;
        let mut out = vec![0u8; size];
        let (cw, ch) = (i32::try_from(w).map_err(|_| Error::Init)?, i32::try_from(h).map_err(|_| Error::Init)?);
        let run = |flags: u32, out: &mut [u8]| -> i32 {
            // SAFETY: `out` holds exactly w × h pixels of the requested format, and
            // tjDecompress2 writes the largest scale that fits w × h: 1/f, whose size is
            // w × h (TJSCALED rounds up as div_ceil does). Pitch 0: rows of w pixels.
            unsafe { tj::tjDecompress2(self.0.0, data.as_ptr(), len(data), out.as_mut_ptr(), cw, 0, ch, header.pixels.format() as i32, flags as i32) }
        };
        // At most 500 scans: a progressive JPEG of thousands of tiny scans is a CPU bomb.
        let flags = tj::TJFLAG_LIMITSCANS | tj::TJFLAG_FASTUPSAMPLE;
        if run(flags | tj::TJFLAG_STOPONWARNING, &mut out) == 0 {
            return Ok(Decoded { width: w, height: h, pixels: header.pixels, data: out });
        }
        let first = self.0.message();
        if !(self.code() == tj::TJERR_TJERR_WARNING as i32 && junk_before_the_end(&first)) {
            return Err(Error::Damaged(first));
        }
        // The first warning was met at the end marker, after every scan: nothing can
        // follow it. Decode again without stopping (a progressive picture is only put
        // together at the end) and take only that warning.
        match run(flags, &mut out) {
            0 => Ok(Decoded { width: w, height: h, pixels: header.pixels, data: out }),
            _ if self.code() == tj::TJERR_TJERR_WARNING as i32 && self.0.message() == first => Ok(Decoded { width: w, height: h, pixels: header.pixels, data: out }),
            _ => Err(Error::Damaged(self.0.message())),
        }
    }
}

/// Reads the header of `data` (a decompressor of its own).
pub fn header(data: &[u8]) -> Result<Header, Error> {
    Decompressor::new()?.header(data)
}

/// Decodes `data` (a decompressor of its own); see `Decompressor::decode`.
pub fn decode(data: &[u8], header: Header, factor: u32) -> Result<Decoded, Error> {
    Decompressor::new()?.decode(data, header, factor)
}

/// libjpeg's JWRN_EXTRANEOUS_DATA before EOI: "Corrupt JPEG data: N extraneous bytes
/// before marker 0xd9".
fn junk_before_the_end(message: &str) -> bool {
    message.starts_with("Corrupt JPEG data: ") && message.ends_with("extraneous bytes before marker 0xd9")
}

/// `rgb` (width × height RGB pixels, rows unpadded) as a baseline JPEG of this quality,
/// 4:2:0 as cameras write. `None` only if the library fails (out of memory).
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32, quality: u8) -> Option<Vec<u8>> {
    let (w, h) = (i32::try_from(width).ok()?, i32::try_from(height).ok()?);
    if w == 0 || h == 0 || rgb.len() != width as usize * height as usize * 3 {
        return None;
    }
    let handle = Handle::compress().ok()?;
    let mut buf: *mut u8 = std::ptr::null_mut();
    let mut size: std::os::raw::c_ulong = 0;
    // SAFETY: `rgb` holds w × h RGB pixels (checked above); the library allocates `buf`
    // (tjAlloc), which is copied out and freed with tjFree below.
    let r = unsafe {
        tj::tjCompress2(handle.0, rgb.as_ptr(), w, 0, h, tj::TJPF_TJPF_RGB as i32, &mut buf, &mut size, tj::TJSAMP_TJSAMP_420 as i32, i32::from(quality.clamp(1, 100)), 0)
    };
    let out = (r == 0 && !buf.is_null()).then(|| {
        // SAFETY: on success `buf` holds `size` bytes of JPEG.
        unsafe { std::slice::from_raw_parts(buf, size as usize) }.to_vec()
    });
    if !buf.is_null() {
        // SAFETY: allocated by the library for this call, freed once.
        unsafe { tj::tjFree(buf) };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: u32, h: u32) -> Vec<u8> {
        (0..w * h).flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x * 7) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8]
        })
        .collect()
    }

    #[test]
    fn encodes_and_decodes_at_each_scale() {
        let jpeg = encode_rgb(&picture(1600, 1200), 1600, 1200, 90).unwrap();
        let head = header(&jpeg).unwrap();
        assert_eq!(head, Header { width: 1600, height: 1200, pixels: Pixels::Rgb });
        for (f, w, h) in [(1, 1600, 1200), (2, 800, 600), (4, 400, 300), (8, 200, 150)] {
            let d = decode(&jpeg, head, f).unwrap();
            assert_eq!((d.width, d.height, d.data.len()), (w, h, w as usize * h as usize * 3));
        }
        // Odd sizes round up, as TJSCALED does.
        let odd = encode_rgb(&picture(1001, 333), 1001, 333, 80).unwrap();
        let d = decode(&odd, header(&odd).unwrap(), 8).unwrap();
        assert_eq!((d.width, d.height), (126, 42));
    }

    #[test]
    fn a_cut_or_scrambled_file_fails() {
        let jpeg = encode_rgb(&picture(800, 600), 800, 600, 90).unwrap();
        let head = header(&jpeg).unwrap();
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        let e = decode(cut, head, 8).unwrap_err();
        assert!(matches!(&e, Error::Damaged(m) if m.contains("Premature end")), "{e:?}");
        let mut scrambled = jpeg.clone();
        let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        for (i, b) in scrambled[sos + 20..jpeg.len() - 2].iter_mut().enumerate() {
            *b = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1] | 1;
        }
        assert!(decode(&scrambled, head, 2).is_err());
        assert!(header(b"\xFF\xD8\xFF\xD9").is_err());
    }

    #[test]
    fn junk_before_the_end_marker_is_tolerated() {
        let jpeg = encode_rgb(&picture(640, 480), 640, 480, 85).unwrap();
        let mut junk = jpeg[..jpeg.len() - 2].to_vec();
        junk.extend([0x00, 0x12, 0xFF, 0xD9]);
        let d = decode(&junk, header(&junk).unwrap(), 2).unwrap();
        assert_eq!((d.width, d.height), (320, 240));
        // Whatever follows the end marker (a phone's motion-photo video) is not read.
        let mut trailer = jpeg.clone();
        trailer.extend(b"\0\0\0\x18ftypmp42 not a jpeg at all");
        assert!(decode(&trailer, header(&trailer).unwrap(), 2).is_ok());
    }
}
