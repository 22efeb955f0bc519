//! The browsable tree is safe to open from Windows: names say what the content is and
//! hide nothing, files are read-only for everyone, `verify` finds and repairs damage,
//! `tree rebuild` never links a damaged file, and crashes leave no temporary files.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::fixtures::{Mail, ZipEntry, encode_jpeg, jpeg, png, texture, zip};
use crate::harness::App;
use crate::ingest::MAR19;

const DIR: &str = "2024-03/嘎鲁图派出所/未分类/";

fn mail() -> Mail {
    Mail::new("gltpcs@163.com", "3月", MAR19)
}

fn flags_of(app: &App, shown: &str) -> Vec<String> {
    let items = app.items(&[]);
    let item = items.iter().find(|i| i["name"] == shown).unwrap_or_else(|| panic!("no item {shown} in {items:?}"));
    item["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every file and directory under `dir`.
fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>, dirs: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            dirs.push(p.clone());
            walk(&p, files, dirs);
        } else {
            files.push(p);
        }
    }
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[test]
fn executable_names_get_the_extension_of_their_content() {
    let app = App::new();
    let m = mail()
        .attach("活动照片.hta", &jpeg(301))
        .attach("现场.exe", &jpeg(302))
        .attach("合影.scr", &jpeg(303))
        .attach("快捷方式.lnk", &jpeg(304))
        .attach("批处理.bat", &jpeg(305))
        .attach("保持原样.jpeg", &jpeg(306))
        .attach("活动照片.jpg", &jpeg(307))
        .attach("图表.exe", &png(308));
    app.import_one("exe.eml", &m.build());
    let tree = app.tree();
    let want = ["活动照片.jpg", "活动照片 (2).jpg", "现场.jpg", "合影.jpg", "快捷方式.jpg", "批处理.jpg", "保持原样.jpeg", "图表.png"];
    for w in want {
        assert!(tree.contains(&format!("{DIR}{w}")), "{w} missing from {tree:?}");
    }
    assert_eq!(tree.len(), want.len(), "{tree:?}");
    for t in &tree {
        for bad in [".hta", ".exe", ".scr", ".lnk", ".bat"] {
            assert!(!t.ends_with(bad), "{t}");
        }
    }
    for renamed in ["活动照片.hta", "现场.exe", "合影.scr", "快捷方式.lnk", "批处理.bat", "图表.exe"] {
        assert!(flags_of(&app, renamed).contains(&"name_mismatch".to_string()), "{renamed}");
    }
    assert!(!flags_of(&app, "保持原样.jpeg").contains(&"name_mismatch".to_string()));
    // The package is still reported under the names the sender used.
    let names: Vec<String> = app.items(&[]).iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    assert!(names.contains(&"活动照片.hta".to_string()), "{names:?}");
    // A later move keeps the safe name (reassign recomputes tree paths).
    let id = app.items(&[])[0]["package"].as_i64().unwrap().to_string();
    app.ok(&["reassign", &id, "--cycle", "2024-04"]);
    let tree = app.tree();
    assert!(tree.contains(&"2024-04/嘎鲁图派出所/未分类/现场.jpg".to_string()), "{tree:?}");
    assert!(tree.iter().all(|t| !t.ends_with(".exe") && !t.ends_with(".hta")), "{tree:?}");
}

#[test]
fn invisible_characters_are_removed_from_names() {
    let app = App::new();
    let archive = zip(&[
        ZipEntry::utf8("现场/合影\u{2067}gpj.scr", &jpeg(311)),
        ZipEntry::utf8("现场/会\u{200B}议\u{FEFF}\u{00AD}.jpg", &jpeg(312)),
    ]);
    let m = mail().attach("照片\u{202E}gpj.exe", &jpeg(313)).attach("素材.zip", &archive).attach("标\u{200F}语\u{2060}.jpg", &jpeg(314));
    app.import_one("bidi.eml", &m.build());
    let tree = app.tree();
    for w in ["照片gpj.jpg", "合影gpj.jpg", "会议.jpg", "标语.jpg"] {
        assert!(tree.contains(&format!("{DIR}{w}")), "{w} missing from {tree:?}");
    }
    let invisible = |c: char| matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF | 0xAD);
    assert!(tree.iter().all(|t| !t.chars().any(invisible)), "{tree:?}");
    let flags = flags_of(&app, "照片\u{202E}gpj.exe");
    assert!(flags.contains(&"name_sanitized".to_string()) && flags.contains(&"name_mismatch".to_string()), "{flags:?}");
    assert!(flags_of(&app, "标\u{200F}语\u{2060}.jpg").contains(&"name_sanitized".to_string()));
}

