//! The stored ZIP the console streams: its layout planned from the files' sizes before
//! a byte is sent (so Content-Length is exact), then written piece by piece. Names are
//! UTF-8 with flag 0x0800; sizes and CRCs follow each file in a data descriptor.
//! ZIP64 records are written only where a field runs out: an entry of 4 GiB or more
//! (a ZIP64 extra field in its local and central headers, a 24-byte descriptor), an
//! entry that starts past 4 GiB (its offset in the central header's extra field), or a
//! directory that is too large, too far in or has more than 65 535 entries (the ZIP64
//! end of central directory record and its locator). Small archives stay plain ZIP,
//! which every unzipper has read since 1993.

use axum::body::Bytes;
use tokio::io::AsyncReadExt;

/// General purpose flags: bit 3 (sizes in a data descriptor) and bit 11 (UTF-8 names).
const FLAGS: u16 = 0x0808;
/// "Version needed to extract": 2.0 plain, 4.5 with ZIP64 records.
const PLAIN: u16 = 20;
const ZIP64: u16 = 45;
/// In a 32-bit (16-bit) field: "the value is in the ZIP64 record".
const MARK32: u32 = u32::MAX;
const MARK16: u16 = u16::MAX;

/// Where ZIP's 32-bit fields and 16-bit entry count run out: a size or offset at or
/// above `field`, or at least `count` entries, takes ZIP64 (the largest value is the
/// marker). Tests lower them to write ZIP64 records around a few small files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub field: u64,
    pub count: u64,
}

pub const LIMITS: Limits = Limits { field: MARK32 as u64, count: MARK16 as u64 };

/// One file: its name in the archive, where it is, its size.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub path: std::path::PathBuf,
    pub size: u64,
}

/// An entry and where its local header starts.
#[derive(Debug, Clone)]
struct Placed {
    entry: Entry,
    offset: u64,
}

/// The archive laid out: every entry's offset, where the central directory starts and
/// how long it is, and the total size, all known before the first byte goes out.
#[derive(Debug, Clone)]
pub struct Plan {
    placed: Vec<Placed>,
    limits: Limits,
    directory_at: u64,
    directory_len: u64,
    pub size: u64,
}

impl Plan {
    pub fn new(entries: Vec<Entry>, limits: Limits) -> Plan {
        let mut offset = 0u64;
        let mut placed = Vec::with_capacity(entries.len());
        let mut directory_len = 0u64;
        for entry in entries {
            let big = entry.size >= limits.field;
            directory_len += central(&entry.name, 0, entry.size, offset, limits).len() as u64;
            let at = offset;
            offset += local_header(&entry.name, big).len() as u64 + entry.size + descriptor(0, entry.size, big).len() as u64;
            placed.push(Placed { entry, offset: at });
        }
        let tail = end(placed.len() as u64, directory_len, offset, limits).len() as u64;
        Plan { placed, limits, directory_at: offset, directory_len, size: offset + directory_len + tail }
    }

    /// True when the archive carries ZIP64 records (for the log).
    pub fn zip64(&self) -> bool {
        self.placed.len() as u64 >= self.limits.count
            || self.directory_at + self.directory_len >= self.limits.field
            || self.placed.iter().any(|p| p.entry.size >= self.limits.field)
    }
}

fn local_header(name: &str, big: bool) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + name.len() + 20);
    h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    h.extend_from_slice(&(if big { ZIP64 } else { PLAIN }).to_le_bytes());
    h.extend_from_slice(&FLAGS.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // stored
    h.extend_from_slice(&[0; 4]); // time and date: 1980-01-00, the files' own dates are in the database
    h.extend_from_slice(&[0; 4]); // CRC: in the descriptor
    // Sizes: in the descriptor (bit 3); marked when the ZIP64 extra field follows.
    let size = if big { MARK32 } else { 0 };
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&size.to_le_bytes());
    h.extend_from_slice(&(name.len() as u16).to_le_bytes());
    h.extend_from_slice(&(if big { 20u16 } else { 0 }).to_le_bytes());
    h.extend_from_slice(name.as_bytes());
    if big {
        // The ZIP64 extra field: both sizes, zero as bit 3 asks (the descriptor has them).
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(&[0; 16]);
    }
    h
}

