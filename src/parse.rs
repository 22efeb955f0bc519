//! One raw message parsed: mail-parser for the MIME structure and bodies, with the
//! Subject and attachment names re-read from the raw bytes by `parse::header`,
//! because mail-parser 0.11.9 mangles several Chinese encodings (see that module).

pub mod base64;
pub mod header;
pub mod mail;
pub mod skeleton;

use mail_parser::{HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::cycle::Stamp;

/// What the rest of the pipeline needs to know about a message's envelope.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub message_id: String,
    pub from: String,
    /// The From display name, as decoded ('' when none): a clue to the author.
    pub from_name: String,
    pub subject: String,
    /// The date of the topmost `Received:` header.
    pub received_header: Stamp,
    /// The `Date:` header.
    pub date_header: Stamp,
    pub unknown_charset: bool,
}

/// The parsed message, or None when `raw` is not a mail message at all (then the
/// whole message is recorded `unparseable`).
pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    if !has_header_block(raw) {
        return None;
    }
    MessageParser::default().parse(raw)
}

/// The longest field name taken (RFC 5322 sets none; real ones are under 80).
const MAX_FIELD_NAME: usize = 200;

/// Whether `raw` opens with an RFC 5322 header block: its first line is a field
/// (`Name: value`, the name printable ASCII without a colon) or an mbox From_ line,
/// and no NUL byte comes before the first blank line. mail-parser takes any bytes as
/// a body without headers, so binary garbage used to become correspondence.
pub fn has_header_block(raw: &[u8]) -> bool {
    let start = raw.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(raw.len());
    let raw = &raw[start..];
    let first_line = &raw[..raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len())];
    let colon = first_line.iter().take(MAX_FIELD_NAME + 1).position(|&b| b == b':');
    let field = colon.is_some_and(|c| c > 0 && first_line[..c].iter().all(|b| (33..=126).contains(b)));
    if !field && !first_line.starts_with(b"From ") {
        return false;
    }
    let header_end = raw.windows(2).position(|w| w == b"\n\n" || w == b"\n\r").unwrap_or(raw.len());
    !raw[..header_end].contains(&0)
}

/// How a base64 body reads, judged from its raw text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64State {
    /// Whole quanta (padded where the data ends short), white space aside.
    Intact,
    /// Cut in the middle of a 4-character quantum, without the padding it needs.
    Truncated,
    /// Characters outside the alphabet, or data inside a padded quantum.
    Broken,
}

const ALPHABET: u8 = 0;
const PAD: u8 = 1;
const SPACE: u8 = 2;
const OTHER: u8 = 3;

/// What each byte is in a base64 body.
static B64_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            ALPHABET
        } else if b == b'=' {
            PAD
        } else if b == b' ' || b == b'\t' || b == b'\r' || b == b'\n' {
            SPACE
        } else {
            OTHER
        };
        c += 1;
    }
    t
};

/// One character of a base64 body: the quantum position and padding state after it,
/// or None when the body is broken there.
fn step(c: u8, q: u8, padded: bool) -> Option<(u8, bool)> {
    match B64_CLASS[usize::from(c)] {
        ALPHABET if !padded => Some(((q + 1) & 3, false)),
        // A stray `=` after whole quanta is skipped, as mail-parser does.
        PAD if q == 0 && !padded => Some((q, padded)),
        PAD if q >= 2 => {
            let q = (q + 1) & 3;
            Some((q, q != 0))
        }
        SPACE => Some((q, padded)),
        _ => None,
    }
}

/// A base64 body's raw text without what follows its data: trailing white space, and
/// a last line that begins with `--` (a closing boundary that lost its end).
pub fn base64_data(body: &[u8]) -> &[u8] {
    let trimmed = body.trim_ascii_end();
    let last_line = trimmed.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if trimmed[last_line..].trim_ascii_start().starts_with(b"--") { &trimmed[..last_line] } else { trimmed }
}