#[test]
fn stored_files_are_read_only_for_everyone_and_directories_open() {
    let app = App::new();
    let photo = encode_jpeg(&texture(640, 480, 320), 85);
    app.import_one("modes.eml", &mail().attach("合影.jpg", &photo).attach("现场.zip", &zip(&[ZipEntry::utf8("a/现场.jpg", &jpeg(321))])).build());
    let data = app.data();
    for sub in ["blobs", "raw", "thumbs", "tree"] {
        let (mut files, mut dirs) = (vec![], vec![]);
        walk(&data.join(sub), &mut files, &mut dirs);
        assert!(!files.is_empty(), "nothing in {sub}");
        for f in &files {
            assert_eq!(mode(f), 0o444, "{}", f.display());
        }
        dirs.push(data.join(sub));
        for d in &dirs {
            assert_eq!(mode(d), 0o755, "{}", d.display());
        }
    }
    // The tree entry is the archived blob itself, so nobody but root may write to it.
    let tree = data.join("tree").join(DIR).join("合影.jpg");
    let blob = data.join("blobs").join(&sha256(&photo)[..2]).join(&sha256(&photo)[2..4]).join(sha256(&photo));
    assert_eq!(std::fs::metadata(&tree).unwrap().ino(), std::fs::metadata(&blob).unwrap().ino());

    // A store written before: 0600 blobs. verify says so; verify --repair fixes them.
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = app.run(&["verify"]);
    assert!(r.ok, "a mode is no damage: {}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 个存档文件不是只读"), "{}", r.stdout);
    app.ok(&["verify", "--repair"]);
    assert_eq!(mode(&blob), 0o444);
    // tree rebuild fixes them too.
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o600)).unwrap();
    app.ok(&["tree", "rebuild"]);
    assert_eq!(mode(&tree), 0o444);
}

/// Imports a package whose 现场.jpg sits in a ZIP; returns (blob path, tree path, raw path, content).
fn one_package(app: &App) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let photo = encode_jpeg(&texture(640, 480, 330), 85);
    let raw = mail().attach("三月.zip", &zip(&[ZipEntry { deflate: true, ..ZipEntry::utf8("现场.jpg", &photo) }])).build();
    app.import_one("one.eml", &raw);
    let sha = sha256(&photo);
    let data = app.data();
    let blob = data.join(format!("blobs/{}/{}/{sha}", &sha[..2], &sha[2..4]));
    let rsha = sha256(&raw);
    let raw_path = data.join(format!("raw/{}/{rsha}.eml", &rsha[..2]));
    assert!(blob.exists() && raw_path.exists());
    (blob, data.join("tree").join(DIR).join("现场.jpg"), raw_path, photo)
}

/// Overwrites a byte in place, as an editor writing into the file would (root ignores 0444).
fn scribble(p: &Path) {
    let mut data = std::fs::read(p).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xFF;
    std::fs::write(p, data).unwrap();
}

