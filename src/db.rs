//! The database: an sqlx pool, its migrations, and one module per table. All SQL
//! lives under db/. Queries are written to run on PostgreSQL too: i64 Unix-second
//! timestamps, `$N` placeholders, ON CONFLICT … DO and RETURNING, no SQLite-only
//! functions. What differs between the backends is in these places:
//! - migrations/sqlite and migrations/postgres, one file of each per schema change;
//! - `Db::open` and `Db::begin`: on SQLite, PRAGMAs turn on foreign keys, a busy
//!   timeout and WAL, BEGIN IMMEDIATE takes the write lock at the start, and the
//!   process's writers take turns (`Db::turn`);
//! - `Tx::defer_foreign_keys`, for reprocess, which deletes items that adoptions still
//!   name until `repoint` moves them;
//! - `Db::copy_to`: SQLite's VACUUM INTO, the consistent copy of the file that the
//!   reprocess dry run works on (refused on PostgreSQL).

/// `SQLITE_MIGRATIONS` and `POSTGRES_MIGRATIONS`: `[(file name, its text)]` of
/// migrations/sqlite and migrations/postgres. Each schema change is one file name,
/// written once for each backend: a file missing from either folder does not compile.
macro_rules! migrations {
    ($($file:literal),* $(,)?) => {
        const SQLITE_MIGRATIONS: &[(&str, &str)] = &[$(($file, include_str!(concat!("../migrations/sqlite/", $file)))),*];
        const POSTGRES_MIGRATIONS: &[(&str, &str)] = &[$(($file, include_str!(concat!("../migrations/postgres/", $file)))),*];
    };
}

/// `impl FromRow` that reads each named field from the column of the same name, as sqlx's
/// derive did (without building sqlx's proc-macro crate). A field missing from the list
/// does not compile.
macro_rules! from_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $ty {
            fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok($ty { $($field: row.try_get(stringify!($field))?),* })
            }
        }
    };
}

