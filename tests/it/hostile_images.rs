//! Image decompression bombs: each is refused as `image_bomb` from its header, without
//! being decoded, and the child's peak RSS shows it; the normal mail after it is still
//! taken in. Real 12 MP phone photos (baseline and progressive JPEG, PNG) still get
//! their size and thumbnail, inside the memory budget of one message.

use std::io::Write;

use crate::fixtures::{Mail, encode_jpeg, encode_png, texture, with_exif};
use crate::harness::App;
use crate::ingest::MAR19;

/// A bomb's import must stay far below what decoding it would take: it is refused from
/// its header. (A tiny mail costs about 30–40 MiB here; a decode of a bomb 1.5–1.7 GiB.)
const REFUSED_RSS_KIB: u64 = 96 << 10;
/// The whole-message budget of issue 8: peak RSS of `import` for one message.
pub(crate) const MESSAGE_RSS_KIB: u64 = 256 << 10;

/// Just under the default `max_pixels` (250 M), so only the memory check can catch it.
const SIDE: u32 = 15_800;

fn png_chunk(kind: &[u8], body: &[u8]) -> Vec<u8> {
    let mut c = (body.len() as u32).to_be_bytes().to_vec();
    c.extend(kind);
    c.extend(body);
    c.extend(crc32fast::hash(&[kind, body].concat()).to_be_bytes());
    c
}

/// A `rows` × `row_len` block of zeros, zlib-compressed, written row by row.
fn zlib_zeros(rows: u32, row_len: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; row_len];
    for _ in 0..rows {
        z.write_all(&row).unwrap();
    }
    z.finish().unwrap()
}

/// An 8-bit grey PNG whose IDAT really expands to `w` × `h` pixels (all black).
pub(crate) fn png_zlib_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    // Each row: filter byte 0, then w grey samples.
    let idat = zlib_zeros(h, w as usize + 1);
    [b"\x89PNG\r\n\x1a\n".to_vec(), png_chunk(b"IHDR", &ihdr), png_chunk(b"IDAT", &idat), png_chunk(b"IEND", &[])].concat()
}

/// A little-endian 8-bit grey TIFF with the given strips (compression 1 = none, 8 = deflate).
fn tiff(w: u32, h: u32, rows_per_strip: u32, compression: u16, strips: &[Vec<u8>]) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    let n = strips.len() as u32;
    let ifd_len = 2 + 9 * 12 + 4;
    let offsets_at = 8 + ifd_len;
    let counts_at = offsets_at + 4 * n;
    let mut data_at = counts_at + 4 * n;
    let (mut offsets, mut counts) = (Vec::new(), Vec::new());
    for s in strips {
        offsets.extend(data_at.to_le_bytes());
        counts.extend((s.len() as u32).to_le_bytes());
        data_at += s.len() as u32;
    }
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    out.extend(9u16.to_le_bytes());
    let mut entry = |tag: u16, kind: u16, count: u32, value: u32| {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    };
    entry(256, LONG, 1, w);
    entry(257, LONG, 1, h);
    entry(258, SHORT, 1, 8);
    entry(259, SHORT, 1, u32::from(compression));
    entry(262, SHORT, 1, 1);
    entry(273, LONG, n, offsets_at);
    entry(277, SHORT, 1, 1);
    entry(278, LONG, 1, rows_per_strip);
    entry(279, LONG, n, counts_at);
    out.extend(0u32.to_le_bytes());
    out.extend(offsets);
    out.extend(counts);
    for s in strips {
        out.extend(s);
    }
    out
}

/// A TIFF that declares `w` × `h` (8-bit grey) and carries no pixel data at all.
pub(crate) fn tiff_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"II*\0\x08\0\0\0\x04\0".to_vec();
    for (tag, kind, value) in [(256u16, 4u16, w), (257, 4, h), (258, 3, 8), (262, 3, 1)] {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    out.extend(0u32.to_le_bytes());
    out
}

/// A deflate TIFF whose strips really expand to `w` × `h` grey pixels.
pub(crate) fn tiff_deflate_bomb(w: u32, h: u32) -> Vec<u8> {
    let rows = 256;
    let full = zlib_zeros(rows, w as usize);
    let mut strips = vec![full; (h / rows) as usize];
    if !h.is_multiple_of(rows) {
        strips.push(zlib_zeros(h % rows, w as usize));
    }
    tiff(w, h, rows, 8, &strips)
}

