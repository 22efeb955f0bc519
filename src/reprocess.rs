//! `reprocess`: the current rules run again over stored raw mail, so that a rule fix
//! reaches months already taken in. The messages go through the intake journal and
//! its workers like new mail; each is decided again in one transaction (its items
//! replaced), seeing only mail received before it, as intake did. What people decided stands: an approval, a
//! reassignment, a chosen category, an extension (kept in its own table), a dismissal
//! (dismissed mail is not touched). Running it twice changes nothing the second time.
//! Adoptions follow their files to the new rows; each changed message is audited.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::store::Store;
use crate::cycle::Cycle;
use crate::db::{self, items::{ListedItem, Status}, messages::{Disposition, MessageRow}};
use crate::intake;
use crate::report::{self, DepartmentRow};

/// A message as the books show it: what became of it and what it counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub disposition: Disposition,
    pub department: String,
    pub cycle: String,
    pub accepted: usize,
    pub duplicates: usize,
    pub refused: usize,
    /// Item flags, with how many carry each.
    pub flags: BTreeMap<String, usize>,
}

impl Snapshot {
    fn of(row: &MessageRow, items: &[ListedItem]) -> Snapshot {
        let count = |s: &[Status]| items.iter().filter(|i| s.contains(&i.item.status)).count();
        let mut flags = BTreeMap::new();
        for f in items.iter().flat_map(|i| i.item.flags.split(',')).filter(|f| !f.is_empty()) {
            *flags.entry(f.to_string()).or_default() += 1;
        }
        Snapshot {
            disposition: row.disposition,
            department: row.department.clone(),
            cycle: row.cycle.clone(),
            accepted: count(&[Status::Accepted]),
            duplicates: count(&[Status::Duplicate, Status::Shared]),
            refused: count(&[Status::Rejected]),
            flags,
        }
    }

    /// "计入 嘎鲁图派出所 2024-03：计入 4，重复 0，拒收 1（标记：模糊1）".
    pub fn shown(&self) -> String {
        let what = self.disposition.label();
        let whom = [self.department.as_str(), self.cycle.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
        let flags = self.flags.iter().map(|(f, n)| format!("{}{n}", crate::rejection::Flag::from_code(f).map_or(f.as_str(), |f| f.label()))).collect::<Vec<_>>().join(" ");
        let flags = if flags.is_empty() { String::new() } else { format!("（标记：{flags}）") };
        format!("{what} {whom}：计入 {}，重复 {}，拒收 {}{flags}", self.accepted, self.duplicates, self.refused)
    }
}

/// One message whose record changed.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: i64,
    pub subject: String,
    pub before: Snapshot,
    pub after: Snapshot,
}

/// One department-month whose line on the board changed.
#[derive(Debug, Clone)]
pub struct BoardChange {
    pub cycle: String,
    pub department: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub examined: usize,
    pub messages: Vec<Change>,
    pub departments: Vec<BoardChange>,
    /// Messages that could not be decided again, left as they were: (id, subject, why).
    pub failed: Vec<(i64, String, String)>,
    /// Messages still queued when the run was stopped (SIGTERM): the next `run`,
    /// `poll` or `import` decides them.
    pub unfinished: usize,
}

/// Decides again the messages of `cycle` (every message if `None`): they are queued
/// in the intake journal in one transaction and the workers decide them as they do
/// new mail, so a crash or SIGTERM leaves the rest queued for the next start.
/// `progress` is told as messages are done (done, total).
pub async fn run(config: &Config, db: &Db, store: &Store, cycle: Option<Cycle>, now: i64, shutdown: &watch::Receiver<bool>, progress: &mut (dyn FnMut(usize, usize) + Send)) -> anyhow::Result<Outcome> {
    let tz = config.timezone;
    let bounds = cycle.map(|c| (c.to_string(), c.start(tz).timestamp(), c.next().start(tz).timestamp()));
    let rows = db::messages::to_reprocess(db, bounds.as_ref().map(|(c, a, b)| (c.as_str(), *a, *b))).await?;
    let mut cycles: BTreeSet<String> = rows.iter().map(|r| r.cycle.clone()).filter(|c| !c.is_empty()).collect();
    cycles.extend(cycle.map(|c| c.to_string()));
    let boards_before = boards(config, db, &cycles, now).await?;
    let mut before = Vec::with_capacity(rows.len());
    for row in &rows {
        before.push(Snapshot::of(row, &items_of(db, row.id).await?));
    }
    let mut tx = db.begin().await?;
    for row in &rows {
        db::journal::enqueue_redo(&mut tx, row.id, &row.raw_sha256, &row.raw_path, now).await?;
    }
    tx.commit().await?;

    let total = rows.len();
    let mut errors: HashMap<i64, String> = HashMap::new();
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    intake::worker::drain(config, db, store, true, shutdown, &mut |e, r| {
        if e.redo == 0 {
            return;
        }
        match r {
            Ok(_) => {
                errors.remove(&e.message_ref);
            }
            Err(err) => {
                errors.insert(e.message_ref, format!("{err:#}"));
            }
        }
        seen.insert(e.message_ref);
        progress(seen.len().min(total), total);
    })
    .await?;

    let mut out = Outcome { examined: total, ..Outcome::default() };
    for (row, before) in rows.into_iter().zip(before) {
        let id = row.id;
        if let Some(e) = errors.remove(&id) {
            let why = if e.contains("FOREIGN KEY") { "其中已被采用的文件按现行规则不再计入；请先用 baosong unadopt 撤销采用，再重新处理".to_string() } else { e };
            out.failed.push((id, row.subject.clone(), why));
            continue;
        }
        if !seen.contains(&id) {
            out.unfinished += 1;
            continue;
        }
        let new_row = db::messages::get(db, id).await?.ok_or_else(|| anyhow::anyhow!("邮件 {id} 在重新处理时消失"))?;
        let after = Snapshot::of(&new_row, &items_of(db, id).await?);
        if !new_row.cycle.is_empty() {
            cycles.insert(new_row.cycle.clone());
        }
        if before != after {
            let mut tx = db.begin().await?;
            let change = db::audit::Change { who: &db::audit::cli_user(), action: "reprocess", target: &format!("邮件 {id}"), before: &before.shown(), after: &after.shown() };
            db::audit::record(&mut tx, now, &change).await?;
            tx.commit().await?;
            out.messages.push(Change { id, subject: row.subject, before, after });
        }
    }
    let boards_after = boards(config, db, &cycles, now).await?;
    for (cycle, after) in &boards_after {
        let empty = BTreeMap::new();
        let before = boards_before.get(cycle).unwrap_or(&empty);
        for (department, line) in after {
            let was = before.get(department).cloned().unwrap_or_else(|| "（无）".into());
            if &was != line {
                out.departments.push(BoardChange { cycle: cycle.clone(), department: department.clone(), before: was, after: line.clone() });
            }
        }
    }
    Ok(out)
}

