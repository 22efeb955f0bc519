//! Test fixtures built byte for byte: MIME messages in each encoding, ZIPs with GBK
//! names, 7z archives, and real photos (JPEG, PNG) and MP4 videos.

use std::io::Write;

pub fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(s).0.into_owned()
}

pub fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

fn wrap76(s: &str) -> String {
    s.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n").collect()
}

/// A picture for each `seed`, different enough from every other seed's that no two
/// are near duplicates: a 16 × 12 grid of random shades (what a perceptual hash sees)
/// under a sharp 16 px checker (what the blur score sees). Every 8 × 8 block is one
/// colour, so it compresses to a few tens of KB at 1600 × 1200 (`texture`'s noise
/// makes a truer photo, at ten times the size).
fn picture(seed: u32, width: u32, height: u32) -> image::RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761) ^ 0x9E37_79B9;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let cells: Vec<[u8; 3]> = (0..16 * 12).map(|_| { let v = next(); [40 + (v % 176) as u8, 40 + (v >> 8) as u8 % 176, 40 + (v >> 16) as u8 % 176] }).collect();
    image::RgbImage::from_fn(width, height, |x, y| {
        let c = cells[(y * 12 / height * 16 + x * 16 / width) as usize];
        let up = (x / 16 + y / 16) % 2 == 0;
        image::Rgb(c.map(|v| if up { v + 30 } else { v - 30 }))
    })
}

/// Encoded pictures by (format, seed, size), made once per test process.
fn cached(key: (&'static str, u32, u32, u32), make: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<(&'static str, u32, u32, u32), Vec<u8>>>> = std::sync::LazyLock::new(Default::default);
    if let Some(v) = CACHE.lock().unwrap().get(&key) {
        return v.clone();
    }
    let v = make();
    CACHE.lock().unwrap().insert(key, v.clone());
    v
}

/// A real JPEG, 1600 × 1200 with EXIF (camera, no capture time): a clean
/// photo that counts with no quality flag. Distinct content for each `seed`.
pub fn jpeg(seed: u32) -> Vec<u8> {
    jpeg_sized(seed, 1600, 1200)
}

/// A real JPEG of this size with EXIF (camera, no capture time).
pub fn jpeg_sized(seed: u32, width: u32, height: u32) -> Vec<u8> {
    cached(("jpeg", seed, width, height), || with_exif(&encode_jpeg(&picture(seed, width, height), 85), 1, None, "Canon", "Canon EOS R6"))
}

/// A real PNG, 1600 × 1200, distinct content for each `seed` (and from `jpeg(seed)`).
pub fn png(seed: u32) -> Vec<u8> {
    cached(("png", seed, 1600, 1200), || encode_png(&picture(seed ^ 0x5EED_0000, 1600, 1200)))
}

/// A playable MP4 (as far as its boxes say): a 1920 × 1080 H.264 track of 10 s whose
/// samples the media data holds, without a creation time. Distinct for each `seed`.
pub fn mp4(seed: u32) -> Vec<u8> {
    let payload: Vec<u8> = seed.to_le_bytes().iter().copied().cycle().take(600).collect();
    mp4_movie(10, 1920, 1080, None, &payload)
}

/// How an attachment's file name is written in its headers.
#[derive(Clone, Copy, Debug)]
pub enum NameStyle {
    /// filename*=UTF-8''…
    Rfc2231Utf8,
    /// filename="=?gb18030?B?…?=" (QQ style, RFC 2047 inside quotes)
    QuotedGb18030Word,
    /// filename*0*=gbk''…; filename*1*=… (continuations)
    Rfc2231GbkContinued,
    /// filename="<raw GBK bytes>"
    RawGbk,
    /// name="=?GB2312?B?…?=" split in the middle of a character over two words
    SplitGb2312Words,
}