/// Reads a base64 body's raw text (as it stands in the message, line breaks and all)
/// in one pass. A last line that begins with `--` is a closing boundary that lost its
/// end and is not data.
pub fn base64_state(body: &[u8]) -> Base64State {
    let data = base64_data(body);
    // Characters seen in the current quantum, and whether it has begun its padding.
    let (mut q, mut padded) = (0u8, false);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        // Eight alphabet characters leave the quantum where it was: the common case
        // (76-character lines) needs no state at all.
        if !padded && chunk.iter().all(|&c| B64_CLASS[usize::from(c)] == ALPHABET) {
            continue;
        }
        for &c in chunk {
            match step(c, q, padded) {
                Some(next) => (q, padded) = next,
                None => return Base64State::Broken,
            }
        }
    }
    for &c in chunks.remainder() {
        match step(c, q, padded) {
            Some(next) => (q, padded) = next,
            None => return Base64State::Broken,
        }
    }
    if padded {
        // `xx=` with its last `=` missing: cut.
        return Base64State::Truncated;
    }
    if q == 0 { Base64State::Intact } else { Base64State::Truncated }
}

/// What a part declared `Content-Transfer-Encoding: base64` holds, from its raw body.
#[derive(Debug)]
pub enum Base64Part {
    /// As mail-parser decoded it.
    AsParsed,
    /// mail-parser gave up (the closing boundary is missing, so the body ran to the end
    /// of the message), but the body is whole: decoded here.
    Recovered(mail_parser::PartType<'static>),
    /// Truncated or broken: refused `broken_base64`, whatever mail-parser made of it.
    Refused(Base64State),
}

/// None when `part` is not declared base64 (or is a container).
pub fn base64_part(part: &MessagePart<'_>, raw: &[u8]) -> Option<Base64Part> {
    if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
        return None;
    }
    let cte = raw_header(part, raw, &HeaderName::ContentTransferEncoding)?;
    if !String::from_utf8_lossy(cte).trim().eq_ignore_ascii_case("base64") {
        return None;
    }
    let body = raw.get(part.raw_body_offset() as usize..part.raw_end_offset() as usize).unwrap_or_default();
    match base64_state(body) {
        Base64State::Intact if part.is_encoding_problem => Some(Base64Part::Recovered(recovered(part, body))),
        Base64State::Intact => Some(Base64Part::AsParsed),
        bad => Some(Base64Part::Refused(bad)),
    }
}

/// The part's body decoded as mail-parser would have: text and HTML bodies (not
/// attachments) as text in their declared charset, everything else as bytes.
fn recovered(part: &MessagePart<'_>, body: &[u8]) -> PartType<'static> {
    let bytes = header::base64_lenient(body);
    let ct = part.content_type();
    let is_type = |t: &str, s: &str| ct.is_some_and(|c| c.c_type.eq_ignore_ascii_case(t) && c.subtype().is_some_and(|x| x.eq_ignore_ascii_case(s)));
    let attachment = part.content_disposition().is_some_and(|d| d.is_attachment()) || part.attachment_name().is_some();
    if attachment || !(is_type("text", "plain") || is_type("text", "html")) {
        return PartType::Binary(bytes.into());
    }
    let text = match ct.and_then(|c| c.attribute("charset")).and_then(header::encoding_for) {
        Some(enc) => enc.decode_without_bom_handling(&bytes).0.into_owned(),
        None => header::decode_unlabelled(&bytes),
    };
    if is_type("text", "html") { PartType::Html(text.into()) } else { PartType::Text(text.into()) }
}

pub fn envelope(msg: &Message<'_>) -> Envelope {
    let raw = msg.raw_message();
    let root = msg.root_part();
    let subject = raw_header(root, raw, &HeaderName::Subject)
        .map(header::decode_text)
        .filter(|d| !d.text.is_empty())
        .unwrap_or_else(|| header::Decoded { text: msg.subject().unwrap_or_default().to_string(), unknown_charset: false });
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .unwrap_or_default();
    let from_name = msg.from().and_then(|a| a.first()).and_then(|a| a.name()).map(|n| n.trim().to_string()).unwrap_or_default();
    // received() is the last Received field; the topmost is the first in order.
    let received_header = msg.received_all().next().and_then(|r| r.date.as_ref()).map_or(Stamp::Absent, stamp);
    // A Date header that mail-parser cannot read at all is unreadable, not absent.
    let date_header = match msg.date() {
        Some(d) => stamp(d),
        None if root.headers.iter().any(|h| h.name == HeaderName::Date) => Stamp::Unreadable,
        None => Stamp::Absent,
    };
    Envelope {
        message_id: msg.message_id().unwrap_or_default().trim().to_string(),
        from,
        from_name,
        subject: subject.text.trim().to_string(),
        received_header,
        date_header,
        unknown_charset: subject.unknown_charset,
    }
}

/// mail-parser reads "-001" or month 0 out of a garbled date; such a date is unreadable.
fn stamp(d: &mail_parser::DateTime) -> Stamp {
    if d.is_valid() { Stamp::At(d.to_timestamp()) } else { Stamp::Unreadable }
}

impl Envelope {
    /// When the message was received, by `cycle::receipt_time`: `internal` is the
    /// IMAP INTERNALDATE, if the message came from IMAP. True: a date was passed over.
    pub fn receipt_time(&self, internal: Option<i64>, now: i64) -> (i64, bool) {
        let internal = internal.map_or(Stamp::Absent, Stamp::At);
        crate::cycle::receipt_time(&[internal, self.received_header, self.date_header], now)
    }
}

/// The raw bytes of one header's value in `part`, sliced from the message it lives in.
pub fn raw_header<'a>(part: &MessagePart<'_>, raw: &'a [u8], name: &HeaderName<'_>) -> Option<&'a [u8]> {
    let h = part.headers.iter().find(|h| &h.name == name)?;
    raw.get(h.offset_start as usize..h.offset_end as usize)
}

