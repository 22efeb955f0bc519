//! The review queue (待审核) and every correction form: approve or reject held mail,
//! move a package to another month, recategorize items, grant an extension. Each
//! calls the same `corrections` function as the CLI, audited as `web:<account>`.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};

use super::auth::{Fields, Session};
use super::{Failure, Page, Shared, now, session_view};
use crate::corrections;
use crate::cycle::Cycle;
use crate::db;
use crate::report;

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>) -> Page {
    let held = db::messages::held(&app.db, i64::MAX).await?;
    let held: Vec<_> = held
        .into_iter()
        .map(|m| {
            minijinja::context! {
                id => m.id, from => m.from_addr, subject => m.subject, received => report::shown_time(m.received_at, &app.config),
                guess => app.config.roster.by_name(&m.guessed_department).map(|d| d.name.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let departments: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let cycle = Cycle::at(now(), app.config.timezone).to_string();
    Ok(app.pages.render("review.html", minijinja::context! { session => session_view(&s), held => held, departments => departments, cycle => cycle })?.into_response())
}

/// Where to go after a form: the page it names, if it is one of ours.
fn back(f: &Fields, default: &str) -> Redirect {
    match f.get("back") {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => Redirect::to(b),
        _ => Redirect::to(default),
    }
}

fn id(f: &Fields, key: &str, what: &str) -> Result<i64, Failure> {
    f.get(key).and_then(|v| v.trim().parse().ok()).filter(|n: &i64| *n > 0).ok_or_else(|| Failure::bad(format!("请填写{what}编号")))
}

fn department(app: &Shared, f: &Fields) -> Result<String, Failure> {
    let name = f.get("department").unwrap_or("").trim();
    app.config.roster.by_name(name).map(|d| d.name.clone()).ok_or_else(|| Failure::bad(format!("名单中没有单位 \"{name}\"")))
}

fn cycle(f: &Fields) -> Result<Cycle, Failure> {
    let c = f.get("cycle").unwrap_or("").trim();
    Cycle::parse(c).ok_or_else(|| Failure::bad(format!("月份 \"{c}\" 格式不对，应写成 2024-03")))
}

/// A refusal by the rules of the correction (not a server fault): said as it is.
fn refused(e: anyhow::Error) -> Failure {
    Failure::bad(format!("{e:#}"))
}

pub async fn approve(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let id = id(&f, "id", "邮件")?;
    let dep = department(&app, &f)?;
    let remember = f.get("remember").is_some_and(|v| v == "1" || v == "on");
    corrections::approve(&app.config, &app.db, &app.store, &s.who(), id, &dep, remember, now()).await.map_err(refused)?;
    Ok(back(&f, "/review").into_response())
}

pub async fn reject(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let id = id(&f, "id", "邮件")?;
    corrections::reject(&app.db, &s.who(), id, now()).await.map_err(refused)?;
    Ok(back(&f, "/review").into_response())
}

pub async fn reassign(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let id = id(&f, "id", "邮件")?;
    let to = cycle(&f)?;
    corrections::reassign(&app.config, &app.db, &app.store, &s.who(), id, to, now()).await.map_err(refused)?;
    Ok(back(&f, &format!("/?cycle={to}")).into_response())
}

pub async fn extend(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let dep = department(&app, &f)?;
    let c = cycle(&f)?;
    let until = f.get("until").unwrap_or("").trim();
    let date = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").map_err(|_| Failure::bad(format!("日期 \"{until}\" 格式不对，应写成 2024-03-28")))?;
    corrections::extend(&app.db, &s.who(), &dep, c, date, now()).await.map_err(refused)?;
    Ok(back(&f, &format!("/?cycle={c}")).into_response())
}

/// One item or several (`item` repeated) to one category.
pub async fn recategorize(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let category: u8 = f.get("category").and_then(|c| c.trim().parse().ok()).filter(|c| *c <= 10).ok_or_else(|| Failure::bad("请选择类别（1–10，或未分类）"))?;
    let items: Vec<i64> = f.all("item").iter().filter_map(|v| v.trim().parse().ok()).collect();
    if items.is_empty() {
        return Err(Failure::bad("请先勾选要改类别的文件"));
    }
    for item in items {
        corrections::recategorize(&app.config, &app.db, &app.store, &s.who(), item, category, now()).await.map_err(refused)?;
    }
    Ok(back(&f, "/").into_response())
}
