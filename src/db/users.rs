//! Console accounts and their sessions (tables `users`, `sessions`).

use sqlx::Row;

use super::{AlreadyExists, Db, Tx};

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub password_hash: String,
}

/// A new account; an existing name is an outcome, not an error.
pub async fn insert(tx: &mut Tx<'_>, name: &str, role: &str, password_hash: &str, by: &str, at: i64) -> anyhow::Result<Result<i64, AlreadyExists>> {
    if let Some(row) = sqlx::query("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(&mut **tx).await? {
        return Ok(Err(AlreadyExists(row.try_get("id")?)));
    }
    let row = sqlx::query("INSERT INTO users (name, role, password_hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(at)
        .bind(by)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Ok(row.try_get("id")?))
}

fn user(r: &sqlx::any::AnyRow) -> anyhow::Result<User> {
    Ok(User { id: r.try_get("id")?, name: r.try_get("name")?, role: r.try_get("role")?, password_hash: r.try_get("password_hash")? })
}

pub async fn by_name(db: &Db, name: &str) -> anyhow::Result<Option<User>> {
    let row = sqlx::query("SELECT id, name, role, password_hash FROM users WHERE name = $1").bind(name).fetch_optional(&db.pool).await?;
    row.as_ref().map(user).transpose()
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<User>> {
    let rows = sqlx::query("SELECT id, name, role, password_hash FROM users ORDER BY name").fetch_all(&db.pool).await?;
    rows.iter().map(user).collect()
}

pub async fn create_session(db: &Db, token_sha256: &str, user_ref: i64, csrf: &str, at: i64, expires_at: i64) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO sessions (token_sha256, user_ref, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_sha256)
        .bind(user_ref)
        .bind(csrf)
        .bind(at)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    // Expired sessions go when a new one starts: the table stays small without a job.
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(at).execute(&db.pool).await?;
    Ok(())
}

/// The session's user and CSRF token, if the session exists and has not expired at `now`.
pub async fn session(db: &Db, token_sha256: &str, now: i64) -> anyhow::Result<Option<(User, String)>> {
    let row = sqlx::query(
        "SELECT u.id, u.name, u.role, u.password_hash, s.csrf FROM sessions s JOIN users u ON u.id = s.user_ref \
         WHERE s.token_sha256 = $1 AND s.expires_at >= $2",
    )
    .bind(token_sha256)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(r) => Ok(Some((user(&r)?, r.try_get("csrf")?))),
        None => Ok(None),
    }
}

pub async fn end_session(db: &Db, token_sha256: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1").bind(token_sha256).execute(&db.pool).await?;
    Ok(())
}
