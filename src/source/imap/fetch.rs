//! One pass over one folder: list the UIDs above the cursor, fetch them in ascending
//! batches with BODY.PEEK[] (never marking mail read), make each durable in the intake
//! journal with the cursor, and apply `after_ingest` only once that is committed.
//!
//! QQ answers `BAD Sequence set is inavlid!` to descending ranges, so every UID set
//! sent here is ascending. QQ's UID SEARCH was seen lagging APPEND by over a minute,
//! so new mail is found by UID FETCH above the cursor, not by SEARCH.


use chrono::DateTime;
use futures::TryStreamExt;
use tokio::sync::mpsc::{Receiver, Sender};
use tokio::sync::{Notify, watch};
use tracing::{info, warn};

use super::{ImapError, Session, timed};
use crate::db::Db;
use crate::store::Store;
use crate::config::imap::{AfterIngest, ImapConfig};
use crate::db::{self, cursors::Cursor};
use crate::journal::{self, Incoming, Raw, Spool};

/// Messages fetched ahead of the journal (each at most `chunk_size`, or a spool file).
const QUEUE: usize = 8;
/// A group made durable and queued in one transaction: at most this many messages…
const GROUP_MESSAGES: usize = 32;
/// …or this many bytes.
const GROUP_BYTES: usize = 32 << 20;

/// A message waiting above the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub uid: u32,
    pub size: u64,
    pub internal_date: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FolderStats {
    pub ingested: usize,
    pub already: usize,
    pub skipped_before_backfill: usize,
}

/// "3:5,7,9:10": an ascending UID set from ascending UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}:{end}") });
        i += 1;
    }
    parts.join(",")
}

/// Splits pending mail into fetch batches of at most `chunk` bytes; a message larger
/// than `chunk` is alone in its batch and fetched in ranges.
pub fn batches(pending: &[Pending], chunk: u64) -> Vec<Vec<Pending>> {
    let mut out: Vec<Vec<Pending>> = Vec::new();
    let mut size = 0;
    for p in pending {
        let fits = out.last().is_some_and(|b: &Vec<Pending>| size + p.size <= chunk && b.iter().all(|q| q.size <= chunk));
        if p.size > chunk || !fits {
            out.push(vec![*p]);
            size = p.size;
        } else if let Some(b) = out.last_mut() {
            b.push(*p);
            size += p.size;
        }
    }
    out
}

/// Reads one folder from the cursor on. Stops early, between messages, on shutdown.
pub async fn folder(db: &Db, store: &Store, session: &mut Session, cfg: &ImapConfig, name: &str, shutdown: &watch::Receiver<bool>, wake: Option<&Notify>) -> Result<FolderStats, ImapError> {
    let account = cfg.account();
    let read_only = cfg.after_ingest == AfterIngest::Nothing;
    let mailbox = if read_only { timed(cfg.timeout, session.examine(name)).await? } else { timed(cfg.timeout, session.select(name)).await? };
    let Some(uid_validity) = mailbox.uid_validity.map(i64::from) else {
        warn!(folder = name, "服务器没有给出 UIDVALIDITY，跳过此文件夹");
        return Ok(FolderStats::default());
    };
    let mut last = cursor(db, &account, name, uid_validity).await?;
    let mut stats = FolderStats::default();
    if mailbox.exists == 0 {
        return Ok(stats);
    }
    let pending = list_pending(session, cfg, last).await?;
    let (old, fresh): (Vec<Pending>, Vec<Pending>) =
        pending.into_iter().partition(|p| cfg.backfill_since.zip(p.internal_date).is_some_and(|(since, d)| d < since));
    stats.skipped_before_backfill = old.len();

    // Fetching and queueing overlap: the network fills a short queue while the
    // consumer makes each group of messages durable and queues it in the journal with
    // the cursor (one transaction per group). Analysis happens elsewhere (the journal's
    // workers), so a slow or failing message never holds this task.
    let (tx, rx) = tokio::sync::mpsc::channel::<Incoming>(QUEUE);
    let producer = produce(store, session, cfg, name, uid_validity, &fresh, shutdown, tx);
    let consumer = consume(db, store, rx, shutdown, wake);
    let (produced, consumed) = tokio::join!(producer, consumer);
    let (done, already) = consumed?;
    stats.ingested = done.len();
    stats.already = already;
    if let Some(&max) = done.iter().max() {
        last = last.max(i64::from(max));
    }
    after_ingest(session, cfg, &done).await?;
    produced?;
    // Messages before backfill_since that sit after everything processed: pass them.
    if let Some(max_old) = old.iter().map(|p| i64::from(p.uid)).max().filter(|&m| m > last) {
        if fresh.iter().all(|p| i64::from(p.uid) <= last) {
            db::cursors::skip_to(db, &account, name, uid_validity, max_old, old.len() as i64).await?;
        }
    }
    Ok(stats)
}

