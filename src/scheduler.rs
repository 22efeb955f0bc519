//! The daily jobs: receipts for new packages and a follow-up for each 超大附件 link
//! that ended, the digest once per date after `digest_time`, reminders after
//! `reminder_time`, and the office's reminder of each link about to expire. Every job
//! only writes to the outbox under a unique key, so running it twice, or after a
//! restart, sends nothing twice; a daemon that was down over 08:00 sends that day's
//! digest when it is back.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::config::Config;
use crate::config::notify::NotifyConfig;
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

/// Who the office signs as: the sending account's display name, else 宣传工作领导小组办公室.
pub fn office_name(config: &Config) -> String {
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

/// The date whose digest is due at `now`: today's (local), once `digest_time` has passed.
pub fn digest_due(now: i64, n: &NotifyConfig, tz: Tz) -> Option<NaiveDate> {
    let t = local(now, tz);
    (t.time() >= n.digest_time).then(|| t.date_naive())
}

/// Whether today's reminders are due at `now`: `reminder_time` (local) has passed.
pub fn reminders_due(now: i64, n: &NotifyConfig, tz: Tz) -> bool {
    local(now, tz).time() >= n.reminder_time
}

/// Today's digest, once `digest_time` has passed.
pub async fn daily_digest(db: &Db, config: &Config, store: &crate::store::Store, now: i64) -> anyhow::Result<bool> {
    let Some(n) = &config.notify else { return Ok(false) };
    let Some(date) = digest_due(now, n, config.timezone).filter(|_| !n.office.is_empty()) else { return Ok(false) };
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
        if reminders_due(now, n, config.timezone) {
            for d in reminders(db, config, now).await? {
                queued += usize::from(enqueue(db, config, &d, now).await?);
            }
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::store::Store;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    /// Unix seconds of a local time in `tz`.
    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        tz.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().timestamp()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_digest_is_due_from_digest_time_for_the_local_date() {
        let n = NotifyConfig::default();
        assert_eq!(digest_due(at(SHANGHAI, 2024, 5, 21, 7, 59), &n, SHANGHAI), None);
        assert_eq!(digest_due(at(SHANGHAI, 2024, 5, 21, 8, 0), &n, SHANGHAI), Some(date(2024, 5, 21)));
        assert_eq!(digest_due(at(SHANGHAI, 2024, 5, 21, 23, 59), &n, SHANGHAI), Some(date(2024, 5, 21)));
        // 00:30 UTC is 08:30 in Shanghai: the office's date and time decide, not UTC's.
        let utc_half_past_midnight = chrono::Utc.with_ymd_and_hms(2024, 5, 21, 0, 30, 0).unwrap().timestamp();
        assert_eq!(digest_due(utc_half_past_midnight, &n, SHANGHAI), Some(date(2024, 5, 21)));
        assert_eq!(digest_due(utc_half_past_midnight, &n, chrono_tz::UTC), None);
        let evening = NotifyConfig { digest_time: chrono::NaiveTime::from_hms_opt(18, 30, 0).unwrap(), ..NotifyConfig::default() };
        assert_eq!(digest_due(at(SHANGHAI, 2024, 5, 21, 18, 29), &evening, SHANGHAI), None);
        assert_eq!(digest_due(at(SHANGHAI, 2024, 5, 21, 18, 30), &evening, SHANGHAI), Some(date(2024, 5, 21)));
    }

    #[test]
    fn reminders_are_due_from_reminder_time() {
        let n = NotifyConfig::default();
        assert!(!reminders_due(at(SHANGHAI, 2024, 5, 25, 8, 59), &n, SHANGHAI));
        assert!(reminders_due(at(SHANGHAI, 2024, 5, 25, 9, 0), &n, SHANGHAI));
        assert!(reminders_due(at(SHANGHAI, 2024, 5, 25, 23, 59), &n, SHANGHAI));
        assert!(!reminders_due(at(SHANGHAI, 2024, 5, 26, 0, 0), &n, SHANGHAI));
    }

    /// The daemon wakes every `outbox::TICK`; on tokio's paused clock a day of ticks
    /// runs at once. The digest and the reminders become due at the first tick after
    /// their time and stay due until midnight.
    #[tokio::test(start_paused = true)]
    async fn a_day_of_ticks_finds_the_digest_and_the_reminders_due_within_a_tick_of_their_time() {
        let n = NotifyConfig::default();
        let midnight = at(SHANGHAI, 2024, 5, 25, 0, 0);
        let start = tokio::time::Instant::now();
        let mut seen: Vec<(i64, Option<NaiveDate>, bool)> = Vec::new();
        while start.elapsed() < Duration::from_secs(26 * 3600) {
            let now = midnight + start.elapsed().as_secs() as i64;
            seen.push((now - midnight, digest_due(now, &n, SHANGHAI), reminders_due(now, &n, SHANGHAI)));
            tokio::time::sleep(crate::outbox::TICK).await;
        }
        let tick = crate::outbox::TICK.as_secs() as i64;
        assert_eq!(seen.len() as i64, 26 * 3600 / tick);
        let first_digest = seen.iter().find(|s| s.1.is_some()).map(|s| s.0);
        let first_reminders = seen.iter().find(|s| s.2).map(|s| s.0);
        assert!(first_digest.is_some_and(|t| (8 * 3600..8 * 3600 + tick).contains(&t)), "{first_digest:?}");
        assert!(first_reminders.is_some_and(|t| (9 * 3600..9 * 3600 + tick).contains(&t)), "{first_reminders:?}");
        for &(t, digest, reminders) in &seen {
            let today = t < 24 * 3600;
            assert_eq!(digest, (today && Some(t) >= first_digest).then(|| date(2024, 5, 25)), "at {t}");
            assert_eq!(reminders, today && Some(t) >= first_reminders, "at {t}");
        }
    }

    // What follows writes the outbox, so it runs on the real clock: under a paused
    // clock tokio jumps ahead while SQLite works on its own thread, and sqlx's pool
    // times out. Time is an argument there anyway.

    /// An office that sends notices: the shipped departments, `[smtp]` (unless
    /// `smtp` is empty), and `[notify]` with its defaults (digest 08:00, reminders
    /// 09:00, deadline the 25th) and no quiet hours. Nothing is sent; the tests read
    /// the outbox.
    struct Office {
        _dir: tempfile::TempDir,
        config: Config,
        db: Db,
        store: Store,
    }

    const SMTP: &str = "[smtp]\nhost = \"localhost\"\nport = 465\nuser = \"office@example.com\"\nfrom = \"宣传办 <office@example.com>\"\n";

    fn config_in(dir: &std::path::Path, text: &str) -> Config {
        let departments = concat!(env!("CARGO_MANIFEST_DIR"), "/config/departments.toml");
        let path = dir.join("baosong.toml");
        std::fs::write(&path, format!("[intake]\ndepartments_file = \"{departments}\"\n\n{text}")).unwrap();
        Config::load(Some(&path)).unwrap()
    }

    async fn office(smtp: &str) -> Office {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path(), &format!("{smtp}\n[notify]\noffice = [\"office@example.com\"]\nquiet_hours = \"none\"\n"));
        let db = Db::open(&config.database_url).await.unwrap();
        let store = Store::open(&config.data_dir).unwrap();
        Office { _dir: dir, config, db, store }
    }

    async fn keys(db: &Db) -> Vec<String> {
        let mut k: Vec<String> = db::outbox::list(db, 1000).await.unwrap().into_iter().map(|r| r.key).collect();
        k.sort();
        k
    }

    #[test]
    fn the_office_is_named_by_the_sender_and_the_mailbox_is_imap_else_smtp() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config_in(dir.path(), "");
        assert_eq!(office_name(&c), "宣传工作领导小组办公室");
        assert_eq!(mailbox_address(&c), "");
        c.smtp = config_in(dir.path(), SMTP).smtp;
        assert_eq!(office_name(&c), "宣传办");
        assert_eq!(mailbox_address(&c), "office@example.com");
    }

    #[tokio::test]
    async fn the_digest_waits_for_its_time_and_goes_once_per_date() {
        let o = office(SMTP).await;
        let (db, config, store) = (&o.db, &o.config, &o.store);
        let tz = config.timezone;
        assert!(!daily_digest(db, config, store, at(tz, 2024, 5, 21, 7, 59)).await.unwrap(), "before digest_time");
        assert!(daily_digest(db, config, store, at(tz, 2024, 5, 21, 8, 0)).await.unwrap());
        assert!(!daily_digest(db, config, store, at(tz, 2024, 5, 21, 8, 0)).await.unwrap(), "the same time again");
        assert!(!daily_digest(db, config, store, at(tz, 2024, 5, 21, 23, 59)).await.unwrap(), "later the same day");
        assert!(!daily_digest(db, config, store, at(tz, 2024, 5, 22, 7, 0)).await.unwrap());
        assert!(daily_digest(db, config, store, at(tz, 2024, 5, 22, 13, 0)).await.unwrap(), "a daemon down over 08:00 sends it when back");
        assert_eq!(keys(db).await, ["digest:2024-05-21", "digest:2024-05-22"]);
    }

    #[tokio::test]
    async fn without_smtp_or_recipients_nothing_is_queued() {
        let o = office("").await;
        let now = at(o.config.timezone, 2024, 5, 21, 9, 0);
        assert!(tick(&o.db, &o.config, &o.store, now).await.is_err(), "notices without [smtp] are a configuration error");
        let o = office(SMTP).await;
        let d = Draft { key: "test:1".into(), kind: "test", department: String::new(), cycle: String::new(), to: vec![], cc: vec![], subject: "s".into(), text: "t".into(), html: None, inline: vec![] };
        assert!(!enqueue(&o.db, &o.config, &d, now).await.unwrap());
        assert!(keys(&o.db).await.is_empty());
    }

    /// Deadline day with nothing received, ticked every half hour, then ticked again
    /// (a restart): the digest at 08:00, each department's deadline reminder at 09:00,
    /// nothing else and nothing twice.
    #[tokio::test]
    async fn deadline_day_queues_the_digest_at_eight_and_each_reminder_at_nine_once() {
        let o = office(SMTP).await;
        let (db, config, store) = (&o.db, &o.config, &o.store);
        let midnight = at(config.timezone, 2024, 5, 25, 0, 0);
        let expected = reminders(db, config, midnight + 9 * 3600).await.unwrap();
        assert!(!expected.is_empty(), "on deadline day every department is reminded");
        for round in 0..2 {
            let mut queued_at: Vec<(i64, usize)> = Vec::new();
            for half_hour in 0..48 {
                let now = midnight + half_hour * 1800;
                let n = tick(db, config, store, now).await.unwrap();
                if n > 0 {
                    queued_at.push((now - midnight, n));
                }
            }
            let want: &[(i64, usize)] = if round == 0 { &[(8 * 3600, 1), (9 * 3600, expected.len())] } else { &[] };
            assert_eq!(queued_at, want, "round {round}");
        }
        let keys = keys(db).await;
        assert_eq!(keys.len(), 1 + expected.len());
        assert!(keys.contains(&"digest:2024-05-25".to_string()));
        assert!(expected.iter().all(|d| keys.contains(&d.key) && d.key.ends_with(":2024-05:deadline")), "{keys:?}");
    }
}
