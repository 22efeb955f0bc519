//! Search (搜索): items by part of the name, department, month, status, category and
//! flag. The main box understands a month (2024-03, 2024年3月), a department's name and
//! a status (拒收, 重复 …) typed among the words; the rest is part of the file name.
//! 导出 Excel gives the same files as `export items`, with these filters.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::auth::Session;
use super::gallery::{card, category_choices};
use super::{Failure, Page, Shared, session_view};
use crate::cycle::Cycle;
use crate::db;
use crate::db::items::Status;
use crate::rejection::Flag;

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct Params {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    cycle: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    flag: String,
}

impl Params {
    /// Whether anything was asked (an empty form shows no results).
    pub fn asked(&self) -> bool {
        [&self.q, &self.department, &self.cycle, &self.status, &self.category, &self.flag].iter().any(|v| !v.trim().is_empty())
    }
}

/// At most this many results are shown.
const SHOWN: usize = 500;

/// A month as typed: 2024-03, 2024-3, 2024年3月.
fn month(s: &str) -> Option<Cycle> {
    Cycle::parse(&s.trim().replace('年', "-").replace('月', "").replace('/', "-"))
}

/// The filter the page's fields (and words of the main box) ask for.
pub fn filter(app: &Shared, p: &Params) -> Result<db::items::Filter, Failure> {
    let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let mut department = match some(&p.department) {
        Some(d) => Some(app.config.roster.by_name(&d).map(|x| x.name.clone()).ok_or_else(|| Failure::bad(format!("名单中没有单位 \"{d}\"")))?),
        None => None,
    };
    let mut cycle = match some(&p.cycle) {
        Some(c) => Some(month(&c).ok_or_else(|| Failure::bad(format!("月份 \"{c}\" 格式不对，应写成 2024-03")))?.to_string()),
        None => None,
    };
    let mut status = some(&p.status).and_then(|s| Status::from_code(&s));
    // Words of the main box that name a month, a department or a status are taken as
    // such (unless that field is set already); the others are part of the file name.
    let mut words = Vec::new();
    for w in p.q.split_whitespace() {
        if cycle.is_none() && w.chars().next().is_some_and(|c| c.is_ascii_digit()) && let Some(c) = month(w) {
            cycle = Some(c.to_string());
        } else if department.is_none() && let Some(d) = app.config.roster.by_name(w) {
            department = Some(d.name.clone());
        } else if status.is_none() && let Some(s) = Status::ALL.into_iter().find(|s| s.label() == w) {
            status = Some(s);
        } else {
            words.push(w);
        }
    }
    let category = some(&p.category).map(|c| if c == "0" { "uncategorized".to_string() } else { c });
    let flag = some(&p.flag).filter(|f| Flag::from_code(f).is_some());
    Ok(db::items::Filter { name: Some(words.join(" ")).filter(|n| !n.is_empty()), department, cycle, category, flag, status, ..Default::default() })
}

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, Query(p): Query<Params>) -> Page {
    let asked = p.asked();
    let mut results = Vec::new();
    let mut total = 0;
    let mut export = String::new();
    if asked {
        let list = db::items::list(&app.db, &filter(&app, &p)?).await?;
        total = list.len();
        results = list.iter().rev().take(SHOWN).map(|li| card(&app, li)).collect();
        export = query_of(&p);
    }
    let departments: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let flags: Vec<_> = Flag::ALL.iter().map(|f| minijinja::context! { code => f.code(), label => f.label() }).collect();
    let statuses: Vec<_> = Status::ALL.iter().map(|s| minijinja::context! { code => s.code(), label => s.label() }).collect();
    Ok(app
        .pages
        .render(
            "search.html",
            minijinja::context! {
                session => session_view(&s), p => p, asked => asked, results => results, total => total, shown => SHOWN,
                departments => departments, flags => flags, statuses => statuses, choices => category_choices(&app), export => export,
            },
        )?
        .into_response())
}

/// The page's query again (for the 导出 Excel link).
fn query_of(p: &Params) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("q", &p.q), ("department", &p.department), ("cycle", &p.cycle), ("status", &p.status), ("category", &p.category), ("flag", &p.flag)] {
        if !v.trim().is_empty() {
            q.append_pair(k, v);
        }
    }
    q.finish()
}
