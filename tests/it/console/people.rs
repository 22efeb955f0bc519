//! Authors on the console (issue 23): gallery cards and the item page say who made a
//! work (作者：张三 / 未署名), and staff name the author on the item page, audited.

use super::{Console, STAFF, VIEWER, accounts, csrf, free_port};
use crate::fixtures::{Mail, jpeg};
use crate::harness::App;
use crate::ingest::MAR19;
use crate::people::ROSTER;

#[test]
fn console_shows_each_works_author_and_staff_assign_one_on_the_item_page() {
    let port = free_port();
    let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    app.set_roster(ROSTER);
    accounts(&app);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("夜巡（张三）.jpg", &jpeg(61)).attach("主题党日.jpg", &jpeg(62)).build());
    let c = Console::serving(app, &["serve"], port);
    let (cookie, _) = c.login(STAFF);

    let gallery = c.get(&format!("/gallery/2024-03/{}", "%E5%98%8E%E9%B2%81%E5%9B%BE%E6%B4%BE%E5%87%BA%E6%89%80"), &cookie).text();
    let card = |name: &str| {
        let at = gallery.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name} not in the gallery:\n{gallery}"));
        gallery[at..at + gallery[at..].find("</figcaption>").unwrap()].to_string()
    };
    assert!(card("夜巡（张三）.jpg").contains("作者：张三"), "{}", card("夜巡（张三）.jpg"));
    assert!(card("主题党日.jpg").contains("未署名"), "{}", card("主题党日.jpg"));

    let id = c.item("主题党日.jpg")["id"].as_i64().unwrap();
    let page = c.get(&format!("/items/{id}"), &cookie).text();
    assert!(page.contains("<tr><th>作者</th><td>未署名</td></tr>"), "{page}");
    let token = csrf(&page);
    let done = c.post(&format!("/items/{id}/author"), &cookie, &[("csrf", &token), ("people", "李四、王五")]);
    assert_eq!(c.said(&done, &cookie), "已将作者定为李四、王五");
    let page = c.get(done.header("location").unwrap(), &cookie).text();
    assert!(page.contains("<tr><th>作者</th><td>李四、王五（人工指定）</td></tr>"), "{page}");
    let item = c.item("主题党日.jpg");
    assert_eq!((item["author"].as_str(), item["author_source"].as_str()), (Some("李四、王五"), Some("manual")));
    let audit = c.audit();
    assert_eq!((audit[0]["action"].as_str(), audit[0]["who"].as_str()), (Some("author"), Some("web:张三")));

    // A name the roster does not have is refused in words; without a token, nothing is done.
    let bad = c.post(&format!("/items/{id}/author"), &cookie, &[("csrf", &token), ("people", "孙七")]);
    assert!(bad.status == 400 && bad.text().contains("没有“孙七”"), "{} {}", bad.status, bad.text());
    assert_ne!(c.post(&format!("/items/{id}/author"), &cookie, &[("people", "张三")]).status, 303);
    let (viewer, vtoken) = c.login(VIEWER);
    assert_eq!(c.post(&format!("/items/{id}/author"), &viewer, &[("csrf", &vtoken), ("people", "张三")]).status, 403);
    assert_eq!(c.item("主题党日.jpg")["author"], "李四、王五");
}

#[test]
fn console_people_page_shows_points_works_and_candidates() {
    let port = free_port();
    let app = App::with_config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    app.set_roster(ROSTER);
    accounts(&app);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("夜巡（张三）.jpg", &jpeg(63)).attach("张三、李四摄.jpg", &jpeg(64)).build());
    let id = |name: &str| app.items(&[]).into_iter().find(|i| i["name"] == name).unwrap()["id"].as_i64().unwrap().to_string();
    app.ok(&["adopt", &id("夜巡（张三）.jpg"), "--level", "city", "--date", "2024-03-20"]);
    app.ok(&["adopt", &id("张三、李四摄.jpg"), "--level", "banner", "--date", "2024-03-21"]);
    let c = Console::serving(app, &["serve"], port);
    let (cookie, _) = c.login(VIEWER);

    let scores = c.get("/scores?year=2024", &cookie).text();
    assert!(scores.contains("<span class=\"tab current\">单位积分</span><a class=\"tab\" id=\"people-scores\" href=\"/people?year=2024\">个人积分</a>"), "the scores page has a 个人积分 tab: {scores}");
    let page = c.get("/people?year=2024", &cookie).text();
    assert!(page.contains("<a href=\"/people\">人员</a>"), "the menu leads here");
    assert!(page.contains("<a class=\"tab\" href=\"/scores?year=2024\">单位积分</a><span class=\"tab current\">个人积分</span>"), "and back to the departments' tab");
    let candidates = &page[page.find("id=\"candidates\"").expect("candidates")..];
    let candidates = &candidates[..candidates.find("</ol>").unwrap()];
    assert!(candidates.contains("<li>张三（嘎鲁图派出所）0.25 分，作品 2 件，采用 2 次</li>"), "0.2 + 0.1/2: {candidates}");
    assert!(candidates.contains("<li>李四（嘎鲁图派出所）0.05 分，作品 1 件，采用 1 次</li>"), "{candidates}");
    assert!(!candidates.contains("王五"), "no points, no candidate");
    let table = &page[page.find("id=\"people\"").unwrap()..];
    assert!(table.contains("<td>1</td><td>张三</td><td>150621</td><td>嘎鲁图派出所</td><td>0.25</td>"), "{table}");
    assert!(table.contains("2024-03-21 旗局采用（2 人合作） +0.05"), "{table}");
    let only = c.get("/people?year=2024&department=%E5%9B%BE%E5%85%8B%E6%89%80", &cookie).text();
    assert!(only.contains("<td>赵六</td>") && !only.contains("<td>张三</td>"), "{only}");
    assert_eq!(c.get("/people?year=2023", &cookie).status, 400);
}
