//! Working the links queue: at most two downloads at once, each holding its row with a
//! lease it renews, requests to one provider spaced by `[links] pause`. A download
//! runs beside the journal's workers, never in front of them: a 1 GiB file holds up
//! no mail. When a file is in, its row says so and its message is queued in the
//! journal to be recorded again, in one transaction; a crash before that leaves the
//! partial file, which the next try resumes. A link repeated in later mail waits for
//! the first download and reuses its file.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tracing::{info, info_span, warn, Instrument};

use super::download::{self, Job};
use super::http::{Client, Pacer};
use super::{Failure, State, next_try};
use crate::config::links::LinksConfig;
use crate::db::links::{FileIn, LinkRow};
use crate::db::{self, Db};
use crate::store::Store;

/// Downloads at once.
pub const MAX_AT_ONCE: usize = 2;
/// How long a claim holds a row without renewal.
const LEASE: i64 = 300;
/// How often a running download renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(60);

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How a try at one link ended.
#[derive(Debug, Clone)]
pub struct Ended {
    pub id: i64,
    pub name: String,
    /// The link's state after the try (`waiting`: it is tried again later).
    pub state: State,
    /// The stable code and the Chinese reason of a failure.
    pub reason: Option<(String, String)>,
    /// The file, when it is in: bytes, and whether it was another mail's download.
    pub size: i64,
    pub reused: bool,
}

#[derive(Clone)]
pub struct Queue {
    db: Db,
    store: Store,
    config: Arc<LinksConfig>,
    tls: Arc<rustls::ClientConfig>,
    pacer: Arc<Pacer>,
}

impl Queue {
    /// A queue over `db` and `store`. Fails only when `[links] ca_file` cannot be read.
    pub fn new(db: Db, store: Store, config: &LinksConfig) -> anyhow::Result<Queue> {
        let tls = super::http::tls_config(config).map_err(anyhow::Error::msg)?;
        Ok(Queue { db, store, pacer: Arc::new(Pacer::new(config.pause)), config: Arc::new(config.clone()), tls })
    }

