//! The messages table: one row per message seen, with what became of it.

use super::items::Before;
use super::{AlreadyExists, Db, Tx};
use crate::rejection::Flag;

/// What became of a message: the `disposition` column of `messages`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// A department's package: its files count.
    #[default]
    Package,
    /// Waiting for the office (an unknown sender, a guessed department).
    Held,
    /// Mail that is not a package and not for the office (an advertisement, a bounce).
    Unrelated,
    /// Mail for the office that is not a package (a question, a reply).
    Correspondence,
    /// Refused as a whole: `reason_code` says why.
    Rejected,
    /// Held mail the office turned down.
    Dismissed,
    /// Processing failed for good: `detail` says why.
    Failed,
}

impl Disposition {
    pub const ALL: [Disposition; 7] = [
        Disposition::Package,
        Disposition::Held,
        Disposition::Unrelated,
        Disposition::Correspondence,
        Disposition::Rejected,
        Disposition::Dismissed,
        Disposition::Failed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Disposition::Package => "package",
            Disposition::Held => "held",
            Disposition::Unrelated => "unrelated",
            Disposition::Correspondence => "correspondence",
            Disposition::Rejected => "rejected",
            Disposition::Dismissed => "dismissed",
            Disposition::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            Disposition::Package => "计入",
            Disposition::Held => "待审核",
            Disposition::Unrelated => "无关邮件",
            Disposition::Correspondence => "往来邮件",
            Disposition::Rejected => "整封拒收",
            Disposition::Dismissed => "已驳回",
            Disposition::Failed => "处理失败",
        }
    }
}

text_column!(Disposition, "messages.disposition");

/// Which rule gave a package its month: the `cycle_rule` column of `messages`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CycleRule {
    /// The month the mail names.
    Named,
    /// The month it was received.
    Received,
    /// The next month: a second package after the deadline.
    RolledOver,
    /// The month a person moved it to.
    Manual,
    /// Not a package: no month.
    #[default]
    None,
}

impl CycleRule {
    pub const ALL: [CycleRule; 5] = [CycleRule::Named, CycleRule::Received, CycleRule::RolledOver, CycleRule::Manual, CycleRule::None];

    pub fn code(self) -> &'static str {
        match self {
            CycleRule::Named => "named",
            CycleRule::Received => "received",
            CycleRule::RolledOver => "rolled_over",
            CycleRule::Manual => "manual",
            CycleRule::None => "",
        }
    }

    pub fn from_code(code: &str) -> Option<CycleRule> {
        CycleRule::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            CycleRule::Named => "邮件写明的月份",
            CycleRule::Received => "收到的月份",
            CycleRule::RolledOver => "截止后再次报送，计入下月",
            CycleRule::Manual => "人工调整",
            CycleRule::None => "—",
        }
    }
}

text_column!(CycleRule, "messages.cycle_rule");

/// Who decided a message's department: the `decided_by` column of `messages`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DecidedBy {
    /// The rules.
    #[default]
    Rules,
    /// A person approved it for its department.
    Approved,
}

impl DecidedBy {
    pub const ALL: [DecidedBy; 2] = [DecidedBy::Rules, DecidedBy::Approved];

    pub fn code(self) -> &'static str {
        match self {
            DecidedBy::Rules => "",
            DecidedBy::Approved => "approved",
        }
    }

    pub fn from_code(code: &str) -> Option<DecidedBy> {
        DecidedBy::ALL.into_iter().find(|d| d.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            DecidedBy::Rules => "按规则",
            DecidedBy::Approved => "人工批准",
        }
    }
}

text_column!(DecidedBy, "messages.decided_by");

#[derive(Debug, Clone, Default)]
pub struct MessageRow {
    pub id: i64,
    pub raw_sha256: String,
    pub message_id: String,
    pub source: String,
    pub from_addr: String,
    pub subject: String,
    pub received_at: i64,
    pub processed_at: i64,
    pub disposition: Disposition,
    pub department: String,
    pub cycle: String,
    pub cycle_rule: CycleRule,
    pub sent_on_behalf: i64,
    pub guessed_department: String,
    pub reason_code: String,
    pub raw_path: String,
    pub flags: String,
    /// What went wrong, for processing_failed and failed messages.
    pub detail: String,
    /// `attachments_digest` of the files kept from it; '' when not known.
    pub attachments_sha256: String,
    /// Whether a person approved it for its department, or the rules decided.
    pub decided_by: DecidedBy,
}

