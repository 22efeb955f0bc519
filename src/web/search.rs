//! Search (搜索): items by part of the name, department, month, category and flag.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::auth::Session;
use super::gallery::{card, category_choices};
use super::{Failure, Page, Shared, session_view};
use crate::cycle::Cycle;
use crate::db;
use crate::rejection::Flag;

#[derive(Deserialize, Serialize, Default)]
pub struct Params {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    cycle: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    flag: String,
}

/// At most this many results are shown.
const SHOWN: usize = 500;

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, Query(p): Query<Params>) -> Page {
    let some = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let asked = [&p.q, &p.department, &p.cycle, &p.category, &p.flag].iter().any(|v| !v.trim().is_empty());
    let mut results = Vec::new();
    let mut total = 0;
    if asked {
        let department = match some(&p.department) {
            Some(d) => Some(app.config.roster.by_name(&d).map(|x| x.name.clone()).ok_or_else(|| Failure::bad(format!("名单中没有单位 \"{d}\"")))?),
            None => None,
        };
        let cycle = match some(&p.cycle) {
            Some(c) => Some(Cycle::parse(&c).ok_or_else(|| Failure::bad(format!("月份 \"{c}\" 格式不对，应写成 2024-03")))?.to_string()),
            None => None,
        };
        let category = some(&p.category).map(|c| if c == "0" { "uncategorized".to_string() } else { c });
        let flag = some(&p.flag).filter(|f| Flag::from_code(f).is_some());
        let filter = db::items::Filter { name: some(&p.q), department, cycle, category, flag, ..Default::default() };
        let list = db::items::list(&app.db, &filter).await?;
        total = list.len();
        results = list.iter().rev().take(SHOWN).map(|li| card(&app, li)).collect();
    }
    let departments: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let flags: Vec<_> = Flag::ALL.iter().map(|f| minijinja::context! { code => f.code(), label => f.label() }).collect();
    Ok(app
        .pages
        .render(
            "search.html",
            minijinja::context! {
                session => session_view(&s), p => p, asked => asked, results => results, total => total, shown => SHOWN,
                departments => departments, flags => flags, choices => category_choices(&app),
            },
        )?
        .into_response())
}
