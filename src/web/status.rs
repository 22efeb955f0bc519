//! What the office checks when something seems wrong: the outbox and
//! the mailbox (邮箱状态), and for machines /healthz and /metrics.

use std::fmt::Write;

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::auth::Session;
use super::{Page, Shared, now, session_view};
use crate::cycle::Cycle;
use crate::db;
use crate::report;

/// 发件箱与邮箱状态: the mailbox's last check and errors, the intake backlog, held and
/// failed mail going out, messages that failed processing.
pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>) -> Page {
    let config = &app.config;
    let board = report::board(&app.db, config, Cycle::at(now(), config.timezone), now()).await?;
    let backlog = db::journal::backlog(&app.db).await?;
    let outbox: Vec<_> = db::outbox::list(&app.db, 100)
        .await?
        .into_iter()
        .map(|o| {
            minijinja::context! {
                id => o.id, state => o.state.label(), failed => o.state == db::outbox::State::Failed, to => o.recipients, subject => o.subject,
                created => report::shown_time(o.created_at, config), sent => if o.sent_at > 0 { report::shown_time(o.sent_at, config) } else { String::new() },
                error => o.last_error, attempts => o.attempts,
            }
        })
        .collect();
    let mailbox: Vec<_> = board
        .mailbox
        .iter()
        .map(|m| {
            minijinja::context! {
                account => m.account.clone(), last_ok => m.last_ok_at.as_deref().map(report::shown).unwrap_or_else(|| "从未成功".into()),
                error => m.last_error.clone(), error_at => m.last_error_at.as_deref().map(report::shown).unwrap_or_default(), stale => m.stale,
            }
        })
        .collect();
    let holds: Vec<_> = board.outbox_hold.iter().map(|h| minijinja::context! { account => h.account.clone(), reason => h.reason.clone(), since => report::shown(&h.since), waiting => h.waiting }).collect();
    let failed: Vec<_> = board.failed_messages.iter().map(|m| minijinja::context! { id => m.id.clone(), from => m.from.clone(), subject => m.subject.clone(), error => m.error.clone() }).collect();
    Ok(app
        .pages
        .render(
            "status.html",
            minijinja::context! {
                session => session_view(&s), imap => config.imap.is_some(), mailbox => mailbox, backlog => backlog,
                outbox => outbox, holds => holds, failed => failed,
            },
        )?
        .into_response())
}

pub async fn healthz(State(app): State<Shared>) -> impl IntoResponse {
    match db::metrics::ping(&app.db).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("数据库无法访问：{e:#}\n")).into_response(),
    }
}

/// Prometheus text format.
pub async fn metrics(State(app): State<Shared>) -> Page {
    let db = &app.db;
    let mut out = String::new();
    let mut family = |name: &str, help: &str, label: &str, rows: &[(String, i64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (k, n) in rows {
            let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", k.replace('\\', "\\\\").replace('"', "\\\""));
        }
    };
    family("baosong_messages", "Messages by disposition.", "disposition", &db::metrics::messages_by_disposition(db).await?);
    family("baosong_items", "Items by status.", "status", &db::metrics::items_by_status(db).await?);
    family("baosong_outbox", "Outbox mail by state.", "state", &db::metrics::outbox_by_state(db).await?);
    let backlog = db::journal::backlog(db).await?;
    let _ = writeln!(out, "# HELP baosong_intake_backlog Raw mail queued for analysis.\n# TYPE baosong_intake_backlog gauge\nbaosong_intake_backlog {backlog}");
    if let Some(at) = db::metrics::last_mailbox_check(db).await? {
        let _ = writeln!(
            out,
            "# HELP baosong_mailbox_check_age_seconds Seconds since the last successful mailbox check.\n# TYPE baosong_mailbox_check_age_seconds gauge\nbaosong_mailbox_check_age_seconds {}",
            (now() - at).max(0)
        );
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response())
}
