//! The sample mailbox shipped in tests/fixtures/sample-mailbox, which the README's
//! run command imports. `cargo test -- --ignored regenerate_sample` rewrites it.

use std::path::PathBuf;

use crate::fixtures::{Mail, NameStyle, Part, ZipEntry, b64, jpeg, mp4, png, sevenz, zip};
use crate::harness::{App, summary_count};
use crate::ingest::AS_OF;

pub fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-mailbox")
}

fn sample() -> Vec<(&'static str, Vec<u8>)> {
    let galutu = zip(&[
        ZipEntry::gbk("嘎鲁图派出所3月份素材\\①党建\\主题党日活动1.jpg", &jpeg(1001)),
        ZipEntry::gbk("嘎鲁图派出所3月份素材\\①党建\\主题党日活动2.jpg", &jpeg(1002)),
        ZipEntry { deflate: true, ..ZipEntry::gbk("嘎鲁图派出所3月份素材\\5、反诈宣传\\进社区宣传.jpg", &jpeg(1003)) },
        ZipEntry::gbk("嘎鲁图派出所3月份素材\\⑩民警生活点滴\\晨练.mp4", &mp4(1004)),
    ]);
    let wudinghe = sevenz(&[("（六）巡逻防控/夜巡1.jpg", &jpeg(1011)), ("（六）巡逻防控/夜巡2.jpg", &jpeg(1012)), ("八、便民服务/上门办证.jpg", &jpeg(1013))]);
    let link_body = "从QQ邮箱发来的超大附件\n\n看守所3月监管安全演练.mp4 (512.30M, 2024年4月18日 16:20 到期)进入下载页面：https://wx.mail.qq.com/ftn/download?func=3&key=5a1f2c&code=8d3e&k=77\n";
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend([0u8; 200]);
    vec![
        (
            "01-嘎鲁图派出所.eml",
            Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份宣传素材", "Tue, 19 Mar 2024 10:12:00 +0800")
                .message_id("<tencent_sample01@qq.com>")
                .part(Part::attachment("嘎鲁图派出所3月份素材.zip", &galutu, NameStyle::QuotedGb18030Word))
                .build(),
        ),
        (
            "02-交管大队.eml",
            Mail::new("wsq_jgdd@163.com", "交管大队3月素材", "Fri, 22 Mar 2024 16:40:00 +0800")
                .message_id("<sample02@163.com>")
                .part(Part::attachment("③清明节前安保部署.jpg", &jpeg(1021), NameStyle::Rfc2231GbkContinued))
                .part(Part::attachment("⑥道路交通安全宣传进校园.jpg", &jpeg(1022), NameStyle::RawGbk))
                .part(Part::attachment("⑥酒驾查处现场.mp4", &mp4(1023), NameStyle::SplitGb2312Words))
                .build(),
        ),
        (
            "03-无定河派出所-逾期.eml",
            Mail::new("wdhpcs@163.com", "无定河派出所三月素材", "Wed, 27 Mar 2024 09:05:00 +0800")
                .message_id("<sample03@163.com>")
                .attach("无定河派出所.7z", &wudinghe)
                .build(),
        ),
        (
            "04-看守所-超大附件.eml",
            Mail::new("wsq_kss@163.com", "看守所3月视频", "Mon, 18 Mar 2024 17:30:00 +0800")
                .message_id("<sample04@163.com>")
                .no_parts()
                .part(Part::raw("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", b64(link_body.as_bytes()).as_bytes()))
                .build(),
        ),
        (
            "05-陌生邮箱-图克.eml",
            Mail::new("tk_xcy2024@qq.com", "图克镇派出所3月宣传照片", "Sat, 23 Mar 2024 11:00:00 +0800")
                .message_id("<sample05@qq.com>")
                .attach("IMG_20240322_101500.jpg", &jpeg(1051))
                .build(),
        ),
        (
            "06-嘎鲁图派出所-补充.eml",
            Mail::new("gltpcs@163.com", "补充", "Thu, 21 Mar 2024 08:30:00 +0800")
                .message_id("<tencent_sample06@qq.com>")
                .attach("主题党日活动1.jpg", &jpeg(1001))
                .attach("Screenshot_20240320.png", &png(1061))
                .build(),
        ),
        (
            "07-拘留所.eml",
            Mail::new("wsq_jls@163.com", "拘留所3月素材", "Fri, 15 Mar 2024 15:00:00 +0800")
                .message_id("<sample07@163.com>")
                .attach("②教育培训.jpg", &jpeg(1071))
                .attach("照片查看器.jpg", &exe)
                .build(),
        ),
        (
            "08-广告.eml",
            Mail::new("promo@example.com", "三月优惠活动", "Wed, 20 Mar 2024 09:00:00 +0800")
                .message_id("<sample08@example.com>")
                .attach("poster.jpg", &jpeg(1081))
                .build(),
        ),
        (
            "09-刑侦大队-询问.eml",
            Mail::new("wsq_xzdd@163.com", "请问本月素材截止时间", "Thu, 14 Mar 2024 10:00:00 +0800")
                .message_id("<sample09@163.com>")
                .no_parts()
                .build(),
        ),
    ]
}

