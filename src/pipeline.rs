//! One message through every stage: parse → resolve → unpack → inspect → store →
//! record. Parsing, unpacking, inspection and blob writes run on a blocking thread
//! and keep no file in memory longer than it takes to hash and store it. Blobs are
//! written before the transaction (they are content-addressed, so a crash leaves
//! only unreferenced blobs); all rows of a message, and its journal entry marked
//! done, are one transaction; the browsable tree is linked after the commit and
//! can always be rebuilt from the database.

use std::collections::HashMap;

use anyhow::Context;
use tracing::{error, info, info_span, warn, Instrument};

use crate::categories::CategoryNo;
use crate::config::Config;
use crate::db::messages::{CycleRule, DecidedBy, Disposition, MessageRow};
use crate::db::{self, AlreadyExists, Db, Tx};
use crate::inspect::{self, Kind};
use crate::parse::{self, Envelope, mail::Mail};
use crate::rejection::{Flag, Rejection};
use crate::store::Store;
use crate::unpack::{self, Refused, Unpacked, links::ExternalLink};

mod decide;
mod record;

use record::{Sender, record};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Package { id: i64, department: String, cycle: String, accepted: usize, duplicates: usize, refused: usize, links: usize },
    Held { id: i64, guess: String },
    Unrelated { id: i64 },
    Correspondence { id: i64 },
    Rejected { id: i64, rejection: Rejection },
    /// Processing ended in an error every time it was tried; recorded with the error.
    Failed { id: i64 },
    AlreadyHad(AlreadyExists),
}

/// A file that passed inspection and is stored as a blob; its bytes are gone.
struct Kept {
    folders: Vec<String>,
    name: String,
    shown: String,
    size: i64,
    kind: Kind,
    mime: &'static str,
    sha256: String,
    blob: String,
    flags: Vec<Flag>,
    /// What examining it found (the thumbnail bytes are already stored).
    media: inspect::Media,
    thumb: String,
    /// The stored JPEG rendition of a HEIC photo, or ''.
    rendition: String,
    /// A small image shown inside the HTML body (a signature logo): stored and listed
    /// as `decoration`, never counted, filed or put in a receipt.
    decoration: bool,
    /// The 超大附件 link it was taken in for, or ''.
    url: String,
}

/// A 超大附件 link's file that is in (downloaded or taken in by hand): analysis reads
/// it beside the raw mail, as an attachment of the message.
#[derive(Debug, Clone)]
pub struct Original {
    pub path: std::path::PathBuf,
    pub name: String,
    pub sha256: String,
    pub url: String,
}

/// The originals of a recorded message's links.
async fn originals_of(db: &Db, store: &Store, message_ref: i64) -> anyhow::Result<Vec<Original>> {
    let rows = db::links::originals(db, message_ref).await?;
    // Downloaded from the object store first where this machine has no copy.
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|l| {
                let path = store.local(&l.original_path).with_context(|| format!("无法读取链接的原件 {}", l.original_path))?;
                Ok(Original { path, name: if l.file_name.is_empty() { l.name } else { l.file_name }, sha256: l.sha256, url: l.url })
            })
            .collect()
    })
    .await
    .context("读取原件的线程异常退出")?
}

/// What the blocking stages found, owned, without file contents.
struct Analysis {
    parsed: bool,
    envelope: Envelope,
    kept: Vec<Kept>,
    refused: Vec<Refused>,
    links: Vec<ExternalLink>,
    names: Vec<String>,
    message_rejection: Option<Rejection>,
    /// What went wrong, for `processing_failed` (the panic's message).
    detail: String,
    /// Unpacking could not write a temporary file (RAR extraction): an error, tried
    /// again later, never a rejection.
    disk_error: Option<std::io::Error>,
    unknown_charset: bool,
    is_package: bool,
}

