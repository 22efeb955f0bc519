//! One raw message through the whole analysis, in memory: parse → unpack (archives,
//! nested mail) → inspect and examine every file (decode, hash, thumbnail), as
//! `pipeline::analyse_in_memory` does it. No database is opened and no blob is stored.
//! RAR extraction needs a scratch directory (`<data_dir>/tmp`, emptied after each
//! archive); the data directory is pointed at a per-process folder in /dev/shm, so
//! nothing reaches a disk. A crash can leave it behind: campaign.sh removes them.
//!
//! libfuzzer-sys aborts on any panic, even one `pipeline` would catch and record as
//! `processing_failed`: a panic in a decoder is still a finding. One exception,
//! named exactly: mail-parser 0.11.9 has a `debug_assert!(false, "Invalid part ID,
//! could not find multipart.")` (parsers/message.rs:485) that some malformed nested
//! multiparts reach (fuzz/regressions/message/mail-parser-debug-assert-multipart). In
//! release builds, which is how baosong ships, mail-parser stops parsing there and
//! returns what it has; the fuzz build has debug assertions on, so that one
//! assertion is let through as the release build would, and every other panic aborts.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use baosong::config::Config;
use libfuzzer_sys::fuzz_target;

static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    let mut config = Config::load(None).expect("the built-in default config loads");
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() { shm } else { std::env::temp_dir() };
    config.data_dir = base.join(format!("baosong-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(config.data_dir.join("tmp")).expect("a scratch folder in /dev/shm");
    config
});

/// mail-parser's own consistency check (see above); not an error in release builds.
const MAIL_PARSER_ASSERT: &str = "Invalid part ID, could not find multipart.";

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let third_party = info.location().is_some_and(|l| l.file().contains("mail-parser-0.11.9"));
            if !(third_party && info.to_string().contains(MAIL_PARSER_ASSERT)) {
                abort(info);
            }
        }));
    });
    // Only the named assertion can unwind to here (the hook aborts on anything else).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| baosong::pipeline::analyse_in_memory(data, &CONFIG)));
});
