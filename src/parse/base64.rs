//! Base64 decoded as it streams in, for bodies left in the spool file
//! (`parse::skeleton`): the same reading as `base64_state` (white space skipped, a
//! stray `=` between quanta skipped, nothing after padding inside a quantum) and the
//! same bytes as mail-parser, but in pieces, so a 300 MiB body needs only a buffer.

use super::{Base64State, step};

#[derive(Debug, Default)]
pub struct Decoder {
    /// Characters of the current quantum, and whether its padding has begun.
    q: u8,
    padded: bool,
    acc: u32,
    bits: u32,
    broken: bool,
}

/// Characters gathered before the `base64` crate decodes them (a multiple of 4).
const BATCH: usize = 16 << 10;

fn value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

impl Decoder {
    /// Decodes `text`, appending to `out`. After a broken character nothing more is
    /// decoded (the body is refused anyway). Between quanta, whole lines are decoded
    /// many at a time (`lines`); the rest character by character (`chars`), which is
    /// the reference: the fast path gives the same bytes or leaves the text to it.
    pub fn feed(&mut self, mut text: &[u8], out: &mut Vec<u8>) {
        out.reserve(text.len() / 4 * 3 + 3);
        while !text.is_empty() && !self.broken {
            if self.between_quanta() {
                let rest = self.lines(text, out);
                if rest.len() < text.len() {
                    text = rest;
                    continue;
                }
            }
            // Up to the end of the quantum (or of a line the fast path did not take).
            let upto = text.iter().position(|&c| c == b'\n').map_or(text.len(), |i| i + 1);
            self.chars(&text[..upto], out);
            text = &text[upto..];
        }
    }

    /// Nothing of a quantum read yet, nothing pending.
    fn between_quanta(&self) -> bool {
        !self.broken && self.q == 0 && !self.padded && self.bits == 0
    }

