//! 超大附件 (issue 19) through the real binary: mail carrying QQ and 163 links is
//! imported, `links fetch` downloads from the loopback imitation of the providers
//! (`providers`), and what the office sees is checked: each link's state and reason,
//! the video counted in its place with its size and duration, the file in the tree,
//! and what the provider's servers were asked.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixtures::{Mail, Part, ZipEntry, jpeg, mp4_movie, noise, zip};
use crate::harness::{App, signal, wait_until};
use crate::providers::{self, Providers, dashi_link, netease_link, qq_link, qq_old_link};

const MAR19: &str = "Tue, 19 Mar 2024 10:00:00 +0800";
const MAR20: &str = "Wed, 20 Mar 2024 10:00:00 +0800";
const AS_OF: &str = "2024-03-28T12:00:00+08:00";
/// 图克派出所 sends from QQ Mail, 嘎鲁图派出所 from 163 (config/departments.toml).
const TUKE: &str = "tkpcs@qq.com";
const GALUTU: &str = "gltpcs@163.com";
/// About the size QQ writes as "1.20M".
const SIZE: usize = 1_258_291;

/// A provider imitation and an installation that reaches it.
fn setup(timeout: &str) -> (Providers, App) {
    let p = Providers::start();
    let app = App::with_config(&p.config(timeout));
    (p, app)
}

/// A playable MP4 (10 s, 1080p) of exactly `len` bytes, distinct for each seed.
fn video(seed: u64, len: usize) -> Vec<u8> {
    let overhead = mp4_movie(10, 1920, 1080, None, &[]).len();
    let v = mp4_movie(10, 1920, 1080, None, &noise(len - overhead, seed));
    assert_eq!(v.len(), len);
    v
}

/// When the links expire, as the mail's caption writes it: three weeks from now, so
/// that a mail of March 2024 imported today still has its files on the server.
fn expiry() -> String {
    let t = (chrono::Utc::now() + chrono::Duration::days(21)).with_timezone(&chrono_tz::Asia::Shanghai);
    t.format("%Y年%-m月%-d日 %H:%M").to_string()
}

/// One link's line, as QQ writes it: name (size, expiry 到期)进入下载页面：URL.
fn qq_line(name: &str, len: usize, url: &str) -> String {
    format!("{name} ({:.2}M, {} 到期)进入下载页面：{url}\n", len as f64 / 1_048_576.0, expiry())
}

/// A QQ Mail message whose body holds only 超大附件 links.
fn qq_mail(from: &str, subject: &str, date: &str, lines: &[String]) -> Mail {
    let body = format!("从QQ邮箱发来的超大附件\n\n{}", lines.concat());
    Mail::new(from, subject, date).no_parts().part(Part::text(&body))
}

/// A 163 message: the links in its HTML body, as 163 sends them.
fn netease_mail(from: &str, subject: &str, date: &str, links: &[(&str, usize, String)]) -> Mail {
    let mut html = String::from("<div style=\"font-size:14px\">从网易163邮箱发来的超大附件</div>");
    for (name, len, url) in links {
        html += &format!(
            "<div>{name} ({:.2}M, {} 到期)<a href=\"{}\" target=\"_blank\">下载</a></div>",
            *len as f64 / 1_048_576.0,
            expiry(),
            url.replace('&', "&amp;")
        );
    }
    Mail::new(from, subject, date).no_parts().part(Part::html(&html))
}

/// `links --json`.
fn links(app: &App) -> Vec<Value> {
    serde_json::from_str::<Value>(&app.ok(&["links", "--json"])).unwrap().as_array().unwrap().clone()
}

/// The link of `url` (the first, if several mails carry it).
fn link(app: &App, url: &str) -> Value {
    let all = links(app);
    all.iter().find(|l| l["url"] == url).unwrap_or_else(|| panic!("no link {url} in {all:#?}")).clone()
}

fn state(app: &App, url: &str) -> (String, String) {
    let l = link(app, url);
    (l["state"].as_str().unwrap().to_string(), l["reason_code"].as_str().unwrap_or("").to_string())
}

fn fetch(app: &App) -> String {
    app.ok(&["links", "fetch"])
}

/// Items (any status) taken in for the link `url`.
fn items_of(app: &App, url: &str) -> Vec<Value> {
    app.items(&[]).into_iter().filter(|i| i["url"] == url).collect()
}

fn sha256(b: &[u8]) -> String {
    baosong::inspect::sha256_hex(b)
}