pub struct Part {
    pub headers: Vec<u8>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn attachment(name: &str, data: &[u8], style: NameStyle) -> Part {
        let disp: Vec<u8> = match style {
            NameStyle::Rfc2231Utf8 => {
                let pct: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
                format!("Content-Disposition: attachment; filename*=UTF-8''{pct}\r\n").into_bytes()
            }
            NameStyle::QuotedGb18030Word => {
                format!("Content-Disposition: attachment; filename=\"=?gb18030?B?{}?=\"\r\n", b64(&gbk(name))).into_bytes()
            }
            NameStyle::Rfc2231GbkContinued => {
                let pct: String = gbk(name).iter().map(|b| format!("%{b:02X}")).collect();
                let cut = (pct.len() / 2) / 3 * 3;
                format!("Content-Disposition: attachment;\r\n filename*0*=gbk''{};\r\n filename*1*={}\r\n", &pct[..cut], &pct[cut..]).into_bytes()
            }
            NameStyle::RawGbk => {
                let mut h = b"Content-Disposition: attachment; filename=\"".to_vec();
                h.extend(gbk(name));
                h.extend(b"\"\r\n");
                h
            }
            NameStyle::SplitGb2312Words => {
                let g = gbk(name);
                let cut = if g.len() > 3 { 3 } else { 1 };
                format!("Content-Disposition: attachment; filename=\"=?GB2312?B?{}?= =?GB2312?B?{}?=\"\r\n", b64(&g[..cut]), b64(&g[cut..])).into_bytes()
            }
        };
        let mut headers = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n".to_vec();
        headers.extend(disp);
        Part { headers, body: wrap76(&b64(data)).into_bytes() }
    }

    pub fn text(s: &str) -> Part {
        Part {
            headers: b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n".to_vec(),
            body: wrap76(&b64(s.as_bytes())).into_bytes(),
        }
    }

    pub fn html(s: &str) -> Part {
        Part {
            headers: b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n".to_vec(),
            body: wrap76(&b64(s.as_bytes())).into_bytes(),
        }
    }

    pub fn inline_image(cid: &str, data: &[u8]) -> Part {
        Part {
            headers: format!("Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <{cid}>\r\nContent-Disposition: inline\r\n").into_bytes(),
            body: wrap76(&b64(data)).into_bytes(),
        }
    }

    pub fn forwarded(inner: &[u8]) -> Part {
        Part { headers: b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n".to_vec(), body: inner.to_vec() }
    }

    pub fn raw(headers: &str, body: &[u8]) -> Part {
        Part { headers: headers.as_bytes().to_vec(), body: body.to_vec() }
    }
}

pub struct Mail {
    pub from: String,
    pub subject: Vec<u8>,
    pub date: String,
    pub received: Option<String>,
    pub message_id: String,
    pub parts: Vec<Part>,
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

impl Mail {
    /// `date` is RFC 2822, e.g. "Tue, 19 Mar 2024 10:00:00 +0800". The subject is a UTF-8 encoded word.
    pub fn new(from: &str, subject: &str, date: &str) -> Mail {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Mail {
            from: from.into(),
            subject: format!("=?UTF-8?B?{}?=", b64(subject.as_bytes())).into_bytes(),
            date: date.into(),
            received: None,
            message_id: format!("<tencent_{n:08}_{}@qq.com>", std::process::id()),
            parts: vec![Part::text("各位领导好，附件是本月的宣传素材，请查收。")],
        }
    }

    pub fn subject_raw(mut self, raw: &[u8]) -> Mail {
        self.subject = raw.to_vec();
        self
    }

    pub fn received(mut self, date: &str) -> Mail {
        self.received = Some(date.into());
        self
    }

    pub fn message_id(mut self, id: &str) -> Mail {
        self.message_id = id.into();
        self
    }

    pub fn part(mut self, p: Part) -> Mail {
        self.parts.push(p);
        self
    }

    pub fn attach(self, name: &str, data: &[u8]) -> Mail {
        self.part(Part::attachment(name, data, NameStyle::Rfc2231Utf8))
    }

