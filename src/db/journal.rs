//! The journal table: raw mail waiting for analysis. Claiming the next entries is one
//! small ordered query; on PostgreSQL it would take `FOR UPDATE SKIP LOCKED` so that
//! workers on several machines can share one journal.

use super::{Db, Tx};

/// What the journal state column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Queued,
    Done,
}

impl State {
    pub const ALL: [State; 2] = [State::Queued, State::Done];

    pub fn code(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Done => "done",
        }
    }

    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            State::Queued => "待处理",
            State::Done => "已处理",
        }
    }
}

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub raw_sha256: String,
    pub raw_path: String,
    pub source: String,
    /// 0 when the source did not know it.
    pub received_at: i64,
    pub tries: i64,
    /// 1: decide the recorded message `message_ref` again (`reprocess`).
    pub redo: i64,
    pub message_ref: i64,
}

from_row!(Entry { id, raw_sha256, raw_path, source, received_at, tries, redo, message_ref });

/// A message to queue.
#[derive(Debug, Clone)]
pub struct New<'a> {
    pub raw_sha256: &'a str,
    pub raw_path: &'a str,
    pub source: &'a str,
    pub received_at: Option<i64>,
}

/// What queueing one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued(i64),
    /// The same raw mail waits in the journal already.
    AlreadyQueued,
    /// The same raw mail is recorded already: this messages row.
    AlreadyRecorded(i64),
}

/// Queues a message unless the same raw mail is queued or recorded already (a
/// re-fetch after a UIDVALIDITY reset, a file imported twice).
pub async fn enqueue(tx: &mut Tx<'_>, m: &New<'_>, now: i64) -> anyhow::Result<Enqueued> {
    let known: Option<(i64,)> = sqlx::query_as("SELECT id FROM messages WHERE raw_sha256 = $1 LIMIT 1").bind(m.raw_sha256).fetch_optional(&mut **tx).await?;
    if let Some((id,)) = known {
        return Ok(Enqueued::AlreadyRecorded(id));
    }
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO journal (raw_sha256, raw_path, source, received_at, enqueued_at, state) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (raw_sha256) DO NOTHING RETURNING id",
    )
    .bind(m.raw_sha256)
    .bind(m.raw_path)
    .bind(m.source)
    .bind(m.received_at.unwrap_or(0))
    .bind(now)
    .bind(State::Queued.code())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or(Enqueued::AlreadyQueued, |(id,)| Enqueued::Queued(id)))
}

/// Queues the recorded message `message_ref` to be decided again (`reprocess`): its
/// journal entry is queued once more, or one is made for mail recorded before the
/// journal existed. Returns the entry's id.
pub async fn enqueue_redo(tx: &mut Tx<'_>, message_ref: i64, raw_sha256: &str, raw_path: &str, now: i64) -> anyhow::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO journal (raw_sha256, raw_path, source, received_at, enqueued_at, state, redo, message_ref) \
         VALUES ($1, $2, 'reprocess', 0, $3, $4, 1, $5) \
         ON CONFLICT (raw_sha256) DO UPDATE SET state = $4, tries = 0, next_attempt_at = 0, last_error = '', redo = 1, message_ref = $5 \
         RETURNING id",
    )
    .bind(raw_sha256)
    .bind(raw_path)
    .bind(now)
    .bind(State::Queued.code())
    .bind(message_ref)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Gives up on deciding a message again after its last try: the entry is done and
/// the message stays as it was recorded.
pub async fn give_up(db: &Db, id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE journal SET state = $1 WHERE id = $2").bind(State::Done.code()).bind(id).execute(&db.pool).await?;
    Ok(())
}

/// Up to `limit` entries due at `now`, oldest first.
pub async fn due(db: &Db, now: i64, limit: i64) -> anyhow::Result<Vec<Entry>> {
    Ok(sqlx::query_as(
        "SELECT id, raw_sha256, raw_path, source, received_at, tries, redo, message_ref FROM journal \
         WHERE state = $1 AND next_attempt_at <= $2 ORDER BY id LIMIT $3",
    )
    .bind(State::Queued.code())
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// When the next queued entry that is waiting for a retry becomes due.
pub async fn next_retry_at(db: &Db) -> anyhow::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT MIN(next_attempt_at) FROM journal WHERE state = $1 HAVING COUNT(*) > 0")
        .bind(State::Queued.code())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|(t,)| t))
}

/// Marks an entry done, in the transaction that recorded its message (whatever became
/// of it: counted, refused, or failed after every try).
pub async fn done(tx: &mut Tx<'_>, id: i64, message_ref: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE journal SET state = $1, message_ref = $2, redo = 0 WHERE id = $3").bind(State::Done.code()).bind(message_ref).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Counts a failed try and sets when to try again; returns the tries so far.
pub async fn retry_later(db: &Db, id: i64, error: &str, next_attempt_at: i64) -> anyhow::Result<i64> {
    let (tries,): (i64,) = sqlx::query_as("UPDATE journal SET tries = tries + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3 RETURNING tries")
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok(tries)
}

/// Queues again, with no tries, the entry that became messages row `message_ref`.
pub async fn requeue(tx: &mut Tx<'_>, message_ref: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE journal SET state = $1, tries = 0, next_attempt_at = 0, message_ref = 0 WHERE message_ref = $2")
        .bind(State::Queued.code())
        .bind(message_ref)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How many messages wait for analysis.
pub async fn backlog(db: &Db) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM journal WHERE state = $1").bind(State::Queued.code()).fetch_one(&db.pool).await?;
    Ok(n)
}
