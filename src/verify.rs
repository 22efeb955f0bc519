//! The store checked against its hashes: every blob and raw mail re-hashed, tree
//! entries compared with their blobs, modes checked. Repair restores a damaged blob
//! from the raw mail it came from and links the tree to it again. The tree is linked
//! from the database here too, checking each blob first when rebuilding.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::db::Db;
use crate::db::{self, items::BlobUser, messages::MessageRow};
use crate::pipeline;
use crate::store::{FILE_MODE, Store};

/// Called with (files checked, files to check) as hashing goes on.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// What became of a problem when repair was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    NotAsked,
    /// Restored from this raw mail (path relative to the data directory).
    Restored(String),
    /// Nothing refers to the blob: removed; processing its mail again writes it anew.
    Removed,
    /// The tree entry is the archived file again.
    Relinked,
    Failed(String),
}

#[derive(Debug, Clone)]
pub enum Problem {
    /// A blob whose content no longer hashes to its name, or that is missing.
    Blob { blob: String, missing: bool, users: Vec<BlobUser>, repair: Repair },
    /// Raw mail whose content no longer hashes to its name: nothing here can restore it.
    Raw { raw: String, message: Option<MessageRow> },
    /// A tree entry that is not the blob any more and differs from it (an edited copy).
    Tree { tree: String, blob: String, repair: Repair },
    /// A stored file that could not be read.
    Unreadable { path: String, error: String },
}

impl Problem {
    pub fn resolved(&self) -> bool {
        matches!(self, Problem::Blob { repair: Repair::Restored(_) | Repair::Removed, .. } | Problem::Tree { repair: Repair::Relinked, .. })
    }

    /// One line for people, in Chinese.
    pub fn describe(&self) -> String {
        match self {
            Problem::Blob { blob, missing, users, repair } => {
                let what = if *missing { "存档文件缺失" } else { "存档文件已损坏（内容与哈希不符）" };
                let used = if users.is_empty() {
                    "没有文件使用它".to_string()
                } else {
                    let mut list: Vec<String> = users.iter().take(5).map(describe_user).collect();
                    if users.len() > 5 {
                        list.push(format!("等共 {} 处", users.len()));
                    }
                    format!("使用它的文件：{}", list.join("；"))
                };
                let outcome = match repair {
                    Repair::NotAsked => "运行 baosong verify --repair 可从原始邮件恢复".to_string(),
                    Repair::Restored(raw) => format!("已从原始邮件 {raw} 恢复"),
                    Repair::Removed => "已删除（重新处理邮件时会重新生成）".to_string(),
                    Repair::Relinked => "已恢复".to_string(),
                    Repair::Failed(why) => format!("无法修复：{why}"),
                };
                format!("{what}：{blob}。{used}。{outcome}")
            }
            Problem::Raw { raw, message } => {
                let whose = match message {
                    Some(m) => format!("（邮件 {}，{} {}，发件人 {}，主题「{}」）", m.id, or_dash(&m.department), or_dash(&m.cycle), m.from_addr, m.subject),
                    None => "（数据库中没有对应的邮件）".to_string(),
                };
                format!("原始邮件已损坏（内容与哈希不符）：{raw}{whose}。本机无法修复，请从邮箱或备份取回原件")
            }
            Problem::Tree { tree, blob, repair } => {
                let outcome = match repair {
                    Repair::Relinked => "已恢复为存档中的原件".to_string(),
                    Repair::Failed(why) => format!("无法恢复：{why}"),
                    _ => "运行 baosong verify --repair 或 baosong tree rebuild 恢复为存档中的原件".to_string(),
                };
                format!("目录树中的文件被改动过：{tree}（应与存档文件 {blob} 相同）。{outcome}")
            }
            Problem::Unreadable { path, error } => format!("无法读取：{path}（{error}）"),
        }
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "—" } else { s }
}

fn describe_user(u: &BlobUser) -> String {
    let place = if u.tree_path.is_empty() { format!("状态 {}", u.status.code()) } else { u.tree_path.clone() };
    format!("{} {} 「{}」→ {place}（文件 {}，邮件 {}）", or_dash(&u.department), or_dash(&u.cycle), u.shown_name, u.id, u.message_ref)
}