/// Files left under data/tmp/links.
fn leftovers(app: &App) -> Vec<String> {
    std::fs::read_dir(app.data().join("tmp/links")).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

/// The item counted for `url` is the served video, in place of the link.
fn assert_counted_video(app: &App, url: &str, bytes: &[u8], department: &str, name: &str) {
    let items = items_of(app, url);
    assert_eq!(items.len(), 1, "one item for the link: {items:#?}");
    let v = &items[0];
    assert_eq!(v["kind"], "video", "{v:#}");
    assert_eq!(v["status"], "accepted", "{v:#}");
    assert_eq!(v["size"].as_u64(), Some(bytes.len() as u64), "{v:#}");
    assert!(v["duration_ms"].as_i64().unwrap_or(0) > 0, "a duration: {v:#}");
    assert_eq!(v["sha256"], sha256(bytes));
    assert_eq!(v["department"], department);
    assert_eq!(v["cycle"], "2024-03");
    let tree = app.tree();
    let prefix = format!("2024-03/{department}/");
    let filed = tree.iter().find(|t| t.starts_with(&prefix) && t.ends_with(name)).unwrap_or_else(|| panic!("{name} not under {prefix}: {tree:?}"));
    assert_eq!(std::fs::read(app.data().join("tree").join(filed)).unwrap(), bytes, "the tree holds the served bytes");
}

#[test]
fn a_qq_link_is_fetched_and_counted_as_the_video_it_was() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月巡逻视频.mp4";
    let bytes = video(1, SIZE);
    p.add_file("qqok1", name, bytes.clone());
    let url = qq_link("qqok1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(name, bytes.len(), &url)]).build());

    // Importing records the link and downloads nothing.
    assert!(p.requests().is_empty(), "{:#?}", p.requests());
    let before = items_of(&app, &url);
    assert_eq!((before.len(), before[0]["kind"].as_str()), (1, Some("link")), "{before:#?}");
    assert_eq!(state(&app, &url), ("waiting".into(), String::new()));
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["videos"], 0, "a link is not a work until its file is in");

    let out = fetch(&app);
    assert!(out.contains("已下载"), "{out}");
    let l = link(&app, &url);
    assert_eq!(l["state"], "fetched", "{l:#}");
    assert_eq!(l["file"]["size"].as_u64(), Some(bytes.len() as u64), "{l:#}");
    assert_eq!(l["file"]["sha256"], sha256(&bytes));
    assert_counted_video(&app, &url, &bytes, "图克派出所", name);
    assert!(app.items(&[]).iter().all(|i| i["kind"] != "link"), "the video replaces the link item");
    let row = app.row("2024-03", AS_OF, "图克派出所");
    assert_eq!((row["videos"].as_i64(), row["state"].as_str()), (Some(1), Some("on_time")), "{row:#}");
    assert!(leftovers(&app).is_empty(), "{:?}", leftovers(&app));

    // The flow: the page (no cookie yet), func=4 with the page's cookie, the file with it.
    let page = &p.requests_to("wx.mail.qq.com")[0];
    assert!(page.target.contains("func=3") && page.cookie.is_none(), "{page:?}");
    let files = p.file_requests("qqok1");
    assert_eq!(files.len(), 1, "{files:#?}");
    assert_eq!(files[0].host, providers::QQ_FILE_HOST);
    assert!(files[0].cookie.as_deref().is_some_and(|c| c.contains("mail5k=")), "{:?}", files[0]);
    assert!(files[0].range.is_none());
    for r in p.requests().iter().filter(|r| !r.host.ends_with("qq.com")) {
        assert!(r.cookie.is_none(), "a QQ cookie went to {}: {r:?}", r.host);
    }
    // Nothing more to do.
    assert!(fetch(&app).contains("没有到期"));
    assert_eq!(p.file_requests("qqok1").len(), 1);
}

