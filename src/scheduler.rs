//! The daily jobs: receipts for new packages and a follow-up for each 超大附件 link
//! that ended, the digest once per date after `digest_time`, reminders after
//! `reminder_time`, and the office's reminder of each link about to expire. Every job
//! only writes to the outbox under a unique key, so running it twice, or after a
//! restart, sends nothing twice; a daemon that was down over 08:00 sends that day's
//! digest when it is back.

use chrono::NaiveDate;

use crate::config::Config;
use crate::cycle::{self, Cycle, local};
use crate::db::{self, AlreadyExists, Db};
use crate::notify::reminder::{self, Reminder};
use crate::notify::{self, Draft};
use crate::report;

/// Writes a draft to the outbox; false when one with its key was already there.
pub async fn enqueue(db: &Db, config: &Config, d: &Draft, now: i64) -> anyhow::Result<bool> {
    let smtp = config.smtp.as_ref().ok_or_else(|| anyhow::anyhow!("{} 中没有 [smtp] 配置，无法发信：加上 [smtp] 一节（provider、user、password_file、from；示例见 config/baosong.toml）", config.origin))?;
    if d.to.is_empty() {
        tracing::warn!(key = %d.key, "没有收件人，跳过");
        return Ok(false);
    }
    let row = notify::to_outbox(d, smtp, now)?;
    Ok(!matches!(db::outbox::enqueue(db, &row).await?, Err(AlreadyExists(_))))
}

fn office_name(config: &Config) -> String {
    config
        .smtp
        .as_ref()
        .and_then(|s| s.from.parse::<lettre::message::Mailbox>().ok())
        .and_then(|m| m.name)
        .unwrap_or_else(|| "宣传工作领导小组办公室".into())
}

/// The address departments send their packages to, as reminders name it: the watched
/// mailbox, else the sending account; empty when neither is configured.
pub fn mailbox_address(config: &Config) -> String {
    config.imap.as_ref().map(|i| i.user.clone()).or_else(|| config.smtp.as_ref().map(|s| s.user.clone())).unwrap_or_default()
}

/// Receipts for packages processed in the last two days that have none yet, then the
/// follow-ups of links that ended (`link_results`).
pub async fn receipts(db: &Db, config: &Config, now: i64) -> anyhow::Result<usize> {
    let (Some(templates), Some(n)) = (&config.templates, &config.notify) else { return Ok(0) };
    if !n.receipts {
        return Ok(0);
    }
    let mut queued = 0;
    for m in db::messages::packages_processed_since(db, now - 2 * 24 * 3600).await? {
        if db::outbox::exists(db, &format!("{}{}", notify::receipt::KEY, m.id)).await? {
            continue;
        }
        if let Some(d) = notify::receipt::draft(db, config, templates, &m, &office_name(config)).await? {
            queued += usize::from(enqueue(db, config, &d, now).await?);
        }
    }
    // After the receipts: a link that ended before its package's receipt was written
    // is told of in the receipt itself.
    queued += link_results(db, config, now).await?;
    Ok(queued)
}

/// One short mail to the sender for each 超大附件 link that ended in the last 7 days
/// after its package's receipt: the file was taken in and counted, or it must be sent
/// again. Once per link and state (`link:<id>:<state>`).
pub async fn link_results(db: &Db, config: &Config, now: i64) -> anyhow::Result<usize> {
    let (Some(templates), Some(n)) = (&config.templates, &config.notify) else { return Ok(0) };
    if !n.receipts {
        return Ok(0);
    }
    let mut queued = 0;
    let since = now - notify::receipt::MAX_AGE;
    for e in db::links::ended_since_with_receipt(db, since, notify::receipt::KEY).await? {
        let k = &e.listed.link;
        if notify::link::follow_up(k.state, k.done_at, e.receipt_at, e.recorded_at, now).is_none() {
            continue;
        }
        if db::outbox::exists(db, &notify::link::follow_up_key(k.id, k.state)).await? {
            continue;
        }
        if let Some(d) = notify::link::result_draft(db, config, templates, &e, &office_name(config), now).await? {
            queued += usize::from(enqueue(db, config, &d, now).await?);
        }
    }
    Ok(queued)
}

