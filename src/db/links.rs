//! The links table: the 超大附件 download queue (see `crate::links`). A download claims
//! due rows with a lease in one UPDATE … RETURNING; a link repeated in later mail waits
//! for the first one's download and then reuses its file.

use super::{Db, Tx};

/// Where a link stands: the `state` column of `links`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not in yet: due at `next_attempt_at`, retried until shortly before expiry.
    Waiting,
    /// Downloaded by baosong and recorded with its message.
    Fetched,
    /// A permanent failure other than expiry: the office downloads it in a browser
    /// and takes it in by hand (`baosong attach`, or the item page's form).
    NeedsOffice,
    /// Taken in by hand by the office.
    TakenIn,
    /// The provider says expired or deleted, or the expiry passed with no file.
    Expired,
}

impl State {
    pub const ALL: [State; 5] = [State::Waiting, State::Fetched, State::NeedsOffice, State::TakenIn, State::Expired];

    pub fn code(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Fetched => "fetched",
            State::NeedsOffice => "needs_office",
            State::TakenIn => "taken_in",
            State::Expired => "expired",
        }
    }

    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            State::Waiting => "等待下载",
            State::Fetched => "已下载",
            State::NeedsOffice => "需办公室处理",
            State::TakenIn => "已手工补交",
            State::Expired => "已过期",
        }
    }

    /// The file is in: the link counts as the file it was.
    pub fn has_file(self) -> bool {
        matches!(self, State::Fetched | State::TakenIn)
    }

    /// The office can still take the file in by hand.
    pub fn attachable(self) -> bool {
        matches!(self, State::Waiting | State::NeedsOffice | State::Expired)
    }
}

