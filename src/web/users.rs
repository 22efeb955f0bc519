//! 账号 (admin only): the console's accounts, and a form to add one. Adding is the same
//! call as `baosong user add`, audited as `web:<admin>`.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};

use super::auth::{self, Fields, Role, Session};
use super::{Failure, Page, Shared, now, session_view};
use crate::db;

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>) -> Page {
    let users: Vec<_> = db::users::list(&app.ctx.db)
        .await?
        .into_iter()
        .map(|u| minijinja::context! { name => u.name, role => Role::parse(&u.role).map_or(u.role.clone(), |r| r.label().to_string()) })
        .collect();
    Ok(app.pages.render("users.html", minijinja::context! { session => session_view(&s), users => users })?.into_response())
}

pub async fn add(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let name = f.get("name").unwrap_or("").to_string();
    let role = Role::parse(f.get("role").unwrap_or("")).ok_or_else(|| Failure::bad("请选择权限：只读、工作人员或管理员"))?;
    let password = f.get("password").unwrap_or("").to_string();
    auth::add_user(&app.ctx.db, &name, role, &password, &s.who(), now()).await.map_err(|e| Failure::bad(format!("{e:#}")))?;
    Ok(Redirect::to("/users").into_response())
}
