//! The intake daemon: one persistent IMAP session, a pass over every watched folder,
//! then IDLE (or a poll interval), reconnecting with backoff on any error; beside it,
//! the journal's workers analyse what the passes queued. SIGTERM or SIGINT lets the
//! current transaction finish, logs out and exits.

use std::time::Duration;

use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::db::Db;
use crate::store::Store;
use crate::config::imap::ImapConfig;
use crate::db;
use crate::intake::worker;
use crate::source::imap::backoff::{AUTH_FAILURE_WAIT, Backoff};
use crate::source::imap::{self, ImapError, fetch, folders, has_cap, idle};

/// Totals of one pass over all folders.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassStats {
    pub folders: usize,
    pub ingested: usize,
    pub already: usize,
    pub skipped_before_backfill: usize,
}

/// Folders the server refused (NO or BAD to SELECT), and when: such a folder is not
/// selected again before `poll_interval` has passed, whatever wakes the session in
/// between (IDLE, a reconnect). A folder that keeps answering NO must not make the
/// daemon select it, fail and log in again in a loop: QQ blocks accounts for that.
#[derive(Debug, Default)]
pub struct Refused {
    at: std::collections::HashMap<String, tokio::time::Instant>,
}

impl Refused {
    /// Whether `folder` may be selected at `now`.
    pub fn due(&self, folder: &str, now: tokio::time::Instant, interval: Duration) -> bool {
        self.at.get(folder).is_none_or(|&t| now >= t + interval)
    }

    pub fn refused(&mut self, folder: &str, now: tokio::time::Instant) {
        self.at.insert(folder.to_string(), now);
    }

    pub fn answered(&mut self, folder: &str) {
        self.at.remove(folder);
    }

    /// The folder to IDLE on: the first configured one the server did not refuse.
    pub fn idle_folder<'c>(&self, folders: &'c [String]) -> Option<&'c str> {
        folders.iter().map(String::as_str).find(|f| !self.at.contains_key(*f))
    }
}

/// `baosong poll --once`: connect, one pass, log out; the workers analyse what the
/// pass queues as it arrives, and everything queued (earlier leftovers included) is
/// analysed before this returns. Without `analyse`, mail is only made durable and
/// queued (`--queue-only`).
pub async fn poll_once(config: &Config, db: &Db, store: &Store, cfg: &ImapConfig, password: &str, shutdown: watch::Receiver<bool>, analyse: bool) -> Result<PassStats, ImapError> {
    let wake = Notify::new();
    let (fetched_tx, fetched) = watch::channel(false);
    let fetch = async {
        let result = async {
            let (mut session, _caps) = imap::login(cfg, password).await?;
            let result = pass(db, store, &mut session, cfg, &shutdown, Some(&wake), &mut Refused::default()).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
            result
        }
        .await;
        record_health(db, cfg, &result).await;
        let _ = fetched_tx.send(true);
        result
    };
    let analysis = async {
        if !analyse {
            return Ok(0);
        }
        let mut fetched = fetched;
        loop {
            worker::drain(config, db, store, false, &shutdown, &mut |_, _| {}).await?;
            if *fetched.borrow() || *shutdown.borrow() {
                break;
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = fetched.changed() => {}
            }
        }
        worker::drain(config, db, store, true, &shutdown, &mut |_, _| {}).await
    };
    let (stats, analysed) = tokio::join!(fetch, analysis);
    analysed?;
    stats
}

/// `baosong run`: until `shutdown` turns true. Each of `ingested` is woken after the
/// workers recorded something, so that receipts go out and links are downloaded
/// without waiting for a timer. Beside intake and the workers, the links queue
/// downloads 超大附件 (`links`: none when `[links] fetch = false`); a file it takes in
/// wakes the workers, which record its message again.
pub async fn run(
    config: &Config, db: &Db, store: &Store,
    cfg: &ImapConfig,
    password: &str,
    shutdown: watch::Receiver<bool>,
    ingested: &Notify,
    links: Option<&crate::links::queue::Queue>,
) -> anyhow::Result<()> {
    let wake = Notify::new();
    let new_links = Notify::new();
    let downloads = async {
        match links {
            Some(q) => q.run(&new_links, &wake, shutdown.clone()).await,
            None => Ok(()),
        }
    };
    let recorded = [ingested, &new_links];
    let (intake, analysis, downloads) = tokio::join!(intake(db, store, cfg, password, shutdown.clone(), &wake), worker::run(config, db, store, &wake, shutdown.clone(), &recorded, None), downloads);
    intake.and(analysis).and(downloads)
}

