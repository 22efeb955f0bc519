//! Manual corrections to what the rules decided: approve or reject a held mail,
//! move a package to another month, recategorize items, grant an extension. The CLI
//! and the console both call these (and `attach`, a 超大附件 link's file taken in by
//! hand), so each change is audited alike, by `who`
//! (`cli:<unix user>` or `web:<account>`), in the same transaction as the change.

pub mod attach; // a 超大附件 link's file taken in by hand
pub mod author; // authors of works assigned by hand

use anyhow::{Context, bail};

use crate::config::Config;
use crate::db::Db;
use crate::cycle::Cycle;
use crate::db;
use crate::db::messages::Disposition;
use crate::pipeline::{self, Outcome};
use crate::store::Store;

/// A tree entry to move after the commit: (old, new, blob).
type Move = (String, String, String);

/// What `approve` did.
#[derive(Debug)]
pub struct Approved {
    pub outcome: Outcome,
    /// The sender now remembered for the department, if asked.
    pub remembered: Option<String>,
}

/// Approves held mail `id` for `department` (a roster name), optionally remembering its
/// sender. pipeline::record commits the approval itself; its audit row follows at once.
pub async fn approve(config: &Config, db: &Db, store: &Store, who: &str, id: i64, department: &str, remember_sender: bool, now: i64) -> anyhow::Result<Approved> {
    let outcome = pipeline::approve(config, db, store, id, department, now).await?;
    let after = serde_json::json!({"department": department, "remember_sender": remember_sender, "outcome": format!("{outcome:?}")}).to_string();
    let mut tx = db.begin().await?;
    let change = db::audit::Change { who, action: "quarantine_approve", target: &format!("邮件 {id}"), before: Disposition::Held.code(), after: &after };
    db::audit::record(&mut tx, now, &change).await?;
    tx.commit().await?;
    let mut remembered = None;
    if remember_sender {
        if let Some(m) = db::messages::get(db, id).await? {
            db::senders::remember(db, &m.from_addr, department, now).await?;
            remembered = Some(m.from_addr);
        }
    }
    Ok(Approved { outcome, remembered })
}

/// Dismisses held mail `id`: it counts for no department.
pub async fn reject(db: &Db, who: &str, id: i64, now: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    if !db::messages::set_disposition(&mut tx, id, Disposition::Held, Disposition::Dismissed).await? {
        bail!("邮件 {id} 不在待审核队列中");
    }
    let change = db::audit::Change { who, action: "quarantine_reject", target: &format!("邮件 {id}"), before: Disposition::Held.code(), after: Disposition::Dismissed.code() };
    db::audit::record(&mut tx, now, &change).await?;
    tx.commit().await?;
    Ok(())
}

/// What `reassign` did: the department and the month it came from.
#[derive(Debug)]
pub struct Reassigned {
    pub department: String,
    pub from: String,
    pub to: String,
    /// Tree entries that could not be moved (see `apply_moves`).
    pub tree_errors: Vec<String>,
}

/// Moves package `package` (a message counted as a package) to month `cycle`.
pub async fn reassign(config: &Config, db: &Db, store: &Store, who: &str, package: i64, cycle: Cycle, now: i64) -> anyhow::Result<Reassigned> {
    let cycle = cycle.to_string();
    let m = db::messages::get(db, package).await?.with_context(|| format!("没有编号为 {package} 的邮件"))?;
    if m.cycle == cycle && m.disposition == Disposition::Package {
        bail!("邮件 {package} 本来就计入 {cycle}，没有改动");
    }
    let filter = db::items::Filter { message_ref: Some(package), ..Default::default() };
    let list = db::items::list(db, &filter).await?;
    let mut tx = db.begin().await?;
    if !db::messages::set_cycle(&mut tx, package, &cycle).await? {
        bail!("邮件 {package} 不是计入的报送（状态：{}），不能改月份", m.disposition.label());
    }
    let moves = replace_items(config, &mut tx, &list, &cycle, None).await?;
    let change = db::audit::Change { who, action: "reassign", target: &format!("邮件 {package}（{}）", m.department), before: &m.cycle, after: &cycle };
    db::audit::record(&mut tx, now, &change).await?;
    tx.commit().await?;
    let tree_errors = apply_moves(store, &moves);
    Ok(Reassigned { department: m.department, from: m.cycle, to: cycle, tree_errors })
}

