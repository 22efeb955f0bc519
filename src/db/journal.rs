//! The journal table: raw mail waiting for analysis, shared by the workers of every
//! process and machine on the database. A worker claims entries for a lease
//! (`claim`, one query; on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so that two
//! workers never claim one entry), renews it while it works (`renew`), and ends an
//! entry only while the claim is still its own (`done`); an expired lease lets another
//! worker take the entry. Lease times are the database's clock (`Backend::now_sql`),
//! never a machine's.

use super::{Backend, Db, Tx};

/// How long a claim holds without renewal. A killed worker's entries wait this long
/// at most before another worker takes them.
pub const LEASE: i64 = 15;
/// How often a worker renews its claims.
pub const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The name this process claims entries under: its role, host, process id and a
/// random part, so that a restarted process never mistakes its predecessor's claims
/// for its own. The role is `worker` for `baosong worker` (`act_as_worker`), else
/// `writer`: only the holder of the writer lock analyses among those, so its claims
/// die with its lock (`release_writers`).
pub fn me() -> &'static str {
    name(WRITER)
}

const WRITER: &str = "writer";
const WORKER: &str = "worker";
static ME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn name(role: &str) -> &'static str {
    ME.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        format!("{role}@{host}:{}:{:08x}", std::process::id(), fastrand::u32(..))
    })
}

/// Claims of this process are a `baosong worker`'s; called before any claim.
pub fn act_as_worker() {
    let named = name(WORKER);
    debug_assert!(named.starts_with(WORKER), "act_as_worker comes before any claim");
}

/// The entry was claimed by another worker meanwhile (its lease had run out): what
/// this worker did with it is rolled back, and the other worker's result stands.
#[derive(Debug, thiserror::Error)]
#[error("日志条目 {0} 已由其他处理进程接手")]
pub struct LostClaim(pub i64);

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
    sqlx::query("UPDATE journal SET state = $1, claimed_by = '', lease_until = 0 WHERE id = $2").bind(State::Done.code()).bind(id).execute(&db.pool).await?;
    Ok(())
}

const ENTRY: &str = "id, raw_sha256, raw_path, source, received_at, tries, redo, message_ref";

/// Claims for this process (`me`) up to `limit` queued entries due at `now` that no
/// live lease holds, oldest first.
pub async fn claim(db: &Db, now: i64, limit: i64) -> anyhow::Result<Vec<Entry>> {
    let clock = db.backend.now_sql();
    let skip_locked = match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut tx = db.begin().await?;
    let mut claimed: Vec<Entry> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE journal SET claimed_by = $1, lease_until = {clock} + $2 WHERE id IN (\
         SELECT id FROM journal WHERE state = $3 AND next_attempt_at <= $4 AND lease_until < {clock} ORDER BY id LIMIT $5{skip_locked}) \
         RETURNING {ENTRY}"
    )))
    .bind(me())
    .bind(LEASE)
    .bind(State::Queued.code())
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    claimed.sort_by_key(|e| e.id);
    Ok(claimed)
}

/// Renews the lease of every entry this process holds.
pub async fn renew(db: &Db) -> anyhow::Result<()> {
    let clock = db.backend.now_sql();
    let mut tx = db.begin().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE journal SET lease_until = {clock} + $1 WHERE claimed_by = $2 AND state = $3")))
        .bind(LEASE)
        .bind(me())
        .bind(State::Queued.code())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Claims entry `id` for this process, in the transaction that queued it, for a
/// caller that records it at once (a file taken in by hand): no worker takes it
/// meanwhile, and if this process dies first a worker does once the lease runs out.
pub async fn hold(tx: &mut Tx<'_>, backend: Backend, id: i64) -> anyhow::Result<()> {
    let clock = backend.now_sql();
    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE journal SET claimed_by = $1, lease_until = {clock} + $2 WHERE id = $3")))
        .bind(me())
        .bind(LEASE)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Lets go of the claims of writers (`run`, `import` … and their consoles): called by
/// the one that just took the writer lock, when whichever writer held it before is
/// gone or has stopped. A `baosong worker`'s claims stand until their lease runs out.
pub async fn release_writers(db: &Db) -> anyhow::Result<u64> {
    let mut tx = db.begin().await?;
    let released = sqlx::query("UPDATE journal SET claimed_by = '', lease_until = 0 WHERE state = $1 AND claimed_by LIKE $2 AND claimed_by <> $3")
        .bind(State::Queued.code())
        .bind(format!("{WRITER}@%"))
        .bind(me())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(released)
}

/// Lets go of every claim, whoever made it: for the one writer of a SQLite database
/// at its start, when no other process can be working on the journal.
pub async fn release_all(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE journal SET claimed_by = '', lease_until = 0 WHERE state = $1 AND claimed_by <> ''").bind(State::Queued.code()).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The oldest entry before `id` that is queued and due at `now`: the one an entry
/// must wait for before it is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ahead {
    /// None: `id` may be decided.
    Clear,
    /// Another worker's live lease holds it.
    Held(i64),
    /// Nobody holds it (or this process does): claimed now for this process.
    Taken(Entry),
}

/// What `id` waits for (see `Ahead`).
pub async fn ahead(db: &Db, id: i64, now: i64) -> anyhow::Result<Ahead> {
    let clock = db.backend.now_sql();
    // (The lease's liveness as 0 or 1: SQLite has no boolean to decode.)
    let first: Option<(i64, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, claimed_by, CASE WHEN lease_until >= {clock} THEN 1 ELSE 0 END FROM journal \
         WHERE state = $1 AND next_attempt_at <= $2 AND id < $3 ORDER BY id LIMIT 1"
    )))
    .bind(State::Queued.code())
    .bind(now)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some((first, by, live)) = first else { return Ok(Ahead::Clear) };
    if live == 1 && by != me() {
        return Ok(Ahead::Held(first));
    }
    let mut tx = db.begin().await?;
    let taken: Option<Entry> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE journal SET claimed_by = $1, lease_until = {clock} + $2 WHERE id = $3 AND state = $4 AND (claimed_by = $1 OR lease_until < {clock}) RETURNING {ENTRY}"
    )))
    .bind(me())
    .bind(LEASE)
    .bind(first)
    .bind(State::Queued.code())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    // Someone else claimed it meanwhile: wait for them.
    Ok(taken.map_or(Ahead::Held(first), Ahead::Taken))
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
/// of it: counted, refused, or failed after every try), if this process's claim on it
/// still stands; otherwise `LostClaim`, and the transaction must not commit.
pub async fn done(tx: &mut Tx<'_>, id: i64, message_ref: i64) -> anyhow::Result<()> {
    // The row stays locked to the end of the transaction: no claim can move meanwhile.
    let ended = sqlx::query("UPDATE journal SET state = $1, message_ref = $2, redo = 0, claimed_by = '', lease_until = 0 WHERE id = $3 AND state = $4 AND claimed_by = $5")
        .bind(State::Done.code())
        .bind(message_ref)
        .bind(id)
        .bind(State::Queued.code())
        .bind(me())
        .execute(&mut **tx)
        .await?;
    if ended.rows_affected() == 0 {
        return Err(LostClaim(id).into());
    }
    Ok(())
}

