//! 超大附件: files that QQ Mail and 163 send as links instead of attachments (any
//! file over 50 MB, so most department videos). Each link of a counted package is a
//! row of its own queue (`db::links`); `run` and `links fetch` download what is due
//! (`queue`), through the provider's undocumented flow (`qq`, `netease`), over https
//! to provider hosts only (`net`, `http`), streamed to disk and hashed on the way
//! (`download`). The file is kept as an original beside the raw mail, and the message
//! is recorded again with it, so it goes through the same inspection as an attachment
//! and counts with the mail's receipt time. What cannot be fetched waits for the office,
//! which takes the file in by hand (`attach`).
//!
//! This file holds the states and the rules, which are pure and take time as an argument.

pub mod cookies;
pub mod download;
pub mod http;
pub mod net;
pub mod netease;
pub mod qq;
pub mod queue;

/// Where a link's file is, and what the provider says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: url::Url,
    pub name: Option<String>,
    pub size: Option<i64>,
}

pub use crate::db::links::State;

/// Why a download failed. Permanent ones end the automatic tries (`state_after`);
/// transient ones are tried again with growing waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The provider says the file expired.
    Expired,
    /// The provider says the sender deleted it.
    Deleted,
    /// The provider's download limit for this file was reached.
    LimitReached,
    /// The answer is a web page, not a photo, video or archive.
    NotMedia,
    /// The file's size differs from the mail's caption by more than 5 %.
    SizeMismatch { caption: i64, got: i64 },
    /// Larger than `[links] max_size`.
    TooLarge { size: u64, max: u64 },
    /// A redirect or address that baosong will not contact (not a provider host, not
    /// https, a private address).
    Refused(String),
    /// The provider's page does not look as it did: the flow may have changed.
    Unrecognised(String),
    /// The network, the server or a timeout: tried again.
    Transient(String),
    /// No room on the disk for the file: tried again, and said in the digest.
    NoRoom { need: u64, free: u64 },
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Expired => "link_expired",
            Failure::Deleted => "link_deleted",
            Failure::LimitReached => "link_limit_reached",
            Failure::NotMedia => "link_not_media",
            Failure::SizeMismatch { .. } => "link_size_mismatch",
            Failure::TooLarge { .. } => "link_too_large",
            Failure::Refused(_) => "link_refused",
            Failure::Unrecognised(_) => "link_unrecognised",
            Failure::Transient(_) => "link_network",
            Failure::NoRoom { .. } => "link_no_room",
        }
    }

    /// The reason in Chinese, for the office and the department.
    pub fn reason(&self) -> String {
        match self {
            Failure::Expired => "下载页面显示文件已过期".into(),
            Failure::Deleted => "下载页面显示文件已被发件人删除".into(),
            Failure::LimitReached => "下载次数已达上限，下载页面不再提供文件".into(),
            Failure::NotMedia => "下载得到的是网页而不是照片、视频或压缩包".into(),
            Failure::SizeMismatch { caption, got } => format!("下载的文件 {} 与邮件中写的 {} 相差超过 5%", mib(*got), mib(*caption)),
            Failure::TooLarge { size, max } => format!("文件 {} 超过上限 {}（links.max_size）", mib(*size as i64), mib(*max as i64)),
            Failure::Refused(why) => format!("出于安全考虑没有连接：{why}"),
            Failure::Unrecognised(what) => format!("下载页面与预期不同，无法自动下载（{what}）"),
            Failure::Transient(what) => format!("暂时无法下载：{what}"),
            Failure::NoRoom { need, free } => format!("磁盘空间不足：需要 {}，只剩 {}", mib(*need as i64), mib(*free as i64)),
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, Failure::Transient(_) | Failure::NoRoom { .. })
    }

    /// The state a permanent failure leaves the link in.
    pub fn state_after(&self) -> State {
        match self {
            Failure::Expired | Failure::Deleted => State::Expired,
            _ => State::NeedsOffice,
        }
    }
}

/// "286.4 MiB", "1.20 GiB", "12 KiB".
pub fn mib(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{} KiB", (bytes.max(0) as u64).div_ceil(1024))
    }
}