/// The last UID taken in from folder `name`, or 0 (and a fresh cursor) when there is
/// none yet or the folder's UIDVALIDITY is not the one it was taken under.
async fn cursor(db: &Db, account: &str, name: &str, uid_validity: i64) -> Result<i64, ImapError> {
    match db::cursors::get(db, account, name).await? {
        Some(p) if p.uid_validity == uid_validity => Ok(p.last_uid),
        previous => {
            if previous.is_some() {
                // The UIDs we hold mean nothing now. Rescan; Message-ID and raw SHA-256
                // dedupe make sure nothing is counted twice.
                warn!(folder = name, uid_validity, "UIDVALIDITY 已变化，重新扫描该文件夹（已入库的邮件不会重复计入）");
            }
            db::cursors::reset(db, account, name, uid_validity, 0, chrono::Utc::now().timestamp()).await?;
            Ok(0)
        }
    }
}

/// The network side: fetches `fresh` batch by batch (a large message alone, in ranges)
/// into the queue, until shutdown or the consumer stops. Owning `queue`, it closes it
/// when it ends, which lets the consumer finish.
#[allow(clippy::too_many_arguments)]
async fn produce(
    store: &Store,
    session: &mut Session,
    cfg: &ImapConfig,
    name: &str,
    uid_validity: i64,
    fresh: &[Pending],
    shutdown: &watch::Receiver<bool>,
    queue: Sender<Incoming>,
) -> Result<(), ImapError> {
    for batch in batches(fresh, cfg.chunk_size) {
        if *shutdown.borrow() {
            break;
        }
        if batch.len() == 1 && batch[0].size > cfg.chunk_size {
            if let Some(incoming) = fetch_large(store, session, cfg, name, uid_validity, batch[0]).await? {
                if queue.send(incoming).await.is_err() {
                    break;
                }
            }
        } else if !fetch_batch(session, cfg, name, uid_validity, &batch, &queue).await? {
            break;
        }
    }
    Ok(())
}

/// The journal side: takes what has arrived in groups and commits each group to the
/// journal with its cursor. Returns the UIDs committed and how many of them the
/// journal already had.
///
/// The receiver is owned here, so it is dropped the moment the consumer stops
/// (shutdown or an error): the producer's next send fails and it stops too, instead
/// of waiting on a full queue for ever.
async fn consume(db: &Db, store: &Store, mut rx: Receiver<Incoming>, shutdown: &watch::Receiver<bool>, wake: Option<&Notify>) -> Result<(Vec<u32>, usize), ImapError> {
    let mut done: Vec<u32> = Vec::new();
    let mut already = 0;
    while let Some(first) = rx.recv().await {
        // Whatever else has arrived joins the group, up to a bound.
        let mut bytes = first.raw.len() as usize;
        let mut group = vec![first];
        while group.len() < GROUP_MESSAGES && bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += next.raw.len() as usize;
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let uids: Vec<u32> = group.iter().map(|i| i.cursor.as_ref().map_or(0, |c| c.uid as u32)).collect();
        let q = journal::commit_group(db, store, group, chrono::Utc::now().timestamp()).await?;
        done.extend(uids);
        already += q.known;
        if let Some(w) = wake {
            w.notify_one();
        }
        if *shutdown.borrow() {
            break; // what is left stays above the cursor for next time
        }
    }
    Ok((done, already))
}

/// UID, size and INTERNALDATE of everything above `last`, ascending.
pub async fn list_pending(session: &mut Session, cfg: &ImapConfig, last: i64) -> Result<Vec<Pending>, ImapError> {
    let from = last + 1;
    let fetched = tokio::time::timeout(cfg.timeout, async {
        let stream = session.uid_fetch(format!("{from}:*"), "(UID RFC822.SIZE INTERNALDATE)").await?;
        stream.try_collect::<Vec<_>>().await
    })
    .await
    .map_err(|_| ImapError::Timeout(cfg.timeout.as_secs()))??;
    // "N:*" with N above the highest UID still answers with the last message: filter.
    let mut out: Vec<Pending> = fetched
        .iter()
        .filter_map(|f| {
            let uid = f.uid?;
            (i64::from(uid) >= from).then(|| Pending {
                uid,
                size: u64::from(f.size.unwrap_or(0)),
                internal_date: f.internal_date().map(|d| d.timestamp()),
            })
        })
        .collect();
    out.sort_by_key(|p| p.uid);
    out.dedup_by_key(|p| p.uid);
    Ok(out)
}

fn source_ref(cfg: &ImapConfig, folder: &str, uid_validity: i64, uid: u32) -> String {
    crate::source::imap_ref(&cfg.account(), folder, uid_validity, uid)
}