impl Analysis {
    /// A message refused whole before anything in it was looked at.
    fn refused(rejection: Rejection) -> Analysis {
        Analysis {
            parsed: false,
            envelope: Envelope::default(),
            kept: vec![],
            refused: vec![],
            links: vec![],
            names: vec![],
            message_rejection: Some(rejection),
            detail: String::new(),
            disk_error: None,
            unknown_charset: false,
            is_package: false,
        }
    }
}

/// Parse, unpack, inspect and store blobs. Disk errors are real errors (retried);
/// everything wrong with the mail itself is in the analysis. A panic anywhere in
/// parsing or unpacking refuses the whole message as `processing_failed`; a panic
/// while examining one file refuses that file (see `examine_file`).
fn analyse(mail: &Mail, config: &Config, store: &Store, originals: &[Original]) -> anyhow::Result<Analysis> {
    if let Mail::Oversized { head, len } = mail {
        return Ok(oversized(head, *len));
    }
    let raw = mail.bytes();
    let mut kept = Vec::new();
    let mut disk_error: Option<std::io::Error> = None;
    let walked = guarded(|| {
        walk(raw, mail.spooled(), config, &store.tmp_dir(), originals, &mut |f, ins, media| {
            if disk_error.is_some() {
                return;
            }
            match keep(f, ins, media, config, store) {
                Ok(k) => kept.push(k),
                Err(e) => disk_error = Some(e),
            }
        })
    });
    if let Some(e) = disk_error {
        return Err(anyhow::Error::new(e).context("无法保存文件"));
    }
    let mut a = match walked {
        Ok(a) => a,
        Err(panic) => {
            let a = panicked(raw, panic);
            kept.clear();
            a
        }
    };
    if let Some(e) = a.disk_error.take() {
        return Err(anyhow::Error::new(e).context("无法写入临时文件（解压 RAR）"));
    }
    a.kept = kept;
    // Mail whose only files are decorations (a reply with a signature logo) carries no
    // material: it is correspondence.
    if a.is_package && a.message_rejection.is_none() && a.refused.is_empty() && a.links.is_empty() && a.kept.iter().all(|k| k.decoration) {
        a.is_package = false;
    }
    Ok(a)
}

/// A message too large to take apart, refused whole; `head`, its beginning, gives
/// the envelope if it can be read.
fn oversized(head: &[u8], len: u64) -> Analysis {
    let mut a = Analysis::refused(Rejection::TooLarge);
    a.detail = format!("邮件 {} MiB，附件以外的内容超过 {} MiB，无法处理；请把照片和视频作为附件（或压缩包）发送", len >> 20, parse::mail::MAX_SKELETON >> 20);
    a.envelope = guarded(|| parse::parse(head).map(|m| parse::envelope(&m))).ok().flatten().unwrap_or_default();
    a
}

/// A message whose parsing or unpacking panicked, refused whole as `processing_failed`.
fn panicked(raw: &[u8], panic: String) -> Analysis {
    tracing::error!(panic = %panic, "解析邮件时程序出错，整封按 processing_failed 记录");
    let mut a = Analysis::refused(Rejection::ProcessingFailed);
    a.detail = panic;
    // Who sent it and when still matter (the board of its month shows it), if
    // the headers alone can be read.
    a.envelope = guarded(|| parse::parse(raw).map(|m| parse::envelope(&m))).ok().flatten().unwrap_or_default();
    a
}

