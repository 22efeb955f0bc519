//! The login_failures table: the console's failed logins per IP and per name, shared by
//! every console instance on the database (`web::auth::wait`).

use super::Db;

/// When `key` failed since `since`, oldest first.
pub async fn since(db: &Db, key: &str, since: i64) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT at FROM login_failures WHERE key = $1 AND at > $2 ORDER BY at").bind(key).bind(since).fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// Records a failure of each of `keys` at `at`, and forgets every failure at or before
/// `forget_before`, in one transaction.
pub async fn add(db: &Db, keys: &[&str], at: i64, forget_before: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(forget_before).execute(&mut *tx).await?;
    for key in keys {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)").bind(key).bind(at).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Forgets `key`'s failures (after a login under that name).
pub async fn clear(db: &Db, key: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(&db.pool).await?;
    Ok(())
}