/// What `recategorize` did to one item.
#[derive(Debug)]
pub struct Recategorized {
    pub item: i64,
    pub name: String,
    pub before: String,
    pub label: String,
    /// False when it was in that category already: nothing was changed or recorded.
    pub changed: bool,
    pub tree_errors: Vec<String>,
}

/// Sets the category of item `item`: 1–10, or 0 for none.
pub async fn recategorize(config: &Config, db: &Db, store: &Store, who: &str, item: i64, category: u8, now: i64) -> anyhow::Result<Recategorized> {
    if category > 10 {
        bail!("类别编号应为 1–10，或 0 表示未分类");
    }
    let li = db::items::get(db, item).await?.with_context(|| format!("没有编号为 {item} 的文件"))?;
    let no = (category > 0).then_some(category);
    if li.item.category == pipeline::category_code(no) {
        return Ok(Recategorized { item, name: li.item.shown_name, before: li.item.category, label: config.categories.label(no), changed: false, tree_errors: Vec::new() });
    }
    let mut tx = db.begin().await?;
    let cycle = li.cycle.clone();
    let moves = replace_items(config, &mut tx, std::slice::from_ref(&li), &cycle, Some(no)).await?;
    let target = format!("文件 {item}「{}」", li.item.shown_name);
    let change = db::audit::Change { who, action: "recategorize", target: &target, before: &li.item.category, after: &pipeline::category_code(no) };
    db::audit::record(&mut tx, now, &change).await?;
    tx.commit().await?;
    let tree_errors = apply_moves(store, &moves);
    Ok(Recategorized { item, name: li.item.shown_name, before: li.item.category, label: config.categories.label(no), changed: true, tree_errors })
}

/// Grants `department` (a roster name) time until `until` (inclusive) for month `cycle`;
/// returns the extension it replaces ('' if none).
pub async fn extend(db: &Db, who: &str, department: &str, cycle: Cycle, until: chrono::NaiveDate, now: i64) -> anyhow::Result<String> {
    let before = db::outbox::extensions(db, &cycle.to_string()).await?.into_iter().find(|(d, _)| d == department).map(|(_, u)| u).unwrap_or_default();
    let mut tx = db.begin().await?;
    db::outbox::set_extension(&mut tx, department, &cycle.to_string(), &until.to_string(), now).await?;
    let change = db::audit::Change { who, action: "extend", target: &format!("{department} {cycle} 延期"), before: &before, after: &until.to_string() };
    db::audit::record(&mut tx, now, &change).await?;
    tx.commit().await?;
    Ok(before)
}

/// New tree paths for items moving to `cycle` (and category, if given).
async fn replace_items(config: &Config, tx: &mut db::Tx<'_>, list: &[db::items::ListedItem], cycle: &str, category: Option<Option<u8>>) -> anyhow::Result<Vec<Move>> {
    let mut moves = Vec::new();
    for li in list {
        let it = &li.item;
        let cat = category.unwrap_or_else(|| it.category.parse().ok());
        let code = pipeline::category_code(cat);
        if it.tree_path.is_empty() {
            db::items::set_placement(tx, it.id, &code, "", category.is_some()).await?;
            continue;
        }
        let label = config.categories.label(cat);
        let mut n = 1;
        let path = loop {
            let p = Store::tree_path(cycle, &li.department, &label, &crate::unpack::names::tree_name(&it.file_name, &it.mime).0, n);
            if p == it.tree_path || !db::items::tree_path_taken(tx, &p).await? {
                break p;
            }
            n += 1;
        };
        db::items::set_placement(tx, it.id, &code, &path, category.is_some()).await?;
        if !it.rendition_path.is_empty() {
            moves.push((Store::rendition_tree_path(&it.tree_path), Store::rendition_tree_path(&path), it.rendition_path.clone()));
        }
        moves.push((it.tree_path.clone(), path, it.blob_path.clone()));
    }
    Ok(moves)
}

/// Moves the tree entries after the commit; returns a Chinese line per entry that
/// could not be moved (`baosong tree rebuild` repairs them).
fn apply_moves(store: &Store, moves: &[Move]) -> Vec<String> {
    let mut errors = Vec::new();
    for (old, new, blob) in moves {
        if old != new {
            let done = store.unlink(old).and_then(|_| store.link(blob, new));
            if let Err(e) = done {
                errors.push(format!("目录树中 {new} 未能更新（{e}）；可运行 baosong tree rebuild"));
            }
        }
    }
    errors
}