/// Stores an accepted file's blob, thumbnail and rendition, and keeps what the
/// record needs of it. A small photo shown inside the HTML body is a decoration.
fn keep(f: unpack::File<'_>, ins: inspect::Inspection, mut media: inspect::Media, config: &Config, store: &Store) -> std::io::Result<Kept> {
    // A part streamed from a large message was hashed on its way to disk.
    let sha256 = f.on_disk.as_ref().map_or_else(|| inspect::sha256_hex(f.data), |d| d.sha256.clone());
    let thumb = match media.thumbnail.take() {
        Some(jpeg) => store.put_thumb(&sha256, &jpeg),
        None => Ok(String::new()),
    };
    let rendition = match media.rendition.take() {
        Some(jpeg) => store.put_rendition(&jpeg),
        None => Ok(String::new()),
    };
    let blob = match &f.on_disk {
        Some(d) => store.adopt_blob(&sha256, &d.path),
        None => store.put_blob(&sha256, f.data),
    };
    let (blob, thumb, rendition) = blob.and_then(|blob| Ok((blob, thumb?, rendition?)))?;
    let decoration = f.inline && ins.kind == Kind::Photo && media.width.zip(media.height).is_some_and(|(w, h)| u64::from(w) * u64::from(h) < config.media.thresholds.min_work_pixels);
    let mut flags = f.flags;
    // A decoration is nobody's work: no quality marks to look into.
    if !decoration {
        flags.extend(ins.flags);
        flags.extend(media.flags.iter().copied());
    }
    Ok(Kept {
        folders: f.folders,
        name: f.name,
        shown: f.shown,
        size: f.data.len() as i64,
        kind: ins.kind,
        mime: ins.mime,
        sha256,
        blob,
        flags,
        media,
        thumb,
        rendition,
        decoration,
        url: f.link.clone().unwrap_or_default(),
    })
}

/// What examining one file found: its type and media facts, or why it was refused.
type Examined = Result<(inspect::Inspection, inspect::Media), (Rejection, String)>;

/// Sniffs and examines one file. A panic in a decoder is caught and becomes the
/// file's rejection, with the panic's message as the detail.
pub fn examine_file(f: &unpack::File<'_>, config: &Config) -> Examined {
    let run = || {
        failpoint(&f.name);
        inspect::file(&f.name, f.data, &config.media, config.timezone)
    };
    match guarded(run) {
        Ok(r) => r,
        Err(panic) => {
            tracing::error!(file = %f.shown, panic = %panic, "检查文件时程序出错，按 processing_failed 拒收");
            Err((Rejection::ProcessingFailed, panic))
        }
    }
}

/// Test builds only: panics when `what` (a file name or a subject) equals
/// `BAOSONG_FAILPOINT_PANIC`, so that tests can prove a panic in analysis is recorded
/// rather than fatal. Release builds have no such hook.
fn failpoint(what: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("BAOSONG_FAILPOINT_PANIC").is_some_and(|v| v == what) {
        panic!("failpoint: {what}");
    }
    #[cfg(not(debug_assertions))]
    let _ = what;
}

/// Runs `f`, turning a panic into its message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "未知错误".to_string())
    })
}

/// Parse and unpack `raw` and the `originals` of its links, examine every file, and
/// hand each accepted one to `keep` (refused ones are collected). Writes nothing: the
/// caller decides what to store.
fn walk(
    raw: &[u8],
    spool: Option<&parse::mail::Spooled>,
    config: &Config,
    tmp: &std::path::Path,
    originals: &[Original],
    keep: &mut dyn FnMut(unpack::File<'_>, inspect::Inspection, inspect::Media),
) -> Analysis {
    let Some(msg) = parse::parse(raw) else {
        return Analysis::refused(Rejection::Unparseable);
    };
    let envelope = parse::envelope(&msg);
    failpoint(&envelope.subject);
    let mut refused = Vec::new();
    let mut sink = |f: unpack::File<'_>| match examine_file(&f, config) {
        Ok((ins, media)) => keep(f, ins, media),
        Err((rejection, detail)) => refused.push(Refused { shown: f.shown, rejection, detail }),
    };
    let mut unpacked: Unpacked = unpack::unpack(&msg, spool, &config.limits, config.timezone, tmp, &mut sink);
    // A link's file counts as the link's size allows, not a mail's.
    let limits = crate::unpack::Limits { max_unpacked_bytes: config.limits.max_unpacked_bytes.max(config.links.max_size), ..config.limits };
    for o in originals {
        if unpacked.message_rejection.is_some() || unpacked.disk_error.is_some() {
            break;
        }
        unpacked.links.retain(|l| l.url != o.url);
        match unpack::original(&o.path, &o.name, &o.sha256, &o.url, &limits, tmp, &mut sink) {
            Ok(u) => {
                unpacked.files += u.files;
                unpacked.refused.extend(u.refused);
                unpacked.names.extend(u.names);
                unpacked.unknown_charset |= u.unknown_charset;
                unpacked.disk_error = u.disk_error;
            }
            Err(e) => unpacked.disk_error = Some(e),
        }
    }
    drop(sink);
    let is_package = unpacked.is_package();
    refused.splice(0..0, unpacked.refused);
    Analysis {
        parsed: true,
        unknown_charset: envelope.unknown_charset || unpacked.unknown_charset,
        envelope,
        kept: vec![],
        refused,
        links: unpacked.links,
        names: unpacked.names,
        message_rejection: unpacked.message_rejection,
        detail: String::new(),
        disk_error: unpacked.disk_error,
        is_package,
    }
}

