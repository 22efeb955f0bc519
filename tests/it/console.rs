//! The office console over HTTP: `baosong serve` on a free loopback port, driven by a
//! plain HTTP client as a browser would (cookies and CSRF tokens carried by hand).

mod people;
mod sender;
mod server;

use std::io::{Read, Write};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixtures::{Mail, jpeg, mp4};
use crate::harness::App;
use crate::ingest::MAR19;

const ADMIN: (&str, &str) = ("admin", "管理员的密码2024");
const STAFF: (&str, &str) = ("张三", "zhangsan-密码-1");
const VIEWER: (&str, &str) = ("李四", "lisi-password-2");

pub struct Console {
    app: App,
    child: Child,
    port: u16,
    /// `http://127.0.0.1:port`, or https when the console serves it itself.
    base: String,
    agent: ureq::Agent,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn cookies(&self) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v.as_str()).collect()
    }
    /// `name=value` of a Set-Cookie, for the next request's Cookie header.
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().into_iter().find(|c| c.starts_with(&format!("{name}="))).map(|c| c.split(';').next().unwrap().to_string())
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.unwrap();
    let headers = r.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect();
    Reply { status: r.status().as_u16(), headers, body: r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap() }
}

/// The CSRF token in a page's forms.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap_or_else(|| panic!("no CSRF field in {html}")) + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// A held mail, a package of 嘎鲁图派出所 with two photos, one of 图克派出所.
fn with_mail(app: &App) {
    app.import_one("held.eml", &Mail::new("someone@qq.com", "乌审旗公安局无定河派出所3月份宣传素材", MAR19).attach("夜巡.jpg", &jpeg(2)).build());
    app.import_one("held2.eml", &Mail::new("stranger@163.com", "图克所3月", MAR19).attach("a.jpg", &jpeg(4)).build());
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("①党建学习.jpg", &jpeg(11)).attach("社区走访.jpg", &jpeg(12)).attach("说明.exe", b"MZ not a photo");
    app.import_one("a.eml", &mail.build());
}

/// The three accounts the tests log in with, made as the office would (`user add`).
fn accounts(app: &App) {
    for ((name, password), role) in [(ADMIN, "admin"), (STAFF, "staff"), (VIEWER, "viewer")] {
        let r = app.run_input(&["user", "add", name, "--role", role], &format!("{password}\n"));
        assert!(r.ok, "user add {name}: {}", r.stderr);
        assert!(r.stdout.contains("已新建控制台账号"), "{}", r.stdout);
    }
}

fn client() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0)
}

impl Console {
    /// SIGTERM, then the process must end cleanly within 15 s.
    fn terminate(&mut self) {
        crate::harness::signal(&self.child, libc::SIGTERM);
        let asked = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(asked.elapsed() < Duration::from_secs(15), "did not exit within 15 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}\n{}", self.app.daemon_log());
    }

    fn start() -> Console {
        Console::start_on(None)
    }

    /// `start` with the books in the database at `database_url` (PostgreSQL, `on_postgres`).
    pub fn start_on(database_url: Option<&str>) -> Console {
        let port = free_port();
        let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
        if let Some(url) = database_url {
            app.set_database(url);
        }
        accounts(&app);
        with_mail(&app);
        Console::serving(app, &["serve"], port)
    }

    /// `baosong ARGS` started on `app`, once its console at `port` answers.
    fn serving(app: App, args: &[&str], port: u16) -> Console {
        Console::answering(app, args, port, format!("http://127.0.0.1:{port}"), client().build().into())
    }

    /// As `serving`, over https, by a client that trusts the test CA.
    fn serving_https(app: App, args: &[&str], port: u16) -> Console {
        let pem = std::fs::read(crate::dovecot::certs().dir.join("ca.pem")).unwrap();
        let ca = ureq::tls::Certificate::from_pem(&pem).unwrap();
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::new_with_certs(&[ca])).build();
        Console::answering(app, args, port, format!("https://127.0.0.1:{port}"), client().tls_config(tls).build().into())
    }

    fn answering(app: App, args: &[&str], port: u16, base: String, agent: ureq::Agent) -> Console {
        let child = app.spawn(args);
        Console::once_answering(Console { app, child, port, base, agent })
    }

    /// `c` once its console answers.
    fn once_answering(c: Console) -> Console {
        let start = Instant::now();
        loop {
            if let Ok(r) = c.agent.get(&c.url("/healthz")).call()
                && r.status() == 200
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "console did not start:\n{}", c.app.daemon_log());
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str, cookie: &str) -> Reply {
        reply(self.agent.get(&self.url(path)).header("Cookie", cookie).call())
    }

    fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        reply(self.agent.post(&self.url(path)).header("Cookie", cookie).send_form(form.iter().copied()))
    }

    /// Logs in as a browser would: the login page's cookie and token, then the form.
    fn login_reply(&self, (name, password): (&str, &str)) -> Reply {
        let page = self.get("/login", "");
        let token = csrf(&page.text());
        let cookie = page.cookie("baosong_login").expect("login page sets its cookie");
        self.post("/login", &cookie, &[("name", name), ("password", password), ("csrf", &token)])
    }

    /// The session cookie and the session's CSRF token.
    fn login(&self, who: (&str, &str)) -> (String, String) {
        let r = self.login_reply(who);
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r.cookie("baosong_session").expect("a session cookie");
        let token = csrf(&self.get("/", &cookie).text());
        (cookie, token)
    }

    /// A request sent byte for byte (no client normalises the path): status and body.
    fn raw_get(&self, path: &str, cookie: &str) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, text)
    }

    fn audit(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.app.ok(&["audit", "--json"])).unwrap().as_array().unwrap().clone()
    }

    fn item(&self, name: &str) -> Value {
        self.app.items(&[]).into_iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no item {name}"))
    }

    fn held_id(&self, from: &str) -> String {
        let s = self.app.status("2024-03", "2024-03-28T12:00:00+08:00");
        let q = s["review_queue"].as_array().unwrap();
        q.iter().find(|e| e["from"] == from).unwrap_or_else(|| panic!("{from} not held: {q:?}"))["id"].as_str().unwrap().to_string()
    }
}

