//! What one message may unpack to: the bounds every archive and MIME walk checks.
//! Read from `[limits]` by config.rs.

/// Limits on what one message may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_unpacked_bytes: u64,
    /// Largest archive entry taken into memory; an archive nested in an archive
    /// counts together with the entry being read from it (see `unpack`).
    pub max_file_bytes: u64,
    pub max_archive_entries: usize,
    pub max_compression_ratio: u64,
    pub max_nesting_depth: usize,
    pub max_mime_parts: usize,
    pub max_mime_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 4 << 30,
            max_file_bytes: 64 << 20,
            max_archive_entries: 5000,
            max_compression_ratio: 200,
            max_nesting_depth: 3,
            max_mime_parts: 1000,
            max_mime_depth: 30,
        }
    }
}
