//! The imap_cursors and mailbox_health tables.

use super::{Db, Tx};

/// Where an IMAP message sits; advanced in the transaction that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub account: String,
    pub folder: String,
    pub uid_validity: i64,
    pub uid: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub uid_validity: i64,
    pub last_uid: i64,
}

pub async fn get(db: &Db, account: &str, folder: &str) -> anyhow::Result<Option<Position>> {
    let row: Option<(i64, i64)> = sqlx::query_as("SELECT uid_validity, last_uid FROM imap_cursors WHERE account = $1 AND folder = $2")
        .bind(account)
        .bind(folder)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|(uid_validity, last_uid)| Position { uid_validity, last_uid }))
}

/// Moves the cursor to `c.uid` (never backwards within one UIDVALIDITY); `now` is
/// written as its updated_at.
pub async fn advance(tx: &mut Tx<'_>, c: &Cursor, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO imap_cursors (account, folder, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account, folder) DO UPDATE SET \
         last_uid = CASE WHEN imap_cursors.uid_validity = excluded.uid_validity AND imap_cursors.last_uid > excluded.last_uid \
                         THEN imap_cursors.last_uid ELSE excluded.last_uid END, \
         uid_validity = excluded.uid_validity, updated_at = excluded.updated_at",
    )
    .bind(&c.account)
    .bind(&c.folder)
    .bind(c.uid_validity)
    .bind(c.uid)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Starts a folder over under a new UIDVALIDITY (the old UIDs no longer mean
/// anything); `now` is written as its updated_at.
pub async fn reset(db: &Db, account: &str, folder: &str, uid_validity: i64, skipped: i64, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO imap_cursors (account, folder, uid_validity, last_uid, skipped_before_backfill, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT (account, folder) DO UPDATE SET \
         uid_validity = excluded.uid_validity, last_uid = 0, skipped_before_backfill = excluded.skipped_before_backfill, \
         updated_at = excluded.updated_at",
    )
    .bind(account)
    .bind(folder)
    .bind(uid_validity)
    .bind(skipped)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records how many messages a first run passed over because of `backfill_since`.
pub async fn skip_to(db: &Db, account: &str, folder: &str, uid_validity: i64, uid: i64, skipped: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE imap_cursors SET last_uid = $1, skipped_before_backfill = skipped_before_backfill + $2 \
         WHERE account = $3 AND folder = $4 AND uid_validity = $5 AND last_uid < $1",
    )
    .bind(uid)
    .bind(skipped)
    .bind(account)
    .bind(folder)
    .bind(uid_validity)
    .execute(&db.pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct Health {
    pub account: String,
    pub last_ok_at: i64,
    pub last_error: String,
    pub last_error_at: i64,
}

from_row!(Health { account, last_ok_at, last_error, last_error_at });

pub async fn health(db: &Db) -> anyhow::Result<Vec<Health>> {
    Ok(sqlx::query_as("SELECT account, last_ok_at, last_error, last_error_at FROM mailbox_health ORDER BY account").fetch_all(&db.pool).await?)
}

pub async fn checked_ok(db: &Db, account: &str, at: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO mailbox_health (account, last_ok_at) VALUES ($1, $2) \
         ON CONFLICT (account) DO UPDATE SET last_ok_at = excluded.last_ok_at",
    )
    .bind(account)
    .bind(at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn failed(db: &Db, account: &str, error: &str, at: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO mailbox_health (account, last_error, last_error_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
    )
    .bind(account)
    .bind(error)
    .bind(at)
    .execute(&db.pool)
    .await?;
    Ok(())
}
