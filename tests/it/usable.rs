//! A photo or video counts only if it can be shown (issue 9, point 1): truncated and
//! corrupt photos are `corrupt_image`, unplayable videos `corrupt_video`, and HEIC is
//! decoded (size, thumbnail, hash) with a JPEG rendition next to it in the tree.

use crate::fixtures::{Mail, heic, jpeg, mp4, mp4_movie, png};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

fn reason_of(app: &App, name: &str) -> String {
    let items = app.items(&[]);
    let i = items.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no {name} in {items:?}"));
    i["reason"].as_str().unwrap_or_default().to_string()
}

#[test]
fn truncated_and_random_photos_are_refused_and_make_nobody_on_time() {
    let app = App::new();
    let whole = jpeg(31);
    // What an interrupted upload leaves: the first 30 % of a photo.
    let cut = whole[..whole.len() * 3 / 10].to_vec();
    // JPEG magic bytes, then random bytes (what the old sample mailbox held).
    let mut random = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
    random.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    random.extend([0xFF, 0xD9]);
    let half_png = png(32)[..png(32).len() / 2].to_vec();
    app.import_one(
        "broken.eml",
        &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份素材", MAR19).attach("①截断.jpg", &cut).attach("②乱码.jpg", &random).attach("③半张.png", &half_png).build(),
    );
    let r = app.rejections();
    assert_eq!(r, [("①截断.jpg".into(), "corrupt_image".into()), ("②乱码.jpg".into(), "corrupt_image".into()), ("③半张.png".into(), "corrupt_image".into())]);
    assert_eq!(reason_of(&app, "①截断.jpg"), "照片无法显示：照片不完整（文件被截断），请重新发送原图");
    assert_eq!(reason_of(&app, "③半张.png"), "照片无法显示：照片不完整（文件被截断），请重新发送原图");
    assert!(reason_of(&app, "②乱码.jpg").starts_with("照片无法显示："), "{}", reason_of(&app, "②乱码.jpg"));
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!((row["photos"].as_i64(), row["state"].as_str()), (Some(0), Some("missing")), "{row}");
    assert_eq!(row["rejected"], 3);
    assert!(app.tree().is_empty(), "nothing broken is filed: {:?}", app.tree());
}

#[test]
fn a_whole_photo_counts_with_its_size() {
    let app = App::new();
    app.import_one("ok.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份素材", MAR19).attach("①主题党日.jpg", &jpeg(33)).attach("②练兵.png", &png(34)).build());
    let items = app.items(&[]);
    assert!(items.iter().all(|i| i["status"] == "accepted" && i["width"] == 1600 && i["height"] == 1200), "{items:?}");
    assert!(items.iter().all(|i| i["flags"].as_array().unwrap().is_empty()), "clean photos carry no flag: {items:?}");
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["state"], "on_time");
}

#[test]
fn unplayable_videos_are_refused() {
    let app = App::new();
    let whole = mp4(35);
    // The moov box declares 600 bytes of samples; the file stops 200 bytes into them.
    let truncated = whole[..whole.len() - 400].to_vec();
    let no_track = {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend(b"ftypisom\x00\x00\x02\x00isomiso2");
        v.extend([0, 0, 0, 16]);
        v.extend(b"mdat");
        v.extend([1u8; 8]);
        v
    };
    let zero = mp4_movie(0, 1920, 1080, None, &[9u8; 64]);
    app.import_one(
        "videos.eml",
        &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份视频", MAR19)
            .attach("完整.mp4", &whole)
            .attach("截断.mp4", &truncated)
            .attach("无画面.mp4", &no_track)
            .attach("零秒.mp4", &zero)
            .build(),
    );
    assert_eq!(
        app.rejections(),
        [("截断.mp4".into(), "corrupt_video".into()), ("无画面.mp4".into(), "corrupt_video".into()), ("零秒.mp4".into(), "corrupt_video".into())]
    );
    assert_eq!(reason_of(&app, "截断.mp4"), "视频无法播放：视频不完整（文件被截断或视频数据缺失），请重新发送原视频");
    assert_eq!(reason_of(&app, "无画面.mp4"), "视频无法播放：文件中没有视频画面（找不到视频轨道），请重新导出视频后发送");
    assert_eq!(reason_of(&app, "零秒.mp4"), "视频无法播放：视频时长为 0，无法播放，请重新导出视频后发送");
    let row = app.row("2024-03", AS_OF, "嘎鲁图派出所");
    assert_eq!((row["videos"].as_i64(), row["rejected"].as_i64()), (Some(1), Some(3)), "{row}");
}

#[test]
fn heic_is_decoded_with_a_thumbnail_and_a_jpeg_next_to_it_in_the_tree() {
    let app = App::new();
    let photo = heic(1600, 1200);
    app.import_one("iphone.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份素材", MAR19).attach("①IMG_0001.HEIC", &photo).build());
    let items = app.items(&[]);
    let i = &items[0];
    assert_eq!((i["status"].as_str(), i["kind"].as_str(), i["width"].as_u64(), i["height"].as_u64()), (Some("accepted"), Some("photo"), Some(1600), Some(1200)), "{i}");
    let thumb = image::open(app.data().join(i["thumbnail"].as_str().unwrap())).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    let tree = app.tree();
    let original = tree.iter().find(|p| p.ends_with(".HEIC") || p.ends_with(".heic")).unwrap_or_else(|| panic!("{tree:?}"));
    let rendition = format!("{original}.jpg");
    assert!(tree.contains(&rendition), "{tree:?}");
    let jpeg = image::open(app.data().join("tree").join(&rendition)).unwrap();
    assert_eq!((jpeg.width(), jpeg.height()), (1600, 1200), "the rendition is full size");
    // The rendition survives a tree rebuild.
    app.ok(&["tree", "rebuild"]);
    assert!(app.tree().contains(&rendition));
    // A HEIC cut short is refused, not kept unexamined.
    let app = App::new();
    app.import_one("cut.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份素材", MAR19).attach("①IMG_0002.HEIC", &photo[..photo.len() / 2]).build());
    assert_eq!(app.rejections(), [("①IMG_0002.HEIC".into(), "corrupt_image".into())]);
}

#[test]
fn iphone_sized_heic_photos_are_decoded_within_the_memory_budget() {
    // 12 MP (iPhone 11–14) and 24 MP (the default of recent iPhones).
    for (w, h) in [(4032, 3024), (5712, 4284)] {
        let app = App::new();
        let photo = heic(w, h);
        let path = app.eml("iphone.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月份素材", MAR19).attach("①IMG_0001.HEIC", &photo).build());
        let (run, rss, wall) = app.run_measured(&["import", path.to_str().unwrap()]);
        eprintln!("{w} × {h} HEIC: peak RSS {} MiB, {:.1} s", rss >> 10, wall.as_secs_f64());
        assert!(run.ok, "{}{}", run.stdout, run.stderr);
        let items = app.items(&[]);
        assert_eq!((items[0]["status"].as_str(), items[0]["width"].as_u64()), (Some("accepted"), Some(u64::from(w))), "{}", items[0]);
        // The same bound as every other message (hostile_images::MESSAGE_RSS_KIB).
        assert!(rss < crate::hostile_images::MESSAGE_RSS_KIB, "{w} × {h}: peak RSS {} MiB", rss >> 10);
    }
}