    /// The leading lines of `text` that hold whole quanta (a 76-character line holds
    /// 19), gathered without their line breaks and decoded by the `base64` crate,
    /// which is several times faster than a character at a time. Stops at the first
    /// line that is not whole quanta; a batch the crate refuses (a `=` inside it, a
    /// space, a stray character) is read by `chars` instead. Returns what is left.
    fn lines<'t>(&mut self, text: &'t [u8], out: &mut Vec<u8>) -> &'t [u8] {
        use base64::Engine as _;
        let mut gathered = [0u8; BATCH];
        let (mut n, mut batch_start, mut at) = (0, 0, 0);
        let flush = |d: &mut Decoder, n: usize, batch: &[u8], gathered: &[u8; BATCH], out: &mut Vec<u8>| {
            let before = out.len();
            if base64::engine::general_purpose::STANDARD.decode_vec(&gathered[..n], out).is_err() {
                out.truncate(before);
                d.chars(batch, out);
            }
        };
        while at < text.len() {
            let rest = &text[at..];
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let content = rest[..end].strip_suffix(b"\n").map_or(&rest[..end], |l| l.strip_suffix(b"\r").unwrap_or(l));
            if content.len() % 4 != 0 || content.len() > BATCH {
                break;
            }
            if n + content.len() > BATCH {
                flush(self, n, &text[batch_start..at], &gathered, out);
                (n, batch_start) = (0, at);
                if !self.between_quanta() {
                    return &text[at..];
                }
            }
            gathered[n..n + content.len()].copy_from_slice(content);
            n += content.len();
            at += end;
        }
        flush(self, n, &text[batch_start..at], &gathered, out);
        &text[at..]
    }

    /// One character at a time.
    fn chars(&mut self, text: &[u8], out: &mut Vec<u8>) {
        if self.broken {
            return;
        }
        for &c in text {
            match step(c, self.q, self.padded) {
                None => {
                    self.broken = true;
                    return;
                }
                Some((q, padded)) => {
                    if let Some(v) = value(c) {
                        self.acc = (self.acc << 6) | v;
                        self.bits += 6;
                        if self.bits >= 8 {
                            self.bits -= 8;
                            out.push((self.acc >> self.bits) as u8);
                            self.acc &= (1 << self.bits) - 1;
                        }
                    } else if c == b'=' && q == 0 {
                        // Padding done (or a stray `=`): leftover bits are not data.
                        self.acc = 0;
                        self.bits = 0;
                    }
                    (self.q, self.padded) = (q, padded);
                }
            }
        }
    }

    /// How the whole body read.
    pub fn finish(&self) -> Base64State {
        if self.broken {
            Base64State::Broken
        } else if self.padded || self.q != 0 {
            Base64State::Truncated
        } else {
            Base64State::Intact
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::base64_state;

    fn streamed(text: &[u8], step: usize) -> (Vec<u8>, Base64State) {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for chunk in text.chunks(step) {
            d.feed(chunk, &mut out);
        }
        (out, d.finish())
    }

    #[test]
    fn decodes_like_the_whole_body_in_any_pieces() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for len in [0, 1, 2, 3, 4, 100, 10_000] {
            let text = data[..len].chunks(57).map(|c| format!("{}\r\n", base64_encode(c))).collect::<String>();
            for step in [1, 3, 76, 4096] {
                assert_eq!(streamed(text.as_bytes(), step), (data[..len].to_vec(), Base64State::Intact), "{len} bytes fed {step} at a time");
            }
        }
    }

    #[test]
    fn judges_bodies_as_base64_state_does() {
        let cases: [(&str, &str); 9] =
            [("QUJD", "ABC"), ("QUJ", ""), ("QQ==", "A"), ("QQ=", ""), ("QQ==QUJD", "AABC"), ("QU=J", ""), ("QU*J", ""), ("=QUJD", "ABC"), ("QUJD\r\n=\r\n", "ABC")];
        for (text, decoded) in cases {
            let (out, state) = streamed(text.as_bytes(), 1);
            assert_eq!(state, base64_state(text.as_bytes()), "{text}");
            if state == Base64State::Intact {
                assert_eq!(String::from_utf8(out).unwrap(), decoded, "{text}");
            }
        }
    }

    /// Character by character only: the reference the fast path must match.
    fn reference(text: &[u8]) -> (Vec<u8>, Base64State) {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        d.chars(text, &mut out);
        (out, d.finish())
    }

    #[test]
    fn the_fast_path_gives_the_reference_bytes_for_any_text_in_any_pieces() {
        let data: Vec<u8> = (0..60_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let body = |width: usize, len: usize, brk: &str| -> String {
            let b = base64_encode(&data[..len]);
            b.as_bytes().chunks(width).map(|l| format!("{}{brk}", std::str::from_utf8(l).unwrap())).collect()
        };
        let mut texts: Vec<String> = vec![];
        for (width, brk) in [(76, "\r\n"), (76, "\n"), (72, "\r\n"), (78, "\r\n"), (60, "\n"), (20_000, "\r\n")] {
            for len in [0, 1, 2, 3, 57, 1000, 30_001, 60_000] {
                texts.push(body(width, len, brk));
            }
        }
        let good = body(76, 40_000, "\r\n");
        // Damage the fast path must leave to the reference: padding, spaces and strays
        // inside, a cut quantum, a line break cut between its two characters.
        for (at, what) in [(100, "="), (20_000, "QQ=="), (30_000, " "), (31_000, "*"), (39_999, ""), (50_000, "\r")] {
            let at = at.min(good.len());
            texts.push(format!("{}{what}{}", &good[..at], &good[at..]));
        }
        texts.push(format!("{good}QQ==\r\n"));
        texts.push(format!("QQ==\r\n{good}"));
        texts.push(format!("{}QR==\r\n", &good[..good.len() - 2]));
        texts.push(good[..good.len() - 3].to_string());
        for text in &texts {
            let want = reference(text.as_bytes());
            for step in [1, 5, 77, 4096, 1 << 20] {
                assert_eq!(streamed(text.as_bytes(), step), want, "{} characters fed {step} at a time", text.len());
            }
        }
        // And the fast path did decode: the clean body is whole.
        assert_eq!(streamed(good.as_bytes(), 1 << 20), (data[..40_000].to_vec(), Base64State::Intact));
    }

    fn base64_encode(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                s.push(if i <= c.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
            }
        }
        s
    }
}
