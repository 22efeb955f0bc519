//! Copying the books of a SQLite deployment into an empty PostgreSQL database
//! (`migrate-db`): every table row for row, in one transaction on the target, so that
//! an interrupted copy leaves the target empty and can simply be run again; then every
//! table counted and checksummed on both sides.

use anyhow::{Context, bail};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db};

/// One table of the books: its name and columns, in the source's order, and which
/// columns hold integers on the target (every other one holds text).
pub struct Table {
    pub name: String,
    columns: Vec<String>,
    integer: Vec<bool>,
}

/// One table after the copy: rows and checksum on the source and on the target.
pub struct Checked {
    pub table: String,
    pub rows: (i64, i64),
    pub sums: (String, String),
}

impl Checked {
    pub fn matches(&self) -> bool {
        self.rows.0 == self.rows.1 && self.sums.0 == self.sums.1
    }
}

/// A value as both backends hold it: every column is an integer or text.
enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// The tables of the SQLite `source` (without sqlx's own), with their columns' kinds as
/// the PostgreSQL `target` declares them. A table the target lacks is an error: the two
/// schemas are migrated to the same version first.
pub async fn tables(source: &Db, target: &Db) -> anyhow::Result<Vec<Table>> {
    anyhow::ensure!(source.backend == Backend::Sqlite && target.backend == Backend::Postgres, "只能从 SQLite 复制到 PostgreSQL");
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&source.pool)
    .await?;
    let mut tables = Vec::new();
    for (name,) in names {
        let columns: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info($1) ORDER BY cid").bind(&name).fetch_all(&source.pool).await?;
        let kinds: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(&name)
        .fetch_all(&target.pool)
        .await?;
        let mut integer = Vec::new();
        for (column,) in &columns {
            let Some((_, kind)) = kinds.iter().find(|(c, _)| c == column) else {
                bail!("目标数据库的表 {name} 没有列 {column}：两边的表结构版本不同");
            };
            integer.push(matches!(kind.as_str(), "bigint" | "integer" | "smallint"));
        }
        tables.push(Table { name, columns: columns.into_iter().map(|(c,)| c).collect(), integer });
    }
    Ok(tables)
}

/// The first table of `target` that already has rows, and how many.
pub async fn first_nonempty(target: &Db, tables: &[Table]) -> anyhow::Result<Option<(String, i64)>> {
    for t in tables {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {}", quoted(&t.name)))).fetch_one(&target.pool).await?;
        if n > 0 {
            return Ok(Some((t.name.clone(), n)));
        }
    }
    Ok(None)
}

/// Copies every row of `tables` from `source` to `target` in one transaction on the
/// target, foreign keys checked at its commit; then moves each identity column's counter
/// past the largest id copied, so that new rows do not collide with copied ones.
/// `progress` sees each table and its rows once copied.
pub async fn copy(source: &Db, target: &Db, tables: &[Table], progress: &mut (dyn FnMut(&str, i64) + Send)) -> anyhow::Result<()> {
    let mut tx = target.begin().await?;
    tx.defer_foreign_keys().await?;
    for t in tables {
        let select = format!("SELECT {} FROM {}", t.columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", "), quoted(&t.name));
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&source.pool);
        // PostgreSQL takes at most 65 535 parameters a statement.
        let per_insert = (30_000 / t.columns.len().max(1)).clamp(1, 500);
        let (mut batch, mut copied) = (Vec::new(), 0i64);
        while let Some(row) = rows.try_next().await? {
            batch.push(values(t, &row)?);
            if batch.len() == per_insert {
                insert(&mut tx, t, &batch).await?;
                copied += batch.len() as i64;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            insert(&mut tx, t, &batch).await?;
            copied += batch.len() as i64;
        }
        progress(&t.name, copied);
    }
    for t in tables {
        let identity: Vec<(String,)> = sqlx::query_as(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'YES'",
        )
        .bind(&t.name)
        .fetch_all(&mut *tx)
        .await?;
        for (column,) in identity {
            let sql = format!("SELECT setval(pg_get_serial_sequence($1, $2), (SELECT COALESCE(MAX({c}), 0) FROM {t}) + 1, false)", c = quoted(&column), t = quoted(&t.name));
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&t.name).bind(&column).execute(&mut *tx).await?;
        }
    }
    tx.commit().await.context("提交复制的数据失败（目标库保持为空，可以重新运行）")?;
    Ok(())
}

async fn insert(tx: &mut super::Tx<'_>, t: &Table, batch: &[Vec<Value>]) -> anyhow::Result<()> {
    let n = t.columns.len();
    let rows: Vec<String> = (0..batch.len()).map(|r| format!("({})", (1..=n).map(|c| format!("${}", r * n + c)).collect::<Vec<_>>().join(", "))).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES {}", quoted(&t.name), t.columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", "), rows.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (row, v) in batch.iter().flatten().enumerate() {
        let integer = t.integer[row % n];
        q = match v {
            Value::Null if integer => q.bind(None::<i64>),
            Value::Null => q.bind(None::<String>),
            Value::Int(i) => q.bind(*i),
            Value::Text(s) => q.bind(s.clone()),
        };
    }
    q.execute(&mut **tx).await.with_context(|| format!("无法写入表 {}", t.name))?;
    Ok(())
}

/// A row's values, read as the target's column kinds.
fn values(t: &Table, row: &AnyRow) -> anyhow::Result<Vec<Value>> {
    (0..t.columns.len())
        .map(|i| {
            let v = if t.integer[i] {
                row.try_get::<Option<i64>, _>(i).map(|v| v.map_or(Value::Null, Value::Int))
            } else {
                row.try_get::<Option<String>, _>(i).map(|v| v.map_or(Value::Null, Value::Text))
            };
            v.with_context(|| format!("表 {} 列 {} 的值无法读取", t.name, t.columns[i]))
        })
        .collect()
}

/// Counts and checksums every table on both sides. A table's checksum does not depend
/// on row order (the two engines sort text differently): it is the lane-wise sum of the
/// SHA-256 of each row's values.
pub async fn check(source: &Db, target: &Db, tables: &[Table]) -> anyhow::Result<Vec<Checked>> {
    let mut out = Vec::new();
    for t in tables {
        let (a, b) = (sum(source, t).await?, sum(target, t).await?);
        out.push(Checked { table: t.name.clone(), rows: (a.0, b.0), sums: (a.1, b.1) });
    }
    Ok(out)
}

async fn sum(db: &Db, t: &Table) -> anyhow::Result<(i64, String)> {
    let select = format!("SELECT {} FROM {}", t.columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", "), quoted(&t.name));
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&db.pool);
    let (mut n, mut lanes) = (0i64, [0u64; 4]);
    while let Some(row) = rows.try_next().await? {
        let mut h = Sha256::new();
        for v in values(t, &row)? {
            match v {
                Value::Null => h.update(b"N"),
                Value::Int(i) => {
                    h.update(b"I");
                    h.update(i.to_le_bytes());
                }
                Value::Text(s) => {
                    h.update(b"T");
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        let d = h.finalize();
        for (lane, chunk) in lanes.iter_mut().zip(d.chunks_exact(8)) {
            *lane = lane.wrapping_add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        n += 1;
    }
    Ok((n, lanes.iter().map(|l| format!("{l:016x}")).collect()))
}

/// A table or column name as an SQL identifier. The names come from the source's own
/// schema, not from people.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
