//! The receipt (回执) for one package: what was counted, per category, what was
//! refused and why, and which 超大附件 links are being fetched (each gets a follow-up,
//! `notify::link`), in plain Chinese. Only for counted packages (registered or
//! approved senders), and never for mail received more than 7 days before it was
//! processed, so a backfill does not wake the departments.

use serde::Serialize;

use super::{Draft, cycle_label};
use crate::config::Config;
use crate::cycle::{self, Cycle, local};
use crate::db::items::{Kind, Status};
use crate::db::messages::Disposition;
use crate::db::{self, Db, messages::MessageRow};
use crate::links::State;
use crate::rejection::Flag;
use crate::report::{self, duration_zh};

/// A receipt's outbox key is this, then the message's id.
pub const KEY: &str = "receipt:";

/// Mail received longer than this before it was processed gets no receipt.
pub const MAX_AGE: i64 = 7 * 24 * 3600;

#[derive(Debug, Serialize)]
pub struct Category {
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct Named {
    pub name: String,
    pub reason: String,
}

/// A 超大附件 link of the package, as it stands when the receipt is written.
#[derive(Debug, Serialize)]
pub struct Link {
    pub name: String,
    /// "286.4 MiB" as the mail's caption says; empty when it does not.
    pub size: String,
    pub expires: String,
    /// The expiry is the provider's usual lifetime, not the caption's date.
    pub expires_guessed: bool,
    /// "waiting" (being fetched: a follow-up mail says how it ended), "in" (fetched,
    /// being counted), "failed" (must be sent again: `reason`), or "unknown" (no
    /// download was queued for it).
    pub state: &'static str,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Flagged {
    pub name: String,
    pub reasons: String,
}

#[derive(Debug, Serialize)]
pub struct Context {
    pub department: String,
    pub cycle_label: String,
    pub received_at: String,
    pub state_label: String,
    pub late_by: String,
    pub deadline: String,
    pub on_behalf: bool,
    pub from: String,
    pub categories: Vec<Category>,
    pub works: i64,
    pub documents: i64,
    pub links: Vec<Link>,
    /// Links are downloaded automatically (`[links] fetch`); otherwise the office does it.
    pub fetching: bool,
    pub rejected: Vec<Named>,
    pub flagged: Vec<Flagged>,
    pub office: String,
}

pub fn sample() -> Context {
    Context {
        department: "嘎鲁图派出所".into(),
        cycle_label: "2024年3月".into(),
        received_at: "2024-03-19 10:12".into(),
        state_label: "按时".into(),
        late_by: String::new(),
        deadline: "2024年3月25日".into(),
        on_behalf: false,
        from: "gltpcs@163.com".into(),
        categories: vec![Category { label: "①党的建设".into(), count: 2 }],
        works: 2,
        documents: 1,
        links: vec![Link {
            name: "巡逻视频.mp4".into(),
            size: "286.4 MiB".into(),
            expires: "2024-04-18 16:20".into(),
            expires_guessed: false,
            state: "waiting",
            reason: String::new(),
        }],
        fetching: true,
        rejected: vec![Named { name: "照片查看器.jpg".into(), reason: "可执行程序，已拒收".into() }],
        flagged: vec![Flagged { name: "a.png".into(), reasons: "文件扩展名与实际内容不符".into() }],
        office: "宣传工作领导小组办公室".into(),
    }
}

fn short(at: i64, config: &Config) -> String {
    local(at, config.timezone).format("%Y-%m-%d %H:%M").to_string()
}

/// The receipt for a package, or None when none is due (not a package, too old).
pub async fn draft(db: &Db, config: &Config, templates: &crate::templates::Templates, m: &MessageRow, office: &str) -> anyhow::Result<Option<Draft>> {
    if m.disposition != Disposition::Package || m.from_addr.is_empty() || m.processed_at - m.received_at > MAX_AGE {
        return Ok(None);
    }
    let Some(cycle) = Cycle::parse(&m.cycle) else { return Ok(None) };
    let due = report::due_before(db, config, &m.department, cycle).await?;
    let filter = db::items::Filter { message_ref: Some(m.id), ..Default::default() };
    let items = db::items::list(db, &filter).await?;
    let mut counts: std::collections::BTreeMap<u8, i64> = std::collections::BTreeMap::new();
    let (mut works, mut documents) = (0, 0);
    let (mut links, mut rejected, mut flagged) = (vec![], vec![], vec![]);
    for li in &items {
        let it = &li.item;
        // A signature logo or other decoration is not part of what was sent in.
        if it.status == Status::Decoration {
            continue;
        }
        match (it.status, it.kind) {
            (Status::Accepted, Kind::Photo | Kind::Video) => {
                works += 1;
                *counts.entry(it.category.parse().unwrap_or(0)).or_default() += 1;
            }
            (Status::Accepted, Kind::Document) => documents += 1,
            (Status::Accepted, Kind::Link) => links.push(link(db, config, it).await?),
            (Status::Rejected, _) => rejected.push(Named { name: it.shown_name.clone(), reason: it.reason.clone() }),
            _ => {}
        }
        let reasons: Vec<&str> = it
            .flags
            .split(',')
            .filter_map(Flag::from_code)
            .filter(|f| !matches!(f, Flag::ExternalLink | Flag::SentOnBehalf))
            .map(Flag::reason)
            .collect();
        if !reasons.is_empty() {
            flagged.push(Flagged { name: it.shown_name.clone(), reasons: reasons.join("；") });
        }
    }
    let late = m.received_at >= due;
    let ctx = Context {
        department: m.department.clone(),
        cycle_label: cycle_label(cycle),
        received_at: short(m.received_at, config),
        state_label: if late { cycle::State::Late { by_seconds: m.received_at - due } } else { cycle::State::OnTime }.label().into(),
        late_by: if late { duration_zh(m.received_at - due) } else { String::new() },
        deadline: deadline_label(due, config),
        on_behalf: m.sent_on_behalf != 0,
        from: m.from_addr.clone(),
        categories: counts.into_iter().map(|(n, count)| Category { label: config.categories.label((n > 0).then_some(n)), count }).collect(),
        works,
        documents,
        links,
        fetching: config.links.fetch,
        rejected,
        flagged,
        office: office.to_string(),
    };
    let rendered = templates.render("receipt.txt", &ctx).map_err(anyhow::Error::msg)?;
    let (subject, text) = super::split_subject(&rendered);
    Ok(Some(Draft {
        key: format!("{}{}", KEY, m.id),
        kind: "receipt",
        department: m.department.clone(),
        cycle: m.cycle.clone(),
        to: vec![m.from_addr.clone()],
        cc: vec![],
        subject,
        text,
        html: None,
        inline: vec![],
    }))
}

/// How a link item of the package stands, from its row in the download queue.
async fn link(db: &Db, config: &Config, it: &db::items::ItemRow) -> anyhow::Result<Link> {
    let row = db::links::by_message_url(db, it.message_ref, &it.url).await?;
    let Some(l) = row.map(|r| r.link) else {
        let expires = if it.expires_at > 0 { short(it.expires_at, config) } else { "未知".into() };
        let size = if it.size > 0 { crate::links::mib(it.size) } else { String::new() };
        return Ok(Link { name: it.shown_name.clone(), size, expires, expires_guessed: false, state: "unknown", reason: String::new() });
    };
    let state = match l.state {
        State::Waiting => "waiting",
        State::Fetched | State::TakenIn => "in",
        State::NeedsOffice | State::Expired => "failed",
    };
    Ok(Link {
        name: it.shown_name.clone(),
        size: if l.caption_size > 0 { crate::links::mib(l.caption_size) } else { String::new() },
        expires: if l.expires_at > 0 { short(l.expires_at, config) } else { "未知".into() },
        expires_guessed: l.expiry_guessed != 0,
        state,
        reason: l.detail,
    })
}

/// "2024年3月25日": the last day that is on time.
pub fn deadline_label(due_before: i64, config: &Config) -> String {
    let last = local(due_before - 1, config.timezone);
    format!("{}年{}月{}日", chrono::Datelike::year(&last), chrono::Datelike::month(&last), chrono::Datelike::day(&last))
}
