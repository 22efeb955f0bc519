//! The adoptions table: which submitted photo or video was used (采用), at which
//! level, and the original work it resolves to.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};

#[derive(Debug, Clone, Default)]
pub struct NewAdoption {
    pub item_ref: i64,
    pub work_ref: i64,
    pub level: String,
    pub adopted_on: String,
    pub channel: String,
    pub url: String,
    pub note: String,
    pub created_at: i64,
    pub created_by: String,
}

/// An adoption with what scoring needs of its work: the work's department, month and
/// category (read now, so a later recategorize counts) and the adopted copy's name.
#[derive(Debug, Clone, Default)]
pub struct Adoption {
    pub id: i64,
    pub item_ref: i64,
    pub work_ref: i64,
    pub level: String,
    pub adopted_on: String,
    pub channel: String,
    pub url: String,
    pub note: String,
    pub created_at: i64,
    pub created_by: String,
    pub department: String,
    pub cycle: String,
    pub category: String,
    pub item_name: String,
    pub work_name: String,
}

pub async fn insert(tx: &mut Tx<'_>, a: &NewAdoption) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO adoptions (item_ref, work_ref, level, adopted_on, channel, url, note, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(a.item_ref)
    .bind(a.work_ref)
    .bind(&a.level)
    .bind(&a.adopted_on)
    .bind(&a.channel)
    .bind(&a.url)
    .bind(&a.note)
    .bind(a.created_at)
    .bind(&a.created_by)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

const SELECT: &str = "SELECT a.id, a.item_ref, a.work_ref, a.level, a.adopted_on, a.channel, a.url, a.note, a.created_at, a.created_by, \
     m.department, m.cycle, w.category, i.shown_name AS item_name, w.shown_name AS work_name \
     FROM adoptions a JOIN items w ON w.id = a.work_ref JOIN messages m ON m.id = w.message_ref JOIN items i ON i.id = a.item_ref";

fn from_row(r: &AnyRow) -> anyhow::Result<Adoption> {
    Ok(Adoption {
        id: r.try_get("id")?,
        item_ref: r.try_get("item_ref")?,
        work_ref: r.try_get("work_ref")?,
        level: r.try_get("level")?,
        adopted_on: r.try_get("adopted_on")?,
        channel: r.try_get("channel")?,
        url: r.try_get("url")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        department: r.try_get("department")?,
        cycle: r.try_get("cycle")?,
        category: r.try_get("category")?,
        item_name: r.try_get("item_name")?,
        work_name: r.try_get("work_name")?,
    })
}

/// Adoptions dated in [from, to) (YYYY-MM-DD), oldest first.
pub async fn between(db: &Db, from: &str, to: &str) -> anyhow::Result<Vec<Adoption>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.adopted_on >= $1 AND a.adopted_on < $2 ORDER BY a.adopted_on, a.id")))
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<Option<Adoption>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.id = $1"))).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(from_row).transpose()
}

/// Earlier adoptions of the same work.
pub async fn of_work(tx: &mut Tx<'_>, work_ref: i64) -> anyhow::Result<Vec<Adoption>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.work_ref = $1 ORDER BY a.id"))).bind(work_ref).fetch_all(&mut **tx).await?;
    rows.iter().map(from_row).collect()
}

/// The adoptions recorded on this item, or on the work it is (the console's item page).
pub async fn touching(db: &Db, item: i64) -> anyhow::Result<Vec<Adoption>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.item_ref = $1 OR a.work_ref = $1 ORDER BY a.adopted_on, a.id"))).bind(item).fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

pub async fn delete(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM adoptions WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}

/// What adopting needs to know of an item: its status, kind, links and message.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub id: i64,
    pub status: super::items::Status,
    pub kind: super::items::Kind,
    pub flags: String,
    pub reason: String,
    pub similar_to: i64,
    pub duplicate_of: i64,
    pub shown_name: String,
    pub disposition: super::messages::Disposition,
    pub department: String,
}

pub async fn candidate(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<Option<Candidate>> {
    let row = sqlx::query(
        "SELECT i.id, i.status, i.kind, i.flags, i.reason, i.similar_to, i.duplicate_of, i.shown_name, m.disposition, m.department \
         FROM items i JOIN messages m ON m.id = i.message_ref WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Candidate {
        id: r.try_get("id")?,
        status: r.try_get("status")?,
        kind: r.try_get("kind")?,
        flags: r.try_get("flags")?,
        reason: r.try_get("reason")?,
        similar_to: r.try_get("similar_to")?,
        duplicate_of: r.try_get("duplicate_of")?,
        shown_name: r.try_get("shown_name")?,
        disposition: r.try_get("disposition")?,
        department: r.try_get("department")?,
    }))
}