#[derive(Debug, Clone)]
pub struct LinkRow {
    pub id: i64,
    pub message_ref: i64,
    pub url: String,
    pub provider: String,
    pub name: String,
    pub caption_size: i64,
    pub expires_at: i64,
    pub expiry_guessed: i64,
    pub state: State,
    pub tries: i64,
    pub next_attempt_at: i64,
    pub lease_until: i64,
    pub reason_code: String,
    pub detail: String,
    pub sha256: String,
    pub original_path: String,
    pub file_name: String,
    pub size: i64,
    pub done_at: i64,
    pub taken_in_by: String,
    pub created_at: i64,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for LinkRow {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let code: String = row.try_get("state")?;
        let state = State::from_code(&code).ok_or_else(|| sqlx::Error::Decode(format!("links.state: unknown value \"{code}\"").into()))?;
        Ok(LinkRow {
            id: row.try_get("id")?,
            message_ref: row.try_get("message_ref")?,
            url: row.try_get("url")?,
            provider: row.try_get("provider")?,
            name: row.try_get("name")?,
            caption_size: row.try_get("caption_size")?,
            expires_at: row.try_get("expires_at")?,
            expiry_guessed: row.try_get("expiry_guessed")?,
            state,
            tries: row.try_get("tries")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            lease_until: row.try_get("lease_until")?,
            reason_code: row.try_get("reason_code")?,
            detail: row.try_get("detail")?,
            sha256: row.try_get("sha256")?,
            original_path: row.try_get("original_path")?,
            file_name: row.try_get("file_name")?,
            size: row.try_get("size")?,
            done_at: row.try_get("done_at")?,
            taken_in_by: row.try_get("taken_in_by")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

const COLUMNS: &str = "l.id, l.message_ref, l.url, l.provider, l.name, l.caption_size, l.expires_at, l.expiry_guessed, l.state, \
     l.tries, l.next_attempt_at, l.lease_until, l.reason_code, l.detail, l.sha256, l.original_path, l.file_name, l.size, \
     l.done_at, l.taken_in_by, l.created_at";

/// A link as a report shows it: with its message's department, month and receipt.
#[derive(Debug, Clone)]
pub struct Listed {
    pub link: LinkRow,
    pub department: String,
    pub cycle: String,
    pub received_at: i64,
    pub from_addr: String,
    /// The item that shows the link now: the link itself, or the file it became (0: none).
    pub item: i64,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Listed {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Listed {
            link: LinkRow::from_row(row)?,
            department: row.try_get("department")?,
            cycle: row.try_get("cycle")?,
            received_at: row.try_get("received_at")?,
            from_addr: row.try_get("from_addr")?,
            item: row.try_get("item")?,
        })
    }
}

const LISTED: &str = "m.department, m.cycle, m.received_at, m.from_addr, \
     COALESCE((SELECT MIN(i.id) FROM items i WHERE i.message_ref = l.message_ref AND i.url = l.url), 0) AS item";

/// A link found in a counted package.
#[derive(Debug, Clone)]
pub struct New<'a> {
    pub message_ref: i64,
    pub url: &'a str,
    pub provider: &'a str,
    pub name: &'a str,
    pub caption_size: i64,
    pub expires_at: i64,
    pub expiry_guessed: bool,
}

/// Queues a link once per message: recording the message again changes nothing.
pub async fn ensure(tx: &mut Tx<'_>, l: &New<'_>, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO links (message_ref, url, provider, name, caption_size, expires_at, expiry_guessed, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (message_ref, url) DO NOTHING",
    )
    .bind(l.message_ref)
    .bind(l.url)
    .bind(l.provider)
    .bind(l.name)
    .bind(l.caption_size)
    .bind(l.expires_at)
    .bind(i64::from(l.expiry_guessed))
    .bind(State::Waiting.code())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Claims up to `limit` waiting links due at `now`, oldest mail first, holding each
/// until `lease_until`. A link whose URL an earlier waiting row of a counted package
/// also has is left for later: the first download serves both. (An earlier row whose
/// mail is no longer a package, after a reprocess, holds nothing up.)
pub async fn claim(db: &Db, now: i64, lease_until: i64, limit: i64) -> anyhow::Result<Vec<LinkRow>> {
    let sql = format!(
        "UPDATE links SET lease_until = $1 WHERE id IN ( \
           SELECT l.id FROM links l JOIN messages m ON m.id = l.message_ref \
           WHERE l.state = $2 AND l.next_attempt_at <= $3 AND l.lease_until <= $3 AND m.disposition = 'package' \
             AND NOT EXISTS (SELECT 1 FROM links e JOIN messages em ON em.id = e.message_ref \
                             WHERE e.url = l.url AND e.id < l.id AND e.state = $2 AND em.disposition = 'package') \
           ORDER BY m.received_at, l.id LIMIT $4) \
         RETURNING {}",
        COLUMNS.replace("l.", "")
    );
    let mut rows: Vec<LinkRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(lease_until).bind(State::Waiting.code()).bind(now).bind(limit).fetch_all(&db.pool).await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Keeps holding a link while its download runs.
pub async fn renew(db: &Db, id: i64, lease_until: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE links SET lease_until = $1 WHERE id = $2").bind(lease_until).bind(id).execute(&db.pool).await?;
    Ok(())
}

/// Frees every lease: called by the one writer at start, when no download can be running.
pub async fn release_all(db: &Db) -> anyhow::Result<()> {
    sqlx::query("UPDATE links SET lease_until = 0 WHERE lease_until <> 0").execute(&db.pool).await?;
    Ok(())
}

/// When the next waiting link falls due (for the queue's sleep).
pub async fn next_due(db: &Db) -> anyhow::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT MIN(next_attempt_at) FROM links WHERE state = $1 HAVING COUNT(*) > 0")
        .bind(State::Waiting.code())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|(t,)| t))
}

/// The file is in (fetched, or taken in by hand), in the transaction that queues its
/// message to be recorded again.
pub struct FileIn<'a> {
    pub sha256: &'a str,
    pub original_path: &'a str,
    pub file_name: &'a str,
    pub size: i64,
    /// '' for a download; who took it in otherwise.
    pub by: &'a str,
}

