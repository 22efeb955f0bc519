//! Pure: the receiving server's own `Authentication-Results` header (RFC 8601), read
//! from the top of the raw message. Only the **topmost** such header of the message is
//! looked at, and it counts only when its authserv-id is one we trust (`mx.qq.com`):
//! QQ's inbound server puts its header above everything the sender wrote, so a forger
//! can add one below it (or under another authserv-id) but never above it. Headers of
//! body parts (a forwarded message) are never read: the header block ends at the
//! first empty line.

/// The authserv-ids whose results we take: QQ Mail's inbound servers, which receive
/// the office's mailbox.
pub const TRUSTED: &[&str] = &["mx.qq.com"];

/// One `method=result` of the header, with its properties (`smtp.mailfrom=…`,
/// `header.from=…`) and what its comment said (`(p=QUARANTINE dis=NONE)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Method {
    pub method: String,
    pub result: String,
    pub props: Vec<(String, String)>,
    pub comment: String,
}

impl Method {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The DMARC policy a `dmarc=` result's comment names (`p=QUARANTINE`), lower case.
    pub fn policy(&self) -> Option<String> {
        self.comment
            .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
            .find_map(|w| w.strip_prefix("p=").or_else(|| w.strip_prefix("P=")))
            .map(|p| p.to_ascii_lowercase())
            .filter(|p| !p.is_empty())
    }
}

/// A parsed `Authentication-Results` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResults {
    pub authserv_id: String,
    pub methods: Vec<Method>,
}

impl AuthResults {
    /// The first result of `method` (`spf`, `dkim`, `dmarc`).
    pub fn method(&self, method: &str) -> Option<&Method> {
        self.methods.iter().find(|m| m.method.eq_ignore_ascii_case(method))
    }
}

/// The topmost `Authentication-Results` header of `raw`, parsed, when its authserv-id
/// is trusted; `None` when there is none, it is someone else's, or it cannot be read.
pub fn trusted(raw: &[u8]) -> Option<AuthResults> {
    let value = topmost(raw, "authentication-results")?;
    let parsed = parse(&value)?;
    TRUSTED.iter().any(|t| parsed.authserv_id.eq_ignore_ascii_case(t)).then_some(parsed)
}

/// The unfolded value of the first header field called `name` (lower case) in the
/// message's own header block.
pub fn topmost(raw: &[u8], name: &str) -> Option<String> {
    let mut fields = Fields { raw, at: 0 };
    while let Some((n, v)) = fields.next_field() {
        if n.eq_ignore_ascii_case(name.as_bytes()) {
            return Some(String::from_utf8_lossy(&v).into_owned());
        }
    }
    None
}

/// The header fields of the message's own header block, one at a time.
struct Fields<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Fields<'_> {
    /// The next field: (name, unfolded value); `None` at the empty line or the end.
    fn next_field(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        loop {
            let rest = self.raw.get(self.at..)?;
            let end = line_end(rest);
            let line = &rest[..end];
            if trim_eol(line).is_empty() {
                return None; // the empty line: the body starts
            }
            self.at += end;
            let line = trim_eol(line);
            // A continuation line with no field before it, or a line without a colon,
            // is not a field: skipped.
            if line[0] == b' ' || line[0] == b'\t' {
                continue;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
            let name = line[..colon].trim_ascii().to_vec();
            let mut value = line[colon + 1..].to_vec();
            while let Some(next) = self.raw.get(self.at..).filter(|r| matches!(r.first(), Some(b' ' | b'\t'))) {
                let end = line_end(next);
                value.push(b' ');
                value.extend_from_slice(trim_eol(&next[..end]).trim_ascii());
                self.at += end;
            }
            return Some((name, value));
        }
    }
}

