//! The items table: the files, refused files and external links of each message.

use super::{Db, Tx};

/// What became of a file: the `status` column of `items`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Status {
    /// Counted for its department.
    #[default]
    Accepted,
    /// The same file reached us before from the same department.
    Duplicate,
    /// The same file came first from another department, which it counts for.
    Shared,
    /// Refused: `rejection_code` and `reason` say why.
    Rejected,
    /// A small picture in the body (a signature icon), not counted.
    Decoration,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Accepted, Status::Duplicate, Status::Shared, Status::Rejected, Status::Decoration];

    pub fn code(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Duplicate => "duplicate",
            Status::Shared => "shared",
            Status::Rejected => "rejected",
            Status::Decoration => "decoration",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            Status::Accepted => "计入",
            Status::Duplicate => "重复",
            Status::Shared => "共享不计",
            Status::Rejected => "拒收",
            Status::Decoration => "装饰图片",
        }
    }
}

text_column!(Status, "items.status");

/// What a file is: the `kind` column of `items`. The codes of photo, video and document
/// are those of `inspect::Kind`; a link is a 超大附件 link; `None` ('') is a refused file
/// that was never inspected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    Photo,
    Video,
    Document,
    Link,
    #[default]
    None,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Photo, Kind::Video, Kind::Document, Kind::Link, Kind::None];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Photo => "photo",
            Kind::Video => "video",
            Kind::Document => "document",
            Kind::Link => "link",
            Kind::None => "",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// What the office reads.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Photo => "照片",
            Kind::Video => "视频",
            Kind::Document => "文档",
            Kind::Link => "链接",
            Kind::None => "—",
        }
    }

    /// A photo or a video: what counts as a work.
    pub fn is_work(self) -> bool {
        matches!(self, Kind::Photo | Kind::Video)
    }
}

text_column!(Kind, "items.kind");

#[derive(Debug, Clone, Default)]
pub struct ItemRow {
    pub id: i64,
    pub message_ref: i64,
    pub status: Status,
    pub kind: Kind,
    pub category: String,
    pub shown_name: String,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
    pub mime: String,
    pub blob_path: String,
    pub tree_path: String,
    pub rejection_code: String,
    pub reason: String,
    pub flags: String,
    pub url: String,
    pub expires_at: i64,
    pub duplicate_of: i64,
    pub width: i64,
    pub height: i64,
    pub duration_ms: i64,
    pub container: String,
    pub codec: String,
    pub captured_at: i64,
    pub camera: String,
    pub phash: String,
    pub blur_centi: i64,
    pub thumb_path: String,
    pub similar_to: i64,
    /// A JPEG rendition of a HEIC photo (`renditions/…`), or ''.
    pub rendition_path: String,
    /// 1 when a person chose the category (`recategorize`); `reprocess` keeps it.
    pub category_manual: i64,
}

from_row!(ItemRow {
    id, message_ref, status, kind, category, shown_name, file_name, size, sha256, mime, blob_path, tree_path,
    rejection_code, reason, flags, url, expires_at, duplicate_of, width, height, duration_ms, container, codec,
    captured_at, camera, phash, blur_centi, thumb_path, similar_to, rendition_path, category_manual
});

impl ItemRow {
    /// An accepted photo or video: a work that counts for its department.
    pub fn is_counted_work(&self) -> bool {
        self.status == Status::Accepted && self.kind.is_work()
    }
}

/// An item with the message facts a report needs.
#[derive(Debug, Clone, Default)]
pub struct ListedItem {
    pub item: ItemRow,
    pub department: String,
    pub cycle: String,
    pub received_at: i64,
    /// The message's `sent_on_behalf` and its flags (a whole message's marks).
    pub sent_on_behalf: i64,
    pub message_flags: String,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for ListedItem {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(ListedItem {
            item: ItemRow::from_row(row)?,
            department: row.try_get("department")?,
            cycle: row.try_get("cycle")?,
            received_at: row.try_get("received_at")?,
            sent_on_behalf: row.try_get("sent_on_behalf")?,
            message_flags: row.try_get("message_flags")?,
        })
    }
}

const COLUMNS: &str = "i.id, i.message_ref, i.status, i.kind, i.category, i.shown_name, i.file_name, i.size, i.sha256, \
     i.mime, i.blob_path, i.tree_path, i.rejection_code, i.reason, i.flags, i.url, i.expires_at, i.duplicate_of, \
     i.width, i.height, i.duration_ms, i.container, i.codec, i.captured_at, i.camera, i.phash, i.blur_centi, i.thumb_path, i.similar_to, \
     i.rendition_path, i.category_manual";