/// Only a link without its file takes one: of two uploads at once, or an upload and a
/// download, one wins. Returns false when the link had its file already.
pub async fn file_in(tx: &mut Tx<'_>, id: i64, f: &FileIn<'_>, now: i64) -> anyhow::Result<bool> {
    let state = if f.by.is_empty() { State::Fetched } else { State::TakenIn };
    let r = sqlx::query(
        "UPDATE links SET state = $1, sha256 = $2, original_path = $3, file_name = $4, size = $5, done_at = $6, taken_in_by = $7, \
         lease_until = 0, reason_code = CASE WHEN $1 = 'taken_in' THEN reason_code ELSE '' END \
         WHERE id = $8 AND state IN ('waiting', 'needs_office', 'expired')",
    )
    .bind(state.code())
    .bind(f.sha256)
    .bind(f.original_path)
    .bind(f.file_name)
    .bind(f.size)
    .bind(now)
    .bind(f.by)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A failed try: waits until `next` (still `waiting`), or ends in `state` when `next`
/// is None.
pub async fn failed(db: &Db, id: i64, code: &str, detail: &str, next: Option<i64>, state: State, now: i64) -> anyhow::Result<()> {
    let (state, done_at) = match next {
        Some(_) => (State::Waiting, 0),
        None => (state, now),
    };
    sqlx::query(
        "UPDATE links SET tries = tries + 1, reason_code = $1, detail = $2, next_attempt_at = $3, state = $4, done_at = $5, lease_until = 0 WHERE id = $6",
    )
    .bind(code)
    .bind(detail)
    .bind(next.unwrap_or(0))
    .bind(state.code())
    .bind(done_at)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Waiting links whose expiry has passed and that were tried at least once: expired,
/// with no file. (A link is always tried once, even past the date its mail gives: the
/// provider may still have the file, and the try costs one request.) Returns how many.
pub async fn expire_overdue(db: &Db, now: i64) -> anyhow::Result<u64> {
    let r = sqlx::query(
        "UPDATE links SET state = $1, reason_code = 'link_expired_unfetched', detail = '到期前没有取到文件', done_at = $2 \
         WHERE state = $3 AND tries > 0 AND expires_at > 0 AND expires_at <= $2 AND lease_until <= $2",
    )
    .bind(State::Expired.code())
    .bind(now)
    .bind(State::Waiting.code())
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected())
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<Listed>> {
    let sql = format!("SELECT {COLUMNS}, {LISTED} FROM links l JOIN messages m ON m.id = l.message_ref WHERE l.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&db.pool).await?)
}

/// The link of a message with this URL (an item of kind `link` names both).
pub async fn by_message_url(db: &Db, message_ref: i64, url: &str) -> anyhow::Result<Option<Listed>> {
    let sql = format!("SELECT {COLUMNS}, {LISTED} FROM links l JOIN messages m ON m.id = l.message_ref WHERE l.message_ref = $1 AND l.url = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(message_ref).bind(url).fetch_optional(&db.pool).await?)
}

/// Every link of counted packages, or of one month, oldest mail first.
pub async fn list(db: &Db, cycle: Option<&str>) -> anyhow::Result<Vec<Listed>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LISTED} FROM links l JOIN messages m ON m.id = l.message_ref \
         WHERE m.disposition = 'package' AND ($1 = '' OR m.cycle = $1) ORDER BY m.received_at, l.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cycle.unwrap_or("")).fetch_all(&db.pool).await?)
}

/// The files of a message's links that are in: analysis reads them beside its raw mail.
pub async fn originals(db: &Db, message_ref: i64) -> anyhow::Result<Vec<LinkRow>> {
    let sql = format!("SELECT {COLUMNS} FROM links l WHERE l.message_ref = $1 AND l.state IN ($2, $3) AND l.original_path <> '' ORDER BY l.id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(message_ref).bind(State::Fetched.code()).bind(State::TakenIn.code()).fetch_all(&db.pool).await?)
}

/// Another row of the same URL whose file is in: its file serves this one too.
pub async fn sibling_with_file(db: &Db, url: &str, id: i64) -> anyhow::Result<Option<LinkRow>> {
    let sql = format!("SELECT {COLUMNS} FROM links l WHERE l.url = $1 AND l.id <> $2 AND l.state IN ($3, $4) AND l.original_path <> '' ORDER BY l.id LIMIT 1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(url).bind(id).bind(State::Fetched.code()).bind(State::TakenIn.code()).fetch_optional(&db.pool).await?)
}

/// Links of counted packages without their file yet whose expiry falls in [from, to),
/// soonest first: for the digest and the office's reminders.
pub async fn without_file_expiring(db: &Db, from: i64, to: i64) -> anyhow::Result<Vec<Listed>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LISTED} FROM links l JOIN messages m ON m.id = l.message_ref \
         WHERE m.disposition = 'package' AND l.state IN ($1, $2) AND l.expires_at >= $3 AND l.expires_at < $4 ORDER BY l.expires_at, l.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(State::Waiting.code()).bind(State::NeedsOffice.code()).bind(from).bind(to).fetch_all(&db.pool).await?)
}