/// The board row of a department as the page shows it (its cells' text).
fn board_row(html: &str, department: &str) -> String {
    let at = html.find(&format!(">{department}</a>")).unwrap_or_else(|| panic!("{department} not on the board"));
    let row = &html[at..at + html[at..].find("</tr>").unwrap()];
    let mut text = String::new();
    let mut tag = false;
    for c in row.chars() {
        match c {
            '<' => tag = true,
            '>' => {
                tag = false;
                text.push(' ');
            }
            c if !tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn console_login_cookie_and_board() {
    login_cookie_and_board(&Console::start());
}

/// The login, its cookie and the board, on `c` (also on PostgreSQL, `on_postgres`).
pub fn login_cookie_and_board(c: &Console) {
    assert_eq!(c.get("/", "").status, 303, "no session: to the login page");
    assert_eq!(c.get("/", "").header("location"), Some("/login"));
    let bad = c.login_reply((STAFF.0, "wrong password"));
    assert_eq!(bad.status, 401);
    assert!(bad.text().contains("用户名或密码不正确"), "{}", bad.text());
    assert!(bad.cookie("baosong_session").is_none());

    let ok = c.login_reply(STAFF);
    assert_eq!(ok.status, 303);
    let set = ok.cookies().into_iter().find(|s| s.starts_with("baosong_session=")).unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "plain http on loopback: {set}");
    let cookie = ok.cookie("baosong_session").unwrap();

    let board = c.get("/?cycle=2024-03", &cookie);
    assert_eq!(board.status, 200);
    let html = board.text();
    assert!(html.contains("2024-03 报送看板") && html.contains("张三（工作人员）"), "{html}");
    assert!(board_row(&html, "嘎鲁图派出所").starts_with("嘎鲁图派出所 按时 1 2 0"), "{}", board_row(&html, "嘎鲁图派出所"));
    assert!(board_row(&html, "无定河派出所").starts_with("无定河派出所 未报 0"), "{}", board_row(&html, "无定河派出所"));
    assert!(html.contains("待审核 2 封"), "held mail is announced");
    // The polled fragment is the same table.
    let table = c.get("/board/table?cycle=2024-03", &cookie).text();
    assert_eq!(board_row(&table, "嘎鲁图派出所"), board_row(&html, "嘎鲁图派出所"));
    assert_eq!(c.get("/?cycle=2024-13", &cookie).status, 400);
    assert!(c.get("/?cycle=2024-13", &cookie).text().contains("月份 &quot;2024-13&quot; 格式不对"));

    // Logged out, the cookie opens nothing.
    let token = csrf(&html);
    assert_eq!(c.post("/logout", &cookie, &[("csrf", &token)]).status, 303);
    assert_eq!(c.get("/", &cookie).status, 303);
}

/// `[web] tls_cert`/`tls_key`: the console speaks https itself. A browser that trusts
/// the certificate logs in (the login reads the peer's address, for the rate limit),
/// the cookies carry Secure, the board is the same, and SIGTERM stops it as over http.
#[test]
fn console_serves_https_itself_and_its_cookies_are_secure() {
    let certs = &crate::dovecot::certs().dir;
    let port = free_port();
    let (cert, key) = (certs.join("cert.pem"), certs.join("key.pem"));
    let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n", cert.display(), key.display()));
    accounts(&app);
    with_mail(&app);
    let mut c = Console::serving_https(app, &["serve"], port);
    let page = c.get("/login", "");
    assert!(page.cookies().iter().all(|s| s.contains("; Secure")), "{:?}", page.cookies());
    let bad = c.login_reply((STAFF.0, "wrong password"));
    assert_eq!(bad.status, 401);
    assert!(bad.text().contains("用户名或密码不正确"), "{}", bad.text());
    let ok = c.login_reply(STAFF);
    assert_eq!(ok.status, 303, "{}", ok.text());
    let set = ok.cookies().into_iter().find(|s| s.starts_with("baosong_session=")).unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("; Secure"), "{set}");
    let cookie = ok.cookie("baosong_session").unwrap();
    let html = c.get("/?cycle=2024-03", &cookie).text();
    assert!(html.contains("2024-03 报送看板") && html.contains("张三（工作人员）"), "{html}");
    assert!(board_row(&html, "嘎鲁图派出所").starts_with("嘎鲁图派出所 按时 1 2 0"), "{}", board_row(&html, "嘎鲁图派出所"));
    // Plain http on the https port gets no page.
    assert!(client().build().new_agent().get(&format!("http://127.0.0.1:{port}/healthz")).call().is_err());

    c.terminate();
}

/// Issue 25: the login limit was one process's memory, so a second console instance on
/// the same database (behind one address) let a guesser start again. Now five failures
/// at one instance make the sixth try wait at the other too.
#[test]
fn two_consoles_on_one_database_share_the_login_limit() {
    two_consoles_share_the_login_limit(&Console::start());
}

/// A second `serve` on `c`'s database (also on PostgreSQL, where the instances may be
/// on two machines) knows of the failures at the first.
pub fn two_consoles_share_the_login_limit(c: &Console) {
    let dir = c.app.dir.path();
    let port = free_port();
    let config = std::fs::read_to_string(dir.join("baosong.toml")).unwrap().replace(&format!("127.0.0.1:{}", c.port), &format!("127.0.0.1:{port}"));
    std::fs::write(dir.join("second.toml"), config).unwrap();
    let log = std::fs::File::create(dir.join("second.log")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_baosong")).arg("--config").arg(dir.join("second.toml")).arg("serve").stdout(std::process::Stdio::null()).stderr(log).spawn().unwrap();
    let second = Console::once_answering(Console { app: App::with_config(""), child, port, base: format!("http://127.0.0.1:{port}"), agent: client().build().into() });
    for _ in 0..5 {
        assert_eq!(c.login_reply((VIEWER.0, "guess")).status, 401);
    }
    let r = second.login_reply(VIEWER);
    assert_eq!(r.status, 429, "the other instance knows of the five failures: {}", r.text());
    assert!(r.text().contains("登录失败次数过多，请 15 分钟后再试"), "{}", r.text());
    // From the same address, another name waits as well (the limit is per address and per name).
    assert_eq!(second.login_reply(STAFF).status, 429);
}

#[test]
fn console_login_is_rate_limited_with_a_chinese_message() {
    let c = Console::start();
    for _ in 0..5 {
        assert_eq!(c.login_reply((VIEWER.0, "guess")).status, 401);
    }
    let r = c.login_reply(VIEWER);
    assert_eq!(r.status, 429, "even the right password waits");
    assert!(r.text().contains("登录失败次数过多，请 15 分钟后再试"), "{}", r.text());
    assert!(r.cookie("baosong_session").is_none());
}

#[test]
fn console_csrf_and_roles() {
    let c = Console::start();
    let id = c.item("社区走访.jpg")["id"].as_i64().unwrap().to_string();
    let (staff, token) = c.login(STAFF);
    let no_token = c.post("/items/recategorize", &staff, &[("item", &id), ("category", "3")]);
    assert_eq!(no_token.status, 403);
    assert!(no_token.text().contains("安全校验未通过"), "{}", no_token.text());
    let wrong = c.post("/items/recategorize", &staff, &[("item", &id), ("category", "3"), ("csrf", "0000")]);
    assert_eq!(wrong.status, 403);
    assert_eq!(c.item("社区走访.jpg")["category"], "uncategorized", "refused forms change nothing");

    let (viewer, vtoken) = c.login(VIEWER);
    let r = c.post("/items/recategorize", &viewer, &[("item", &id), ("category", "3"), ("csrf", &vtoken)]);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("您的账号是“只读”，不能进行此操作"), "{}", r.text());
    assert_eq!(c.item("社区走访.jpg")["category"], "uncategorized");
    // A viewer reads every page, and sees no forms that change things.
    let review = c.get("/review", &viewer).text();
    assert!(review.contains("邮件") && !review.contains("/review/approve"), "{review}");
    // Another session's token is not this session's.
    assert_eq!(c.post("/items/recategorize", &staff, &[("item", &id), ("category", "3"), ("csrf", &vtoken)]).status, 403);

    let ok = c.post("/items/recategorize", &staff, &[("item", &id), ("category", "3"), ("csrf", &token), ("back", "/items/1")]);
    assert_eq!((ok.status, ok.header("location")), (303, Some("/items/1")));
    assert_eq!(c.item("社区走访.jpg")["category"], "3");
    assert!(c.item("社区走访.jpg")["path"].as_str().unwrap().contains("/③"), "moved in the tree too");
    let audit = c.audit();
    assert_eq!((audit[0]["who"].as_str(), audit[0]["action"].as_str()), (Some("web:张三"), Some("recategorize")));
    assert_eq!((audit[0]["before"].as_str(), audit[0]["after"].as_str()), (Some("uncategorized"), Some("3")));
    // Off-site redirects are not followed.
    let r = c.post("/items/recategorize", &staff, &[("item", &id), ("category", "4"), ("csrf", &token), ("back", "//evil.example/")]);
    assert_eq!(r.header("location"), Some("/"));
}

#[test]
fn console_every_form_is_audited_and_shows_on_the_board() {
    every_form_is_audited_and_shows_on_the_board(&Console::start());
}

/// Each form of the review and item pages changes the books, shows on the board and is
/// audited, on `c` (also on PostgreSQL, `on_postgres`).
pub fn every_form_is_audited_and_shows_on_the_board(c: &Console) {
    let (cookie, token) = c.login(STAFF);
    let held = c.held_id("someone@qq.com");
    let r = c.post("/review/approve", &cookie, &[("id", &held), ("department", "无定河派出所"), ("remember", "1"), ("csrf", &token)]);
    assert_eq!(r.status, 303, "{}", r.text());
    let board = c.get("/?cycle=2024-03", &cookie).text();
    assert!(board_row(&board, "无定河派出所").starts_with("无定河派出所 按时 1 1 0"), "{}", board_row(&board, "无定河派出所"));

    let other = c.held_id("stranger@163.com");
    assert_eq!(c.post("/review/reject", &cookie, &[("id", &other), ("csrf", &token)]).status, 303);
    let review = c.get("/review", &cookie).text();
    assert!(review.contains("没有待审核的邮件"), "{review}");
    let again = c.post("/review/reject", &cookie, &[("id", &other), ("csrf", &token)]);
    assert_eq!(again.status, 400);
    assert!(again.text().contains("不在待审核队列中"), "{}", again.text());

    let a = c.item("①党建学习.jpg");
    let b = c.item("社区走访.jpg");
    let (ia, ib) = (a["id"].to_string(), b["id"].to_string());
    assert_eq!(c.post("/items/recategorize", &cookie, &[("item", &ia), ("item", &ib), ("category", "7"), ("csrf", &token)]).status, 303);
    assert_eq!((c.item("①党建学习.jpg")["category"].as_str(), c.item("社区走访.jpg")["category"].as_str()), (Some("7"), Some("7")));

    assert_eq!(c.post("/review/extend", &cookie, &[("department", "图克所"), ("cycle", "2024-03"), ("until", "2024-03-29"), ("csrf", &token)]).status, 303);
    let board = c.get("/?cycle=2024-03", &cookie).text();
    assert!(board_row(&board, "图克派出所").contains("延期至 2024-03-29"), "{}", board_row(&board, "图克派出所"));

    let package = a["package"].to_string();
    assert_eq!(c.post("/review/reassign", &cookie, &[("id", &package), ("cycle", "2024-04"), ("csrf", &token)]).status, 303);
    let board = c.get("/?cycle=2024-03", &cookie).text();
    assert!(board_row(&board, "嘎鲁图派出所").starts_with("嘎鲁图派出所 未报 0"), "{}", board_row(&board, "嘎鲁图派出所"));
    let april = c.get("/?cycle=2024-04", &cookie).text();
    assert!(board_row(&april, "嘎鲁图派出所").contains(" 2 0"), "{}", board_row(&april, "嘎鲁图派出所"));

    let audit = c.audit();
    let rows: Vec<(&str, &str, &str, &str)> = audit.iter().take(6).map(|a| (a["who"].as_str().unwrap(), a["action"].as_str().unwrap(), a["before"].as_str().unwrap(), a["after"].as_str().unwrap())).collect();
    assert_eq!(
        rows.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [("web:张三", "reassign"), ("web:张三", "extend"), ("web:张三", "recategorize"), ("web:张三", "recategorize"), ("web:张三", "quarantine_reject"), ("web:张三", "quarantine_approve")]
    );
    assert_eq!((rows[0].2, rows[0].3), ("2024-03", "2024-04"));
    assert_eq!((rows[1].2, rows[1].3), ("", "2024-03-29"));
    assert_eq!((rows[4].2, rows[4].3), ("held", "dismissed"));
    assert!(rows[5].3.contains("无定河派出所") && rows[5].3.contains("\"remember_sender\":true"), "{}", rows[5].3);
    // The 审计 page shows the same rows.
    let page = c.get("/audit", &cookie).text();
    assert!(page.contains("张三（控制台）") && page.contains("改月份") && page.contains("批准待审核邮件"), "{page}");
}

#[test]
fn console_files_by_id_only() {
    let c = Console::start();
    let (cookie, _) = c.login(VIEWER);
    let item = c.item("①党建学习.jpg");
    let id = item["id"].to_string();
    let thumb = c.get(&format!("/thumbs/{id}"), &cookie);
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    assert_eq!(thumb.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let etag = thumb.header("etag").unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", item["sha256"].as_str().unwrap()));
    assert_eq!(thumb.body, std::fs::read(c.app.data().join(item["thumbnail"].as_str().unwrap())).unwrap());
    let again = reply(c.agent.get(&c.url(&format!("/thumbs/{id}"))).header("Cookie", &cookie).header("If-None-Match", &etag).call());
    assert_eq!(again.status, 304);

    let full = c.get(&format!("/files/{id}"), &cookie);
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type"), Some("image/jpeg"));
    assert_eq!(full.header("content-disposition"), Some("inline; filename=\"_____.jpg\"; filename*=UTF-8''%E2%91%A0%E5%85%9A%E5%BB%BA%E5%AD%A6%E4%B9%A0.jpg"));
    assert_eq!(full.body, jpeg(11), "the photo as sent");

    // The gallery groups by category and links the thumbnails; the item page shows the
    // mail's refused file with its reason.
    let gallery = c.get("/gallery/2024-03/嘎鲁图所", &cookie).text();
    let (first, none) = (gallery.find("①").unwrap(), gallery.find("未分类 <span").unwrap());
    assert!(first < none && gallery.contains(&format!("/thumbs/{id}")), "{gallery}");
    assert!(gallery.contains("<li>说明.exe：可执行程序，已拒收</li>"), "refused files listed with their reason once: {gallery}");
    let page = c.get(&format!("/items/{id}"), &cookie).text();
    assert!(page.contains("gltpcs@163.com") && page.contains("说明.exe") && page.contains("1600 × 1200"), "{page}");

    for path in [
        "/thumbs/../../etc/passwd",
        "/thumbs/..%2F..%2Fetc%2Fpasswd",
        "/thumbs/%2e%2e/%2e%2e/etc/passwd",
        "/files/..%252F..%252Fetc%252Fpasswd",
        "/files/999999",
        "/files/-1",
        "/thumbs/1%00",
        "/items/0",
        "/static/../baosong.toml",
        "/gallery/2024-03/..%2F..%2Fetc",
    ] {
        let (status, text) = c.raw_get(path, &cookie);
        assert!(matches!(status, 400 | 404), "{path}: {status}");
        assert!(!text.contains("root:") && !text.contains("[intake]"), "{path} reached a file outside the store");
    }
    // Unlogged, nothing but the login page.
    assert_eq!(c.get(&format!("/files/{id}"), "").status, 303);
}

#[test]
fn console_search_health_and_metrics() {
    let c = Console::start();
    assert_eq!(c.get("/healthz", "").text(), "ok\n");
    let m = c.get("/metrics", "").text();
    for line in ["baosong_messages{disposition=\"package\"} 1", "baosong_messages{disposition=\"held\"} 2", "baosong_items{status=\"accepted\"} 2", "baosong_items{status=\"rejected\"} 1", "baosong_intake_backlog 0"] {
        assert!(m.lines().any(|l| l == line), "{line} not in\n{m}");
    }
    let (cookie, _) = c.login(VIEWER);
    let found = c.get("/search?q=党建&cycle=2024-03", &cookie).text();
    assert!(found.contains("找到 1 个文件") && found.contains("①党建学习.jpg"), "{found}");
    let none = c.get("/search?q=%25", &cookie).text();
    assert!(none.contains("找到 0 个文件"), "% is a character, not a wildcard: {none}");
    let by_dep = c.get("/search?department=嘎鲁图所", &cookie).text();
    assert!(by_dep.contains("找到 3 个文件"), "{by_dep}");
    let status = c.get("/status", &cookie).text();
    assert!(status.contains("待分析的邮件") && status.contains("发件箱是空的"), "{status}");
}

/// (name, general-purpose flags, contents) of every file in a stored ZIP, read through
/// its central directory as an unzipper would.
fn unzip(zip: &[u8]) -> Vec<(String, u16, Vec<u8>)> {
    let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]) as usize;
    let eocd = zip.len() - 22;
    assert_eq!(u32_at(eocd), 0x0605_4b50, "end of central directory");
    let (count, mut at) = (u16_at(eocd + 10) as usize, u32_at(eocd + 16));
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(u32_at(at), 0x0201_4b50);
        let (flags, method, crc, size, name_len, offset) = (u16_at(at + 8), u16_at(at + 10), u32_at(at + 16) as u32, u32_at(at + 24), u16_at(at + 28) as usize, u32_at(at + 42));
        assert_eq!(method, 0, "stored");
        let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
        assert_eq!(u32_at(offset), 0x0403_4b50);
        let data_at = offset + 30 + u16_at(offset + 26) as usize + u16_at(offset + 28) as usize;
        let data = zip[data_at..data_at + size].to_vec();
        assert_eq!(crc32fast::hash(&data), crc, "{name}: CRC");
        out.push((name, flags, data));
        at += 46 + name_len;
    }
    out
}