async fn items_of(db: &Db, message_ref: i64) -> anyhow::Result<Vec<ListedItem>> {
    db::items::list(db, &db::items::Filter { message_ref: Some(message_ref), ..Default::default() }).await
}

/// Each department's board line, per month.
async fn boards(config: &Config, db: &Db, cycles: &BTreeSet<String>, now: i64) -> anyhow::Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut all = BTreeMap::new();
    for c in cycles {
        let Some(cycle) = Cycle::parse(c) else { continue };
        let b = report::board(db, config, cycle, now).await?;
        all.insert(c.clone(), b.departments.iter().map(|d| (d.department.clone(), board_line(d))).collect());
    }
    Ok(all)
}

/// "按时，照片 4 视频 1（①2 ⑤2）标记：模糊1".
fn board_line(d: &DepartmentRow) -> String {
    let late = if d.late_by_seconds > 0 { format!("（晚 {}）", report::duration_zh(d.late_by_seconds)) } else { String::new() };
    let cats = report::categories_line(d);
    let cats = if cats.is_empty() { String::new() } else { format!("（{cats}）") };
    let flags = report::flags_line(&d.flags);
    let flags = if flags.is_empty() { String::new() } else { format!(" 标记：{flags}") };
    format!("{}{late}，照片 {} 视频 {}{cats}，拒收 {}{flags}", d.state.label(), d.photos, d.videos, d.rejected)
}

/// A dry run's world: a copy of the database in this process's temporary folder and a
/// store that writes nothing, so that `reprocess --dry-run` changes nothing and runs
/// beside the daemon. Removed when dropped (`close` first, to let SQLite finish).
pub struct DryRun {
    pub config: Config,
    pub db: Db,
    pub store: Store,
    path: std::path::PathBuf,
}

impl DryRun {
    pub async fn open(config: &Config, db: &Db, store: &Store) -> anyhow::Result<DryRun> {
        anyhow::ensure!(config.database_url.starts_with("sqlite:"), "--dry-run 只支持 SQLite 数据库；PostgreSQL 请先在备份上试");
        let path = store.tmp_dir().join("reprocess-dry-run.sqlite");
        let _ = std::fs::remove_file(&path);
        db.copy_to(&path).await.context("无法复制数据库用于试运行")?;
        let db = db::Db::open(&format!("sqlite://{}", path.display())).await?;
        Ok(DryRun { db, store: store.dry(), config: config.clone(), path })
    }

    /// Closes the copy and removes its files.
    pub async fn close(self) {
        self.db.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

#[cfg(test)]
mod dry_run_tests {
    use super::*;

    /// What a dry run writes goes to its copy of the database, which is gone after.
    #[tokio::test]
    async fn a_dry_run_writes_only_to_its_copy() {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::app::App::open(crate::config::Config::embedded(dir.path()).unwrap()).await.unwrap();
        let dry = DryRun::open(&app.config, &app.db, &app.store).await.unwrap();
        let mut tx = dry.db.begin().await.unwrap();
        let m = MessageRow { raw_sha256: "r1".into(), disposition: Disposition::Package, received_at: 1, processed_at: 1, ..Default::default() };
        db::messages::insert(&mut tx, &m).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert!(db::messages::find_existing(&dry.db, "r1").await.unwrap().is_some());
        assert!(db::messages::find_existing(&app.db, "r1").await.unwrap().is_none(), "the real database is untouched");
        let copy = dry.path.clone();
        assert!(copy.starts_with(app.store.tmp_dir()), "in this process's temporary folder: {}", copy.display());
        dry.close().await;
        assert!(!copy.exists());
    }
}
