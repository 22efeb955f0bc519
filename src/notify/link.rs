//! The mails about 超大附件 links: one short mail to the sender when a link ended (its
//! file is in and counted, or it failed for good and must be sent again), and the
//! office's reminder three days before a link that is not in yet expires. Which link
//! is due for which mail is decided here by pure rules that take `now`; the outbox's
//! keys (`link:<id>:<state>`, `link-expiry:<id>`) make each go out once.

use chrono_tz::Tz;
use serde::Serialize;

use super::{Draft, cycle_label};
use crate::config::Config;
use crate::cycle::{Cycle, local};
use crate::db::items::{Kind, Status};
use crate::db::{self, Db, links::Listed};
use crate::links::{State, mib};

/// The office is reminded this long before a link that is not in yet expires.
pub const REMIND_BEFORE: i64 = 3 * 24 * 3600;

/// What the sender's follow-up says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file is in and recorded with its message.
    In,
    /// No file: the department is asked to send it again.
    Failed,
}

/// Whether a link that ended at `done_at` in `state` owes its sender a follow-up at
/// `now`. Only when the package got a receipt (`receipt_at`, 0: none: an unknown
/// sender, mail too old, receipts off), written no later than the link ended: a
/// receipt written after already said how the link ended. A file that is in waits
/// until its message was recorded with it (`recorded_at`), so the mail can say what
/// counted. Nothing for a link that ended more than `receipt::MAX_AGE` ago, as no
/// receipt goes out for old mail.
pub fn follow_up(state: State, done_at: i64, receipt_at: i64, recorded_at: i64, now: i64) -> Option<Outcome> {
    if receipt_at <= 0 || done_at <= 0 || receipt_at > done_at || now - done_at > super::receipt::MAX_AGE {
        return None;
    }
    match state {
        State::Waiting => None,
        State::Fetched | State::TakenIn => (recorded_at >= done_at).then_some(Outcome::In),
        State::NeedsOffice | State::Expired => Some(Outcome::Failed),
    }
}

/// Whether the office is reminded of a link at `now`: not in yet, and expiring within
/// `REMIND_BEFORE` (a link that arrives with less time left is reminded of at once).
pub fn reminder_due(state: State, expires_at: i64, now: i64) -> bool {
    matches!(state, State::Waiting | State::NeedsOffice) && expires_at > now && expires_at - REMIND_BEFORE <= now
}

/// The outbox key of a link's follow-up in `state`: once per link and state, so a
/// link the office takes in after it failed tells the department that too.
pub fn follow_up_key(id: i64, state: State) -> String {
    format!("link:{id}:{}", state.code())
}

pub fn reminder_key(id: i64) -> String {
    format!("link-expiry:{id}")
}

/// How long before expiry, in local calendar days: "还剩 3 天", "今天到期", "已过期 2 天".
pub fn left_label(expires_at: i64, now: i64, tz: Tz) -> String {
    if expires_at <= 0 {
        return "到期时间未知".into();
    }
    let days = (local(expires_at, tz).date_naive() - local(now, tz).date_naive()).num_days();
    match (expires_at > now, days) {
        (true, d) if d > 0 => format!("还剩 {d} 天"),
        (true, _) => "今天到期".into(),
        (false, d) if d < 0 => format!("已过期 {} 天", -d),
        (false, _) => "已过期".into(),
    }
}

/// "2 分 13 秒", "1 小时 5 分 0 秒", "45 秒".
pub fn duration_label(ms: i64) -> String {
    let s = (ms.max(0) + 500) / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s} 秒"),
        (0, m, s) => format!("{m} 分 {s} 秒"),
        (h, m, s) => format!("{h} 小时 {m} 分 {s} 秒"),
    }
}

fn short(at: i64, tz: Tz) -> String {
    if at <= 0 { "未知".into() } else { local(at, tz).format("%Y-%m-%d %H:%M").to_string() }
}

fn size_label(bytes: i64) -> String {
    if bytes > 0 { mib(bytes) } else { String::new() }
}

/// The console's page of an item, where the office uploads a link's file.
pub fn item_url(config: &Config, item: i64) -> String {
    format!("{}/items/{item}", config.web.base_url)
}

/// One file a link's download became (an archive gives several).
#[derive(Debug, Serialize)]
pub struct File {
    pub name: String,
    /// Counted as a work (a photo or video, not a duplicate).
    pub counted: bool,
    /// The category it counts in, "⑤专项行动"; empty when not counted.
    pub category: String,
    /// "时长 2 分 13 秒" for a video; why it did not count otherwise.
    pub note: String,
}