#[test]
fn console_zip_downloads_name_folders_by_category_in_utf8() {
    let c = Console::start();
    let (cookie, _) = c.login(VIEWER);
    let r = c.get("/download/2024-03/嘎鲁图所", &cookie);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/zip"));
    assert!(r.header("content-disposition").unwrap().contains("filename*=UTF-8''%E5%98%8E"), "{:?}", r.header("content-disposition"));
    let files = unzip(&r.body);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["①党的建设/①党建学习.jpg", "未分类/社区走访.jpg"]);
    assert!(files.iter().all(|f| f.1 & 0x0800 != 0), "UTF-8 flag on every name");
    assert_eq!(files[0].2, jpeg(11));
    assert_eq!(files[1].2, jpeg(12));

    let month = unzip(&c.get("/download/2024-03", &cookie).body);
    assert_eq!(month.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["嘎鲁图派出所/①党的建设/①党建学习.jpg", "嘎鲁图派出所/未分类/社区走访.jpg"]);
    let empty = c.get("/download/2023-01", &cookie);
    assert_eq!(empty.status, 404);
    assert!(empty.text().contains("这个月还没有可下载的文件"));
}

/// Waits up to 10 s for `done` (a submitted form's page loads after the click returns).
fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real browser: logs in, opens the board and a gallery, approves the held mail,
/// recategorizes an item, and sees the board change. Screenshots go under target/
/// (copies for the README are in tests/fixtures/screenshots/).
#[test]
fn console_in_headless_chromium() {
    let c = Console::start();
    let b = crate::webdriver::Browser::start();
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    b.goto(&c.url("/"));
    assert_eq!(b.title(), "登录 · 报送", "to the login page first");
    b.type_into("input[name=name]", STAFF.0);
    b.type_into("input[name=password]", STAFF.1);
    b.click("form.login button");
    b.wait_for_title("看板 2024-03 · 报送");
    b.goto(&c.url("/?cycle=2024-03"));
    let words = |t: String| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let before = words(b.text("#board"));
    assert!(before.contains("无定河派出所 未报"), "{before}");
    b.screenshot(&shots.join("board.png"));

    b.goto(&c.url("/gallery/2024-03/嘎鲁图派出所"));
    assert!(b.text("main").contains("①党的建设"), "{}", b.text("main"));
    b.screenshot(&shots.join("gallery.png"));

    let held = c.held_id("someone@qq.com");
    b.goto(&c.url("/review"));
    b.click(&format!("#held-{held} form[action='/review/approve'] button"));
    eventually("the approved mail leaves the queue", || !b.text("main").contains("someone@qq.com"));
    let queue = b.text("main");
    assert!(!queue.contains("someone@qq.com") && queue.contains("stranger@163.com"), "{queue}");

    let id = c.item("社区走访.jpg")["id"].to_string();
    b.goto(&c.url(&format!("/items/{id}")));
    b.click("form[action='/items/recategorize'] select[name=category] option[value='5']");
    b.click("form[action='/items/recategorize'] button");
    eventually("the item is recategorized", || c.item("社区走访.jpg")["category"] == "5");
    b.wait_for_title("社区走访.jpg · 报送");

    b.goto(&c.url("/?cycle=2024-03"));
    let after = words(b.text("#board"));
    assert!(after.contains("无定河派出所 按时"), "{after}");
    assert!(c.audit().iter().take(2).all(|a| a["who"] == "web:张三"));
    b.screenshot(&shots.join("board-after.png"));
}

/// `baosong run` serves the console alongside intake: mail fetched over IMAP shows in
/// the board's polled table, and SIGTERM stops both.
#[test]
fn console_runs_with_intake_and_stops_on_sigterm() {
    let d = crate::dovecot::Dovecot::start();
    let port = free_port();
    let app = App::with_imap(d.tls_port, true, &format!("idle = false\npoll_interval = \"1s\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    assert!(app.run_input(&["user", "add", VIEWER.0, "--role", "viewer"], VIEWER.1).ok);
    let mut c = Console::serving(app, &["run"], port);
    let (cookie, _) = c.login(VIEWER);
    let table = || c.get("/board/table?cycle=2024-03", &cookie).text();
    assert!(board_row(&table(), "嘎鲁图派出所").starts_with("嘎鲁图派出所 未报"));
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("①党建.jpg", &jpeg(31)).build();
    d.client().append("INBOX", "19-Mar-2024 10:00:00 +0800", &mail);
    assert!(
        crate::harness::wait_until(Duration::from_secs(20), || board_row(&table(), "嘎鲁图派出所").starts_with("嘎鲁图派出所 按时 1 1")),
        "{}",
        c.app.daemon_log()
    );
    c.terminate();
    assert!(std::net::TcpStream::connect(("127.0.0.1", c.port)).is_err(), "the console stopped too");
}

#[test]
fn console_admin_adds_an_account_staff_cannot() {
    let c = Console::start();
    let (staff, stoken) = c.login(STAFF);
    assert_eq!(c.get("/users", &staff).status, 403, "the list of accounts is the admin's");
    let r = c.post("/users/add", &staff, &[("name", "王五"), ("password", "wangwu-password"), ("role", "admin"), ("csrf", &stoken)]);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("需要“管理员”权限"), "{}", r.text());

    let (admin, token) = c.login(ADMIN);
    let short = c.post("/users/add", &admin, &[("name", "王五"), ("password", "short"), ("role", "staff"), ("csrf", &token)]);
    assert_eq!(short.status, 400);
    assert!(short.text().contains("密码至少 8 位"), "{}", short.text());
    assert_eq!(c.post("/users/add", &admin, &[("name", "王五"), ("password", "wangwu-password"), ("role", "staff"), ("csrf", &token)]).status, 303);
    let page = c.get("/users", &admin).text();
    assert!(page.contains("<td>王五</td><td>工作人员</td>"), "{page}");
    let again = c.post("/users/add", &admin, &[("name", "王五"), ("password", "wangwu-password"), ("role", "staff"), ("csrf", &token)]);
    assert!(again.text().contains("已有名为 &quot;王五&quot; 的账号"), "{}", again.text());
    c.login(("王五", "wangwu-password"));
    let a = &c.audit()[0];
    assert_eq!((a["who"].as_str(), a["action"].as_str(), a["after"].as_str()), (Some("web:admin"), Some("user_add"), Some("staff")));
    assert!(c.app.ok(&["user", "list"]).contains("王五  工作人员"));
}

#[test]
fn console_item_page_shows_the_earlier_similar_photo_beside_it() {
    use crate::fixtures::{encode_jpeg, texture, with_exif};
    let c = Console::start();
    let original = with_exif(&encode_jpeg(&texture(1600, 1200, 61), 90), 1, Some("2024:03:08 10:00:00"), "HUAWEI", "HUAWEI P40");
    let small = image::imageops::resize(&texture(1600, 1200, 61), 1200, 900, image::imageops::FilterType::Triangle);
    let copy = with_exif(&encode_jpeg(&small, 75), 1, Some("2024:03:08 10:00:00"), "HUAWEI", "HUAWEI P40");
    c.app.import_one("o.eml", &Mail::new("tkpcs@qq.com", "图克派出所3月素材", MAR19).attach("①巡逻原图.jpg", &original).build());
    c.app.import_one("c.eml", &Mail::new("tkpcs@qq.com", "图克派出所3月素材补充", "Wed, 20 Mar 2024 10:00:00 +0800").attach("①巡逻.jpg", &copy).build());
    let (cookie, _) = c.login(VIEWER);
    let id = c.item("①巡逻.jpg")["id"].to_string();
    let earlier = c.item("①巡逻原图.jpg")["id"].to_string();
    let page = c.get(&format!("/items/{id}"), &cookie).text();
    assert!(page.contains("相似的早先照片"), "{page}");
    assert!(page.contains(&format!("/thumbs/{earlier}")) && page.contains("1600 × 1200") && page.contains("1200 × 900"), "both, side by side: {page}");
    assert!(page.contains("HUAWEI P40") && page.contains("2024-03-08 10:00"), "EXIF shown: {page}");
}

#[test]
fn console_adopts_from_the_item_page_and_shows_the_scores() {
    adopts_from_the_item_page_and_shows_the_scores(&Console::start());
}

/// Adoption from the item page and the scores page, on `c` (also on PostgreSQL).
pub fn adopts_from_the_item_page_and_shows_the_scores(c: &Console) {
    let item = c.item("①党建学习.jpg");
    let id = item["id"].to_string();
    let (viewer, vtoken) = c.login(VIEWER);
    let page = c.get(&format!("/items/{id}"), &viewer).text();
    assert!(page.contains("采用登记") && !page.contains("登记采用</button>"), "a viewer sees no adopt button: {page}");
    assert_eq!(c.post(&format!("/items/{id}/adopt"), &viewer, &[("level", "city"), ("date", "2024-04-02"), ("csrf", &vtoken)]).status, 403);

    let (staff, token) = c.login(STAFF);
    assert!(c.get(&format!("/items/{id}"), &staff).text().contains("登记采用</button>"));
    let r = c.post(&format!("/items/{id}/adopt"), &staff, &[("level", "banner"), ("date", "2024-04-01"), ("channel", "旗局公众号"), ("csrf", &token)]);
    assert_eq!((r.status, r.header("location")), (303, Some(format!("/items/{id}").as_str())), "{}", r.text());
    let r = c.post(&format!("/items/{id}/adopt"), &staff, &[("level", "city"), ("date", "2024-04-02"), ("channel", "市局公众号"), ("csrf", &token)]);
    assert_eq!(r.status, 303, "{}", r.text());
    // Refused files cannot be adopted, and the reason is said in Chinese.
    let exe = c.item("说明.exe")["id"].to_string();
    let refused = c.post(&format!("/items/{exe}/adopt"), &staff, &[("level", "city"), ("csrf", &token)]);
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("不能登记采用"), "{}", refused.text());

    let page = c.get(&format!("/items/{id}"), &staff).text();
    assert!(page.contains("旗局采用") && page.contains("市局采用") && page.contains("市局公众号"), "{page}");
    // The same work adopted at banner and city level scores 0.2, once.
    let scores = c.get("/scores", &viewer).text();
    let at = scores.find("嘎鲁图派出所：").unwrap_or_else(|| panic!("{scores}"));
    assert!(scores[at..].contains("图片视频报送</td><td>0.20</td><td>0.20</td><td>7.00"), "{}", scores[at..].chars().take(300).collect::<String>());
    let audit = c.audit();
    assert_eq!((audit[0]["who"].as_str(), audit[0]["action"].as_str()), (Some("web:张三"), Some("adopt")));

    // 撤销采用 removes the city adoption: the work is back to 0.1.
    // The remove button in the row of the city adoption.
    let row = &page[page.find("市局采用").unwrap()..];
    let at = row.find("/adoptions/").unwrap() + "/adoptions/".len();
    let adoption: String = row[at..].chars().take_while(char::is_ascii_digit).collect();
    let r = c.post(&format!("/adoptions/{adoption}/remove"), &staff, &[("csrf", &token)]);
    assert_eq!(r.status, 303, "{}", r.text());
    let scores = c.get("/scores", &viewer).text();
    let at = scores.find("嘎鲁图派出所：").unwrap();
    assert!(scores[at..].contains("图片视频报送</td><td>0.10</td><td>0.10</td>"), "{}", scores[at..].chars().take(300).collect::<String>());
    assert_eq!(c.audit()[0]["action"], "unadopt");
}

