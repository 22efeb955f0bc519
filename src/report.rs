//! The board for a cycle: every department's state and counts, and the review queue.
//! `status --json` prints this structure; its field names are fixed for tools.

pub mod tongbao;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::config::Config;
use crate::cycle::{self, Cycle, State};
use crate::db::items::{Kind, Status};
use crate::db::{self, Db};
use crate::rejection::{Flag, Rejection};

#[derive(Debug, Serialize)]
pub struct Board {
    pub cycle: String,
    pub due_before: String,
    pub as_of: String,
    pub departments: Vec<DepartmentRow>,
    pub review_queue: Vec<ReviewEntry>,
    /// Messages refused whole (too many parts, unparseable …) received in the cycle's month.
    pub rejected_messages: Vec<RejectedMessage>,
    /// Messages whose processing failed every time it was tried (a disk or database
    /// error, not a problem of the mail), received in the cycle's month: their raw
    /// mail is kept, and nothing of them is counted until they are processed again.
    pub failed_messages: Vec<FailedMessage>,
    /// Health of each watched mailbox.
    pub mailbox: Vec<MailboxHealth>,
    /// Sending on hold (a refused SMTP login or a failed TLS connection): queued mail
    /// waits, nothing is failed, and sending is tried again every 30 minutes.
    pub outbox_hold: Vec<OutboxHold>,
    /// Not one message (package, correspondence, held, refused or failed) was received
    /// in the cycle's month by `as_of`: the mailbox may not be connected, or nobody has
    /// sent anything yet.
    pub no_mail_received: bool,
}

#[derive(Debug, Serialize)]
pub struct OutboxHold {
    pub account: String,
    /// What went wrong and what to do, in Chinese.
    pub reason: String,
    pub since: String,
    pub next_try_at: String,
    /// Mail waiting in the outbox.
    pub waiting: i64,
}

#[derive(Debug, Serialize)]
pub struct MailboxHealth {
    pub account: String,
    pub last_ok_at: Option<String>,
    pub last_error: String,
    pub last_error_at: Option<String>,
    /// No successful check within `imap.stale_after` of `as_of`.
    pub stale: bool,
}

#[derive(Debug, Serialize)]
pub struct RejectedMessage {
    pub id: String,
    pub from: String,
    pub subject: String,
    pub received_at: String,
    pub department: String,
    pub code: String,
    pub reason: String,
    /// What went wrong, for `processing_failed` (empty otherwise).
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct FailedMessage {
    pub id: String,
    pub from: String,
    pub subject: String,
    pub received_at: String,
    pub source: String,
    pub error: String,
}

#[derive(Debug, Serialize, Default)]
pub struct DepartmentRow {
    pub department: String,
    /// Its code in JSON (on_time, late, missing, pending).
    #[serde(serialize_with = "state_code")]
    pub state: State,
    pub first_received_at: Option<String>,
    pub late_by_seconds: i64,
    pub packages: i64,
    pub photos: i64,
    pub videos: i64,
    pub documents: i64,
    pub rejected: i64,
    /// Photos and videos another department sent first this month (`shared_work`):
    /// listed, not counted in `photos` or `videos`.
    pub shared: i64,
    pub external_links: i64,
    /// 超大附件 links of its packages this month: fetched or taken in, waiting, and
    /// needing the office (expired included). A link whose file is in counts once, as
    /// the photo or video it became, and here as `fetched`.
    pub links: db::links::Counts,
    pub by_category: BTreeMap<String, i64>,
    /// How many of its items carry each flag, and how many of its packages carry each
    /// message flag (`sent_on_behalf`, `bad_date`, `message_id_collision`, `unknown_charset`).
    pub flags: BTreeMap<String, i64>,
    /// The last day granted by `baosong extend`, if any (YYYY-MM-DD).
    pub extended_until: Option<String>,
}

fn state_code<S: serde::Serializer>(state: &State, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.code())
}

