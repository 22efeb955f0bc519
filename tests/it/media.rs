//! Photo and video inspection: each quality flag on generated fixtures, thumbnails
//! that respect EXIF orientation, near-duplicates against earlier items, and a
//! decompression bomb refused without being decoded.

use serde_json::Value;

use crate::fixtures::{Mail, encode_jpeg, encode_png, heic, mp4_video, png_bomb, texture, with_exif};
use crate::harness::App;
use crate::ingest::{AS_OF, MAR19};

/// `baosong inspect --json` on named files: one JSON object per file.
fn inspect(app: &App, files: &[(&str, Vec<u8>)], thumbs: bool) -> Vec<Value> {
    let dir = app.dir.path().join("inspect");
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec!["inspect".to_string(), "--json".to_string(), "--cycle".to_string(), "2024-03".to_string()];
    if thumbs {
        args.extend(["--thumbs".to_string(), app.dir.path().join("thumbs").display().to_string()]);
    }
    for (name, data) in files {
        std::fs::write(dir.join(name), data).unwrap();
        args.push(dir.join(name).display().to_string());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    app.ok(&argv).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn flags(v: &Value) -> Vec<String> {
    v["flags"].as_array().map(|a| a.iter().map(|f| f.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

fn photo(w: u32, h: u32, seed: u32) -> Vec<u8> {
    with_exif(&encode_jpeg(&texture(w, h, seed), 90), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40")
}

#[test]
fn sharp_and_blurred_low_resolution_and_wechat_copies() {
    let app = App::new();
    let sharp = texture(2400, 1800, 1);
    let blurred = image::imageops::blur(&sharp, 6.0);
    let exif = |j: Vec<u8>| with_exif(&j, 1, Some("2024:03:18 10:00:00"), "Apple", "iPhone 13");
    let out = inspect(
        &app,
        &[
            ("sharp.jpg", exif(encode_jpeg(&sharp, 90))),
            ("blurred.jpg", exif(encode_jpeg(&blurred, 90))),
            ("small.jpg", photo(1280, 960, 2)),
            ("mmexport1710813600123.jpg", photo(2400, 1800, 3)),
            ("noexif.jpg", encode_jpeg(&texture(2400, 1800, 4), 30)),
        ],
        false,
    );
    eprintln!("blur scores: sharp {} blurred {}", out[0]["blur"], out[1]["blur"]);
    assert_eq!(flags(&out[0]), Vec::<String>::new(), "{}", out[0]);
    assert_eq!((out[0]["width"].as_u64(), out[0]["height"].as_u64()), (Some(2400), Some(1800)));
    assert_eq!(out[0]["camera"], "Apple iPhone 13");
    assert_eq!(out[0]["captured_at"], "2024-03-18T10:00:00+08:00");
    assert_eq!(flags(&out[1]), ["blurry"], "{}", out[1]);
    assert_eq!(flags(&out[2]), ["low_resolution"], "{}", out[2]);
    assert_eq!(flags(&out[3]), ["recompressed"], "{}", out[3]);
    assert_eq!(flags(&out[4]), ["recompressed"], "no EXIF and heavy compression: {}", out[4]);
}

#[test]
fn screenshots_heic_videos_and_bombs() {
    let app = App::new();
    let screenshot = encode_png(&texture(1080, 2340, 5));
    let wide_png = encode_png(&texture(2000, 1500, 6));
    let march = 1_710_813_600; // 2024-03-19 10:00 +08:00
    let out = inspect(
        &app,
        &[
            ("Screenshot_20240319.png", screenshot),
            ("chart.png", wide_png),
            ("IMG_0001.HEIC", heic(4032, 3024)),
            ("short.mp4", mp4_video(2, 1920, 1080, march)),
            ("long.mp4", mp4_video(12, 1920, 1080, march)),
            ("old_phone.mp4", mp4_video(12, 640, 480, march)),
            ("bomb.png", png_bomb()),
        ],
        false,
    );
    assert_eq!(flags(&out[0]), ["screenshot"], "{}", out[0]);
    assert_eq!(flags(&out[1]), Vec::<String>::new(), "{}", out[1]);
    assert_eq!((out[2]["kind"].as_str(), out[2]["width"].as_u64(), out[2]["height"].as_u64()), (Some("photo"), Some(4032), Some(3024)), "{}", out[2]);
    assert_eq!(flags(&out[3]), ["short_video"], "{}", out[3]);
    assert_eq!((out[3]["duration_seconds"].as_f64(), out[3]["codec"].as_str(), out[3]["container"].as_str()), (Some(2.0), Some("avc1"), Some("mp4")));
    assert_eq!(out[3]["captured_at"], "2024-03-19T10:00:00+08:00");
    assert_eq!(flags(&out[4]), Vec::<String>::new(), "{}", out[4]);
    assert_eq!(flags(&out[5]), ["low_resolution"], "{}", out[5]);
    assert_eq!(out[6]["rejected"], "image_bomb", "{}", out[6]);
}

#[test]
fn thumbnails_respect_exif_orientation() {
    let app = App::new();
    // A landscape picture that the camera marked "rotate 90° clockwise" (orientation 6).
    let jpeg = with_exif(&encode_jpeg(&texture(2400, 1200, 7), 90), 6, None, "Xiaomi", "Mi 11");
    let out = inspect(&app, &[("rotated.jpg", jpeg), ("upright.jpg", photo(2400, 1200, 8))], true);
    let thumb = |v: &Value| image::open(v["thumbnail"].as_str().unwrap()).unwrap();
    let (r, u) = (thumb(&out[0]), thumb(&out[1]));
    assert_eq!((r.width(), r.height()), (160, 320), "turned upright");
    assert_eq!((u.width(), u.height()), (320, 160));
}

#[test]
fn near_duplicates_within_a_month_and_reuse_across_months() {
    let app = App::new();
    let original = texture(2400, 1800, 9);
    let resized = image::imageops::resize(&original, 1920, 1440, image::imageops::FilterType::Triangle);
    let copy = with_exif(&encode_jpeg(&resized, 70), 1, Some("2024:03:18 10:00:00"), "HUAWEI", "HUAWEI P40");
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", MAR19).attach("①党建.jpg", &photo(2400, 1800, 9)).attach("②练兵.jpg", &photo(2400, 1800, 10)).build());
    // The same department's resized copy the same month (another department's would be shared_work).
    app.import_one("b.eml", &Mail::new("gltpcs@163.com", "3月素材补充", MAR19).attach("①学习.jpg", &copy).build());
    app.import_one("c.eml", &Mail::new("tkpcs@qq.com", "4月素材", "Fri, 19 Apr 2024 10:00:00 +0800").attach("①旧图.jpg", &copy).build());
    let items = app.items(&[]);
    let by = |name: &str| items.iter().find(|i| i["name"] == name).unwrap().clone();
    let first = by("①党建.jpg");
    assert_eq!(flags(&first), Vec::<String>::new());
    let near = by("①学习.jpg");
    assert_eq!(flags(&near), ["near_duplicate"], "{near}");
    assert_eq!(near["similar_to"], first["id"]);
    let reused = by("①旧图.jpg");
    assert_eq!(flags(&reused), ["reused"], "{reused}");
    assert!(flags(&by("②练兵.jpg")).is_empty(), "a different photo is not similar");
    // The board counts them, and each stored photo has a thumbnail on disk.
    assert_eq!(app.row("2024-03", AS_OF, "嘎鲁图派出所")["flags"]["near_duplicate"], 1);
    assert!(app.data().join(first["thumbnail"].as_str().unwrap()).is_file());
}

#[test]
fn old_captures_are_flagged_against_the_cycle() {
    let app = App::new();
    let old = with_exif(&encode_jpeg(&texture(2400, 1800, 11), 90), 1, Some("2023:12:01 09:00:00"), "OPPO", "Find X5");
    let fresh = photo(2400, 1800, 12);
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "3月素材", MAR19).attach("old.jpg", &old).attach("new.jpg", &fresh).build());
    let items = app.items(&[]);
    let f = |n: &str| flags(items.iter().find(|i| i["name"] == n).unwrap());
    assert_eq!(f("old.jpg"), ["old_capture"]);
    assert!(f("new.jpg").is_empty());
}