/// Fetches a batch in one UID FETCH, queueing each message as it arrives. Returns
/// false when the queue's reader has stopped.
async fn fetch_batch(session: &mut Session, cfg: &ImapConfig, folder: &str, uid_validity: i64, batch: &[Pending], queue: &Sender<Incoming>) -> Result<bool, ImapError> {
    let uids: Vec<u32> = batch.iter().map(|p| p.uid).collect();
    let mut stream = timed(cfg.timeout, session.uid_fetch(uid_set(&uids), "(UID INTERNALDATE BODY.PEEK[])")).await?;
    let mut open = true;
    loop {
        let next = tokio::time::timeout(cfg.timeout, stream.try_next()).await.map_err(|_| ImapError::Timeout(cfg.timeout.as_secs()))??;
        let Some(fetch) = next else { break };
        let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) else { continue };
        if !open {
            continue; // drain the response so the connection stays usable
        }
        let incoming = Incoming {
            raw: Raw::Bytes(body.to_vec()),
            source: source_ref(cfg, folder, uid_validity, uid),
            received_at: fetch.internal_date().map(|d: DateTime<_>| d.timestamp()),
            cursor: Some(Cursor { account: cfg.account(), folder: folder.to_string(), uid_validity, uid: i64::from(uid) }),
        };
        drop(fetch);
        open = queue.send(incoming).await.is_ok();
    }
    Ok(open)
}

/// Fetches one large message in `chunk_size` ranges into a spool file, hashed on the
/// way, so it is never held in memory whole; the spool file becomes the raw mail.
async fn fetch_large(store: &Store, session: &mut Session, cfg: &ImapConfig, folder: &str, uid_validity: i64, p: Pending) -> Result<Option<Incoming>, ImapError> {
    let mut spool = Spool::new(&store.tmp_dir()).map_err(|e| anyhow::Error::new(e).context("无法创建临时文件"))?;
    let mut offset = 0u64;
    let mut internal_date = p.internal_date;
    loop {
        let query = format!("(UID INTERNALDATE BODY.PEEK[]<{offset}.{}>)", cfg.chunk_size);
        let fetched = tokio::time::timeout(cfg.timeout, async {
            let stream = session.uid_fetch(p.uid.to_string(), &query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await
        .map_err(|_| ImapError::Timeout(cfg.timeout.as_secs()))??;
        let Some(f) = fetched.iter().find(|f| f.uid == Some(p.uid)) else {
            warn!(folder, uid = p.uid, "邮件在读取过程中消失，跳过");
            return Ok(None);
        };
        internal_date = internal_date.or(f.internal_date().map(|d| d.timestamp()));
        let part = f.body().unwrap_or_default();
        spool.write(part).map_err(|e| anyhow::Error::new(e).context("写临时文件失败"))?;
        offset += part.len() as u64;
        if (part.len() as u64) < cfg.chunk_size {
            break;
        }
    }
    let raw = spool.finish().map_err(|e| anyhow::Error::new(e).context("写临时文件失败"))?;
    info!(folder, uid = p.uid, bytes = offset, "分段读取大邮件完成");
    Ok(Some(Incoming {
        raw,
        source: source_ref(cfg, folder, uid_validity, p.uid),
        received_at: internal_date,
        cursor: Some(Cursor { account: cfg.account(), folder: folder.to_string(), uid_validity, uid: i64::from(p.uid) }),
    }))
}

/// Marks or moves mail whose records are committed. Never EXPUNGE: on QQ it deletes
/// for good, bypassing 已删除.
async fn after_ingest(session: &mut Session, cfg: &ImapConfig, uids: &[u32]) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    let set = uid_set(&sorted);
    match &cfg.after_ingest {
        AfterIngest::Nothing => {}
        AfterIngest::Seen | AfterIngest::Flag => {
            let flag = if cfg.after_ingest == AfterIngest::Seen { "\\Seen" } else { "\\Flagged" };
            let limit = cfg.timeout;
            tokio::time::timeout(limit, async {
                let stream = session.uid_store(&set, format!("+FLAGS.SILENT ({flag})")).await?;
                stream.try_collect::<Vec<_>>().await
            })
            .await
            .map_err(|_| ImapError::Timeout(limit.as_secs()))??;
        }
        AfterIngest::Move(to) => timed(cfg.timeout, session.uid_mv(&set, to)).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(uid: u32, size: u64) -> Pending {
        Pending { uid, size, internal_date: None }
    }

    #[test]
    fn uid_sets_are_ascending_and_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[42]), "42");
    }

    #[test]
    fn batches_respect_the_chunk_size() {
        let b = batches(&[p(1, 3), p(2, 3), p(3, 3), p(4, 20), p(5, 1)], 8);
        let uids: Vec<Vec<u32>> = b.iter().map(|b| b.iter().map(|p| p.uid).collect()).collect();
        assert_eq!(uids, vec![vec![1, 2], vec![3], vec![4], vec![5]]);
    }
}
