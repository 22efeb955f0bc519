//! Recording an analysed message, in three steps: **decide** (`decide`, pure, from what
//! the database already knows, gathered here first), **place** (tree paths) and
//! **write** (its rows, in one transaction with its journal entry). The tree is linked
//! after the commit.

use std::collections::HashSet;

use tracing::{info, warn};

use super::decide::{self, Counted, Known, Ref, Route, Status};
use super::{Analysis, Existing, Kept, Outcome, Progress, already_had, category_code, finish_simple, flag_codes, forget_blobs, write_message};
use crate::attribution::{self, Author};
use crate::config::Config;
use crate::db::Db;
use crate::categories::CategoryNo;
use crate::cycle::Cycle;
use crate::db::items::{Before, ItemRow, Kind as ItemKind, Status as ItemStatus};
use crate::db::messages::{Disposition, MessageRow};
use crate::db::{self, Tx};
use crate::rejection::{Flag, HeldReason};
use crate::sender_auth::Evidence;
use crate::resolve::{self, Decision};
use crate::store::Store;

/// Who sent a message: the department its address belongs to (roster or remembered),
/// and what checking the sender found (none when never checked).
#[derive(Debug, Clone, Default)]
pub(super) struct Sender {
    pub department: Option<String>,
    pub auth: Option<Evidence>,
}

/// Decides and records one analysed message; `existing` when it was recorded before.
pub(super) async fn record(config: &Config, db: &Db, store: &Store, mut row: MessageRow, a: Analysis, sender: Sender, existing: Option<&Existing>, progress: &Progress) -> anyhow::Result<Outcome> {
    // What preparing the message found about its envelope stays; the rest is decided here.
    let mut flags: Vec<Flag> = Flag::parse_list(&row.flags).into_iter().filter(|f| matches!(f, Flag::BadDate | Flag::MessageIdCollision)).collect();
    if a.unknown_charset {
        flags.push(Flag::UnknownCharset);
    }
    let texts: Vec<&str> = std::iter::once(row.subject.as_str()).chain(a.names.iter().map(String::as_str)).collect();
    let approved = existing.and_then(|e| e.approved.clone());
    let held_for = checked_sender(config, &sender, approved.is_some(), &mut flags);
    let whose = match approved {
        Some(name) => Decision::Department { name, on_behalf: false },
        None => resolve::department(&config.roster, sender.department.as_deref(), &texts),
    };
    if let Decision::Department { name, .. } = &whose {
        row.department = name.clone();
    }
    row.flags = Flag::join(&flags);
    let existing_id = existing.map(|e| e.id);
    let (department, on_behalf) = match decide::route(a.message_rejection, a.is_package, whose, held_for) {
        Route::Package { department, on_behalf } => (department, on_behalf),
        other => return record_other(db, store, other, row, &a, (existing_id, sender.auth.as_ref()), progress).await,
    };
    debug_assert!(a.parsed);
    if on_behalf {
        flags.push(Flag::SentOnBehalf);
    }
    tracing::Span::current().record("department", department.as_str());
    let before = existing.and_then(|e| e.before).unwrap_or(Before::EVERYTHING);

    let mut tx = db.begin().await?;
    let tz = config.timezone;
    let received = Cycle::at(row.received_at, tz);
    let named = resolve::named_month(&row.subject, &a.names, received);
    let already = db::messages::has_package(&mut tx, &department, &received.to_string(), before).await?;
    let manual = existing.and_then(|e| e.cycle.as_deref()).and_then(Cycle::parse);
    let month = decide::month(named, manual, row.received_at, row.processed_at, tz, config.deadline_day, already);
    if month.bad_date {
        warn!(named = ?named, "邮件中写的月份不可能是报送月份，改用收到的月份（bad_date）");
        flags.push(Flag::BadDate);
    }
    row.cycle = month.cycle.to_string();
    row.cycle_rule = month.rule;
    row.department = department.clone();
    row.disposition = Disposition::Package;
    row.sent_on_behalf = i64::from(on_behalf);
    row.flags = Flag::join(&flags);
    tracing::Span::current().record("cycle", row.cycle.as_str());
    let message_ref = match write_message(&mut tx, &row, existing_id, sender.auth.as_ref()).await? {
        Ok(id) => id,
        Err(had) => return already_had(tx, progress, had).await,
    };

    let facts: Vec<decide::Facts<'_>> = a.kept.iter().map(|k| facts(k, existing)).collect();
    let known = gather(&mut tx, &a.kept, &department, &row.cycle, before).await?;
    let rules = decide::Rules {
        categories: &config.categories,
        subject: &row.subject,
        department: &department,
        cycle: month.cycle,
        cycle_start: month.cycle.start(tz).timestamp(),
        thresholds: config.media.thresholds,
    };
    let decided = decide::files(&facts, &known, &rules);
    let paths = place(&mut tx, &decided, &config.categories, &row.cycle, &department).await?;
    let authors = authors(config, &a, &row, existing);
    let tree = write(&mut tx, &a, (&decided, &authors), &paths, message_ref, existing).await?;
    write_links(&mut tx, config, &a, &row, message_ref).await?;
    progress.mark(&mut tx, message_ref).await?;
    tx.commit().await?;

    for (blob, at) in tree {
        if let Err(e) = store.link(&blob, &at) {
            warn!(error = %e, tree = at, "无法在目录树中建立链接；运行 baosong tree rebuild 可重建");
        }
    }
    let accepted = decided.iter().filter(|d| d.status == Status::Accepted).count();
    let duplicates = decided.iter().filter(|d| matches!(d.status, Status::Duplicate(_) | Status::Shared { .. })).count();
    let (refused, links) = (a.refused.len(), a.links.len());
    info!(accepted, duplicates, refused, links, "已计入");
    Ok(Outcome::Package { id: message_ref, department, cycle: row.cycle, accepted, duplicates, refused, links })
}

