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