#[derive(Debug, Serialize)]
pub struct ReviewEntry {
    pub id: String,
    pub from: String,
    pub subject: String,
    pub received_at: String,
    pub guessed_department: String,
    /// Why it is held (`rejection::HeldReason`), '' for a sender not on the roster.
    pub reason_code: String,
    /// The same in Chinese.
    pub reason: String,
    /// What checking its sender found, in Chinese; '' when it was never checked.
    pub sender_auth: String,
}

/// Why held mail with `reason_code` is held, in Chinese.
pub fn held_reason(reason_code: &str) -> &'static str {
    crate::rejection::HeldReason::from_code(reason_code).map_or("发件地址不在单位名单中，需确认是哪个单位所发", |r| r.reason())
}

/// A time for tools: RFC 3339 in the configured time zone (every `--json` output).
pub fn rfc3339(at: i64, config: &Config) -> String {
    cycle::local(at, config.timezone).to_rfc3339()
}

/// The one format of a time for people: "2024-03-19 10:12", local time
/// (`config.timezone`). Tables, lists and summaries all use it.
pub fn shown_time(at: i64, config: &Config) -> String {
    cycle::local(at, config.timezone).format(SHOWN).to_string()
}

/// `shown_time` of a time the board holds as RFC 3339 (already in local time).
pub fn shown(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map(|t| t.format(SHOWN).to_string()).unwrap_or_else(|_| rfc3339.to_string())
}

const SHOWN: &str = "%Y-%m-%d %H:%M";

/// When a department's package for `cycle` becomes late: the configured deadline, or
/// the day after an extension's last day (local midnight).
pub async fn due_before(db: &Db, config: &Config, department: &str, cycle: Cycle) -> anyhow::Result<i64> {
    let ext = db::outbox::extensions(db, &cycle.to_string()).await?;
    Ok(due_with(config, cycle, ext.iter().find(|(d, _)| d == department).map(|(_, u)| u.as_str())))
}

fn due_with(config: &Config, cycle: Cycle, extended_until: Option<&str>) -> i64 {
    extended_until
        .and_then(|u| chrono::NaiveDate::parse_from_str(u, "%Y-%m-%d").ok())
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| chrono::TimeZone::from_local_datetime(&config.timezone, &t).earliest())
        .map(|t| t.timestamp())
        .unwrap_or_else(|| cycle.due_before(config.deadline_day, config.timezone).timestamp())
}

/// The board of `cycle` as it stood at `as_of`: mail received later does not count.
pub async fn board(db: &Db, config: &Config, cycle: Cycle, as_of: i64) -> anyhow::Result<Board> {
    let due = cycle.due_before(config.deadline_day, config.timezone);
    let departments = department_rows(db, config, cycle, as_of).await?;
    let review_queue = review_queue(db, config, as_of).await?;
    let month_start = cycle.start(config.timezone).timestamp();
    let month_end = cycle.next().start(config.timezone).timestamp() - 1;
    let rejected_messages = rejected_messages(db, config, month_start, month_end.min(as_of)).await?;
    // Anything at all received in the month (by as_of), whatever became of it.
    let no_mail_received = db::messages::received_between(db, month_start, month_end.min(as_of) + 1).await?.is_empty();
    let failed_messages = failed_messages(db, config, month_start, month_end.min(as_of)).await?;
    let mailbox = mailbox_health(db, config, as_of).await?;
    let outbox_hold = outbox_holds(db, config).await?;
    Ok(Board {
        mailbox,
        outbox_hold,
        cycle: cycle.to_string(),
        due_before: due.to_rfc3339(),
        as_of: rfc3339(as_of, config),
        departments,
        review_queue,
        rejected_messages,
        failed_messages,
        no_mail_received,
    })
}

/// The board's rows by department: the roster's, in roster order, and after them a
/// row for any other department the cycle's mail was recorded under.
struct Rows {
    rows: Vec<DepartmentRow>,
    index: HashMap<String, usize>,
}

impl Rows {
    fn new(config: &Config) -> Rows {
        let rows: Vec<DepartmentRow> = config.roster.departments().iter().map(|d| empty_row(&d.name)).collect();
        let index = rows.iter().enumerate().map(|(i, r)| (r.department.clone(), i)).collect();
        Rows { rows, index }
    }