/// Counts a failed try and sets when to try again; returns the tries so far, or
/// `LostClaim` when the claim was no longer this process's. The lease ends (anyone may
/// take the entry once it is due again) but the claim stays this process's until
/// then, so that after the last try it can still record the message as failed.
pub async fn retry_later(db: &Db, id: i64, error: &str, next_attempt_at: i64) -> anyhow::Result<i64> {
    let tries: Option<(i64,)> = sqlx::query_as(
        "UPDATE journal SET tries = tries + 1, last_error = $1, next_attempt_at = $2, lease_until = 0 \
         WHERE id = $3 AND claimed_by = $4 AND state = $5 RETURNING tries",
    )
    .bind(error)
    .bind(next_attempt_at)
    .bind(id)
    .bind(me())
    .bind(State::Queued.code())
    .fetch_optional(&db.pool)
    .await?;
    Ok(tries.ok_or(LostClaim(id))?.0)
}

/// Queues again, with no tries, the entry that became messages row `message_ref`.
pub async fn requeue(tx: &mut Tx<'_>, message_ref: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE journal SET state = $1, tries = 0, next_attempt_at = 0, message_ref = 0, claimed_by = '', lease_until = 0 WHERE message_ref = $2")
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn queue(db: &Db, n: usize) -> Vec<i64> {
        let mut tx = db.begin().await.unwrap();
        let mut ids = Vec::new();
        for i in 0..n {
            let sha = format!("{i:064}");
            let m = New { raw_sha256: &sha, raw_path: "raw/x.eml", source: "test", received_at: Some(1) };
            let Enqueued::Queued(id) = enqueue(&mut tx, &m, 1).await.unwrap() else { panic!("queued") };
            ids.push(id);
        }
        tx.commit().await.unwrap();
        ids
    }

    /// Claims, the turn an entry waits for, and the completion check, on SQLite (the
    /// PostgreSQL side runs in tests/it/workers.rs): an older entry held by another
    /// worker is waited for; once its lease runs out it is taken; ending an entry that
    /// another worker claimed meanwhile fails with `LostClaim`; an entry waiting for a
    /// retry is not waited for.
    #[tokio::test]
    async fn claims_turns_and_the_completion_check() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let ids = queue(&db, 3).await;
        let claimed = claim(&db, 10, 2).await.unwrap();
        assert_eq!(claimed.iter().map(|e| e.id).collect::<Vec<_>>(), ids[..2]);
        assert_eq!(claim(&db, 10, 5).await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), ids[2..], "a live lease is not claimed twice");
        assert_eq!(ahead(&db, ids[0], 10).await.unwrap(), Ahead::Clear);

        let set = |sql: &'static str| {
            let db = db.clone();
            async move { sqlx::query(sql).execute(&db.pool).await.unwrap() }
        };
        set("UPDATE journal SET claimed_by = 'other', lease_until = CAST(strftime('%s', 'now') AS INTEGER) + 100 WHERE id = 1").await;
        assert_eq!(ahead(&db, ids[1], 10).await.unwrap(), Ahead::Held(ids[0]), "another worker's live lease is waited for");
        let mut tx = db.begin().await.unwrap();
        let lost = done(&mut tx, ids[0], 0).await.unwrap_err();
        assert!(lost.downcast_ref::<LostClaim>().is_some(), "{lost}");
        drop(tx);

        set("UPDATE journal SET lease_until = 0 WHERE id = 1").await;
        let Ahead::Taken(e) = ahead(&db, ids[1], 10).await.unwrap() else { panic!("an expired lease is taken") };
        assert_eq!(e.id, ids[0]);
        assert_eq!(retry_later(&db, ids[0], "失败", 1_000).await.unwrap(), 1);
        assert_eq!(ahead(&db, ids[1], 10).await.unwrap(), Ahead::Clear, "an entry waiting for its retry is not waited for");
        let mut tx = db.begin().await.unwrap();
        done(&mut tx, ids[1], 0).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(backlog(&db).await.unwrap(), 2);
    }
}
