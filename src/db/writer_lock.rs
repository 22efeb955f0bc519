//! The writer lock on PostgreSQL: a session advisory lock, held on a connection of its
//! own for as long as the writer (`run`, `poll`, `import` …) runs. It keeps apart
//! writers on every machine that reaches the database. The server releases it when
//! the session ends, also when the holder is killed.
//!
//! `run` on several machines: one holds the lock and reads the mailbox; the others
//! wait (`wait`) and take over when it is gone. Two bounds make the takeover safe:
//! - the holder checks its session every `CHECK_EVERY`, each check given
//!   `CHECK_TIMEOUT`; a holder cut off from the server therefore knows within
//!   `CHECK_EVERY + CHECK_TIMEOUT` and stops (`DatabaseLock::lost`);
//! - a standby that saw the lock held by someone else waits `FENCE`, longer than
//!   that, after taking it, before it reads mail or sends any.
//!
//! The server notices a holder that vanished from the network by TCP keepalives
//! (`SETUP`, about 11 s), so a takeover after a cut takes at most about
//! 11 + 2 + 8 s. A lock free at the first try needs no wait: its last holder's session
//! ended because its process died, or after the keepalives, later than it stopped.

use std::time::Duration;

use anyhow::Context;
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::watch;
use tracing::{info, warn};

use super::Db;

/// How often the holder checks its lock session.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long one check may take before the holder counts the lock as lost.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a standby that took the lock over waits before it starts: longer than a
/// cut-off holder takes to notice and stop, with 3 s to spare for a loaded machine.
pub const FENCE: Duration = Duration::from_secs(CHECK_EVERY.as_secs() + CHECK_TIMEOUT.as_secs() + 3);
/// How often a standby tries the lock, and how long one try may take.
pub const TRY_EVERY: Duration = Duration::from_secs(2);
const TRY_TIMEOUT: Duration = Duration::from_secs(10);
/// Keepalives on the lock session: probe an idle client after 5 s, every 2 s, give up
/// after 3 unanswered probes. Held sessions are never idle that long (a check every
/// `CHECK_EVERY`), so only a vanished holder is probed.
const SETUP: &str = "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3; \
                     SET application_name = 'baosong writer'";

/// Held while it lives; dropping it closes its session and so releases the lock.
pub struct DatabaseLock {
    session: tokio::sync::Mutex<AnyConnection>,
}

// What the takeover's safety rests on: a cut-off holder stops before a standby that
// waited `FENCE` starts, and before the server's keepalives end its session.
const _: () = assert!(FENCE.as_secs() > CHECK_EVERY.as_secs() + CHECK_TIMEOUT.as_secs());
const _: () = assert!(5 + 2 * 3 > CHECK_EVERY.as_secs() + CHECK_TIMEOUT.as_secs(), "SETUP's keepalives");

/// The advisory lock's key: "baosong" in ASCII, and 1 for the writer.
const KEY: i64 = 0x6261_6f73_6f6e_6701;

async fn session(url: &str) -> anyhow::Result<AnyConnection> {
    let mut session = AnyConnection::connect(url).await.with_context(|| format!("无法连接数据库 {}", super::shown(url)))?;
    session.execute(SETUP).await?;
    Ok(session)
}

async fn try_lock(session: &mut AnyConnection) -> anyhow::Result<bool> {
    let (taken,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(KEY).fetch_one(session).await?;
    Ok(taken)
}

/// Takes the lock on the database at `url` if no other session holds it.
pub async fn try_acquire(url: &str) -> anyhow::Result<Option<DatabaseLock>> {
    let mut s = session(url).await?;
    Ok(try_lock(&mut s).await?.then(|| DatabaseLock { session: tokio::sync::Mutex::new(s) }))
}

/// How the lock was taken by `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Free at the first try.
    Free,
    /// From another holder, after `FENCE`.
    Over,
}

/// A standby's wait: tries the lock every `TRY_EVERY` until it is taken (`None` when
/// `shutdown` turns true first). A lock taken from another holder is held `FENCE`
/// before it is returned. The database being away is logged and waited out.
pub async fn wait(db: &Db, url: &str, shutdown: &mut watch::Receiver<bool>) -> anyhow::Result<Option<(DatabaseLock, Taken)>> {
    let (mut seen_held, mut down) = (false, false);
    let mut s: Option<AnyConnection> = None;
    loop {
        if *shutdown.borrow() {
            return Ok(None);
        }
        let tried = async {
            if s.is_none() {
                s = Some(session(url).await?);
            }
            try_lock(s.as_mut().expect("just connected")).await
        };
        // A server out of reach may not even refuse: give each try a bound.
        let tried = tokio::select! {
            t = tokio::time::timeout(TRY_TIMEOUT, tried) => t.unwrap_or_else(|_| Err(anyhow::anyhow!("数据库 {} 秒没有应答", TRY_TIMEOUT.as_secs()))),
            _ = shutdown.changed() => return Ok(None),
        };
        if tried.is_ok() && down {
            down = false;
            info!("已重新连上数据库，继续待命");
        }
        match tried {
            Ok(true) => break,
            Ok(false) if !seen_held => {
                seen_held = true;
                let at = holder(db).await.ok().flatten().unwrap_or_else(|| "未知".to_string());
                info!(holder = %at, "另一个 baosong 实例正在收件（它的数据库连接来自 {at}）；本实例待命，它停止后接手");
            }
            Ok(false) => {}
            Err(e) => {
                s = None;
                if !down {
                    down = true;
                    warn!(error = %format!("{e:#}"), "待命中无法连接数据库，每 {} 秒重试一次", TRY_EVERY.as_secs());
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(TRY_EVERY) => {}
            _ = shutdown.changed() => return Ok(None),
        }
    }
    let lock = DatabaseLock { session: tokio::sync::Mutex::new(s.expect("locked on it")) };
    if !seen_held {
        return Ok(Some((lock, Taken::Free)));
    }
    info!(wait_seconds = FENCE.as_secs(), "已取得数据库写入锁；等原先的收件实例确已停止后接手");
    tokio::select! {
        _ = tokio::time::sleep(FENCE) => {}
        _ = shutdown.changed() => return Ok(None),
        why = lock.lost() => anyhow::bail!("接手前失去数据库写入锁：{why}"),
    }
    Ok(Some((lock, Taken::Over)))
}

impl DatabaseLock {
    /// Returns, with the reason in Chinese, once the lock can no longer be counted on:
    /// a check of its session failed, or took longer than `CHECK_TIMEOUT`. Checks every
    /// `CHECK_EVERY` until then.
    pub async fn lost(&self) -> String {
        let mut session = self.session.lock().await;
        loop {
            tokio::time::sleep(CHECK_EVERY).await;
            match tokio::time::timeout(CHECK_TIMEOUT, session.execute("SELECT 1")).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return format!("锁所在的数据库连接出错（{e}）"),
                Err(_) => return format!("锁所在的数据库连接 {} 秒没有应答", CHECK_TIMEOUT.as_secs()),
            }
        }
    }
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
