//! The writer lock on PostgreSQL: a session advisory lock, held on a connection of its
//! own for as long as the writer (`run`, `poll`, `import` …) runs. The flock on
//! data/lock keeps two writers of one machine apart; this keeps apart writers on every
//! machine that reaches the database. The server releases it when the session ends,
//! also when the holder is killed; keepalives set on the session let the server notice
//! a holder that vanished from the network within about 25 s.

use anyhow::Context;
use sqlx::{AnyConnection, Connection, Executor};

use super::Db;

/// Held while it lives; dropping it closes its session and so releases the lock.
pub struct DatabaseLock {
    // In a mutex only so that the `App` holding it may be shared between tasks; the
    // session is never used again, only kept open.
    _session: std::sync::Mutex<AnyConnection>,
}

/// The advisory lock's key: "baosong" in ASCII, and 1 for the writer.
const KEY: i64 = 0x6261_6f73_6f6e_6701;

/// Takes the lock on the database at `url` if no other session holds it.
pub async fn try_acquire(url: &str) -> anyhow::Result<Option<DatabaseLock>> {
    let mut session = AnyConnection::connect(url).await.with_context(|| format!("无法连接数据库 {}", super::shown(url)))?;
    // Probe an idle client after 10 s, every 5 s, and give up after 3 unanswered probes.
    session.execute("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3; SET application_name = 'baosong writer'").await?;
    let (taken,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(KEY).fetch_one(&mut session).await?;
    Ok(taken.then_some(DatabaseLock { _session: std::sync::Mutex::new(session) }))
}

/// Where the session holding the lock comes from ("10.0.0.5", or "本机" over a local
/// socket), if the server says.
pub async fn holder(db: &Db) -> anyhow::Result<Option<String>> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND (l.classid::bigint << 32) + l.objid::bigint = $1 AND l.objsubid = 1",
    )
    .bind(KEY)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(addr,)| addr.unwrap_or_else(|| "本机".to_string())))
}