/// After a file's data: its CRC and sizes, 8 bytes each when its header had the ZIP64 field.
fn descriptor(crc: u32, size: u64, big: bool) -> Vec<u8> {
    let mut d = Vec::with_capacity(24);
    d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
    d.extend_from_slice(&crc.to_le_bytes());
    for _ in 0..2 {
        if big {
            d.extend_from_slice(&size.to_le_bytes());
        } else {
            d.extend_from_slice(&(size as u32).to_le_bytes());
        }
    }
    d
}

/// A value for a 32-bit field, or the marker when it goes in the ZIP64 extra field.
fn field32(value: u64, limits: Limits, extra: &mut Vec<u64>) -> u32 {
    if value >= limits.field {
        extra.push(value);
        MARK32
    } else {
        value as u32
    }
}

fn central(name: &str, crc: u32, size: u64, offset: u64, limits: Limits) -> Vec<u8> {
    let mut extra = Vec::new();
    let uncompressed = field32(size, limits, &mut extra);
    let compressed = field32(size, limits, &mut extra);
    let at = field32(offset, limits, &mut extra);
    let version = if extra.is_empty() { PLAIN } else { ZIP64 };
    let mut c = Vec::with_capacity(46 + name.len() + 28);
    c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    c.extend_from_slice(&(0x0300u16 | version).to_le_bytes()); // made by: Unix
    c.extend_from_slice(&version.to_le_bytes());
    c.extend_from_slice(&FLAGS.to_le_bytes());
    c.extend_from_slice(&0u16.to_le_bytes());
    c.extend_from_slice(&[0; 4]);
    c.extend_from_slice(&crc.to_le_bytes());
    c.extend_from_slice(&compressed.to_le_bytes());
    c.extend_from_slice(&uncompressed.to_le_bytes());
    c.extend_from_slice(&(name.len() as u16).to_le_bytes());
    let extra_len = if extra.is_empty() { 0 } else { 4 + 8 * extra.len() as u16 };
    c.extend_from_slice(&extra_len.to_le_bytes());
    c.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
    c.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
    c.extend_from_slice(&at.to_le_bytes());
    c.extend_from_slice(name.as_bytes());
    if !extra.is_empty() {
        // Only the fields marked above, in the order APPNOTE 4.5.3 gives: sizes, offset.
        c.extend_from_slice(&1u16.to_le_bytes());
        c.extend_from_slice(&(8 * extra.len() as u16).to_le_bytes());
        for v in extra {
            c.extend_from_slice(&v.to_le_bytes());
        }
    }
    c
}

/// The end of the archive: the end of central directory record, preceded by the ZIP64
/// end record and its locator when the count, size or offset does not fit.
fn end(count: u64, directory_len: u64, directory_at: u64, limits: Limits) -> Vec<u8> {
    let zip64 = count >= limits.count || directory_len >= limits.field || directory_at >= limits.field;
    let mut e = Vec::with_capacity(56 + 20 + 22);
    if zip64 {
        let record_at = directory_at + directory_len;
        e.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        e.extend_from_slice(&44u64.to_le_bytes()); // the record's size after this field
        e.extend_from_slice(&(0x0300u16 | ZIP64).to_le_bytes());
        e.extend_from_slice(&ZIP64.to_le_bytes());
        e.extend_from_slice(&[0; 8]); // this disk, the directory's disk
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&directory_len.to_le_bytes());
        e.extend_from_slice(&directory_at.to_le_bytes());
        e.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(&record_at.to_le_bytes());
        e.extend_from_slice(&1u32.to_le_bytes()); // disks in all
    }
    let count16 = if count >= limits.count { MARK16 } else { count as u16 };
    let mut unused = Vec::new();
    e.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    e.extend_from_slice(&[0; 4]);
    e.extend_from_slice(&count16.to_le_bytes());
    e.extend_from_slice(&count16.to_le_bytes());
    e.extend_from_slice(&field32(directory_len, limits, &mut unused).to_le_bytes());
    e.extend_from_slice(&field32(directory_at, limits, &mut unused).to_le_bytes());
    e.extend_from_slice(&0u16.to_le_bytes());
    e
}

