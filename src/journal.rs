//! Making fetched mail durable: each message's raw bytes are written to the store
//! (temp file, fsync, rename) on blocking threads, then one transaction queues the
//! whole group and moves the IMAP cursor to its last message. The cursor therefore
//! never passes a message that is not on disk and in the journal.

mod incoming;

pub use incoming::{Incoming, Raw, Spool};

use anyhow::Context;

use crate::db::Db;
use crate::store::Store;
use crate::db::{self, journal::{Enqueued, New}};

/// What queueing a group did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// New entries in the journal.
    pub queued: usize,
    /// Already queued, or already recorded (a re-fetch, a file imported twice).
    pub known: usize,
}

/// Stores and queues `group` (in order), moving the cursor of its last message.
pub async fn commit_group(db: &Db, store: &Store, group: Vec<Incoming>, now: i64) -> anyhow::Result<Queued> {
    if group.is_empty() {
        return Ok(Queued::default());
    }
    // Hash and write every message in parallel; each write is fsynced before rename.
    let writes: Vec<_> = group
        .into_iter()
        .map(|incoming| {
            let store = store.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<(Incoming, String, String)> {
                let (sha, path) = match &incoming.raw {
                    Raw::Bytes(raw) => {
                        let sha = crate::hash::sha256_hex(raw);
                        let path = store.put_raw(&sha, raw);
                        (sha, path)
                    }
                    Raw::Spooled { file, sha256, .. } => (sha256.clone(), store.adopt_raw(sha256, file)),
                };
                Ok((incoming, sha, path.context("无法保存原始邮件")?))
            })
        })
        .collect();
    let mut stored = Vec::with_capacity(writes.len());
    for w in writes {
        stored.push(w.await.context("写文件线程异常退出")??);
    }
    let mut tx = db.begin().await?;
    let mut q = Queued::default();
    for (incoming, sha, path) in &stored {
        let new = New { raw_sha256: sha, raw_path: path, source: &incoming.source, received_at: incoming.received_at };
        match db::journal::enqueue(&mut tx, &new, now).await? {
            Enqueued::Queued(_) => q.queued += 1,
            Enqueued::AlreadyQueued | Enqueued::AlreadyRecorded(_) => q.known += 1,
        }
    }
    if let Some(c) = stored.last().and_then(|(i, _, _)| i.cursor.as_ref()) {
        db::cursors::advance(&mut tx, c, now).await?;
    }
    tx.commit().await?;
    Ok(q)
}

/// Puts messages recorded as failed (all of them, or those of `ids`) back into the
/// queue with their tries reset; returns the ids requeued. Their raw mail is in the
/// store, so nothing is fetched again.
pub async fn requeue_failed(db: &Db, ids: &[i64]) -> anyhow::Result<Vec<i64>> {
    let mut tx = db.begin().await?;
    let failed = db::messages::failed_ids(&mut tx).await?;
    let chosen: Vec<i64> = failed.into_iter().filter(|id| ids.is_empty() || ids.contains(id)).collect();
    for id in &chosen {
        db::journal::requeue(&mut tx, *id).await?;
        db::messages::delete_failed(&mut tx, *id).await?;
    }
    tx.commit().await?;
    Ok(chosen)
}
