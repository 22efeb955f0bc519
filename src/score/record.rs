//! Recording adoptions and ledger entries, each with its audit row in the same
//! transaction, and reading a year's facts for `compute`. Plain functions the CLI
//! (and later the console) call; the rules themselves are in `ledger` and `compute`.

use chrono::NaiveDate;
use serde_json::json;

use super::compute::{self, AdoptionFact, EntryFact, Period, Scores};
use super::ledger::{self, AdoptRefusal, EntryRefusal};
use super::period::Span;
use super::rubric::Rubric;
use super::{Centi, Level, shown};
use crate::db::adoptions::{Adoption, NewAdoption};
use crate::db::audit::{self, Change};
use crate::db::ledger::Entry;
use crate::db::{self, Db, Tx};

/// What `adopt` recorded for one file.
#[derive(Debug, Clone)]
pub struct Adopted {
    pub id: i64,
    pub item: i64,
    pub work: i64,
    pub department: String,
    pub work_name: String,
    /// Earlier adoptions of the same work: (adoption id, level code, date).
    pub earlier: Vec<(i64, String, String)>,
}

/// The details of an adoption as typed.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub date: String,
    pub channel: String,
    pub url: String,
    pub note: String,
}

/// The original work of a copy: follows near_duplicate / reused / shared_work links
/// to the item they point to (at most 32 steps; a loop stops where it closes).
async fn resolve_work(tx: &mut Tx<'_>, start: &db::adoptions::Candidate) -> anyhow::Result<i64> {
    let mut seen = vec![start.id];
    let mut next = ledger::copy_of(start);
    let mut work = start.id;
    while let Some(id) = next {
        if seen.contains(&id) || seen.len() > 32 {
            break;
        }
        seen.push(id);
        let Some(c) = db::adoptions::candidate(tx, id).await? else { break };
        work = c.id;
        next = ledger::copy_of(&c);
    }
    Ok(work)
}

/// Records that each of `items` was adopted at `level`, all or none: the first file
/// that cannot be adopted refuses the whole command.
pub async fn adopt(db: &Db, items: &[i64], level: Level, d: &Details, who: &str, now: i64) -> anyhow::Result<Result<Vec<Adopted>, Vec<AdoptRefusal>>> {
    let mut tx = db.begin().await?;
    let mut refusals = Vec::new();
    let mut plan = Vec::new();
    for &id in items {
        let Some(c) = db::adoptions::candidate(&mut tx, id).await? else {
            refusals.push(AdoptRefusal::NotFound { id });
            continue;
        };
        match ledger::adoptable(&c) {
            Err(r) => refusals.push(r),
            Ok(_) => plan.push((id, resolve_work(&mut tx, &c).await?)),
        }
    }
    if !refusals.is_empty() {
        return Ok(Err(refusals));
    }
    let mut done = Vec::new();
    for (item, work) in plan {
        let earlier = db::adoptions::of_work(&mut tx, work).await?;
        let a = NewAdoption {
            item_ref: item,
            work_ref: work,
            level: level.code().into(),
            adopted_on: d.date.clone(),
            channel: d.channel.clone(),
            url: d.url.clone(),
            note: d.note.clone(),
            created_at: now,
            created_by: who.into(),
        };
        let id = db::adoptions::insert(&mut tx, &a).await?;
        let after = json!({"item": item, "work": work, "level": level.code(), "date": d.date, "channel": d.channel, "url": d.url, "note": d.note});
        audit::record(&mut tx, now, &Change { who, action: "adopt", target: &format!("采用 {id}（文件 {item}）"), before: "", after: &after.to_string() }).await?;
        let row = db::adoptions::get(&mut tx, id).await?;
        done.push(Adopted {
            id,
            item,
            work,
            department: row.as_ref().map(|r| r.department.clone()).unwrap_or_default(),
            work_name: row.map(|r| r.work_name).unwrap_or_default(),
            earlier: earlier.into_iter().map(|e| (e.id, e.level, e.adopted_on)).collect(),
        });
    }
    tx.commit().await?;
    Ok(Ok(done))
}

/// Removes an adoption; the removed row, or None when there was none.
pub async fn unadopt(db: &Db, id: i64, who: &str, now: i64) -> anyhow::Result<Option<Adoption>> {
    let mut tx = db.begin().await?;
    let Some(a) = db::adoptions::get(&mut tx, id).await? else { return Ok(None) };
    db::adoptions::delete(&mut tx, id).await?;
    let before = json!({"item": a.item_ref, "work": a.work_ref, "level": a.level, "date": a.adopted_on, "channel": a.channel, "url": a.url, "note": a.note});
    audit::record(&mut tx, now, &Change { who, action: "unadopt", target: &format!("采用 {id}（文件 {}）", a.item_ref), before: &before.to_string(), after: "" }).await?;
    tx.commit().await?;
    Ok(Some(a))
}

/// A ledger entry as typed on the command line.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub department: String,
    pub item: String,
    pub points: Centi,
    pub doubled: bool,
    pub date: NaiveDate,
    pub work: String,
    pub note: String,
}

fn month_range(date: NaiveDate) -> (String, String) {
    use chrono::Datelike;
    let start = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date);
    let end = if date.month() == 12 { NaiveDate::from_ymd_opt(date.year() + 1, 1, 1) } else { NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1) };
    (start.to_string(), end.unwrap_or(date).to_string())
}

