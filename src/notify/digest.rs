//! The office's daily digest: the last 24 hours' intake, the current cycle's board,
//! the review queue, refused files, 超大附件 links waiting for the office and mailbox health.
//! Sent once per date (key `digest:<date>`), in HTML and plain text.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Draft, cycle_label};
use crate::config::Config;
use crate::cycle::{Cycle, local};
use crate::db::items::{ListedItem, Status};
use crate::db::messages::{Disposition, MessageRow};
use crate::db::{self, Db};
use crate::links::State;
use crate::rejection::Flag;
use crate::report::{self, duration_zh};

#[derive(Debug, Serialize)]
pub struct Intake {
    pub received_at: String,
    pub department: String,
    pub subject: String,
    pub outcome: String,
    pub works: i64,
    pub rejected: i64,
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub department: String,
    pub state_label: String,
    pub detail: String,
    pub packages: i64,
    pub photos: i64,
    pub videos: i64,
    pub categories: String,
}

#[derive(Debug, Serialize)]
pub struct Board {
    pub cycle_label: String,
    pub deadline: String,
    pub summary: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Serialize)]
pub struct Review {
    pub id: String,
    pub from: String,
    pub subject: String,
    pub received_at: String,
    pub guess: String,
    /// Why it is held, when there is more to say than an unknown sender ('' otherwise).
    pub reason: String,
    /// What checking its sender found, in Chinese ('' when never checked).
    pub sender_auth: String,
}

#[derive(Debug, Serialize)]
pub struct Refused {
    pub department: String,
    pub name: String,
    pub reason: String,
}

/// A file (or a whole message) with flags, received in the digest's 24 hours.
#[derive(Debug, Serialize)]
pub struct FlaggedItem {
    pub name: String,
    /// Short Chinese labels, "旧图、模糊".
    pub flags: String,
}

/// One department's flagged files of the day.
#[derive(Debug, Serialize)]
pub struct Flagged {
    pub department: String,
    pub items: Vec<FlaggedItem>,
}

/// A 超大附件 link waiting for the office: one that cannot be fetched automatically,
/// or one still not in within 7 days of its expiry.
#[derive(Debug, Serialize)]
pub struct Expiring {
    pub department: String,
    pub name: String,
    pub expires: String,
    /// "还剩 3 天", "今天到期", "已过期 2 天".
    pub left: String,
    pub state_label: String,
    /// Why it is not in: the last failure, in Chinese.
    pub reason: String,
    /// The item that shows the link, and its page on the console (upload the file there).
    pub item: i64,
    pub item_url: String,
}

#[derive(Debug, Serialize)]
pub struct Mailbox {
    pub account: String,
    pub last_ok: String,
    pub last_error: String,
    pub stale: bool,
}

/// Sending on hold: the SMTP login was refused or TLS failed; queued mail waits.
#[derive(Debug, Serialize)]
pub struct Hold {
    pub since: String,
    pub reason: String,
    pub waiting: i64,
}

#[derive(Debug, Serialize)]
pub struct Failed {
    pub to: String,
    pub subject: String,
    pub error: String,
}