/// Links of counted packages in a state, soonest expiry first (the office's list).
pub async fn in_state(db: &Db, state: State) -> anyhow::Result<Vec<Listed>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LISTED} FROM links l JOIN messages m ON m.id = l.message_ref \
         WHERE m.disposition = 'package' AND l.state = $1 ORDER BY l.expires_at, l.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(state.code()).fetch_all(&db.pool).await?)
}

/// Links that ended (in, or failed for good) since `since`: each gets one short mail.
pub async fn ended_since(db: &Db, since: i64) -> anyhow::Result<Vec<Listed>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LISTED} FROM links l JOIN messages m ON m.id = l.message_ref \
         WHERE m.disposition = 'package' AND l.state <> $1 AND l.done_at >= $2 ORDER BY l.done_at, l.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(State::Waiting.code()).bind(since).fetch_all(&db.pool).await?)
}

/// Per department of a month: links fetched or taken in, waiting, and needing the
/// office (expired ones included), for the board.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub fetched: i64,
    pub waiting: i64,
    pub needs_office: i64,
}

/// Links of mail received by `received_by` only, in their state now.
pub async fn counts(db: &Db, cycle: &str, received_by: i64) -> anyhow::Result<Vec<(String, Counts)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT m.department, l.state, COUNT(*) FROM links l JOIN messages m ON m.id = l.message_ref \
         WHERE m.disposition = 'package' AND m.cycle = $1 AND m.received_at <= $2 GROUP BY m.department, l.state ORDER BY m.department",
    )
    .bind(cycle)
    .bind(received_by)
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<(String, Counts)> = Vec::new();
    for (department, state, n) in rows {
        if out.last().is_none_or(|(d, _)| *d != department) {
            out.push((department.clone(), Counts::default()));
        }
        let Some((_, c)) = out.last_mut() else { continue };
        match State::from_code(&state) {
            Some(s) if s.has_file() => c.fetched += n,
            Some(State::Waiting) => c.waiting += n,
            _ => c.needs_office += n,
        }
    }
    Ok(out)
}

/// A link that ended, with what its sender was told of its message: when its receipt
/// was queued (0: no receipt) and when the message was last recorded. For the one short
/// mail each ended link gets (`notify::link`).
#[derive(Debug, Clone)]
pub struct Ended {
    pub listed: Listed,
    pub receipt_at: i64,
    pub recorded_at: i64,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Ended {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Ended { listed: Listed::from_row(row)?, receipt_at: row.try_get("receipt_at")?, recorded_at: row.try_get("recorded_at")? })
    }
}

/// Links that ended since `since` (as `ended_since`), each with the time the outbox
/// row keyed `receipt_key` followed by its message's id was written.
pub async fn ended_since_with_receipt(db: &Db, since: i64, receipt_key: &str) -> anyhow::Result<Vec<Ended>> {
    let sql = format!(
        "SELECT {COLUMNS}, {LISTED}, m.processed_at AS recorded_at, \
           COALESCE((SELECT o.created_at FROM outbox o WHERE o.key = $3 || CAST(m.id AS TEXT)), 0) AS receipt_at \
         FROM links l JOIN messages m ON m.id = l.message_ref \
         WHERE m.disposition = 'package' AND l.state <> $1 AND l.done_at >= $2 ORDER BY l.done_at, l.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(State::Waiting.code()).bind(since).bind(receipt_key).fetch_all(&db.pool).await?)
}