/// Who an account is as `baosong user list` shows it ("李四  只读", "李四  只读  （已停用）").
fn listed(c: &Console, name: &str) -> String {
    let out = c.app.ok(&["user", "list"]);
    out.lines().find(|l| l.starts_with(&format!("{name}  "))).unwrap_or_else(|| panic!("{name} not in\n{out}")).to_string()
}

/// (who, action, target, before, after) of the newest audit row.
fn last_audit(c: &Console) -> (String, String, String, String, String) {
    let a = &c.audit()[0];
    let s = |k: &str| a[k].as_str().unwrap().to_string();
    (s("who"), s("action"), s("target"), s("before"), s("after"))
}

fn row(who: &str, action: &str, target: &str, before: &str, after: &str) -> (String, String, String, String, String) {
    (who.into(), action.into(), target.into(), before.into(), after.into())
}

/// An admin changes roles, disables and re-enables, resets passwords; staff and viewers
/// cannot; each change is audited as web:<admin> with before → after; a disabled account
/// cannot log in and its sessions end; the last active admin stays.
#[test]
fn console_admin_manages_accounts_and_keeps_the_last_admin() {
    let c = Console::start();
    let (viewer, _) = c.login(VIEWER);
    let (staff, stoken) = c.login(STAFF);
    let audited = c.audit().len();
    for (who, cookie, token) in [("工作人员", &staff, &stoken), ("只读", &viewer, &csrf(&c.get("/", &viewer).text()))] {
        for (path, form) in [
            ("/users/role", vec![("name", VIEWER.0), ("role", "admin")]),
            ("/users/disable", vec![("name", ADMIN.0)]),
            ("/users/enable", vec![("name", VIEWER.0)]),
            ("/users/passwd", vec![("name", ADMIN.0), ("password", "taken-over-1")]),
        ] {
            let mut form = form;
            form.push(("csrf", token));
            let r = c.post(path, cookie, &form);
            assert_eq!(r.status, 403, "{path}");
            assert!(r.text().contains(&format!("您的账号是“{who}”，不能进行此操作（需要“管理员”权限）")), "{path}: {}", r.text());
        }
    }
    assert_eq!((listed(&c, VIEWER.0), c.audit().len()), ("李四  只读".to_string(), audited), "refused forms change nothing");

    let (admin, token) = c.login(ADMIN);
    // The 账号 page lists each account with its state and the forms.
    let page = c.get("/users", &admin).text();
    assert!(page.contains("<td>李四</td><td>只读</td><td>正常</td>") && page.contains("action=\"/users/disable\""), "{page}");

    // Role: viewer → staff.
    let r = c.post("/users/role", &admin, &[("name", VIEWER.0), ("role", "staff"), ("csrf", &token)]);
    assert_eq!((r.status, r.header("location")), (303, Some("/users")), "{}", r.text());
    assert_eq!(listed(&c, VIEWER.0), "李四  工作人员");
    assert_eq!(last_audit(&c), row("web:admin", "user_role", "账号 李四", "viewer", "staff"));
    let same = c.post("/users/role", &admin, &[("name", VIEWER.0), ("role", "staff"), ("csrf", &token)]);
    assert_eq!(same.status, 400);
    assert!(same.text().contains("账号 &quot;李四&quot; 的权限已经是“工作人员”"), "{}", same.text());
    // The session in use has the new role at once.
    let r = c.post("/items/recategorize", &viewer, &[("item", "1"), ("category", "3"), ("csrf", &csrf(&c.get("/", &viewer).text()))]);
    assert_ne!(r.status, 403, "李四 is staff now: {}", r.text());

    // Disable: the open session ends, a login is refused in words, the page says 已停用.
    let r = c.post("/users/disable", &admin, &[("name", VIEWER.0), ("csrf", &token)]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(last_audit(&c), row("web:admin", "user_disable", "账号 李四", "active", "disabled"));
    assert_eq!(c.get("/", &viewer).header("location"), Some("/login"), "the disabled account's session ended");
    let refused = c.login_reply(VIEWER);
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("这个账号已被管理员停用，不能登录"), "{}", refused.text());
    assert!(refused.cookie("baosong_session").is_none());
    let wrong = c.login_reply((VIEWER.0, "not the password"));
    assert!(wrong.text().contains("用户名或密码不正确") && !wrong.text().contains("停用"), "a guess learns nothing: {}", wrong.text());
    assert_eq!(listed(&c, VIEWER.0), "李四  工作人员  （已停用）");
    assert!(c.get("/users", &admin).text().contains("<td>李四</td><td>工作人员</td><td><span class=\"danger\">已停用</span></td>"));
    let again = c.post("/users/disable", &admin, &[("name", VIEWER.0), ("csrf", &token)]);
    assert!(again.status == 400 && again.text().contains("账号 &quot;李四&quot; 已经停用"), "{}", again.text());

    // Enable: 李四 logs in again.
    assert_eq!(c.post("/users/enable", &admin, &[("name", VIEWER.0), ("csrf", &token)]).status, 303);
    assert_eq!(last_audit(&c), row("web:admin", "user_enable", "账号 李四", "disabled", "active"));
    assert_eq!(c.login_reply(VIEWER).status, 303);
    assert_eq!(listed(&c, VIEWER.0), "李四  工作人员");

    // Reset 张三's password: too short is refused; then the old one stops working and
    // the open session ends; the audit row never holds the password.
    let short = c.post("/users/passwd", &admin, &[("name", STAFF.0), ("password", "1234567"), ("csrf", &token)]);
    assert!(short.status == 400 && short.text().contains("密码至少 8 位"), "{}", short.text());
    assert_eq!(c.post("/users/passwd", &admin, &[("name", STAFF.0), ("password", "张三的新密码-2025"), ("csrf", &token)]).status, 303);
    assert_eq!(last_audit(&c), row("web:admin", "user_passwd", "账号 张三", "", "reset"));
    assert!(!c.app.ok(&["audit", "--json"]).contains("新密码"));
    assert_eq!(c.get("/", &staff).header("location"), Some("/login"));
    assert_eq!(c.login_reply(STAFF).status, 401);
    let (staff, _) = c.login((STAFF.0, "张三的新密码-2025"));

    // The last active admin can be neither demoted nor disabled, and nothing is recorded.
    let audited = c.audit().len();
    let r = c.post("/users/role", &admin, &[("name", ADMIN.0), ("role", "staff"), ("csrf", &token)]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("&quot;admin&quot; 是最后一个可用的管理员账号，不能改为工作人员"), "{}", r.text());
    let r = c.post("/users/disable", &admin, &[("name", ADMIN.0), ("csrf", &token)]);
    assert!(r.status == 400 && r.text().contains("最后一个可用的管理员账号，不能停用"), "{}", r.text());
    assert_eq!((c.audit().len(), listed(&c, ADMIN.0)), (audited, "admin  管理员".to_string()));
    let unknown = c.post("/users/disable", &admin, &[("name", "王五"), ("csrf", &token)]);
    assert!(unknown.status == 400 && unknown.text().contains("没有名为 &quot;王五&quot; 的账号"), "{}", unknown.text());

    // With 张三 an admin too, admin may be disabled (its own session ends with it);
    // then 张三 is the last active one: a disabled admin does not count.
    assert_eq!(c.post("/users/role", &admin, &[("name", STAFF.0), ("role", "admin"), ("csrf", &token)]).status, 303);
    assert_eq!(c.post("/users/disable", &admin, &[("name", ADMIN.0), ("csrf", &token)]).status, 303);
    assert_eq!(c.get("/users", &admin).header("location"), Some("/login"));
    let ztoken = csrf(&c.get("/users", &staff).text());
    let r = c.post("/users/role", &staff, &[("name", STAFF.0), ("role", "viewer"), ("csrf", &ztoken)]);
    assert!(r.status == 400 && r.text().contains("&quot;张三&quot; 是最后一个可用的管理员账号，不能改为只读"), "{}", r.text());
    assert_eq!(last_audit(&c), row("web:admin", "user_disable", "账号 admin", "active", "disabled"));
}