/// Records an entry the rubric allows; the refusal says why not.
pub async fn add_entry(db: &Db, rubric: &Rubric, e: &NewEntry, who: &str, now: i64) -> anyhow::Result<Result<Entry, EntryRefusal>> {
    let mut tx = db.begin().await?;
    let (from, to) = month_range(e.date);
    let item_name = rubric.item(&e.item).map_or(e.item.trim().to_string(), |i| i.name.clone());
    let month: Vec<i64> = db::ledger::of_item(&mut tx, &e.department, &item_name, &from, &to).await?.iter().map(|x| x.id).collect();
    let item = match ledger::check_entry(rubric, &e.item, e.points, e.doubled, e.date, &month) {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    let mut row = Entry {
        id: 0,
        department: e.department.clone(),
        item: item.name.clone(),
        points_centi: e.points,
        doubled: e.doubled,
        entry_on: e.date.to_string(),
        work: e.work.trim().to_string(),
        note: e.note.trim().to_string(),
        created_at: now,
        created_by: who.into(),
    };
    row.id = db::ledger::insert(&mut tx, &row).await?;
    audit::record(&mut tx, now, &Change { who, action: "score_add", target: &format!("计分登记 {}（{}）", row.id, row.department), before: "", after: &entry_json(&row) }).await?;
    tx.commit().await?;
    Ok(Ok(row))
}

fn entry_json(e: &Entry) -> String {
    json!({"department": e.department, "item": e.item, "points": shown(e.points_centi), "doubled": e.doubled, "date": e.entry_on, "work": e.work, "note": e.note}).to_string()
}

pub async fn remove_entry(db: &Db, id: i64, who: &str, now: i64) -> anyhow::Result<Option<Entry>> {
    let mut tx = db.begin().await?;
    let Some(e) = db::ledger::get(&mut tx, id).await? else { return Ok(None) };
    db::ledger::delete(&mut tx, id).await?;
    audit::record(&mut tx, now, &Change { who, action: "score_remove", target: &format!("计分登记 {id}（{}）", e.department), before: &entry_json(&e), after: "" }).await?;
    tx.commit().await?;
    Ok(Some(e))
}

/// A year's adoptions and entries ([year-01-01, year+1-01-01)).
pub async fn year_facts(db: &Db, year: i32) -> anyhow::Result<(Vec<Adoption>, Vec<Entry>)> {
    let (from, to) = (format!("{year:04}-01-01"), format!("{:04}-01-01", year + 1));
    Ok((db::adoptions::between(db, &from, &to).await?, db::ledger::between(db, &from, &to).await?))
}

/// Every department's scores for `period`, departments in roster order before ranking.
pub async fn scores(db: &Db, rubric: &Rubric, departments: &[String], period: &Period) -> anyhow::Result<Scores> {
    let (adoptions, entries) = facts(db, period.year).await?;
    Ok(compute::compute(rubric, departments, &adoptions, &entries, period))
}

/// Every department's points in a quarter, a half or the year (`period::compute`),
/// departments in roster order before ranking.
pub async fn span_scores(db: &Db, rubric: &Rubric, departments: &[String], span: Span) -> anyhow::Result<Scores> {
    let (adoptions, entries) = facts(db, span.year()).await?;
    Ok(super::period::compute(rubric, departments, &adoptions, &entries, span))
}

/// A year's adoptions and entries as `compute` takes them.
pub async fn facts(db: &Db, year: i32) -> anyhow::Result<(Vec<AdoptionFact>, Vec<EntryFact>)> {
    let (adoptions, entries) = year_facts(db, year).await?;
    let adoptions: Vec<AdoptionFact> = adoptions
        .iter()
        .filter_map(|a| {
            Some(AdoptionFact {
                id: a.id,
                item: a.item_ref,
                work: a.work_ref,
                department: a.department.clone(),
                category: a.category.clone(),
                level: Level::parse(&a.level)?,
                date: a.adopted_on.clone(),
                name: a.work_name.clone(),
            })
        })
        .collect();
    let entries: Vec<EntryFact> = entries
        .iter()
        .map(|e| EntryFact {
            id: e.id,
            department: e.department.clone(),
            item: e.item.clone(),
            points: e.points_centi,
            doubled: e.doubled,
            date: e.entry_on.clone(),
            work: e.work.clone(),
            note: e.note.clone(),
        })
        .collect();
    Ok((adoptions, entries))
}

/// The adoptions dated in `cycle`'s month, per department, with what they scored
/// (when the rubric is of that year), for the daily digest.
pub async fn month_adoptions(db: &Db, rubric: &Rubric, departments: &[String], cycle: crate::cycle::Cycle) -> anyhow::Result<super::summary::MonthAdoptions> {
    let next = cycle.next();
    let (from, to) = (format!("{cycle}-01"), format!("{next}-01"));
    let list = db::adoptions::between(db, &from, &to).await?;
    let scores = if rubric.year == cycle.year && !list.is_empty() {
        Some(scores(db, rubric, departments, &Period { year: cycle.year, month: Some(cycle.month) }).await?)
    } else {
        None
    };
    Ok(super::summary::month(&format!("{}年{}月", cycle.year, cycle.month), &list, scores.as_ref()))
}
