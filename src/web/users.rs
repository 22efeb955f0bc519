//! 账号 (admin only): the console's accounts, with forms to add one, change its role,
//! disable and re-enable it, and reset its password. Each is the same `accounts` call
//! as `baosong user …`, audited as `web:<admin>`; refusals are said in Chinese.

use axum::Extension;
use axum::extract::State;
use axum::response::IntoResponse;

use super::accounts::{self, Outcome};
use super::auth::{Fields, Role, Session};
use super::{Failure, Page, Shared, now, session_view};
use crate::db;

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>) -> Page {
    let users: Vec<_> = db::users::list(&app.db)
        .await?
        .into_iter()
        .map(|u| {
            minijinja::context! {
                name => u.name, code => u.role, disabled => u.disabled(),
                role => Role::parse(&u.role).map_or(u.role.clone(), |r| r.label().to_string()),
            }
        })
        .collect();
    Ok(app.pages.render("users.html", minijinja::context! { session => session_view(&s), users => users })?.into_response())
}

fn role(f: &Fields) -> Result<Role, Failure> {
    Role::parse(f.get("role").unwrap_or("")).ok_or_else(|| Failure::bad("请选择权限：只读、工作人员或管理员"))
}

fn name(f: &Fields) -> &str {
    f.get("name").unwrap_or("")
}

/// Back to the list when done, saying what changed; a refusal as a page that says why.
fn done<T>(app: &Shared, outcome: Outcome<T>, said: String) -> Page {
    match outcome? {
        Ok(_) => Ok(super::auth::done(app, "/users", &said)),
        Err(refusal) => Err(Failure::bad(refusal.to_string())),
    }
}

pub async fn add(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let role = role(&f)?;
    let said = format!("已新建账号 {}（{}）", name(&f).trim(), role.label());
    done(&app, accounts::add(&app.db, name(&f), role, f.get("password").unwrap_or(""), &s.who(), now()).await, said)
}

pub async fn set_role(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let role = role(&f)?;
    let said = format!("账号 {} 的权限已改为“{}”", name(&f).trim(), role.label());
    done(&app, accounts::set_role(&app.db, name(&f), role, &s.who(), now()).await, said)
}

pub async fn disable(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    done(&app, accounts::disable(&app.db, name(&f), &s.who(), now()).await, format!("账号 {} 已停用", name(&f).trim()))
}

pub async fn enable(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    done(&app, accounts::enable(&app.db, name(&f), &s.who(), now()).await, format!("账号 {} 已重新启用", name(&f).trim()))
}

pub async fn set_password(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    done(&app, accounts::set_password(&app.db, name(&f), f.get("password").unwrap_or(""), &s.who(), now()).await, format!("账号 {} 的密码已重置", name(&f).trim()))
}
