//! The office console: `baosong serve`, and `baosong run` alongside intake. Pages are
//! rendered on the server (minijinja, templates in the binary); every change goes
//! through the same library calls as the CLI (`corrections`, `accounts`), audited as
//! `web:<account>`.
//!
//! Routes by page: auth (login, sessions, CSRF, roles — the one guard every request
//! passes), board, gallery (a department's month, one item), files (thumbnails and
//! originals, by item id only), review (the forms), audit (审计, in words), status (outbox and mailbox,
//! /healthz, /metrics), search, download (streamed ZIP), export (导出 Excel: the same
//! files as `export board|items|scores`), users (the 账号 page, admin
//! only), links (a 超大附件 link on its item page, and 补交文件: its file uploaded,
//! streamed to disk). Beside them: accounts (add, role, disable, password: what `baosong user`
//! calls too), tls (https served by the console itself) and compress (pages gzipped for a
//! browser that accepts it; downloads and media as they are).

pub mod accounts;
pub mod auth;
mod audit;
mod authors;
mod board;
mod compress;
mod download;
mod export;
mod files;
mod gallery;
mod links;
mod people;
mod review;
mod scores;
mod search;
mod server;
mod status;
mod templates;
pub mod tls;
mod users;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};


/// What every handler shares.
pub struct App {
    pub config: crate::config::Config,
    pub db: crate::db::Db,
    pub store: crate::store::Store,
    pub pages: templates::Pages,
    /// Boards computed lately, by cycle (see `board::Cache`).
    pub boards: Mutex<board::Cache>,
    /// What each held mail holds, analysed once for the review queue (see `review::previews`).
    pub previews: Mutex<std::collections::HashMap<i64, Arc<Vec<crate::pipeline::Preview>>>>,
    /// Cookies carry `Secure`: the console is reached over https (its own, or a
    /// proxy's when `web.base_url` starts with https://).
    pub secure: bool,
}

pub type Shared = Arc<App>;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The console's routes; every request passes `auth::guard` first.
pub fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(board::page))
        .route("/board/table", get(board::table))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/gallery/{cycle}/{department}", get(gallery::page))
        .route("/items/{id}", get(gallery::item))
        .route("/thumbs/{id}", get(files::thumb))
        .route("/files/{id}", get(files::original))
        .route("/download/{cycle}", get(download::month))
        .route("/download/{cycle}/{department}", get(download::department))
        .route("/export/board.xlsx", get(export::board))
        .route("/export/items.xlsx", get(export::items))
        .route("/export/scores.xlsx", get(export::scores))
        .route("/export/tongbao.docx", get(export::tongbao))
        .route("/review", get(review::page))
        .route("/review/{id}/thumbs/{n}", get(review::thumb))
        .route("/review/approve", post(review::approve))
        .route("/review/reject", post(review::reject))
        .route("/review/reassign", post(review::reassign))
        .route("/review/extend", post(review::extend))
        .route("/items/recategorize", post(review::recategorize))
        .route("/items/{id}/adopt", post(scores::adopt))
        .route("/items/{id}/author", post(authors::assign))
        .route("/items/{id}/attach", post(links::upload))
        .route("/adoptions/{id}/remove", post(scores::unadopt))
        .route("/scores", get(scores::page))
        .route("/people", get(people::page))
        .route("/scores/add", post(scores::add))
        .route("/audit", get(audit::page))
        .route("/users", get(users::page))
        .route("/users/add", post(users::add))
        .route("/users/role", post(users::set_role))
        .route("/users/disable", post(users::disable))
        .route("/users/enable", post(users::enable))
        .route("/users/passwd", post(users::set_password))
        .route("/status", get(status::page))
        .route("/search", get(search::page))
        .route("/healthz", get(status::healthz))
        .route("/metrics", get(status::metrics))
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", include_str!("web/static/app.css")) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", include_str!("web/static/app.js")) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(|| async { Failure::not_found("没有这个页面") })
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth::guard))
        .layer(axum::middleware::from_fn(compress::layer))
        .with_state(app)
}

fn asset(mime: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(mime)), (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"))], body).into_response()
}

/// Serves the console on `web.listen` until `shutdown` turns true: https
/// when `tls_cert`/`tls_key` are set, else plain http (for a reverse proxy).
pub async fn serve(app: crate::app::App, mut shutdown: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<()> {
    use anyhow::Context;
    use axum::serve::ListenerExt;
    let crate::app::App { config, db, store, .. } = app;
    let tls = tls::server_config(&config.origin, &config.web)?;
    let listen = config.web.listen;
    let secure = tls.is_some() || config.web.base_url.starts_with("https://");
    let app = Arc::new(App { pages: templates::Pages::new()?, boards: Mutex::default(), previews: Mutex::default(), secure, config, db, store });
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("控制台无法监听 {listen}（web.listen）：端口可能已被占用"))?;
    tracing::info!(%listen, https = tls.is_some(), "控制台已启动：{}", app.config.web.base_url);
    let router = router(app);
    let stopped = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    match tls {
        None => {
            // Without TCP_NODELAY each response waits ~40 ms for the delayed ACK.
            let listener = listener.tap_io(|t| {
                let _ = t.set_nodelay(true);
            });
            server::run(listener, router, stopped).await;
        }
        Some(config) => {
            // `tls::Listener` sets TCP_NODELAY itself.
            let listener = tls::Listener::new(listener, config).context("控制台无法监听")?;
            server::run(listener, router, stopped).await;
        }
    }
    Ok(())
}

/// A page that could not be shown, said in Chinese.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure { status, message: message.into() }
    }
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, message)
    }
    pub fn bad(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        tracing::error!(error = %format!("{e:#}"), "控制台请求失败");
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, format!("服务器出错：{e:#}"))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Html(page_html("出错了", &self.message))).into_response()
    }
}

/// A page that says one thing, with the way back: errors and refusals.
pub(crate) fn page_html(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body><main><h1>{title}</h1><p class=\"error\">{}</p><p><a href=\"javascript:history.back()\">返回上一页</a> · <a href=\"/\">看板</a></p></main></body></html>",
        templates::escape(message)
    )
}

pub type Page = Result<Response, Failure>;

/// What the page header shows of the session: name, role in words, CSRF token.
pub fn session_view(s: &auth::Session) -> minijinja::Value {
    minijinja::context! { name => s.name.clone(), role => s.role.label(), csrf => s.csrf.clone(), staff => s.role >= auth::Role::Staff, admin => s.role >= auth::Role::Admin, flash => s.flash.clone() }
}