/// `link_result.txt`: the sender's follow-up.
#[derive(Debug, Serialize)]
pub struct ResultContext {
    pub department: String,
    pub cycle_label: String,
    pub received_at: String,
    pub name: String,
    pub size: String,
    pub expires: String,
    pub expires_guessed: bool,
    /// "in" or "failed".
    pub outcome: &'static str,
    /// The office took the file in by hand.
    pub taken_in: bool,
    pub files: Vec<File>,
    /// Why it could not be downloaded, in Chinese.
    pub reason: String,
    /// The expiry has passed (or the provider says the file is gone).
    pub expired: bool,
    pub office: String,
}

pub fn result_sample() -> ResultContext {
    ResultContext {
        department: "嘎鲁图派出所".into(),
        cycle_label: "2024年4月".into(),
        received_at: "2024-04-08 15:02".into(),
        name: "巡逻视频.mp4".into(),
        size: "286.4 MiB".into(),
        expires: "2024-04-23 15:02".into(),
        expires_guessed: false,
        outcome: "in",
        taken_in: false,
        files: vec![File { name: "巡逻视频.mp4".into(), counted: true, category: "⑤专项行动".into(), note: "时长 2 分 13 秒".into() }],
        reason: "下载次数已达上限，下载页面不再提供文件".into(),
        expired: false,
        office: "宣传工作领导小组办公室".into(),
    }
}

/// `link_reminder.txt`: the office's reminder before a link expires.
#[derive(Debug, Serialize)]
pub struct ReminderContext {
    pub department: String,
    pub cycle_label: String,
    pub received_at: String,
    pub from: String,
    pub name: String,
    pub size: String,
    pub expires: String,
    pub expires_guessed: bool,
    /// "还剩 3 天", "今天到期".
    pub left: String,
    /// "waiting" (still tried automatically) or "needs_office".
    pub state: &'static str,
    pub state_label: &'static str,
    pub reason: String,
    /// The download page.
    pub url: String,
    /// The item that shows the link, and its page on the console.
    pub item: i64,
    pub item_url: String,
    pub office: String,
}

pub fn reminder_sample() -> ReminderContext {
    ReminderContext {
        department: "嘎鲁图派出所".into(),
        cycle_label: "2024年4月".into(),
        received_at: "2024-04-08 15:02".into(),
        from: "gltpcs@163.com".into(),
        name: "巡逻视频.mp4".into(),
        size: "286.4 MiB".into(),
        expires: "2024-04-23 15:02".into(),
        expires_guessed: false,
        left: "还剩 3 天".into(),
        state: "needs_office",
        state_label: State::NeedsOffice.label(),
        reason: "下载页面与预期不同，无法自动下载".into(),
        url: "https://wx.mail.qq.com/ftn/download?func=3&key=abc".into(),
        item: 42,
        item_url: "http://127.0.0.1:8080/items/42".into(),
        office: "宣传工作领导小组办公室".into(),
    }
}

/// What a link's file became when its message was recorded with it.
fn files_of(items: &[db::items::ListedItem], url: &str, config: &Config) -> Vec<File> {
    items
        .iter()
        .map(|li| &li.item)
        .filter(|it| it.url == url && it.kind != Kind::Link && it.status != Status::Decoration)
        .map(|it| {
            let counted = it.is_counted_work();
            let note = match (it.status, it.kind) {
                (Status::Accepted, Kind::Video) if it.duration_ms > 0 => format!("时长 {}", duration_label(it.duration_ms)),
                (Status::Accepted, Kind::Photo | Kind::Video) => String::new(),
                (Status::Accepted, Kind::Document) => "文档，已存档，不计分".into(),
                (Status::Duplicate, _) => "与此前报送的文件相同，不重复计入".into(),
                (Status::Shared, _) => "与其他单位报送的相同，按先报送的单位计入".into(),
                _ if !it.reason.is_empty() => it.reason.clone(),
                _ => "未计入".into(),
            };
            let category = if counted { config.categories.label(it.category.parse().ok()) } else { String::new() };
            File { name: it.shown_name.clone(), counted, category, note }
        })
        .collect()
}

