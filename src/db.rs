//! The database: an sqlx pool, its migrations, and one module per table. All SQL
//! lives under db/. The SQL is written to run on PostgreSQL too: i64 Unix-second
//! timestamps, `$N` placeholders, no SQLite-only functions.

pub mod adoptions;
pub mod audit;
pub mod cursors;
pub mod items;
pub mod journal;
pub mod ledger;
pub mod messages;
pub mod metrics;
pub mod outbox;
pub mod senders;
pub mod users;

use std::path::Path;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    sqlite: bool,
}

/// Rows written at once never duplicate: a second copy of a message is this, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyExists(pub i64);

impl Db {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// Callers hold `lock::MigrationLock`, so that two processes never migrate at once.
    /// A consistent copy of this SQLite database written to `path` (a dry run's scratch copy).
    pub async fn copy_to(&self, path: &Path) -> anyhow::Result<()> {
        let path = path.to_str().context("数据库副本路径不是 UTF-8")?;
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (before a scratch copy is deleted).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn open(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let url = if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("无法创建数据库目录 {}", dir.display()))?;
            }
            if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") }
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            // An idle daemon keeps no connection (and no page cache) open for long.
            .min_connections(0)
            .idle_timeout(Some(std::time::Duration::from_secs(60)))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .with_context(|| format!("无法打开数据库 {url}"))?;
        if url.starts_with("sqlite:") {
            pool.execute("PRAGMA journal_mode = WAL").await.context("无法设置 WAL 模式")?;
        }
        sqlx::migrate!("migrations/sqlite").run(&pool).await.context("数据库迁移失败")?;
        Ok(Db { pool, sqlite: url.starts_with("sqlite:") })
    }

    /// A write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so
    /// that it waits on `busy_timeout` behind another process's writes instead of
    /// failing with "database is locked" when a read would turn into a write.
    pub async fn begin(&self) -> anyhow::Result<Tx<'static>> {
        if self.sqlite {
            return Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        }
        Ok(self.pool.begin().await?)
    }
}
