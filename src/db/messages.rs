//! The messages table: one row per message seen, with what became of it.

use sqlx::FromRow;

use super::{AlreadyExists, Db, Tx};

#[derive(Debug, Clone, Default, FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub raw_sha256: String,
    pub message_id: String,
    pub source: String,
    pub from_addr: String,
    pub subject: String,
    pub received_at: i64,
    pub processed_at: i64,
    pub disposition: String,
    pub department: String,
    pub cycle: String,
    pub cycle_rule: String,
    pub sent_on_behalf: i64,
    pub guessed_department: String,
    pub reason_code: String,
    pub raw_path: String,
    pub flags: String,
    /// What went wrong, for processing_failed and failed messages.
    pub detail: String,
}

const COLUMNS: &str = "id, raw_sha256, message_id, source, from_addr, subject, received_at, processed_at, disposition, \
     department, cycle, cycle_rule, sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail";

/// A message already recorded under the same raw SHA-256 or the same Message-ID.
pub async fn find_existing(db: &Db, raw_sha256: &str, message_id: &str) -> anyhow::Result<Option<AlreadyExists>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM messages WHERE raw_sha256 = $1 OR (message_id <> '' AND message_id = $2) ORDER BY id LIMIT 1",
    )
    .bind(raw_sha256)
    .bind(message_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(id,)| AlreadyExists(id)))
}

/// Inserts `m` (its id is ignored). A concurrent twin is reported, not raised.
pub async fn insert(tx: &mut Tx<'_>, m: &MessageRow) -> anyhow::Result<Result<i64, AlreadyExists>> {
    let existing: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM messages WHERE raw_sha256 = $1 OR (message_id <> '' AND message_id = $2) ORDER BY id LIMIT 1")
            .bind(&m.raw_sha256)
            .bind(&m.message_id)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some((id,)) = existing {
        return Ok(Err(AlreadyExists(id)));
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (raw_sha256, message_id, source, from_addr, subject, received_at, processed_at, disposition, \
         department, cycle, cycle_rule, sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(&m.raw_sha256)
    .bind(&m.message_id)
    .bind(&m.source)
    .bind(&m.from_addr)
    .bind(&m.subject)
    .bind(m.received_at)
    .bind(m.processed_at)
    .bind(&m.disposition)
    .bind(&m.department)
    .bind(&m.cycle)
    .bind(&m.cycle_rule)
    .bind(m.sent_on_behalf)
    .bind(&m.guessed_department)
    .bind(&m.reason_code)
    .bind(&m.raw_path)
    .bind(&m.flags)
    .bind(&m.detail)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Ok(id))
}

/// Rewrites what the pipeline decided about an existing row (approval of a held message).
pub async fn update_decision(tx: &mut Tx<'_>, id: i64, m: &MessageRow) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE messages SET disposition = $1, department = $2, cycle = $3, cycle_rule = $4, sent_on_behalf = $5, \
         reason_code = $6, flags = $7, processed_at = $8, detail = $9 WHERE id = $10",
    )
    .bind(&m.disposition)
    .bind(&m.department)
    .bind(&m.cycle)
    .bind(&m.cycle_rule)
    .bind(m.sent_on_behalf)
    .bind(&m.reason_code)
    .bind(&m.flags)
    .bind(m.processed_at)
    .bind(&m.detail)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE id = $1"))).bind(id).fetch_optional(&db.pool).await?)
}

/// Whether `department` already has a counted package in `cycle`.
pub async fn has_package(tx: &mut Tx<'_>, department: &str, cycle: &str) -> anyhow::Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM messages WHERE department = $1 AND cycle = $2 AND disposition = 'package' LIMIT 1")
            .bind(department)
            .bind(cycle)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.is_some())
}

/// Messages waiting for review, oldest first, received by `as_of`.
pub async fn held(db: &Db, as_of: i64) -> anyhow::Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE disposition = 'held' AND received_at <= $1 ORDER BY received_at, id"
    )))
    .bind(as_of)
    .fetch_all(&db.pool)
    .await?)
}

/// Counted packages of `cycle` received by `as_of`.
pub async fn packages(db: &Db, cycle: &str, as_of: i64) -> anyhow::Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE cycle = $1 AND disposition = 'package' AND received_at <= $2 ORDER BY received_at, id"
    )))
    .bind(cycle)
    .bind(as_of)
    .fetch_all(&db.pool)
    .await?)
}

/// Messages that could not be processed after every try, received in [from, to].
pub async fn failed_between(db: &Db, from: i64, to: i64) -> anyhow::Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE disposition = 'failed' AND received_at >= $1 AND received_at <= $2 ORDER BY received_at, id"
    )))
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?)
}

/// Messages refused whole, received in [from, to].
pub async fn rejected_between(db: &Db, from: i64, to: i64) -> anyhow::Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE disposition = 'rejected' AND received_at >= $1 AND received_at <= $2 ORDER BY received_at, id"
    )))
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?)
}

/// Every message received in [from, to), oldest first.
pub async fn received_between(db: &Db, from: i64, to: i64) -> anyhow::Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, id")))
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
        .await?)
}

/// Packages processed since `since` (for receipts).
pub async fn packages_processed_since(db: &Db, since: i64) -> anyhow::Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE disposition = 'package' AND processed_at >= $1 ORDER BY id")))
        .bind(since)
        .fetch_all(&db.pool)
        .await?)
}

/// Cycles that have counted packages, newest first.
pub async fn cycles(db: &Db) -> anyhow::Result<Vec<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT cycle FROM messages WHERE disposition = 'package' ORDER BY cycle DESC").fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

pub async fn set_disposition(db: &Db, id: i64, from: &str, to: &str) -> anyhow::Result<bool> {
    let r = sqlx::query("UPDATE messages SET disposition = $1 WHERE id = $2 AND disposition = $3")
        .bind(to)
        .bind(id)
        .bind(from)
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_cycle(tx: &mut Tx<'_>, id: i64, cycle: &str) -> anyhow::Result<bool> {
    let r = sqlx::query("UPDATE messages SET cycle = $1, cycle_rule = 'manual' WHERE id = $2 AND disposition = 'package'")
        .bind(cycle)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}