/// What analysing a message finds, without writing anything: for `baosong` tools and
/// the fuzzing target. Returns the number of files kept and the rejection codes.
pub fn analyse_in_memory(raw: &[u8], config: &Config) -> (usize, Vec<Rejection>) {
    let mut kept = 0;
    let a = walk(raw, None, config, &config.data_dir.join("tmp"), &[], &mut |_, _, _| kept += 1);
    let mut codes: Vec<Rejection> = a.refused.iter().map(|r| r.rejection).collect();
    codes.extend(a.message_rejection);
    (kept, codes)
}

/// The bytes of the file with SHA-256 `sha256` that analysing `raw` finds, if any:
/// `baosong verify --repair` restores a damaged blob from the mail it came from, by the
/// same code that found the file the first time. Writes nothing.
pub fn recover_file(raw: &[u8], config: &Config, tmp: &std::path::Path, sha256: &str) -> Option<Vec<u8>> {
    let mut found = None;
    let walked = guarded(|| {
        walk(raw, None, config, tmp, &[], &mut |f, _, _| {
            if found.is_none() && inspect::sha256_hex(f.data) == sha256 {
                found = Some(f.data.to_vec());
            }
        })
    });
    walked.ok().and(found)
}

/// Reads the stored raw mail at `rel` and runs `analyse` on it with the `originals` of
/// its links, on a blocking thread.
async fn analyse_stored(config: &Config, store: &Store, rel: &str, originals: Vec<Original>) -> anyhow::Result<Analysis> {
    let config = config.clone();
    let store = store.clone();
    let rel = rel.to_string();
    tokio::task::spawn_blocking(move || {
        let mail = store.local(&rel).and_then(|p| Mail::open(&p)).with_context(|| format!("无法读取原始邮件 {rel}"))?;
        analyse(&mail, &config, &store, &originals)
    })
    .await
    .context("解析线程异常退出")?
}

/// A message analysed and stored on disk, not yet recorded. Preparing the next
/// message may overlap with committing this one; commits happen in arrival order.
pub struct Prepared {
    span: tracing::Span,
    progress: Progress,
    stage: Stage,
}

impl Prepared {
    /// Marks the journal entry `id` done in the transaction that records this message.
    pub fn journaled(mut self, id: i64) -> Prepared {
        self.progress.journal = Some(id);
        self
    }
}

/// What moves forward in the transaction that records a message: its journal entry
/// to done (none for a held message approved by hand).
#[derive(Debug, Clone, Default)]
struct Progress {
    journal: Option<i64>,
}

impl Progress {
    async fn mark(&self, tx: &mut Tx<'_>, message_ref: i64) -> anyhow::Result<()> {
        if let Some(id) = self.journal {
            db::journal::done(tx, id, message_ref).await?;
        }
        Ok(())
    }
}

enum Stage {
    AlreadyHad(AlreadyExists),
    Fresh { row: MessageRow, analysis: Analysis, sender: Sender },
    /// A recorded message decided again (`reprocess`); `old` are its items until now.
    Redo { row: MessageRow, analysis: Analysis, sender: Sender, existing: Existing, old: Vec<db::items::ListedItem> },
}