#[test]
fn a_163_link_and_a_dashi_link_are_fetched_and_counted() {
    let (p, app) = setup("60s");
    let (a, b) = ("嘎鲁图派出所3月反诈宣传.mp4", "嘎鲁图派出所3月巡逻 防控.mp4");
    let (va, vb) = (video(2, SIZE), video(3, SIZE + 40_000));
    p.add_file("neok1", a, va.clone());
    p.add_file("dsok1", b, vb.clone());
    let (ua, ub) = (netease_link("neok1"), dashi_link("dsok1"));
    let mail = netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &[(a, va.len(), ua.clone()), (b, vb.len(), ub.clone())]);
    app.import_one("a.eml", &mail.build());
    assert_eq!(links(&app).len(), 2);

    fetch(&app);
    assert_eq!(state(&app, &ua), ("fetched".into(), String::new()));
    assert_eq!(state(&app, &ub), ("fetched".into(), String::new()));
    assert_counted_video(&app, &ua, &va, "嘎鲁图派出所", a);
    assert_counted_video(&app, &ub, &vb, "嘎鲁图派出所", b);
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["videos"], 2);

    // The prepare calls, then the files; no cookie anywhere.
    let prepare = p.requests_to("mail.163.com");
    assert_eq!((prepare.len(), prepare[0].method.as_str(), prepare[0].target.as_str()), (1, "POST", "/filehub/bg/dl/prepare"), "{prepare:#?}");
    let dashi = p.requests_to("dashi.163.com");
    assert_eq!((dashi.len(), dashi[0].method.as_str(), dashi[0].target.as_str()), (1, "POST", "/filehub-master/file/dl/prepare2"), "{dashi:#?}");
    assert_eq!(p.file_requests("neok1").len(), 1);
    assert_eq!(p.file_requests("dsok1").len(), 1);
    assert!(p.requests().iter().all(|r| r.cookie.is_none()), "{:#?}", p.requests());
}

#[test]
fn old_qq_links_are_fetched_over_https_and_the_json_page_is_followed() {
    let (p, app) = setup("60s");
    let (a, b) = ("图克派出所3月训练.mp4", "图克派出所3月走访.mp4");
    let (va, vb) = (video(4, SIZE), video(5, SIZE));
    p.add_file("oldok1", a, va.clone());
    p.add_file("json1", b, vb.clone());
    let (ua, ub) = (qq_old_link("oldok1"), qq_link("json1"));
    assert!(ua.starts_with("http://"));
    app.import_one("a.eml", &qq_mail(TUKE, "图克所3月素材", MAR19, &[qq_line(a, va.len(), &ua), qq_line(b, vb.len(), &ub)]).build());

    fetch(&app);
    assert_eq!(state(&app, &ua), ("fetched".into(), String::new()));
    assert_eq!(state(&app, &ub), ("fetched".into(), String::new()));
    assert_counted_video(&app, &ua, &va, "图克派出所", a);
    assert_counted_video(&app, &ub, &vb, "图克派出所", b);
    // The old address answered over https (the imitation only speaks https), then
    // redirected to the landing page.
    let old = p.requests_to("mail.qq.com");
    assert_eq!(old.len(), 1, "{old:#?}");
    assert!(old[0].target.starts_with("/cgi-bin/ftnExs_download?"), "{old:?}");
    // The JSON page: GET with no address in it, then POST f=json.
    let json: Vec<_> = p.requests_for("json1").into_iter().filter(|r| r.host == "wx.mail.qq.com").map(|r| (r.method, r.target.contains("func=3"))).collect();
    assert_eq!(json, [("GET".to_string(), true), ("POST".to_string(), true), ("GET".to_string(), false)], "page, JSON, func=4");
    assert!(p.file_requests("json1")[0].cookie.as_deref().is_some_and(|c| c.contains("mail5k=")));
}

#[test]
fn files_the_provider_says_are_gone_or_used_up() {
    let (p, app) = setup("60s");
    let qq: Vec<(&str, String)> = ["expired1", "deleted1", "limit1"].iter().map(|k| (*k, qq_link(k))).collect();
    let ne: Vec<(&str, String)> = ["expired2", "deleted2", "limit2"].iter().map(|k| (*k, netease_link(k))).collect();
    let lines: Vec<String> = qq.iter().map(|(k, u)| qq_line(&format!("图克派出所3月{k}.mp4"), SIZE, u)).collect();
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &lines).build());
    let names: Vec<String> = ne.iter().map(|(k, _)| format!("嘎鲁图派出所3月{k}.mp4")).collect();
    let entries: Vec<(&str, usize, String)> = ne.iter().zip(&names).map(|((_, u), n)| (n.as_str(), SIZE, u.clone())).collect();
    app.import_one("b.eml", &netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &entries).build());

    fetch(&app);
    let expected = [("expired", "link_expired"), ("expired", "link_deleted"), ("needs_office", "link_limit_reached")];
    for (set, what) in [(&qq, "QQ"), (&ne, "163")] {
        for ((key, url), (st, code)) in set.iter().zip(expected) {
            assert_eq!(state(&app, url), (st.to_string(), code.to_string()), "{what} {key}");
            let l = link(&app, url);
            assert!(!l["reason"].as_str().unwrap_or("").is_empty(), "a reason in Chinese: {l:#}");
            assert_eq!(items_of(&app, url)[0]["kind"], "link", "the link stays listed");
            assert!(p.file_requests(key).is_empty(), "{what} {key}: no file asked for");
        }
    }
    assert!(app.items(&[]).iter().all(|i| i["kind"] == "link"), "nothing counted");
    // Refusals are not tried again.
    let asked = p.requests().len();
    fetch(&app);
    assert_eq!(p.requests().len(), asked);
}