    fn of(&mut self, name: &str) -> &mut DepartmentRow {
        let i = *self.index.entry(name.to_string()).or_insert_with(|| {
            self.rows.push(empty_row(name));
            self.rows.len() - 1
        });
        &mut self.rows[i]
    }
}

/// Every department's packages, files by status and kind, categories, flags and
/// links in `cycle` as received by `as_of`, and its state against its deadline.
pub async fn department_rows(db: &Db, config: &Config, cycle: Cycle, as_of: i64) -> anyhow::Result<Vec<DepartmentRow>> {
    let cycle_s = cycle.to_string();
    let packages = db::messages::packages(db, &cycle_s, as_of).await?;
    let counts = db::items::board_counts(db, &cycle_s, as_of).await?;

    let mut rows = Rows::new(config);
    for p in &packages {
        let r = rows.of(&p.department);
        r.packages += 1;
        // A whole message's marks (sent_on_behalf, bad_date …) count once per package.
        for f in p.flags.split(',').filter(|f| !f.is_empty()) {
            *r.flags.entry(f.to_string()).or_default() += 1;
        }
    }
    // When each department's first counted work or link came in.
    let mut first: HashMap<String, i64> = HashMap::new();
    for c in &counts {
        add_items(rows.of(&c.department), c, &mut first);
    }
    for (department, c) in db::links::counts(db, &cycle_s, as_of).await? {
        rows.of(&department).links = c;
    }
    let extensions = db::outbox::extensions(db, &cycle_s).await?;
    let mut rows = rows.rows;
    for r in &mut rows {
        let f = first.get(&r.department).copied();
        let ext = extensions.iter().find(|(d, _)| *d == r.department).map(|(_, u)| u.clone());
        let st = cycle::state(due_with(config, cycle, ext.as_deref()), f, as_of);
        r.extended_until = ext;
        r.state = st;
        r.first_received_at = f.map(|t| rfc3339(t, config));
        if let State::Late { by_seconds } = st {
            r.late_by_seconds = by_seconds;
        }
    }
    Ok(rows)
}

/// Adds `c`, a count of one department's files of one status, kind, category and
/// flags, to its row, and moves its first arrival earlier if these came first.
fn add_items(r: &mut DepartmentRow, c: &db::items::BoardCount, first: &mut HashMap<String, i64>) {
    let n = c.n;
    for f in c.flags.split(',').filter(|f| !f.is_empty()) {
        *r.flags.entry(f.to_string()).or_default() += n;
    }
    match c.status {
        Status::Rejected => r.rejected += n,
        Status::Shared => r.shared += n,
        Status::Accepted => {
            match c.kind {
                Kind::Photo => r.photos += n,
                Kind::Video => r.videos += n,
                Kind::Document => r.documents += n,
                Kind::Link => r.external_links += n,
                Kind::None => {}
            }
            if c.kind.is_work() {
                *r.by_category.entry(c.category.clone()).or_default() += n;
            }
            if c.kind.is_work() || c.kind == Kind::Link {
                let e = first.entry(c.department.clone()).or_insert(c.first_received);
                *e = (*e).min(c.first_received);
            }
        }
        _ => {}
    }
}

async fn review_queue(db: &Db, config: &Config, as_of: i64) -> anyhow::Result<Vec<ReviewEntry>> {
    let held = db::messages::held(db, as_of).await?;
    let auth = db::sender_auth::of_messages(db, &held.iter().map(|m| m.id).collect::<Vec<_>>()).await?;
    Ok(held
        .into_iter()
        .map(|m| ReviewEntry {
            id: m.id.to_string(),
            from: m.from_addr,
            subject: m.subject,
            received_at: rfc3339(m.received_at, config),
            guessed_department: m.guessed_department,
            reason: held_reason(&m.reason_code).to_string(),
            sender_auth: auth.get(&m.id).map(|e| e.summary()).unwrap_or_default(),
            reason_code: m.reason_code,
        })
        .collect())
}