/// A message whose processing failed every time it was tried.
#[derive(Debug, Serialize)]
pub struct FailedIntake {
    pub id: String,
    pub received_at: String,
    pub from: String,
    pub subject: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct SheetItem {
    pub id: i64,
    pub name: String,
    pub flags: String,
}

/// A contact sheet of one department's photos of the day, shown inline by its cid.
#[derive(Debug, Serialize)]
pub struct Sheet {
    pub department: String,
    pub cid: String,
    pub items: Vec<SheetItem>,
}

#[derive(Debug, Serialize)]
pub struct Context {
    pub date: String,
    pub since: String,
    pub until: String,
    pub intake: Vec<Intake>,
    pub board: Board,
    pub review: Vec<Review>,
    pub rejected: Vec<Refused>,
    pub flagged: Vec<Flagged>,
    pub links: Vec<Expiring>,
    pub mailbox: Vec<Mailbox>,
    pub outbox_hold: Vec<Hold>,
    pub failed_mail: Vec<Failed>,
    pub failed_intake: Vec<FailedIntake>,
    pub sheets: Vec<Sheet>,
    /// The month's adoptions (采用) per department, with what they scored.
    pub adoptions: crate::score::summary::MonthAdoptions,
    pub office: String,
}

pub fn sample() -> Context {
    Context {
        date: "2024-03-20".into(),
        since: "2024-03-19 08:00".into(),
        until: "2024-03-20 08:00".into(),
        intake: vec![Intake { received_at: "03-19 10:12".into(), department: "嘎鲁图派出所".into(), subject: "3月素材".into(), outcome: "计入".into(), works: 4, rejected: 0 }],
        board: Board {
            cycle_label: "2024年3月".into(),
            deadline: "2024年3月25日".into(),
            summary: "按时 1 个，待报 19 个".into(),
            rows: vec![Row { department: "嘎鲁图派出所".into(), state_label: "按时".into(), detail: String::new(), packages: 1, photos: 4, videos: 0, categories: "①2 ⑤2".into() }],
        },
        review: vec![Review { id: "5".into(), from: "x@qq.com".into(), subject: "图克所3月".into(), received_at: "03-19 11:00".into(), guess: "图克派出所".into(), reason: crate::rejection::HeldReason::SenderAuthFailed.reason().into(), sender_auth: "发件人地址可能被冒充：没有有效签名，qq.com 要求签名".into() }],
        rejected: vec![Refused { department: "拘留所".into(), name: "a.jpg".into(), reason: "可执行程序，已拒收".into() }],
        flagged: vec![Flagged { department: "嘎鲁图派出所".into(), items: vec![FlaggedItem { name: "①党建.jpg".into(), flags: "旧图、模糊".into() }] }],
        links: vec![Expiring {
            department: "看守所".into(),
            name: "视频.mp4".into(),
            expires: "03-23 16:20".into(),
            left: "还剩 3 天".into(),
            state_label: "需办公室处理".into(),
            reason: "下载次数已达上限，下载页面不再提供文件".into(),
            item: 42,
            item_url: "http://127.0.0.1:8080/items/42".into(),
        }],
        mailbox: vec![Mailbox { account: "x@qq.com@imap.qq.com".into(), last_ok: "2024-03-20 07:58".into(), last_error: String::new(), stale: false }],
        outbox_hold: vec![],
        failed_mail: vec![Failed { to: "a@b.c".into(), subject: "回执".into(), error: "550 no such user".into() }],
        failed_intake: vec![FailedIntake { id: "9".into(), received_at: "03-19 12:00".into(), from: "x@qq.com".into(), subject: "3月".into(), error: "试了 3 次：无法保存文件".into() }],
        sheets: vec![Sheet { department: "嘎鲁图派出所".into(), cid: "sheet-1@baosong".into(), items: vec![SheetItem { id: 12, name: "①党建.jpg".into(), flags: String::new() }] }],
        adoptions: crate::score::summary::MonthAdoptions {
            month_label: "2024年3月".into(),
            count: 3,
            works: 2,
            rows: vec![crate::score::summary::AdoptionRow { department: "嘎鲁图派出所".into(), banner: 2, city: 1, province: 0, works: 2, points: "0.30".into() }],
        },
        office: "宣传工作领导小组办公室".into(),
    }
}

fn short(at: i64, config: &Config) -> String {
    local(at, config.timezone).format("%m-%d %H:%M").to_string()
}

/// The links waiting for the office at `at`: every one that cannot be fetched
/// automatically, and those still waiting within 7 days of expiry; soonest expiry
/// first (an unknown expiry last).
async fn waiting_for_office(db: &Db, at: i64) -> anyhow::Result<Vec<db::links::Listed>> {
    let mut links = db::links::in_state(db, State::NeedsOffice).await?;
    links.extend(db::links::without_file_expiring(db, at, at + 7 * 24 * 3600).await?.into_iter().filter(|l| l.link.state == State::Waiting));
    links.sort_by_key(|l| (l.link.expires_at <= 0, l.link.expires_at, l.link.id));
    Ok(links)
}

/// The digest for `date`, covering the 24 hours before `date`'s digest time.
pub async fn draft(db: &Db, config: &Config, templates: &crate::templates::Templates, store: &crate::store::Store, date: NaiveDate, office: &str) -> anyhow::Result<Draft> {
    let notify = config.notify.clone().unwrap_or_default();
    let until = date.and_time(notify.digest_time).and_local_timezone(config.timezone).earliest().map(|t| t.timestamp()).unwrap_or_default();
    let since = until - 24 * 3600;
    let cycle = Cycle::at(until, config.timezone);
    let board = report::board(db, config, cycle, until).await?;
    let day = Day::read(db, config, since, until).await?;
    let links = links(db, config, until).await?;
    let failed_mail = db::outbox::failed_since(db, since)
        .await?
        .into_iter()
        .map(|f| Failed { to: f.recipients, subject: f.subject, error: f.last_error })
        .collect();
    let (sheets, inline) = sheets(store, day.thumbs);
    let names: Vec<String> = config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let adoptions = crate::score::record::month_adoptions(db, &config.rubric, &names, cycle).await?;
    let ctx = Context {
        adoptions,
        sheets,
        date: date.to_string(),
        since: short(since, config),
        until: short(until, config),
        intake: day.intake,
        board: board_part(config, cycle, &board),
        review: review(&board),
        rejected: day.rejected,
        flagged: day.flagged.into_iter().map(|(department, items)| Flagged { department, items }).collect(),
        links,
        mailbox: mailbox(&board),
        outbox_hold: board.outbox_hold.iter().map(|h| Hold { since: h.since.get(..16).unwrap_or(&h.since).replace('T', " "), reason: h.reason.clone(), waiting: h.waiting }).collect(),
        failed_mail,
        failed_intake: failed_intake(&board),
        office: office.to_string(),
    };
    let (subject, text) = super::split_subject(&templates.render("digest.txt", &ctx).map_err(anyhow::Error::msg)?);
    let (_, html) = super::split_subject(&templates.render("digest.html", &ctx).map_err(anyhow::Error::msg)?);
    Ok(Draft {
        key: format!("digest:{date}"),
        kind: "digest",
        department: String::new(),
        cycle: cycle.to_string(),
        to: notify.office.clone(),
        cc: vec![],
        subject,
        text,
        html: Some(html),
        inline,
    })
}

/// An accepted photo or video of the day with a thumbnail, for its department's contact sheet.
struct Thumb {
    id: i64,
    name: String,
    path: String,
    /// Its flags' reasons in Chinese, joined by "；".
    flags: String,
}

/// The 24 hours' mail: each message's line, refused files, flagged files by
/// department, and thumbnails by department.
#[derive(Default)]
struct Day {
    intake: Vec<Intake>,
    rejected: Vec<Refused>,
    flagged: BTreeMap<String, Vec<FlaggedItem>>,
    thumbs: BTreeMap<String, Vec<Thumb>>,
}

impl Day {
    /// Every message received from `since` to `until`, with the files of the packages.
    async fn read(db: &Db, config: &Config, since: i64, until: i64) -> anyhow::Result<Day> {
        let mut day = Day::default();
        for m in db::messages::received_between(db, since, until).await? {
            let filter = db::items::Filter { message_ref: Some(m.id), ..Default::default() };
            let items = if m.disposition == Disposition::Package { db::items::list(db, &filter).await? } else { vec![] };
            day.add(config, &m, &items);
        }
        Ok(day)
    }