from_row!(MessageRow {
    id, raw_sha256, message_id, source, from_addr, subject, received_at, processed_at, disposition, department,
    cycle, cycle_rule, sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail,
    attachments_sha256, decided_by
});

const COLUMNS: &str = "id, raw_sha256, message_id, source, from_addr, subject, received_at, processed_at, disposition, \
     department, cycle, cycle_rule, sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail, attachments_sha256, decided_by";

/// A message already recorded with these very bytes.
pub async fn find_existing(db: &Db, raw_sha256: &str) -> anyhow::Result<Option<AlreadyExists>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM messages WHERE raw_sha256 = $1").bind(raw_sha256).fetch_optional(&db.pool).await?;
    Ok(row.map(|(id,)| AlreadyExists(id)))
}

/// What makes a message the same as one already recorded.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub raw_sha256: &'a str,
    pub message_id: &'a str,
    pub from_addr: &'a str,
    /// `attachments_digest` of the files kept from it.
    pub attachments_sha256: &'a str,
}

impl<'a> Identity<'a> {
    pub fn of(m: &'a MessageRow) -> Identity<'a> {
        Identity { raw_sha256: &m.raw_sha256, message_id: &m.message_id, from_addr: &m.from_addr, attachments_sha256: &m.attachments_sha256 }
    }
}

/// Whether a message was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A re-delivery: the same raw bytes, or the same Message-ID from the same sender
    /// with the same set of attachments.
    Again(AlreadyExists),
    /// A new message; `message_id_collision` when a different recorded message has its
    /// Message-ID (a stranger cannot hide a department's package by reusing it).
    New { message_id_collision: bool },
}

/// The SHA-256 of a set of file hashes: sorted, without repeats, one per line. The
/// empty set has a digest too, so that '' means "not known".
pub fn attachments_digest<'s>(hashes: impl IntoIterator<Item = &'s str>) -> String {
    let set: std::collections::BTreeSet<&str> = hashes.into_iter().collect();
    let lines: String = set.into_iter().map(|h| format!("{h}\n")).collect();
    crate::hash::sha256_hex(lines.as_bytes())
}

/// Whether `m` was seen before, read from the pool (before the recording transaction).
pub async fn seen(db: &Db, m: Identity<'_>) -> anyhow::Result<Seen> {
    let mut conn = db.pool.acquire().await?;
    seen_on(&mut conn, m).await
}

async fn seen_on(conn: &mut sqlx::AnyConnection, m: Identity<'_>) -> anyhow::Result<Seen> {
    let same_bytes: Option<(i64,)> = sqlx::query_as("SELECT id FROM messages WHERE raw_sha256 = $1").bind(m.raw_sha256).fetch_optional(&mut *conn).await?;
    if let Some((id,)) = same_bytes {
        return Ok(Seen::Again(AlreadyExists(id)));
    }
    if m.message_id.is_empty() {
        return Ok(Seen::New { message_id_collision: false });
    }
    let same_id: Vec<(i64, String, String)> = sqlx::query_as("SELECT id, from_addr, attachments_sha256 FROM messages WHERE message_id = $1 ORDER BY id")
        .bind(m.message_id)
        .fetch_all(&mut *conn)
        .await?;
    for (id, from_addr, digest) in &same_id {
        if !from_addr.eq_ignore_ascii_case(m.from_addr) {
            continue;
        }
        let digest = if digest.is_empty() {
            // Recorded before attachments_sha256 existed: its set is its items' content.
            let items: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT sha256 FROM items WHERE message_ref = $1 AND sha256 <> ''")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
            attachments_digest(items.iter().map(|(h,)| h.as_str()))
        } else {
            digest.clone()
        };
        if digest == m.attachments_sha256 {
            return Ok(Seen::Again(AlreadyExists(*id)));
        }
    }
    Ok(Seen::New { message_id_collision: !same_id.is_empty() })
}

