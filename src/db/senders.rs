//! The remembered_senders table: addresses approved with `--remember-sender`.

use super::Db;

pub async fn department_of(db: &Db, address: &str) -> anyhow::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT department FROM remembered_senders WHERE address = $1")
        .bind(address.trim().to_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|(d,)| d))
}

pub async fn remember(db: &Db, address: &str, department: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO remembered_senders (address, department, remembered_at) VALUES ($1, $2, $3) \
         ON CONFLICT (address) DO UPDATE SET department = excluded.department, remembered_at = excluded.remembered_at",
    )
    .bind(address.trim().to_lowercase())
    .bind(department)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}