#[test]
fn a_web_page_instead_of_the_file_is_not_media() {
    let (p, app) = setup("60s");
    for k in ["html1", "htmlbin1", "html2", "htmlbin2"] {
        p.add_file(k, &format!("{k}.mp4"), video(6, SIZE));
    }
    let (q1, q2) = (qq_link("html1"), qq_link("htmlbin1"));
    let (n1, n2) = (netease_link("html2"), netease_link("htmlbin2"));
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line("html1.mp4", SIZE, &q1), qq_line("htmlbin1.mp4", SIZE, &q2)]).build());
    app.import_one("b.eml", &netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &[("html2.mp4", SIZE, n1.clone()), ("htmlbin2.mp4", SIZE, n2.clone())]).build());

    fetch(&app);
    for (k, url) in [("html1", &q1), ("htmlbin1", &q2), ("html2", &n1), ("htmlbin2", &n2)] {
        assert_eq!(state(&app, url), ("needs_office".into(), "link_not_media".into()), "{k}");
        assert_eq!(p.file_requests(k).len(), 1, "{k}: the file host was asked once");
    }
    assert!(app.items(&[]).iter().all(|i| i["kind"] == "link"), "nothing counted");
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["videos"], 0);
    assert!(leftovers(&app).is_empty(), "{:?}", leftovers(&app));
    assert!(app.tree().iter().all(|t| !t.contains("html")), "{:?}", app.tree());
}

#[test]
fn a_file_of_another_size_than_the_caption_is_refused() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月巡逻视频.mp4";
    p.add_file("small1", name, video(7, SIZE / 2));
    let url = qq_link("small1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(name, SIZE, &url)]).build());
    fetch(&app);
    assert_eq!(state(&app, &url), ("needs_office".into(), "link_size_mismatch".into()));
    assert!(link(&app, &url)["reason"].as_str().unwrap().contains("5%"));
    assert_eq!(items_of(&app, &url)[0]["kind"], "link");
    assert!(leftovers(&app).is_empty(), "{:?}", leftovers(&app));
}

#[test]
fn redirects_off_the_providers_are_refused_and_never_followed() {
    let (p, app) = setup("60s");
    for k in ["offlist1", "private1", "offlist2", "private2"] {
        p.add_file(k, &format!("{k}.mp4"), video(8, SIZE));
    }
    let (q1, q2) = (qq_link("offlist1"), qq_link("private1"));
    let (n1, n2) = (netease_link("offlist2"), netease_link("private2"));
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line("offlist1.mp4", SIZE, &q1), qq_line("private1.mp4", SIZE, &q2)]).build());
    app.import_one("b.eml", &netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &[("offlist2.mp4", SIZE, n1.clone()), ("private2.mp4", SIZE, n2.clone())]).build());

    fetch(&app);
    for url in [&q1, &q2, &n1, &n2] {
        assert_eq!(state(&app, url), ("needs_office".into(), "link_refused".into()), "{url}");
    }
    // QQ's func=4 was asked and its redirect not followed; no file host was reached.
    for k in ["offlist1", "private1"] {
        assert!(p.requests_for(k).iter().any(|r| r.target.contains("func=4")), "{k}");
    }
    assert!(p.requests().iter().all(|r| !r.is_file() && r.host != "evil.example" && r.host != "10.0.0.1"), "{:#?}", p.requests());
    assert!(link(&app, &q1)["reason"].as_str().unwrap().contains("evil.example"), "{:#}", link(&app, &q1));
}

