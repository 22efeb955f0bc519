//! The outbox, outbox_hold and extensions tables.

use super::{AlreadyExists, Db};

/// Where a queued mail stands: the `state` column of `outbox`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting to be sent (again) at `next_attempt_at`.
    #[default]
    Pending,
    /// Claimed by the sender; left here only by a crash (`recover_interrupted`).
    Sending,
    Sent,
    /// The server refused it for good.
    Failed,
}

impl State {
    pub const ALL: [State; 4] = [State::Pending, State::Sending, State::Sent, State::Failed];

    pub fn code(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            State::Pending => "待发送",
            State::Sending => "发送中",
            State::Sent => "已发送",
            State::Failed => "发送失败",
        }
    }
}

text_column!(State, "outbox.state");

#[derive(Debug, Clone, Default)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub department: String,
    pub cycle: String,
    pub message_id: String,
    pub recipients: String,
    pub cc: String,
    pub subject: String,
    pub body: String,
    pub state: State,
    pub attempts: i64,
    pub interrupted: i64,
    pub next_attempt_at: i64,
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: i64,
}

from_row!(OutboxRow {
    id, key, kind, department, cycle, message_id, recipients, cc, subject, body, state, attempts, interrupted,
    next_attempt_at, last_error, created_at, sent_at
});

const COLUMNS: &str = "id, key, kind, department, cycle, message_id, recipients, cc, subject, body, state, attempts, \
     interrupted, next_attempt_at, last_error, created_at, sent_at";

/// Queues a mail unless one with the same key exists.
pub async fn enqueue(db: &Db, r: &OutboxRow) -> anyhow::Result<Result<i64, AlreadyExists>> {
    let existing: Option<(i64,)> = sqlx::query_as("SELECT id FROM outbox WHERE key = $1").bind(&r.key).fetch_optional(&db.pool).await?;
    if let Some((id,)) = existing {
        return Ok(Err(AlreadyExists(id)));
    }
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO outbox (key, kind, department, cycle, message_id, recipients, cc, subject, body, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) ON CONFLICT (key) DO NOTHING RETURNING id",
    )
    .bind(&r.key)
    .bind(&r.kind)
    .bind(&r.department)
    .bind(&r.cycle)
    .bind(&r.message_id)
    .bind(&r.recipients)
    .bind(&r.cc)
    .bind(&r.subject)
    .bind(&r.body)
    .bind(r.created_at)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(id,)| id).ok_or(AlreadyExists(0)))
}

pub async fn exists(db: &Db, key: &str) -> anyhow::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM outbox WHERE key = $1").bind(key).fetch_optional(&db.pool).await?;
    Ok(row.is_some())
}

/// Mail left in `sending` by a crash: it may or may not have reached the server.
/// It goes back to pending (to be sent again) and the interruption is counted.
pub async fn recover_interrupted(db: &Db) -> anyhow::Result<u64> {
    let r = sqlx::query(
        "UPDATE outbox SET state = 'pending', interrupted = interrupted + 1, \
         last_error = '上次发送被中断，可能已送达；已重新发送' WHERE state = 'sending'",
    )
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected())
}

/// The next pending mail due by `due_by`, marked `sending`.
pub async fn claim_next(db: &Db, due_by: i64) -> anyhow::Result<Option<OutboxRow>> {
    let mut tx = db.begin().await?;
    let row: Option<OutboxRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT 1"
    )))
    .bind(due_by)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = &row {
        sqlx::query("UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = $1").bind(r.id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(row)
}

pub async fn mark_sent(db: &Db, id: i64, at: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE outbox SET state = 'sent', sent_at = $1, last_error = '' WHERE id = $2").bind(at).bind(id).execute(&db.pool).await?;
    Ok(())
}

pub async fn mark_failed(db: &Db, id: i64, reply: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE outbox SET state = 'failed', last_error = $1 WHERE id = $2").bind(reply).bind(id).execute(&db.pool).await?;
    Ok(())
}

pub async fn retry_later(db: &Db, id: i64, at: i64, error: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE outbox SET state = 'pending', next_attempt_at = $1, last_error = $2 WHERE id = $3")
        .bind(at)
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn list(db: &Db, limit: i64) -> anyhow::Result<Vec<OutboxRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1"))).bind(limit).fetch_all(&db.pool).await?)
}

/// Failed mail created since `since`, for the digest.
pub async fn failed_since(db: &Db, since: i64) -> anyhow::Result<Vec<OutboxRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM outbox WHERE state = 'failed' AND created_at >= $1 ORDER BY id")))
        .bind(since)
        .fetch_all(&db.pool)
        .await?)
}

/// Inside a transaction, so that the extension and its audit row are written together.
pub async fn set_extension(tx: &mut super::Tx<'_>, department: &str, cycle: &str, until: &str, at: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO extensions (department, cycle, until_date, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (department, cycle) DO UPDATE SET until_date = excluded.until_date, granted_at = excluded.granted_at",
    )
    .bind(department)
    .bind(cycle)
    .bind(until)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Extensions of one cycle: (department, last day YYYY-MM-DD).
pub async fn extensions(db: &Db, cycle: &str) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT department, until_date FROM extensions WHERE cycle = $1").bind(cycle).fetch_all(&db.pool).await?)
}

/// Sending held for an account after a refused login or a failed TLS connection.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    pub account: String,
    pub reason: String,
    pub since: i64,
    pub last_try_at: i64,
    pub next_try_at: i64,
}

from_row!(Hold { account, reason, since, last_try_at, next_try_at });

/// Puts `account` on hold (or keeps it there, with the newest reason); `since` stays
/// the time of the first refusal.
pub async fn hold(db: &Db, account: &str, reason: &str, at: i64, next_try_at: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO outbox_hold (account, reason, since, last_try_at, next_try_at) VALUES ($1, $2, $3, $3, $4) \
         ON CONFLICT (account) DO UPDATE SET reason = excluded.reason, last_try_at = excluded.last_try_at, next_try_at = excluded.next_try_at",
    )
    .bind(account)
    .bind(reason)
    .bind(at)
    .bind(next_try_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn holds(db: &Db) -> anyhow::Result<Vec<Hold>> {
    Ok(sqlx::query_as("SELECT account, reason, since, last_try_at, next_try_at FROM outbox_hold ORDER BY account").fetch_all(&db.pool).await?)
}

/// The server accepted the login again: the hold ends.
pub async fn release(db: &Db, account: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query("DELETE FROM outbox_hold WHERE account = $1").bind(account).execute(&db.pool).await?.rows_affected() > 0)
}

/// A claimed mail handed back untouched (the account is on hold): pending again, and
/// the attempt not counted.
pub async fn unclaim(db: &Db, id: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE outbox SET state = 'pending', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = $1 AND state = 'sending'").bind(id).execute(&db.pool).await?;
    Ok(())
}

/// How many mails wait to be sent, and whether one of them is due by `due_by`.
pub async fn pending(db: &Db, due_by: i64) -> anyhow::Result<(i64, bool)> {
    let (n, due): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(MAX(CASE WHEN next_attempt_at <= $1 THEN 1 ELSE 0 END), 0) FROM outbox WHERE state IN ('pending', 'sending')",
    )
    .bind(due_by)
    .fetch_one(&db.pool)
    .await?;
    Ok((n, due != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_reads_back() {
        assert!(State::ALL.into_iter().all(|s| State::from_code(s.code()) == Some(s)));
    }
}