/// Everything but the transaction for a message in the journal, whose raw mail is in
/// the store already: dedupe check, parse, unpack, inspect, blobs.
pub async fn prepare_queued(config: &Config, db: &Db, store: &Store, e: &db::journal::Entry, now: i64) -> anyhow::Result<Prepared> {
    let span = info_span!("message", source = %e.source, uid = tracing::field::Empty, message_id = tracing::field::Empty, department = tracing::field::Empty, cycle = tracing::field::Empty);
    if let Some(uid) = crate::source::imap_uid(&e.source) {
        span.record("uid", uid);
    }
    let received_at = (e.received_at > 0).then_some(e.received_at);
    let stage = prepare_inner(config, db, store, e, received_at, now).instrument(span.clone()).await?;
    Ok(Prepared { span, progress: Progress { journal: Some(e.id) }, stage })
}

async fn prepare_inner(config: &Config, db: &Db, store: &Store, e: &db::journal::Entry, received_at: Option<i64>, now: i64) -> anyhow::Result<Stage> {
    let raw_sha = e.raw_sha256.clone();
    if let Some(had) = db::messages::find_existing(db, &raw_sha).await? {
        return Ok(Stage::AlreadyHad(had));
    }
    // The sender is checked beside analysis, the first time the message is analysed,
    // while the signing keys are those it was signed with.
    let from_imap = crate::source::imap_uid(&e.source).is_some();
    let raw = store.abs(&e.raw_path);
    let checking = crate::sender_auth::check::check_file(&config.sender_auth, &raw, config.sender_auth.enforced(from_imap), now);
    let (a, auth) = tokio::join!(analyse_stored(config, store, &e.raw_path, vec![]), checking);
    let a = a?;
    tracing::Span::current().record("message_id", a.envelope.message_id.as_str());
    // The set of attachments is known only now: a Message-ID seen before is a
    // re-delivery only from the same sender with the same files.
    let attachments_sha256 = db::messages::attachments_digest(a.kept.iter().map(|k| k.sha256.as_str()));
    let identity = db::messages::Identity { raw_sha256: &raw_sha, message_id: &a.envelope.message_id, from_addr: &a.envelope.from, attachments_sha256: &attachments_sha256 };
    // (A collision is flagged when the row is inserted, where it cannot be missed.)
    if let db::messages::Seen::Again(had) = db::messages::seen(db, identity).await? {
        return Ok(Stage::AlreadyHad(had));
    }
    let (received_at, bad_date) = a.envelope.receipt_time(received_at, now);
    if bad_date {
        warn!("邮件日期明显错误，已改用其他时间（bad_date）");
    }
    let (source, raw_path) = (e.source.clone(), e.raw_path.clone());
    let row = MessageRow {
        raw_sha256: raw_sha,
        message_id: a.envelope.message_id.clone(),
        source,
        from_addr: a.envelope.from.clone(),
        subject: a.envelope.subject.clone(),
        received_at,
        processed_at: now,
        raw_path,
        detail: a.detail.clone(),
        flags: if bad_date { Flag::BadDate.code().into() } else { String::new() },
        attachments_sha256,
        ..MessageRow::default()
    };
    let sender = Sender { department: sender_department(config, db, &a.envelope.from).await?, auth };
    Ok(Stage::Fresh { row, analysis: a, sender })
}

