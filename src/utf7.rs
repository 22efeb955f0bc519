//! Modified UTF-7 (RFC 3501 §5.1.3), the encoding of IMAP folder names:
//! QQ's 其他文件夹 is `&UXZO1mWHTvZZOQ-`. A pure codec and a leaf: the IMAP source
//! and the IMAP config both use it.

/// Modified base64: `,` where base64 has `/`.
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Decodes a folder name for people; undecodable runs are kept as they are.
pub fn decode(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(dash) = after.find('-') else {
            out.push_str(&rest[amp..]);
            return out;
        };
        let b64 = &after[..dash];
        if b64.is_empty() {
            out.push('&');
        } else {
            let bytes = unbase64(b64.as_bytes());
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            match String::from_utf16(&units) {
                Ok(s) => out.push_str(&s),
                Err(_) => out.push_str(&rest[amp..amp + 2 + dash]),
            }
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    out
}

/// Modified base64 without padding; what is not in the alphabet is skipped.
fn unbase64(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        if c == b'=' {
            break;
        }
        let Some(v) = B64.iter().position(|&b| b == c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Encodes a folder name for the server.
pub fn encode(name: &str) -> String {
    fn flush(units: &mut Vec<u16>, out: &mut String) {
        if units.is_empty() {
            return;
        }
        let bytes: Vec<u8> = units.drain(..).flat_map(u16::to_be_bytes).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out.push('-');
    }
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut units, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut units, &mut out);
    out
}

/// A configured folder name as the server wants it: names people write (Chinese,
/// or with a bare `&`) are encoded; a name already in modified UTF-7 (copied from a
/// server listing) is kept.
pub fn to_wire(name: &str) -> String {
    if name.is_ascii() && encode(&decode(name)) == name {
        name.to_string()
    } else {
        encode(name)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_what_it_decodes() {
        for (shown, wire) in [("其他文件夹", "&UXZO1mWHTvZZOQ-"), ("其他文件夹/宣传材料", "&UXZO1mWHTvZZOQ-/&W6NPIGdQZZk-"), ("INBOX", "INBOX"), ("Tom & Jerry", "Tom &- Jerry"), ("已报送", "&XfJipZAB-")] {
            assert_eq!(super::encode(shown), wire, "{shown}");
            assert_eq!(super::decode(wire), shown);
            assert_eq!(super::to_wire(shown), wire);
            assert_eq!(super::to_wire(wire), wire, "already encoded names are kept");
        }
        assert_eq!(super::to_wire("A&B"), "A&-B");
    }

    #[test]
    fn qq_folder_names() {
        assert_eq!(super::decode("&UXZO1mWHTvZZOQ-"), "其他文件夹");
        assert_eq!(super::decode("&UXZO1mWHTvZZOQ-/&W6NPIGdQZZk-"), "其他文件夹/宣传材料");
        assert_eq!(super::decode("INBOX"), "INBOX");
        assert_eq!(super::decode("Tom &- Jerry"), "Tom & Jerry");
    }
}
