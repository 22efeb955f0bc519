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
    /// decoded (the body is refused anyway).
    pub fn feed(&mut self, text: &[u8], out: &mut Vec<u8>) {
        if self.broken {
            return;
        }
        out.reserve(text.len() / 4 * 3 + 3);
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