/// The office's reminder of each link not in yet that expires within three days, once
/// per link (`link-expiry:<id>`).
pub async fn link_reminders(db: &Db, config: &Config, now: i64) -> anyhow::Result<usize> {
    let (Some(templates), Some(n)) = (&config.templates, &config.notify) else { return Ok(0) };
    if n.office.is_empty() {
        return Ok(0);
    }
    let mut queued = 0;
    for l in db::links::without_file_expiring(db, now, now + notify::link::REMIND_BEFORE).await? {
        if !notify::link::reminder_due(l.link.state, l.link.expires_at, now) || db::outbox::exists(db, &notify::link::reminder_key(l.link.id)).await? {
            continue;
        }
        let d = notify::link::reminder_draft(&l, config, templates, &office_name(config), now)?;
        queued += usize::from(enqueue(db, config, &d, now).await?);
    }
    Ok(queued)
}

/// The digest for `date`.
pub async fn digest(db: &Db, config: &Config, store: &crate::store::Store, date: NaiveDate) -> anyhow::Result<Draft> {
    let templates = config.templates.as_ref().ok_or_else(|| {
        anyhow::anyhow!("{} 中没有 [notify] 配置，无法生成每日汇总：加上 [notify] 一节，写明汇总发给谁，例如 office = [\"1605739848@qq.com\"]（示例见 config/baosong.toml）", config.origin)
    })?;
    notify::digest::draft(db, config, templates, store, date, &office_name(config)).await
}

/// Today's digest, once `digest_time` has passed.
pub async fn daily_digest(db: &Db, config: &Config, store: &crate::store::Store, now: i64) -> anyhow::Result<bool> {
    let Some(n) = &config.notify else { return Ok(false) };
    let t = local(now, config.timezone);
    if t.time() < n.digest_time || n.office.is_empty() {
        return Ok(false);
    }
    let date = t.date_naive();
    if db::outbox::exists(db, &format!("digest:{date}")).await? {
        return Ok(false);
    }
    let d = digest(db, config, store, date).await?;
    enqueue(db, config, &d, now).await
}

/// The reminders due at `as_of` for this cycle and the one before (whose overdue
/// reminders run for `overdue_for_days` after its deadline, then the cycle is closed).
pub async fn reminders(db: &Db, config: &Config, as_of: i64) -> anyhow::Result<Vec<Draft>> {
    let (Some(templates), Some(n)) = (&config.templates, &config.notify) else { return Ok(vec![]) };
    let current = Cycle::at(as_of, config.timezone);
    let previous = Cycle::at(current.start(config.timezone).timestamp() - 1, config.timezone);
    let mut out = Vec::new();
    for cycle in [previous, current] {
        let board = report::board(db, config, cycle, as_of).await?;
        for d in config.roster.departments() {
            let Some(row) = board.departments.iter().find(|r| r.department == d.name) else { continue };
            let due = report::due_before(db, config, &d.name, cycle).await?;
            let until = due + i64::from(n.overdue_for_days) * 24 * 3600;
            let Some((step, at)) = reminder::latest_step(due, until, as_of, n, config.timezone) else { continue };
            let first = row.first_received_at.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp());
            if !reminder::applies(step, cycle::state(due, first, as_of)) {
                continue;
            }
            let r = Reminder { department: d, cycle, step, step_at: at, now: as_of, due_before: due, extended: row.extended_until.is_some() };
            out.push(reminder::draft(&r, templates, config.timezone, &mailbox_address(config), &office_name(config))?);
        }
    }
    Ok(out)
}

/// One round of the daemon's notice work; returns how many mails were queued.
pub async fn tick(db: &Db, config: &Config, store: &crate::store::Store, now: i64) -> anyhow::Result<usize> {
    let mut queued = receipts(db, config, now).await?;
    queued += link_reminders(db, config, now).await?;
    queued += usize::from(daily_digest(db, config, store, now).await?);
    if let Some(n) = &config.notify {
        if local(now, config.timezone).time() >= n.reminder_time {
            for d in reminders(db, config, now).await? {
                queued += usize::from(enqueue(db, config, &d, now).await?);
            }
        }
    }
    Ok(queued)
}
