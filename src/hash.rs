//! The SHA-256 of bytes as lowercase hex: the name of every blob, raw mail and set
//! of attachments. A leaf: inspect, store, the journal and db/ all use it.

use sha2::{Digest, Sha256};

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_input_has_the_known_digest() {
        assert_eq!(super::sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