#[derive(Debug, Default)]
pub struct Report {
    pub blobs: usize,
    pub raw: usize,
    pub tree: usize,
    pub problems: Vec<Problem>,
    /// Stored files (blobs, raw mail, thumbnails) that were not read-only (0444).
    pub wrong_modes: usize,
    /// Of those, made read-only by repair.
    pub modes_fixed: usize,
}

impl Report {
    pub fn unresolved(&self) -> usize {
        self.problems.iter().filter(|p| !p.resolved()).count()
    }
}

/// Checks the whole store; with `repair`, fixes what can be fixed here.
pub async fn verify(config: &Config, db: &Db, store: &Store, repair: bool, progress: Progress) -> anyhow::Result<Report> {
    let scanned = store.clone();
    let scan = tokio::task::spawn_blocking(move || scan(&scanned, repair, &progress)).await.context("检查线程异常退出")??;
    let mut report = Report { blobs: scan.blobs.len(), raw: scan.raw, wrong_modes: scan.wrong_modes, modes_fixed: scan.modes_fixed, ..Report::default() };
    report.problems.extend(scan.unreadable.into_iter().map(|(path, error)| Problem::Unreadable { path, error }));

    let damaged_raw: HashSet<String> = scan.damaged_raw.iter().cloned().collect();
    for raw in scan.damaged_raw {
        let sha = file_hash(&raw).to_string();
        let message = match db::messages::find_existing(db, &sha).await? {
            Some(had) => db::messages::get(db, had.0).await?,
            None => None,
        };
        report.problems.push(Problem::Raw { raw, message });
    }

    let on_disk: HashSet<&String> = scan.blobs.iter().collect();
    let mut bad: Vec<(String, bool)> = scan.damaged_blobs.into_iter().map(|b| (b, false)).collect();
    bad.extend(db::items::blob_paths(db).await?.into_iter().filter(|b| !on_disk.contains(b)).map(|b| (b, true)));
    let mut still_bad = HashSet::new();
    for (blob, missing) in bad {
        let users = db::items::blob_users(db, file_hash(&blob)).await?;
        let outcome = if repair { repair_blob(config, store, &blob, &users, &damaged_raw).await } else { Repair::NotAsked };
        if !matches!(outcome, Repair::Restored(_) | Repair::Removed) {
            still_bad.insert(blob.clone());
        }
        report.problems.push(Problem::Blob { blob, missing, users, repair: outcome });
    }

    let entries = db::items::tree_entries(db).await?;
    report.tree = entries.len();
    let store = store.clone();
    let tree_problems = tokio::task::spawn_blocking(move || check_tree(&store, &entries, &still_bad, repair)).await.context("检查线程异常退出")?;
    report.problems.extend(tree_problems);
    Ok(report)
}

/// What hashing the files on disk found.
#[derive(Default)]
struct Scan {
    blobs: Vec<String>,
    raw: usize,
    damaged_blobs: Vec<String>,
    damaged_raw: Vec<String>,
    unreadable: Vec<(String, String)>,
    wrong_modes: usize,
    modes_fixed: usize,
}

/// The archive is hashed where it is kept: the object store's copies when there is one
/// (each streamed through the hash), else the files on disk. Modes are those of the
/// files on disk (with an object store, the cache and the tree's blobs).
fn scan(store: &Store, repair: bool, progress: &Progress) -> anyhow::Result<Scan> {
    let on_disk = |sub: &str| store.on_disk(sub).with_context(|| format!("无法读取目录 {}", store.abs(sub).display()));
    let archived = |sub: &str| match store.remote() {
        Some(r) => r.list(sub).with_context(|| format!("无法列出对象存储 {} 中的 {sub}/", r.shown)),
        None => on_disk(sub),
    };
    let (blobs, raw) = (archived("blobs")?, archived("raw")?);
    let total = blobs.len() + raw.len();
    let mut s = Scan { raw: raw.len(), ..Scan::default() };
    for (i, rel) in blobs.iter().chain(&raw).enumerate() {
        match store.hash_archived(rel) {
            Ok(h) if h == file_hash(rel) => {}
            Ok(_) if rel.starts_with("blobs/") => s.damaged_blobs.push(rel.clone()),
            Ok(_) => s.damaged_raw.push(rel.clone()),
            Err(e) => s.unreadable.push((rel.clone(), e.to_string())),
        }
        progress(i + 1, total);
    }
    let local = if store.remote().is_some() { [on_disk("blobs")?, on_disk("raw")?].concat() } else { blobs.iter().chain(&raw).cloned().collect() };
    for rel in local.iter().chain(&on_disk("thumbs")?) {
        let Ok(meta) = std::fs::metadata(store.abs(rel)) else { continue };
        if meta.permissions().mode() & 0o7777 == FILE_MODE {
            continue;
        }
        s.wrong_modes += 1;
        if repair && store.make_read_only(rel).is_ok() {
            s.modes_fixed += 1;
        }
    }
    s.blobs = blobs;
    Ok(s)
}