/// The same changes from the command line, audited as cli:<unix user>; refusals are
/// said in Chinese and the command fails.
#[test]
fn console_accounts_from_the_command_line() {
    let app = App::new();
    let as_wang = [("USER", "wangwu")];
    assert!(app.run_input(&["user", "add", ADMIN.0, "--role", "admin"], ADMIN.1).ok);
    assert!(app.run_input(&["user", "add", STAFF.0, "--role", "staff"], STAFF.1).ok);
    let audit = |app: &App| -> Vec<Value> { serde_json::from_str::<Value>(&app.ok(&["audit", "--json"])).unwrap().as_array().unwrap().clone() };
    let newest = |app: &App| {
        let a = &audit(app)[0];
        [&a["who"], &a["action"], &a["target"], &a["before"], &a["after"]].map(|v| v.as_str().unwrap().to_string())
    };

    let r = app.run_env(&["user", "role", STAFF.0, "viewer"], &as_wang);
    assert!(r.ok && r.stdout.contains("账号 张三 的权限已改为“只读”"), "{}{}", r.stdout, r.stderr);
    assert_eq!(newest(&app), ["cli:wangwu", "user_role", "账号 张三", "staff", "viewer"]);
    let r = app.run_env(&["user", "role", STAFF.0, "boss"], &as_wang);
    assert!(!r.ok && r.stderr.contains("没有权限 \"boss\"。可用的权限：viewer（只读）、staff（审核和更正）、admin（另可管理账号）"), "{}", r.stderr);

    let r = app.run_env(&["user", "disable", STAFF.0], &as_wang);
    assert!(r.ok && r.stdout.contains("账号 张三 已停用"), "{}{}", r.stdout, r.stderr);
    assert_eq!(newest(&app), ["cli:wangwu", "user_disable", "账号 张三", "active", "disabled"]);
    assert!(app.ok(&["user", "list"]).contains("张三  只读  （已停用）"));
    let r = app.run_env(&["user", "enable", STAFF.0], &as_wang);
    assert!(r.ok && r.stdout.contains("账号 张三 已重新启用"), "{}{}", r.stdout, r.stderr);
    assert_eq!(newest(&app), ["cli:wangwu", "user_enable", "账号 张三", "disabled", "active"]);

    let r = app.run_input(&["user", "passwd", STAFF.0], "张三的新密码-2025\n");
    assert!(r.ok && r.stdout.contains("账号 张三 的密码已重置"), "{}{}", r.stdout, r.stderr);
    let [who, action, target, before, after] = newest(&app);
    assert!(who.starts_with("cli:"), "{who}");
    assert_eq!([action, target, before, after], ["user_passwd", "账号 张三", "", "reset"].map(String::from));
    let short = app.run_input(&["user", "passwd", STAFF.0], "short\n");
    assert!(!short.ok && short.stderr.contains("密码至少 8 位"), "{}", short.stderr);

    let count = audit(&app).len();
    for (args, words) in [
        (vec!["user", "disable", ADMIN.0], "错误：\"admin\" 是最后一个可用的管理员账号，不能停用：否则就没有人能管理账号了。请先把另一个账号设为管理员"),
        (vec!["user", "role", ADMIN.0, "staff"], "错误：\"admin\" 是最后一个可用的管理员账号，不能改为工作人员"),
        (vec!["user", "enable", ADMIN.0], "错误：账号 \"admin\" 没有停用，可以正常登录"),
        (vec!["user", "disable", "王五"], "错误：没有名为 \"王五\" 的账号"),
    ] {
        let r = app.run_env(&args, &as_wang);
        assert!(!r.ok && r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    assert_eq!(audit(&app).len(), count, "refusals are not recorded");
    assert!(app.ok(&["user", "list"]).contains("admin  管理员\n"));
    let help = app.ok(&["user", "--help"]);
    for word in ["role", "disable", "enable", "passwd", "停用账号"] {
        assert!(help.contains(word), "{word} missing from user --help:\n{help}");
    }
}

/// The QQ 超大附件 caption of a 1.2 MiB video and its download page.
const LINK_URL: &str = "https://wx.mail.qq.com/ftn/download?func=3&key=K&code=C&k=K";

/// A package of 嘎鲁图派出所 that holds only a 超大附件 link (QQ Mail's body); importing
/// it downloads nothing.
fn link_mail() -> Vec<u8> {
    let body = format!("从QQ邮箱发来的超大附件\n\n嘎鲁图派出所3月巡逻视频.mp4 (1.20M, 2024年4月23日 15:02 到期)进入下载页面：{LINK_URL}\n");
    let mut mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月巡逻视频", MAR19).no_parts();
    mail.parts.push(crate::fixtures::Part::raw("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", crate::fixtures::b64(body.as_bytes()).as_bytes()));
    mail.build()
}

/// What `encodeURIComponent` gives for a file name.
fn percent(name: &str) -> String {
    name.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl Console {
    /// The console's upload script: the file as the body, its name and the CSRF token in headers.
    fn upload(&self, item: &str, cookie: &str, token: Option<&str>, name: &str, data: &[u8], confirm: bool) -> Reply {
        let mut r = self.agent.post(&self.url(&format!("/items/{item}/attach"))).header("Cookie", cookie).header("Content-Type", "application/octet-stream").header("X-File-Name", &percent(name));
        if let Some(t) = token {
            r = r.header("X-CSRF-Token", t);
        }
        if confirm {
            r = r.header("X-Confirm", "1");
        }
        reply(r.send(data))
    }

    /// The store's tmp/ (without the downloads' tmp/links/).
    fn tmp(&self) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(self.app.data().join("tmp")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n != "links").collect();
        names.sort();
        names
    }
}

/// A department whose package holds only a waiting 超大附件 link: the board says so in
/// its 超大附件 column and its state (not an empty 按时 package); the link's item page
/// shows where it stands and, for staff only, 补交文件. The upload needs the CSRF token
/// (refused, nothing is written to tmp/); a file whose size differs from the caption
/// is asked again and taken in when confirmed: a counted video with the link's URL,
/// audited as link_attach, counted once on the board.
#[test]
fn console_takes_a_link_file_in_by_upload() {
    let port = free_port();
    let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    accounts(&app);
    app.import_one("link.eml", &link_mail());
    let c = Console::serving(app, &["serve"], port);
    let row = |s: &Value| s["departments"].as_array().unwrap().iter().find(|d| d["department"] == "嘎鲁图派出所").unwrap().clone();
    let g = row(&c.app.status("2024-03", "2024-04-30T00:00:00+08:00"));
    assert_eq!(g["links"], serde_json::json!({"fetched": 0, "waiting": 1, "needs_office": 0}), "{g}");
    assert_eq!((g["state"].as_str(), g["videos"].as_i64()), (Some("on_time"), Some(0)));
    let table = c.app.ok(&["status", "--cycle", "2024-03", "--as-of", "2024-04-30"]);
    let line = table.lines().find(|l| l.starts_with("嘎鲁图派出所")).unwrap();
    assert!(line.contains("按时（文件未到）") && line.contains("已取 0 · 待取 1 · 待办 0"), "{table}");

    let (viewer, vtoken) = c.login(VIEWER);
    let board = c.get("/?cycle=2024-03", &viewer).text();
    assert!(board.contains(">超大附件</th>"), "{board}");
    let r = board_row(&board, "嘎鲁图派出所");
    assert!(r.starts_with("嘎鲁图派出所 按时（只有超大附件链接 1 个，文件未到） 1 0 0 已取 0 · 待取 1 · 待办 0"), "{r}");
    let gallery = c.get("/gallery/2024-03/嘎鲁图派出所", &viewer).text();
    assert!(gallery.contains("共 1 个文件") && gallery.contains("超大附件<br>等待下载"), "{gallery}");

    let link = c.app.items(&[]).into_iter().find(|i| i["kind"] == "link").unwrap();
    assert_eq!(link["url"], LINK_URL);
    let id = link["id"].to_string();
    let page = c.get(&format!("/items/{id}"), &viewer).text();
    for words in ["等待下载", "嘎鲁图派出所3月巡逻视频.mp4", "1.2 MiB", "2024-04-23 15:02", "尝试下载</th><td>0 次"] {
        assert!(page.contains(words), "{words} not on the link's page: {page}");
    }
    assert!(!page.contains("id=\"attach\"") && !page.contains("补交文件</button>"), "a viewer sees no upload: {page}");
    let before = c.tmp();
    let video = mp4(7);
    let r = c.upload(&id, &viewer, Some(&vtoken), "嘎鲁图派出所3月巡逻视频.mp4", &video, true);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("您的账号是“只读”"), "{}", r.text());

    let (staff, token) = c.login(STAFF);
    let page = c.get(&format!("/items/{id}"), &staff).text();
    assert!(page.contains("id=\"attach\"") && page.contains("补交文件</button>") && page.contains(&format!("data-csrf=\"{token}\"")), "{page}");
    for t in [None, Some("0000"), Some(vtoken.as_str())] {
        let r = c.upload(&id, &staff, t, "嘎鲁图派出所3月巡逻视频.mp4", &video, true);
        assert_eq!(r.status, 403, "{t:?}: {}", r.text());
        assert!(r.text().contains("安全校验未通过"), "{}", r.text());
    }
    assert_eq!(c.tmp(), before, "refused uploads write nothing to tmp/");
    assert_eq!(c.app.items(&[]).len(), 1);

    // 1.2 MiB said, a few hundred bytes sent: asked again, nothing kept.
    let r = c.upload(&id, &staff, Some(&token), "嘎鲁图派出所3月巡逻视频.mp4", &video, false);
    assert_eq!(r.status, 409, "{}", r.text());
    let said: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(said["code"], "needs_confirmation");
    assert!(said["message"].as_str().unwrap().contains("不符") && said["message"].as_str().unwrap().contains("确认是这个链接的文件"), "{said}");
    assert_eq!(c.tmp(), before, "the staged file went with the refusal");

    let r = c.upload(&id, &staff, Some(&token), "嘎鲁图派出所3月巡逻视频.mp4", &video, true);
    assert_eq!(r.status, 303, "{}", r.text());
    let items = c.app.items(&[]);
    assert_eq!(items.len(), 1, "the link became its file: {items:?}");
    let v = &items[0];
    assert_eq!((v["kind"].as_str(), v["status"].as_str(), v["url"].as_str()), (Some("video"), Some("accepted"), Some(LINK_URL)), "{v}");
    assert_eq!(v["sha256"], baosong::inspect::sha256_hex(&video));
    let new = v["id"].to_string();
    assert_eq!(r.header("location"), Some(format!("/items/{new}?attached=1").as_str()));
    assert_eq!(c.tmp(), before, "the upload left tmp/ for the store");
    let (who, action, target, before_state, after) = last_audit(&c);
    assert_eq!((who.as_str(), action.as_str(), target.as_str(), before_state.as_str()), ("web:张三", "link_attach", format!("文件 {id}").as_str(), "waiting"));
    assert!(after.contains(&baosong::inspect::sha256_hex(&video)), "{after}");

    let page = c.get(&format!("/items/{new}?attached=1"), &staff).text();
    assert!(page.contains("已补交：超大附件的文件已计入") && page.contains("已手工补交") && page.contains("由 web:张三 补交"), "{page}");
    assert!(!page.contains("id=\"attach\""), "nothing more to take in: {page}");
    let again = c.upload(&new, &staff, Some(&token), "嘎鲁图派出所3月巡逻视频.mp4", &video, true);
    assert_eq!(again.status, 409);
    assert!(again.text().contains("不需要再补交"), "{}", again.text());

    // Counted once: a video, and 已取 1 in the 超大附件 column.
    let g = row(&c.app.status("2024-03", "2024-04-30T00:00:00+08:00"));
    assert_eq!((g["videos"].as_i64(), g["external_links"].as_i64()), (Some(1), Some(0)), "{g}");
    assert_eq!(g["links"], serde_json::json!({"fetched": 1, "waiting": 0, "needs_office": 0}));
    let board = c.get("/board/table?cycle=2024-03", &staff).text();
    assert!(board_row(&board, "嘎鲁图派出所").starts_with("嘎鲁图派出所 按时 1 0 1 已取 1 · 待取 0 · 待办 0"), "{}", board_row(&board, "嘎鲁图派出所"));
    let gallery = c.get("/gallery/2024-03/嘎鲁图派出所", &staff).text();
    assert!(gallery.contains("共 1 个文件") && gallery.contains("超大附件已手工补交") && !gallery.contains("等待下载"), "{gallery}");
}

/// 补交文件 in a real browser: the page's script sends the chosen file as the body; a
/// file whose size differs from the caption shows the reason and the confirmation box;
/// confirmed, the page moves to the video the link became.
#[test]
fn console_upload_in_headless_chromium() {
    let port = free_port();
    let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    accounts(&app);
    app.import_one("link.eml", &link_mail());
    let c = Console::serving(app, &["serve"], port);
    let id = c.app.items(&[]).into_iter().find(|i| i["kind"] == "link").unwrap()["id"].to_string();
    let file = c.app.dir.path().join("嘎鲁图派出所3月巡逻视频.mp4");
    std::fs::write(&file, mp4(8)).unwrap();

    let b = crate::webdriver::Browser::start();
    b.goto(&c.url("/login"));
    b.type_into("input[name=name]", STAFF.0);
    b.type_into("input[name=password]", STAFF.1);
    b.click("form.login button");
    b.wait_for_title("看板 2024-03 · 报送");
    b.goto(&c.url(&format!("/items/{id}")));
    assert!(b.text("main").contains("等待下载"), "{}", b.text("main"));
    b.type_into("#attach input[type=file]", file.to_str().unwrap());
    b.click("#attach button");
    eventually("the size is questioned", || b.text("#attach .message").contains("不符"));
    assert!(b.text("#attach .message").starts_with("未补交："), "{}", b.text("#attach .message"));
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    b.screenshot(&shots.join("link.png"));
    b.click("#attach input[name=confirm]");
    b.click("#attach button");
    eventually("the page moves to the file", || b.text("main").contains("已补交：超大附件的文件已计入"));
    assert!(b.text("main").contains("已手工补交"), "{}", b.text("main"));
    let v = c.app.items(&[]).into_iter().next().unwrap();
    assert_eq!((v["kind"].as_str(), v["url"].as_str()), (Some("video"), Some(LINK_URL)));
    b.screenshot(&shots.join("attached.png"));
}

/// Every sheet of an .xlsx as (name, rows of cell texts).
fn sheets(bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an .xlsx");
    let names = wb.sheet_names();
    names.into_iter().map(|n| (n.clone(), wb.worksheet_range(&n).unwrap().rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect())).collect()
}

fn xlsx_file(path: &std::path::Path) -> Vec<(String, Vec<Vec<String>>)> {
    sheets(&std::fs::read(path).unwrap())
}

/// 导出 Excel on the board, search and scores pages: the same workbooks as
/// `export board|items|scores --xlsx`, with the page's filters (a search's department,
/// month, status and words), named in Chinese, never cached.
#[test]
fn console_exports_excel_from_the_board_search_and_scores() {
    let c = Console::start();
    let (viewer, _) = c.login(VIEWER);
    let board = c.get("/?cycle=2024-03", &viewer).text();
    assert!(board.contains("href=\"/export/board.xlsx?cycle=2024-03\"") && board.contains("导出 Excel"), "{board}");
    let r = c.get("/export/board.xlsx?cycle=2024-03", &viewer);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    let disposition = r.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains(&percent("2024-03报送情况.xlsx")), "{disposition}");
    let cli = c.app.dir.path().join("board.xlsx");
    c.app.ok(&["export", "board", "--month", "2024-03", "--xlsx", cli.to_str().unwrap()]);
    let web = sheets(&r.body);
    assert_eq!(web, xlsx_file(&cli), "the same workbook as export board");
    let rows = &web[0].1;
    let g = rows.iter().find(|r| r[0] == "嘎鲁图派出所").unwrap();
    assert_eq!((g[1].as_str(), g[6].as_str()), ("按时", "2"), "{g:?}");

    // Search: 嘎鲁图 and the month typed in the main box, refused files only.
    let found = c.get("/search?q=嘎鲁图所+2024-03&status=rejected", &viewer).text();
    assert!(found.contains("找到 1 个文件") && found.contains("说明.exe") && found.contains("<td class=\"status\">拒收</td>"), "{found}");
    let at = found.find("/export/items.xlsx?").unwrap();
    let link = found[at..].split('"').next().unwrap().replace("&amp;", "&");
    let r = c.get(&link, &viewer);
    assert_eq!(r.status, 200, "{link}: {}", r.text());
    assert!(r.header("content-disposition").unwrap().contains(&percent("嘎鲁图派出所2024-03文件清单.xlsx")), "{:?}", r.header("content-disposition"));
    let web = sheets(&r.body);
    let rows = &web[0].1;
    assert_eq!(rows.len(), 2, "the header and the one refused file: {rows:?}");
    assert!(rows[1].contains(&"说明.exe".to_string()) && rows[1].contains(&"拒收".to_string()), "{:?}", rows[1]);
    // Without filters, a month's items are export items --month's.
    let r = c.get("/export/items.xlsx?cycle=2024-03", &viewer);
    let cli = c.app.dir.path().join("items.xlsx");
    c.app.ok(&["export", "items", "--month", "2024-03", "--xlsx", cli.to_str().unwrap()]);
    assert_eq!(sheets(&r.body), xlsx_file(&cli), "the same workbook as export items");
    let none = c.get("/export/items.xlsx", &viewer);
    assert_eq!(none.status, 400);
    assert!(none.text().contains("请先填写搜索条件"), "{}", none.text());

    let scores = c.get("/scores", &viewer).text();
    assert!(scores.contains("/export/scores.xlsx?year=2024"), "{scores}");
    let r = c.get("/export/scores.xlsx?year=2024", &viewer);
    assert_eq!(r.status, 200, "{}", r.text());
    let cli = c.app.dir.path().join("scores.xlsx");
    c.app.ok(&["export", "scores", "--year", "2024", "--xlsx", cli.to_str().unwrap()]);
    assert_eq!(sheets(&r.body), xlsx_file(&cli), "the same workbook as export scores");
    let wrong = c.get("/export/scores.xlsx?year=2023", &viewer);
    assert!(wrong.status == 400 && wrong.text().contains("考核细则是 2024 年的"), "{}", wrong.text());
    // Nothing left behind in tmp/.
    let left: Vec<_> = walk(&c.app.data().join("tmp")).into_iter().filter(|p| p.to_string_lossy().ends_with(".xlsx")).collect();
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

impl Console {
    /// The confirmation a change's redirect carries, as the page it opens shows it
    /// (once: the next page has none).
    fn said(&self, r: &Reply, cookie: &str) -> String {
        assert_eq!(r.status, 303, "{}", r.text());
        let flash = r.cookie("baosong_flash").unwrap_or_else(|| panic!("no confirmation: {:?}", r.headers));
        let to = r.header("location").unwrap().to_string();
        let page = self.get(&to, &format!("{cookie}; {flash}"));
        assert!(page.cookies().iter().any(|c| c.starts_with("baosong_flash=;")), "the page forgets it: {:?}", page.headers);
        let html = page.text();
        let at = html.find("id=\"flash\"").unwrap_or_else(|| panic!("no flash on {to}: {html}"));
        let p = &html[at..];
        p[p.find('>').unwrap() + 1..p.find("</p>").unwrap()].to_string()
    }
}

/// Each change says what it did on the page it goes back to: a category by name, an
/// approval with the department and month, a rejection, a new month, an extension, an
/// adoption; a category set to the one it has is said so and not audited.
#[test]
fn console_confirms_each_change_in_words() {
    let c = Console::start();
    let (staff, token) = c.login(STAFF);
    let id = c.item("社区走访.jpg")["id"].to_string();
    let back = format!("/items/{id}");
    let r = c.post("/items/recategorize", &staff, &[("item", &id), ("category", "4"), ("csrf", &token), ("back", &back)]);
    assert_eq!(c.said(&r, &staff), "已改为④暖警爱警");
    let audited = c.audit().len();
    let r = c.post("/items/recategorize", &staff, &[("item", &id), ("category", "4"), ("csrf", &token), ("back", &back)]);
    assert_eq!(c.said(&r, &staff), "「社区走访.jpg」本来就是④暖警爱警，没有改动");
    assert_eq!(c.audit().len(), audited, "a no-op change is not recorded");
    let other = c.item("①党建学习.jpg")["id"].to_string();
    let r = c.post("/items/recategorize", &staff, &[("item", &id), ("item", &other), ("category", "4"), ("csrf", &token)]);
    assert_eq!(c.said(&r, &staff), "已把 1 个文件改为④暖警爱警（另 1 个本来就是）");
    assert_eq!(c.audit().len(), audited + 1);

    let held = c.held_id("stranger@163.com");
    let r = c.post("/review/approve", &staff, &[("id", &held), ("department", "图克所"), ("csrf", &token)]);
    assert_eq!(c.said(&r, &staff), format!("已批准邮件 {held}，计入图克派出所 2024-03（1 个文件）"));
    let held = c.held_id("someone@qq.com");
    let r = c.post("/review/reject", &staff, &[("id", &held), ("csrf", &token)]);
    assert_eq!(c.said(&r, &staff), format!("已驳回邮件 {held}，不计入任何单位"));
    let package = c.item("社区走访.jpg")["package"].to_string();
    let r = c.post("/review/reassign", &staff, &[("id", &package), ("cycle", "2024-04"), ("csrf", &token)]);
    assert_eq!(c.said(&r, &staff), format!("已把邮件 {package}（嘎鲁图派出所）从 2024-03 改到 2024-04"));
    let same = c.post("/review/reassign", &staff, &[("id", &package), ("cycle", "2024-04"), ("csrf", &token)]);
    assert!(same.status == 400 && same.text().contains("本来就计入 2024-04，没有改动"), "{}", same.text());
    let r = c.post("/review/extend", &staff, &[("department", "图克所"), ("cycle", "2024-03"), ("until", "2024-03-29"), ("csrf", &token)]);
    assert_eq!(c.said(&r, &staff), "已批准延期：图克派出所 2024-03 的材料延至 2024-03-29 报送");
    let r = c.post(&format!("/items/{id}/adopt"), &staff, &[("level", "city"), ("date", "2024-04-02"), ("csrf", &token)]);
    assert_eq!(c.said(&r, &staff), "已登记：2024-04-02被市局采用");
}

/// The 审计 page in words: people, categories by name, the approval and the adoption as
/// sentences, roles in Chinese; no JSON, no program text, no codes.
#[test]
fn console_audit_page_is_in_plain_chinese() {
    let c = Console::start();
    let (staff, token) = c.login(STAFF);
    let id = c.item("社区走访.jpg")["id"].to_string();
    assert_eq!(c.post("/items/recategorize", &staff, &[("item", &id), ("category", "4"), ("csrf", &token)]).status, 303);
    let held = c.held_id("stranger@163.com");
    assert_eq!(c.post("/review/approve", &staff, &[("id", &held), ("department", "图克所"), ("remember", "1"), ("csrf", &token)]).status, 303);
    assert_eq!(c.post(&format!("/items/{id}/adopt"), &staff, &[("level", "city"), ("date", "2024-04-02"), ("channel", "市局公众号"), ("csrf", &token)]).status, 303);
    let (admin, atoken) = c.login(ADMIN);
    assert_eq!(c.post("/users/role", &admin, &[("name", VIEWER.0), ("role", "staff"), ("csrf", &atoken)]).status, 303);
    let page = c.get("/audit", &staff).text();
    let cells = |action: &str| -> Vec<String> {
        let at = page.find(&format!("<td>{action}</td>")).unwrap_or_else(|| panic!("no {action} in {page}"));
        let row = &page[page[..at].rfind("<tr>").unwrap()..at + page[at..].find("</tr>").unwrap()];
        row.split("<td").skip(1).map(|c| c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()].to_string()).collect()
    };
    let r = cells("改类别");
    assert_eq!((r[2].as_str(), r[5].as_str(), r[6].as_str()), ("张三（控制台）", "未分类", "④暖警爱警"), "{r:?}");
    let r = cells("批准待审核邮件");
    assert_eq!((r[5].as_str(), r[6].as_str()), ("待审核", "计入图克派出所 2024-03（1 个文件），记住发件人"), "{r:?}");
    let r = cells("登记采用");
    assert_eq!((r[5].as_str(), r[6].as_str()), ("—", "2024-04-02 市局采用，渠道：市局公众号"), "{r:?}");
    let r = cells("更改账号权限");
    assert_eq!((r[2].as_str(), r[5].as_str(), r[6].as_str()), ("admin（控制台）", "只读", "工作人员"), "{r:?}");
    for code in ["uncategorized", "Package {", "{&quot;", "staff", "web:", "remember_sender"] {
        assert!(!page.contains(code), "{code} on the audit page: {page}");
    }
}

