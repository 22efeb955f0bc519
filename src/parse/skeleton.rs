//! A large message as mail-parser sees it, without its bulk: every long run of
//! base64 lines (an attachment's body) is left in the file and replaced by a short
//! placeholder, so the skeleton that is parsed holds the headers, the text and the
//! boundaries only. Unpacking then streams each such body from the file
//! (`unpack::spooled`), so a 300 MiB message is never in memory whole.
//!
//! Which bytes become holes is decided line by line, knowing nothing of MIME: a run of
//! lines made only of base64 characters, at least `min_hole` bytes long. A header or a
//! boundary line has a `:`, a `-` or a space in it and ends a run; mail-parser then
//! finds the placeholder where the run was, inside the part it belonged to.

use std::io::{self, Read};
use std::ops::Range;

/// What stands in the skeleton for a hole: one valid base64 quantum.
pub const PLACEHOLDER: &[u8] = b"AAAA\r\n";

/// The longest line that can be part of a hole (RFC 5322 allows 998 characters).
const MAX_LINE: usize = 1000;

/// A run of base64 lines left in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// Where its placeholder starts in the skeleton.
    pub at: usize,
    /// Its bytes in the file.
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Default)]
pub struct Skeleton {
    pub bytes: Vec<u8>,
    /// In file order (and so in skeleton order).
    pub holes: Vec<Hole>,
    /// The file's length.
    pub file_len: u64,
}

/// Whether a line (without its line break) could be part of a base64 body.
fn base64_line(line: &[u8]) -> bool {
    // Every byte judged without stopping early, which the compiler turns into vector code.
    let outside = line.iter().fold(0u8, |acc, &b| {
        let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        acc | u8::from(!(alpha | digit | (b == b'+') | (b == b'/') | (b == b'=')))
    });
    !line.is_empty() && line.len() <= MAX_LINE && outside == 0
}

struct Builder {
    sk: Skeleton,
    min_hole: usize,
    max_len: usize,
    /// The current line, while it is short enough to be part of a hole.
    line: Vec<u8>,
    /// The current line is too long for a hole; its bytes went to the skeleton already.
    long_line: bool,
    /// The run of base64 lines so far, held until it is long enough to be a hole.
    run: Vec<u8>,
    /// File offset where the run began, and whether it is a hole already.
    run_start: u64,
    in_hole: bool,
    /// File offset of the next byte.
    offset: u64,
}

impl Builder {
    fn emit(&mut self, bytes: &[u8]) -> bool {
        self.sk.bytes.extend_from_slice(bytes);
        self.sk.bytes.len() <= self.max_len
    }

    /// Ends the run of base64 lines before the line starting at `self.offset`.
    fn end_run(&mut self, at: u64) -> bool {
        let ok = if self.in_hole {
            self.sk.holes.push(Hole { at: self.sk.bytes.len(), start: self.run_start, end: at });
            self.emit(PLACEHOLDER)
        } else {
            let run = std::mem::take(&mut self.run);
            let ok = self.emit(&run);
            self.run = run;
            ok
        };
        self.run.clear();
        self.in_hole = false;
        ok
    }

    /// A whole line (with its line break) that fitted in `self.line`.
    fn line_done(&mut self, line_start: u64) -> bool {
        let line = std::mem::take(&mut self.line);
        let content = line.strip_suffix(b"\n").map_or(&line[..], |l| l.strip_suffix(b"\r").unwrap_or(l));
        let ok = if base64_line(content) {
            if self.run.is_empty() && !self.in_hole {
                self.run_start = line_start;
            }
            if !self.in_hole {
                self.run.extend_from_slice(&line);
                if self.run.len() >= self.min_hole {
                    self.in_hole = true;
                    self.run = Vec::new();
                }
            }
            true
        } else {
            self.end_run(line_start) && self.emit(&line)
        };
        self.line = line;
        self.line.clear();
        ok
    }

    fn feed(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() {
            let newline = chunk.iter().position(|&b| b == b'\n');
            let take = newline.map_or(chunk.len(), |i| i + 1);
            let (piece, rest) = chunk.split_at(take);
            let line_start = self.offset - self.line.len() as u64;
            self.offset += take as u64;
            if self.long_line {
                if !self.emit(piece) {
                    return false;
                }
            } else {
                self.line.extend_from_slice(piece);
                if self.line.len() > MAX_LINE + 2 {
                    // Too long to be base64: it ends any run and goes to the skeleton.
                    let line = std::mem::take(&mut self.line);
                    if !(self.end_run(line_start) && self.emit(&line)) {
                        return false;
                    }
                    self.long_line = true;
                } else if newline.is_some() && !self.line_done(line_start) {
                    return false;
                }
            }
            if newline.is_some() {
                self.long_line = false;
            }
            chunk = rest;
        }
        true
    }
}

