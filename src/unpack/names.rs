//! Safe names: what an archive entry or attachment may be called inside the store
//! and the browsable tree (no control or invisible characters, nothing Windows refuses,
//! not too long, and in the tree an extension that says what the content is).

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
/// Invisible characters (bidi controls such as U+202E, zero-width and other format
/// characters) are dropped: `照片\u{202E}gpj.exe` would show on Windows as `照片exe.jpg`.
pub fn sanitize(name: &str) -> (String, bool) {
    let mut s: String = name
        .chars()
        .filter(|&c| !is_invisible(c))
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

/// Characters that change how a name looks without being seen: Unicode's format
/// characters (general category Cf: bidi embeddings, overrides and isolates, zero-width
/// space and joiners, word joiner, BOM, soft hyphen, tags …), line and paragraph
/// separators, and blank fillers that render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            // Only the Cf one: the Mongolian variation selectors beside it shape real names here.
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// Extensions that fit content of this MIME type; the first is the one given to a
/// file whose name does not fit. `None` for a type inspection never admits.
pub fn extensions_for(mime: &str) -> Option<&'static [&'static str]> {
    Some(match mime {
        "image/jpeg" => &["jpg", "jpeg", "jpe", "jfif"],
        "image/png" => &["png"],
        "image/heic" => &["heic", "heif", "hif"],
        "image/heif" => &["heif", "heic", "hif"],
        "image/avif" => &["avif"],
        "image/webp" => &["webp"],
        "image/tiff" => &["tif", "tiff"],
        // One container family (ISO BMFF): every player opens each of these names.
        "video/mp4" => &["mp4", "m4v", "mov", "3gp", "3g2"],
        "video/quicktime" => &["mov", "qt", "mp4"],
        "video/x-m4v" => &["m4v", "mp4"],
        "video/3gpp" => &["3gp", "3g2", "mp4"],
        "video/x-msvideo" => &["avi"],
        "video/x-matroska" => &["mkv"],
        "application/pdf" => &["pdf"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => &["docx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => &["xlsx"],
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => &["pptx"],
        "application/vnd.oasis.opendocument.text" => &["odt"],
        "application/vnd.oasis.opendocument.spreadsheet" => &["ods"],
        "application/vnd.oasis.opendocument.presentation" => &["odp"],
        "application/msword" => &["doc"],
        _ => return None,
    })
}

/// The name a file gets in the browsable tree: `name` (already sanitized) with the
/// extension of what the content is, so that Windows opens it as that and nothing
/// else. `活动照片.hta` holding a JPEG becomes `活动照片.jpg`; `a.JPEG` stays; a name
/// without an extension gets one. A type this table does not know gets `.bin`, which
/// Windows never runs. Returns the name and whether it changed.
pub fn tree_name(name: &str, mime: &str) -> (String, bool) {
    let fits = extensions_for(mime);
    let ext = extension(name);
    if let (Some(fits), Some(ext)) = (fits, &ext) {
        if fits.contains(&ext.as_str()) {
            return (name.to_string(), false);
        }
    }
    let want = fits.map_or("bin", |f| f[0]);
    let mut stem: String = if ext.is_some() { stem(name).to_string() } else { name.to_string() };
    let stem_chars = MAX_NAME_CHARS - want.len() - 1;
    if stem.chars().count() > stem_chars {
        stem = stem.chars().take(stem_chars).collect();
    }
    while stem.len() + want.len() + 1 > MAX_NAME_BYTES {
        stem.pop();
    }
    (format!("{stem}.{want}"), true)
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

    #[test]
    fn invisible_characters_are_removed() {
        assert_eq!(sanitize("照片\u{202E}gpj.exe"), ("照片gpj.exe".to_string(), true));
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{2028}', '\u{E0041}'] {
            let name = format!("活动{c}照片.jpg");
            assert_eq!(sanitize(&name), ("活动照片.jpg".to_string(), true), "U+{:04X}", c as u32);
        }
        assert_eq!(sanitize("\u{202E}\u{200B}").0, "未命名");
        // Visible spaces stay, the ideographic one included.
        assert_eq!(sanitize("党建　活动 1.jpg"), ("党建　活动 1.jpg".to_string(), false));
    }

    #[test]
    fn tree_names_carry_the_extension_of_the_content() {
        let jpeg = "image/jpeg";
        for bad in ["hta", "exe", "scr", "lnk", "bat", "cmd", "js", "png"] {
            assert_eq!(tree_name(&format!("活动照片.{bad}"), jpeg), ("活动照片.jpg".to_string(), true), "{bad}");
        }
        assert_eq!(tree_name("活动照片.jpeg", jpeg), ("活动照片.jpeg".to_string(), false));
        assert_eq!(tree_name("活动照片.JPG", jpeg), ("活动照片.JPG".to_string(), false));
        assert_eq!(tree_name("活动照片", jpeg), ("活动照片.jpg".to_string(), true));
        assert_eq!(tree_name("照片gpj.exe", jpeg).0, "照片gpj.jpg");
        assert_eq!(tree_name("a.jpg.exe", jpeg).0, "a.jpg.jpg");
        assert_eq!(tree_name("clip.exe", "video/mp4").0, "clip.mp4");
        assert_eq!(tree_name("clip.mov", "video/mp4").0, "clip.mov");
        assert_eq!(tree_name("clip.scr", "video/quicktime").0, "clip.mov");
        assert_eq!(tree_name("图.hta", "image/png").0, "图.png");
        assert_eq!(tree_name("材料.exe", "application/pdf").0, "材料.pdf");
        assert_eq!(tree_name("材料.lnk", "application/vnd.openxmlformats-officedocument.wordprocessingml.document").0, "材料.docx");
        assert_eq!(tree_name("x.exe", "application/x-unknown").0, "x.bin");
        let long = sanitize(&("长".repeat(300) + ".exe")).0;
        let (t, _) = tree_name(&long, jpeg);
        assert!(t.len() <= MAX_NAME_BYTES && t.chars().count() <= MAX_NAME_CHARS && t.ends_with(".jpg"), "{t}");
    }
}