/// What checking the sender does to the message (`sender_auth::verdict`): flags added
/// to `flags`, and the reason to hold it, if any. The policy is today's; whether it
/// applies (IMAP, `import --check-senders`) was recorded with the evidence. Mail a
/// person approved is never held again: a failed check stays visible as a flag.
fn checked_sender(config: &Config, sender: &Sender, approved: bool, flags: &mut Vec<Flag>) -> Option<HeldReason> {
    let enforced = sender.auth.as_ref().is_some_and(|e| e.enforced);
    let c = crate::sender_auth::verdict::consequence(sender.auth.as_ref(), config.sender_auth.mode, enforced);
    flags.extend(c.flags);
    match c.held {
        Some(_) if approved => {
            flags.push(Flag::SenderAuthFailed);
            None
        }
        held => held,
    }
}

/// A message that is no package: rejected, correspondence, unrelated or held. Blobs
/// written for mail that carries no package are removed again. `(existing_id, auth)`:
/// the message's row when recorded before, and the evidence about its sender.
async fn record_other(db: &Db, store: &Store, route: Route, row: MessageRow, a: &Analysis, (existing_id, auth): (Option<i64>, Option<&Evidence>), progress: &Progress) -> anyhow::Result<Outcome> {
    let simple = |disposition: Disposition, reason: &str| MessageRow { disposition, reason_code: reason.into(), ..row.clone() };
    let prior = (existing_id, auth);
    match route {
        Route::Rejected(r) => {
            let rejected = MessageRow { detail: a.detail.clone(), ..simple(Disposition::Rejected, r.code()) };
            finish_simple(db, rejected, prior, progress, |id| Outcome::Rejected { id, rejection: r }).await
        }
        Route::Held { guess, reason } => {
            let held = MessageRow { guessed_department: guess.clone(), ..simple(Disposition::Held, reason.map_or("", HeldReason::code)) };
            if let Some(r) = reason {
                warn!(guess, reason = r.code(), "发件人验证未通过，扣留待审核，不发回执");
            }
            finish_simple(db, held, prior, progress, |id| Outcome::Held { id, guess: guess.clone() }).await
        }
        Route::Package { .. } => anyhow::bail!("程序错误：报送包不由 record_other 记录"),
        Route::Correspondence | Route::Unrelated => {
            let unrelated = route == Route::Unrelated;
            let disposition = if unrelated { Disposition::Unrelated } else { Disposition::Correspondence };
            let outcome = finish_simple(db, simple(disposition, ""), prior, progress, |id| if unrelated { Outcome::Unrelated { id } } else { Outcome::Correspondence { id } }).await?;
            forget_blobs(db, store, &a.kept).await;
            Ok(outcome)
        }
    }
}

fn facts<'k>(k: &'k Kept, existing: Option<&Existing>) -> decide::Facts<'k> {
    decide::Facts {
        folders: &k.folders,
        name: &k.name,
        kind: k.kind,
        mime: k.mime,
        sha256: &k.sha256,
        phash: k.media.phash.as_deref(),
        captured_at: k.media.captured_at,
        flags: &k.flags,
        decoration: k.decoration,
        chosen: existing.and_then(|e| e.categories.get(&k.sha256)).map(|code| code.parse().ok()),
    }
}

