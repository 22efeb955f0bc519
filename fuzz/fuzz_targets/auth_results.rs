//! What a forger writes where the sender is checked (issue 24): the bytes as an
//! `Authentication-Results` value (`sender_auth::results::parse`), as the topmost header
//! of a message above a forged mx.qq.com one (`results::trusted`), and mail-auth's own
//! reading of the header block and its DKIM-Signature tags (`AuthenticatedMessage::parse`,
//! which hashes the body; no DNS is asked).
#![no_main]

use baosong::sender_auth::results;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(r) = results::parse(&text) {
        let _ = r.method("dmarc").map(|m| (m.policy(), m.prop("header.from")));
    }
    let _ = results::trusted(data);
    let _ = mail_auth::AuthenticatedMessage::parse(data);

    let mut raw = b"Authentication-Results: ".to_vec();
    raw.extend_from_slice(data);
    raw.extend_from_slice(b"\r\nAuthentication-Results: mx.qq.com; dmarc=pass header.from=qq.com\r\nFrom: tkpcs@qq.com\r\n");
    raw.extend_from_slice(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=qq.com; s=s201512; h=From; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=");
    raw.extend_from_slice(data);
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    if let Some(r) = results::trusted(&raw) {
        let _ = r.method("spf").map(|m| m.result.len());
    }
    let _ = mail_auth::AuthenticatedMessage::parse(&raw);
});