/// Inserts `m` (its id is ignored). A re-delivery recorded meanwhile is reported, not
/// raised; a Message-ID that another message recorded meanwhile took is flagged
/// `message_id_collision` here, where no concurrent writer can slip between.
pub async fn insert(tx: &mut Tx<'_>, m: &MessageRow) -> anyhow::Result<Result<i64, AlreadyExists>> {
    let collision = match seen_on(&mut **tx, Identity::of(m)).await? {
        Seen::Again(had) => return Ok(Err(had)),
        Seen::New { message_id_collision } => message_id_collision,
    };
    let mut flags = Flag::parse_list(&m.flags);
    if collision {
        flags.push(Flag::MessageIdCollision);
    }
    let flags = Flag::join(&flags);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (raw_sha256, message_id, source, from_addr, subject, received_at, processed_at, disposition, \
         department, cycle, cycle_rule, sent_on_behalf, guessed_department, reason_code, raw_path, flags, detail, attachments_sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
    )
    .bind(&m.raw_sha256)
    .bind(&m.message_id)
    .bind(&m.source)
    .bind(&m.from_addr)
    .bind(&m.subject)
    .bind(m.received_at)
    .bind(m.processed_at)
    .bind(m.disposition)
    .bind(&m.department)
    .bind(&m.cycle)
    .bind(m.cycle_rule)
    .bind(m.sent_on_behalf)
    .bind(&m.guessed_department)
    .bind(&m.reason_code)
    .bind(&m.raw_path)
    .bind(&flags)
    .bind(&m.detail)
    .bind(&m.attachments_sha256)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Ok(id))
}

/// Rewrites what the pipeline decided about an existing row (approval of a held message).
pub async fn update_decision(tx: &mut Tx<'_>, id: i64, m: &MessageRow) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE messages SET disposition = $1, department = $2, cycle = $3, cycle_rule = $4, sent_on_behalf = $5, \
         reason_code = $6, flags = $7, processed_at = $8, detail = $9, decided_by = $10 WHERE id = $11",
    )
    .bind(m.disposition)
    .bind(&m.department)
    .bind(&m.cycle)
    .bind(m.cycle_rule)
    .bind(m.sent_on_behalf)
    .bind(&m.reason_code)
    .bind(&m.flags)
    .bind(m.processed_at)
    .bind(&m.detail)
    .bind(m.decided_by)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE id = $1"))).bind(id).fetch_optional(&db.pool).await?)
}

/// Whether `department` already has a counted package in `cycle`.
pub async fn has_package(tx: &mut Tx<'_>, department: &str, cycle: &str, before: Before) -> anyhow::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM messages WHERE department = $1 AND cycle = $2 AND disposition = 'package' \
         AND (received_at < $3 OR (received_at = $3 AND id < $4)) LIMIT 1",
    )
    .bind(department)
    .bind(cycle)
    .bind(before.received_at)
    .bind(before.id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.is_some())
}

/// The messages `reprocess` decides again, in the order they were received: every
/// one but the dismissed and the failed (`retry` is for those), or those of one
/// month (its packages, and the rest received in it: `from`..`to`).
pub async fn to_reprocess(db: &Db, cycle: Option<(&str, i64, i64)>) -> anyhow::Result<Vec<MessageRow>> {
    let (cycle, from, to) = cycle.unwrap_or(("", i64::MIN, i64::MAX));
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM messages WHERE disposition NOT IN ('dismissed', 'failed') AND raw_path <> '' \
         AND ($1 = '' OR cycle = $1 OR (cycle = '' AND received_at >= $2 AND received_at < $3)) ORDER BY received_at, id"
    )))
    .bind(cycle)
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?)
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

/// Every message recorded as failed.
pub async fn failed_ids(tx: &mut Tx<'_>) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM messages WHERE disposition = 'failed' ORDER BY id").fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Forgets a failed message (it has no items) before it is analysed again.
pub async fn delete_failed(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM messages WHERE id = $1 AND disposition = 'failed'").bind(id).execute(&mut **tx).await?;
    Ok(())
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

/// Inside a transaction, so that a manual decision and its audit row are written together.
pub async fn set_disposition(tx: &mut Tx<'_>, id: i64, from: Disposition, to: Disposition) -> anyhow::Result<bool> {
    let r = sqlx::query("UPDATE messages SET disposition = $1 WHERE id = $2 AND disposition = $3")
        .bind(to)
        .bind(id)
        .bind(from)
        .execute(&mut **tx)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_reads_back() {
        assert!(Disposition::ALL.into_iter().all(|d| Disposition::from_code(d.code()) == Some(d)));
        assert!(CycleRule::ALL.into_iter().all(|r| CycleRule::from_code(r.code()) == Some(r)));
        assert!(DecidedBy::ALL.into_iter().all(|d| DecidedBy::from_code(d.code()) == Some(d)));
        assert_eq!(Disposition::from_code(""), None);
    }
}
