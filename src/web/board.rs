//! The board (看板): one month, every department's state and counts, from
//! `report::board`; the table refreshes itself every 30 seconds.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::auth::Session;
use super::{Failure, Page, Shared, now};
use crate::categories::CIRCLED;
use crate::cycle::{self, Cycle};
use crate::db;
use crate::report::{self, DepartmentRow};
use crate::rejection::Flag;

#[derive(Deserialize, Default)]
pub struct Params {
    cycle: Option<String>,
}

/// The month the board shows: the one asked for, else the latest month with mail
/// (not a future one), else the current month. On the 1st the current month is empty
/// while the office still works on the last.
pub async fn shown_cycle(app: &Shared, asked: Option<&str>) -> Result<Cycle, Failure> {
    if asked.is_some_and(|c| !c.trim().is_empty()) {
        return cycle_of(app, asked);
    }
    let here = Cycle::at(now(), app.config.timezone);
    let latest = db::messages::cycles(&app.db).await?.iter().filter_map(|c| Cycle::parse(c)).filter(|c| *c <= here).max();
    Ok(latest.unwrap_or(here))
}

/// The month asked for (YYYY-MM), or the current one.
pub fn cycle_of(app: &Shared, asked: Option<&str>) -> Result<Cycle, Failure> {
    match asked.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Cycle::parse(c).ok_or_else(|| Failure::bad(format!("月份 \"{c}\" 格式不对，应写成 2024-03"))),
        None => Ok(Cycle::at(now(), app.config.timezone)),
    }
}

#[derive(Serialize)]
struct Row {
    department: String,
    state: String,
    state_text: String,
    /// Sorting key of the state: 未报 first, then the latest.
    order: i64,
    packages: i64,
    photos: i64,
    videos: i64,
    /// "已取 1 · 待取 0 · 待办 1" ('' without links), and their number for sorting.
    links: String,
    link_count: i64,
    categories: Vec<i64>,
    uncategorized: i64,
    rejected: i64,
    flag_count: i64,
    flag_text: String,
    first: String,
    last: String,
}

#[derive(Serialize)]
struct Column {
    glyph: char,
    /// "④暖警爱警", the category's full label (the legend above the table).
    label: String,
}

/// The totals line, as `status` prints it: 共 20 个单位：按时 4，逾期 1，未报 15; and the
/// month's photos and videos.
fn totals(rows: &[DepartmentRow]) -> String {
    let count = |f: fn(&cycle::State) -> bool| rows.iter().filter(|r| f(&r.state)).count();
    let parts = [
        ("按时", count(|s| matches!(s, cycle::State::OnTime))),
        ("逾期", count(|s| matches!(s, cycle::State::Late { .. }))),
        ("未报", count(|s| matches!(s, cycle::State::Missing))),
        ("待报", count(|s| matches!(s, cycle::State::Pending))),
    ];
    let states: Vec<String> = parts.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
    let (photos, videos): (i64, i64) = (rows.iter().map(|r| r.photos).sum(), rows.iter().map(|r| r.videos).sum());
    format!("共 {} 个单位：{}；照片 {photos} 张，视频 {videos} 个", rows.len(), states.join("，"))
}

/// A department's state in words: 按时 / 逾期 3 天 5 小时 / 未报 / 待报, and 延期至 ….
fn state_text(r: &DepartmentRow) -> String {
    let mut s = r.state.label().to_string();
    if let cycle::State::Late { .. } = r.state {
        let (d, h) = (r.late_by_seconds / 86_400, r.late_by_seconds % 86_400 / 3600);
        s = if d > 0 { format!("逾期 {d} 天 {h} 小时") } else { format!("逾期 {} 小时", h.max(1)) };
    }
    if let Some(u) = &r.extended_until {
        s.push_str(&format!("（延期至 {u}）"));
    }
    let pending = report::only_links(r);
    if pending > 0 {
        s.push_str(&format!("（只有超大附件链接 {pending} 个，文件未到）"));
    }
    s
}