/// Records a message whose analysis failed every time it was tried, with the error:
/// nothing of it is counted, its raw mail stays in the store, and its journal entry
/// is done, so that nothing behind it waits.
pub async fn record_failed(db: &Db, store: &Store, e: &crate::db::journal::Entry, error: &str, now: i64) -> anyhow::Result<Outcome> {
    let mail = store.local(&e.raw_path).and_then(|p| Mail::open(&p)).unwrap_or(Mail::Whole(Vec::new()));
    let envelope = guarded(|| parse::parse(mail.bytes()).map(|m| parse::envelope(&m))).ok().flatten().unwrap_or_default();
    error!(source = %e.source, error, "多次处理失败，记为处理失败（failed），继续处理后面的邮件");
    let (received_at, bad_date) = envelope.receipt_time((e.received_at > 0).then_some(e.received_at), now);
    let row = MessageRow {
        raw_sha256: e.raw_sha256.clone(),
        source: e.source.clone(),
        from_addr: envelope.from,
        subject: envelope.subject,
        received_at,
        processed_at: now,
        raw_path: e.raw_path.clone(),
        flags: if bad_date { Flag::BadDate.code().into() } else { String::new() },
        disposition: Disposition::Failed,
        reason_code: Rejection::ProcessingFailed.code().into(),
        detail: error.to_string(),
        ..MessageRow::default()
    };
    let progress = Progress { journal: Some(e.id) };
    finish_simple(db, row, (None, None), &progress, |id| Outcome::Failed { id }).await
}

/// Records a prepared message, and ends its journal entry, in one transaction.
pub async fn commit(config: &Config, db: &Db, store: &Store, p: Prepared) -> anyhow::Result<Outcome> {
    let Prepared { span, progress, stage } = p;
    async move {
        match stage {
            Stage::AlreadyHad(had) => {
                advance_alone(db, &progress, had.0).await?;
                Ok(Outcome::AlreadyHad(had))
            }
            Stage::Fresh { row, analysis, sender } => record(config, db, store, row, analysis, sender, None, &progress).await,
            Stage::Redo { row, analysis, sender, existing, old } => {
                let id = existing.id;
                let outcome = record(config, db, store, row, analysis, sender, Some(&existing), &progress).await?;
                refile(store, &old, &items_of(db, id).await?);
                Ok(outcome)
            }
        }
    }
    .instrument(span)
    .await
}

/// Approves a held message for `department`: it goes through the pipeline again with
/// its original receipt time.
pub async fn approve(config: &Config, db: &Db, store: &Store, id: i64, department: &str, now: i64) -> anyhow::Result<Outcome> {
    let row = db::messages::get(db, id).await?.with_context(|| format!("没有编号为 {id} 的邮件"))?;
    anyhow::ensure!(row.disposition == Disposition::Held, "邮件 {id} 不在待审核队列中（当前状态：{}）", row.disposition.label());
    let a = analyse_stored(config, store, &row.raw_path, originals_of(db, store, id).await?).await?;
    let row = MessageRow { processed_at: now, decided_by: DecidedBy::Approved, ..row };
    let existing = Existing { id, approved: Some(department.to_string()), ..Existing::default() };
    let sender = Sender { department: None, auth: db::sender_auth::get(db, id).await? };
    record(config, db, store, row, a, sender, Some(&existing), &Progress::default()).await
}

/// One file of a held mail, as the review queue (待审核) shows it before approval.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// Where it was in the mail (`素材.zip/夜巡.jpg`).
    pub shown: String,
    pub size: i64,
    pub is_video: bool,
    /// The stored 320-px thumbnail (store-relative), or ''.
    pub thumb: String,
    /// Why it would be refused, in words; '' for a file that would count.
    pub refused: String,
}

/// What held mail `id` holds, analysed again from its raw mail as approval will: each
/// file it would keep (with the thumbnail intake stored, content-addressed) and each it
/// would refuse, with the reason. Nothing is recorded.
pub async fn preview(config: &Config, db: &Db, store: &Store, id: i64) -> anyhow::Result<Vec<Preview>> {
    let row = db::messages::get(db, id).await?.with_context(|| format!("没有编号为 {id} 的邮件"))?;
    let a = analyse_stored(config, store, &row.raw_path, originals_of(db, store, id).await?).await?;
    let mut out: Vec<Preview> = a
        .kept
        .iter()
        .filter(|k| !k.decoration)
        .map(|k| Preview { shown: k.shown.clone(), size: k.size, is_video: k.kind == Kind::Video, thumb: k.thumb.clone(), refused: String::new() })
        .collect();
    out.extend(a.refused.iter().map(|r| Preview {
        shown: r.shown.clone(),
        refused: if r.detail.is_empty() { r.rejection.reason().to_string() } else { format!("{}（{}）", r.rejection.reason(), r.detail) },
        ..Preview::default()
    }));
    Ok(out)
}

