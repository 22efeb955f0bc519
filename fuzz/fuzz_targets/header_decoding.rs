//! Header decoding on arbitrary bytes: RFC 2047 text, RFC 2231 parameters, unlabelled
//! 8-bit names, and the same bytes as a part's Content-Disposition / Content-Type
//! reached through `parse::part_name`.
#![no_main]

use baosong::parse::{self, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = header::decode_text(data);
    let _ = header::decode_unlabelled(data);
    let _ = header::param(data, "filename");
    let _ = header::param(data, "name");
    let _ = header::base64_lenient(data);

    // The same value as the header of an attachment, read the way unpack reads it.
    for name in [&b"Content-Disposition: attachment; "[..], b"Content-Type: application/octet-stream; "] {
        let mut raw = b"From: a@b.c\r\nSubject: ".to_vec();
        raw.extend_from_slice(data);
        raw.extend_from_slice(b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n");
        raw.extend_from_slice(name);
        raw.extend_from_slice(data);
        raw.extend_from_slice(b"\r\n\r\nx\r\n--b--\r\n");
        if let Some(msg) = parse::parse(&raw) {
            let _ = parse::envelope(&msg);
            for part in &msg.parts {
                let _ = parse::part_name(part, msg.raw_message());
            }
        }
    }
});
