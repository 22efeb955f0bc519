//! Where raw mail comes from: files on disk and IMAP folders. Every source yields
//! `journal::Incoming` and hands it to the journal, which makes it durable.

pub mod files;
pub mod imap;

/// The reference of an IMAP message, as people read it (the folder decoded):
/// "imap:user@host/INBOX;UIDVALIDITY=5/;UID=7".
pub fn imap_ref(account: &str, folder: &str, uid_validity: i64, uid: u32) -> String {
    format!("imap:{account}/{};UIDVALIDITY={uid_validity}/;UID={uid}", crate::utf7::decode(folder))
}

/// The UID in a reference written by `imap_ref`; None for other sources.
pub fn imap_uid(source: &str) -> Option<u32> {
    source.strip_prefix("imap:")?.rsplit_once(";UID=")?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uid_is_read_back_from_an_imap_reference_only() {
        let r = imap_ref("office@qq.com", "&UXZO1mWHTvZZOQ-", 5, 7);
        assert_eq!(r, "imap:office@qq.com/其他文件夹;UIDVALIDITY=5/;UID=7");
        assert_eq!(imap_uid(&r), Some(7));
        assert_eq!(imap_uid("box.mbox#12"), None);
        assert_eq!(imap_uid("mail/;UID=7.eml"), None);
    }
}
