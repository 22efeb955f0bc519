//! The review queue (待审核) and every correction form: approve or reject held mail,
//! move a package to another month, recategorize items, grant an extension. Each
//! calls the same `corrections` function as the CLI, audited as `web:<account>`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

use super::auth::{Fields, Session, done as done_to};
use super::{Failure, Page, Shared, now, session_view};
use crate::corrections;
use crate::cycle::Cycle;
use crate::db;
use crate::pipeline::{Outcome, Preview};
use crate::report;

/// What held mail `id` holds (`pipeline::preview`), analysed once: a held mail does not
/// change until it is approved or rejected, and then it leaves the queue.
async fn previews(app: &Shared, id: i64) -> Result<Arc<Vec<Preview>>, Failure> {
    if let Some(p) = app.previews.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return Ok(p.clone());
    }
    let p = Arc::new(crate::pipeline::preview(&app.config, &app.db, &app.store, id).await?);
    let mut cache = app.previews.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 256 {
        cache.clear();
    }
    cache.insert(id, p.clone());
    Ok(p)
}

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>) -> Page {
    let mut shown = Vec::new();
    let held = db::messages::held(&app.db, i64::MAX).await?;
    let auth = db::sender_auth::of_messages(&app.db, &held.iter().map(|m| m.id).collect::<Vec<_>>()).await?;
    for m in held {
        let files: Vec<_> = previews(&app, m.id)
            .await?
            .iter()
            .enumerate()
            .map(|(n, p)| {
                minijinja::context! {
                    n => n, name => super::gallery::file_name(&p.shown).to_string(), path => p.shown.clone(), thumb => !p.thumb.is_empty(),
                    video => p.is_video, size => super::gallery::size_text(p.size), refused => p.refused.clone(),
                }
            })
            .collect();
        shown.push(minijinja::context! {
            id => m.id, from => m.from_addr, subject => m.subject, received => report::shown_time(m.received_at, &app.config),
            guess => app.config.roster.by_name(&m.guessed_department).map(|d| d.name.clone()).unwrap_or_default(), files => files,
            reason => report::held_reason(&m.reason_code), auth => auth.get(&m.id).map(|e| e.summary()),
            forged => auth.get(&m.id).is_some_and(|e| e.verdict == crate::sender_auth::Verdict::Fail),
        });
    }
    let held = shown;
    let departments: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let cycle = super::board::shown_cycle(&app, None).await?.to_string();
    Ok(app.pages.render("review.html", minijinja::context! { session => session_view(&s), held => held, departments => departments, cycle => cycle })?.into_response())
}

/// The thumbnail of file `n` of held mail `id`, for the review queue.
pub async fn thumb(State(app): State<Shared>, UrlPath((id, n)): UrlPath<(String, String)>) -> Page {
    let (Ok(id), Ok(n)) = (id.parse::<i64>(), n.parse::<usize>()) else { return Err(Failure::not_found("没有这个文件")) };
    if !db::messages::get(&app.db, id).await?.is_some_and(|m| m.disposition == db::messages::Disposition::Held) {
        return Err(Failure::not_found(format!("邮件 {id} 不在待审核队列中")));
    }
    let list = previews(&app, id).await?;
    let rel = list.get(n).map(|p| p.thumb.as_str()).unwrap_or("");
    let path = super::files::fetched(&app.store, rel).await.ok_or_else(|| Failure::not_found("这个文件没有缩略图"))?;
    let (body, len) = super::files::stream(&path).await?;
    let mut r = axum::response::Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(r)
}

/// Where to go after a form: the page it names, if it is one of ours.
fn back<'a>(f: &'a Fields, default: &'a str) -> &'a str {
    match f.get("back") {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b,
        _ => default,
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
    let done = corrections::approve(&app.config, &app.db, &app.store, &s.who(), id, &dep, remember, now()).await.map_err(refused)?;
    let mut said = match &done.outcome {
        Outcome::Package { department, cycle, accepted, .. } => format!("已批准邮件 {id}，计入{department} {cycle}（{accepted} 个文件）"),
        _ => format!("已批准邮件 {id}，计入{dep}"),
    };
    if let Some(from) = &done.remembered {
        said.push_str(&format!("；已记住发件人 {from}"));
    }
    Ok(done_to(&app, back(&f, "/review"), &said))
}

pub async fn reject(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let id = id(&f, "id", "邮件")?;
    corrections::reject(&app.db, &s.who(), id, now()).await.map_err(refused)?;
    Ok(done_to(&app, back(&f, "/review"), &format!("已驳回邮件 {id}，不计入任何单位")))
}

pub async fn reassign(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let id = id(&f, "id", "邮件")?;
    let to = cycle(&f)?;
    let done = corrections::reassign(&app.config, &app.db, &app.store, &s.who(), id, to, now()).await.map_err(refused)?;
    let said = format!("已把邮件 {id}（{}）从 {} 改到 {}", done.department, done.from, done.to);
    Ok(done_to(&app, back(&f, &format!("/?cycle={to}")), &said))
}

pub async fn extend(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let dep = department(&app, &f)?;
    let c = cycle(&f)?;
    let until = f.get("until").unwrap_or("").trim();
    let date = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").map_err(|_| Failure::bad(format!("日期 \"{until}\" 格式不对，应写成 2024-03-28")))?;
    corrections::extend(&app.db, &s.who(), &dep, c, date, now()).await.map_err(refused)?;
    Ok(done_to(&app, back(&f, &format!("/?cycle={c}")), &format!("已批准延期：{dep} {c} 的材料延至 {date} 报送")))
}

/// One item or several (`item` repeated) to one category.
pub async fn recategorize(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let category: u8 = f.get("category").and_then(|c| c.trim().parse().ok()).filter(|c| *c <= 10).ok_or_else(|| Failure::bad("请选择类别（1–10，或未分类）"))?;
    let items: Vec<i64> = f.all("item").iter().filter_map(|v| v.trim().parse().ok()).collect();
    if items.is_empty() {
        return Err(Failure::bad("请先勾选要改类别的文件"));
    }
    let (mut changed, mut label, mut name) = (0, String::new(), String::new());
    let count = items.len();
    for item in items {
        let done = corrections::recategorize(&app.config, &app.db, &app.store, &s.who(), item, category, now()).await.map_err(refused)?;
        changed += usize::from(done.changed);
        (label, name) = (done.label, done.name);
    }
    let said = match (count, changed) {
        (1, 1) => format!("已改为{label}"),
        (1, _) => format!("「{}」本来就是{label}，没有改动", super::gallery::file_name(&name)),
        (n, c) if c == n => format!("已把 {n} 个文件改为{label}"),
        (n, c) => format!("已把 {c} 个文件改为{label}（另 {} 个本来就是）", n - c),
    };
    Ok(done_to(&app, back(&f, "/"), &said))
}