#[test]
fn a_body_that_never_ends_or_crawls_is_given_up_and_tried_later() {
    let (p, app) = setup("3s");
    p.add_file("endless1", "endless1.mp4", video(9, SIZE));
    p.add_file("slow1", "slow1.mp4", video(10, SIZE));
    let (u1, u2) = (qq_link("endless1"), netease_link("slow1"));
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line("endless1.mp4", SIZE, &u1)]).build());
    app.import_one("b.eml", &netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &[("slow1.mp4", SIZE, u2.clone())]).build());

    let started = Instant::now();
    let out = fetch(&app);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "links fetch took {took:?}: {out}");
    for url in [&u1, &u2] {
        let l = link(&app, url);
        assert_eq!((l["state"].as_str(), l["reason_code"].as_str()), (Some("waiting"), Some("link_network")), "{l:#}");
        assert!(l["next_attempt_at"].is_string(), "a later try: {l:#}");
        assert_eq!(l["tries"], 1);
    }
    assert!(out.contains("稍后自动重试"), "{out}");
    // Not due yet: the next run does not ask again.
    let asked = p.requests().len();
    fetch(&app);
    assert_eq!(p.requests().len(), asked);
    assert!(app.items(&[]).iter().all(|i| i["kind"] == "link"));
}

#[test]
fn a_link_repeated_in_two_mails_is_downloaded_once() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月巡逻视频.mp4";
    let bytes = video(11, SIZE);
    p.add_file("twice1", name, bytes.clone());
    let url = qq_link("twice1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(name, SIZE, &url)]).build());
    app.import_one("b.eml", &qq_mail(TUKE, "图克派出所3月宣传素材（再发一次）", MAR20, &[qq_line(name, SIZE, &url)]).build());
    let rows: Vec<Value> = links(&app).into_iter().filter(|l| l["url"] == url).collect();
    assert_eq!(rows.len(), 2);

    fetch(&app);
    assert_eq!(p.file_requests("twice1").len(), 1, "{:#?}", p.requests());
    assert!(links(&app).iter().all(|l| l["state"] == "fetched"), "{:#?}", links(&app));
    let mut items = items_of(&app, &url);
    items.sort_by_key(|i| i["received_at"].as_str().unwrap().to_string());
    assert_eq!(items.len(), 2, "{items:#?}");
    assert_eq!((items[0]["status"].as_str(), items[0]["kind"].as_str()), (Some("accepted"), Some("video")), "{:#}", items[0]);
    assert_eq!(items[0]["received_at"], "2024-03-19T10:00:00+08:00");
    assert_eq!(items[1]["status"], "duplicate", "{:#}", items[1]);
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["videos"], 1);
}

#[test]
fn a_download_killed_midway_resumes_where_it_stopped_and_counts_once() {
    let (p, app) = setup("120s");
    let name = "图克派出所3月大型活动.mp4";
    let bytes = video(12, 4 << 20);
    p.add_file("throttled1", name, bytes.clone());
    let url = qq_link("throttled1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(name, bytes.len(), &url)]).build());
    let id = link(&app, &url)["id"].as_i64().unwrap();
    let part = app.data().join(format!("tmp/links/{id}.part"));

    let mut child = app.spawn(&["links", "fetch"]);
    let started = wait_until(Duration::from_secs(30), || std::fs::metadata(&part).is_ok_and(|m| m.len() > 0));
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    assert!(started, "no bytes in {} within 30 s:\n{}", part.display(), app.daemon_log());
    let have = std::fs::metadata(&part).unwrap().len();
    assert!(have > 0 && have < bytes.len() as u64, "{have}");

    assert!(app.items(&[]).iter().all(|i| i["kind"] == "link"), "nothing counted from a partial file");
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["videos"], 0);
    assert_eq!(link(&app, &url)["state"], "waiting");

    fetch(&app);
    let files = p.file_requests("throttled1");
    assert_eq!(files.len(), 2, "{files:#?}");
    assert_eq!(files[0].range, None);
    assert_eq!(files[1].range.as_deref(), Some(format!("bytes={have}-").as_str()), "resumed where the file on disk ends");
    assert_eq!(state(&app, &url), ("fetched".into(), String::new()));
    assert_counted_video(&app, &url, &bytes, "图克派出所", name);
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["videos"], 1);
    assert!(leftovers(&app).is_empty(), "{:?}", leftovers(&app));
}