/// What a `ListedItem` takes from its message.
const MESSAGE_COLUMNS: &str = "m.department, m.cycle, m.received_at, m.sent_on_behalf, m.flags AS message_flags";

pub async fn insert(tx: &mut Tx<'_>, it: &ItemRow) -> anyhow::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO items (message_ref, status, kind, category, shown_name, file_name, size, sha256, mime, blob_path, \
         tree_path, rejection_code, reason, flags, url, expires_at, duplicate_of, width, height, duration_ms, container, codec, \
         captured_at, camera, phash, blur_centi, thumb_path, similar_to, rendition_path, category_manual) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
         $25, $26, $27, $28, $29, $30) RETURNING id",
    )
    .bind(it.message_ref)
    .bind(it.status)
    .bind(it.kind)
    .bind(&it.category)
    .bind(&it.shown_name)
    .bind(&it.file_name)
    .bind(it.size)
    .bind(&it.sha256)
    .bind(&it.mime)
    .bind(&it.blob_path)
    .bind(&it.tree_path)
    .bind(&it.rejection_code)
    .bind(&it.reason)
    .bind(&it.flags)
    .bind(&it.url)
    .bind(it.expires_at)
    .bind(it.duplicate_of)
    .bind(it.width)
    .bind(it.height)
    .bind(it.duration_ms)
    .bind(&it.container)
    .bind(&it.codec)
    .bind(it.captured_at)
    .bind(&it.camera)
    .bind(&it.phash)
    .bind(it.blur_centi)
    .bind(&it.thumb_path)
    .bind(it.similar_to)
    .bind(&it.rendition_path)
    .bind(it.category_manual)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// The accepted (or shared) item with this content that `department` already sent in `cycle`.