/// What the database knows about the package's files (see `decide::Known`).
async fn gather(tx: &mut Tx<'_>, kept: &[Kept], department: &str, cycle: &str, before: Before) -> anyhow::Result<Known> {
    let mut known = Known::default();
    if kept.iter().any(|k| k.media.phash.is_some()) {
        known.phashes = db::items::phashes(tx, before).await?.into_iter().map(Counted::recorded).collect();
    }
    for k in kept.iter().filter(|k| !k.decoration) {
        if known.same.contains_key(&k.sha256) {
            continue;
        }
        if let Some(id) = db::items::accepted_twin(tx, department, cycle, &k.sha256, before).await? {
            known.twins.insert(k.sha256.clone(), id);
        }
        let same = db::items::same_content(tx, &k.sha256, before).await?.into_iter().map(Counted::recorded).collect();
        known.same.insert(k.sha256.clone(), same);
    }
    Ok(known)
}

/// Tree paths of the accepted files: `tree/月份/单位/类别/名称`, numbered where a name is
/// taken. The names already used in a folder are read once per folder: a department
/// that sends 1.jpg every time must not cost a query per earlier 1.jpg.
async fn place(tx: &mut Tx<'_>, decided: &[decide::File], categories: &crate::categories::Categories, cycle: &str, department: &str) -> anyhow::Result<Vec<Option<String>>> {
    let mut claimed: HashSet<String> = HashSet::new();
    let mut loaded: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(decided.len());
    for d in decided {
        if d.status != Status::Accepted {
            out.push(None);
            continue;
        }
        let label = categories.label(d.category);
        let first = Store::tree_path(cycle, department, &label, &d.tree_name, 1);
        let folder = first.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/"));
        if loaded.insert(folder.clone()) {
            claimed.extend(db::items::tree_paths_under(tx, &folder).await?);
        }
        let path = (1..).map(|n| Store::tree_path(cycle, department, &label, &d.tree_name, n)).find(|p| !claimed.contains(p)).unwrap_or(first);
        claimed.insert(path.clone());
        out.push(Some(path));
    }
    Ok(out)
}

/// A file's authors and where they were found (none: 未署名).
type Attributed = (Vec<Author>, Option<attribution::Source>);

/// Who made each kept file (`attribution::attribute`), under the package's department
/// (`row.department`): what a person assigned before stands.
fn authors(config: &Config, a: &Analysis, row: &MessageRow, existing: Option<&Existing>) -> Vec<Attributed> {
    let department = config.roster.by_name(&row.department).filter(|d| d.name == row.department);
    a.kept
        .iter()
        .map(|k| {
            if k.decoration {
                return (Vec::new(), None);
            }
            let before = existing.and_then(|e| e.authors.get(&k.sha256));
            let manual = before.filter(|b| b.source == Some(attribution::Source::Manual)).map(|b| b.authors.as_slice());
            let clues = attribution::Clues { name: &k.name, folders: &k.folders, exif: &k.media.authors, from_addr: &row.from_addr, from_name: &a.envelope.from_name };
            match (attribution::attribute(manual, department, &clues), before) {
                ((_, None), Some(b)) if attribution::moved_away(&b.authors, &config.roster) => (b.authors.clone(), b.source),
                (found, _) => found,
            }
        })
        .collect()
}