#[test]
fn a_package_of_only_a_link_received_on_time_is_on_time_when_fetched_later() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月巡逻视频.mp4";
    let bytes = video(13, SIZE);
    p.add_file("ontime1", name, bytes.clone());
    let url = qq_link("ontime1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(name, SIZE, &url)]).build());
    fetch(&app);
    assert_eq!(state(&app, &url).0, "fetched");
    let row = app.row("2024-03", AS_OF, "图克派出所");
    assert_eq!(row["state"], "on_time", "{row:#}");
    assert_eq!(row["first_received_at"], "2024-03-19T10:00:00+08:00");
    assert_eq!((row["videos"].as_i64(), row["packages"].as_i64()), (Some(1), Some(1)), "{row:#}");
}

#[test]
fn a_held_mails_link_waits_for_approval() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月巡逻视频.mp4";
    let bytes = video(14, SIZE);
    p.add_file("held1", name, bytes.clone());
    let url = qq_link("held1");
    app.import_one("a.eml", &qq_mail("someone@qq.com", "乌审旗公安局图克派出所3月份宣传素材", MAR19, &[qq_line(name, SIZE, &url)]).build());
    let queue = app.status("2024-03", AS_OF)["review_queue"].as_array().unwrap().clone();
    assert_eq!(queue.len(), 1, "held: {queue:#?}");

    fetch(&app);
    assert!(p.requests().is_empty(), "held mail's link was fetched: {:#?}", p.requests());
    assert!(links(&app).iter().all(|l| l["url"] != url), "not listed until approved");

    let id = queue[0]["id"].as_str().unwrap().to_string();
    app.ok(&["quarantine", "approve", &id, "--department", "图克所"]);
    fetch(&app);
    assert_eq!(p.file_requests("held1").len(), 1);
    assert_eq!(state(&app, &url).0, "fetched");
    assert_counted_video(&app, &url, &bytes, "图克派出所", name);
}

#[test]
fn the_office_attaches_an_expired_links_file_by_hand() {
    let (p, app) = setup("60s");
    let (a, b) = ("图克派出所3月巡逻视频.mp4", "图克派出所3月训练视频.mp4");
    let (ua, ub) = (qq_link("expired-a"), qq_link("expired-b"));
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(a, SIZE, &ua), qq_line(b, SIZE, &ub)]).build());
    fetch(&app);
    assert_eq!(state(&app, &ua), ("expired".into(), "link_expired".into()));
    assert_eq!(state(&app, &ub), ("expired".into(), "link_expired".into()));
    assert!(p.file_requests("expired-a").is_empty());

    // The department sends the file again another way: the office takes it in.
    let dir = app.dir.path().join("downloads");
    std::fs::create_dir_all(&dir).unwrap();
    let va = video(15, SIZE + 10_000);
    std::fs::write(dir.join(a), &va).unwrap();
    let item_a = items_of(&app, &ua)[0]["id"].as_i64().unwrap().to_string();
    let out = app.ok(&["attach", &item_a, dir.join(a).to_str().unwrap()]);
    assert!(out.contains("已补交"), "{out}");
    assert_eq!(state(&app, &ua).0, "taken_in");
    assert_counted_video(&app, &ua, &va, "图克派出所", a);

    // Another name and size: asked to confirm, in Chinese, until confirmed.
    let other = dir.join("别的视频.mp4");
    let vb = video(16, SIZE / 3);
    std::fs::write(&other, &vb).unwrap();
    let item_b = items_of(&app, &ub)[0]["id"].as_i64().unwrap().to_string();
    let r = app.run(&["attach", &item_b, other.to_str().unwrap()]);
    assert!(!r.ok, "a mismatch must not be taken in unasked:\n{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("确认") && r.stderr.contains("--confirm"), "{}", r.stderr);
    assert_eq!(state(&app, &ub).0, "expired");
    assert_eq!(items_of(&app, &ub)[0]["kind"], "link");
    let out = app.ok(&["attach", &item_b, other.to_str().unwrap(), "--confirm"]);
    assert!(out.contains("已补交"), "{out}");
    assert_eq!(state(&app, &ub).0, "taken_in");
    let items = items_of(&app, &ub);
    assert_eq!((items[0]["kind"].as_str(), items[0]["status"].as_str()), (Some("video"), Some("accepted")), "{items:#?}");
    assert_eq!(items[0]["size"].as_u64(), Some(vb.len() as u64));
    assert_eq!(app.row("2024-03", AS_OF, "图克派出所")["videos"], 2);

    // Both are audited, with who and the file's hash.
    let audit: Vec<Value> = serde_json::from_str::<Value>(&app.ok(&["audit", "--json"])).unwrap().as_array().unwrap().clone();
    let attached: Vec<&Value> = audit.iter().filter(|e| e["action"] == "link_attach").collect();
    assert_eq!(attached.len(), 2, "{audit:#?}");
    assert!(attached.iter().all(|e| e["who"].as_str().unwrap().starts_with("cli:")), "{attached:#?}");
    assert!(attached.iter().any(|e| e["after"].as_str().unwrap().contains(&sha256(&vb))), "{attached:#?}");
    assert!(attached.iter().all(|e| e["before"] == "expired"), "{attached:#?}");
}

