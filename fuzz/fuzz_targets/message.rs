//! One raw message through the whole analysis, in memory: parse → unpack (archives,
//! nested mail) → inspect and examine every file (decode, hash, thumbnail), as
//! `pipeline::analyse_in_memory` does it. No database is opened and no blob is stored.
//! RAR extraction needs a scratch directory (`<data_dir>/tmp`, emptied after each
//! archive); the data directory is pointed at a per-process folder in /dev/shm, so
//! nothing reaches a disk. A crash can leave it behind: campaign.sh removes them.
//!
//! libfuzzer-sys aborts on any panic, even one `pipeline` would catch and record as
//! `processing_failed`: a panic in a decoder is still a finding.
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

fuzz_target!(|data: &[u8]| {
    let _ = baosong::pipeline::analyse_in_memory(data, &CONFIG);
});
