//! One raw message parsed: mail-parser for the MIME structure and bodies, with the
//! Subject and attachment names re-read from the raw bytes by `parse::header`,
//! because mail-parser 0.11.9 mangles several Chinese encodings (see that module).

pub mod header;

use mail_parser::{HeaderName, Message, MessageParser, MessagePart, MimeHeaders};

/// What the rest of the pipeline needs to know about a message's envelope.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub message_id: String,
    pub from: String,
    pub subject: String,
    /// The date of the topmost `Received:` header, else `Date:` (Unix seconds).
    pub header_received_at: Option<i64>,
    pub unknown_charset: bool,
}

pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(raw)
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
    // received() is the last Received field; the topmost is the first in order.
    let received = msg.received_all().next().and_then(|r| r.date.as_ref()).map(|d| d.to_timestamp());
    Envelope {
        message_id: msg.message_id().unwrap_or_default().trim().to_string(),
        from,
        subject: subject.text.trim().to_string(),
        header_received_at: received.or_else(|| msg.date().map(|d| d.to_timestamp())),
        unknown_charset: subject.unknown_charset,
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
        assert_eq!(e.header_received_at, Some(1710813600));
    }

    #[test]
    fn topmost_received_wins_over_date() {
        let raw = b"Received: from a by b; Wed, 20 Mar 2024 09:00:00 +0800\r\nReceived: from c by d; Wed, 20 Mar 2024 08:00:00 +0800\r\nDate: Tue, 19 Mar 2024 10:00:00 +0800\r\nFrom: a@b.c\r\n\r\nx\r\n";
        let e = envelope(&parse(raw).unwrap());
        assert_eq!(e.header_received_at, Some(1710896400));
    }
}