fn line_end(s: &[u8]) -> usize {
    s.iter().position(|&b| b == b'\n').map_or(s.len(), |i| i + 1)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses a header value: `authserv-id [version] ; method=result prop=value … ; …`.
/// Comments in parentheses (nested) are kept with the method they follow; quoted
/// strings are unquoted. `None` when there is no authserv-id.
pub fn parse(value: &str) -> Option<AuthResults> {
    let tokens = tokens(value);
    let mut parts = tokens.split(|t| *t == Token::Semi);
    let head = parts.next()?;
    let authserv_id = head.iter().find_map(|t| match t {
        Token::Word(w) => Some(w.clone()),
        _ => None,
    })?;
    let mut methods = Vec::new();
    for part in parts {
        let mut m = Method::default();
        for t in part {
            match t {
                Token::Comment(c) => {
                    if !m.comment.is_empty() {
                        m.comment.push(' ');
                    }
                    m.comment.push_str(c);
                }
                Token::Word(w) => match w.split_once('=') {
                    Some((k, v)) if m.method.is_empty() => {
                        m.method = k.split('/').next().unwrap_or(k).trim().to_ascii_lowercase();
                        m.result = v.trim().to_ascii_lowercase();
                    }
                    Some((k, v)) => m.props.push((k.trim().to_ascii_lowercase(), v.trim().to_string())),
                    None if m.method.is_empty() && w.eq_ignore_ascii_case("none") => m.method = "none".into(),
                    None => {}
                },
                Token::Semi => {}
            }
        }
        if !m.method.is_empty() && m.method != "none" {
            methods.push(m);
        }
    }
    Some(AuthResults { authserv_id, methods })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Comment(String),
    Semi,
}

/// Words (a quoted string is part of the word it is in), comments and semicolons.
/// Nesting of comments is bounded by the header's length; an unclosed comment or
/// quote runs to the end.
fn tokens(value: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = value.chars().peekable();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ';' => {
                flush(&mut word, &mut out);
                out.push(Token::Semi);
            }
            '(' => {
                flush(&mut word, &mut out);
                let mut depth = 1usize;
                let mut comment = String::new();
                for c in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                    comment.push(c);
                }
                out.push(Token::Comment(comment.trim().to_string()));
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        c => word.push(c),
                    }
                }
            }
            c if c.is_whitespace() => {
                // `a = b` is one word: spaces around `=` are not separators.
                if chars.peek() == Some(&'=') || word.ends_with('=') {
                    continue;
                }
                flush(&mut word, &mut out);
            }
            '=' => {
                word.push('=');
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const QQ: &str = "Authentication-Results: mx.qq.com; spf=pass smtp.mailfrom=tkpcs@qq.com;\r\n\tdkim=pass header.d=qq.com header.s=s201512;\r\n\tdmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=qq.com\r\n";

    #[test]
    fn reads_qq_s_header() {
        let raw = format!("{QQ}From: tkpcs@qq.com\r\nSubject: x\r\n\r\nbody\r\n");
        let r = trusted(raw.as_bytes()).expect("trusted");
        assert_eq!(r.authserv_id, "mx.qq.com");
        assert_eq!(r.method("spf").unwrap().result, "pass");
        assert_eq!(r.method("spf").unwrap().prop("smtp.mailfrom"), Some("tkpcs@qq.com"));
        let dmarc = r.method("dmarc").unwrap();
        assert_eq!((dmarc.result.as_str(), dmarc.prop("header.from")), ("pass", Some("qq.com")));
        assert_eq!(dmarc.policy().as_deref(), Some("quarantine"));
        assert_eq!(r.method("dkim").unwrap().prop("header.s"), Some("s201512"));
    }

    #[test]
    fn only_the_topmost_header_counts() {
        // A forged header below the real one is never read.
        let forged = "Authentication-Results: mx.qq.com; spf=pass; dmarc=pass header.from=qq.com\r\n";
        let real = "Authentication-Results: mx.qq.com; spf=fail smtp.mailfrom=evil.test; dmarc=fail (p=quarantine) header.from=qq.com\r\n";
        let raw = format!("{real}Received: from x\r\n{forged}From: a@qq.com\r\n\r\n");
        assert_eq!(trusted(raw.as_bytes()).unwrap().method("dmarc").unwrap().result, "fail");
        // The topmost is someone else's: nothing is trusted, not even a lower mx.qq.com one.
        let other = "Authentication-Results: mail.evil.test; dmarc=pass header.from=qq.com\r\n";
        let raw = format!("{other}{forged}From: a@qq.com\r\n\r\n");
        assert_eq!(trusted(raw.as_bytes()), None);
        // One in a body part (a forwarded message) is no header of the message.
        let raw = format!("From: a@qq.com\r\nContent-Type: message/rfc822\r\n\r\n{forged}From: b@qq.com\r\n\r\nx");
        assert_eq!(trusted(raw.as_bytes()), None);
        // A look-alike authserv-id is someone else's.
        let raw = "Authentication-Results: mx.qq.com.evil.test; dmarc=pass\r\nFrom: a@qq.com\r\n\r\n";
        assert_eq!(trusted(raw.as_bytes()), None);
    }

    #[test]
    fn header_names_are_matched_whole_and_in_any_case() {
        let raw = "X-Authentication-Results: mx.qq.com; dmarc=pass\r\nauthentication-results:mx.qq.com;dmarc=fail\r\n\r\n";
        assert_eq!(trusted(raw.as_bytes()).unwrap().method("dmarc").unwrap().result, "fail");
    }

    #[test]
    fn odd_forms_parse_or_are_refused_quietly() {
        assert_eq!(parse("mx.qq.com 1; none").unwrap().methods, vec![]);
        let r = parse("mx.qq.com; spf = pass (sender (nested) ok) smtp.mailfrom = \"a b\"@qq.com ; dkim/1=fail reason=\"bad sig\"").unwrap();
        assert_eq!(r.method("spf").unwrap().comment, "sender (nested) ok");
        assert_eq!(r.method("spf").unwrap().prop("smtp.mailfrom"), Some("a b@qq.com"));
        assert_eq!(r.method("dkim").unwrap().result, "fail");
        assert_eq!(r.method("dkim").unwrap().prop("reason"), Some("bad sig"));
        assert_eq!(parse(""), None);
        assert_eq!(parse(";;;"), None);
        assert!(parse("mx.qq.com; (unclosed dmarc=pass").unwrap().methods.is_empty());
        assert_eq!(parse("mx.qq.com; \"unclosed").unwrap().methods, vec![]);
        // Bytes that are not UTF-8, lines without a colon, a body with no header block.
        assert_eq!(trusted(b"\xff\xfe: x\r\nno colon here\r\n\r\n"), None);
        assert_eq!(trusted(b""), None);
        assert_eq!(trusted(b"\r\nAuthentication-Results: mx.qq.com; dmarc=pass\r\n"), None);
    }
}