async fn rejected_messages(db: &Db, config: &Config, from: i64, to: i64) -> anyhow::Result<Vec<RejectedMessage>> {
    Ok(db::messages::rejected_between(db, from, to)
        .await?
        .into_iter()
        .map(|m| RejectedMessage {
            id: m.id.to_string(),
            from: m.from_addr,
            subject: m.subject,
            received_at: rfc3339(m.received_at, config),
            department: m.department,
            reason: Rejection::from_code(&m.reason_code).map(Rejection::reason).unwrap_or("").to_string(),
            code: m.reason_code,
            detail: m.detail,
        })
        .collect())
}

async fn failed_messages(db: &Db, config: &Config, from: i64, to: i64) -> anyhow::Result<Vec<FailedMessage>> {
    Ok(db::messages::failed_between(db, from, to)
        .await?
        .into_iter()
        .map(|m| FailedMessage {
            id: m.id.to_string(),
            from: m.from_addr,
            subject: m.subject,
            received_at: rfc3339(m.received_at, config),
            source: m.source,
            error: m.detail,
        })
        .collect())
}

async fn mailbox_health(db: &Db, config: &Config, as_of: i64) -> anyhow::Result<Vec<MailboxHealth>> {
    let stale_after = config.imap.as_ref().map_or(30 * 60, |i| i.stale_after.as_secs() as i64);
    Ok(db::cursors::health(db)
        .await?
        .into_iter()
        .map(|h| MailboxHealth {
            stale: h.last_ok_at == 0 || as_of - h.last_ok_at > stale_after,
            last_ok_at: (h.last_ok_at > 0).then(|| rfc3339(h.last_ok_at, config)),
            last_error_at: (h.last_error_at > 0).then(|| rfc3339(h.last_error_at, config)),
            last_error: h.last_error,
            account: h.account,
        })
        .collect())
}

async fn outbox_holds(db: &Db, config: &Config) -> anyhow::Result<Vec<OutboxHold>> {
    let waiting = db::outbox::pending(db, 0).await?.0;
    Ok(db::outbox::holds(db)
        .await?
        .into_iter()
        .map(|h| OutboxHold { account: h.account, reason: h.reason, since: rfc3339(h.since, config), next_try_at: rfc3339(h.next_try_at, config), waiting })
        .collect())
}

fn empty_row(name: &str) -> DepartmentRow {
    let mut by_category: BTreeMap<String, i64> = (1..=10).map(|n| (n.to_string(), 0)).collect();
    by_category.insert("uncategorized".into(), 0);
    DepartmentRow { department: name.to_string(), by_category, ..Default::default() }
}

/// Display width on a terminal: CJK and full-width characters take two columns;
/// symbols such as — and ① take one, as most terminals draw them.
pub fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

pub fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// "1天3小时", "45分钟".
pub fn duration_zh(secs: i64) -> String {
    let (d, h, m) = (secs / 86400, secs % 86400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{}分钟", m.max(1)),
        (0, h) => format!("{h}小时{m}分钟"),
        (d, h) => format!("{d}天{h}小时"),
    }
}

/// "①2 ⑤1 未分类1": a department's counted works by category.
pub fn categories_line(d: &DepartmentRow) -> String {
    let mut cats: Vec<String> = (1..=10u8)
        .filter_map(|n| d.by_category.get(&n.to_string()).filter(|c| **c > 0).map(|c| format!("{}{c}", crate::categories::CIRCLED[usize::from(n) - 1])))
        .collect();
    if let Some(c) = d.by_category.get("uncategorized").filter(|c| **c > 0) {
        cats.push(format!("未分类{c}"));
    }
    cats.join(" ")
}

