//! Safe names: what an archive entry or attachment may be called inside the store
//! and the browsable tree (no control characters, nothing Windows refuses, not too long).

/// A path inside an archive, split into components, or `None` when it tries to leave
/// the archive (`../`, an absolute path, a drive letter).
pub fn split_entry_path(decoded: &str) -> Option<Vec<String>> {
    let unified = decoded.replace('\\', "/");
    if unified.starts_with('/') || has_drive_letter(&unified) {
        return None;
    }
    let mut out = Vec::new();
    for c in unified.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => out.push(c.to_string()),
        }
    }
    Some(out)
}

fn has_drive_letter(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Longest name kept, in characters (extension included).
pub const MAX_NAME_CHARS: usize = 120;
/// And in UTF-8 bytes: Linux file systems allow 255, and a clash suffix needs room.
pub const MAX_NAME_BYTES: usize = 200;

/// One path component made safe. Returns the name and whether it had to change.
pub fn sanitize(name: &str) -> (String, bool) {
    let mut s: String = name
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = s.trim().trim_end_matches(['.', ' ']).to_string();
    s = trimmed;
    if s.is_empty() || s.chars().all(|c| c == '_' || c == '.') {
        s = format!("未命名{s}");
    }
    let stem = s.split('.').next().unwrap_or("").trim().to_ascii_uppercase();
    if RESERVED.contains(&stem.as_str()) {
        s = format!("_{s}");
    }
    if s.chars().count() > MAX_NAME_CHARS || s.len() > MAX_NAME_BYTES {
        let ext = extension(&s).map(|e| format!(".{e}")).unwrap_or_default();
        let mut stem: String = s.chars().take(MAX_NAME_CHARS.saturating_sub(ext.chars().count())).collect();
        while stem.len() + ext.len() > MAX_NAME_BYTES {
            stem.pop();
        }
        s = stem + &ext;
    }
    let changed = s != name;
    (s, changed)
}

/// The lower-cased extension, if short and plain.
pub fn extension(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric())).then(|| ext.to_ascii_lowercase())
}

/// "x.zip" → "x".
pub fn stem(name: &str) -> &str {
    match (name.rsplit_once('.'), extension(name)) {
        (Some((s, _)), Some(_)) if !s.is_empty() => s,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused() {
        for bad in ["../etc/passwd", "a/../../b", "/etc/shadow", "C:\\Windows\\x.jpg", "c:/x", "..\\..\\x"] {
            assert_eq!(split_entry_path(bad), None, "{bad}");
        }
        assert_eq!(split_entry_path("①党建\\活动/1.jpg").unwrap(), ["①党建", "活动", "1.jpg"]);
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(sanitize("CON.jpg").0, "_CON.jpg");
        assert_eq!(sanitize("com1").0, "_com1");
        assert_eq!(sanitize("a\u{0}b\u{7}.jpg"), ("a_b_.jpg".to_string(), true));
        assert_eq!(sanitize("正常.jpg"), ("正常.jpg".to_string(), false));
        let long = "长".repeat(300) + ".jpg";
        let (s, changed) = sanitize(&long);
        assert!(changed);
        assert!(s.len() <= MAX_NAME_BYTES, "{} bytes", s.len());
        assert!(s.ends_with(".jpg"));
        let ascii = "x".repeat(300) + ".jpg";
        assert_eq!(sanitize(&ascii).0.chars().count(), MAX_NAME_CHARS);
        assert_eq!(sanitize("..").0, "未命名");
    }
}
