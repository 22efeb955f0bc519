//! The item page's 作者 form: staff name the authors of a work by hand, through the
//! same `corrections::author::assign` as `baosong author`, audited as `web:<account>`.

use axum::Extension;
use axum::extract::{Path as UrlPath, State};

use super::auth::{Fields, Session, done as done_to};
use super::{Failure, Page, Shared, now};
use crate::corrections::author;

/// `people`: names, `姓名@单位` or police numbers, separated by 、 or commas (a shared work).
pub async fn assign(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>, UrlPath(id): UrlPath<String>) -> Page {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这个文件"))?;
    let specs: Vec<String> = f.get("people").unwrap_or("").split(['、', ',', '，', ';', '；']).map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect();
    if specs.is_empty() {
        return Err(Failure::bad("请写出作者的姓名（几人合作用“、”隔开），同名时写“姓名@单位”或警号"));
    }
    let done = author::assign(&app.config, &app.db, &s.who(), &[id], &specs, now()).await.map_err(|e| Failure::bad(format!("{e:#}")))?;
    let who = author::people(&app.config.roster, &specs).map(|a| a.iter().map(|x| x.name.clone()).collect::<Vec<_>>().join("、")).unwrap_or_default();
    let said = match done.first() {
        Some(d) if !d.changed => format!("作者本来就是{who}，没有改动"),
        _ => format!("已将作者定为{who}"),
    };
    Ok(done_to(&app, &format!("/items/{id}"), &said))
}