/// Writes the archive `plan` lays out into `tx` piece by piece (files in 64 KiB reads,
/// never whole); stops when the receiver is gone, and ends the stream with an error
/// if a file is not the size the plan promised.
pub async fn write(plan: Plan, tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) {
    let mut directory = Vec::new();
    let mut offset = 0u64;
    for Placed { entry: e, offset: start } in &plan.placed {
        debug_assert_eq!(offset, *start, "{}", e.name);
        let big = e.size >= plan.limits.field;
        let header = local_header(&e.name, big);
        offset += header.len() as u64;
        if tx.send(Ok(Bytes::from(header))).await.is_err() {
            return;
        }
        let mut file = match tokio::fs::File::open(&e.path).await {
            Ok(f) => f,
            Err(err) => {
                let _ = tx.send(Err(err)).await;
                return;
            }
        };
        let (mut crc, mut written) = (crc32fast::Hasher::new(), 0u64);
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            };
            buf.truncate(n);
            crc.update(&buf);
            written += n as u64;
            if written > e.size {
                break;
            }
            if tx.send(Ok(Bytes::from(buf))).await.is_err() {
                return;
            }
        }
        if written != e.size {
            // The archive's size was promised in Content-Length: a changed file ends it.
            let _ = tx.send(Err(std::io::Error::other(format!("{} 的大小与登记不符", e.name)))).await;
            return;
        }
        let crc = crc.finalize();
        let d = descriptor(crc, written, big);
        offset += written + d.len() as u64;
        if tx.send(Ok(Bytes::from(d))).await.is_err() {
            return;
        }
        directory.extend_from_slice(&central(&e.name, crc, written, *start, plan.limits));
        // A directory of 100 000 entries is a few MiB: sent as it fills rather than kept.
        if directory.len() >= 1 << 20 && tx.send(Ok(Bytes::from(std::mem::take(&mut directory)))).await.is_err() {
            return;
        }
    }
    debug_assert_eq!(offset, plan.directory_at);
    directory.extend_from_slice(&end(plan.placed.len() as u64, plan.directory_len, plan.directory_at, plan.limits));
    let _ = tx.send(Ok(Bytes::from(directory))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn fake(name: &str, size: u64) -> Entry {
        Entry { name: name.into(), path: "/nonexistent".into(), size }
    }

    #[test]
    fn headers_carry_the_utf8_flag() {
        let h = local_header("①党建/学习.jpg", false);
        assert_eq!(u16::from_le_bytes([h[6], h[7]]) & 0x0800, 0x0800);
        assert_eq!(&h[30..], "①党建/学习.jpg".as_bytes());
    }

    #[test]
    fn a_small_archive_is_plain_zip() {
        let plan = Plan::new(vec![fake("a.jpg", 10), fake("b.jpg", 20)], LIMITS);
        // Local header, data, 16-byte descriptor; 46-byte central header; 22-byte end.
        assert_eq!(plan.size, (30 + 5 + 10 + 16) + (30 + 5 + 20 + 16) + 2 * (46 + 5) + 22);
        assert!(!plan.zip64());
    }

    #[test]
    fn a_file_of_five_gib_takes_zip64_fields_and_moves_the_next_offset_past_4_gib() {
        let plan = Plan::new(vec![fake("视频/a.mp4", 5 * GIB), fake("b.jpg", 100)], LIMITS);
        let name = "视频/a.mp4".len() as u64;
        // The big one: local header with a 20-byte ZIP64 extra, a 24-byte descriptor,
        // a central header with both sizes in an extra of 4 + 16 bytes.
        let first = 30 + name + 20 + 5 * GIB + 24;
        assert_eq!(plan.placed[1].offset, first);
        // The small one: plain local header and descriptor, but its offset is past 4 GiB:
        // an extra of 4 + 8 bytes in its central header.
        let second = 30 + 5 + 100 + 16;
        let directory = (46 + name + 20) + (46 + 5 + 12);
        assert_eq!((plan.directory_at, plan.directory_len), (first + second, directory));
        // The directory starts past 4 GiB: ZIP64 end record (56), locator (20), end (22).
        assert_eq!(plan.size, first + second + directory + 56 + 20 + 22);
        assert!(plan.zip64());
        let c = central("b.jpg", 7, 100, first, LIMITS);
        assert_eq!(u32::from_le_bytes(c[42..46].try_into().unwrap()), u32::MAX, "offset marked");
        assert_eq!(u64::from_le_bytes(c[c.len() - 8..].try_into().unwrap()), first, "and in the extra field");
        let e = end(2, directory, first + second, LIMITS);
        assert_eq!(u64::from_le_bytes(e[48..56].try_into().unwrap()), first + second, "ZIP64 end record: the directory's offset");
        assert_eq!(u64::from_le_bytes(e[64..72].try_into().unwrap()), first + second + directory, "locator: where the ZIP64 end record is");
    }

    #[test]
    fn many_small_files_past_4_gib_in_all() {
        // A month of photos: 3 000 files of 2 MiB is 5.9 GiB; no file is large, the
        // later offsets and the directory's are.
        let entries: Vec<Entry> = (0..3000).map(|i| fake(&format!("单位/①/照片{i:04}.jpg"), 2 << 20)).collect();
        let plan = Plan::new(entries, LIMITS);
        let past = plan.placed.iter().filter(|p| p.offset >= LIMITS.field).count() as u64;
        let name = |i: usize| format!("单位/①/照片{i:04}.jpg").len() as u64;
        let data: u64 = (0..3000).map(|i| 30 + name(i) + (2 << 20) + 16).sum();
        let directory: u64 = (0..3000).map(|i| 46 + name(i)).sum::<u64>() + 12 * past;
        assert!(past > 900, "{past}");
        assert_eq!(plan.size, data + directory + 56 + 20 + 22);
    }

    #[test]
    fn more_than_65_534_entries_take_the_zip64_end_record() {
        let entries: Vec<Entry> = (0..70_000).map(|i| fake(&format!("{i}.jpg"), 1)).collect();
        let plan = Plan::new(entries, LIMITS);
        assert!(plan.directory_at < LIMITS.field && plan.zip64());
        let e = end(70_000, plan.directory_len, plan.directory_at, LIMITS);
        assert_eq!(e.len(), 56 + 20 + 22);
        assert_eq!(u16::from_le_bytes([e[76 + 8], e[76 + 9]]), u16::MAX, "the end record's count is marked");
        assert_eq!(u64::from_le_bytes(e[24..32].try_into().unwrap()), 70_000);
    }

    /// The files of a real archive, written with limits low enough that every kind of
    /// ZIP64 record appears, read back by two unzippers that share no code with this one.
    #[tokio::test]
    async fn readers_accept_the_zip64_records_and_the_utf8_names() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("①党的建设/学习.jpg", (0..100u32).map(|i| i as u8).collect()),
            ("视频/夜间巡逻.mp4", (0..5000u32).map(|i| (i * 7 % 251) as u8).collect()),
            ("③执法办案/小.jpg", vec![42; 50]),
        ];
        let entries: Vec<Entry> = files
            .iter()
            .enumerate()
            .map(|(i, (name, data))| {
                let path = dir.path().join(format!("blob{i}"));
                std::fs::write(&path, data).unwrap();
                Entry { name: name.to_string(), path, size: data.len() as u64 }
            })
            .collect();
        // The video is "large", the third file starts past the limit, three entries are
        // "too many": ZIP64 extra fields local and central, an offset in the extra field,
        // and the ZIP64 end record with its locator.
        let limits = Limits { field: 3000, count: 3 };
        let plan = Plan::new(entries, limits);
        assert!(plan.placed[2].offset >= limits.field && plan.zip64());
        let promised = plan.size;
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(write(plan, tx));
        let mut zip = Vec::new();
        while let Some(piece) = rx.recv().await {
            zip.extend_from_slice(&piece.unwrap());
        }
        assert_eq!(zip.len() as u64, promised, "Content-Length is exact");
        let sig = |s: u32| zip.windows(4).filter(|w| *w == s.to_le_bytes()).count();
        assert_eq!((sig(0x0606_4b50), sig(0x0706_4b50)), (1, 1), "ZIP64 end record and locator");
        let archive = dir.path().join("报送.zip");
        std::fs::write(&archive, &zip).unwrap();

        let out = dir.path().join("python");
        let script = "import sys, zipfile\n\
                      z = zipfile.ZipFile(sys.argv[1])\n\
                      assert z.testzip() is None\n\
                      for i in z.infolist(): print(i.filename, i.file_size, i.extract_version, i.flag_bits & 0x800, sep='\\t')\n\
                      z.extractall(sys.argv[2])\n";
        let py = std::process::Command::new("python3").arg("-c").arg(script).arg(&archive).arg(&out).output().expect("python3 is needed");
        assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
        let listed = String::from_utf8(py.stdout).unwrap();
        assert_eq!(
            listed.lines().collect::<Vec<_>>(),
            ["①党的建设/学习.jpg\t100\t20\t2048", "视频/夜间巡逻.mp4\t5000\t45\t2048", "③执法办案/小.jpg\t50\t45\t2048"],
            "names decoded as UTF-8, ZIP64 where the limits said"
        );
        for (name, data) in &files {
            assert_eq!(&std::fs::read(out.join(name)).unwrap(), data, "{name}");
        }

        let unzip = std::process::Command::new("unzip").arg("-t").arg(&archive).output().expect("unzip is needed (tests/install-deps.sh)");
        let said = String::from_utf8_lossy(&unzip.stdout);
        assert!(unzip.status.success() && said.contains("No errors detected"), "{said}{}", String::from_utf8_lossy(&unzip.stderr));
        assert_eq!(said.matches("OK").count(), 3, "{said}");
    }

    /// The same with the real limits: a 4.25 GiB video (a sparse file, so only the
    /// archive takes disk) and a photo after it, past 4 GiB. It writes 4.6 GB to the
    /// temporary folder, so it runs by hand:
    /// `cargo test --lib -- --ignored a_real_archive_past_4_gib`.
    #[tokio::test]
    #[ignore = "writes 4.6 GB to the temporary folder"]
    async fn a_real_archive_past_4_gib_is_read_back() {
        use tokio::io::AsyncWriteExt;
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("video");
        std::fs::File::create(&video).unwrap().set_len(4 * GIB + GIB / 4).unwrap();
        let photo = dir.path().join("photo");
        std::fs::write(&photo, b"a photo after the video").unwrap();
        let entries = vec![
            Entry { name: "嘎鲁图派出所/⑤视频/夜间巡逻.mp4".into(), path: video, size: 4 * GIB + GIB / 4 },
            Entry { name: "嘎鲁图派出所/①党的建设/学习.jpg".into(), path: photo, size: 23 },
        ];
        let plan = Plan::new(entries, LIMITS);
        assert!(plan.zip64() && plan.placed[1].offset > LIMITS.field);
        let promised = plan.size;
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let started = std::time::Instant::now();
        tokio::spawn(write(plan, tx));
        let archive = dir.path().join("报送.zip");
        let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(&archive).await.unwrap());
        while let Some(piece) = rx.recv().await {
            out.write_all(&piece.unwrap()).await.unwrap();
        }
        out.flush().await.unwrap();
        eprintln!("{promised} bytes written in {:.1?}", started.elapsed());
        assert_eq!(std::fs::metadata(&archive).unwrap().len(), promised);
        let script = "import sys, zipfile\n\
                      z = zipfile.ZipFile(sys.argv[1])\n\
                      assert z.testzip() is None\n\
                      for i in z.infolist(): print(i.filename, i.file_size, i.header_offset, sep='\\t')\n\
                      print(z.read(z.infolist()[1]).decode())\n";
        let py = std::process::Command::new("python3").arg("-c").arg(script).arg(&archive).output().unwrap();
        assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
        let listed = String::from_utf8(py.stdout).unwrap();
        let second = 30 + "嘎鲁图派出所/⑤视频/夜间巡逻.mp4".len() as u64 + 20 + 4 * GIB + GIB / 4 + 24;
        assert_eq!(
            listed.lines().collect::<Vec<_>>(),
            [format!("嘎鲁图派出所/⑤视频/夜间巡逻.mp4\t{}\t0", 4 * GIB + GIB / 4), format!("嘎鲁图派出所/①党的建设/学习.jpg\t23\t{second}"), "a photo after the video".into()]
        );
        let unzip = std::process::Command::new("unzip").arg("-t").arg(&archive).output().unwrap();
        let said = String::from_utf8_lossy(&unzip.stdout);
        assert!(unzip.status.success() && said.contains("No errors detected"), "{said}{}", String::from_utf8_lossy(&unzip.stderr));
        eprintln!("read back by python3 zipfile and unzip -t in {:.1?} in all", started.elapsed());
    }
}