/// Prepares a recorded message (`message_ref`) to be decided again by the current
/// rules from its raw mail: what people decided about it stands (see `Existing`),
/// and its lookups see only mail received before it, as intake did.
pub async fn prepare_redo(config: &Config, db: &Db, store: &Store, message_ref: i64, now: i64) -> anyhow::Result<Prepared> {
    let row = db::messages::get(db, message_ref).await?.with_context(|| format!("没有编号为 {message_ref} 的邮件"))?;
    let span = info_span!("reprocess", message_id = message_ref, department = %row.department, cycle = %row.cycle);
    let old = items_of(db, message_ref).await?;
    let analysis = analyse_stored(config, store, &row.raw_path, originals_of(db, store, message_ref).await?).await?;
    // What was found about the sender when it was first analysed; never checked again.
    let sender = Sender { department: sender_department(config, db, &analysis.envelope.from).await?, auth: db::sender_auth::get(db, message_ref).await? };
    // Counted mail from a sender the roster does not know was approved by a person,
    // even if it was approved before approvals were marked.
    let approved = row.decided_by == DecidedBy::Approved || (row.disposition == Disposition::Package && sender.department.is_none());
    let existing = Existing {
        id: row.id,
        approved: approved.then(|| row.department.clone()),
        cycle: (row.cycle_rule == CycleRule::Manual).then(|| row.cycle.clone()),
        categories: old.iter().filter(|i| i.item.category_manual == 1).map(|i| (i.item.sha256.clone(), i.item.category.clone())).collect(),
        authors: db::authors::of_message(db, message_ref).await?,
        old_items: first_by_sha(&old),
        before: Some(db::items::Before { received_at: row.received_at, id: row.id }),
    };
    let row = MessageRow { processed_at: now, decided_by: if approved { DecidedBy::Approved } else { row.decided_by }, ..row };
    Ok(Prepared { span, progress: Progress::default(), stage: Stage::Redo { row, analysis, sender, existing, old } })
}

async fn items_of(db: &Db, message_ref: i64) -> anyhow::Result<Vec<db::items::ListedItem>> {
    db::items::list(db, &db::items::Filter { message_ref: Some(message_ref), ..Default::default() }).await
}

/// Each file's first recorded row, by SHA-256.
fn first_by_sha(items: &[db::items::ListedItem]) -> HashMap<String, i64> {
    let mut m = HashMap::new();
    for i in items.iter().filter(|i| !i.item.sha256.is_empty()) {
        m.entry(i.item.sha256.clone()).or_insert(i.item.id);
    }
    m
}

/// The tree after a message was recorded again: what it no longer files is removed,
/// what it files now is linked (replacing whatever was at that name). A crash before
/// this leaves the tree behind the database; `tree rebuild` brings it level.
fn refile(store: &Store, old: &[db::items::ListedItem], new: &[db::items::ListedItem]) {
    let placed = |items: &[db::items::ListedItem]| -> std::collections::BTreeMap<String, String> {
        let mut m = std::collections::BTreeMap::new();
        for i in items.iter().filter(|i| !i.item.tree_path.is_empty()) {
            m.insert(i.item.tree_path.clone(), i.item.blob_path.clone());
            if !i.item.rendition_path.is_empty() {
                m.insert(Store::rendition_tree_path(&i.item.tree_path), i.item.rendition_path.clone());
            }
        }
        m
    };
    let (was, now) = (placed(old), placed(new));
    for path in was.keys().filter(|p| !now.contains_key(*p)) {
        if let Err(e) = store.unlink(path) {
            warn!(error = %e, path, "无法从目录树中移除；运行 baosong tree rebuild 可重建");
        }
    }
    for (path, blob) in &now {
        if was.get(path) != Some(blob) {
            if let Err(e) = store.relink(blob, path) {
                warn!(error = %e, path, "无法在目录树中建立链接；运行 baosong tree rebuild 可重建");
            }
        }
    }
}