/// The SHA-256 a stored file is named by: `blobs/ab/cd/<sha>`, `raw/ab/<sha>.eml`, or
/// a link's original `raw/ab/<sha>.orig`.
fn file_hash(rel: &str) -> &str {
    let name = rel.rsplit('/').next().unwrap_or_default();
    name.strip_suffix(".eml").or_else(|| name.strip_suffix(".orig")).unwrap_or(name)
}

/// Restores one blob from the raw mail of an item that uses it.
async fn repair_blob(config: &Config, store: &Store, blob: &str, users: &[BlobUser], damaged_raw: &HashSet<String>) -> Repair {
    if users.is_empty() {
        return match store.remove_archived(blob) {
            Ok(()) => Repair::Removed,
            Err(e) => Repair::Failed(format!("无法删除：{e}")),
        };
    }
    let sha = file_hash(blob).to_string();
    let mut seen = HashSet::new();
    let mut why = "原始邮件中找不到这个文件".to_string();
    for raw in users.iter().map(|u| u.raw_path.clone()).filter(|r| !r.is_empty()) {
        if !seen.insert(raw.clone()) {
            continue;
        }
        if damaged_raw.contains(&raw) {
            why = format!("原始邮件 {raw} 也已损坏");
            continue;
        }
        let (s, rel) = (store.clone(), raw.clone());
        let read = tokio::task::spawn_blocking(move || s.local(&rel).and_then(std::fs::read)).await;
        let bytes = match read.unwrap_or_else(|e| Err(std::io::Error::other(e))) {
            Ok(b) => b,
            Err(e) => {
                why = format!("无法读取原始邮件 {raw}（{e}）");
                continue;
            }
        };
        let (config, wanted, tmp) = (config.clone(), sha.clone(), store.tmp_dir());
        let found = tokio::task::spawn_blocking(move || pipeline::recover_file(&bytes, &config, &tmp, &wanted)).await.ok().flatten();
        let Some(data) = found else { continue };
        if let Err(e) = store.restore_blob(&sha, &data) {
            return Repair::Failed(format!("无法写入（{e}）"));
        }
        // The tree entries are still the damaged file (a rename only replaced the name).
        for u in users.iter().filter(|u| !u.tree_path.is_empty()) {
            if store.abs(&u.tree_path).symlink_metadata().is_ok() {
                if let Err(e) = store.relink(blob, &u.tree_path) {
                    return Repair::Failed(format!("已恢复存档文件，但目录树中的 {} 未能更新（{e}）；请运行 baosong tree rebuild", u.tree_path));
                }
            }
        }
        return Repair::Restored(raw);
    }
    Repair::Failed(why)
}

/// Tree entries that are no longer their blob and differ from it. Entries of blobs
/// already reported (`bad`) and missing entries (`tree rebuild` makes them) are skipped.
fn check_tree(store: &Store, entries: &[(String, String)], bad: &HashSet<String>, repair: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    for (tree, blob) in entries {
        if bad.contains(blob) || !matches!(store.is_linked(blob, tree), Ok(false)) {
            continue;
        }
        // Where hard links fail the entry is a copy: fine while it has the blob's content.
        match store.hash_file(tree) {
            Ok(h) if h == file_hash(blob) => continue,
            Ok(_) => {}
            Err(e) => {
                out.push(Problem::Unreadable { path: tree.clone(), error: e.to_string() });
                continue;
            }
        }
        let repair = match repair {
            false => Repair::NotAsked,
            true => match store.relink(blob, tree) {
                Ok(()) => Repair::Relinked,
                Err(e) => Repair::Failed(e.to_string()),
            },
        };
        out.push(Problem::Tree { tree: tree.clone(), blob: blob.clone(), repair });
    }
    out
}

