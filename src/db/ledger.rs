//! The score_entries table: points entered by hand (矩阵响应, 创佳绩, 政务新媒体 …).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// 0 until inserted.
    pub id: i64,
    pub department: String,
    pub item: String,
    /// As entered, in hundredths of a point (−0.2 is −20); doubling is not applied here.
    pub points_centi: i64,
    pub doubled: bool,
    pub entry_on: String,
    pub work: String,
    pub note: String,
    pub created_at: i64,
    pub created_by: String,
}

pub async fn insert(tx: &mut Tx<'_>, e: &Entry) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO score_entries (department, item, points_centi, doubled, entry_on, work, note, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&e.department)
    .bind(&e.item)
    .bind(e.points_centi)
    .bind(i64::from(e.doubled))
    .bind(&e.entry_on)
    .bind(&e.work)
    .bind(&e.note)
    .bind(e.created_at)
    .bind(&e.created_by)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

const SELECT: &str = "SELECT id, department, item, points_centi, doubled, entry_on, work, note, created_at, created_by FROM score_entries";

fn from_row(r: &AnyRow) -> anyhow::Result<Entry> {
    Ok(Entry {
        id: r.try_get("id")?,
        department: r.try_get("department")?,
        item: r.try_get("item")?,
        points_centi: r.try_get("points_centi")?,
        doubled: r.try_get::<i64, _>("doubled")? != 0,
        entry_on: r.try_get("entry_on")?,
        work: r.try_get("work")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

/// Entries dated in [from, to) (YYYY-MM-DD), oldest first.
pub async fn between(db: &Db, from: &str, to: &str) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE entry_on >= $1 AND entry_on < $2 ORDER BY entry_on, id")))
        .bind(from)
        .bind(to)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// The same department's entries for one item dated in [from, to), inside a write.
pub async fn of_item(tx: &mut Tx<'_>, department: &str, item: &str, from: &str, to: &str) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE department = $1 AND item = $2 AND entry_on >= $3 AND entry_on < $4 ORDER BY id")))
        .bind(department)
        .bind(item)
        .bind(from)
        .bind(to)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<Option<Entry>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1"))).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn delete(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("DELETE FROM score_entries WHERE id = $1").bind(id).execute(&mut **tx).await?;
    Ok(done.rows_affected() > 0)
}