    pub fn no_parts(mut self) -> Mail {
        self.parts.clear();
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut m = Vec::new();
        if let Some(r) = &self.received {
            m.extend(format!("Received: from smtp.qq.com by mx.qq.com with ESMTPS; {r}\r\n").as_bytes());
        }
        m.extend(format!("From: =?UTF-8?B?{}?= <{}>\r\nTo: 1605739848@qq.com\r\nSubject: ", b64("宣传员".as_bytes()), self.from).as_bytes());
        m.extend(&self.subject);
        m.extend(format!("\r\nDate: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n", self.date, self.message_id).as_bytes());
        if self.parts.is_empty() {
            m.extend(b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xe6\x94\xb6\xe5\x88\xb0\r\n");
            return m;
        }
        let boundary = "----=_NextPart_baosong_test";
        m.extend(format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\nThis is a multi-part message in MIME format.\r\n").as_bytes());
        for p in &self.parts {
            m.extend(format!("\r\n--{boundary}\r\n").as_bytes());
            m.extend(&p.headers);
            m.extend(b"\r\n");
            m.extend(&p.body);
        }
        m.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        m
    }
}

/// One entry of a hand-written ZIP.
#[derive(Clone, Default)]
pub struct ZipEntry {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    pub utf8_flag: bool,
    pub unicode_path: Option<String>,
    /// Writes a stale CRC into the 0x7075 field (the name was changed after it was written).
    pub stale_unicode: bool,
    pub deflate: bool,
    pub encrypted: bool,
    /// The method number written in the headers, when not 0 or 8 (the body stays as
    /// `deflate` makes it: a Deflate stream is also a valid Deflate64 one, method 9).
    pub method: Option<u16>,
}

impl ZipEntry {
    /// A GBK-named entry without the UTF-8 flag, as 7-Zip/360/WinRAR on zh-CN Windows write it.
    pub fn gbk(name: &str, data: &[u8]) -> ZipEntry {
        ZipEntry { name: gbk(name), data: data.to_vec(), ..Default::default() }
    }

    pub fn utf8(name: &str, data: &[u8]) -> ZipEntry {
        ZipEntry { name: name.as_bytes().to_vec(), data: data.to_vec(), utf8_flag: true, ..Default::default() }
    }
}

/// Writes a ZIP byte for byte (stored or deflated), with local headers, central directory and EOCD.
pub fn zip(entries: &[ZipEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let crc = crc32fast::hash(&e.data);
        let body = if e.deflate {
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&e.data).unwrap();
            enc.finish().unwrap()
        } else {
            e.data.clone()
        };
        let mut extra = Vec::new();
        if let Some(u) = &e.unicode_path {
            extra.extend(0x7075u16.to_le_bytes());
            extra.extend(((5 + u.len()) as u16).to_le_bytes());
            extra.push(1);
            extra.extend((crc32fast::hash(&e.name) ^ u32::from(e.stale_unicode)).to_le_bytes());
            extra.extend(u.as_bytes());
        }
        let flags: u16 = u16::from(e.encrypted) | if e.utf8_flag { 0x0800 } else { 0 };
        let method: u16 = e.method.unwrap_or(if e.deflate { 8 } else { 0 });
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes());
            v.extend(flags.to_le_bytes());
            v.extend(method.to_le_bytes());
            v.extend([0u8; 4]); // time, date
            v.extend(crc.to_le_bytes());
            v.extend((body.len() as u32).to_le_bytes());
            v.extend((e.data.len() as u32).to_le_bytes());
            v.extend((e.name.len() as u16).to_le_bytes());
            v.extend((extra.len() as u16).to_le_bytes());
        };
        out.extend(b"PK\x03\x04");
        common(&mut out);
        out.extend(&e.name);
        out.extend(&extra);
        out.extend(&body);
        central.extend(b"PK\x01\x02");
        central.extend(20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend([0u8; 8]); // comment len, disk, internal attrs, external attrs (part)
        central.extend([0u8; 2]);
        central.extend(offset.to_le_bytes());
        central.extend(&e.name);
        central.extend(&extra);
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0u8; 2]);
    out
}

/// A 7z archive of (name, data) entries.
pub fn sevenz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = sevenz_rust2::ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    for (name, data) in entries {
        w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data)).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A RAR 4 archive of stored (uncompressed) entries, written byte for byte from the
/// format's technical note. `encrypted` sets the password flag on every entry.
pub fn rar(entries: &[(&str, &[u8])], encrypted: bool) -> Vec<u8> {
    let crc16 = |b: &[u8]| (crc32fast::hash(b) & 0xFFFF) as u16;
    let mut out = b"Rar!\x1a\x07\x00".to_vec();
    let main = [0x73u8, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0];
    out.extend(crc16(&main).to_le_bytes());
    out.extend(main);
    for (name, data) in entries {
        let name = name.replace('/', "\\");
        let mut h = vec![0x74u8];
        let flags: u16 = 0x8000 | if encrypted { 0x04 } else { 0 };
        h.extend(flags.to_le_bytes());
        h.extend(((32 + name.len()) as u16).to_le_bytes());
        h.extend((data.len() as u32).to_le_bytes()); // packed size
        h.extend((data.len() as u32).to_le_bytes()); // unpacked size
        h.push(2); // host OS: Windows
        h.extend(crc32fast::hash(data).to_le_bytes());
        h.extend(0x5863_0000u32.to_le_bytes()); // DOS time: 2024-03-03
        h.push(20); // version needed: 2.0
        h.push(0x30); // method: store
        h.extend((name.len() as u16).to_le_bytes());
        h.extend(0x20u32.to_le_bytes()); // attributes: archive
        h.extend(name.as_bytes());
        out.extend(crc16(&h).to_le_bytes());
        out.extend(&h);
        out.extend(*data);
    }
    out.extend([0xC4, 0x3D, 0x7B, 0x00, 0x40, 0x07, 0x00]);
    out
}