#[test]
#[ignore = "rewrites tests/fixtures/sample-mailbox"]
fn regenerate_sample() {
    let dir = sample_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, raw) in sample() {
        std::fs::write(dir.join(name), raw).unwrap();
    }
}

#[test]
fn the_shipped_sample_is_what_the_generator_makes() {
    for (name, raw) in sample() {
        let shipped = std::fs::read(sample_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(shipped == raw, "{name} differs from the generator; run: cargo test -- --ignored regenerate_sample");
    }
}

#[test]
fn the_sample_mailbox_shows_the_board() {
    sample_mailbox_shows_the_board(&App::new());
}

/// Imports the sample mailbox into `app` and checks the board (also on PostgreSQL,
/// `on_postgres`).
pub fn sample_mailbox_shows_the_board(app: &App) {
    let out = app.ok(&["import", sample_dir().to_str().unwrap()]);
    assert!(out.contains("共 9 封邮件"), "{out}");
    assert_eq!(summary_count(&out, "计入报送"), 6, "{out}");
    assert_eq!(summary_count(&out, "待审核"), 1);
    assert_eq!(summary_count(&out, "无关邮件"), 1);
    assert_eq!(summary_count(&out, "往来邮件"), 1);
    let s = app.status("2024-03", AS_OF);
    let state = |d: &str| s["departments"].as_array().unwrap().iter().find(|r| r["department"] == d).unwrap().clone();
    let g = state("嘎鲁图派出所");
    assert_eq!((g["state"].as_str(), g["photos"].as_i64(), g["videos"].as_i64()), (Some("on_time"), Some(4), Some(1)));
    assert_eq!(g["flags"]["duplicate"], 1);
    assert_eq!(g["by_category"]["1"], 2);
    assert_eq!(state("交管大队")["by_category"]["6"], 2);
    assert_eq!(state("无定河派出所")["state"], "late");
    assert_eq!(state("无定河派出所")["by_category"]["8"], 1);
    assert_eq!(state("看守所")["external_links"], 1);
    assert_eq!(state("拘留所")["rejected"], 1);
    assert_eq!(state("图克派出所")["state"], "missing");
    assert_eq!(s["review_queue"][0]["guessed_department"], "图克派出所");
    // The sample's photos are real: every counted one has its size and a thumbnail
    // (the old sample's "JPEGs" were magic bytes and noise, shown with width 0).
    let photos: Vec<_> = app.items(&[]).into_iter().filter(|i| i["status"] == "accepted" && i["kind"] == "photo").collect();
    assert!(!photos.is_empty());
    for p in &photos {
        assert!(p["width"].as_u64().unwrap_or(0) > 0 && !p["thumbnail"].as_str().unwrap_or("").is_empty(), "{p}");
    }
}
