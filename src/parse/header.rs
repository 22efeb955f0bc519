//! Decoding Chinese header text where mail-parser 0.11.9 gets it wrong: GB18030-family
//! encoded words (joined before decoding, so a character split across two words
//! survives), RFC 2047 words inside quoted parameters, RFC 2231 continuations in GBK,
//! and raw 8-bit GBK.

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Text decoded from header bytes, and whether an unknown charset label was met.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    pub text: String,
    pub unknown_charset: bool,
}

/// The encoding for a charset label; gb2312 and gbk are read as GB18030, their superset.
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_matches('"');
    let label = label.split('*').next().unwrap_or(label); // RFC 2231 language suffix
    match label.to_ascii_lowercase().as_str() {
        "gb2312" | "gbk" | "gb18030" | "x-gbk" | "cp936" | "euc-cn" | "gb_2312-80" | "x-gb2312" => Some(GB18030),
        other => Encoding::for_label(other.as_bytes()),
    }
}

/// Bytes with no declared charset: UTF-8 when they are valid UTF-8, else GB18030.
pub fn decode_unlabelled(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

fn decode_labelled(bytes: &[u8], label: &str) -> Decoded {
    match encoding_for(label) {
        Some(enc) if enc == UTF_8 => Decoded { text: decode_unlabelled(bytes), unknown_charset: false },
        Some(enc) => Decoded { text: enc.decode_without_bom_handling(bytes).0.into_owned(), unknown_charset: false },
        None => Decoded { text: decode_unlabelled(bytes), unknown_charset: true },
    }
}

enum Segment {
    Literal(Vec<u8>),
    Word { charset: String, bytes: Vec<u8> },
}

/// Decodes header text that may hold RFC 2047 encoded words and raw 8-bit bytes.
pub fn decode_text(raw: &[u8]) -> Decoded {
    let raw = unfold(raw);
    let mut segments: Vec<Segment> = Vec::new();
    let mut i = 0;
    let mut literal = Vec::new();
    while i < raw.len() {
        if raw[i..].starts_with(b"=?") {
            if let Some((charset, bytes, used)) = encoded_word(&raw[i..]) {
                let only_space = literal.iter().all(|b: &u8| b.is_ascii_whitespace());
                let after_word = matches!(segments.last(), Some(Segment::Word { .. }));
                if !(only_space && after_word) && !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                literal.clear();
                match segments.last_mut() {
                    Some(Segment::Word { charset: c, bytes: b }) if c.eq_ignore_ascii_case(&charset) => b.extend(bytes),
                    _ => segments.push(Segment::Word { charset, bytes }),
                }
                i += used;
                continue;
            }
        }
        literal.push(raw[i]);
        i += 1;
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    let mut out = Decoded::default();
    for s in segments {
        match s {
            Segment::Literal(b) => out.text.push_str(&decode_unlabelled(&b)),
            Segment::Word { charset, bytes } => {
                let d = decode_labelled(&bytes, &charset);
                out.unknown_charset |= d.unknown_charset;
                out.text.push_str(&d.text);
            }
        }
    }
    out
}

fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' | b'\n' => {
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let start = out.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(out.len());
    let end = out.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    out[start..end].to_vec()
}

/// The longest charset label taken (with an RFC 2231 language suffix, labels are short).
const MAX_CHARSET: usize = 64;

/// `=?charset?B|Q?text?=` at the start of `s`: (charset, decoded bytes, bytes used).
/// Encoded text holds no `?` and no white space (RFC 2047), so each scan here stops at
/// the next `?`: a failed word costs only the bytes up to it, never the rest of the
/// header, and decoding a header is linear in its length.
fn encoded_word(s: &[u8]) -> Option<(String, Vec<u8>, usize)> {
    let body = s.get(2..)?;
    let q1 = body.iter().take(MAX_CHARSET + 1).position(|&b| b == b'?')?;
    let charset = std::str::from_utf8(&body[..q1]).ok()?;
    if charset.is_empty() || charset.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let enc = *body.get(q1 + 1)?;
    if body.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_len = body[text_start..].iter().position(|&b| b == b'?' || b.is_ascii_whitespace())?;
    if body.get(text_start + text_len..text_start + text_len + 2) != Some(b"?=") {
        return None;
    }
    let text = &body[text_start..text_start + text_len];
    let bytes = match enc.to_ascii_uppercase() {
        b'B' => base64_lenient(text),
        b'Q' => q_decode(text),
        _ => return None,
    };
    Some((charset.to_string(), bytes, 2 + text_start + text_len + 2))
}

/// Base64 that skips what is not in the alphabet and tolerates missing padding.
pub fn base64_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < text.len() && hex_pair(text[i + 1], text[i + 2]).is_some() => {
                out.extend(hex_pair(text[i + 1], text[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16);
    Some((h(a)? * 16 + h(b)?) as u8)
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let Some(b) = hex_pair(s[i + 1], s[i + 2]) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Splits `value; a=b; c="d"` into lower-cased names and raw (unquoted) values.
fn split_params(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let raw = unfold(raw);
    let mut out = Vec::new();
    let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
    let mut quoted = false;
    let mut escaped = false;
    for &b in &raw {
        if escaped {
            parts.last_mut().map(|p| p.push(b));
            escaped = false;
            continue;
        }
        match b {
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => parts.push(Vec::new()),
            _ => {
                if let Some(p) = parts.last_mut() {
                    p.push(b)
                }
            }
        }
    }
    for p in parts.into_iter().skip(1) {
        if let Some(eq) = p.iter().position(|&b| b == b'=') {
            let name = String::from_utf8_lossy(&p[..eq]).trim().to_ascii_lowercase();
            let value = unfold(&p[eq + 1..]);
            out.push((name, value));
        }
    }
    out
}

/// A parameter's decoded value (`filename`, `name`), handling RFC 2231 (with
/// continuations and a charset on the first segment) and RFC 2047 inside quotes.
pub fn param(raw_header_value: &[u8], wanted: &str) -> Option<Decoded> {
    let params = split_params(raw_header_value);
    // RFC 2231: name*=cs'lang'val, or name*0*=cs'lang'val; name*1*=…; name*1=…
    let mut pieces: Vec<(u32, bool, Vec<u8>)> = Vec::new();
    for (name, value) in &params {
        let Some(rest) = name.strip_prefix(wanted).and_then(|r| r.strip_prefix('*')) else { continue };
        let (index, extended) = if rest.is_empty() {
            (0, true)
        } else {
            let extended = rest.ends_with('*');
            let Ok(n) = rest.trim_end_matches('*').parse::<u32>() else { continue };
            (n, extended)
        };
        pieces.push((index, extended, value.clone()));
    }
    if !pieces.is_empty() {
        pieces.sort_by_key(|p| p.0);
        let mut charset = String::new();
        let mut bytes = Vec::new();
        for (i, (_, extended, value)) in pieces.iter().enumerate() {
            let mut v: &[u8] = value;
            if i == 0 && *extended {
                let mut fields = value.splitn(3, |&b| b == b'\'');
                let (cs, _lang, val) = (fields.next(), fields.next(), fields.next());
                if let (Some(cs), Some(val)) = (cs, val) {
                    charset = String::from_utf8_lossy(cs).to_string();
                    v = val;
                }
            }
            if *extended { bytes.extend(percent_decode(v)) } else { bytes.extend_from_slice(v) }
        }
        return Some(if charset.is_empty() { decode_text(&bytes) } else { decode_labelled(&bytes, &charset) });
    }
    params.iter().find(|(n, _)| n == wanted).map(|(_, v)| decode_text(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn gb18030_and_gb2312_words() {
        let w = format!("=?GB18030?B?{}?=", b64(&gbk("嘎鲁图派出所3月素材")));
        assert_eq!(decode_text(w.as_bytes()).text, "嘎鲁图派出所3月素材");
        let q: String = gbk("党建").iter().map(|b| format!("={b:02X}")).collect();
        assert_eq!(decode_text(format!("=?gb2312?Q?{q}?=").as_bytes()).text, "党建");
    }

    #[test]
    fn word_split_mid_character_is_joined() {
        let bytes = gbk("图克派出所");
        let (a, b) = bytes.split_at(3); // inside the second character
        let raw = format!("=?gbk?B?{}?=\r\n =?gbk?B?{}?=", b64(a), b64(b));
        let d = decode_text(raw.as_bytes());
        assert_eq!(d.text, "图克派出所");
        assert!(!d.unknown_charset);
    }

    #[test]
    fn raw_8bit_gbk() {
        assert_eq!(decode_text(&gbk("无定河派出所3月份")).text, "无定河派出所3月份");
        assert_eq!(decode_text("已是UTF-8".as_bytes()).text, "已是UTF-8");
    }

    #[test]
    fn encoded_words_inside_quoted_filename() {
        let name = gbk("①党建 活动.zip");
        let (a, b) = name.split_at(4);
        let raw = format!("attachment; filename=\"=?gb18030?B?{}?= =?gb18030?B?{}?=\"", b64(a), b64(b));
        assert_eq!(param(raw.as_bytes(), "filename").unwrap().text, "①党建 活动.zip");
    }

    #[test]
    fn rfc2231_gbk_with_continuations() {
        let pct: String = gbk("嘎鲁图派出所三月.zip").iter().map(|b| format!("%{b:02X}")).collect();
        let (a, b) = pct.split_at(18);
        let raw = format!("attachment;\r\n filename*0*=gbk''{a};\r\n filename*1*={b}");
        assert_eq!(param(raw.as_bytes(), "filename").unwrap().text, "嘎鲁图派出所三月.zip");
        let single = format!("attachment; filename*=GBK''{pct}");
        assert_eq!(param(single.as_bytes(), "filename").unwrap().text, "嘎鲁图派出所三月.zip");
        let plain_cont = "attachment; filename*0=\"IMG_\"; filename*1=\"0001.jpg\"";
        assert_eq!(param(plain_cont.as_bytes(), "filename").unwrap().text, "IMG_0001.jpg");
    }

    /// Failed encoded words used to scan to the end of the header for `?=`: 1 MB of
    /// them took 19 s and 3 MB did not finish. Each shape here is 3 MB.
    #[test]
    fn hostile_headers_decode_in_linear_time() {
        let shapes: [&[u8]; 5] = [b"=?x?Q? ", b"=?x?Q?a", b"=?", b"=?gbk?B?", b"=?x?Q?a?"];
        for shape in shapes {
            let raw = shape.repeat(3_000_000 / shape.len());
            let started = std::time::Instant::now();
            let d = decode_text(&raw);
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?} took {:?}", String::from_utf8_lossy(shape), started.elapsed());
            assert!(!d.text.is_empty());
            let quoted = [b"attachment; filename=\"".as_slice(), &raw, b"\""].concat();
            let started = std::time::Instant::now();
            assert!(param(&quoted, "filename").is_some());
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "filename {:?}", String::from_utf8_lossy(shape));
        }
        // Valid words right after a run of broken ones still decode.
        let mut raw = b"=?x?Q? ".repeat(1000);
        raw.extend(b"=?utf-8?B?5Zu+?=");
        assert!(decode_text(&raw).text.ends_with('图'));
    }

    #[test]
    fn unknown_charset_is_noted_and_text_kept() {
        let d = decode_text(b"=?x-klingon?B?YWJj?=");
        assert_eq!(d.text, "abc");
        assert!(d.unknown_charset);
    }
}
