//! The ZIP reader on arbitrary bytes: the central directory as `entries` reads it, then
//! the archive walked the way the unpacker walks it (`for_each_entry`: whole-archive
//! checks, then each entry read under the default limits).
#![no_main]

use std::sync::LazyLock;

use baosong::unpack::Limits;
use baosong::unpack::zip;
use libfuzzer_sys::fuzz_target;

static LIMITS: LazyLock<Limits> = LazyLock::new(Limits::default);

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = zip::entries(data, LIMITS.max_archive_entries) {
        for e in &entries {
            let _ = e.is_dir();
        }
    }
    let _ = zip::for_each_entry(data, &LIMITS, &mut |e, bytes| {
        if let Ok(b) = bytes {
            assert_eq!(b.len() as u64, e.size, "an entry read back at other than its declared size");
        }
    });
});