/// The board opens on the latest month with mail (not an empty current month), names
/// the categories, and has the totals line of `status`.
#[test]
fn console_board_opens_on_the_latest_month_with_totals_and_category_names() {
    let c = Console::start();
    let (viewer, _) = c.login(VIEWER);
    let html = c.get("/", &viewer).text();
    assert!(html.contains("2024-03 报送看板"), "the latest month with mail: {html}");
    let at = html.find("id=\"totals\"").unwrap();
    let totals = &html[at..at + html[at..].find("</p>").unwrap()];
    assert!(totals.contains("共 20 个单位：按时 1，未报 19；照片 2 张，视频 0 个"), "{totals}");
    let cli = c.app.ok(&["status", "--cycle", "2024-03"]);
    assert!(cli.contains("按时 1 个") && cli.contains("未报 19 个"), "the same counts as status: {cli}");
    for name in ["①党的建设", "④暖警爱警", "⑩民警辅警生活点滴"] {
        assert!(html.contains(&format!("<span>{name}</span>")), "{name} not on the board: {html}");
    }
}

/// The page does not scroll sideways, and the menu is one line: at 390 px (a phone).
fn fits_a_phone(b: &crate::webdriver::Browser, page: &str) {
    let wide = b.script("return [document.documentElement.scrollWidth, window.innerWidth, document.querySelector('.top nav').getBoundingClientRect().height]");
    let (scroll, inner, nav) = (wide[0].as_f64().unwrap(), wide[1].as_f64().unwrap(), wide[2].as_f64().unwrap());
    assert!(scroll <= inner, "{page}: the page scrolls sideways ({scroll} > {inner})");
    assert!(nav < 40.0, "{page}: the menu takes {nav} px (more than one line)");
}