#[test]
fn a_link_past_its_captions_date_is_still_tried_once() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月巡逻视频.mp4";
    let bytes = video(17, SIZE);
    p.add_file("late1", name, bytes.clone());
    let url = qq_link("late1");
    // The date QQ wrote in March 2024: long past.
    let line = format!("{name} (1.20M, 2024年4月23日 15:02 到期)进入下载页面：{url}\n");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[line]).build());
    assert_eq!(link(&app, &url)["expires_at"], "2024-04-23T15:02:00+08:00");
    fetch(&app);
    assert_eq!(p.file_requests("late1").len(), 1);
    assert_eq!(state(&app, &url).0, "fetched");
    assert_counted_video(&app, &url, &bytes, "图克派出所", name);
}

/// A login or error page served as a file, with its length: the office is told it
/// is a web page, not that the file's size differs.
#[test]
fn a_web_page_with_its_length_served_as_a_file_is_not_media() {
    let (p, app) = setup("60s");
    p.add_file("htmllen1", "htmllen1.mp4", video(18, SIZE));
    let url = qq_link("htmllen1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line("htmllen1.mp4", SIZE, &url)]).build());
    fetch(&app);
    assert_eq!(state(&app, &url), ("needs_office".into(), "link_not_media".into()), "{:#}", link(&app, &url));
    assert!(leftovers(&app).is_empty(), "{:?}", leftovers(&app));
}

/// `[links] timeout` bounds a download in all, the provider's pages included: a
/// landing page or prepare answer that crawls is given up like a crawling file.
#[test]
fn a_provider_page_that_crawls_is_given_up_within_the_timeout() {
    let (p, app) = setup("3s");
    p.add_file("slowpage1", "slowpage1.mp4", video(19, SIZE));
    p.add_file("slowpage2", "slowpage2.mp4", video(20, SIZE));
    let (u1, u2) = (qq_link("slowpage1"), netease_link("slowpage2"));
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line("slowpage1.mp4", SIZE, &u1)]).build());
    app.import_one("b.eml", &netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &[("slowpage2.mp4", SIZE, u2.clone())]).build());
    let started = Instant::now();
    let out = fetch(&app);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "links fetch took {took:?} with timeout = \"3s\": {out}");
    for url in [&u1, &u2] {
        assert_eq!(state(&app, url), ("waiting".into(), "link_network".into()), "{:#}", link(&app, url));
    }
}

/// A link's file may be a package: a ZIP is unpacked and each work counted, and the
/// name the file host gives (NetEase's Content-Disposition, here with `../`) cannot
/// place anything outside the department's folder.
#[test]
fn a_zip_behind_a_link_is_unpacked_and_its_name_cannot_escape_the_tree() {
    let (p, app) = setup("60s");
    let film = video(21, SIZE);
    let package = zip(&[
        ZipEntry::gbk("嘎鲁图派出所3月\\①党建活动\\IMG_0001.jpg", &jpeg(31)),
        ZipEntry::gbk("嘎鲁图派出所3月\\⑤反诈宣传\\IMG_0002.jpg", &jpeg(32)),
        ZipEntry::gbk("嘎鲁图派出所3月\\⑩民警生活\\训练.mp4", &film),
    ]);
    p.add_file("nezip1", "../../../../tmp/嘎鲁图派出所3月素材.zip", package.clone());
    let url = netease_link("nezip1");
    let caption = "嘎鲁图派出所3月素材.zip";
    app.import_one("a.eml", &netease_mail(GALUTU, "嘎鲁图派出所3月宣传素材", MAR19, &[(caption, package.len(), url.clone())]).build());
    fetch(&app);
    let l = link(&app, &url);
    assert_eq!(l["state"], "fetched", "{l:#}");
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!((row["photos"].as_i64(), row["videos"].as_i64()), (Some(2), Some(1)), "{row:#}");
    let items = items_of(&app, &url);
    assert_eq!(items.len(), 3, "every file of the ZIP is the link's: {items:#?}");
    assert!(items.iter().all(|i| i["status"] == "accepted"), "{items:#?}");
    let tree = app.tree();
    assert_eq!(tree.len(), 3, "{tree:?}");
    assert!(tree.iter().all(|t| t.starts_with("2024-03/嘎鲁图派出所/") && !t.contains("..")), "{tree:?}");
    assert!(tree.contains(&"2024-03/嘎鲁图派出所/⑩民警辅警生活点滴/训练.mp4".to_string()), "{tree:?}");
    assert!(!std::path::Path::new("/tmp/嘎鲁图派出所3月素材.zip").exists());
}