pub async fn accepted_twin(tx: &mut Tx<'_>, department: &str, cycle: &str, sha256: &str, before: Before) -> anyhow::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT i.id FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE i.sha256 = $1 AND i.status IN ('accepted', 'shared') AND m.department = $2 AND m.cycle = $3 \
         AND m.disposition = 'package' AND (m.received_at < $4 OR (m.received_at = $4 AND m.id < $5)) ORDER BY i.id LIMIT 1",
    )
    .bind(sha256)
    .bind(department)
    .bind(cycle)
    .bind(before.received_at)
    .bind(before.id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// A photo already recorded, for near-duplicate search.
#[derive(Debug, Clone)]
pub struct Hashed {
    pub id: i64,
    pub phash: String,
    pub sha256: String,
    pub department: String,
    pub cycle: String,
}

from_row!(Hashed { id, phash, sha256, department, cycle });

/// Every counted photo with a perceptual hash.
pub async fn phashes(tx: &mut Tx<'_>, before: Before) -> anyhow::Result<Vec<Hashed>> {
    Ok(sqlx::query_as(
        "SELECT i.id, i.phash, i.sha256, m.department, m.cycle FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE i.phash <> '' AND i.status = 'accepted' AND m.disposition = 'package' \
         AND (m.received_at < $1 OR (m.received_at = $1 AND m.id < $2)) ORDER BY i.id",
    )
    .bind(before.received_at)
    .bind(before.id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Every counted item of any department and month with exactly this content.
pub async fn same_content(tx: &mut Tx<'_>, sha256: &str, before: Before) -> anyhow::Result<Vec<Hashed>> {
    Ok(sqlx::query_as(
        "SELECT i.id, i.phash, i.sha256, m.department, m.cycle FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE i.sha256 = $1 AND i.status = 'accepted' AND m.disposition = 'package' \
         AND (m.received_at < $2 OR (m.received_at = $2 AND m.id < $3)) ORDER BY i.id",
    )
    .bind(sha256)
    .bind(before.received_at)
    .bind(before.id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Which recorded messages a lookup sees: those received before this point (then by
/// id). New mail sees everything; `reprocess` sees only what came before the message
/// it decides again, as intake did.
#[derive(Debug, Clone, Copy)]
pub struct Before {
    pub received_at: i64,
    pub id: i64,
}

impl Before {
    pub const EVERYTHING: Before = Before { received_at: i64::MAX, id: i64::MAX };
}

/// The items of a message, removed when it is decided again (`reprocess`). What refers
/// to them (adoptions) is checked at commit, after `repoint` moved it to the new rows:
/// an adopted file the rules no longer keep fails the commit and changes nothing.
pub async fn delete_for_message(tx: &mut Tx<'_>, message_ref: i64) -> anyhow::Result<()> {
    tx.defer_foreign_keys().await?;
    super::authors::delete_for_message(tx, message_ref).await?;
    sqlx::query("DELETE FROM items WHERE message_ref = $1").bind(message_ref).execute(&mut **tx).await?;
    Ok(())
}

/// Items that pointed at `old` (as a copy or a duplicate of it), and its adoptions,
/// point at `new`: the same file, recorded again.
pub async fn repoint(tx: &mut Tx<'_>, old: i64, new: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE items SET similar_to = $1 WHERE similar_to = $2").bind(new).bind(old).execute(&mut **tx).await?;
    sqlx::query("UPDATE items SET duplicate_of = $1 WHERE duplicate_of = $2").bind(new).bind(old).execute(&mut **tx).await?;
    sqlx::query("UPDATE adoptions SET item_ref = $1 WHERE item_ref = $2").bind(new).bind(old).execute(&mut **tx).await?;
    sqlx::query("UPDATE adoptions SET work_ref = $1 WHERE work_ref = $2").bind(new).bind(old).execute(&mut **tx).await?;
    Ok(())
}

/// Adds flag codes to an item's stored list (kept sorted, without repeats).
pub async fn add_flags(tx: &mut Tx<'_>, id: i64, add: &[crate::rejection::Flag]) -> anyhow::Result<()> {
    let (flags,): (String,) = sqlx::query_as("SELECT flags FROM items WHERE id = $1").bind(id).fetch_one(&mut **tx).await?;
    let mut all = crate::rejection::Flag::parse_list(&flags);
    all.extend_from_slice(add);
    sqlx::query("UPDATE items SET flags = $1 WHERE id = $2").bind(crate::rejection::Flag::join(&all)).bind(id).execute(&mut **tx).await?;
    Ok(())
}

/// Whether any item refers to content with this hash.
pub async fn sha_referenced(db: &Db, sha256: &str) -> anyhow::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM items WHERE sha256 = $1 LIMIT 1").bind(sha256).fetch_optional(&db.pool).await?;
    Ok(row.is_some())
}

pub async fn tree_path_taken(tx: &mut Tx<'_>, tree_path: &str) -> anyhow::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM items WHERE tree_path = $1 LIMIT 1")
        .bind(tree_path)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

/// Every tree path under `folder` ("tree/2024-03/单位/①党的建设/"), read by a range
/// over the tree_path index ('0' is the character after '/').
pub async fn tree_paths_under(tx: &mut Tx<'_>, folder: &str) -> anyhow::Result<Vec<String>> {
    let end = format!("{}0", folder.trim_end_matches('/'));
    let rows: Vec<(String,)> = sqlx::query_as("SELECT tree_path FROM items WHERE tree_path >= $1 AND tree_path < $2")
        .bind(folder)
        .bind(end)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

/// Items with their message's department, cycle and receipt time.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub cycle: Option<String>,
    pub department: Option<String>,
    pub category: Option<String>,
    pub message_ref: Option<i64>,
    pub received_by: Option<i64>,
    /// A flag code, of the item or of its message.
    pub flag: Option<String>,
    /// Part of the shown name (the console's search); LIKE wildcards in it match themselves.
    pub name: Option<String>,
    /// Only items of this status (the console's search).
    pub status: Option<Status>,
}

pub async fn list(db: &Db, f: &Filter) -> anyhow::Result<Vec<ListedItem>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, {MESSAGE_COLUMNS} FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE m.disposition = 'package' \
         AND ($1 = '' OR m.cycle = $1) AND ($2 = '' OR m.department = $2) AND ($3 = '' OR i.category = $3) \
         AND ($4 = 0 OR i.message_ref = $4) AND m.received_at <= $5 \
         AND ($6 = '' OR (',' || i.flags || ',') LIKE ('%,' || $6 || ',%') OR (',' || m.flags || ',') LIKE ('%,' || $6 || ',%')) \
         AND ($7 = '' OR i.shown_name LIKE ('%' || $7 || '%') ESCAPE '\\') \
         AND ($8 = '' OR i.status = $8) \
         ORDER BY m.received_at, i.id"
    )))
    .bind(f.cycle.clone().unwrap_or_default())
    .bind(f.department.clone().unwrap_or_default())
    .bind(f.category.clone().unwrap_or_default())
    .bind(f.message_ref.unwrap_or(0))
    .bind(f.received_by.unwrap_or(i64::MAX))
    .bind(f.flag.clone().unwrap_or_default())
    .bind(f.name.as_deref().unwrap_or_default().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
    .bind(f.status.map_or("", Status::code))
    .fetch_all(&db.pool)
    .await?)
}

/// Items of a month's counted packages received by `received_by`, counted by what the
/// board shows: department, status, kind, category and flags, with the earliest
/// receipt of each group. The board reads these few rows, not every item.
#[derive(Debug, Clone, Default)]
pub struct BoardCount {
    pub department: String,
    pub status: Status,
    pub kind: Kind,
    pub category: String,
    pub flags: String,
    pub n: i64,
    pub first_received: i64,
}

from_row!(BoardCount { department, status, kind, category, flags, n, first_received });

pub async fn board_counts(db: &Db, cycle: &str, received_by: i64) -> anyhow::Result<Vec<BoardCount>> {
    Ok(sqlx::query_as(
        "SELECT m.department AS department, i.status AS status, i.kind AS kind, i.category AS category, i.flags AS flags, \
         COUNT(*) AS n, MIN(m.received_at) AS first_received FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE m.disposition = 'package' AND m.cycle = $1 AND m.received_at <= $2 \
         GROUP BY m.department, i.status, i.kind, i.category, i.flags",
    )
    .bind(cycle)
    .bind(received_by)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<ListedItem>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, {MESSAGE_COLUMNS} FROM items i JOIN messages m ON m.id = i.message_ref WHERE i.id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Files an item under `category` at `tree_path`; `chosen` when a person chose the
/// category (kept by `reprocess`).
pub async fn set_placement(tx: &mut Tx<'_>, id: i64, category: &str, tree_path: &str, chosen: bool) -> anyhow::Result<()> {
    sqlx::query("UPDATE items SET category = $1, tree_path = $2, category_manual = CASE WHEN category_manual > $3 THEN category_manual ELSE $3 END WHERE id = $4")
        .bind(category)
        .bind(tree_path)
        .bind(i64::from(chosen))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Every accepted file that belongs in the browsable tree, and the JPEG rendition
/// next to a HEIC photo: (tree path, stored path).
pub async fn tree_entries(db: &Db) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT i.tree_path, i.blob_path FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE m.disposition = 'package' AND i.tree_path <> '' \
         UNION ALL SELECT i.tree_path || '.jpg', i.rendition_path FROM items i JOIN messages m ON m.id = i.message_ref \
         WHERE m.disposition = 'package' AND i.tree_path <> '' AND i.rendition_path <> '' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// An item that uses a blob: where it shows in the tree and which mail it came from.
#[derive(Debug, Clone, Default)]
pub struct BlobUser {
    pub id: i64,
    pub status: Status,
    pub shown_name: String,
    pub tree_path: String,
    pub blob_path: String,
    pub message_ref: i64,
    pub department: String,
    pub cycle: String,
    pub raw_path: String,
}

from_row!(BlobUser { id, status, shown_name, tree_path, blob_path, message_ref, department, cycle, raw_path });

/// Every item whose content has this SHA-256, whatever became of its message.
pub async fn blob_users(db: &Db, sha256: &str) -> anyhow::Result<Vec<BlobUser>> {
    Ok(sqlx::query_as(
        "SELECT i.id, i.status, i.shown_name, i.tree_path, i.blob_path, i.message_ref, m.department, m.cycle, m.raw_path \
         FROM items i JOIN messages m ON m.id = i.message_ref WHERE i.sha256 = $1 AND i.blob_path <> '' ORDER BY i.id",
    )
    .bind(sha256)
    .fetch_all(&db.pool)
    .await?)
}

/// Every blob an item refers to, once.
pub async fn blob_paths(db: &Db) -> anyhow::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT blob_path FROM items WHERE blob_path <> '' ORDER BY blob_path").fetch_all(&db.pool).await?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_reads_back_and_the_kinds_are_those_inspect_writes() {
        assert!(Status::ALL.into_iter().all(|s| Status::from_code(s.code()) == Some(s)));
        assert!(Kind::ALL.into_iter().all(|k| Kind::from_code(k.code()) == Some(k)));
        for k in [crate::inspect::Kind::Photo, crate::inspect::Kind::Video, crate::inspect::Kind::Document] {
            assert!(Kind::from_code(k.code()).is_some_and(Kind::is_work) == matches!(k, crate::inspect::Kind::Photo | crate::inspect::Kind::Video));
        }
        assert_eq!(Status::from_code("accepted "), None);
    }
}
