//! Writes the seed corpora under fuzz/seeds/<target>/ from the same code that builds
//! the integration tests' fixtures (tests/it/fixtures.rs, included as is), plus the
//! sample mailbox. Run from the repository root:
//!
//!     cargo run --release --manifest-path fuzz/seedgen/Cargo.toml
//!
//! The output is deterministic except for Message-IDs, which carry the process id;
//! those are pinned here so a re-run gives the same bytes.

#[allow(dead_code)]
#[path = "../../../tests/it/fixtures.rs"]
mod fixtures;

use std::fs;
use std::path::{Path, PathBuf};

use fixtures::{Mail, NameStyle, Part, ZipEntry};

const DATE: &str = "Tue, 19 Mar 2024 10:00:00 +0800";

struct Out {
    root: PathBuf,
    count: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        assert!(bytes.len() < 200 * 1024, "seed {target}/{name} is {} bytes", bytes.len());
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
        self.count += 1;
    }
}

fn mail(from: &str, subject: &str, id: &str) -> Mail {
    Mail::new(from, subject, DATE).message_id(&format!("<{id}@seed>"))
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    let root = repo.join("fuzz/seeds");
    if root.exists() {
        fs::remove_dir_all(&root).unwrap();
    }
    let mut out = Out { root, count: 0 };

    // Media, small but real: a decodable JPEG with EXIF, a PNG, an MP4, a HEIC.
    let photo = fixtures::encode_jpeg(&fixtures::texture(96, 64, 3), 80);
    let photo_exif = fixtures::with_exif(&photo, 6, Some("2024:03:15 09:30:00"), "HUAWEI", "ELS-AN00");
    let png = fixtures::encode_png(&fixtures::texture(48, 48, 5));
    let video = fixtures::mp4_video(12, 1920, 1080, 1_710_000_000);
    let video_small = fixtures::mp4_video(2, 320, 240, 1_700_000_000);
    let heic = fixtures::heic(4032, 3024);

    // boxes: the ISO-BMFF walkers.
    out.put("boxes", "mp4_video_1080p", &video);
    out.put("boxes", "mp4_video_small", &video_small);
    out.put("boxes", "heic_4032x3024", &heic);
    out.put("boxes", "heic_tiny", &fixtures::heic(1, 1));
    out.put("boxes", "mp4_magic_only", &fixtures::mp4(1));
    let mut mov = video_small.clone();
    mov[8..12].copy_from_slice(b"qt  ");
    out.put("boxes", "mov_brand", &mov);

    // zip_reader: every way the fixtures write a ZIP.
    let zips: Vec<(&str, Vec<u8>)> = vec![
        ("gbk_names", fixtures::zip(&[
            ZipEntry::gbk("①党建/活动照片1.jpg", &photo),
            ZipEntry::gbk("③交通/宣传视频.mp4", &video_small),
            ZipEntry::gbk("说明/", b""),
        ])),
        ("utf8_flag", fixtures::zip(&[ZipEntry::utf8("3月素材/照片.png", &png), ZipEntry::utf8("3月素材/", b"")])),
        ("unicode_path", fixtures::zip(&[ZipEntry { name: fixtures::gbk("照片.jpg"), data: photo.clone(), unicode_path: Some("照片.jpg".into()), ..Default::default() }])),
        ("unicode_path_stale", fixtures::zip(&[ZipEntry { name: fixtures::gbk("旧名.jpg"), data: photo.clone(), unicode_path: Some("新名.jpg".into()), stale_unicode: true, ..Default::default() }])),
        ("deflated", fixtures::zip(&[
            ZipEntry { deflate: true, ..ZipEntry::gbk("社区/海报.jpg", &photo_exif) },
            ZipEntry { deflate: true, ..ZipEntry::utf8("readme.txt", &b"baosong ".repeat(300)) },
        ])),
        ("encrypted", fixtures::zip(&[ZipEntry { encrypted: true, ..ZipEntry::utf8("secret.jpg", &photo) }])),
        ("backslash_gbk", fixtures::zip(&[ZipEntry::gbk("宣传\\活动.jpg", &photo)])),
        ("traversal", fixtures::zip(&[ZipEntry::utf8("../../etc/passwd", b"x"), ZipEntry::utf8("/abs.jpg", &photo)])),
        ("empty", fixtures::zip(&[])),
        ("nested", fixtures::zip(&[ZipEntry::utf8("inner.zip", &fixtures::zip(&[ZipEntry::gbk("内层.jpg", &photo)]))])),
    ];
    for (name, z) in &zips {
        out.put("zip_reader", name, z);
    }

    // header_decoding: header values as senders write them.
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, style) in [NameStyle::Rfc2231Utf8, NameStyle::QuotedGb18030Word, NameStyle::Rfc2231GbkContinued, NameStyle::RawGbk, NameStyle::SplitGb2312Words]
        .into_iter()
        .enumerate()
    {
        let p = Part::attachment("嘎鲁图派出所3月宣传素材①.zip", b"", style);
        let text = p.headers;
        let at = text.windows(20).position(|w| w == b"Content-Disposition:").unwrap() + 20;
        headers.push((format!("filename_{i}_{style:?}"), text[at..].to_vec()));
    }
    headers.push(("subject_utf8_b".into(), format!("=?UTF-8?B?{}?=", fixtures::b64("交管大队3月份宣传素材".as_bytes())).into_bytes()));
    headers.push(("subject_gbk_q".into(), b"=?GBK?Q?=BD=BB=B9=DC=B4=F3=B6=D3?= =?gb2312?Q?3=D4=C2?=".to_vec()));
    headers.push(("subject_raw_gbk".into(), fixtures::gbk("嘎鲁图派出所3月宣传素材")));
    headers.push(("subject_mixed".into(), b"Re: =?utf-8?b?5a6j5Lyg?= \xd5\xd5\xc6\xac =?unknown?B?AAAA?= tail".to_vec()));
    headers.push(("subject_folded".into(), b"=?UTF-8?B?5Zyw?=\r\n =?UTF-8?B?5Yy6?=\r\n\tplain".to_vec()));
    headers.push(("param_rfc2231_lang".into(), b"attachment; filename*=gb18030'zh-cn'%D5%D5%C6%AC.jpg; size=100".to_vec()));
    headers.push(("param_quoted_escapes".into(), b"inline; name=\"a\\\"b;c.jpg\"; filename=x.jpg".to_vec()));
    headers.push(("encoded_words_run".into(), b"=?x?Q? =?x?Q? =?x?Q? =?x?Q? =?x?Q? =?x?Q? ".to_vec()));
    for (name, h) in &headers {
        out.put("header_decoding", name, h);
    }

    // message: the sample mailbox, then mails carrying each archive and media kind.
    let mut mails: Vec<(String, Vec<u8>)> = Vec::new();
    let mut sample: Vec<_> = fs::read_dir(repo.join("tests/fixtures/sample-mailbox")).unwrap().map(|e| e.unwrap().path()).collect();
    sample.sort();
    for (i, p) in sample.iter().enumerate() {
        mails.push((format!("sample_{:02}", i + 1), fs::read(p).unwrap()));
    }
    let dept = "gltpcs@163.com";
    mails.push(("zip_gbk".into(), mail(dept, "嘎鲁图派出所3月宣传素材", "zip").attach("3月素材.zip", &zips[0].1).build()));
    mails.push(("zip_deflated".into(), mail(dept, "嘎鲁图派出所3月素材", "zipd").attach("素材.zip", &zips[4].1).build()));
    mails.push(("zip_nested".into(), mail(dept, "嘎鲁图派出所3月素材", "zipn").attach("外层.zip", &zips[9].1).build()));
    mails.push(("sevenz".into(), mail(dept, "嘎鲁图派出所3月素材", "7z").attach("素材.7z", &fixtures::sevenz(&[("①党建/照片.jpg", &photo), ("视频.mp4", &video_small)])).build()));
    mails.push(("rar4".into(), mail(dept, "嘎鲁图派出所3月素材", "rar").attach("素材.rar", &fixtures::rar(&[("党建/照片.jpg", &photo)], false)).build()));
    mails.push(("rar4_encrypted".into(), mail(dept, "嘎鲁图派出所3月素材", "rare").attach("素材.rar", &fixtures::rar(&[("照片.jpg", &photo)], true)).build()));
    mails.push(("media_direct".into(), mail(dept, "嘎鲁图派出所3月素材", "media")
        .part(Part::attachment("活动照片.jpg", &photo_exif, NameStyle::QuotedGb18030Word))
        .part(Part::attachment("海报.png", &png, NameStyle::Rfc2231GbkContinued))
        .part(Part::attachment("宣传片.mp4", &video, NameStyle::RawGbk))
        .part(Part::attachment("IMG_0001.HEIC", &heic, NameStyle::SplitGb2312Words))
        .build()));
    mails.push(("inline_and_html".into(), mail(dept, "嘎鲁图派出所3月素材", "inline")
        .part(Part::html("<p>超大附件 <a href=\"https://wx.mail.qq.com/ftn/download?func=3&key=5a1f2c&code=8d3e&k=77\">素材.zip</a> (512.30M, 2024年4月18日 16:20 到期)</p><img src=\"cid:img1\">"))
        .part(Part::inline_image("img1", &photo))
        .build()));
    let inner = mail("jgdd@163.com", "交管大队3月宣传素材", "inner").attach("照片.jpg", &photo).build();
    mails.push(("forwarded".into(), mail(dept, "Fw: 交管大队3月宣传素材", "fwd").part(Part::forwarded(&inner)).build()));
    mails.push(("png_bomb_header".into(), mail(dept, "嘎鲁图派出所3月素材", "bomb").attach("bomb.png", &fixtures::png_bomb()).build()));
    mails.push(("gbk_subject_no_parts".into(), mail(dept, "x", "plain").subject_raw(&fixtures::gbk("嘎鲁图派出所3月宣传素材")).no_parts().build()));
    mails.push(("misnamed_executable_name".into(), mail(dept, "嘎鲁图派出所3月素材", "hta").attach("活动照片.hta", &photo).build()));
    mails.push(("broken_part".into(), mail(dept, "嘎鲁图派出所3月素材", "broken")
        .part(Part::raw("Content-Type: image/jpeg; name=\"a.jpg\"\r\nContent-Transfer-Encoding: base64\r\n", b"/9j/4AAQSkZJRg!!!notbase64"))
        .build()));
    for (name, m) in &mails {
        out.put("message", name, m);
    }

    // mbox_split: the mails above as mbox files, in the dialects the splitter meets.
    let from_line = |i: usize| format!("From sender{i}@163.com Tue Mar 19 10:0{i}:00 2024\n");
    let lf = |m: &[u8]| String::from_utf8_lossy(m).replace("\r\n", "\n");
    let small: Vec<&(String, Vec<u8>)> = mails.iter().filter(|(_, m)| m.len() < 12_000).take(4).collect();
    let mut mboxo = String::new();
    for (i, (_, m)) in small.iter().enumerate() {
        mboxo += &from_line(i);
        mboxo += &lf(m);
        mboxo += "\n";
    }
    out.put("mbox_split", "mboxo_lf", mboxo.as_bytes());
    out.put("mbox_split", "mboxo_crlf", mboxo.replace('\n', "\r\n").as_bytes());
    let body_from = format!("{}Subject: 1\n\nhello\n\nFrom here on, a body line\n>From quoted\n>>From twice\n\n{}Subject: 2\n\nx\n", from_line(1), from_line(2));
    out.put("mbox_split", "body_from_lines", body_from.as_bytes());
    let mut cl = String::new();
    for (i, body) in ["first\n\nFrom inside\n", "second\n"].iter().enumerate() {
        cl += &from_line(i);
        cl += &format!("Subject: {i}\nContent-Length: {}\n\n{body}\n", body.len());
    }
    out.put("mbox_split", "mboxcl2", cl.as_bytes());
    out.put("mbox_split", "single", format!("{}{}", from_line(0), lf(&mails[0].1)).as_bytes());
    out.put("mbox_split", "empty_messages", format!("{}\n{}\n{}", from_line(0), from_line(1), from_line(2)).as_bytes());

    // auth_results: Authentication-Results values as QQ's inbound server and forgers write them.
    let auth: [(&str, &str); 7] = [
        ("qq_pass", "mx.qq.com; spf=pass smtp.mailfrom=tkpcs@qq.com;\r\n\tdkim=pass header.d=qq.com header.s=s201512;\r\n\tdmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=qq.com"),
        ("qq_fail", "mx.qq.com; spf=fail smtp.mailfrom=evil.test; dkim=none; dmarc=fail (p=QUARANTINE) header.from=qq.com"),
        ("none", "mx.qq.com 1; none"),
        ("comments_quotes", "mx.qq.com; spf = pass (sender (nested) ok) smtp.mailfrom = \"a b\"@qq.com ; dkim/1=fail reason=\"bad sig\""),
        ("other_id", "mail.evil.test; dmarc=pass header.from=qq.com"),
        ("unclosed", "mx.qq.com; dmarc=\"pass (p=reject"),
        ("netease", "mx.163.com; dkim=pass header.i=@163.com; spf=softfail smtp.mailfrom=gltpcs@163.com; dmarc=none header.from=163.com"),
    ];
    for (name, value) in auth {
        out.put("auth_results", name, value.as_bytes());
    }

    println!("wrote {} seeds under {}", out.count, out.root.display());
}
