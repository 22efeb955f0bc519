//! Authors assigned by hand (`baosong author`, the console's item page): they stand
//! over what the file name, EXIF or sender say, and `reprocess` keeps them.

use anyhow::{Context, bail};

use crate::attribution::{Author, Source};
use crate::config::Config;
use crate::db::{self, Db};
use crate::roster::Roster;

/// One item whose authors were assigned.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub item: i64,
    pub name: String,
    /// Its authors before, in words ("张三（嘎鲁图派出所）" or 未署名).
    pub before: String,
    pub changed: bool,
}

/// The people `specs` name (`张三`, `张三@嘎鲁图派出所` or a police number), each once,
/// or why not, in Chinese.
pub fn people(roster: &Roster, specs: &[String]) -> anyhow::Result<Vec<Author>> {
    if specs.is_empty() {
        bail!("请用 --person 写出作者：姓名、“姓名@单位”或警号");
    }
    let mut out: Vec<Author> = Vec::new();
    for spec in specs {
        let found = roster.find_people(spec);
        let (d, p) = match found[..] {
            [one] => one,
            [] => bail!("名单（departments.toml）中没有“{}”：请写名单中的姓名、“姓名@单位”或警号；新人员请先加到所在单位的 people 中", spec.trim()),
            _ => {
                let each: Vec<String> = found.iter().map(|(d, p)| format!("{}@{}", p.name, d.name)).collect();
                bail!("“{}”不止一人：{}。请写成“姓名@单位”或写警号", spec.trim(), each.join("、"))
            }
        };
        let a = Author::of(d, p);
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// Authors in words, for the audit and for people: "张三（嘎鲁图派出所）、李四（…）".
pub fn in_words(authors: &[Author]) -> String {
    if authors.is_empty() {
        return "未署名".into();
    }
    authors.iter().map(|a| format!("{}（{}）", a.name, a.department)).collect::<Vec<_>>().join("、")
}

/// Makes `authors` the authors of each of `items`, by hand, audited by `who`, all in
/// one transaction: an item that does not exist refuses the whole change.
pub async fn assign(config: &Config, db: &Db, who: &str, items: &[i64], specs: &[String], now: i64) -> anyhow::Result<Vec<Assigned>> {
    let authors = people(&config.roster, specs)?;
    if items.is_empty() {
        bail!("请写出文件编号（items 中显示的编号）");
    }
    let after = in_words(&authors);
    let mut tx = db.begin().await?;
    let mut done = Vec::new();
    for &item in items {
        let li = db::items::get(db, item).await?.with_context(|| format!("没有编号为 {item} 的文件"))?;
        if li.item.sha256.is_empty() {
            bail!("文件 {item}「{}」不是收下的照片或视频，不能指定作者", li.item.shown_name);
        }
        let old = db::authors::of_item_tx(&mut tx, item).await?;
        let before = in_words(&old.authors);
        let changed = !(old.source == Some(Source::Manual) && old.authors == authors);
        if changed {
            db::authors::put(&mut tx, item, &authors, Source::Manual).await?;
            let target = format!("文件 {item}「{}」", li.item.shown_name);
            let change = db::audit::Change { who, action: "author", target: &target, before: &before, after: &after };
            db::audit::record(&mut tx, now, &change).await?;
        }
        done.push(Assigned { item, name: li.item.shown_name, before, changed });
    }
    tx.commit().await?;
    Ok(done)
}
