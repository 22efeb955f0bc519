//! The mbox splitter on arbitrary bytes, in memory (`source::files::mbox`): split on
//! real From_ lines and Content-Length, then each message unquoted as import loads it.
//! Inputs that do not start with "From " get a From_ line put in front, so that every
//! input reaches the splitter.
#![no_main]

use baosong::source::files::mbox;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let owned;
    let bytes = if data.starts_with(b"From ") {
        data
    } else {
        owned = [&b"From a@b.c Mon Jan  1 00:00:00 2024\n"[..], data].concat();
        &owned[..]
    };
    let spans = mbox::split(bytes);
    let mut last_end = 0;
    for span in &spans {
        assert!(span.range.start <= span.range.end && span.range.end <= bytes.len(), "span out of bounds: {span:?}");
        assert!(span.range.start >= last_end, "spans overlap or go backwards: {spans:?}");
        last_end = span.range.end;
        let raw = mbox::message(bytes, span);
        assert!(raw.len() <= span.range.len());
    }
    for line in bytes.split(|&b| b == b'\n').take(64) {
        let _ = mbox::is_from_line(line);
    }
});
