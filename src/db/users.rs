//! Console accounts and their sessions (tables `users`, `sessions`).

use sqlx::Row;

use super::{AlreadyExists, Db, Tx};

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    /// 0 while the account may log in; else when an admin disabled it.
    pub disabled_at: i64,
}

impl User {
    pub fn disabled(&self) -> bool {
        self.disabled_at != 0
    }
}

const COLUMNS: &str = "id, name, role, password_hash, disabled_at";

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
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        role: r.try_get("role")?,
        password_hash: r.try_get("password_hash")?,
        disabled_at: r.try_get("disabled_at")?,
    })
}

pub async fn by_name(db: &Db, name: &str) -> anyhow::Result<Option<User>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE name = $1"))).bind(name).fetch_optional(&db.pool).await?;
    row.as_ref().map(user).transpose()
}

/// As `by_name`, inside the transaction that changes the account.
pub async fn by_name_in(tx: &mut Tx<'_>, name: &str) -> anyhow::Result<Option<User>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE name = $1"))).bind(name).fetch_optional(&mut **tx).await?;
    row.as_ref().map(user).transpose()
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<User>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users ORDER BY name"))).fetch_all(&db.pool).await?;
    rows.iter().map(user).collect()
}

/// Sets account `id`'s role and `disabled_at`, unless the account is an active admin,
/// would no longer be one, and no other active admin exists: then false, and nothing
/// changes. One statement, so two admins demoting each other at once cannot both win.
pub async fn update(tx: &mut Tx<'_>, id: i64, role: &str, disabled_at: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET role = $1, disabled_at = $2 WHERE id = $3 \
         AND (NOT (role = 'admin' AND disabled_at = 0) OR ($1 = 'admin' AND $2 = 0) \
              OR EXISTS (SELECT 1 FROM users o WHERE o.id <> $3 AND o.role = 'admin' AND o.disabled_at = 0))",
    )
    .bind(role)
    .bind(disabled_at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(tx: &mut Tx<'_>, id: i64, password_hash: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(password_hash).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Logs account `id` out everywhere; how many sessions ended.
pub async fn end_sessions(tx: &mut Tx<'_>, id: i64) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_ref = $1").bind(id).execute(&mut **tx).await?.rows_affected())
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

/// The session's user and CSRF token, if the session exists, has not expired at `now`
/// and its account is not disabled.
pub async fn session(db: &Db, token_sha256: &str, now: i64) -> anyhow::Result<Option<(User, String)>> {
    let row = sqlx::query(
        "SELECT u.id, u.name, u.role, u.password_hash, u.disabled_at, s.csrf FROM sessions s JOIN users u ON u.id = s.user_ref \
         WHERE s.token_sha256 = $1 AND s.expires_at >= $2 AND u.disabled_at = 0",
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