/// The sender's follow-up for a link that ended, or None when none is due at `now`.
pub async fn result_draft(db: &Db, config: &Config, templates: &crate::templates::Templates, e: &db::links::Ended, office: &str, now: i64) -> anyhow::Result<Option<Draft>> {
    let (l, k) = (&e.listed, &e.listed.link);
    let Some(outcome) = follow_up(k.state, k.done_at, e.receipt_at, e.recorded_at, now) else { return Ok(None) };
    if l.from_addr.is_empty() {
        return Ok(None);
    }
    let files = match outcome {
        Outcome::In => {
            let filter = db::items::Filter { message_ref: Some(k.message_ref), ..Default::default() };
            files_of(&db::items::list(db, &filter).await?, &k.url, config)
        }
        Outcome::Failed => vec![],
    };
    let name = if k.name.is_empty() { k.file_name.clone() } else { k.name.clone() };
    let ctx = ResultContext {
        department: l.department.clone(),
        cycle_label: Cycle::parse(&l.cycle).map(cycle_label).unwrap_or_else(|| l.cycle.clone()),
        received_at: short(l.received_at, config.timezone),
        name,
        size: size_label(if k.size > 0 { k.size } else { k.caption_size }),
        expires: short(k.expires_at, config.timezone),
        expires_guessed: k.expiry_guessed != 0,
        outcome: match outcome {
            Outcome::In => "in",
            Outcome::Failed => "failed",
        },
        taken_in: k.state == State::TakenIn,
        files,
        reason: if k.detail.is_empty() { "未能下载".into() } else { k.detail.clone() },
        expired: k.state == State::Expired || (k.expires_at > 0 && k.expires_at <= now),
        office: office.to_string(),
    };
    let rendered = templates.render("link_result.txt", &ctx).map_err(anyhow::Error::msg)?;
    let (subject, text) = super::split_subject(&rendered);
    Ok(Some(Draft {
        key: follow_up_key(k.id, k.state),
        kind: "link_result",
        department: l.department.clone(),
        cycle: l.cycle.clone(),
        to: vec![l.from_addr.clone()],
        cc: vec![],
        subject,
        text,
        html: None,
        inline: vec![],
    }))
}

