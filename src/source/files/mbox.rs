//! Splitting an mbox into messages: only on real From_ lines (`From `, a sender, an
//! asctime date), skipping exactly `Content-Length` body bytes where that header is
//! right (mboxcl2), and undoing `>From ` quoting (mboxrd) otherwise.

use std::ops::Range;

/// A From_ line longer than this is a body line (an address and a date fit in 120).
const MAX_FROM_LINE: usize = 1000;

/// One message inside an mbox: its bytes (after its From_ line, without the blank
/// separator line) and whether its length came from `Content-Length` (then nothing
/// in it was quoted, and it is taken byte for byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub range: Range<usize>,
    pub by_length: bool,
}

/// Splits `bytes` (a whole mbox, starting with its first From_ line) into messages, in
/// one pass: each line is looked at a bounded number of times. The first line opens
/// the first message even when its date is odd; after that only real From_ lines split.
pub fn split(bytes: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    if !bytes.starts_with(b"From ") {
        return out;
    }
    let mut open: Option<usize> = None;
    let mut pos = 0;
    while pos < bytes.len() {
        let next = line_end(bytes, pos);
        let line = &bytes[pos..next];
        if pos == 0 || is_from_line(line) {
            if let Some(start) = open.take() {
                out.push(Span { range: start..trim_separator(bytes, start, pos), by_length: false });
            }
            if let Some(end) = length_end(bytes, next) {
                out.push(Span { range: next..end, by_length: true });
                pos = skip_blank_lines(bytes, end);
                continue;
            }
            open = Some(next);
        }
        pos = next;
    }
    if let Some(start) = open {
        out.push(Span { range: start..trim_separator(bytes, start, bytes.len()), by_length: false });
    }
    out
}

/// A message's bytes as they were before they went into the mbox: one `>` taken off
/// every `>From ` line (mboxrd), unless its length was given.
pub fn message(bytes: &[u8], span: &Span) -> Vec<u8> {
    let raw = &bytes[span.range.clone()];
    if span.by_length {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let quoted = line.iter().position(|&b| b != b'>').is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
        out.extend_from_slice(if quoted { &line[1..] } else { line });
    }
    out
}

/// Whether `line` (its line end included or not) separates messages: `From `, a
/// sender (an address, `MAILER-DAEMON`, `-`: anything before the weekday), then an
/// asctime date `Mon Jan  1 00:00:00 2024`, with or without seconds, with up to two
/// time zone words (`+0800`, `CST`) before or after the year, and an optional UUCP
/// `remote from host`.
pub fn is_from_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else { return false };
    if rest.len() > MAX_FROM_LINE {
        return false;
    }
    let tokens: Vec<&[u8]> = rest.split(|b| b.is_ascii_whitespace()).filter(|t| !t.is_empty()).collect();
    (1..tokens.len()).any(|k| is_asctime(&tokens[k..]))
}