/// The rows of the package's files (with their authors) and refused files; returns
/// (blob, tree path) of what goes in the tree once committed.
async fn write(tx: &mut Tx<'_>, a: &Analysis, (decided, authors): (&[decide::File], &[Attributed]), paths: &[Option<String>], message_ref: i64, existing: Option<&Existing>) -> anyhow::Result<Vec<(String, String)>> {
    let mut ids: Vec<i64> = Vec::with_capacity(decided.len());
    let mut tree = Vec::new();
    let id_of = |r: Ref, ids: &[i64]| match r {
        Ref::Item(id) => id,
        Ref::InMessage(i) => ids[i],
    };
    for (((k, d), path), (who, source)) in a.kept.iter().zip(decided).zip(paths).zip(authors) {
        let mut item = kept_item(k, message_ref, d.category);
        item.category_manual = i64::from(d.category_manual);
        item.flags = flag_codes(&d.flags);
        item.similar_to = d.similar_to.map_or(0, |r| id_of(r, &ids));
        item.status = match &d.status {
            Status::Accepted => ItemStatus::Accepted,
            Status::Decoration => ItemStatus::Decoration,
            Status::Duplicate(of) => {
                item.duplicate_of = id_of(*of, &ids);
                ItemStatus::Duplicate
            }
            Status::Shared { first } => {
                // A joint operation's photo counts for the department that sent it first;
                // that one is marked too, in this transaction.
                db::items::add_flags(tx, *first, &[Flag::SharedWork]).await?;
                ItemStatus::Shared
            }
        };
        if let Some(p) = path {
            item.tree_path = p.clone();
            if !item.rendition_path.is_empty() {
                tree.push((item.rendition_path.clone(), Store::rendition_tree_path(p)));
            }
            tree.push((item.blob_path.clone(), p.clone()));
        }
        let id = db::items::insert(tx, &item).await?;
        ids.push(id);
        if let Some(source) = source {
            db::authors::put(tx, id, who, *source).await?;
        }
        if let (Some(&old), false) = (existing.and_then(|e| e.old_items.get(&k.sha256)), k.decoration) {
            db::items::repoint(tx, old, id).await?;
        }
    }
    for r in &a.refused {
        let item = ItemRow {
            message_ref,
            status: ItemStatus::Rejected,
            shown_name: r.shown.clone(),
            rejection_code: r.rejection.code().into(),
            reason: r.rejection.explained(&r.detail),
            category: category_code(None),
            ..ItemRow::default()
        };
        db::items::insert(tx, &item).await?;
    }
    Ok(tree)
}

/// The package's 超大附件 links still without their file: an item each, and a row in
/// the download queue (once per message and link).
async fn write_links(tx: &mut Tx<'_>, config: &Config, a: &Analysis, row: &MessageRow, message_ref: i64) -> anyhow::Result<()> {
    for l in &a.links {
        let (expires_at, guessed) = crate::links::expiry(l.provider, l.expires_at, row.received_at);
        let caption_size = l.size_bytes.unwrap_or(0);
        let queued = db::links::New { message_ref, url: &l.url, provider: l.provider, name: &l.name, caption_size, expires_at, expiry_guessed: guessed };
        db::links::ensure(tx, &queued, row.processed_at).await?;
        let item = ItemRow {
            message_ref,
            status: ItemStatus::Accepted,
            kind: ItemKind::Link,
            category: category_code(config.categories.classify(&[], &l.name, &row.subject)),
            shown_name: l.name.clone(),
            file_name: l.name.clone(),
            size: caption_size,
            url: l.url.clone(),
            expires_at: l.expires_at.unwrap_or(0),
            flags: Flag::ExternalLink.code().into(),
            ..ItemRow::default()
        };
        db::items::insert(tx, &item).await?;
    }
    Ok(())
}

/// The `items.kind` of an inspected file: the same code.
fn item_kind(k: crate::inspect::Kind) -> ItemKind {
    match k {
        crate::inspect::Kind::Photo => ItemKind::Photo,
        crate::inspect::Kind::Video => ItemKind::Video,
        crate::inspect::Kind::Document => ItemKind::Document,
    }
}

/// The row of a kept file: what it is, what examining it found and where its blob
/// is. Status, flags, tree path and likeness are decided by the caller.
fn kept_item(k: &Kept, message_ref: i64, category: CategoryNo) -> ItemRow {
    ItemRow {
        message_ref,
        kind: item_kind(k.kind),
        category: category_code(category),
        shown_name: k.shown.clone(),
        file_name: k.name.clone(),
        size: k.size,
        sha256: k.sha256.clone(),
        mime: k.mime.into(),
        blob_path: k.blob.clone(),
        width: k.media.width.map_or(0, i64::from),
        height: k.media.height.map_or(0, i64::from),
        duration_ms: k.media.duration_ms.unwrap_or(0),
        container: k.media.container.clone().unwrap_or_default(),
        codec: k.media.codec.clone().unwrap_or_default(),
        captured_at: k.media.captured_at.unwrap_or(0),
        camera: k.media.camera.clone().unwrap_or_default(),
        phash: k.media.phash.clone().unwrap_or_default(),
        blur_centi: k.media.blur.map_or(-1, |b| (b * 100.0).round() as i64),
        thumb_path: k.thumb.clone(),
        url: k.url.clone(),
        rendition_path: k.rendition.clone(),
        ..ItemRow::default()
    }
}