    /// Called once by the data directory's writer before it downloads: no download of
    /// another process can be running, so every lease is free, and partial files of
    /// links that no longer wait are removed.
    pub async fn start(&self) -> anyhow::Result<()> {
        db::links::release_all(&self.db).await?;
        let dir = self.dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(()) };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".part").and_then(|n| n.parse::<i64>().ok());
            let waiting = match id {
                Some(id) => db::links::get(&self.db, id).await?.is_some_and(|l| l.link.state == State::Waiting),
                None => false,
            };
            if !waiting {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    fn dir(&self) -> std::path::PathBuf {
        self.store.links_dir()
    }

    /// Runs every download due now, two at a time, until none is due; `each` hears how
    /// each ended. Returns how many were tried.
    pub async fn run_due(&self, each: &mut (dyn FnMut(&Ended) + Send)) -> anyhow::Result<usize> {
        let expired = db::links::expire_overdue(&self.db, unix_now()).await?;
        if expired > 0 {
            warn!(expired, "超大附件到期仍未取到文件，已记为过期");
        }
        // Each download is a task of its own. In one FuturesUnordered polled by this
        // loop, a download that had begun recording its file (BEGIN IMMEDIATE) sat
        // unpolled, holding SQLite's write lock, while the loop awaited the next claim:
        // the claim waited busy_timeout (10 s) and failed with "database is locked".
        // Dropping the set (shutdown, an error) aborts the downloads; they resume later.
        let mut running = tokio::task::JoinSet::new();
        let mut tried = 0;
        loop {
            while running.len() < MAX_AT_ONCE {
                let now = unix_now();
                let Some(row) = db::links::claim(&self.db, now, now + LEASE, 1).await?.into_iter().next() else { break };
                let span = info_span!("link", link = row.id, message_id = row.message_ref, provider = %row.provider);
                let queue = self.clone();
                running.spawn(async move { queue.one(row).await }.instrument(span));
            }
            match running.join_next().await {
                None => break,
                Some(ended) => {
                    tried += 1;
                    let ended = ended.map_err(|e| anyhow::anyhow!("超大附件下载任务异常退出：{e}"))??;
                    each(&ended);
                }
            }
        }
        Ok(tried)
    }

    /// The daemon's loop: works what is due, then sleeps until the next link falls due
    /// (or new links are queued: `wake`), and wakes the journal's workers (`recorded`)
    /// when a file is in. Stops on `shutdown`; a download cut off resumes next time.
    pub async fn run(&self, wake: &Notify, recorded: &Notify, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        self.start().await?;
        let mut each = |e: &Ended| {
            if e.state.has_file() {
                recorded.notify_one();
            }
        };
        loop {
            let work = self.run_due(&mut each);
            tokio::select! {
                r = work => if let Err(e) = r { warn!(error = %format!("{e:#}"), "超大附件下载队列出错，稍后重试") },
                _ = shutdown.changed() => return Ok(()),
            }
            let next = db::links::next_due(&self.db).await.ok().flatten();
            let wait = next.map_or(Duration::from_secs(600), |at| Duration::from_secs((at - unix_now()).clamp(1, 600) as u64));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
                _ = shutdown.changed() => return Ok(()),
            }
        }
    }

    /// One try at one claimed link.
    async fn one(&self, row: LinkRow) -> anyhow::Result<Ended> {
        let ended = |state, reason: Option<&Failure>, size, reused| Ended {
            id: row.id,
            name: row.name.clone(),
            state,
            reason: reason.map(|f| (f.code().to_string(), f.reason())),
            size,
            reused,
        };
        if let Some(s) = db::links::sibling_with_file(&self.db, &row.url, row.id).await? {
            let f = FileIn { sha256: &s.sha256, original_path: &s.original_path, file_name: &s.file_name, size: s.size, by: "" };
            file_in(&self.db, &row, &f, unix_now()).await?;
            info!(from = s.id, "同一链接已由另一封邮件取到，直接使用");
            return Ok(ended(State::Fetched, None, s.size, true));
        }
        info!(name = %row.name, "开始下载超大附件");
        let mut client = Client::new(self.config.clone(), self.tls.clone(), self.pacer.clone(), &row.provider);
        let job = Job { id: row.id, url: &row.url, provider: &row.provider, caption_name: &row.name, caption_size: row.caption_size };
        let renew = async {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if let Err(e) = db::links::renew(&self.db, row.id, unix_now() + LEASE).await {
                    warn!(error = %e, "无法延长下载租约");
                }
            }
        };
        let dir = self.dir();
        let result = tokio::select! {
            r = download::fetch(&mut client, &job, &dir, &self.config, &|_, _| {}) => r,
            () = renew => unreachable!("the lease renewal never ends"),
        };
        let now = unix_now();
        match result {
            Ok(f) => {
                let rel = self.store.adopt_original(&f.sha256, &f.path)?;
                let _ = std::fs::remove_file(&f.path);
                let file = FileIn { sha256: &f.sha256, original_path: &rel, file_name: &f.name, size: f.size as i64, by: "" };
                file_in(&self.db, &row, &file, now).await?;
                info!(size = f.size, sha256 = %f.sha256, "超大附件已下载");
                Ok(ended(State::Fetched, None, f.size as i64, false))
            }
            Err(fail) => {
                let next = if fail.is_transient() { next_try(row.tries + 1, now, row.expires_at) } else { None };
                // Out of tries: past the expiry the file is gone; before it the office
                // can still download it in a browser.
                let state = match fail.is_transient() {
                    true if super::ran_out(row.expires_at, now) => State::Expired,
                    true => State::NeedsOffice,
                    false => fail.state_after(),
                };
                db::links::failed(&self.db, row.id, fail.code(), &fail.reason(), next, state, now).await?;
                if next.is_none() {
                    let _ = std::fs::remove_file(download::part_path(&dir, row.id));
                    warn!(code = fail.code(), reason = %fail.reason(), "超大附件无法自动下载，等待办公室处理");
                } else {
                    warn!(code = fail.code(), reason = %fail.reason(), "超大附件暂时无法下载，稍后重试");
                }
                Ok(ended(if next.is_some() { State::Waiting } else { state }, Some(&fail), 0, false))
            }
        }
    }
}

/// The link's file is in: its row says where, and its message is queued in the
/// journal to be recorded again with it, in one transaction. Returns the journal entry.
pub async fn file_in(db: &Db, row: &LinkRow, f: &FileIn<'_>, now: i64) -> anyhow::Result<Option<i64>> {
    let m = db::messages::get(db, row.message_ref).await?.ok_or_else(|| anyhow::anyhow!("链接 {} 所在的邮件 {} 不存在", row.id, row.message_ref))?;
    let mut tx = db.begin().await?;
    // The office took the file in meanwhile: its file stands.
    if !db::links::file_in(&mut tx, row.id, f, now).await? {
        return Ok(None);
    }
    let entry = db::journal::enqueue_redo(&mut tx, m.id, &m.raw_sha256, &m.raw_path, now).await?;
    tx.commit().await?;
    Ok(Some(entry))
}