/// `sqlx::Type`, `Decode` and `Encode` for a state enum stored as TEXT, through its
/// `code()` and `from_code()`: the row is decoded once, and a value the enum does not
/// know is a decode error naming the column.
macro_rules! text_column {
    ($ty:ty, $column:literal) => {
        impl sqlx::Type<sqlx::Any> for $ty {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $ty {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let code = <&str as sqlx::Decode<sqlx::Any>>::decode(value)?;
                <$ty>::from_code(code).ok_or_else(|| format!(concat!($column, ": unknown value \"{}\""), code).into())
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $ty {
            fn encode_by_ref(&self, buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Any>>::encode(self.code(), buf)
            }
        }
    };
}

pub mod adoptions;
pub mod audit;
pub mod authors;
pub mod cursors;
pub mod items;
pub mod journal;
pub mod ledger;
pub mod links;
pub mod login_failures;
pub mod messages;
pub mod metrics;
pub mod outbox;
pub mod sender_auth;
pub mod transfer;
pub mod writer_lock;
pub mod senders;
pub mod users;

use std::path::Path;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlStr};

/// A write transaction (`Db::begin`). It reads as the connection it runs on, as sqlx's
/// transaction does (`&mut **tx` is the executor), and holds this process's write turn
/// until it is committed or dropped.
pub struct Tx<'a> {
    tx: sqlx::Transaction<'a, sqlx::Any>,
    backend: Backend,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx<'_> {
    /// Foreign keys are checked at commit instead of at each statement, until the end
    /// of this transaction (SQLite's `defer_foreign_keys`; on PostgreSQL the keys are
    /// declared DEFERRABLE and deferred here).
    pub async fn defer_foreign_keys(&mut self) -> anyhow::Result<()> {
        let sql = match self.backend {
            Backend::Sqlite => "PRAGMA defer_foreign_keys = ON",
            Backend::Postgres => "SET CONSTRAINTS ALL DEFERRED",
        };
        sqlx::query(sql).execute(&mut *self.tx).await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite: whose turn it is to write, among this process's connections. SQLite
    /// lets one connection write at a time and makes the others wait by sleeping
    /// 1, 2, 5, 10, 15 … ms between tries; in `poll --once` the intake's recorder and
    /// the fetch's journal slept 1.7 s that way (strace), with the lock long free.
    /// Waiting here in turn instead wakes the next writer the moment the last one
    /// commits. Other processes still wait on `busy_timeout`.
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

// The migrations, in order. A new one is one more line here and a file in each folder;
// `every_migration_file_is_listed` fails when a file in a folder is missing from it.
// (This list replaces sqlx's `migrate!`, whose proc-macro build compiled SQLite a second time.)
migrations![
    "0001_init.sql",
    "0002_imap.sql",
    "0003_outbox.sql",
    "0004_media.sql",
    "0005_failures.sql",
    "0006_journal.sql",
    "0008_outbox_hold.sql",
    "0009_message_identity.sql",
    "0010_scoring.sql",
    "0011_renditions_and_decisions.sql",
    "0012_console.sql",
    "0013_user_disabled.sql",
    "0014_links.sql",
    "0015_state_checks.sql",
    "0016_journal_state_check.sql",
    "0017_sender_auth.sql",
    "0018_item_authors.sql",
    "0019_login_failures.sql",
    "0020_journal_leases.sql",
];

/// The migrator `migrate!("migrations/sqlite")` built: each file's version, description,
/// SQL and checksum (SHA-384 of the text, computed by `Migration::new`) are the same, so a
/// database migrated by an older build opens without a checksum mismatch.
fn migrator(backend: Backend) -> Migrator {
    let files = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator::with_migrations(files.iter().map(|&(file, sql)| migration(file, sql)).collect())
}

/// Which database engine a `Db` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file, one machine.
    Sqlite,
    /// A server shared by instances on several machines.
    Postgres,
}

impl Backend {
    /// The database's clock in Unix seconds, as SQL: what leases are measured by, so
    /// that machines whose clocks differ agree on them.
    pub fn now_sql(self) -> &'static str {
        match self {
            Backend::Sqlite => "CAST(strftime('%s', 'now') AS INTEGER)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
        }
    }

    /// The backend a `database_url` names, if any.
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// One migration from its file name (`<version>_<description>.sql`) and text, read as
/// sqlx's resolver reads a migrations folder.
fn migration(file: &'static str, sql: &'static str) -> Migration {
    let (version, rest) = file.split_once('_').unwrap_or((file, ""));
    // The list above is fixed at compile time and checked by a test; a bad name is a bug.
    let version: i64 = version.parse().unwrap_or_else(|_| panic!("migration {file}: the name must start with a number"));
    let kind = MigrationType::from_filename(rest);
    let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
    Migration::new(version, description.into(), kind, SqlStr::from_static(sql), sql.starts_with("-- no-transaction"))
}

/// `url` as it may be shown or logged: a PostgreSQL password is replaced by `***`.
pub fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or("");
            format!("{scheme}://{name}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

/// What a PostgreSQL server says before anything is written to it (`check-config`).
pub struct Probe {
    /// `server_version`, e.g. "15.8 (Debian 15.8-0+deb12u1)".
    pub version: String,
    /// The last migration applied; `None` on a database baosong has not set up yet.
    pub applied: Option<i64>,
    /// The last migration this build knows.
    pub latest: i64,
}

/// Connects to the PostgreSQL database at `url` and reads its version and how far its
/// schema is migrated, changing nothing.
pub async fn probe(url: &str) -> anyhow::Result<Probe> {
    use sqlx::Connection;
    install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.with_context(|| format!("无法连接数据库 {}", shown(url)))?;
    let (version,): (String,) = sqlx::query_as("SELECT current_setting('server_version')").fetch_one(&mut conn).await?;
    let (tables,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'").fetch_one(&mut conn).await?;
    let applied = match tables {
        0 => None,
        _ => sqlx::query_as::<_, (Option<i64>,)>("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(&mut conn).await?.0,
    };
    let _ = conn.close().await;
    let latest = migrator(Backend::Postgres).iter().map(|m| m.version).max().unwrap_or(0);
    Ok(Probe { version, applied, latest })
}

/// Rows written at once never duplicate: a second copy of a message is this, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyExists(pub i64);

impl Db {
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

    /// Opens (creating if needed) the database at `url` and brings its schema up to date:
    /// a SQLite file, or a PostgreSQL database (which must exist). Callers hold
    /// `lock::MigrationLock`, so that two processes of one machine never migrate at once;
    /// sqlx's migrator also takes an advisory lock on PostgreSQL, for other machines.
    pub async fn open(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let backend = Backend::of(url).with_context(|| format!("不支持的数据库地址 {}：只支持 sqlite:// 和 postgres://", shown(url)))?;
        let url = match url.strip_prefix("sqlite://") {
            Some(path) => {
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| format!("无法创建数据库目录 {}", dir.display()))?;
                }
                if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") }
            }
            None => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            // An idle daemon keeps no connection (and no page cache) open for long: the
            // pool's reaper looks every `idle_timeout`, so one idle for 20 s is closed
            // within 40 s (`intake::worker` hands the memory back after 45 s).
            .min_connections(0)
            .idle_timeout(Some(std::time::Duration::from_secs(20)))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .with_context(|| format!("无法打开数据库 {}", shown(&url)))?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await.context("无法设置 WAL 模式")?;
        }
        migrator(backend).run(&pool).await.context("数据库迁移失败")?;
        Ok(Db { pool, backend, turn: Default::default() })
    }

    /// A write transaction. On SQLite it takes the write lock at BEGIN (IMMEDIATE), so
    /// that it waits on `busy_timeout` behind another process's writes instead of
    /// failing with "database is locked" when a read would turn into a write.
    pub async fn begin(&self) -> anyhow::Result<Tx<'static>> {
        let backend = self.backend;
        if backend == Backend::Sqlite {
            let turn = self.turn.clone().lock_owned().await;
            return Ok(Tx { tx: self.pool.begin_with("BEGIN IMMEDIATE").await?, backend, _turn: Some(turn) });
        }
        Ok(Tx { tx: self.pool.begin().await?, backend, _turn: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_listed() {
        for (folder, listed) in [("sqlite", SQLITE_MIGRATIONS), ("postgres", POSTGRES_MIGRATIONS)] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let listed: Vec<&str> = listed.iter().map(|&(file, _)| file).collect();
            assert_eq!(listed, files, "migrations![…] in src/db.rs must list every file of migrations/{folder}, in order");
        }
    }

    #[test]
    fn a_shown_address_hides_the_password() {
        assert_eq!(shown("postgres://baosong:s3cr@t@db.example:5432/baosong"), "postgres://baosong:***@db.example:5432/baosong");
        assert_eq!(shown("postgres://baosong@db.example/baosong"), "postgres://baosong@db.example/baosong");
        assert_eq!(shown("sqlite:///srv/baosong/data/baosong.db"), "sqlite:///srv/baosong/data/baosong.db");
    }

    /// Writers of one process take turns (`Db::turn`): the second waits while the first
    /// is open, and goes on as soon as the first ends, here by being dropped without a
    /// commit, whose changes are then gone. A turn that a dropped transaction kept would
    /// stop every later write of the process.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_take_turns_and_a_dropped_transaction_hands_its_turn_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let mut first = db.begin().await.unwrap();
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ('first', 1)").execute(&mut *first).await.unwrap();
        let second = tokio::spawn({
            let db = db.clone();
            async move {
                let mut tx = db.begin().await.unwrap();
                sqlx::query("INSERT INTO login_failures (key, at) VALUES ('second', 2)").execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "the second writer waits while the first is open");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), second).await.expect("the second writer goes on once the first is dropped").unwrap();
        let keys: Vec<(String,)> = sqlx::query_as("SELECT key FROM login_failures").fetch_all(&db.pool).await.unwrap();
        assert_eq!(keys, [("second".to_string(),)]);
    }

    /// 0015 rebuilds messages, items and outbox with CHECKs on their state columns (0016
    /// the journal): a
    /// database at 0014 with a value no enum knows opens, the value mapped, ids and
    /// references kept; afterwards a stray value is refused.
    #[tokio::test]
    async fn state_checks_map_stray_values_and_keep_references() {
        install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| Box::pin(async move { conn.execute("PRAGMA foreign_keys = ON").await.map(|_| ()) }))
            .connect(&url)
            .await
            .unwrap();
        let before: Vec<Migration> = SQLITE_MIGRATIONS.iter().take_while(|(f, _)| !f.starts_with("0015")).map(|&(f, sql)| migration(f, sql)).collect();
        Migrator::with_migrations(before).run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO messages (id, raw_sha256, received_at, processed_at, disposition, cycle_rule, decided_by) VALUES (7, 'a', 1, 1, 'package', 'manual', 'approved')",
            "INSERT INTO messages (id, raw_sha256, received_at, processed_at, disposition, cycle_rule, decided_by) VALUES (8, 'b', 1, 1, 'odd', 'odd', 'odd')",
            "INSERT INTO items (id, message_ref, status, kind) VALUES (3, 7, 'accepted', 'photo')",
            "INSERT INTO items (id, message_ref, status, kind) VALUES (4, 8, 'odd', 'odd')",
            "INSERT INTO adoptions (item_ref, work_ref, level, adopted_on, created_at) VALUES (3, 3, 'city', '2024-03-01', 1)",
            "INSERT INTO outbox (key, kind, message_id, recipients, subject, body, state, created_at) VALUES ('k', 'digest', 'm', 'r', 's', 'b', 'odd', 1)",
            "INSERT INTO journal (raw_sha256, raw_path, enqueued_at, state, redo) VALUES ('j', 'raw/j', 1, 'odd', 1)",
        ] {
            pool.execute(sql).await.unwrap();
        }
        migrator(Backend::Sqlite).run(&pool).await.unwrap();
        let messages: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, disposition, cycle_rule, decided_by FROM messages ORDER BY id").fetch_all(&pool).await.unwrap();
        assert_eq!(messages, [(7, "package".into(), "manual".into(), "approved".into()), (8, "held".into(), "".into(), "".into())]);
        let items: Vec<(i64, i64, String, String)> = sqlx::query_as("SELECT id, message_ref, status, kind FROM items ORDER BY id").fetch_all(&pool).await.unwrap();
        assert_eq!(items, [(3, 7, "accepted".into(), "photo".into()), (4, 8, "rejected".into(), "".into())]);
        let (state,): (String,) = sqlx::query_as("SELECT state FROM outbox").fetch_one(&pool).await.unwrap();
        assert_eq!(state, "failed");
        let (state, redo): (String, i64) = sqlx::query_as("SELECT state, redo FROM journal").fetch_one(&pool).await.unwrap();
        assert_eq!((state.as_str(), redo), ("queued", 1));
        assert!(pool.execute("UPDATE items SET status = 'odd' WHERE id = 3").await.is_err(), "the CHECK holds");
        assert!(pool.execute("INSERT INTO items (message_ref, status) VALUES (99, 'accepted')").await.is_err(), "foreign keys are on again");
        assert!(pool.execute("DELETE FROM items WHERE id = 3").await.is_err(), "adoptions still refer to the item");
        let sql: Vec<(String,)> = sqlx::query_as("SELECT sql FROM sqlite_master WHERE instr(sql, '_new') > 0").fetch_all(&pool).await.unwrap();
        assert!(sql.is_empty(), "{sql:?}");
    }

    /// What sqlx's resolver reads from the folder is what `migrate!` embedded; ours must
    /// match it field for field, checksums included.
    #[tokio::test]
    async fn migrations_are_what_sqlx_reads_from_the_folder() {
        for (backend, name) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let folder = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(name)).await.unwrap();
            let ours = migrator(backend);
            let fields = |m: &Migration| (m.version, m.description.to_string(), m.migration_type, m.sql.as_str().to_string(), m.checksum.to_vec(), m.no_tx);
            let folder: Vec<_> = folder.iter().map(fields).collect();
            let ours: Vec<_> = ours.iter().map(fields).collect();
            assert_eq!(ours, folder);
            assert_eq!(ours.len(), SQLITE_MIGRATIONS.len());
        }
    }
}