/// The office's day in a real browser, at 1400 px and at 390 px: the board (latest
/// month, totals, category names) and its 导出 Excel as the browser downloads it; a
/// recategorization and an approval, each confirmed in words; search by what is typed,
/// with the status column; scores; the audit page in words. Screenshots of each page at
/// both widths go under target/tmp/screenshots/.
#[test]
fn console_office_day_in_headless_chromium_at_1400_and_390() {
    let c = Console::start();
    let b = crate::webdriver::Browser::start();
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    b.resize(1400, 900);
    b.goto(&c.url("/"));
    b.type_into("input[name=name]", STAFF.0);
    b.type_into("input[name=password]", STAFF.1);
    b.click("form.login button");
    b.wait_for_title("看板 2024-03 · 报送");
    assert!(b.text("#totals").contains("共 20 个单位：按时 1，未报 19"), "{}", b.text("#totals"));
    assert!(b.text("#legend").contains("④暖警爱警"), "{}", b.text("#legend"));
    b.screenshot(&shots.join("board-1400.png"));

    // 导出 Excel, fetched by the page with its session as a click would download it.
    let got = b.script_async(
        "var done = arguments[arguments.length - 1];\
         fetch(document.getElementById('export').href).then(function (r) { return r.arrayBuffer().then(function (a) {\
           var s = '', u = new Uint8Array(a); for (var i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);\
           done([r.status, r.headers.get('content-type'), btoa(s)]); }); });",
    );
    assert_eq!(got[0], 200, "{got}");
    let xlsx = crate::webdriver::decode_base64(got[2].as_str().unwrap());
    let rows = &sheets(&xlsx)[0].1;
    assert!(rows.iter().any(|r| r[0] == "嘎鲁图派出所" && r[1] == "按时"), "{rows:?}");

    let id = c.item("社区走访.jpg")["id"].to_string();
    b.goto(&c.url(&format!("/items/{id}")));
    b.click("form[action='/items/recategorize'] select[name=category] option[value='4']");
    b.click("form[action='/items/recategorize'] button");
    eventually("the change is confirmed", || b.text("main").contains("已改为④暖警爱警"));
    assert_eq!(b.text("#flash"), "已改为④暖警爱警");
    b.screenshot(&shots.join("item-1400.png"));

    let held = c.held_id("stranger@163.com");
    b.goto(&c.url("/review"));
    // The thumbnail is a lazy image, fetched after the page itself has loaded.
    let loaded = || b.script(&format!("var i = document.querySelector('#held-{held} img'); return i && i.complete ? i.naturalWidth : 0")).as_u64().unwrap_or(0);
    eventually("the held mail's photo shows before approval", || loaded() > 0);
    assert_eq!(loaded(), 320, "a 320 px thumbnail");
    let chosen = b.script(&format!("return document.querySelector('#held-{held} select[name=department]').value")).as_str().unwrap().to_string();
    assert_eq!(chosen, "图克派出所", "the guess is chosen");
    b.click(&format!("#held-{held} form[action='/review/approve'] button"));
    eventually("the approval is confirmed", || b.text("main").contains("已批准邮件"));
    assert_eq!(b.text("#flash"), format!("已批准邮件 {held}，计入{chosen} 2024-03（1 个文件）"));
    b.screenshot(&shots.join("review-1400.png"));

    b.goto(&c.url("/search"));
    b.type_into("input[name=q]", "嘎鲁图所 2024-03");
    b.click("form.search button");
    eventually("the results", || b.text("main").contains("找到 3 个文件"));
    assert_eq!(b.script("return document.querySelector('select[name=department]').value"), "", "the words stay words: {}", b.text("main"));
    assert!(b.text("#results").contains("说明.exe") && b.text("#results").contains("拒收"), "{}", b.text("#results"));
    b.screenshot(&shots.join("search-1400.png"));

    b.goto(&c.url("/audit"));
    let audit = b.text("main");
    assert!(audit.contains("张三（控制台）") && audit.contains("④暖警爱警") && audit.contains("计入") && !audit.contains("uncategorized"), "{audit}");
    b.screenshot(&shots.join("audit-1400.png"));
    b.goto(&c.url("/scores"));
    b.click("details.dept summary");
    b.screenshot(&shots.join("scores-1400.png"));
    b.goto(&c.url("/gallery/2024-03/嘎鲁图派出所"));
    b.screenshot(&shots.join("gallery-1400.png"));

    // A phone.
    b.resize(390, 844);
    let pages = [
        ("board", "/".to_string()),
        ("gallery", "/gallery/2024-03/嘎鲁图派出所".to_string()),
        ("item", format!("/items/{id}")),
        ("review", "/review".to_string()),
        ("search", "/search?q=嘎鲁图所+2024-03".to_string()),
        ("scores", "/scores".to_string()),
        ("audit", "/audit".to_string()),
    ];
    for (name, path) in &pages {
        b.goto(&c.url(path));
        b.screenshot(&shots.join(format!("{name}-390.png")));
        fits_a_phone(&b, path);
    }
    b.goto(&c.url("/"));
    let cell = b.script("return document.querySelector('td.dep').getBoundingClientRect().height").as_f64().unwrap();
    assert!(cell < 40.0, "department names on one line, not one character per line ({cell} px high)");
}