/// A textured picture: large shapes that differ with `seed` (what a perceptual hash
/// sees), with blocks, lines and noise on top (what a blur score sees).
pub fn texture(w: u32, h: u32, seed: u32) -> image::RgbImage {
    let mut x = seed.wrapping_mul(2654435761) | 1;
    let s = f64::from(seed);
    let (f1, f2, p1, p2) = (2.0 + (s * 1.7) % 5.0, 1.0 + (s * 2.3) % 4.0, s * 0.9, s * 1.3);
    image::RgbImage::from_fn(w, h, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let (u, v) = (f64::from(px) / f64::from(w), f64::from(py) / f64::from(h));
        let shape = 128.0 + 90.0 * (u * f1 * std::f64::consts::TAU + p1).sin() * (v * f2 * std::f64::consts::TAU + p2).cos();
        let block = ((px / 37 + py / 23 + seed) % 7) as f64 * 6.0;
        let line = if (px + py * 3 + seed) % 41 < 2 { 40.0 } else { 0.0 };
        let noise = f64::from(x & 0x1f);
        let l = (shape + block + line + noise - 40.0).clamp(0.0, 255.0) as u8;
        image::Rgb([l, l.saturating_sub(20), l / 2 + 60])
    })
}

pub fn encode_jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(img).unwrap();
    out
}

pub fn encode_png(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// Puts an EXIF APP1 segment (big-endian TIFF) right after the JPEG's SOI marker.
pub fn with_exif(jpeg: &[u8], orientation: u16, taken: Option<&str>, make: &str, model: &str) -> Vec<u8> {
    let ascii = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    };
    let (make, model) = (ascii(make), ascii(model));
    // Layout: header(8) | IFD0: 2 + 4*12 + 4 | Exif IFD: 2 + 1*12 + 4 | data
    let ifd0 = 8u32;
    let exif_ifd = ifd0 + 2 + 4 * 12 + 4;
    let data = exif_ifd + 2 + 12 + 4;
    let (make_at, model_at) = (data, data + make.len() as u32);
    let taken_at = model_at + model.len() as u32;
    let mut t = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: u32| {
        t.extend(tag.to_be_bytes());
        t.extend(typ.to_be_bytes());
        t.extend(count.to_be_bytes());
        t.extend(value.to_be_bytes());
    };
    t.extend(4u16.to_be_bytes());
    entry(&mut t, 0x010F, 2, make.len() as u32, make_at);
    entry(&mut t, 0x0110, 2, model.len() as u32, model_at);
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation) << 16);
    entry(&mut t, 0x8769, 4, 1, exif_ifd);
    t.extend(0u32.to_be_bytes());
    match taken {
        Some(_) => {
            t.extend(1u16.to_be_bytes());
            entry(&mut t, 0x9003, 2, 20, taken_at);
        }
        None => {
            t.extend(1u16.to_be_bytes());
            entry(&mut t, 0x9010, 2, 1, 0); // OffsetTimeOriginal, empty: keeps the layout
        }
    }
    t.extend(0u32.to_be_bytes());
    t.extend(&make);
    t.extend(&model);
    if let Some(d) = taken {
        t.extend(ascii(d));
    }
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(t);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

fn mp4_box(kind: &[u8], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend(kind);
    b.extend(body);
    b
}

/// An MP4 with a video track of the given size and duration, created at this time.
pub fn mp4_video(seconds: u32, width: u32, height: u32, created_unix: i64) -> Vec<u8> {
    mp4_movie(seconds, width, height, Some(created_unix), &[0x25; 64])
}

