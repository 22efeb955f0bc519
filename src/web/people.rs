//! 人员: the roster's people with their works and 个人积分 of a year, and the year's
//! 优秀宣传员 candidates (a list for the office to decide on, not an award).

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::IntoResponse;

use super::auth::Session;
use super::{Failure, Page, Shared, session_view};
use crate::people::{self, When};
use crate::score::people::{Period, PersonScore, candidates};

#[derive(serde::Deserialize, Default)]
pub struct Params {
    year: Option<String>,
    department: Option<String>,
}

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, Query(p): Query<Params>) -> Page {
    let year = match p.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => y.parse::<i32>().map_err(|_| Failure::bad(format!("年度 \"{y}\" 格式不对，应写成 2024")))?,
        None => app.config.rubric.year,
    };
    if year != app.config.rubric.year {
        return Err(Failure::bad(format!("考核细则是 {} 年的，不能计算 {year} 年的个人积分", app.config.rubric.year)));
    }
    let department = match p.department.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(app.config.roster.by_name(d).map(|x| x.name.clone()).ok_or_else(|| Failure::not_found(format!("名单中没有单位 \"{d}\"")))?),
        None => None,
    };
    let listed = people::list(&app.config, &app.db, department.as_deref()).await?;
    let ranked = people::scores(&app.config, &app.db, When::Period(Period { year, month: None })).await?;
    let view = |s: &PersonScore| {
        let works: Vec<_> = s
            .works
            .iter()
            .map(|w| minijinja::context! { id => w.item, name => super::gallery::file_name(&w.name).to_string(), level => w.level.label(), date => w.date.clone(), shared => w.authors, points => w.points.shown() })
            .collect();
        let all = listed.iter().find(|l| l.name == s.person.name && l.department == s.person.department && l.number == s.person.number).map(|l| l.works.len());
        minijinja::context! {
            rank => s.rank, name => s.person.name.clone(), number => s.person.number.clone(), department => s.person.department.clone(),
            points => s.points.shown(), counted => s.counted_works, adoptions => s.adoptions, works => works, all_works => all,
        }
    };
    let rows: Vec<_> = ranked.iter().filter(|r| department.as_ref().is_none_or(|d| &r.person.department == d)).map(view).collect();
    let candidates: Vec<_> = candidates(&ranked).into_iter().map(view).collect();
    let departments: Vec<String> = app.config.roster.departments().iter().filter(|d| !d.people.is_empty()).map(|d| d.name.clone()).collect();
    Ok(app
        .pages
        .render(
            "people.html",
            minijinja::context! { session => session_view(&s), year => year, department => department, departments => departments, rows => rows, candidates => candidates },
        )?
        .into_response())
}