/// The office's reminder for a link about to expire.
pub fn reminder_draft(l: &Listed, config: &Config, templates: &crate::templates::Templates, office: &str, now: i64) -> anyhow::Result<Draft> {
    let k = &l.link;
    let tz = config.timezone;
    let ctx = ReminderContext {
        department: l.department.clone(),
        cycle_label: Cycle::parse(&l.cycle).map(cycle_label).unwrap_or_else(|| l.cycle.clone()),
        received_at: short(l.received_at, tz),
        from: l.from_addr.clone(),
        name: k.name.clone(),
        size: size_label(k.caption_size),
        expires: short(k.expires_at, tz),
        expires_guessed: k.expiry_guessed != 0,
        left: left_label(k.expires_at, now, tz),
        state: k.state.code(),
        state_label: k.state.label(),
        reason: k.detail.clone(),
        url: k.url.clone(),
        item: l.item,
        item_url: item_url(config, l.item),
        office: office.to_string(),
    };
    let rendered = templates.render("link_reminder.txt", &ctx).map_err(anyhow::Error::msg)?;
    let (subject, text) = super::split_subject(&rendered);
    Ok(Draft {
        key: reminder_key(k.id),
        kind: "link_reminder",
        department: l.department.clone(),
        cycle: l.cycle.clone(),
        to: config.notify.as_ref().map(|n| n.office.clone()).unwrap_or_default(),
        cc: vec![],
        subject,
        text,
        html: None,
        inline: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    const DAY: i64 = 24 * 3600;

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn a_follow_up_only_after_a_receipt_and_once_the_file_is_recorded() {
        let (receipt, done) = (1_000_000, 1_000_600);
        let now = done + 60;
        assert_eq!(follow_up(State::Fetched, done, receipt, done + 5, now), Some(Outcome::In));
        assert_eq!(follow_up(State::TakenIn, done, receipt, done, now), Some(Outcome::In), "attach records in the same second");
        // Downloaded but not recorded again yet: wait, so the mail can say what counted.
        assert_eq!(follow_up(State::Fetched, done, receipt, receipt - 10, now), None);
        assert_eq!(follow_up(State::NeedsOffice, done, receipt, 0, now), Some(Outcome::Failed));
        assert_eq!(follow_up(State::Expired, done, receipt, 0, now), Some(Outcome::Failed));
        assert_eq!(follow_up(State::Waiting, 0, receipt, 0, now), None);
        // No receipt (a stranger, old mail, receipts off): no follow-up either.
        assert_eq!(follow_up(State::Fetched, done, 0, done, now), None);
        // The receipt was written after the link ended: it already said so.
        assert_eq!(follow_up(State::NeedsOffice, done, done + 1, 0, now), None);
        // Same second: sent (at worst said twice, never not at all).
        assert_eq!(follow_up(State::NeedsOffice, done, done, 0, now), Some(Outcome::Failed));
        // Ended more than 7 days ago: as old mail, nothing.
        assert_eq!(follow_up(State::Expired, done, receipt, 0, done + 7 * DAY + 1), None);
        assert_eq!(follow_up(State::Expired, done, receipt, 0, done + 7 * DAY), Some(Outcome::Failed));
    }

    #[test]
    fn the_office_is_reminded_three_days_before_expiry_of_links_not_in() {
        let expires = t("2024-04-23T15:02:00+08:00");
        assert!(!reminder_due(State::Waiting, expires, t("2024-04-20T15:01:59+08:00")));
        assert!(reminder_due(State::Waiting, expires, t("2024-04-20T15:02:00+08:00")));
        assert!(reminder_due(State::NeedsOffice, expires, t("2024-04-23T15:01:00+08:00")));
        assert!(!reminder_due(State::NeedsOffice, expires, expires), "expired: too late");
        for s in [State::Fetched, State::TakenIn, State::Expired] {
            assert!(!reminder_due(s, expires, t("2024-04-22T09:00:00+08:00")), "{s:?}");
        }
        assert!(!reminder_due(State::Waiting, 0, t("2024-04-22T09:00:00+08:00")), "no expiry known");
        assert_eq!(follow_up_key(7, State::NeedsOffice), "link:7:needs_office");
        assert_eq!(reminder_key(7), "link-expiry:7");
    }

    #[test]
    fn days_left_and_durations_read_in_chinese() {
        let expires = t("2024-04-23T15:02:00+08:00");
        assert_eq!(left_label(expires, t("2024-04-20T08:00:00+08:00"), Shanghai), "还剩 3 天");
        assert_eq!(left_label(expires, t("2024-04-22T23:59:00+08:00"), Shanghai), "还剩 1 天");
        assert_eq!(left_label(expires, t("2024-04-23T08:00:00+08:00"), Shanghai), "今天到期");
        assert_eq!(left_label(expires, t("2024-04-23T16:00:00+08:00"), Shanghai), "已过期");
        assert_eq!(left_label(expires, t("2024-04-25T08:00:00+08:00"), Shanghai), "已过期 2 天");
        assert_eq!(left_label(0, 1, Shanghai), "到期时间未知");
        assert_eq!(duration_label(133_000), "2 分 13 秒");
        assert_eq!(duration_label(45_400), "45 秒");
        assert_eq!(duration_label(3_900_000), "1 小时 5 分 0 秒");
    }

    #[test]
    fn the_templates_read_right_with_sample_values() {
        let templates = crate::templates::Templates::load(None).unwrap();
        let text = templates.render("link_result.txt", &result_sample()).unwrap();
        assert!(text.starts_with("【回执】嘎鲁图派出所 超大附件已取到"), "{text}");
        assert!(text.contains("已取到并计入：巡逻视频.mp4，时长 2 分 13 秒"), "{text}");
        let failed = ResultContext { outcome: "failed", files: vec![], ..result_sample() };
        let text = templates.render("link_result.txt", &failed).unwrap();
        assert!(text.contains("未能下载：下载次数已达上限") && text.contains("请在 2024-04-23 15:02 前重新发送"), "{text}");
        let gone = ResultContext { outcome: "failed", expired: true, reason: "下载页面显示文件已过期".into(), ..result_sample() };
        let text = templates.render("link_result.txt", &gone).unwrap();
        assert!(text.contains("链接已失效") && !text.contains("前重新发送"), "{text}");
        let receipt = templates.render("receipt.txt", &super::super::receipt::sample()).unwrap();
        assert!(receipt.contains("\n\n超大附件 巡逻视频.mp4（286.4 MiB，2024-04-18 16:20 到期）已收到，正在自动下载，下载完成后另行通知。\n"), "{receipt}");
        let text = templates.render("link_reminder.txt", &reminder_sample()).unwrap();
        assert!(text.contains("还剩 3 天") && text.contains("http://127.0.0.1:8080/items/42") && text.contains("baosong attach 42"), "{text}");
        assert!(text.contains("浏览器"), "{text}");
    }
}