#[test]
fn verify_finds_a_damaged_blob_and_repair_restores_it_from_the_raw_mail() {
    let app = App::new();
    let (blob, tree, _, photo) = one_package(&app);
    let clean = app.ok(&["verify"]);
    assert!(clean.contains("发现问题 0 个"), "{clean}");

    // Editing the photo in the tree changes the archive: the same size, other bytes.
    scribble(&tree);
    assert_ne!(std::fs::read(&blob).unwrap(), photo);
    let r = app.run(&["verify"]);
    assert!(!r.ok, "damage must fail verify: {}", r.stdout);
    let blob_rel = blob.strip_prefix(app.data()).unwrap().to_str().unwrap().to_string();
    let line = r.stdout.lines().find(|l| l.contains("已损坏")).unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(line.contains(&blob_rel) && line.contains("嘎鲁图派出所") && line.contains("现场.jpg") && line.contains("verify --repair"), "{line}");
    assert!(r.stdout.contains("尚未解决 1 个"), "{}", r.stdout);

    // tree rebuild leaves the damaged file out and says what to do.
    let r = app.run(&["tree", "rebuild"]);
    assert!(!r.ok, "{}", r.stdout);
    assert!(!tree.exists(), "a damaged blob was linked");
    assert!(r.stdout.contains("verify --repair"), "{}", r.stdout);
    assert!(r.stderr.contains("现场.jpg"), "{}", r.stderr);

    let out = app.ok(&["verify", "--repair"]);
    assert!(out.contains("已从原始邮件") && out.contains("已修复 1 个"), "{out}");
    assert_eq!(std::fs::read(&blob).unwrap(), photo);
    assert_eq!(mode(&blob), 0o444);
    app.ok(&["tree", "rebuild"]);
    assert_eq!(std::fs::read(&tree).unwrap(), photo);
    assert!(app.ok(&["verify"]).contains("发现问题 0 个"));
}

#[test]
fn repair_relinks_the_tree_and_reports_damaged_raw_mail() {
    let app = App::new();
    let (blob, tree, raw, photo) = one_package(&app);
    // A damaged blob is restored, and the tree shows the restored file at once.
    scribble(&blob);
    app.ok(&["verify", "--repair"]);
    assert_eq!(std::fs::read(&tree).unwrap(), photo);
    assert_eq!(std::fs::metadata(&tree).unwrap().ino(), std::fs::metadata(&blob).unwrap().ino());

    // A tree entry replaced by an edited copy (save-as-new-file editors): the blob is intact.
    std::fs::remove_file(&tree).unwrap();
    std::fs::write(&tree, b"edited by someone").unwrap();
    let r = app.run(&["verify"]);
    assert!(!r.ok && r.stdout.contains("目录树中的文件被改动过"), "{}", r.stdout);
    app.ok(&["verify", "--repair"]);
    assert_eq!(std::fs::read(&tree).unwrap(), photo);

    // Damaged raw mail is reported and cannot be repaired here; a blob that only that
    // mail could restore stays damaged, and the exit code says so.
    scribble(&raw);
    scribble(&blob);
    let r = app.run(&["verify", "--repair"]);
    assert!(!r.ok, "{}", r.stdout);
    assert!(r.stdout.contains("原始邮件已损坏") && r.stdout.contains("嘎鲁图派出所"), "{}", r.stdout);
    assert!(r.stdout.contains("无法修复"), "{}", r.stdout);
    assert!(r.stdout.contains("尚未解决 2 个"), "{}", r.stdout);
}

#[test]
fn stale_temporary_files_are_removed_when_a_writer_starts() {
    let app = App::new();
    let tmp = app.data().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let stale = tmp.join(".tmpKILL9");
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    std::fs::File::options().write(true).open(&stale).unwrap().set_modified(hours_ago).unwrap();
    let stale_dir = tmp.join("rar-extract");
    std::fs::create_dir_all(&stale_dir).unwrap();
    std::fs::write(stale_dir.join("big.jpg"), b"x").unwrap();
    std::fs::File::open(&stale_dir).unwrap().set_modified(hours_ago).unwrap();
    // A file another process is writing right now is left alone.
    let fresh = tmp.join(".tmpINFLIGHT");
    std::fs::write(&fresh, b"being written").unwrap();
    app.import_one("tmp.eml", &mail().attach("a.jpg", &jpeg(340)).build());
    assert!(!stale.exists(), "a kill -9 leftover survived");
    assert!(!stale_dir.exists());
    assert!(fresh.exists());
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 1, "the import left temporary files: {left:?}");
}