/// The IMAP side of `run`: passes, IDLE, reconnects.
async fn intake(db: &Db, store: &Store, cfg: &ImapConfig, password: &str, mut shutdown: watch::Receiver<bool>, wake: &Notify) -> anyhow::Result<()> {
    let mut backoff = Backoff::default();
    // Kept across reconnects, so that a reconnect does not select a refused folder again.
    let mut refused = Refused::default();
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let result = session(db, store, cfg, password, &mut shutdown, &mut backoff, wake, &mut refused).await;
        let e = match result {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let at = chrono::Utc::now().timestamp();
        if let Err(db_err) = db::cursors::failed(db, &cfg.account(), &e.to_string(), at).await {
            warn!(error = %db_err, "无法记录邮箱状态");
        }
        let wait = if e.is_auth() { AUTH_FAILURE_WAIT } else { backoff.next(fastrand::f64()) };
        error!(error = %e, advice = e.advice(), retry_in_seconds = wait.as_secs(), "邮箱连接中断，稍后重连");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

async fn session(
    db: &Db, store: &Store,
    cfg: &ImapConfig,
    password: &str,
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
    wake: &Notify,
    refused: &mut Refused,
) -> Result<(), ImapError> {
    let (mut session, caps) = imap::login(cfg, password).await?;
    let use_idle = cfg.idle && has_cap(&caps, "IDLE");
    info!(account = %cfg.account(), idle = use_idle, "已登录邮箱");
    loop {
        let result = pass(db, store, &mut session, cfg, shutdown, Some(wake), refused).await;
        record_health(db, cfg, &result).await;
        let stats = result?;
        // Only a pass that went through to the end starts the ladder again: a message
        // or folder that fails every time must not make the daemon log in again every
        // second (QQ blocks accounts that do).
        backoff.reset();
        if stats.ingested > 0 {
            info!(ingested = stats.ingested, already = stats.already, "本轮收取完成");
        }
        if *shutdown.borrow() {
            break;
        }
        // IDLE runs on a folder that answered; with none, the session polls.
        let idle_on = if use_idle { refused.idle_folder(&cfg.folders) } else { None };
        if let Some(first) = idle_on {
            let mailbox = match imap::timed(cfg.timeout, session.examine(first)).await {
                Ok(m) => m,
                Err(ImapError::Protocol(async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m))) => {
                    warn!(folder = %crate::utf7::decode(first), answer = %m, "服务器拒绝读取此文件夹，改为定时检查");
                    refused.refused(first, tokio::time::Instant::now());
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Mail that arrived between the pass and this EXAMINE raises no EXISTS
            // during IDLE: it is already counted in the EXAMINE answer. Look again.
            let cursor = db::cursors::get(db, &cfg.account(), first).await?;
            let seen_up_to = cursor.filter(|c| Some(c.uid_validity) == mailbox.uid_validity.map(i64::from)).map_or(0, |c| c.last_uid);
            // (Asked by UID FETCH, not from UIDNEXT: mail deleted before it was read
            // leaves UIDNEXT ahead of the cursor for good.)
            if mailbox.exists > 0 && !fetch::list_pending(&mut session, cfg, seen_up_to).await?.is_empty() {
                continue;
            }
            let (s, woke) = idle::wait(session, cfg.idle_timeout, cfg.timeout, shutdown).await?;
            session = s;
            if woke == idle::Woke::Shutdown {
                break;
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll_interval) => {}
                _ = shutdown.changed() => break,
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    info!("已退出邮箱");
    Ok(())
}

/// One pass over every folder to read, waking `wake` whenever mail was queued. A
/// folder the server refuses (NO or BAD to SELECT, say) is recorded in the mailbox
/// health and passed over, and not selected again before `poll_interval` (`skip`);
/// the other folders go on.
pub async fn pass(
    db: &Db, store: &Store,
    session: &mut imap::Session,
    cfg: &ImapConfig,
    shutdown: &watch::Receiver<bool>,
    wake: Option<&Notify>,
    skip: &mut Refused,
) -> Result<PassStats, ImapError> {
    let mut stats = PassStats::default();
    let mut refused = Vec::new();
    for name in folders::to_read(session, cfg).await? {
        if *shutdown.borrow() {
            break;
        }
        if !skip.due(&name, tokio::time::Instant::now(), cfg.poll_interval) {
            continue;
        }
        let f = match fetch::folder(db, store, session, cfg, &name, shutdown, wake).await {
            Ok(f) => {
                skip.answered(&name);
                f
            }
            Err(ImapError::Protocol(async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m))) => {
                let shown = crate::utf7::decode(&name);
                warn!(folder = %shown, answer = %m, "服务器拒绝读取此文件夹，跳过，其他文件夹照常读取");
                refused.push(format!("文件夹 {shown} 无法读取：{m}"));
                skip.refused(&name, tokio::time::Instant::now());
                continue;
            }
            Err(e) => return Err(e),
        };
        stats.folders += 1;
        stats.ingested += f.ingested;
        stats.already += f.already;
        stats.skipped_before_backfill += f.skipped_before_backfill;
    }
    if !refused.is_empty() {
        let at = chrono::Utc::now().timestamp();
        if let Err(e) = db::cursors::failed(db, &cfg.account(), &refused.join("；"), at).await {
            warn!(error = %e, "无法记录邮箱状态");
        }
    }
    Ok(stats)
}

async fn record_health<T>(db: &Db, cfg: &ImapConfig, result: &Result<T, ImapError>) {
    let at = chrono::Utc::now().timestamp();
    let r = match result {
        Ok(_) => db::cursors::checked_ok(db, &cfg.account(), at).await,
        Err(e) => db::cursors::failed(db, &cfg.account(), &e.to_string(), at).await,
    };
    if let Err(e) = r {
        warn!(error = %e, "无法记录邮箱状态");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_folder_waits_a_poll_interval_and_is_not_idled_on() {
        let folders = vec!["不存在的文件夹".to_string(), "INBOX".to_string()];
        let mut r = Refused::default();
        let t0 = tokio::time::Instant::now();
        let every = Duration::from_secs(120);
        assert!(r.due(&folders[0], t0, every));
        assert_eq!(r.idle_folder(&folders), Some("不存在的文件夹"));
        r.refused(&folders[0], t0);
        assert!(!r.due(&folders[0], t0 + Duration::from_secs(119), every));
        assert!(r.due(&folders[0], t0 + every, every));
        assert!(r.due("INBOX", t0, every));
        assert_eq!(r.idle_folder(&folders), Some("INBOX"));
        r.refused("INBOX", t0);
        assert_eq!(r.idle_folder(&folders), None);
        r.answered(&folders[0]);
        assert_eq!(r.idle_folder(&folders), Some("不存在的文件夹"));
    }
}