/// Reads a message from `r`, leaving runs of base64 lines of at least `min_hole`
/// bytes in the file. None when what remains would exceed `max_len` bytes.
pub fn build(mut r: impl Read, min_hole: usize, max_len: usize) -> io::Result<Option<Skeleton>> {
    let mut b = Builder { sk: Skeleton::default(), min_hole, max_len, line: Vec::new(), long_line: false, run: Vec::new(), run_start: 0, in_hole: false, offset: 0 };
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if !b.feed(&buf[..n]) {
            return Ok(None);
        }
    }
    // A last line without a line break.
    if !b.line.is_empty() && !b.long_line && !b.line_done(b.offset - b.line.len() as u64) {
        return Ok(None);
    }
    if !b.end_run(b.offset) {
        return Ok(None);
    }
    b.sk.file_len = b.offset;
    Ok(Some(b.sk))
}

/// `build` for a message already in memory, with the same holes: lines found with
/// `memchr` and judged in place, nothing copied but the skeleton. Hole offsets are
/// offsets in `raw`.
pub fn build_in(raw: &[u8], min_hole: usize, max_len: usize) -> Option<Skeleton> {
    let mut sk = Skeleton { file_len: raw.len() as u64, ..Skeleton::default() };
    // Where the current run of base64 lines began.
    let mut run: Option<usize> = None;
    let end_run = |sk: &mut Skeleton, run: &mut Option<usize>, at: usize| {
        if let Some(start) = run.take() {
            if at - start >= min_hole {
                sk.holes.push(Hole { at: sk.bytes.len(), start: start as u64, end: at as u64 });
                sk.bytes.extend_from_slice(PLACEHOLDER);
            } else {
                sk.bytes.extend_from_slice(&raw[start..at]);
            }
        }
    };
    let mut at = 0;
    while at < raw.len() {
        let end = memchr::memchr(b'\n', &raw[at..]).map_or(raw.len(), |i| at + i + 1);
        let line = &raw[at..end];
        let content = line.strip_suffix(b"\n").map_or(line, |l| l.strip_suffix(b"\r").unwrap_or(l));
        if base64_line(content) {
            run.get_or_insert(at);
        } else {
            end_run(&mut sk, &mut run, at);
            sk.bytes.extend_from_slice(line);
        }
        at = end;
    }
    end_run(&mut sk, &mut run, raw.len());
    (sk.bytes.len() <= max_len).then_some(sk)
}

/// One stretch of a part's body: bytes of the skeleton, or bytes left in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Skeleton(Range<usize>),
    File(Range<u64>),
}

impl Skeleton {
    /// The body at `range` of the skeleton, with the placeholders in it put back as
    /// the file ranges they stand for. None when no hole is in it.
    pub fn segments(&self, range: Range<usize>) -> Option<Vec<Segment>> {
        let first = self.holes.partition_point(|h| h.at < range.start);
        // A placeholder whose line break falls after the body (before a boundary) is in it.
        let inside: Vec<&Hole> = self.holes[first..].iter().take_while(|h| h.at < range.end).collect();
        if inside.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        let mut pos = range.start;
        for h in inside {
            if h.at > pos {
                out.push(Segment::Skeleton(pos..h.at));
            }
            out.push(Segment::File(h.start..h.end));
            pos = h.at + PLACEHOLDER.len();
        }
        if pos < range.end {
            out.push(Segment::Skeleton(pos..range.end));
        }
        Some(out)
    }
}