    fn add(&mut self, config: &Config, m: &MessageRow, items: &[ListedItem]) {
        let labels = |flags: Vec<Flag>| flags.iter().map(|f| f.label()).collect::<Vec<_>>().join("、");
        let works = items.iter().filter(|i| i.item.is_counted_work()).count() as i64;
        for i in items.iter().filter(|i| i.item.status == Status::Accepted && !i.item.thumb_path.is_empty()) {
            let flags = i.item.flags.split(',').filter_map(crate::rejection::Flag::from_code).map(|f| f.reason()).collect::<Vec<_>>().join("；");
            self.thumbs.entry(m.department.clone()).or_default().push(Thumb { id: i.item.id, name: i.item.shown_name.clone(), path: i.item.thumb_path.clone(), flags });
        }
        let message_flags = labels(Flag::parse_list(&m.flags));
        if m.disposition == Disposition::Package && !message_flags.is_empty() {
            self.flagged.entry(m.department.clone()).or_default().push(FlaggedItem { name: format!("整封邮件「{}」", m.subject), flags: message_flags });
        }
        for i in items.iter().filter(|i| !matches!(i.item.status, Status::Rejected | Status::Decoration)) {
            let flags = labels(Flag::parse_list(&i.item.flags).into_iter().filter(|f| *f != Flag::ExternalLink).collect());
            if !flags.is_empty() {
                self.flagged.entry(m.department.clone()).or_default().push(FlaggedItem { name: i.item.shown_name.clone(), flags });
            }
        }
        let refused: Vec<_> = items.iter().filter(|i| i.item.status == Status::Rejected).collect();
        for r in &refused {
            self.rejected.push(Refused { department: m.department.clone(), name: r.item.shown_name.clone(), reason: r.item.reason.clone() });
        }
        self.intake.push(Intake {
            received_at: short(m.received_at, config),
            department: m.department.clone(),
            subject: m.subject.clone(),
            outcome: m.disposition.label().into(),
            works,
            rejected: refused.len() as i64,
        });
    }
}

/// The cycle's board: a row per department and how many are in each state.
fn board_part(config: &Config, cycle: Cycle, board: &report::Board) -> Board {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let rows = board
        .departments
        .iter()
        .map(|d| {
            *counts.entry(d.state.label()).or_default() += 1;
            let mut detail = if d.late_by_seconds > 0 { format!("晚 {}", duration_zh(d.late_by_seconds)) } else { String::new() };
            if let Some(u) = &d.extended_until {
                detail += &format!("{}延期至 {u}", if detail.is_empty() { "" } else { "，" });
            }
            Row {
                department: d.department.clone(),
                state_label: d.state.label().into(),
                detail,
                packages: d.packages,
                photos: d.photos,
                videos: d.videos,
                categories: report::categories_line(d),
            }
        })
        .collect();
    Board {
        cycle_label: cycle_label(cycle),
        deadline: super::receipt::deadline_label(cycle.due_before(config.deadline_day, config.timezone).timestamp(), config),
        summary: counts.iter().map(|(k, v)| format!("{k} {v} 个")).collect::<Vec<_>>().join("，"),
        rows,
    }
}

/// The links waiting for the office at `until`, with why each is not in.
async fn links(db: &Db, config: &Config, until: i64) -> anyhow::Result<Vec<Expiring>> {
    Ok(waiting_for_office(db, until)
        .await?
        .into_iter()
        .map(|l| Expiring {
            department: l.department,
            expires: if l.link.expires_at > 0 { format!("{}{}", if l.link.expiry_guessed != 0 { "约 " } else { "" }, short(l.link.expires_at, config)) } else { "未知".into() },
            left: super::link::left_label(l.link.expires_at, until, config.timezone),
            state_label: l.link.state.label().into(),
            reason: match (l.link.detail.is_empty(), l.link.state) {
                (false, _) => l.link.detail,
                (true, State::Waiting) => "还在自动下载，尚未成功".into(),
                (true, _) => "无法自动下载".into(),
            },
            item: l.item,
            item_url: super::link::item_url(config, l.item),
            name: l.link.name,
        })
        .collect())
}

/// A contact sheet per department of the day's thumbnails (at most 48 tiles), and the
/// inline images they are sent as; a department none of whose thumbnails can be read
/// gets none.
fn sheets(store: &crate::store::Store, thumbs: BTreeMap<String, Vec<Thumb>>) -> (Vec<Sheet>, Vec<(String, Vec<u8>)>) {
    let mut sheets = Vec::new();
    let mut inline = Vec::new();
    for (n, (department, list)) in thumbs.into_iter().enumerate() {
        let tiles: Vec<(i64, image::DynamicImage)> = list.iter().filter_map(|t| store.local(&t.path).ok().and_then(|p| image::open(p).ok()).map(|img| (t.id, img))).take(48).collect();
        if tiles.is_empty() {
            continue;
        }
        let cid = format!("sheet-{}@baosong", n + 1);
        inline.push((cid.clone(), crate::inspect::sheet::contact_sheet(&tiles, 6)));
        let items = list.into_iter().map(|t| SheetItem { id: t.id, name: t.name, flags: t.flags }).collect();
        sheets.push(Sheet { department, cid, items });
    }
    (sheets, inline)
}

fn review(board: &report::Board) -> Vec<Review> {
    board
        .review_queue
        .iter()
        .map(|r| Review {
            id: r.id.clone(),
            from: r.from.clone(),
            subject: r.subject.clone(),
            received_at: r.received_at.get(5..16).unwrap_or(&r.received_at).replace('T', " "),
            guess: if r.guessed_department.is_empty() { "无法判断".into() } else { r.guessed_department.clone() },
            reason: if r.reason_code.is_empty() { String::new() } else { r.reason.clone() },
            sender_auth: r.sender_auth.clone(),
        })
        .collect()
}

fn mailbox(board: &report::Board) -> Vec<Mailbox> {
    board
        .mailbox
        .iter()
        .map(|m| Mailbox {
            account: m.account.clone(),
            last_ok: m.last_ok_at.as_deref().map(|t| t.get(..16).unwrap_or(t).replace('T', " ")).unwrap_or_else(|| "从未成功".into()),
            last_error: m.last_error.clone(),
            stale: m.stale,
        })
        .collect()
}

fn failed_intake(board: &report::Board) -> Vec<FailedIntake> {
    board
        .failed_messages
        .iter()
        .map(|m| FailedIntake {
            id: m.id.clone(),
            received_at: m.received_at.get(5..16).unwrap_or(&m.received_at).replace('T', " "),
            from: m.from.clone(),
            subject: m.subject.clone(),
            error: m.error.clone(),
        })
        .collect()
}