async fn sender_department(config: &Config, db: &Db, from: &str) -> anyhow::Result<Option<String>> {
    if let Some(d) = config.roster.by_sender(from) {
        return Ok(Some(d.name.clone()));
    }
    let remembered = db::senders::department_of(db, from).await?;
    Ok(remembered.filter(|d| config.roster.by_name(d).is_some()))
}

/// A message already recorded (as `message_ref`) still ends its journal entry.
async fn advance_alone(db: &Db, progress: &Progress, message_ref: i64) -> anyhow::Result<()> {
    if progress.journal.is_some() {
        let mut tx = db.begin().await?;
        progress.mark(&mut tx, message_ref).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A recorded message decided again: a held message approved, or any message run
/// through the current rules by `reprocess`. What people decided about it stands.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    pub id: i64,
    /// The department a person approved it for.
    pub approved: Option<String>,
    /// The month a person moved it to (`reassign`).
    pub cycle: Option<String>,
    /// Categories people chose, by file SHA-256 (`recategorize`).
    pub categories: HashMap<String, String>,
    /// Authors as recorded so far, by file SHA-256: those a person assigned (`author`)
    /// stand, and so does a moved person's credit (`attribution::moved_away`).
    pub authors: HashMap<String, db::authors::Authors>,
    /// Its items as recorded so far, by file SHA-256: what pointed at them points at
    /// the new rows.
    pub old_items: HashMap<String, i64>,
    /// Lookups see only messages received before it (`reprocess`), or everything.
    pub before: Option<db::items::Before>,
}

/// Inserts the message with what checking its sender found (`auth`), or rewrites the
/// recorded one (`existing`) and removes its items, which are recorded again in the
/// same transaction; its sender's evidence stays as first recorded.
async fn write_message(tx: &mut Tx<'_>, row: &MessageRow, existing: Option<i64>, auth: Option<&crate::sender_auth::Evidence>) -> anyhow::Result<Result<i64, AlreadyExists>> {
    match existing {
        Some(id) => {
            db::messages::update_decision(tx, id, row).await?;
            db::items::delete_for_message(tx, id).await?;
            Ok(Ok(id))
        }
        None => {
            let id = db::messages::insert(tx, row).await?;
            if let (Ok(id), Some(e)) = (&id, auth) {
                db::sender_auth::put(tx, *id, e).await?;
            }
            Ok(id)
        }
    }
}

/// Blobs written for a message that turned out unrelated are removed again, unless
/// something else refers to the same content.
async fn forget_blobs(db: &Db, store: &Store, kept: &[Kept]) {
    for k in kept {
        match db::items::sha_referenced(db, &k.sha256).await {
            Ok(false) => {
                let _ = store.remove(&k.blob);
            }
            Ok(true) => {}
            Err(e) => warn!(error = %e, "无法检查文件引用"),
        }
    }
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

/// A twin recorded meanwhile: this one's journal entry still ends.
async fn already_had(mut tx: Tx<'_>, progress: &Progress, had: AlreadyExists) -> anyhow::Result<Outcome> {
    progress.mark(&mut tx, had.0).await?;
    tx.commit().await?;
    Ok(Outcome::AlreadyHad(had))
}

async fn finish_simple(db: &Db, row: MessageRow, (existing, auth): (Option<i64>, Option<&crate::sender_auth::Evidence>), progress: &Progress, outcome: impl FnOnce(i64) -> Outcome) -> anyhow::Result<Outcome> {
    let mut tx = db.begin().await?;
    let id = match write_message(&mut tx, &row, existing, auth).await? {
        Ok(id) => id,
        Err(had) => return already_had(tx, progress, had).await,
    };
    progress.mark(&mut tx, id).await?;
    tx.commit().await?;
    info!(disposition = row.disposition.code(), reason = %row.reason_code, "已记录");
    Ok(outcome(id))
}
