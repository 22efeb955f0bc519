//! The item_authors table: who made each work, and how that was found.

use std::collections::HashMap;

use sqlx::Row;

use super::{Db, Tx};
use crate::attribution::{Author, Source};

/// The authors of one item, in the order named, and where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authors {
    pub authors: Vec<Author>,
    /// None when the item is 未署名.
    pub source: Option<Source>,
}

impl Authors {
    /// The names, joined by 、 (a shared work), or '' when 未署名.
    pub fn names(&self) -> String {
        self.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join("、")
    }

    /// Each author's share of the work: split evenly.
    pub fn share(&self) -> f64 {
        if self.authors.is_empty() { 0.0 } else { 1.0 / self.authors.len() as f64 }
    }
}

/// Records `authors` of item `item`, found by `source`, replacing any it had.
pub async fn put(tx: &mut Tx<'_>, item: i64, authors: &[Author], source: Source) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM item_authors WHERE item_ref = $1").bind(item).execute(&mut **tx).await?;
    for (position, a) in authors.iter().enumerate() {
        sqlx::query("INSERT INTO item_authors (item_ref, position, name, number, department, source) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(item)
            .bind(position as i64)
            .bind(&a.name)
            .bind(&a.number)
            .bind(&a.department)
            .bind(source.code())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The authors of item `item`, read inside a transaction.
pub async fn of_item_tx(tx: &mut Tx<'_>, item: i64) -> anyhow::Result<Authors> {
    let rows = sqlx::query("SELECT item_ref, name, number, department, source FROM item_authors WHERE item_ref = $1 ORDER BY position").bind(item).fetch_all(&mut **tx).await?;
    Ok(gather(rows)?.remove(&item).unwrap_or_default())
}

/// The authors of item `item`.
pub async fn of_item(db: &Db, item: i64) -> anyhow::Result<Authors> {
    let rows = sqlx::query("SELECT item_ref, name, number, department, source FROM item_authors WHERE item_ref = $1 ORDER BY position").bind(item).fetch_all(&db.pool).await?;
    Ok(gather(rows)?.remove(&item).unwrap_or_default())
}

/// The authors of each of `items` that has any.
pub async fn of_items(db: &Db, items: &[i64]) -> anyhow::Result<HashMap<i64, Authors>> {
    let mut out = HashMap::new();
    for chunk in items.chunks(400) {
        let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!("SELECT item_ref, name, number, department, source FROM item_authors WHERE item_ref IN ({}) ORDER BY item_ref, position", marks.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(gather(q.fetch_all(&db.pool).await?)?);
    }
    Ok(out)
}

/// The authors of message `message_ref`'s files as recorded, by file SHA-256: what
/// `reprocess` keeps (a person's assignment; a moved person's credit).
pub async fn of_message(db: &Db, message_ref: i64) -> anyhow::Result<HashMap<String, Authors>> {
    let rows = sqlx::query(
        "SELECT a.item_ref, a.name, a.number, a.department, a.source, i.sha256 FROM item_authors a JOIN items i ON i.id = a.item_ref \
         WHERE i.message_ref = $1 ORDER BY a.item_ref, a.position",
    )
    .bind(message_ref)
    .fetch_all(&db.pool)
    .await?;
    let mut sha_of: HashMap<i64, String> = HashMap::new();
    for r in &rows {
        sha_of.insert(r.try_get("item_ref")?, r.try_get("sha256")?);
    }
    let mut out: HashMap<String, Authors> = HashMap::new();
    let mut by_item: Vec<(i64, Authors)> = gather(rows)?.into_iter().collect();
    // The same file twice in a message: the first row's authors.
    by_item.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    for (id, a) in by_item {
        if let Some(sha) = sha_of.get(&id) {
            out.insert(sha.clone(), a);
        }
    }
    Ok(out)
}

/// Removes the authors of message `message_ref`'s items (before they are recorded again).
pub async fn delete_for_message(tx: &mut Tx<'_>, message_ref: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM item_authors WHERE item_ref IN (SELECT id FROM items WHERE message_ref = $1)").bind(message_ref).execute(&mut **tx).await?;
    Ok(())
}

/// Who a person is in the table: their police number, or their name in a department.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub number: &'a str,
    pub name: &'a str,
    pub department: &'a str,
}

/// The counted works (accepted items of counted packages) credited to `who`: by police
/// number wherever they were sent from, or else by name under the department.
pub async fn works(db: &Db, who: Who<'_>) -> anyhow::Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT DISTINCT a.item_ref FROM item_authors a JOIN items i ON i.id = a.item_ref JOIN messages m ON m.id = i.message_ref \
         WHERE m.disposition = 'package' AND i.status = 'accepted' \
         AND (($1 <> '' AND a.number = $1) OR ($1 = '' AND a.number = '' AND a.name = $2 AND a.department = $3)) ORDER BY a.item_ref",
    )
    .bind(who.number)
    .bind(who.name)
    .bind(who.department)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get("item_ref").map_err(Into::into)).collect()
}

fn author(r: &sqlx::any::AnyRow) -> anyhow::Result<Author> {
    Ok(Author { name: r.try_get("name")?, number: r.try_get("number")?, department: r.try_get("department")? })
}

fn gather(rows: Vec<sqlx::any::AnyRow>) -> anyhow::Result<HashMap<i64, Authors>> {
    let mut out: HashMap<i64, Authors> = HashMap::new();
    for r in rows {
        let item: i64 = r.try_get("item_ref")?;
        let code: String = r.try_get("source")?;
        let source = Source::parse(&code).ok_or_else(|| anyhow::anyhow!("item_authors.source 的值 {code} 不认识"))?;
        let entry = out.entry(item).or_default();
        entry.source = Some(source);
        entry.authors.push(author(&r)?);
    }
    Ok(out)
}

/// Every author of a counted work (accepted file of a counted package) of `year`'s
/// months, with the work's month ("2024-03").
pub async fn counted_in_year(db: &Db, year: i32) -> anyhow::Result<Vec<(Author, String)>> {
    let rows = sqlx::query(
        "SELECT a.item_ref, a.name, a.number, a.department, m.cycle FROM item_authors a JOIN items i ON i.id = a.item_ref JOIN messages m ON m.id = i.message_ref \
         WHERE m.disposition = 'package' AND i.status = 'accepted' AND m.cycle >= $1 AND m.cycle < $2 ORDER BY a.item_ref, a.position",
    )
    .bind(format!("{year:04}-01"))
    .bind(format!("{:04}-01", year + 1))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok((author(r)?, r.try_get("cycle")?))).collect()
}
