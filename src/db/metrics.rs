//! Counts for `/metrics`: messages by disposition, items by status, outbox by state,
//! the intake backlog and the last mailbox check.

use sqlx::Row;

use super::Db;

async fn grouped(db: &Db, sql: &'static str) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = sqlx::query(sql).fetch_all(&db.pool).await?;
    rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
}

pub async fn messages_by_disposition(db: &Db) -> anyhow::Result<Vec<(String, i64)>> {
    grouped(db, "SELECT disposition, COUNT(*) FROM messages GROUP BY disposition ORDER BY disposition").await
}

pub async fn items_by_status(db: &Db) -> anyhow::Result<Vec<(String, i64)>> {
    grouped(db, "SELECT status, COUNT(*) FROM items GROUP BY status ORDER BY status").await
}

pub async fn outbox_by_state(db: &Db) -> anyhow::Result<Vec<(String, i64)>> {
    grouped(db, "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state").await
}

/// The latest successful mailbox check of any account (Unix seconds), if any.
pub async fn last_mailbox_check(db: &Db) -> anyhow::Result<Option<i64>> {
    let row = sqlx::query("SELECT MAX(last_ok_at) AS at FROM mailbox_health WHERE last_ok_at > 0").fetch_one(&db.pool).await?;
    Ok(row.try_get::<Option<i64>, _>("at")?)
}

/// One cheap query: the database answers.
pub async fn ping(db: &Db) -> anyhow::Result<()> {
    sqlx::query("SELECT 1").fetch_one(&db.pool).await?;
    Ok(())
}

/// A mark that changes whenever anything the board shows may have changed: new or
/// re-decided mail, new items, any audited manual change. Each part is one index lookup.
pub async fn change_mark(db: &Db) -> anyhow::Result<[i64; 4]> {
    let row = sqlx::query(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM messages) AS m, (SELECT COALESCE(MAX(processed_at), 0) FROM messages) AS p, \
         (SELECT COALESCE(MAX(id), 0) FROM items) AS i, (SELECT COALESCE(MAX(id), 0) FROM audit) AS a",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok([row.try_get("m")?, row.try_get("p")?, row.try_get("i")?, row.try_get("a")?])
}