/// Done means (issue 19): the video a link became is a work like any other — adopted
/// and scored, kept by `reprocess` (the raw mail does not contain it: its original is
/// read beside it), and checked by `verify` by its hash.
#[test]
fn a_fetched_video_is_scored_survives_reprocess_and_is_verified() {
    let (p, app) = setup("60s");
    let name = "图克派出所3月宣讲视频.mp4";
    let bytes = video(41, SIZE);
    p.add_file("qqscore1", name, bytes.clone());
    let url = qq_link("qqscore1");
    app.import_one("a.eml", &qq_mail(TUKE, "图克派出所3月宣传素材", MAR19, &[qq_line(name, bytes.len(), &url)]).build());
    fetch(&app);
    assert_counted_video(&app, &url, &bytes, "图克派出所", name);
    let id = items_of(&app, &url)[0]["id"].as_i64().unwrap().to_string();
    app.ok(&["adopt", &id, "--level", "city", "--date", "2024-04-12"]);
    let s: Value = serde_json::from_str(&app.ok(&["score", "--json", "--year", "2024"])).unwrap();
    let d = s["departments"].as_array().unwrap().iter().find(|d| d["department"] == "图克派出所").unwrap();
    let photos = d["items"].as_array().unwrap().iter().find(|i| i["item"] == "图片视频报送").unwrap();
    assert_eq!(photos["raw"].as_f64(), Some(0.2), "a city adoption of the video: {photos:#}");

    // reprocess: the video stays counted, the adoption stays on it, nothing is fetched again.
    let served = p.file_requests("qqscore1").len();
    app.ok(&["reprocess", "--all"]);
    assert_counted_video(&app, &url, &bytes, "图克派出所", name);
    let again: Value = serde_json::from_str(&app.ok(&["score", "--json", "--year", "2024"])).unwrap();
    assert_eq!(again, s, "the scores are the same after reprocess");
    assert_eq!(p.file_requests("qqscore1").len(), served, "reprocess reads the kept original");

    // verify: the original is checked by its hash, and a damaged one is found.
    let ok = app.run(&["verify"]);
    assert!(ok.ok, "{}\n{}", ok.stdout, ok.stderr);
    let l = link(&app, &url);
    let sha = l["file"]["sha256"].as_str().unwrap();
    let original = app.data().join(format!("raw/{}/{sha}.orig", &sha[..2]));
    assert_eq!(std::fs::read(&original).unwrap(), bytes, "the original is kept beside the raw mail");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&original, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut damaged = bytes.clone();
    damaged[SIZE / 2] ^= 0xff;
    std::fs::write(&original, &damaged).unwrap();
    let bad = app.run(&["verify"]);
    assert!(!bad.ok, "{}", bad.stdout);
    assert!(bad.stdout.contains(&format!("{sha}.orig")), "the damaged original is named: {}", bad.stdout);
}

/// `[links] resolve` and `ca_file` exist for tests only: check-config says so while they
/// are set, and refuses a resolve to anything but a loopback address, naming the key.
#[test]
fn the_test_settings_are_warned_about_and_only_loopback_is_allowed() {
    let (_p, app) = setup("60s");
    let out = app.ok(&["check-config"]);
    assert!(out.contains("警告：[links] resolve 已设置") && out.contains("wx.mail.qq.com → 127.0.0.1:"), "{out}");
    let bad = App::with_config("[links]\nresolve = { \"wx.mail.qq.com\" = \"10.0.0.1:443\" }\n");
    let r = bad.run(&["check-config"]);
    assert!(!r.ok && r.stderr.contains("links.resolve") && r.stderr.contains("不是本机回环地址"), "{}", r.stderr);
}
