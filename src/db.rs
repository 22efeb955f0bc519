//! The database: an sqlx pool, its migrations, and one module per table. All SQL
//! lives under db/. Queries are written to run on PostgreSQL too: i64 Unix-second
//! timestamps, `$N` placeholders, ON CONFLICT … DO and RETURNING, no SQLite-only
//! functions. The SQLite-only SQL is in these places:
//! - migrations/sqlite, which uses SQLite's dialect;
//! - `Db::open` and `Db::begin`, where it runs only when the backend is SQLite: the
//!   PRAGMAs turn on foreign keys, a busy timeout and WAL, and BEGIN IMMEDIATE takes
//!   the write lock at the start;
//! - `Db::copy_to`: VACUUM INTO, the consistent copy of the file that the reprocess
//!   dry run works on;
//! - `items::delete_for_message`: `PRAGMA defer_foreign_keys`, so that reprocess can
//!   delete items that adoptions still name until `repoint` moves them. It runs on
//!   every backend, so PostgreSQL will need its own way to do this.

/// `[(file name, its text)]` for files of migrations/sqlite.
macro_rules! migrations {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../migrations/sqlite/", $file)))),*]
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
pub mod senders;
pub mod users;

use std::path::Path;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlStr};

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    sqlite: bool,
}

/// The files of migrations/sqlite, in order. A new migration is one more line here;
/// `every_migration_file_is_listed` fails when a file in the folder is missing from it.
/// (This list replaces sqlx's `migrate!`, whose proc-macro build compiled SQLite a second time.)
const SQLITE_MIGRATIONS: &[(&str, &str)] = migrations![
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
];

/// The migrator `migrate!("migrations/sqlite")` built: each file's version, description,
/// SQL and checksum (SHA-384 of the text, computed by `Migration::new`) are the same, so a
/// database migrated by an older build opens without a checksum mismatch.
fn migrator() -> Migrator {
    Migrator::with_migrations(SQLITE_MIGRATIONS.iter().map(|&(file, sql)| migration(file, sql)).collect())
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

    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// Callers hold `lock::MigrationLock`, so that two processes never migrate at once.
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
            // An idle daemon keeps no connection (and no page cache) open for long: the
            // pool's reaper looks every `idle_timeout`, so one idle for 20 s is closed
            // within 40 s (`intake::worker` hands the memory back after 45 s).
            .min_connections(0)
            .idle_timeout(Some(std::time::Duration::from_secs(20)))
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
        migrator().run(&pool).await.context("数据库迁移失败")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");

    #[test]
    fn every_migration_file_is_listed() {
        let mut files: Vec<String> = std::fs::read_dir(DIR)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = SQLITE_MIGRATIONS.iter().map(|&(file, _)| file).collect();
        assert_eq!(listed, files, "SQLITE_MIGRATIONS in src/db.rs must list every file of migrations/sqlite, in order");
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
        migrator().run(&pool).await.unwrap();
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
        let folder = Migrator::new(Path::new(DIR)).await.unwrap();
        let ours = migrator();
        let fields = |m: &Migration| (m.version, m.description.to_string(), m.migration_type, m.sql.as_str().to_string(), m.checksum.to_vec(), m.no_tx);
        let folder: Vec<_> = folder.iter().map(fields).collect();
        let ours: Vec<_> = ours.iter().map(fields).collect();
        assert_eq!(ours, folder);
        assert_eq!(ours.len(), SQLITE_MIGRATIONS.len());
    }
}