/// The gallery and the item page for people: a file from an archive is captioned by its
/// name (the archive path on hover and under 详细信息), a duplicate says 重复 once, a
/// video without a picture says its length, size and resolution; the item page shows
/// 拍摄时间 and keeps the format, sharpness and SHA-256 behind 详细信息.
#[test]
fn console_gallery_and_item_page_for_people() {
    use crate::fixtures::{ZipEntry, mp4_video, zip};
    let c = Console::start();
    let archive = zip(&[ZipEntry::utf8("3月素材/巡逻/夜巡.jpg", &jpeg(41))]);
    c.app.import_one("z.eml", &Mail::new("tkpcs@qq.com", "图克派出所3月素材", MAR19).attach("3月素材.zip", &archive).attach("巡逻.mp4", &mp4_video(72, 1920, 1080, 1_710_813_600)).build());
    c.app.import_one("d.eml", &Mail::new("tkpcs@qq.com", "图克派出所3月素材补充", "Wed, 20 Mar 2024 10:00:00 +0800").attach("夜巡2.jpg", &jpeg(41)).build());
    let (viewer, _) = c.login(VIEWER);
    let gallery = c.get("/gallery/2024-03/图克派出所", &viewer).text();
    assert!(gallery.contains("title=\"3月素材.zip&#x2f;3月素材&#x2f;巡逻&#x2f;夜巡.jpg\">夜巡.jpg</a>"), "{gallery}");
    assert!(!gallery.contains(">3月素材.zip"), "{gallery}");
    let dup = &gallery[gallery.find(">夜巡2.jpg</a>").unwrap()..];
    let dup = &dup[..dup.find("</figcaption>").unwrap()];
    assert_eq!(dup.matches("重复").count(), 1, "重复 once: {dup}");
    assert!(gallery.contains("视频 1:12 · 1920×1080 · "), "{gallery}");

    let id = c.item("3月素材.zip/3月素材/巡逻/夜巡.jpg")["id"].to_string();
    let page = c.get(&format!("/items/{id}"), &viewer).text();
    assert!(page.contains("<h1>夜巡.jpg</h1>") && page.contains("<th>拍摄时间</th>"), "{page}");
    let fold = page.find("<summary>详细信息</summary>").unwrap_or_else(|| panic!("{page}"));
    for technical in ["image&#x2f;jpeg", "SHA-256", "3月素材.zip&#x2f;3月素材&#x2f;巡逻&#x2f;夜巡.jpg</td>"] {
        let at = page.find(technical).unwrap_or_else(|| panic!("{technical} not on the page"));
        assert!(at > fold, "{technical} is behind 详细信息");
    }
    let video = c.app.items(&[]).into_iter().find(|i| i["name"] == "巡逻.mp4").unwrap()["id"].to_string();
    let page = c.get(&format!("/items/{video}"), &viewer).text();
    assert!(page.contains("<th>时长</th><td>1:12</td>") && page.contains("1920 × 1080") && page.contains("2024-03-19 10:00"), "{page}");
}

/// 改月份 from the item page: the mail's month and a choice of months around it, no
/// mail number to type; the page says what moved, and the board follows.
#[test]
fn console_moves_a_package_to_another_month_from_the_item_page() {
    let c = Console::start();
    let (staff, token) = c.login(STAFF);
    let item = c.item("社区走访.jpg");
    let (id, package) = (item["id"].to_string(), item["package"].to_string());
    let page = c.get(&format!("/items/{id}"), &staff).text();
    let at = page.find("id=\"reassign\"").unwrap_or_else(|| panic!("{page}"));
    let form = &page[at..at + page[at..].find("</form>").unwrap()];
    assert!(form.contains(&format!("name=\"id\" value=\"{package}\"")) && form.contains("这封邮件计入 2024-03；整封（3 个文件）改到"), "{form}");
    assert!(form.contains("<option selected>2024-04</option>") && form.contains("<option>2023-12</option>") && !form.contains("<option>2024-03</option>"), "{form}");
    let r = c.post("/review/reassign", &staff, &[("id", &package), ("cycle", "2024-04"), ("back", &format!("/items/{id}")), ("csrf", &token)]);
    assert_eq!(r.header("location"), Some(format!("/items/{id}").as_str()));
    assert_eq!(c.said(&r, &staff), format!("已把邮件 {package}（嘎鲁图派出所）从 2024-03 改到 2024-04"));
    assert_eq!(c.item("社区走访.jpg")["cycle"], "2024-04");
    let (viewer, _) = c.login(VIEWER);
    assert!(!c.get(&format!("/items/{id}"), &viewer).text().contains("id=\"reassign\""), "a viewer sees no form");
}

/// 考核计分: a year picker, each department folded under its rank and total, 已封顶 where
/// an item reached its maximum, and 登记计分 for staff: the same check and audit as
/// `score add`, confirmed in words, refused in words.
#[test]
fn console_scores_page_with_year_picker_folding_cap_and_entries() {
    let c = Console::start();
    let (staff, token) = c.login(STAFF);
    let page = c.get("/scores", &staff).text();
    assert!(page.contains("<option value=\"2024\" selected>2024 年</option>") && page.contains("<details class=\"group dept\""), "{page}");
    assert!(page.contains("id=\"score-add\""), "{page}");
    let item = c.app.ok(&["score", "list", "--year", "2024"]);
    assert!(item.contains("没有手工计分登记"), "{item}");
    // An item that takes entries, as the form offers it.
    let at = page.find("<select name=\"item\">").unwrap();
    let value = &page[at..];
    let value = &value[value.find("value=\"").unwrap() + 7..];
    let value = value[..value.find('"').unwrap()].to_string();
    let r = c.post("/scores/add", &staff, &[("department", "图克所"), ("item", &value), ("points", "99"), ("date", "2024-04-12"), ("csrf", &token)]);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("不能登记："), "{}", r.text());
    let (viewer, vtoken) = c.login(VIEWER);
    assert!(!c.get("/scores", &viewer).text().contains("id=\"score-add\""), "a viewer sees no form");
    assert_eq!(c.post("/scores/add", &viewer, &[("department", "图克所"), ("item", &value), ("points", "0.3"), ("csrf", &vtoken)]).status, 403);
    let r = c.post("/scores/add", &staff, &[("department", "嘎鲁图所"), ("item", "矩阵响应"), ("points", "-0.2"), ("date", "2024-04-08"), ("note", "转发任务未完成"), ("csrf", &token)]);
    let said = c.said(&r, &staff);
    assert!(said.starts_with("已登记计分：2024-04-08 嘎鲁图派出所 矩阵响应 -0.2"), "{said}");
    let a = &c.audit()[0];
    assert_eq!((a["who"].as_str(), a["action"].as_str()), (Some("web:张三"), Some("score_add")));
    assert!(c.app.ok(&["score", "list", "--year", "2024"]).contains("嘎鲁图派出所  矩阵响应"), "the same ledger as score add");
    let page = c.get("/scores", &staff).text();
    assert!(page.contains("转发任务未完成"), "the entry is among the department's lines: {page}");
    let bad_year = c.get("/scores?year=2023", &staff);
    assert!(bad_year.status == 400 && bad_year.text().contains("考核细则是 2024 年的"), "{}", bad_year.text());
}

/// 待审核 shows what a held mail holds before it is approved: each file's thumbnail,
/// name and size, and the files it would refuse with the reason; the thumbnails are
/// served while the mail is held, and not after.
#[test]
fn console_review_shows_the_held_mail_files_before_approval() {
    let c = Console::start();
    c.app.import_one("held3.eml", &Mail::new("nobody@126.com", "河南所3月素材", MAR19).attach("巡逻.jpg", &jpeg(51)).attach("工具.exe", b"MZ not a photo").build());
    let (staff, token) = c.login(STAFF);
    let held = c.held_id("someone@qq.com");
    let page = c.get("/review", &staff).text();
    let at = page.find(&format!("id=\"held-{held}\"")).unwrap_or_else(|| panic!("{page}"));
    let section = &page[at..at + page[at..].find("</section>").unwrap()];
    assert!(section.contains(&format!("<img src=\"/review/{held}/thumbs/0\"")) && section.contains("夜巡.jpg · "), "{section}");
    assert!(page.contains("将拒收：工具.exe：可执行程序"), "{page}");
    let thumb = c.get(&format!("/review/{held}/thumbs/0"), &staff);
    assert_eq!((thumb.status, thumb.header("content-type")), (200, Some("image/jpeg")));
    assert_eq!(&thumb.body[..2], b"\xff\xd8", "a JPEG");
    assert_eq!(c.get(&format!("/review/{held}/thumbs/9"), &staff).status, 404);
    assert_eq!(c.post("/review/approve", &staff, &[("id", &held), ("department", "无定河派出所"), ("csrf", &token)]).status, 303);
    assert_eq!(c.get(&format!("/review/{held}/thumbs/0"), &staff).status, 404, "no longer held");
}

/// Pages go gzipped to a browser that accepts it (and as they are to one that does
/// not); ZIP downloads, originals, thumbnails and Excel files are never compressed
/// again and keep their exact Content-Length.
#[test]
fn console_compresses_pages_but_not_downloads_or_media() {
    use std::io::Read as _;
    let c = Console::start();
    let (viewer, _) = c.login(VIEWER);
    let get = |path: &str, encoding: &str| reply(c.agent.get(&c.url(path)).header("Cookie", &viewer).header("Accept-Encoding", encoding).call());
    let plain = c.get("/?cycle=2024-03", &viewer);
    assert_eq!(plain.header("content-encoding"), None);
    for path in ["/?cycle=2024-03", "/static/app.css", "/search?q=嘎鲁图所"] {
        let r = get(path, "gzip, deflate, br");
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{path}");
        assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()), "{path}");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&r.body[..]).read_to_string(&mut text).unwrap();
        assert!(text.len() > r.body.len(), "{path}: smaller when sent");
        if path.starts_with("/?") {
            assert_eq!(board_row(&text, "嘎鲁图派出所"), board_row(&plain.text(), "嘎鲁图派出所"));
        }
    }
    assert_eq!(get("/?cycle=2024-03", "gzip;q=0").header("content-encoding"), None, "refused gzip");
    let id = c.item("①党建学习.jpg")["id"].to_string();
    for path in ["/download/2024-03".to_string(), format!("/files/{id}"), format!("/thumbs/{id}"), "/export/board.xlsx?cycle=2024-03".to_string()] {
        let r = get(&path, "gzip");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-encoding"), None, "{path} is not compressed again");
        if !path.starts_with("/export") {
            assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()), "{path}: exact length");
        }
    }
    assert_eq!(unzip(&get("/download/2024-03", "gzip").body).len(), 2);
}