fn is_asctime(t: &[&[u8]]) -> bool {
    const DAYS: [&[u8]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
    const MONTHS: [&[u8]; 12] = [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];
    let word = |w: &[u8], list: &[&[u8]]| list.iter().any(|x| w.eq_ignore_ascii_case(x));
    if t.len() < 5 || !word(t[0], &DAYS) || !word(t[1], &MONTHS) {
        return false;
    }
    let day_ok = t[2].len() <= 2 && t[2].iter().all(u8::is_ascii_digit) && (1..=31).contains(&number(t[2]));
    if !day_ok || !is_time(t[3]) {
        return false;
    }
    let (mut years, mut zones) = (0, 0);
    let mut i = 4;
    while i < t.len() {
        let w = t[i];
        if w.len() == 4 && w.iter().all(u8::is_ascii_digit) {
            years += 1;
        } else if is_zone(w) {
            zones += 1;
        } else if w.eq_ignore_ascii_case(b"remote") && i + 3 == t.len() && t[i + 1].eq_ignore_ascii_case(b"from") {
            break;
        } else {
            return false;
        }
        i += 1;
    }
    years == 1 && zones <= 2
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// `hh:mm` or `hh:mm:ss`.
fn is_time(w: &[u8]) -> bool {
    let fields: Vec<&[u8]> = w.split(|&b| b == b':').collect();
    let two = |f: &[u8]| f.len() == 2 && f.iter().all(u8::is_ascii_digit);
    matches!(fields.len(), 2 | 3)
        && fields.iter().all(|f| two(f))
        && number(fields[0]) < 24
        && number(fields[1]) < 60
        && fields.get(2).is_none_or(|s| number(s) < 61)
}

/// `+0800`, `-0500`, or a zone's letters (`CST`, `UTC`, `GMT`).
fn is_zone(w: &[u8]) -> bool {
    let numeric = w.len() == 5 && matches!(w[0], b'+' | b'-') && w[1..].iter().all(u8::is_ascii_digit);
    let letters = (1..=5).contains(&w.len()) && w.iter().all(u8::is_ascii_alphabetic);
    numeric || letters
}

/// Where the line starting at `pos` ends (after its `\n`, or at the end).
fn line_end(bytes: &[u8], pos: usize) -> usize {
    bytes[pos..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| pos + i + 1)
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

fn skip_blank_lines(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && is_blank(&bytes[pos..line_end(bytes, pos)]) {
        pos = line_end(bytes, pos);
    }
    pos
}

/// `end`, less the one blank line a writer puts before the next From_ line.
fn trim_separator(bytes: &[u8], start: usize, end: usize) -> usize {
    let body = &bytes[start..end];
    if body.ends_with(b"\r\n\r\n") {
        end - 2
    } else if body.ends_with(b"\n\n") {
        end - 1
    } else {
        end
    }
}

/// Where a message starting at `start` ends by its `Content-Length`, when it has one
/// and it is right: the body it counts ends at the end of the file, or at blank lines
/// and a From_ line. Only the header lines are read (they end at the first line that
/// is neither a header nor a continuation), so a missing blank line cannot make this
/// read on to the end of the file.
fn length_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    let mut length: Option<usize> = None;
    loop {
        if pos >= bytes.len() {
            return None;
        }
        let next = line_end(bytes, pos);
        let line = &bytes[pos..next];
        if is_blank(line) {
            pos = next;
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        let colon = line.iter().take(200).position(|&b| b == b':');
        let header = colon.is_some_and(|c| c > 0 && line[..c].iter().all(|b| b.is_ascii_graphic()));
        if !continuation && !header {
            return None;
        }
        if let (true, Some(c)) = (header, colon) {
            if length.is_none() && line[..c].eq_ignore_ascii_case(b"content-length") {
                let value = String::from_utf8_lossy(&line[c + 1..]).trim().to_string();
                length = Some(value.parse().ok()?);
            }
        }
        pos = next;
    }
    let end = pos.checked_add(length?)?;
    if end > bytes.len() {
        return None;
    }
    let after = skip_blank_lines(bytes, end);
    (after == bytes.len() || is_from_line(&bytes[after..line_end(bytes, after)])).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(mbox: &[u8]) -> Vec<String> {
        split(mbox).iter().map(|s| String::from_utf8(message(mbox, s)).unwrap()).collect()
    }

    #[test]
    fn from_lines_seen_in_the_wild() {
        for l in [
            "From a@b.c Mon Jan  1 00:00:00 2024",
            "From a@b.c Mon Jan 1 00:00:00 2024\n",
            "From MAILER-DAEMON Fri Mar 22 09:15:02 2024\r\n",
            "From - Tue Mar 19 10:00:00 2024",
            "From 1790000000000000000@xxx Thu Mar 14 08:34:51 +0000 2024",
            "From a@b.c  Tue Mar 19 10:00 2024",
            "From a@b.c Tue Mar 19 10:00:00 CST 2024",
            "From a@b.c Tue Mar 19 10:00:00 2024 +0800",
            "From uucp!host Tue Mar 19 10:00:00 2024 remote from relay",
        ] {
            assert!(is_from_line(l.as_bytes()), "{l}");
        }
        for l in [
            "From here on, the photos are sorted by month.",
            "From Mon Jan  1 00:00:00 2024",
            "From a@b.c Mon Jan 32 00:00:00 2024",
            "From a@b.c Mon Jan 1 25:00:00 2024",
            "From a@b.c Mon Jan 1 00:00:00",
            "From a@b.c Mon Jan 1 00:00:00 2024 and more words",
            "from a@b.c Mon Jan 1 00:00:00 2024",
            ">From a@b.c Mon Jan 1 00:00:00 2024",
        ] {
            assert!(!is_from_line(l.as_bytes()), "{l}");
        }
    }

    #[test]
    fn body_lines_starting_with_from_do_not_split() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nhello\n\nFrom here on, photos.\n\nFrom b@c Mon Jan  1 00:00:01 2024\nSubject: 2\n\nx\n";
        assert_eq!(messages(mbox), ["Subject: 1\n\nhello\n\nFrom here on, photos.\n", "Subject: 2\n\nx\n"]);
    }

    #[test]
    fn mboxrd_quoting_is_undone_one_level() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\r\nSubject: 1\r\n\r\n>From a@b Mon Jan  1 00:00:00 2024\r\n>>From here\r\n\r\nFrom b@c Mon Jan  1 00:00:01 2024\r\nSubject: 2\r\n\r\nx\r\n";
        assert_eq!(messages(mbox), ["Subject: 1\r\n\r\nFrom a@b Mon Jan  1 00:00:00 2024\r\n>From here\r\n", "Subject: 2\r\n\r\nx\r\n"]);
    }

    #[test]
    fn content_length_is_respected_when_right() {
        let body = "From x@y Mon Jan  1 00:00:00 2024\n>From kept as is\n";
        let mbox = format!("From a@b Mon Jan  1 00:00:00 2024\nContent-Length: {}\nSubject: 1\n\n{body}\nFrom b@c Mon Jan  1 00:00:01 2024\nSubject: 2\n\nx\n", body.len());
        let got = messages(mbox.as_bytes());
        assert_eq!(got, [format!("Content-Length: {}\nSubject: 1\n\n{body}", body.len()), "Subject: 2\n\nx\n".to_string()]);
        // A wrong length (it would end mid-line) is ignored, and From_ lines split.
        let wrong = mbox.replacen(&format!("Content-Length: {}", body.len()), "Content-Length: 7", 1);
        assert_eq!(messages(wrong.as_bytes()).len(), 3);
        // A length past the end is ignored too.
        let past = mbox.replacen(&format!("Content-Length: {}", body.len()), "Content-Length: 99999999999", 1);
        assert_eq!(messages(past.as_bytes()).len(), 3);
    }

    #[test]
    fn not_an_mbox_and_degenerate_input() {
        assert!(split(b"Subject: x\n\nFrom a@b Mon Jan  1 00:00:00 2024\n").is_empty());
        assert_eq!(split(b"From "), [Span { range: 5..5, by_length: false }]);
        assert_eq!(messages(b"From odd first line\nSubject: 1\n\nx"), ["Subject: 1\n\nx"]);
    }

    /// Lines that look like headers with no blank line, and From_ lines with a
    /// Content-Length each: every line is still read a bounded number of times.
    #[test]
    fn hostile_shapes_split_in_linear_time() {
        let unit = b"From a@b Mon Jan  1 00:00:00 2024\nContent-Length: 5\nX-A: b\n";
        let mbox = unit.repeat(40_000);
        let started = std::time::Instant::now();
        assert_eq!(split(&mbox).len(), 40_000);
        let mut headers = b"From a@b Mon Jan  1 00:00:00 2024\n".to_vec();
        headers.extend(b"X-Long: value\n".repeat(200_000));
        assert_eq!(split(&headers).len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
