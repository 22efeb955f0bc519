//! One message through every stage: parse → resolve → unpack → inspect → store →
//! record. Files are written before the transaction (blobs are content-addressed, so
//! a crash leaves only unreferenced blobs); all rows of a message are one
//! transaction; the browsable tree is linked after the commit and can always be
//! rebuilt from the database.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use tracing::{info, info_span, warn};

use crate::categories::CategoryNo;
use crate::config::Config;
use crate::cycle::{self, Cycle};
use crate::db::items::ItemRow;
use crate::db::messages::MessageRow;
use crate::db::{self, AlreadyExists, Db};
use crate::inspect::{self, Kind};
use crate::parse::{self, Envelope};
use crate::rejection::{Flag, Rejection};
use crate::resolve::{self, Decision};
use crate::source::Incoming;
use crate::store::Store;
use crate::unpack::{self, Unpacked};

pub struct Ctx {
    pub config: Config,
    pub db: Db,
    pub store: Store,
}

impl Ctx {
    pub async fn open(config: Config) -> anyhow::Result<Ctx> {
        let store = Store::open(&config.data_dir).with_context(|| format!("无法创建数据目录 {}", config.data_dir.display()))?;
        let db = Db::open(&config.database_url).await?;
        Ok(Ctx { config, db, store })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Package { id: i64, department: String, cycle: String, accepted: usize, duplicates: usize, refused: usize, links: usize },
    Held { id: i64, guess: String },
    Unrelated { id: i64 },
    Correspondence { id: i64 },
    Rejected { id: i64, rejection: Rejection },
    AlreadyHad(AlreadyExists),
}

/// What the CPU-bound stages found, owned, so it can cross from a blocking thread.
struct Analysis {
    envelope: Envelope,
    unpacked: Unpacked,
    parsed: bool,
}

fn analyse(raw: &[u8], config: &Config) -> Analysis {
    match parse::parse(raw) {
        Some(msg) => {
            let envelope = parse::envelope(&msg);
            let unpacked = unpack::unpack(&msg, &config.limits, config.timezone);
            Analysis { envelope, unpacked, parsed: true }
        }
        None => Analysis { envelope: Envelope::default(), unpacked: Unpacked::default(), parsed: false },
    }
}

/// A file that passed inspection, stored as a blob.
struct Kept {
    file: unpack::File,
    kind: Kind,
    mime: &'static str,
    sha256: String,
    blob: String,
    flags: Vec<Flag>,
}

/// Ingests one message. `now` is the processing time; it is the receipt time only
/// when neither the source nor the headers give one.
pub async fn ingest(ctx: &Ctx, incoming: Incoming, now: i64) -> anyhow::Result<Outcome> {
    let raw_sha = inspect::sha256_hex(&incoming.raw);
    let span = info_span!("message", source = %incoming.source, message_id = tracing::field::Empty, department = tracing::field::Empty, cycle = tracing::field::Empty);
    let _g = span.enter();
    if let Some(had) = db::messages::find_existing(&ctx.db, &raw_sha, "").await? {
        return Ok(Outcome::AlreadyHad(had));
    }
    let (raw, a) = analyse_blocking(ctx, incoming.raw).await?;
    span.record("message_id", a.envelope.message_id.as_str());
    if let Some(had) = db::messages::find_existing(&ctx.db, &raw_sha, &a.envelope.message_id).await? {
        return Ok(Outcome::AlreadyHad(had));
    }
    let raw_path = ctx.store.put_raw(&raw_sha, &raw).context("无法保存原始邮件")?;
    let received_at = incoming.received_at.or(a.envelope.header_received_at).unwrap_or(now);
    let row = MessageRow {
        raw_sha256: raw_sha,
        message_id: a.envelope.message_id.clone(),
        source: incoming.source,
        from_addr: a.envelope.from.clone(),
        subject: a.envelope.subject.clone(),
        received_at,
        processed_at: now,
        raw_path,
        ..MessageRow::default()
    };
    let sender_dept = sender_department(ctx, &a.envelope.from).await?;
    record(ctx, row, a, sender_dept, None).await
}

/// Approves a held message for `department`: it goes through the pipeline again with
/// its original receipt time.
pub async fn approve(ctx: &Ctx, id: i64, department: &str, now: i64) -> anyhow::Result<Outcome> {
    let row = db::messages::get(&ctx.db, id).await?.with_context(|| format!("没有编号为 {id} 的邮件"))?;
    anyhow::ensure!(row.disposition == "held", "邮件 {id} 不在待审核队列中（当前状态：{}）", row.disposition);
    let raw = std::fs::read(ctx.store.abs(&row.raw_path)).with_context(|| format!("无法读取原始邮件 {}", row.raw_path))?;
    let (_, a) = analyse_blocking(ctx, raw).await?;
    let row = MessageRow { processed_at: now, ..row };
    record(ctx, row, a, Some(department.to_string()), Some(id)).await
}

async fn analyse_blocking(ctx: &Ctx, raw: Vec<u8>) -> anyhow::Result<(Vec<u8>, Analysis)> {
    let config = ctx.config.clone();
    tokio::task::spawn_blocking(move || {
        let a = analyse(&raw, &config);
        (raw, a)
    })
    .await
    .context("解析线程异常退出")
}

async fn sender_department(ctx: &Ctx, from: &str) -> anyhow::Result<Option<String>> {
    if let Some(d) = ctx.config.roster.by_sender(from) {
        return Ok(Some(d.name.clone()));
    }
    let remembered = db::senders::department_of(&ctx.db, from).await?;
    Ok(remembered.filter(|d| ctx.config.roster.by_name(d).is_some()))
}

/// Decides, stores and records one analysed message. `forced` is an approval's department;
/// `existing` the row id of a held message being approved.
async fn record(ctx: &Ctx, mut row: MessageRow, a: Analysis, sender: Option<String>, existing: Option<i64>) -> anyhow::Result<Outcome> {
    let forced = existing.is_some();
    let mut flags: Vec<&str> = Vec::new();
    if a.envelope.unknown_charset || a.unpacked.unknown_charset {
        flags.push(Flag::UnknownCharset.code());
    }
    let texts: Vec<&str> = std::iter::once(row.subject.as_str()).chain(a.unpacked.names.iter().map(String::as_str)).collect();
    let decision = if forced {
        Decision::Department { name: sender.clone().unwrap_or_default(), on_behalf: false }
    } else {
        resolve::department(&ctx.config.roster, sender.as_deref(), &texts)
    };
    if let Decision::Department { name, .. } = &decision {
        row.department = name.clone();
    }

    let simple = |disposition: &str, reason: &str| MessageRow { disposition: disposition.into(), reason_code: reason.into(), ..row.clone() };
    if !a.parsed {
        return finish_simple(ctx, simple("rejected", Rejection::Unparseable.code()), existing, |id| Outcome::Rejected {
            id,
            rejection: Rejection::Unparseable,
        })
        .await;
    }
    if let Some(r) = a.unpacked.message_rejection {
        return finish_simple(ctx, simple("rejected", r.code()), existing, |id| Outcome::Rejected { id, rejection: r }).await;
    }
    if !a.unpacked.is_package() {
        return finish_simple(ctx, simple("correspondence", ""), existing, |id| Outcome::Correspondence { id }).await;
    }
    let (department, on_behalf) = match decision {
        Decision::Unrelated => return finish_simple(ctx, simple("unrelated", ""), existing, |id| Outcome::Unrelated { id }).await,
        Decision::Held { guess } => {
            let held = MessageRow { guessed_department: guess.clone(), ..simple("held", "") };
            return finish_simple(ctx, held, existing, |id| Outcome::Held { id, guess: guess.clone() }).await;
        }
        Decision::Department { name, on_behalf } => (name, on_behalf),
    };
    if on_behalf {
        flags.push(Flag::SentOnBehalf.code());
    }
    tracing::Span::current().record("department", department.as_str());

    // Inspect and store blobs before the transaction.
    let subject = row.subject.clone();
    let Unpacked { files, refused, links, names, .. } = a.unpacked;
    let mut kept = Vec::new();
    let mut rejected: Vec<(String, Rejection, String)> = refused.into_iter().map(|r| (r.shown, r.rejection, r.detail)).collect();
    for f in files {
        match inspect::inspect(&f.name, &f.data) {
            Ok(ins) => {
                let sha256 = inspect::sha256_hex(&f.data);
                let blob = ctx.store.put_blob(&sha256, &f.data).context("无法保存文件")?;
                let mut fl = f.flags.clone();
                fl.extend(ins.flags);
                kept.push(Kept { file: f, kind: ins.kind, mime: ins.mime, sha256, blob, flags: fl });
            }
            Err(r) => rejected.push((f.shown, r, String::new())),
        }
    }

    let mut tx = ctx.db.begin().await?;
    let received_cycle = Cycle::at(row.received_at, ctx.config.timezone);
    let named = resolve::named_month(&subject, &names, received_cycle);
    let already = db::messages::has_package(&mut tx, &department, &received_cycle.to_string()).await?;
    let cyc = cycle::assign(named, row.received_at, ctx.config.timezone, ctx.config.deadline_day, already);
    row.cycle_rule = if named.is_some() { "named" } else if cyc != received_cycle { "rolled_over" } else { "received" }.into();
    row.cycle = cyc.to_string();
    row.department = department.clone();
    row.disposition = "package".into();
    row.sent_on_behalf = i64::from(on_behalf);
    row.flags = flags.join(",");
    tracing::Span::current().record("cycle", row.cycle.as_str());

    let message_ref = match existing {
        Some(id) => {
            db::messages::update_decision(&mut tx, id, &row).await?;
            id
        }
        None => match db::messages::insert(&mut tx, &row).await? {
            Ok(id) => id,
            Err(had) => return Ok(Outcome::AlreadyHad(had)),
        },
    };

    let mut links_to_make = Vec::new();
    let mut claimed: HashSet<String> = HashSet::new();
    let mut first_in_message: HashMap<String, i64> = HashMap::new();
    let (mut accepted, mut duplicates) = (0, 0);
    for k in kept {
        let category = ctx.config.categories.classify(&k.file.folders, &k.file.name, &subject);
        let twin = match first_in_message.get(&k.sha256) {
            Some(&id) => Some(id),
            None => db::items::accepted_twin(&mut tx, &department, &row.cycle, &k.sha256).await?,
        };
        let mut item = ItemRow {
            message_ref,
            kind: k.kind.code().into(),
            category: category_code(category),
            shown_name: k.file.shown.clone(),
            file_name: k.file.name.clone(),
            size: k.file.data.len() as i64,
            sha256: k.sha256.clone(),
            mime: k.mime.into(),
            blob_path: k.blob.clone(),
            ..ItemRow::default()
        };
        let mut fl = k.flags;
        if let Some(twin) = twin {
            fl.push(Flag::Duplicate);
            item.status = "duplicate".into();
            item.duplicate_of = twin;
            duplicates += 1;
        } else {
            item.status = "accepted".into();
            let label = ctx.config.categories.label(category);
            let mut n = 1;
            let path = loop {
                let candidate = Store::tree_path(&row.cycle, &department, &label, &k.file.name, n);
                if !claimed.contains(&candidate) && !db::items::tree_path_taken(&mut tx, &candidate).await? {
                    break candidate;
                }
                n += 1;
            };
            claimed.insert(path.clone());
            item.tree_path = path;
            accepted += 1;
        }
        item.flags = flag_codes(&fl);
        let id = db::items::insert(&mut tx, &item).await?;
        if item.status == "accepted" {
            first_in_message.insert(k.sha256, id);
            links_to_make.push((item.blob_path, item.tree_path));
        }
    }
    let refused_count = rejected.len();
    for (shown, r, detail) in rejected {
        let item = ItemRow {
            message_ref,
            status: "rejected".into(),
            shown_name: shown,
            rejection_code: r.code().into(),
            reason: if detail.is_empty() { r.reason().into() } else { format!("{}：{detail}", r.reason()) },
            category: category_code(None),
            ..ItemRow::default()
        };
        db::items::insert(&mut tx, &item).await?;
    }
    let link_count = links.len();
    for l in links {
        let item = ItemRow {
            message_ref,
            status: "accepted".into(),
            kind: "link".into(),
            category: category_code(ctx.config.categories.classify(&[], &l.name, &subject)),
            shown_name: l.name.clone(),
            file_name: l.name,
            size: l.size_bytes.unwrap_or(0),
            url: l.url,
            expires_at: l.expires_at.unwrap_or(0),
            flags: Flag::ExternalLink.code().into(),
            ..ItemRow::default()
        };
        db::items::insert(&mut tx, &item).await?;
    }
    tx.commit().await?;

    for (blob, tree) in links_to_make {
        if let Err(e) = ctx.store.link(&blob, &tree) {
            warn!(error = %e, tree, "无法在目录树中建立链接；运行 baosong tree rebuild 可重建");
        }
    }
    info!(accepted, duplicates, refused = refused_count, links = link_count, "已计入");
    Ok(Outcome::Package { id: message_ref, department, cycle: row.cycle, accepted, duplicates, refused: refused_count, links: link_count })
}

pub fn category_code(c: CategoryNo) -> String {
    c.map_or_else(|| "uncategorized".to_string(), |n| n.to_string())
}

fn flag_codes(flags: &[Flag]) -> String {
    let mut v: Vec<Flag> = flags.to_vec();
    v.sort();
    v.dedup();
    v.iter().map(|f| f.code()).collect::<Vec<_>>().join(",")
}

async fn finish_simple(ctx: &Ctx, row: MessageRow, existing: Option<i64>, outcome: impl FnOnce(i64) -> Outcome) -> anyhow::Result<Outcome> {
    let mut tx = ctx.db.begin().await?;
    let id = match existing {
        Some(id) => {
            db::messages::update_decision(&mut tx, id, &row).await?;
            id
        }
        None => match db::messages::insert(&mut tx, &row).await? {
            Ok(id) => id,
            Err(had) => return Ok(Outcome::AlreadyHad(had)),
        },
    };
    tx.commit().await?;
    info!(disposition = %row.disposition, reason = %row.reason_code, "已记录");
    Ok(outcome(id))
}