/// How long a provider keeps a file when the mail does not say: QQ 30 days; 163's
/// free 超大附件 15 days (the shorter of its offers, so the office is warned in time).
pub fn default_lifetime_days(provider: &str) -> i64 {
    if provider == "qq" { 30 } else { 15 }
}

/// When a link expires: the caption's date, or the provider's lifetime from receipt
/// (`guessed` true).
pub fn expiry(provider: &str, caption: Option<i64>, received_at: i64) -> (i64, bool) {
    match caption {
        Some(t) if t > 0 => (t, false),
        _ => (received_at + default_lifetime_days(provider) * 86_400, true),
    }
}

/// Whether a file of `got` bytes is the one the caption announced (`caption` 0: not
/// said). Captions round to two decimals of a MiB or GiB, well within 5 %.
pub fn size_matches(caption: i64, got: i64) -> bool {
    caption <= 0 || (got - caption).abs() * 100 <= caption * 5
}

/// No automatic try starts this close to expiry: the office must still have time to
/// take the file in by hand.
pub const LAST_TRY_BEFORE_EXPIRY: i64 = 3600;

/// When to try again after `tries` failed tries at `now`: 1, 2, 4 … minutes, at most
/// an hour apart, and never later than shortly before expiry. `None`: no try is left
/// before the link expires.
pub fn next_try(tries: i64, now: i64, expires_at: i64) -> Option<i64> {
    let wait = 60i64 << tries.clamp(1, 7).saturating_sub(1);
    let last = expires_at - LAST_TRY_BEFORE_EXPIRY;
    if now >= last {
        return None;
    }
    Some((now + wait.min(3600)).min(last))
}

/// Whether a waiting link has run out of time: it expired with no file.
pub fn ran_out(expires_at: i64, now: i64) -> bool {
    expires_at > 0 && now >= expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_read_in_chinese() {
        for s in State::ALL {
            assert_eq!(State::from_code(s.code()), Some(s));
            assert!(!s.label().is_empty());
        }
        assert_eq!(State::from_code("fetching"), None);
        assert!(State::Fetched.has_file() && State::TakenIn.has_file() && !State::Waiting.has_file());
        assert!(State::Expired.attachable() && !State::Fetched.attachable());
    }

    #[test]
    fn expiry_from_caption_or_provider() {
        assert_eq!(expiry("qq", Some(1_713_855_720), 1_700_000_000), (1_713_855_720, false));
        assert_eq!(expiry("qq", None, 1_700_000_000), (1_700_000_000 + 30 * 86_400, true));
        assert_eq!(expiry("163", None, 1_700_000_000), (1_700_000_000 + 15 * 86_400, true));
    }

    #[test]
    fn size_within_five_percent() {
        let caption = (286.40 * 1024.0 * 1024.0) as i64;
        assert!(size_matches(caption, 300_310_000));
        assert!(size_matches(0, 5));
        assert!(!size_matches(caption, caption / 2));
        assert!(!size_matches(caption, caption + caption / 19));
    }

    #[test]
    fn retries_back_off_and_stop_before_expiry() {
        let now = 1_000_000;
        let far = now + 30 * 86_400;
        assert_eq!(next_try(1, now, far), Some(now + 60));
        assert_eq!(next_try(2, now, far), Some(now + 120));
        assert_eq!(next_try(20, now, far), Some(now + 3600));
        // An hour and a half before expiry: the next try is the last, an hour before.
        assert_eq!(next_try(7, now, now + 5400), Some(now + 1800));
        assert_eq!(next_try(1, now, now + 3000), None);
        assert!(ran_out(now, now) && !ran_out(now + 1, now) && !ran_out(0, now));
    }

    #[test]
    fn failures_have_codes_and_states() {
        assert_eq!(Failure::Expired.state_after(), State::Expired);
        assert_eq!(Failure::Deleted.state_after(), State::Expired);
        assert_eq!(Failure::LimitReached.state_after(), State::NeedsOffice);
        assert_eq!(Failure::NotMedia.code(), "link_not_media");
        assert!(Failure::Transient("x".into()).is_transient());
        assert!(Failure::SizeMismatch { caption: 300 << 20, got: 1 << 20 }.reason().contains("5%"));
    }
}