impl Skeleton {
    /// The same skeleton with only the holes `keep` chooses; the others get their text
    /// back from `raw` (the message the holes are in).
    pub fn keeping(&self, raw: &[u8], keep: &dyn Fn(&Hole) -> bool) -> Skeleton {
        let mut out = Skeleton { file_len: self.file_len, ..Skeleton::default() };
        let mut pos = 0;
        for h in &self.holes {
            out.bytes.extend_from_slice(&self.bytes[pos..h.at]);
            if keep(h) {
                out.holes.push(Hole { at: out.bytes.len(), ..h.clone() });
                out.bytes.extend_from_slice(PLACEHOLDER);
            } else {
                out.bytes.extend_from_slice(&raw[h.start as usize..h.end as usize]);
            }
            pos = h.at + PLACEHOLDER.len();
        }
        out.bytes.extend_from_slice(&self.bytes[pos..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(lines: usize) -> String {
        (0..lines).map(|i| format!("{:0>76}\r\n", i)).collect()
    }

    fn rebuilt(raw: &[u8], sk: &Skeleton) -> Vec<u8> {
        let mut out = Vec::new();
        for s in sk.segments(0..sk.bytes.len()).unwrap_or_else(|| vec![Segment::Skeleton(0..sk.bytes.len())]) {
            match s {
                Segment::Skeleton(r) => out.extend_from_slice(&sk.bytes[r]),
                Segment::File(r) => out.extend_from_slice(&raw[r.start as usize..r.end as usize]),
            }
        }
        out
    }

    #[test]
    fn a_long_base64_body_stays_in_the_file_and_the_rest_is_kept() {
        let head = "From: a@b.c\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        let raw = format!("{head}{}--b--\r\n", body(2000));
        let sk = build(raw.as_bytes(), 64 << 10, 1 << 20).unwrap().unwrap();
        assert_eq!(sk.holes.len(), 1);
        assert_eq!(sk.bytes, format!("{head}AAAA\r\n--b--\r\n").into_bytes());
        assert_eq!(sk.holes[0].start as usize, head.len());
        assert_eq!(sk.holes[0].end as usize, raw.len() - "--b--\r\n".len());
        assert_eq!(rebuilt(raw.as_bytes(), &sk), raw.as_bytes(), "the segments give back the message byte for byte");
        assert_eq!(sk.file_len as usize, raw.len());
    }

    #[test]
    fn a_body_that_ends_before_the_placeholders_line_break_still_has_its_hole() {
        let raw = format!("Subject: x\r\n\r\n{}--b--\r\n", body(2000));
        let sk = build(raw.as_bytes(), 64 << 10, 1 << 20).unwrap().unwrap();
        let at = sk.holes[0].at;
        let (start, end) = (sk.holes[0].start, sk.holes[0].end);
        assert_eq!(sk.segments(at..at + 4), Some(vec![Segment::File(start..end)]));
        assert_eq!(sk.segments(0..at), None);
    }

    #[test]
    fn short_runs_and_other_lines_stay_in_the_skeleton() {
        let raw = format!("Subject: x\n\n{}a line: with a colon\n{}", body(10), "x".repeat(5000));
        let sk = build(raw.as_bytes(), 64 << 10, 1 << 20).unwrap().unwrap();
        assert!(sk.holes.is_empty());
        assert_eq!(sk.bytes, raw.as_bytes());
    }

    #[test]
    fn the_skeleton_is_bounded() {
        // One line of 2 MiB with no break: not base64 lines, so it cannot be left out.
        let raw = format!("Subject: x\n\n{}", "y".repeat(2 << 20));
        assert!(build(raw.as_bytes(), 64 << 10, 1 << 20).unwrap().is_none());
        // The same bytes as base64 lines are a hole.
        let raw = format!("Subject: x\n\n{}", body(30_000));
        let sk = build(raw.as_bytes(), 64 << 10, 1 << 20).unwrap().unwrap();
        assert_eq!(sk.bytes.len(), "Subject: x\n\n".len() + PLACEHOLDER.len());
    }

    #[test]
    fn a_message_in_memory_gets_the_same_skeleton_as_read_from_a_file() {
        let head = "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        let long_line = "Q".repeat(MAX_LINE + 1);
        let messages = [
            format!("{head}{}--b--\r\n", body(2000)),
            format!("Subject: x\r\n\r\n{}--b--\r\n", body(2000)),
            format!("Subject: x\n\n{}a line: with a colon\n{}", body(10), "x".repeat(5000)),
            format!("Subject: x\n\n{}\n--b\n{}", body(1000), body(3)),
            format!("{head}{}{long_line}\r\n{}\r\n--b\r\n{}", body(900), body(900), body(899)),
            format!("{head}{}", body(1500).trim_end()),
            format!("{head}{}\r\n\r\n{}\r\n", body(1000), "@".repeat(3000)),
            format!("{}{}", "x".repeat(10), "\n".repeat(20_000)),
            String::new(),
        ];
        for raw in &messages {
            for (min_hole, max_len) in [(10_000, 1 << 20), (64 << 10, 1 << 20), (10_000, 100)] {
                let file = build(raw.as_bytes(), min_hole, max_len).unwrap();
                let memory = build_in(raw.as_bytes(), min_hole, max_len);
                assert_eq!(memory.as_ref().map(|s| (&s.bytes, &s.holes, s.file_len)), file.as_ref().map(|s| (&s.bytes, &s.holes, s.file_len)), "{} bytes, holes from {min_hole}", raw.len());
                if let Some(sk) = memory {
                    assert_eq!(rebuilt(raw.as_bytes(), &sk), raw.as_bytes());
                }
            }
        }
    }

    #[test]
    fn lines_of_base64_characters_only_can_be_holes() {
        assert!(base64_line(b"QUJDRA==") && base64_line(b"azAZ09+/"));
        for b in 0..=255u8 {
            let ok = b.is_ascii_alphanumeric() || b"+/=".contains(&b);
            assert_eq!(base64_line(&[b'Q', b, b'Q']), ok, "byte {b}");
        }
        assert!(!base64_line(b"") && !base64_line("Q".repeat(MAX_LINE + 1).as_bytes()));
    }

    #[test]
    fn read_in_any_chunking_the_result_is_the_same() {
        let raw = format!("Subject: x\n\n{}\n--b\n{}", body(1000), body(3));
        let whole = build(raw.as_bytes(), 10_000, 1 << 20).unwrap().unwrap();
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for step in [1, 7, 77, 4096] {
            let sk = build(Dribble(raw.as_bytes(), step), 10_000, 1 << 20).unwrap().unwrap();
            assert_eq!((sk.bytes.clone(), sk.holes.clone()), (whole.bytes.clone(), whole.holes.clone()), "read {step} bytes at a time");
            assert_eq!(rebuilt(raw.as_bytes(), &sk), raw.as_bytes());
        }
    }
}
