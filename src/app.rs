//! What a process opens before any stage runs: the configuration, the data
//! directory's store, the database (migrated under the migration lock) and, for the
//! one writer, the writer lock. The binary, the daemon and the console open an `App`;
//! the stages below take only the parts they use.

use anyhow::Context;
use tracing::{info, warn};

use crate::config::Config;
use crate::db::{Backend, Db, writer_lock};
use crate::lock::{MigrationLock, WriterLock};
use crate::store::Store;

/// Reads and checks the configuration (`path`, or the embedded default), the mail
/// templates included: each is rendered with sample values, so a template naming a
/// variable no mail fills is a configuration error now, not a failed send later.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let config = Config::load(path)?;
    if let Some(t) = &config.templates {
        t.check(&crate::notify::samples())?;
    }
    Ok(config)
}

pub struct App {
    pub config: Config,
    pub db: Db,
    pub store: Store,
    /// Held by writers (`run`, `poll`, `import`) for as long as they run.
    pub writer: Option<WriterLock>,
    /// On PostgreSQL, the writer's lock on the database, for writers on other machines.
    pub database_writer: Option<crate::db::writer_lock::DatabaseLock>,
}

impl App {
    /// For commands that read, or make one manual change: they work alongside a
    /// running writer.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        let store = open_store(&config)?;
        let db = open_db(&config).await?;
        Ok(App { config, db, store, writer: None, database_writer: None })
    }

    /// For the one writer of a data directory: takes its lock (or says in Chinese
    /// which process holds it), then opens and migrates the database under it.
    ///
    /// On PostgreSQL the writer lock is the database's own (`db::writer_lock`), for
    /// writers on every machine, and the data directory may be a folder all of them
    /// share: no flock on data/lock then. `run` takes the database's lock itself, as
    /// the mailbox reader or a standby (`failover`); the other writers take it here.
    pub async fn open_writer(config: Config, command: &str) -> anyhow::Result<App> {
        let postgres = Backend::of(&config.database_url) == Some(Backend::Postgres);
        let lock = match postgres {
            false => Some(WriterLock::acquire(&config.data_dir, command, chrono::Utc::now().timestamp())?),
            true => None,
        };
        let store = open_store(&config)?;
        // What earlier processes killed mid-way left in tmp/: only folders whose
        // flock nobody holds, so never a live process's, wherever it runs.
        match store.remove_leftovers() {
            Ok(0) => {}
            Ok(n) => info!(folders = n, "已删除此前中断的进程留下的临时文件"),
            Err(e) => warn!(error = %e, "无法清理临时目录 tmp"),
        }
        let db = open_db(&config).await?;
        let database_writer = match db.backend {
            Backend::Postgres if command != "run" => match writer_lock::try_acquire(&config.database_url).await? {
                Some(held) => {
                    // The writer before it is gone: what it claimed is free at once.
                    crate::db::journal::release_writers(&db).await?;
                    Some(held)
                }
                None => {
                    let at = writer_lock::holder(&db).await.ok().flatten().unwrap_or_else(|| "未知".to_string());
                    anyhow::bail!(
                        "数据库 {} 正被另一个 baosong 进程写入（它的连接来自 {at}）。同一个库同一时间只能有一个收件或导入进程\
                         （run、poll、import），无论在哪台机器上；请等它结束，或先停止它（systemctl stop baosong）再试。查看报表、审核等命令不受影响。",
                        crate::db::shown(&config.database_url)
                    );
                }
            },
            Backend::Postgres => None,
            Backend::Sqlite => {
                // The one process on this database: claims made by one killed earlier
                // need not wait for their leases.
                crate::db::journal::release_all(&db).await?;
                None
            }
        };
        Ok(App { config, db, store, writer: lock, database_writer })
    }
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::open(&config.data_dir).with_context(|| format!("无法创建数据目录 {}", config.data_dir.display()))?;
    Ok(match &config.s3 {
        Some(s3) => store.with_remote(crate::store::Remote::open(s3)?),
        None => store,
    })
}

/// Opens the database and brings its schema up to date, one process at a time.
async fn open_db(config: &Config) -> anyhow::Result<Db> {
    let _migrating = MigrationLock::acquire(&config.data_dir)?;
    Db::open(&config.database_url).await
}