fn row(r: &DepartmentRow, last: Option<&String>) -> Row {
    let order = match r.state {
        cycle::State::Missing => 0,
        cycle::State::Late { .. } => 1 + r.late_by_seconds,
        cycle::State::Pending => -1,
        cycle::State::OnTime => -2,
    };
    let flag_text = r.flags.iter().filter(|(_, n)| **n > 0).map(|(c, n)| format!("{}×{n}", Flag::from_code(c).map_or(c.as_str(), |f| f.label()))).collect::<Vec<_>>().join("、");
    Row {
        department: r.department.clone(),
        state: r.state.code().to_string(),
        state_text: state_text(r),
        order,
        packages: r.packages,
        photos: r.photos,
        videos: r.videos,
        links: report::links_line(&r.links),
        link_count: r.links.fetched + r.links.waiting + r.links.needs_office,
        categories: (1..=10).map(|n| r.by_category.get(&n.to_string()).copied().unwrap_or(0)).collect(),
        uncategorized: r.by_category.get("uncategorized").copied().unwrap_or(0),
        rejected: r.rejected,
        flag_count: r.flags.values().sum(),
        flag_text,
        first: r.first_received_at.as_deref().map(report::shown).unwrap_or_default(),
        last: last.cloned().unwrap_or_default(),
    }
}

/// How long a computed board is reused when nothing changed: states move with the
/// clock (待报 → 未报, hours late), and the page refreshes every 30 s anyway.
const FRESH: i64 = 30;

/// The board of a cycle, computed again only when `db::metrics::change_mark` moved
/// or it is older than `FRESH` seconds.
#[derive(Default)]
pub struct Cache {
    boards: std::collections::HashMap<String, ([i64; 4], i64, minijinja::Value)>,
}

async fn context(app: &Shared, cycle: Cycle) -> Result<minijinja::Value, Failure> {
    let mark = db::metrics::change_mark(&app.db).await?;
    let key = cycle.to_string();
    let t = now();
    if let Some((m, at, v)) = app.boards.lock().unwrap_or_else(|e| e.into_inner()).boards.get(&key) {
        if *m == mark && t - at < FRESH {
            return Ok(v.clone());
        }
    }
    let v = compute(app, cycle).await?;
    let mut cache = app.boards.lock().unwrap_or_else(|e| e.into_inner());
    if cache.boards.len() > 64 {
        cache.boards.clear();
    }
    cache.boards.insert(key, (mark, t, v.clone()));
    Ok(v)
}

async fn compute(app: &Shared, cycle: Cycle) -> Result<minijinja::Value, Failure> {
    let b = report::board(&app.db, &app.config, cycle, now()).await?;
    // The time of each department's latest package this month.
    let mut last: std::collections::HashMap<String, (i64, String)> = std::collections::HashMap::new();
    for m in db::messages::packages(&app.db, &cycle.to_string(), now()).await? {
        let e = last.entry(m.department.clone()).or_insert((i64::MIN, String::new()));
        if m.received_at > e.0 {
            *e = (m.received_at, report::shown_time(m.received_at, &app.config));
        }
    }
    let rows: Vec<Row> = b.departments.iter().map(|r| row(r, last.get(&r.department).map(|l| &l.1))).collect();
    let categories: Vec<Column> = (1..=10u8).map(|n| Column { glyph: CIRCLED[usize::from(n) - 1], label: app.config.categories.label(Some(n)) }).collect();
    let totals = totals(&b.departments);
    let mut cycles = db::messages::cycles(&app.db).await?;
    let here = Cycle::at(now(), app.config.timezone).to_string();
    for c in [here, cycle.to_string()] {
        if !cycles.contains(&c) {
            cycles.push(c);
        }
    }
    cycles.sort();
    cycles.reverse();
    Ok(minijinja::context! {
        cycle => b.cycle, due_before => report::shown(&b.due_before), as_of => report::shown(&b.as_of),
        rows => rows, categories => categories, cycles => cycles, held => b.review_queue.len(), totals => totals,
        no_mail => b.no_mail_received,
    })
}

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, Query(p): Query<Params>) -> Page {
    let cycle = shown_cycle(&app, p.cycle.as_deref()).await?;
    let ctx = context(&app, cycle).await?;
    Ok(app.pages.render("board.html", minijinja::context! { session => super::session_view(&s), ..ctx })?.into_response())
}

/// The table alone, fetched by the page every 30 seconds.
pub async fn table(State(app): State<Shared>, Query(p): Query<Params>) -> Page {
    let cycle = shown_cycle(&app, p.cycle.as_deref()).await?;
    let ctx = context(&app, cycle).await?;
    Ok(app.pages.render("board_table.html", ctx)?.into_response())
}