/// An MP4 as a camera writes it: ftyp, moov (mvhd; one video track with tkhd, mdia
/// with mdhd, hdlr `vide` and a sample table: stsd avc1, stsz) and mdat holding the
/// samples, `payload` split into four.
pub fn mp4_movie(seconds: u32, width: u32, height: u32, created_unix: Option<i64>, payload: &[u8]) -> Vec<u8> {
    let created = created_unix.map_or(0, |c| (c + 2_082_844_800) as u32);
    let mut mvhd = vec![0u8; 4];
    mvhd.extend(created.to_be_bytes());
    mvhd.extend(created.to_be_bytes());
    mvhd.extend(1000u32.to_be_bytes());
    mvhd.extend((seconds * 1000).to_be_bytes());
    mvhd.extend([0u8; 80]);
    let mut tkhd = vec![0u8; 76];
    tkhd.extend((width << 16).to_be_bytes());
    tkhd.extend((height << 16).to_be_bytes());
    let mut mdhd = vec![0u8; 4];
    mdhd.extend(created.to_be_bytes());
    mdhd.extend(created.to_be_bytes());
    mdhd.extend(90_000u32.to_be_bytes());
    mdhd.extend((seconds * 90_000).to_be_bytes());
    mdhd.extend([0x55, 0xC4, 0, 0]);
    let mut hdlr = vec![0u8; 8];
    hdlr.extend(b"vide");
    hdlr.extend([0u8; 13]);
    let mut avc1 = vec![0u8; 24];
    avc1.extend((width as u16).to_be_bytes());
    avc1.extend((height as u16).to_be_bytes());
    avc1.extend([0u8; 50]);
    let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
    stsd.extend(mp4_box(b"avc1", &avc1));
    let quarter = payload.len() / 4;
    let sizes = [quarter, quarter, quarter, payload.len() - 3 * quarter];
    let mut stsz = vec![0u8; 8];
    stsz.extend(4u32.to_be_bytes());
    for s in sizes {
        stsz.extend((s as u32).to_be_bytes());
    }
    let stbl = [mp4_box(b"stsd", &stsd), mp4_box(b"stsz", &stsz)].concat();
    let minf = mp4_box(b"stbl", &stbl);
    let mdia = [mp4_box(b"mdhd", &mdhd), mp4_box(b"hdlr", &hdlr), mp4_box(b"minf", &minf)].concat();
    let trak = [mp4_box(b"tkhd", &tkhd), mp4_box(b"mdia", &mdia)].concat();
    let moov = [mp4_box(b"mvhd", &mvhd), mp4_box(b"trak", &trak)].concat();
    [mp4_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41"), mp4_box(b"moov", &moov), mp4_box(b"mdat", payload)].concat()
}

/// A real HEIC, encoded by libheif (HEVC through x265, as Debian builds it), of the
/// same kind of picture as `jpeg`. An iPhone writes the same boxes (ftyp heic, meta
/// with hdlr pict, iprp/ipco with ispe and hvcC, mdat).
pub fn heic(width: u32, height: u32) -> Vec<u8> {
    use libheif_rs::{Channel, ColorSpace, CompressionFormat, EncoderQuality, HeifContext, Image, LibHeif, RgbChroma};
    cached(("heic", 7, width, height), || {
        let pic = picture(7, width, height);
        let mut img = Image::new(width, height, ColorSpace::Rgb(RgbChroma::Rgb)).unwrap();
        img.create_plane(Channel::Interleaved, width, height, 8).unwrap();
        let plane = img.planes_mut().interleaved.unwrap();
        let row = width as usize * 3;
        for (y, src) in pic.as_raw().chunks_exact(row).enumerate() {
            plane.data[y * plane.stride..y * plane.stride + row].copy_from_slice(src);
        }
        let lib = LibHeif::new();
        let mut encoder = lib.encoder_for_format(CompressionFormat::Hevc).unwrap();
        encoder.set_quality(EncoderQuality::Lossy(50)).unwrap();
        let mut ctx = HeifContext::new().unwrap();
        ctx.encode_image(&img, &mut encoder, None).unwrap();
        ctx.write_to_bytes().unwrap()
    })
}

/// A PNG whose header claims 30,000 × 30,000 pixels.
pub fn png_bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend(30_000u32.to_be_bytes());
    ihdr.extend(30_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let chunk = |kind: &[u8], body: &[u8]| {
        let mut c = (body.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(body);
        c.extend(crc32fast::hash(&[kind, body].concat()).to_be_bytes());
        c
    };
    [b"\x89PNG\r\n\x1a\n".to_vec(), chunk(b"IHDR", &ihdr), chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), chunk(b"IEND", &[])].concat()
}

/// Noise that does not compress, as photos and videos do not (a video's samples).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend(x.to_le_bytes());
    }
    out.truncate(len);
    out
}
