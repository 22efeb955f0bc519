//! The ISO-BMFF box walkers on arbitrary bytes: MP4/MOV metadata and the HEIF size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = baosong::inspect::video::read(data);
    let _ = baosong::inspect::heif::dimensions(data);
});