/// A part's file name, decoded the Chinese-aware way: Content-Disposition `filename`
/// first, then Content-Type `name`.
pub fn part_name(part: &MessagePart<'_>, raw: &[u8]) -> Option<header::Decoded> {
    let from = |hn: HeaderName<'static>, p: &str| raw_header(part, raw, &hn).and_then(|v| header::param(v, p));
    from(HeaderName::ContentDisposition, "filename")
        .or_else(|| from(HeaderName::ContentType, "name"))
        .filter(|d| !d.text.trim().is_empty())
        .or_else(|| part.attachment_name().map(|n| header::Decoded { text: n.to_string(), unknown_charset: false }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_gbk_subject_survives_mail_parser() {
        let mut raw = b"From: a@b.c\r\nSubject: ".to_vec();
        raw.extend(encoding_rs::GB18030.encode("嘎鲁图派出所3月宣传素材").0.iter());
        raw.extend(b"\r\nMessage-ID: <x@y>\r\nDate: Tue, 19 Mar 2024 10:00:00 +0800\r\n\r\nbody\r\n");
        let m = parse(&raw).unwrap();
        let e = envelope(&m);
        assert_eq!(e.subject, "嘎鲁图派出所3月宣传素材");
        assert_eq!(e.message_id, "x@y");
        assert_eq!(e.date_header, Stamp::At(1710813600));
    }

    fn b64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
            }
        }
        out.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned() + "\r\n").collect()
    }

    /// A two-part mail whose second part is `body`, declared base64, then `tail`.
    fn mail_with(body: &str, tail: &str) -> Vec<u8> {
        format!(
            "From: a@b.c\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nhi\r\n--BB\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"a.jpg\"\r\n\r\n{body}{tail}"
        )
        .into_bytes()
    }

    fn verdict(raw: &[u8]) -> Base64Part {
        let m = parse(raw).unwrap();
        let part = m.parts.iter().find(|p| p.attachment_name() == Some("a.jpg")).expect("the attachment part");
        base64_part(part, m.raw_message()).expect("declared base64")
    }

    #[test]
    fn base64_states() {
        assert_eq!(base64_state(b"QUJD\r\nREVG\r\n"), Base64State::Intact);
        assert_eq!(base64_state(b"QUI=\r\n"), Base64State::Intact);
        assert_eq!(base64_state(b"QQ==\r\n\r\n------=_NextPart_cut"), Base64State::Intact);
        assert_eq!(base64_state(b""), Base64State::Intact);
        assert_eq!(base64_state(b"QUJD\r\nRE"), Base64State::Truncated);
        assert_eq!(base64_state(b"QUJDR"), Base64State::Truncated);
        assert_eq!(base64_state(b"QUI"), Base64State::Truncated);
        assert_eq!(base64_state(b"QQ="), Base64State::Truncated);
        assert_eq!(base64_state(b"QUJD!!"), Base64State::Broken);
        assert_eq!(base64_state(b"QQ==QUJD"), Base64State::Intact, "concatenated padded runs");
        assert_eq!(base64_state(b"QQ=A"), Base64State::Broken);
        assert_eq!(base64_state(b"Q=="), Base64State::Broken);
    }

    #[test]
    fn missing_closing_boundary_keeps_an_intact_file() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        // Cut inside the closing boundary, or without it: mail-parser gives up, and the
        // body is decoded here.
        for tail in ["", "\r\n", "\r\n\r\n   \r\n", "\r\n--B"] {
            match verdict(&mail_with(&b64(&data), tail)) {
                Base64Part::Recovered(PartType::Binary(b)) => assert_eq!(&b[..], &data[..], "tail {tail:?}"),
                other => panic!("tail {tail:?}: {other:?}"),
            }
        }
        // A delimiter, with or without part of its final `--`, still ends the part for
        // mail-parser; so does the whole closing boundary.
        for tail in ["\r\n--BB", "\r\n--BB-", "\r\n--BB--\r\n"] {
            let raw = mail_with(&b64(&data), tail);
            let m = parse(&raw).unwrap();
            let part = m.parts.iter().find(|p| p.attachment_name() == Some("a.jpg")).unwrap();
            assert!(matches!(base64_part(part, m.raw_message()), Some(Base64Part::AsParsed)), "tail {tail:?}");
            assert_eq!(part.contents(), &data[..], "tail {tail:?}");
        }
    }

    #[test]
    fn truncated_base64_is_refused_with_or_without_boundary() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let full = b64(&data);
        let cut = &full[..full.len() / 2 + 1]; // mid-line, mid-quantum
        assert!(matches!(verdict(&mail_with(cut, "\r\n--BB--\r\n")), Base64Part::Refused(Base64State::Truncated)));
        assert!(matches!(verdict(&mail_with(cut, "")), Base64Part::Refused(Base64State::Truncated)));
        assert!(matches!(verdict(&mail_with("/9j/4AAQ!!!!@@@@####\r\n", "--BB--\r\n")), Base64Part::Refused(Base64State::Broken)));
    }

    #[test]
    fn binary_garbage_is_not_a_message() {
        let mut x = 0x2545_f491_u32;
        let garbage: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert!(parse(&garbage).is_none());
        assert!(parse(b"\x00\x01\x02").is_none());
        assert!(parse(b"just some words\r\nand more\r\n").is_none());
        assert!(parse(b"Subject: a\x00b\r\n\r\nbody").is_none(), "NUL in the header block");
        assert!(parse(b"Subject: a\r\n\r\nbody \x00 with NUL").is_some());
        assert!(parse(b"\r\nSubject: a\r\n\r\nbody").is_some());
        assert!(parse(b"X-Mailer: x\nSubject: a\n\nbody").is_some());
    }

    #[test]
    fn topmost_received_wins_over_date() {
        let raw = b"Received: from a by b; Wed, 20 Mar 2024 09:00:00 +0800\r\nReceived: from c by d; Wed, 20 Mar 2024 08:00:00 +0800\r\nDate: Tue, 19 Mar 2024 10:00:00 +0800\r\nFrom: a@b.c\r\n\r\nx\r\n";
        let e = envelope(&parse(raw).unwrap());
        assert_eq!(e.receipt_time(None, 1_711_000_000), (1710896400, false));
    }

    #[test]
    fn impossible_dates_are_passed_over() {
        let now = 1_711_000_000;
        let with = |headers: &str| envelope(&parse(format!("{headers}From: a@b.c\r\nSubject: x\r\n\r\nx\r\n").as_bytes()).unwrap());
        let e = with("Date: Thu, 01 Jan 1970 08:00:00 +0800\r\n");
        assert_eq!(e.receipt_time(None, now), (now, true));
        let e = with("Date: Sat, 19 Mar 2099 10:00:00 +0800\r\n");
        assert_eq!(e.receipt_time(None, now), (now, true));
        let e = with("Date: 2024年3月19日 上午10点\r\n");
        assert_eq!(e.receipt_time(None, now), (now, true), "{:?}", e.date_header);
        let e = with("Date: -1 Mar -1 10:00:00\r\n");
        assert_eq!(e.receipt_time(None, now), (now, true), "{:?}", e.date_header);
        let e = with("Received: from a by b; Mon, 01 Jan 2125 00:00:00 +0800\r\nDate: Tue, 19 Mar 2024 10:00:00 +0800\r\n");
        assert_eq!(e.receipt_time(None, now), (1710813600, true));
        assert_eq!(e.receipt_time(Some(1710900000), now), (1710900000, false), "INTERNALDATE first");
        let e = with("");
        assert_eq!(e.receipt_time(None, now), (now, false), "no date at all is not a bad date");
    }
}
