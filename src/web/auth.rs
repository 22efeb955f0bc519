//! Roles, passwords, logins, sessions, CSRF tokens, the login rate limit, and the one guard that
//! decides who may do what: a viewer reads, staff review and correct, an admin also
//! manages accounts.

use std::net::SocketAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Failure, Page, Shared, now};
use crate::db;

const COOKIE: &str = "baosong_session";
/// What a change did (已改为④暖警爱警), said once on the page its form goes back to.
const FLASH_COOKIE: &str = "baosong_flash";
const LOGIN_COOKIE: &str = "baosong_login";
/// A session lasts a working day and a half.
const SESSION_SECONDS: i64 = 12 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Staff,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "viewer" | "只读" => Some(Role::Viewer),
            "staff" | "工作人员" => Some(Role::Staff),
            "admin" | "管理员" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "只读",
            Role::Staff => "工作人员",
            Role::Admin => "管理员",
        }
    }
}

/// The least role a request needs: reading needs an account, every change is staff's,
/// accounts are the admin's. The only place roles are checked.
pub fn required(method: &Method, path: &str) -> Role {
    if path == "/users" || path.starts_with("/users/") {
        Role::Admin
    } else if method == Method::GET || method == Method::HEAD || path == "/logout" {
        Role::Viewer
    } else {
        Role::Staff
    }
}

/// Paths anyone may open, logged in or not.
fn public(path: &str) -> bool {
    path == "/login" || path == "/favicon.ico" || path == "/healthz" || path == "/metrics" || path.starts_with("/static/")
}

/// The logged-in person of a request (in its extensions, put there by `guard`).
#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub role: Role,
    pub csrf: String,
    /// The confirmation of the change just made, shown once on this page.
    pub flash: String,
    token_sha256: String,
}

impl Session {
    /// Who a change is audited as.
    pub fn who(&self) -> String {
        format!("web:{}", self.name)
    }
}

/// The fields of a POSTed form, in order (a key may repeat: `item=1&item=2`).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }
}

/// An argon2id PHC string of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Ok(Argon2::default().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("无法计算密码哈希：{e}"))?.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// At most this many failures per IP and per name within `WINDOW` seconds.
pub const MAX_FAILURES: usize = 5;
pub const WINDOW: i64 = 15 * 60;

/// Seconds until a key whose failures within the window were at `failures` (oldest
/// first) may try again, if it is blocked at `now`.
pub fn wait(failures: &[i64], now: i64) -> Option<i64> {
    let recent: Vec<i64> = failures.iter().copied().filter(|&t| t > now - WINDOW).collect();
    (recent.len() >= MAX_FAILURES).then(|| recent[0] + WINDOW - now)
}

/// How long `key` must wait, from the failures every console instance recorded.
async fn blocked(db: &crate::db::Db, key: &str, now: i64) -> anyhow::Result<Option<i64>> {
    Ok(wait(&db::login_failures::since(db, key, now - WINDOW).await?, now))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// 32 random bytes from the kernel, as hex.
fn random_token() -> String {
    let mut buf = [0u8; 32];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: writes at most the remaining length into our own buffer.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n > 0 {
            filled += n as usize;
        }
    }
    hex::encode(buf)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}

/// Equal without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A form post is small: a search, a few fields, at most some thousand item ids. An
/// upload (补交文件) is not a form: it is streamed to disk by its own handler.
const MAX_FORM: usize = 256 << 10;

/// What a login with an unknown name is checked against.
static UNKNOWN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| hash_password(&random_token()).unwrap_or_default());