/// "重复2 模糊1 代发1": flag counts with their short Chinese labels, in `Flag` order.
/// 超大附件 is left out: the 链接 column counts those already.
pub fn flags_line(flags: &BTreeMap<String, i64>) -> String {
    Flag::ALL
        .into_iter()
        .filter(|f| *f != Flag::ExternalLink)
        .filter_map(|f| flags.get(f.code()).filter(|n| **n > 0).map(|n| format!("{}{n}", f.label())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "已取 1 · 待取 0 · 待办 1": a department's 超大附件 links (fetched or taken in,
/// waiting for a download, needing the office); '' when it has none.
pub fn links_line(c: &db::links::Counts) -> String {
    if c.fetched + c.waiting + c.needs_office == 0 {
        return String::new();
    }
    format!("已取 {} · 待取 {} · 待办 {}", c.fetched, c.waiting, c.needs_office)
}

/// How many 超大附件 links without their file a department has when they are all it
/// sent: its state (按时 …) rests on links alone, and the board says so, so that it does
/// not read as an empty package. 0 when it has a counted file or no such link.
pub fn only_links(d: &DepartmentRow) -> i64 {
    let pending = d.links.waiting + d.links.needs_office;
    if d.photos + d.videos + d.documents + d.shared > 0 { 0 } else { pending }
}

/// The board as a Chinese table, for `baosong status`.
pub fn render(b: &Board) -> String {
    let mut out = format!("{} 月份报送情况    截止：{} 前    统计时间：{}\n\n", b.cycle, shown(&b.due_before), shown(&b.as_of));
    out += &table(&b.departments);
    out += &totals(b);
    out += &notes(b);
    out += &mail_health(b);
    out += &review_list(&b.review_queue);
    out
}

/// A department's 状态 cell: "逾期1天3小时（延至03-28）（文件未到）".
fn state_cell(d: &DepartmentRow) -> String {
    let mut state = if d.late_by_seconds > 0 { format!("{}{}", d.state.label(), duration_zh(d.late_by_seconds)) } else { d.state.label().to_string() };
    if let Some(u) = &d.extended_until {
        state += &format!("（延至{}）", u.get(5..).unwrap_or(u));
    }
    if only_links(d) > 0 {
        state += "（文件未到）";
    }
    state
}

/// The departments' table: a header, then a line per department, columns padded to
/// their widest cell.
fn table(departments: &[DepartmentRow]) -> String {
    let name_w = departments.iter().map(|d| width(&d.department)).max().unwrap_or(8).max(8) + 2;
    let cats_w = departments.iter().map(|d| width(&categories_line(d))).max().unwrap_or(0).max(8) + 2;
    let links_w = departments.iter().map(|d| width(&links_line(&d.links))).max().unwrap_or(0).max(8) + 2;
    let state_w = departments.iter().map(|d| width(&state_cell(d))).max().unwrap_or(0).max(14) + 2;
    let mut out = format!(
        "{}{}{}{}{}{}{}{}{}{}{}\n",
        pad("单位", name_w),
        pad("状态", state_w),
        pad("首次报送", 18),
        pad("邮件", 6),
        pad("照片", 6),
        pad("视频", 6),
        pad("文档", 6),
        pad("拒收", 6),
        pad("超大附件", links_w),
        pad("类别分布", cats_w),
        "标记"
    );
    for d in departments {
        let state = state_cell(d);
        let first = d.first_received_at.as_deref().map(shown).unwrap_or_else(|| "—".into());
        out += format!(
            "{}{}{}{}{}{}{}{}{}{}{}\n",
            pad(&d.department, name_w),
            pad(&state, state_w),
            pad(&first, 18),
            pad(&d.packages.to_string(), 6),
            pad(&d.photos.to_string(), 6),
            pad(&d.videos.to_string(), 6),
            pad(&d.documents.to_string(), 6),
            pad(&d.rejected.to_string(), 6),
            pad(&links_line(&d.links), links_w),
            pad(&categories_line(d), cats_w),
            flags_line(&d.flags)
        )
        .trim_end();
        out += "\n";
    }
    out
}

/// How many departments are in each state, and a warning when the month has no mail at all.
fn totals(b: &Board) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &b.departments {
        *counts.entry(d.state.label()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v} 个")).collect();
    let mut out = format!("\n共 {} 个单位：{}\n", b.departments.len(), summary.join("，"));
    if b.no_mail_received {
        // The month may not be over yet at as_of.
        let whole = b.as_of.get(..7).is_none_or(|m| m > b.cycle.as_str());
        let when = if whole { format!("{} 整月", b.cycle) } else { format!("{} 至今", b.cycle) };
        out += &format!("{when}没有收到任何邮件（可能邮箱没有连上，或还没有单位报送）。\n");
    }
    out
}

/// Messages refused whole or failed, then duplicate and shared files.
fn notes(b: &Board) -> String {
    let mut out = String::new();
    for m in &b.rejected_messages {
        let detail = if m.detail.is_empty() { String::new() } else { format!("（{}）", m.detail) };
        out += &format!("整封拒收 [{}] {}  {}  「{}」：{}{detail}\n", m.id, shown(&m.received_at), m.from, m.subject, m.reason);
    }
    for m in &b.failed_messages {
        out += &format!("处理失败 [{}] {}  {}  「{}」：{}（原始邮件已保存，未计入；请检查磁盘和数据库后联系管理员）\n", m.id, shown(&m.received_at), m.from, m.subject, m.error);
    }
    let dups: i64 = b.departments.iter().map(|d| d.flags.get("duplicate").copied().unwrap_or(0)).sum();
    if dups > 0 {
        out += &format!("重复文件 {dups} 个（只计一次）\n");
    }
    let shared: i64 = b.departments.iter().map(|d| d.shared).sum();
    if shared > 0 {
        out += &format!("与其他单位共享的作品 {shared} 个（只计入最先报送的单位）\n");
    }
    out
}

/// Each mailbox's last check, and sending on hold.
fn mail_health(b: &Board) -> String {
    let mut out = String::new();
    for m in &b.mailbox {
        let ok = m.last_ok_at.as_deref().map(shown).unwrap_or_else(|| "从未成功".into());
        out += &format!("邮箱 {}：上次成功检查 {ok}", m.account);
        if !m.last_error.is_empty() {
            out += &format!("；最近错误（{}）：{}", m.last_error_at.as_deref().map(shown).unwrap_or_default(), m.last_error);
        }
        out += "\n";
        if m.stale {
            out += "  ⚠ 已较长时间没有成功检查邮箱，请确认 baosong run 正在运行、网络和授权码正常\n";
        }
    }
    for h in &b.outbox_hold {
        out += &format!(
            "⚠ 发信已暂停（{} 起）：{}。\n  发件箱中 {} 封待发邮件都保留着，不会丢失；每 30 分钟自动重试一次（下次 {}）。\n",
            shown(&h.since),
            h.reason,
            h.waiting,
            shown(&h.next_try_at)
        );
    }
    out
}

fn review_list(queue: &[ReviewEntry]) -> String {
    if queue.is_empty() {
        return "待审核：无\n".to_string();
    }
    let mut out = format!("待审核 {} 封（baosong quarantine approve 编号 --department 单位 批准）：\n", queue.len());
    for r in queue {
        let guess = if r.guessed_department.is_empty() { "无法判断".to_string() } else { r.guessed_department.clone() };
        out += &format!("  [{}] {}  {}  「{}」  疑似：{}\n", r.id, shown(&r.received_at), r.from, r.subject, guess);
        if !r.reason_code.is_empty() {
            out += &format!("      原因：{}\n", r.reason);
        }
        if !r.sender_auth.is_empty() {
            out += &format!("      发件人验证：{}\n", r.sender_auth);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::links::Counts;

    #[test]
    fn links_column_and_departments_with_links_alone() {
        assert_eq!(links_line(&Counts::default()), "", "no links: an empty cell");
        assert_eq!(links_line(&Counts { fetched: 1, waiting: 0, needs_office: 1 }), "已取 1 · 待取 0 · 待办 1");
        let mut d = empty_row("嘎鲁图派出所");
        d.links = Counts { fetched: 0, waiting: 1, needs_office: 1 };
        assert_eq!(only_links(&d), 2, "only links without their file");
        d.videos = 1;
        assert_eq!(only_links(&d), 0, "a counted file: the package is not empty");
        let mut d = empty_row("图克派出所");
        d.links = Counts { fetched: 1, ..Counts::default() };
        assert_eq!(only_links(&d), 0);
    }
}
