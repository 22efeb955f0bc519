//! Modified UTF-7 (RFC 3501 §5.1.3), the encoding of IMAP folder names:
//! QQ's 其他文件夹 is `&UXZO1mWHTvZZOQ-`.

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
            let bytes = crate::parse::header::base64_lenient(b64.replace(',', "/").as_bytes());
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

#[cfg(test)]
mod tests {
    #[test]
    fn qq_folder_names() {
        assert_eq!(super::decode("&UXZO1mWHTvZZOQ-"), "其他文件夹");
        assert_eq!(super::decode("&UXZO1mWHTvZZOQ-/&W6NPIGdQZZk-"), "其他文件夹/宣传材料");
        assert_eq!(super::decode("INBOX"), "INBOX");
        assert_eq!(super::decode("Tom &- Jerry"), "Tom & Jerry");
    }
}