/// What linking the tree did.
#[derive(Debug, Default)]
pub struct Linked {
    /// Entries now in the tree (made or already there).
    pub linked: usize,
    /// Entries left out because their blob is damaged or missing: (tree, blob, why).
    pub damaged: Vec<(String, String, String)>,
    /// Entries that could not be made: (tree, error).
    pub failed: Vec<(String, String)>,
}

/// Links what the tree lacks of what the database knows (a crash after a commit, before
/// its links), without hashing anything; returns each entry that could not be linked,
/// with why. `run`, `poll`, `import`, `retry` and `reprocess` call it when they end.
pub async fn sync_tree(db: &db::Db, store: &Store) -> anyhow::Result<Vec<(String, String)>> {
    let entries = db::items::tree_entries(db).await?;
    let store = store.clone();
    let done = tokio::task::spawn_blocking(move || link_tree(&store, &entries, false, &|_, _| {})).await.context("目录树线程异常退出")?;
    Ok(done.failed)
}

/// Links every tree entry the database knows and the disk lacks. With `check`, each
/// blob is hashed first and a damaged one is never linked (`tree rebuild`). Without,
/// nothing is hashed: the import and the daemon call this after every pass, and
/// re-reading the whole archive each time would cost more than the import itself;
/// `verify` and `tree rebuild` are where damage is found.
pub fn link_tree(store: &Store, entries: &[(String, String)], check: bool, progress: &dyn Fn(usize, usize)) -> Linked {
    let mut out = Linked::default();
    let mut intact: HashMap<&str, Result<bool, String>> = HashMap::new();
    for (i, (tree, blob)) in entries.iter().enumerate() {
        progress(i + 1, entries.len());
        if check {
            let ok = intact.entry(blob).or_insert_with(|| store.blob_intact(blob).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => "存档文件缺失".to_string(),
                    _ => format!("无法读取（{e}）"),
                }));
            match ok {
                Ok(true) => {}
                Ok(false) => {
                    out.damaged.push((tree.clone(), blob.clone(), "内容与哈希不符".into()));
                    continue;
                }
                Err(e) => {
                    out.damaged.push((tree.clone(), blob.clone(), e.clone()));
                    continue;
                }
            }
        }
        match store.link(blob, tree) {
            Ok(()) => out.linked += 1,
            Err(e) => out.failed.push((tree.clone(), e.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crash after a message's commit and before its tree links: `sync_tree` links
    /// what the database knows, and says what it could not.
    #[tokio::test]
    async fn sync_tree_links_what_the_database_knows() {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::app::App::open(crate::config::Config::embedded(dir.path()).unwrap()).await.unwrap();
        let (db, store) = (&app.db, &app.store);
        let sha = crate::inspect::sha256_hex(b"photo");
        let blob = store.put_blob(&sha, b"photo").unwrap();
        let mut tx = db.begin().await.unwrap();
        let m = db::messages::MessageRow { raw_sha256: "r1".into(), disposition: db::messages::Disposition::Package, received_at: 1, processed_at: 1, ..Default::default() };
        let id = db::messages::insert(&mut tx, &m).await.unwrap().unwrap();
        for (name, b) in [("a.jpg", blob.as_str()), ("b.jpg", "blobs/00/00/missing")] {
            let it = db::items::ItemRow { message_ref: id, status: db::items::Status::Accepted, blob_path: b.into(), tree_path: format!("tree/2024-03/单位/未分类/{name}"), ..Default::default() };
            db::items::insert(&mut tx, &it).await.unwrap();
        }
        tx.commit().await.unwrap();
        let failed = sync_tree(db, store).await.unwrap();
        assert_eq!(std::fs::read(store.abs("tree/2024-03/单位/未分类/a.jpg")).unwrap(), b"photo");
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0].0, "tree/2024-03/单位/未分类/b.jpg");
        assert!(sync_tree(db, store).await.unwrap().len() == 1, "linking again changes nothing");
    }
}
