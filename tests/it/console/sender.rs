//! What checking a sender found, on the console: the review queue says why a mail is
//! held and what the check found; the item page says whether the sender was verified.

use super::{Console, STAFF, accounts, free_port};
use crate::dns::{Dns, qq_signed};
use crate::harness::App;
use crate::sender_auth::{import_checked, package};

#[test]
fn the_review_queue_and_the_item_page_say_what_checking_the_sender_found() {
    let dns = Dns::qq();
    let port = free_port();
    let app = App::with_intake(&dns.intake("dmarc"), &format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
    accounts(&app);
    import_checked(&app, "signed.eml", &qq_signed(&package(1)));
    import_checked(&app, "forged.eml", &package(2));
    let c = Console::serving(app, &["serve"], port);
    let (cookie, _) = c.login(STAFF);

    let review = c.get("/review", &cookie).text();
    let held = &review[review.find("id=\"held-").expect("one held mail")..];
    assert!(held.contains("tkpcs@qq.com"), "{held}");
    assert!(held.contains("原因：发件人地址可能被冒充"), "{held}");
    assert!(held.contains("alert\">发件人验证：发件人地址可能被冒充：没有有效签名，qq.com 要求签名"), "{held}");
    assert!(!review.contains("照片1.jpg"), "the verified mail was counted, not held:\n{review}");

    let id = c.item("照片1.jpg")["id"].as_i64().unwrap();
    let page = c.get(&format!("/items/{id}"), &cookie).text();
    assert!(page.contains("<p id=\"sender-auth\" class=\"small-note\">发件人验证：发件人已验证（qq.com 签名有效）</p>"), "{page}");
}
