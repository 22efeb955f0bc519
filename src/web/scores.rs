//! Scoring on the console (issue 13): the year's scores per department with what is
//! behind them (考核计分), and the adopt / unadopt buttons of an item. Both call the
//! same `score::record` functions as the CLI, audited as `web:<account>`.

use axum::Extension;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::auth::{Fields, Session};
use super::{Failure, Page, Shared, now, session_view};
use crate::score::compute::{Period, Source};
use crate::score::record::{self, Details};
use crate::score::{Level, shown};

#[derive(Debug, Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

/// 考核计分: ranks, section points and total per department; each department's items
/// and the adoptions and entries behind them.
pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, Query(q): Query<YearQuery>) -> Page {
    let rubric = &app.config.rubric;
    let year = q.year.unwrap_or(rubric.year);
    if year != rubric.year {
        return Err(Failure::bad(format!("考核细则是 {} 年的，不能计算 {year} 年（换年度见 README 的“考核计分”一节）", rubric.year)));
    }
    let names: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let scores = record::scores(&app.db, rubric, &names, &Period { year, month: None }).await?;
    let sections: Vec<_> = rubric.sections.iter().map(|x| minijinja::context! { name => x.name.clone(), max => shown(x.max) }).collect();
    let departments: Vec<_> = scores
        .departments
        .iter()
        .map(|d| {
            let lines: Vec<_> = d
                .lines
                .iter()
                .map(|l| {
                    let tag = match &l.source {
                        Source::Adoption { id, .. } => format!("采用 {id}"),
                        Source::Entry { id } => format!("登记 {id}"),
                    };
                    minijinja::context! { date => l.date.clone(), tag => tag, item => l.item.clone(), text => l.text.clone(), value => shown(l.value), counted => shown(l.counted) }
                })
                .collect();
            minijinja::context! {
                department => d.department.clone(), rank => d.rank, total => shown(d.total),
                sections => d.sections.iter().map(|x| shown(x.points)).collect::<Vec<_>>(),
                items => d.items.iter().map(|i| minijinja::context! { section => i.section.clone(), item => i.item.clone(), raw => shown(i.raw), points => shown(i.points), max => shown(i.max) }).collect::<Vec<_>>(),
                lines => lines,
            }
        })
        .collect();
    let title = if rubric.title.is_empty() { "考核细则".to_string() } else { rubric.title.clone() };
    Ok(app
        .pages
        .render("scores.html", minijinja::context! { session => session_view(&s), year => year, title => title, max => shown(scores.max), sections => sections, departments => departments })?
        .into_response())
}

/// Records that the item was adopted (登记采用): level, date and where.
pub async fn adopt(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>, UrlPath(id): UrlPath<String>) -> Page {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这个文件"))?;
    let level = f.get("level").and_then(Level::parse).ok_or_else(|| Failure::bad("请选择采用级别：旗局、市局或公安厅"))?;
    let date = f.get("date").unwrap_or("").trim();
    let date = if date.is_empty() {
        chrono::DateTime::from_timestamp(now(), 0).map(|t| t.with_timezone(&app.config.timezone).format("%Y-%m-%d").to_string()).unwrap_or_default()
    } else {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| Failure::bad(format!("日期 \"{date}\" 格式不对，应写成 2024-04-08")))?.to_string()
    };
    let text = |k: &str| f.get(k).unwrap_or("").trim().to_string();
    let d = Details { date, channel: text("channel"), url: text("url"), note: text("note") };
    match record::adopt(&app.db, &[id], level, &d, &s.who(), now()).await? {
        Ok(_) => Ok(Redirect::to(&format!("/items/{id}")).into_response()),
        Err(refusals) => Err(Failure::bad(refusals.iter().map(|r| r.reason()).collect::<Vec<_>>().join("；"))),
    }
}

/// Removes an adoption (撤销采用) and goes back to the item it was recorded on.
pub async fn unadopt(State(app): State<Shared>, Extension(s): Extension<Session>, UrlPath(id): UrlPath<String>) -> Page {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这条采用记录"))?;
    let removed = record::unadopt(&app.db, id, &s.who(), now()).await?.ok_or_else(|| Failure::not_found(format!("没有编号为 {id} 的采用记录")))?;
    Ok(Redirect::to(&format!("/items/{}", removed.item_ref)).into_response())
}