/// Canonical Huffman codes (code, length) for JPEG's counts-per-length table.
fn huffman_codes(counts: &[u8; 16], symbols: &[u8]) -> Vec<(u8, u16, u8)> {
    let (mut code, mut k, mut out) = (0u16, 0, Vec::new());
    for (len, &n) in counts.iter().enumerate() {
        for _ in 0..n {
            out.push((symbols[k], code, len as u8 + 1));
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    out
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend((body.len() as u16 + 2).to_be_bytes());
    s.extend(body);
    s
}

fn dht(class_id: u8, counts: &[u8; 16], symbols: &[u8]) -> Vec<u8> {
    segment(0xC4, &[&[class_id][..], counts, symbols].concat())
}

/// SOI, a flat quantisation table of 8s, SOF2 for a 4:4:4 three-component picture.
fn progressive_head(w: u16, h: u16) -> Vec<u8> {
    let mut sof = vec![8];
    sof.extend(h.to_be_bytes());
    sof.extend(w.to_be_bytes());
    sof.extend([3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    [vec![0xFF, 0xD8], segment(0xDB, &[&[0u8][..], &[8u8; 64]].concat()), segment(0xC2, &sof)].concat()
}

/// A progressive 15800² JPEG: with `scans`, a DC scan of all components and an AC scan
/// of Y, each a few bytes (the decoder reads missing data as zeros); without, only
/// the headers (SOF2 and nothing to decode).
pub(crate) fn progressive_bomb(scans: bool) -> Vec<u8> {
    let mut out = progressive_head(SIDE as u16, SIDE as u16);
    let one = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    out.extend(dht(0x00, &one, &[0]));
    out.extend(dht(0x10, &one, &[0]));
    if scans {
        out.extend(segment(0xDA, &[3, 1, 0, 2, 0, 3, 0, 0, 0, 0]));
        out.extend([0u8; 64]);
        out.extend(segment(0xDA, &[1, 1, 0, 1, 63, 0]));
        out.extend([0u8; 64]);
    }
    out.extend([0xFF, 0xD9]);
    out
}

/// Writes bits MSB first, with JPEG's 0xFF byte stuffing; pads with ones.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        for i in (0..len).rev() {
            self.acc = self.acc << 1 | (value >> i & 1);
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                if self.acc == 0xFF {
                    self.out.push(0);
                }
                (self.acc, self.n) = (0, 0);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.n != 0 {
            self.put(1, 1);
        }
        self.out
    }
}

/// A real progressive JPEG of `img`: SOF2, 4:4:4 YCbCr, one DC scan (each 8×8 block
/// its mean colour), as a progressive photo looks before its AC scans arrive.
fn progressive_jpeg(img: &image::RgbImage) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let mut out = progressive_head(w as u16, h as u16);
    // The standard DC luminance table (ITU T.81 K.3).
    let counts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    let symbols: Vec<u8> = (0..12).collect();
    out.extend(dht(0x00, &counts, &symbols));
    let codes = huffman_codes(&counts, &symbols);
    out.extend(segment(0xDA, &[3, 1, 0, 2, 0, 3, 0, 0, 0, 0]));
    let mut bits = Bits::default();
    let mut pred = [0i32; 3];
    for by in 0..h.div_ceil(8) {
        for bx in 0..w.div_ceil(8) {
            let mut sum = [0f64; 3];
            for y in by * 8..by * 8 + 8 {
                for x in bx * 8..bx * 8 + 8 {
                    let p = img.get_pixel(x.min(w - 1), y.min(h - 1)).0.map(f64::from);
                    sum[0] += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                    sum[1] += 128.0 - 0.168_736 * p[0] - 0.331_264 * p[1] + 0.5 * p[2];
                    sum[2] += 128.0 + 0.5 * p[0] - 0.418_688 * p[1] - 0.081_312 * p[2];
                }
            }
            for c in 0..3 {
                // DC = 8 × (mean − 128); quantised by 8.
                let dc = (sum[c] / 64.0 - 128.0).round() as i32;
                let diff = dc - pred[c];
                pred[c] = dc;
                let cat = 32 - diff.unsigned_abs().leading_zeros();
                let (_, code, len) = codes[cat as usize];
                bits.put(u32::from(code), u32::from(len));
                let extra = if diff < 0 { (diff - 1) as u32 & ((1 << cat) - 1) } else { diff as u32 };
                bits.put(extra, cat);
            }
        }
    }
    out.extend(bits.finish());
    out.extend([0xFF, 0xD9]);
    out
}

pub(crate) fn bomb_mail(name: &str, data: &[u8]) -> Vec<u8> {
    Mail::new("gltpcs@163.com", "3月", MAR19).attach(name, data).build()
}

/// A normal package from another department, imported after the bomb.
fn normal_mail() -> Vec<u8> {
    let photo = with_exif(&encode_jpeg(&texture(1600, 1200, 21), 85), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40");
    Mail::new("wdhpcs@163.com", "3月", MAR19).attach("①正常.jpg", &photo).build()
}

/// Imports the bomb's mail and then a normal one in one measured run: the bomb is
/// refused as `image_bomb`, the normal photo is taken in, and the peak RSS is returned.
fn import_bomb(name: &str, data: &[u8]) -> u64 {
    let app = App::new();
    let dir = app.dir.path().join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("1-bomb.eml"), bomb_mail(name, data)).unwrap();
    std::fs::write(dir.join("2-normal.eml"), normal_mail()).unwrap();
    let (run, rss, wall) = app.run_measured(&["import", dir.to_str().unwrap()]);
    eprintln!("{name}: {} bytes, peak RSS {} MiB, {:.1} s", data.len(), rss >> 10, wall.as_secs_f64());
    assert!(run.ok, "import failed:\n{}\n{}", run.stdout, run.stderr);
    let items = app.items(&[]);
    let item = |n: &str| items.iter().find(|i| i["name"] == n).unwrap_or_else(|| panic!("no {n} in {items:?}")).clone();
    let bomb = item(name);
    assert_eq!((bomb["status"].as_str(), bomb["rejection"].as_str()), (Some("rejected"), Some("image_bomb")), "{bomb}");
    assert!(bomb["reason"].as_str().unwrap().contains("图片"), "a Chinese reason: {bomb}");
    let normal = item("①正常.jpg");
    assert_eq!(normal["status"], "accepted", "intake went on after the bomb: {normal}");
    assert_eq!((normal["width"].as_u64(), normal["height"].as_u64()), (Some(1600), Some(1200)), "{normal}");
    rss
}

#[test]
fn png_whose_idat_expands_to_250_megapixels_is_refused_without_decoding() {
    let png = png_zlib_bomb(SIDE, SIDE);
    assert!(png.len() < 400_000, "a small mail: {}", png.len());
    let rss = import_bomb("大图.png", &png);
    assert!(rss < REFUSED_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}

#[test]
fn deflate_tiff_of_250_megapixels_is_refused_without_decoding() {
    let tif = tiff_deflate_bomb(SIDE, SIDE);
    assert!(tif.len() < 400_000, "a small mail: {}", tif.len());
    let rss = import_bomb("大图.tif", &tif);
    assert!(rss < REFUSED_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}

#[test]
fn tiff_declaring_100000_squared_is_refused() {
    // No strips at all: the decoder cannot even open it, so it used to be kept unexamined.
    let rss = import_bomb("巨图.tif", &tiff_header_only(100_000, 100_000));
    assert!(rss < REFUSED_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}

#[test]
fn progressive_jpeg_of_250_megapixels_is_refused_without_decoding() {
    let rss = import_bomb("渐进.jpg", &progressive_bomb(true));
    assert!(rss < REFUSED_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}

#[test]
fn progressive_jpeg_header_alone_is_refused() {
    let rss = import_bomb("只有头.jpg", &progressive_bomb(false));
    assert!(rss < REFUSED_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}

/// Incompressible bytes after a PDF signature: a document, stored but not decoded.
fn filler_pdf(len: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut x = 0x9E37_79B9u32;
    pdf.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    pdf
}

/// 12 MP phone photos in every form that is decoded in full or in part, a progressive
/// JPEG whose decode just fits the default `max_decode_memory` (4200×3200, 4:4:4:
/// 78 MiB of coefficients), and filler so that the mail is as large as QQ Mail sends
/// (about 64 MiB raw).
fn twelve_megapixel_mail(w: u32, h: u32) -> Vec<u8> {
    let baseline = with_exif(&encode_jpeg(&texture(w, h, 31), 90), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40");
    let progressive = progressive_jpeg(&texture(w, h, 32));
    let png = encode_png(&texture(w, h, 33));
    let edge = progressive_jpeg(&texture(4200, 3200, 34));
    let used = baseline.len() + progressive.len() + png.len() + edge.len();
    Mail::new("gltpcs@163.com", "3月", MAR19)
        .attach("①基线.jpg", &baseline)
        .attach("②渐进.jpg", &progressive)
        .attach("③截图.png", &png)
        .attach("④大幅.jpg", &edge)
        .attach("⑤材料.pdf", &filler_pdf((46usize << 20).saturating_sub(used)))
        .build()
}

/// One mail of about 64 MiB with 12 MP phone photos and one just inside the decode
/// limit: each gets its size and thumbnail, and the import stays within the budget.
#[test]
fn twelve_megapixel_photos_are_still_examined_within_the_message_budget() {
    let app = App::new();
    let (w, h) = (4000, 3000);
    let mail = twelve_megapixel_mail(w, h);
    assert!(mail.len() > 60 << 20, "about 64 MiB: {}", mail.len());
    let path = app.eml("big.eml", &mail);
    let (run, rss, wall) = app.run_measured(&["import", path.to_str().unwrap()]);
    eprintln!("12 MP photos in a {} MiB mail: peak RSS {} MiB, {:.1} s", mail.len() >> 20, rss >> 10, wall.as_secs_f64());
    assert!(run.ok, "import failed:\n{}\n{}", run.stdout, run.stderr);
    let items = app.items(&[]);
    for (name, size, thumb) in [("①基线.jpg", (w, h), (320, 240)), ("②渐进.jpg", (w, h), (320, 240)), ("③截图.png", (w, h), (320, 240)), ("④大幅.jpg", (4200, 3200), (320, 244))] {
        let i = items.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(i["status"], "accepted", "{i}");
        assert_eq!((i["width"].as_u64(), i["height"].as_u64()), (Some(u64::from(size.0)), Some(u64::from(size.1))), "{i}");
        let path = app.data().join(i["thumbnail"].as_str().unwrap_or_else(|| panic!("no thumbnail: {i}")));
        let t = image::open(&path).unwrap();
        assert_eq!((t.width(), t.height()), thumb, "{name}");
    }
    assert!(rss < MESSAGE_RSS_KIB, "peak RSS {} MiB", rss >> 10);
}
