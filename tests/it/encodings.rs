//! Chinese headers as real clients write them, decoded right end to end.

use crate::fixtures::{Mail, NameStyle, Part, b64, gbk, jpeg};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

#[test]
fn attachment_names_in_every_encoding_come_out_right() {
    let app = App::new();
    let styles = [
        (NameStyle::Rfc2231Utf8, "①党建学习.jpg"),
        (NameStyle::QuotedGb18030Word, "②练兵 现场.jpg"),
        (NameStyle::Rfc2231GbkContinued, "③春节安保执勤照片.jpg"),
        (NameStyle::RawGbk, "④表彰大会.jpg"),
        (NameStyle::SplitGb2312Words, "⑤反诈宣传进社区.jpg"),
    ];
    let mut mail = Mail::new("gltpcs@163.com", "3月素材", MAR19);
    for (i, (style, name)) in styles.iter().enumerate() {
        mail = mail.part(Part::attachment(name, &jpeg(100 + i as u32), *style));
    }
    app.import_one("a.eml", &mail.build());
    let mut names: Vec<String> = app.items(&[]).iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    names.sort();
    let mut want: Vec<String> = styles.iter().map(|(_, n)| n.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    for n in 1..=5 {
        assert_eq!(row["by_category"][n.to_string()], 1, "category {n} from the circled prefix");
    }
}

fn subject_of(app: &App, raw_subject: &[u8], seed: u32) -> String {
    let mail = Mail::new("stranger@qq.com", "", MAR19).subject_raw(raw_subject).attach("a.jpg", &jpeg(seed));
    app.import_one(&format!("{seed}.eml"), &mail.build());
    let s = app.status("2024-03", AS_OF);
    s["review_queue"].as_array().unwrap().last().unwrap()["subject"].as_str().unwrap().to_string()
}

#[test]
fn subjects_in_gb18030_gbk_raw_bytes_and_split_words() {
    let app = App::new();
    let text = "无定河派出所3月份宣传素材";
    let g = gbk(text);
    assert_eq!(subject_of(&app, format!("=?GB18030?B?{}?=", b64(&g)).as_bytes(), 1), text);
    let q: String = g.iter().map(|b| format!("={b:02X}")).collect();
    assert_eq!(subject_of(&app, format!("=?gbk?Q?{q}?=").as_bytes(), 2), text);
    assert_eq!(subject_of(&app, &g, 3), text, "raw 8-bit GBK");
    let (a, b) = g.split_at(5); // inside the third character
    assert_eq!(subject_of(&app, format!("=?gb2312?B?{}?=\r\n =?gb2312?B?{}?=", b64(a), b64(b)).as_bytes(), 4), text);
    // Every one of them was recognised as naming 无定河派出所.
    let s = app.status("2024-03", AS_OF);
    assert!(s["review_queue"].as_array().unwrap().iter().all(|r| r["guessed_department"] == "无定河派出所"));
}

#[test]
fn an_unknown_charset_label_keeps_the_mail_and_flags_it() {
    let app = App::new();
    let mail = Mail::new("gltpcs@163.com", "3月素材", MAR19).part(Part::raw(
        "Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"=?x-unknown-zh?B?YWJjLmpwZw==?=\"\r\n",
        b64(&jpeg(9)).as_bytes(),
    ));
    app.import_one("a.eml", &mail.build());
    let items = app.items(&[]);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "abc.jpg");
    assert_eq!(items[0]["status"], "accepted");
    assert_eq!(items[0]["flags"], serde_json::json!(["unknown_charset"]));
}