/// Every request passes here: public pages go through; others need a session (else to
/// the login page); a POST needs the session's CSRF token and the role `required` names.
pub async fn guard(State(app): State<Shared>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if public(&path) {
        return next.run(req).await;
    }
    // A POST's form is read before any answer, refusals included: answered while its
    // body is still arriving, hyper closes the connection with the body unread, and
    // the browser (or client) still sending it gets a reset instead of the page. A form
    // over the limit is drained for the same reason.
    let mut fields = None;
    // An upload (补交文件) is streamed to disk by its handler, never read here: its CSRF
    // token comes in a header instead, and a refusal first reads (and drops) the body.
    let upload = req.method() == Method::POST && is_upload(&path);
    if req.method() == Method::POST && !upload {
        let (parts, body) = req.into_parts();
        let bytes = match form(body).await {
            FormBody::Read(b) => b,
            FormBody::TooLarge => return Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "提交的内容太大（表单最多 256 KiB），无法处理。请减少一次选择的文件数后再提交。").into_response(),
            FormBody::Broken => return Failure::new(StatusCode::BAD_REQUEST, "提交的内容没有完整送达，请刷新页面后重新提交。").into_response(),
        };
        fields = Some(Fields(form_urlencoded::parse(&bytes).into_owned().collect()));
        req = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    let token_sha256 = cookie(req.headers(), COOKIE).map(|t| sha256_hex(&t)).unwrap_or_default();
    let found = match token_sha256.is_empty() {
        false => match db::users::session(&app.db, &token_sha256, now()).await {
            Ok(s) => s,
            Err(e) => return Failure::from(e).into_response(),
        },
        true => None,
    };
    let Some((user, csrf)) = found else {
        if req.method() == Method::GET {
            return Redirect::to("/login").into_response();
        }
        return refuse(req, upload, Failure::new(StatusCode::FORBIDDEN, "请先登录（登录已过期）。")).await;
    };
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    let flash = cookie(req.headers(), FLASH_COOKIE).map(|v| percent_encoding::percent_decode_str(&v).decode_utf8_lossy().into_owned()).unwrap_or_default();
    let session = Session { name: user.name, role, csrf, flash, token_sha256 };
    let need = required(req.method(), &path);
    if role < need {
        let f = Failure::new(StatusCode::FORBIDDEN, format!("您的账号是“{}”，不能进行此操作（需要“{}”权限）。", role.label(), need.label()));
        return refuse(req, upload, f).await;
    }
    if upload {
        let token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !same(token, &session.csrf) {
            return refuse(req, upload, Failure::new(StatusCode::FORBIDDEN, CSRF_FAILED)).await;
        }
    }
    if let Some(fields) = fields {
        if !fields.get("csrf").is_some_and(|t| same(t, &session.csrf)) {
            return Failure::new(StatusCode::FORBIDDEN, CSRF_FAILED).into_response();
        }
        req.extensions_mut().insert(fields);
    }
    let shown = !session.flash.is_empty() && req.method() == Method::GET;
    req.extensions_mut().insert(session);
    let mut r = next.run(req).await;
    // A page that showed the confirmation forgets it (a redirect passes it on).
    if shown && !r.status().is_redirection() {
        if let Ok(v) = set_cookie(FLASH_COOKIE, "", 0, app.secure).parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// A redirect to `to` after a change, carrying `message` (what changed, in words) for
/// the page it opens.
pub fn done(app: &Shared, to: &str, message: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    let value = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC).to_string();
    if let Ok(v) = set_cookie(FLASH_COOKIE, &value, 120, app.secure).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

const CSRF_FAILED: &str = "表单已过期或来源不明（安全校验未通过），请刷新页面后重新提交。";

/// How much of a refused upload is read (and dropped) before the answer: enough that a
/// browser still sending a small file gets the page, not a reset connection; a larger
/// one is answered once this much is read, and the connection closes.
const DRAIN_LIMIT: u64 = 64 << 20;

/// Reads and drops up to `DRAIN_LIMIT` bytes of a body nobody will use.
pub async fn drain(body: axum::body::Body) {
    drain_rest(body.into_data_stream(), 0).await;
}

async fn drain_rest(mut stream: axum::body::BodyDataStream, mut read: u64) {
    use futures::TryStreamExt;
    while read < DRAIN_LIMIT {
        match stream.try_next().await {
            Ok(Some(b)) => read += b.len() as u64,
            _ => break,
        }
    }
}

/// What came of reading a form's body.
enum FormBody {
    Read(axum::body::Bytes),
    /// Over `MAX_FORM`: the rest was drained (see `DRAIN_LIMIT`) so the page arrives.
    TooLarge,
    /// The body stopped arriving or was cut.
    Broken,
}

async fn form(body: axum::body::Body) -> FormBody {
    use futures::TryStreamExt;
    let mut stream = body.into_data_stream();
    let mut got = Vec::new();
    loop {
        match stream.try_next().await {
            Ok(Some(b)) if got.len() + b.len() > MAX_FORM => {
                drain_rest(stream, (got.len() + b.len()) as u64).await;
                return FormBody::TooLarge;
            }
            Ok(Some(b)) => got.extend_from_slice(&b),
            Ok(None) => return FormBody::Read(got.into()),
            Err(_) => return FormBody::Broken,
        }
    }
}

/// A refusal; an upload's body is drained first (see `DRAIN_LIMIT`), and nothing of it
/// is kept.
async fn refuse(req: Request, upload: bool, f: Failure) -> Response {
    if upload {
        drain(req.into_body()).await;
    }
    f.into_response()
}

pub async fn login_page(State(app): State<Shared>, headers: HeaderMap) -> Page {
    login_form(&app, &headers, StatusCode::OK, "", "")
}

/// The login form, with the browser's login token if it has one: a second tab or a
/// request the browser makes on its own (the favicon) must not void the first form.
fn login_form(app: &Shared, headers: &HeaderMap, status: StatusCode, name: &str, error: &str) -> Page {
    let token = cookie(headers, LOGIN_COOKIE).filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).unwrap_or_else(random_token);
    let html = app.pages.render("login.html", minijinja::context! { csrf => token, name => name, error => error, session => () })?;
    let mut r = (status, html).into_response();
    if let Ok(v) = set_cookie(LOGIN_COOKIE, &token, 3600, app.secure).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The browser's address: the peer's, or behind a reverse proxy on this machine the
/// one it passes in `X-Real-IP` (only a local process can set it, so it can't be forged
/// from the network).
fn client_ip(peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    let forwarded = headers.get("x-real-ip").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    match forwarded {
        Some(ip) if peer.ip().is_loopback() => ip,
        _ => peer.ip(),
    }
}

/// Checks the password, under the rate limit per IP and per name.
pub async fn login(State(app): State<Shared>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Page {
    // Before a session there is no session token: the form's token must match the
    // cookie set with the form (a page on another site can read neither).
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same(&c, &f.csrf)) {
        return login_form(&app, &headers, StatusCode::FORBIDDEN, &f.name, "登录页面已过期，请重新输入用户名和密码。");
    }
    let name = f.name.trim().to_string();
    let (ip_key, user_key) = (format!("ip:{}", client_ip(peer, &headers)), format!("user:{name}"));
    let t = now();
    let wait = blocked(&app.db, &ip_key, t).await?.max(blocked(&app.db, &user_key, t).await?);
    if let Some(wait) = wait {
        let minutes = (wait + 59) / 60;
        tracing::warn!(user = %name, address = %client_ip(peer, &headers), "控制台登录被暂时阻止：失败次数过多");
        return login_form(&app, &headers, StatusCode::TOO_MANY_REQUESTS, &name, &format!("登录失败次数过多，请 {minutes} 分钟后再试。"));
    }
    let user = db::users::by_name(&app.db, &name).await?;
    let password = f.password;
    // An unknown name costs the same hash as a known one: the time taken does not tell
    // which names exist.
    let phc = user.as_ref().map_or_else(|| UNKNOWN.clone(), |u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false);
    let known = user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        db::login_failures::add(&app.db, &[&ip_key, &user_key], t, t - WINDOW).await?;
        // Who tried and from where, never what was typed as the password.
        tracing::warn!(user = %name, address = %client_ip(peer, &headers), known, "控制台登录失败：用户名或密码不正确");
        return login_form(&app, &headers, StatusCode::UNAUTHORIZED, &name, "用户名或密码不正确。");
    };
    // Said only to whoever knows the password: a guess learns nothing about the account.
    if user.disabled() {
        tracing::warn!(user = %name, address = %client_ip(peer, &headers), "控制台登录失败：账号已停用");
        return login_form(&app, &headers, StatusCode::FORBIDDEN, &name, "这个账号已被管理员停用，不能登录。如需继续使用，请联系管理员重新启用。");
    }
    db::login_failures::clear(&app.db, &user_key).await?;
    let token = random_token();
    db::users::create_session(&app.db, &sha256_hex(&token), user.id, &random_token(), t, t + SESSION_SECONDS).await?;
    tracing::info!(user = %user.name, "控制台登录");
    let mut r = Redirect::to("/").into_response();
    for c in [set_cookie(COOKIE, &token, SESSION_SECONDS, app.secure), set_cookie(LOGIN_COOKIE, "", 0, app.secure)] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

pub async fn logout(State(app): State<Shared>, axum::Extension(s): axum::Extension<Session>) -> Page {
    db::users::end_session(&app.db, &s.token_sha256).await?;
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(COOKIE, "", 0, app.secure).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// The path of an item's upload (补交文件, `/items/<id>/attach`), which the guard leaves
/// to its handler to stream.
fn is_upload(path: &str) -> bool {
    path.strip_prefix("/items/").and_then(|r| r.strip_suffix("/attach")).is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_paths() {
        assert!(is_upload("/items/12/attach"));
        for p in ["/items//attach", "/items/x/attach", "/items/12/adopt", "/items/12/attach/", "/items/recategorize", "/attach"] {
            assert!(!is_upload(p), "{p}");
        }
    }

    #[test]
    fn five_failures_block_for_the_rest_of_the_window() {
        let mut failures = vec![];
        for t in 0..5 {
            assert_eq!(wait(&failures, 100 + t), None);
            failures.push(100 + t);
        }
        assert_eq!(wait(&failures, 110), Some(100 + WINDOW - 110));
        assert_eq!(wait(&failures[..4], 110), None, "four are not enough");
        assert_eq!(wait(&failures, 100 + WINDOW + 5), None, "the window has passed");
    }

    #[test]
    fn roles_in_one_table() {
        assert_eq!(required(&Method::GET, "/review"), Role::Viewer);
        assert_eq!(required(&Method::POST, "/review/approve"), Role::Staff);
        assert_eq!(required(&Method::POST, "/logout"), Role::Viewer);
        assert_eq!(required(&Method::POST, "/users/add"), Role::Admin);
        assert_eq!(required(&Method::GET, "/users"), Role::Admin, "the list of accounts too");
        for path in ["/users/role", "/users/disable", "/users/enable", "/users/passwd"] {
            assert_eq!(required(&Method::POST, path), Role::Admin, "{path}");
        }
        assert_eq!(required(&Method::POST, "/items/3/attach"), Role::Staff, "补交文件 is staff's");
    }

    #[test]
    fn password_round_trip() {
        let h = hash_password("正确的密码123").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("正确的密码123", &h));
        assert!(!verify_password("错误的密码123", &h));
    }
}
