//! The archive in an S3 store (issue 25, point 5): `[storage] backend = "s3"` keeps
//! blobs, raw mail, thumbnails and renditions in a real S3 server (SeaweedFS,
//! `seaweed`), keyed by their content hashes and written once. A second machine (its
//! own data directory, the same database and bucket) analyses mail only the bucket
//! holds, and files the tree from it; a 100 MiB video goes up in parts within the
//! memory bound of a local import; `verify` checks the bucket and repairs it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::dovecot::Dovecot;
use crate::fixtures::{Mail, jpeg, mp4_movie, noise};
use crate::harness::{App, signal, wait_until};
use crate::ingest::MAR19;
use crate::postgres::Postgres;
use crate::seaweed::Seaweed;

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Every file under `dir`, by its path relative to it, with its bytes' hash.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, sha256(&std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

/// The SHA-256 an archived key is named by (`blobs/ab/cd/<sha>`, `raw/ab/<sha>.eml`,
/// `thumbs/ab/<sha of the photo>.jpg`: a thumbnail is named by its photo).
fn named_hash(key: &str) -> &str {
    let name = key.rsplit('/').next().unwrap();
    name.split('.').next().unwrap()
}

#[test]
fn the_archive_is_in_the_bucket_and_a_second_machine_files_the_tree_from_it() {
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let url = pg.database("shared");
    let first = App::new();
    first.set_database(&url);
    s3.install(&first.config());
    let checked = first.ok(&["check-config"]);
    assert!(checked.contains("对象存储连接成功：s3://baosong"), "{checked}");
    crate::sample::sample_mailbox_shows_the_board(&first);

    // Every archived file the books name is in the bucket, with the content its name says.
    let objects: BTreeMap<String, u64> = s3.objects().into_iter().collect();
    let named = pg.query("shared", "SELECT blob_path FROM items WHERE blob_path <> '' UNION SELECT raw_path FROM messages WHERE raw_path <> '' UNION SELECT thumb_path FROM items WHERE thumb_path <> ''");
    assert!(named.len() > 10, "{named:?}");
    for key in &named {
        assert!(objects.contains_key(key), "{key} is not in the bucket: {objects:?}");
        if !key.starts_with("thumbs/") {
            assert_eq!(sha256(&s3.get(key)), named_hash(key), "{key}");
        }
    }

    // Another machine with an empty data directory, on the same books and bucket,
    // files the same tree: every blob comes down from the bucket.
    let second = App::new();
    second.set_database(&url);
    s3.install(&second.config());
    second.ok(&["tree", "rebuild"]);
    let (mine, theirs) = (files(&first.data().join("tree")), files(&second.data().join("tree")));
    assert!(mine.len() >= 8, "{mine:?}");
    assert_eq!(theirs, mine, "the second machine's tree is the first one's");
    let verified = second.run(&["verify"]);
    assert!(verified.ok, "the bucket checks out from the second machine too:\n{}\n{}", verified.stdout, verified.stderr);
}

/// Exactly-once with the archive in S3: `run` on PostgreSQL + S3 killed with SIGKILL at
/// random moments through a backlog of 200 counts each message once, and the bucket
/// holds every message's raw mail and every counted photo.
#[test]
fn kill_9_at_random_moments_counts_every_message_once_on_postgresql_and_s3() {
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    crate::imap::kill_9_at_random_moments_counts_once(Some(&pg.database("kill")), Some(&s3));
    let objects: BTreeMap<String, u64> = s3.objects().into_iter().collect();
    for key in pg.query("kill", "SELECT raw_path FROM messages UNION SELECT blob_path FROM items WHERE blob_path <> ''") {
        assert!(objects.contains_key(&key), "{key} is on the books but not in the bucket");
    }
    assert_eq!(pg.query("kill", "SELECT count(*) FROM messages"), ["200"]);
}

/// A worker on a machine that never saw the mail analyses it from the bucket, and the
/// reader's machine then files in its tree what the worker stored.
#[test]
fn a_worker_on_another_machine_works_from_the_bucket_alone() {
    let (pg, s3, d) = (Postgres::start(), Seaweed::start(), Dovecot::start());
    let photos: Vec<Vec<u8>> = (0..4).map(|i| jpeg(400 + i)).collect();
    let mut c = d.client();
    for (n, p) in photos.iter().enumerate() {
        let raw = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach(&format!("①党建/{n}.jpg"), p).build();
        c.append("INBOX", "19-Mar-2024 10:00:00 +0800", &raw);
    }
    let url = pg.database("two");
    let reader = App::with_imap(d.tls_port, true, crate::imap::BACKLOG_IMAP);
    reader.set_database(&url);
    s3.install(&reader.config());
    reader.ok(&["poll", "--once", "--queue-only"]);
    let queued = || pg.query("two", "SELECT count(*) FROM journal WHERE state = 'queued'")[0].parse::<usize>().unwrap();
    assert_eq!(queued(), 4);
    assert!(s3.objects().iter().filter(|(k, _)| k.starts_with("raw/")).count() == 4, "the raw mail went up as it was fetched");

    let elsewhere = App::new();
    elsewhere.set_database(&url);
    s3.install(&elsewhere.config());
    assert!(!elsewhere.data().join("raw").exists());
    let mut worker = elsewhere.spawn_logged(&["worker"], &[], "worker.log");
    assert!(wait_until(Duration::from_secs(120), || queued() == 0), "{}", elsewhere.log("worker.log"));
    signal(&worker, libc::SIGTERM);
    assert!(worker.wait().unwrap().success());
    assert_eq!(reader.photos("嘎鲁图派出所"), 4);

    // The reader's next pass links what the worker stored, fetched from the bucket.
    reader.ok(&["poll", "--once"]);
    let tree = files(&reader.data().join("tree"));
    let mut want: Vec<String> = photos.iter().map(|p| sha256(p)).collect();
    let mut got: Vec<String> = tree.values().cloned().collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{tree:?}");
}

/// A 100 MiB video mail goes up in 5 MiB parts, streamed from the stored files: the
/// import's peak anonymous memory is at most 12 MiB above the same import's on a local
/// store (measured in the same test), and what the bucket holds is the video byte for byte.
#[test]
fn a_100_mib_video_goes_up_in_parts_within_the_memory_bound() {
    let s3 = Seaweed::start();
    let app = App::new();
    s3.install(&app.config());
    let video = mp4_movie(300, 1920, 1080, None, &noise(75 << 20, 7));
    let mail = Mail::new("gltpcs@163.com", "嘎鲁图派出所3月视频", MAR19).attach("宣讲.mp4", &video).build();
    let path = app.eml("big.eml", &mail);
    drop(mail);
    let (run, rss, wall) = app.run_measured(&["import", path.to_str().unwrap()]);
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    let local = App::new();
    let (base, base_rss, base_wall) = local.run_measured(&["import", path.to_str().unwrap()]);
    assert!(base.ok, "{}", base.stderr);
    eprintln!(
        "100 MiB video mail: into S3 peak RSS {} MiB, {:.1} s; local store {} MiB, {:.1} s",
        rss >> 10,
        wall.as_secs_f64(),
        base_rss >> 10,
        base_wall.as_secs_f64()
    );
    let key = format!("blobs/{}/{}/{}", &sha256(&video)[..2], &sha256(&video)[2..4], sha256(&video));
    let objects: BTreeMap<String, u64> = s3.objects().into_iter().collect();
    assert_eq!(objects.get(&key), Some(&(video.len() as u64)), "{objects:?}");
    assert!(s3.get(&key) == video, "the bucket's copy differs from the video sent");
    // Held whole, the 75 MiB video alone would add 75 MiB; one 5 MiB part at a time and
    // the client's buffers add about 7 (17 MiB against 10 on 8 December).
    assert!(rss < base_rss + (12 << 10), "peak RSS {} MiB, {} MiB on a local store", rss >> 10, base_rss >> 10);
}

/// `verify` hashes the bucket's copies: an object damaged or deleted behind baosong's
/// back is found, a later mail with the same photo does not write over the damaged
/// key (each key is written once), and `verify --repair` restores both from the raw mail.
#[test]
fn verify_checks_the_bucket_and_repairs_it_from_the_raw_mail() {
    let s3 = Seaweed::start();
    let app = App::new();
    s3.install(&app.config());
    let (a, b) = (jpeg(71), jpeg(72));
    app.import_one("a.eml", &Mail::new("gltpcs@163.com", "嘎鲁图派出所3月素材", MAR19).attach("①党建/a.jpg", &a).attach("①党建/b.jpg", &b).build());
    let clean = app.run(&["verify"]);
    assert!(clean.ok, "{}\n{}", clean.stdout, clean.stderr);
    let key = |d: &[u8]| {
        let h = sha256(d);
        format!("blobs/{}/{}/{h}", &h[..2], &h[2..4])
    };
    s3.put(&key(&a), b"not the photo");
    s3.delete(&key(&b));

    // The same photo sent again in another mail: its key exists, and is not written again.
    app.import_one("again.eml", &Mail::new("wdhpcs@163.com", "无定河派出所3月素材", MAR19).attach("①党建/同一张.jpg", &a).build());
    assert_eq!(s3.get(&key(&a)), b"not the photo");

    let found = app.run(&["verify"]);
    assert!(!found.ok, "{}", found.stdout);
    let said = found.stdout.clone() + &found.stderr;
    assert!(said.contains("存档文件已损坏") && said.contains(&key(&a)), "{said}");
    assert!(said.contains("存档文件缺失") && said.contains(&key(&b)), "{said}");

    let repaired = app.run(&["verify", "--repair"]);
    assert!(repaired.ok, "{}\n{}", repaired.stdout, repaired.stderr);
    assert!(s3.get(&key(&a)) == a && s3.get(&key(&b)) == b, "both are the photos again");
    assert!(app.run(&["verify"]).ok);
}

/// `check-config` reads the keys and lists the bucket: a wrong secret is found before
/// `run`, with what to check.
#[test]
fn check_config_finds_a_wrong_secret() {
    let s3 = Seaweed::start();
    let app = App::new();
    s3.install(&app.config());
    std::fs::write(s3.dir.path().join("s3.secret"), "wrong").unwrap();
    let r = app.run(&["check-config"]);
    assert!(!r.ok, "{}", r.stdout);
    assert!(r.stdout.contains("s3://baosong") && r.stdout.contains("BAOSONG_S3_SECRET_ACCESS_KEY"), "{}", r.stdout);
    assert!(r.stderr.contains("配置检查未通过"), "{}", r.stderr);
}

/// `migrate-db --to postgres://… --storage s3` (issue 25, point 6): a SQLite deployment's
/// archive goes into the bucket with its books, and a second run after a stop sends
/// only what is missing; a
/// new machine on the PostgreSQL books and the bucket, with an empty data directory,
/// shows the same board, items, scores and audit log, and files the same tree.
#[test]
fn migrate_db_moves_the_archive_into_the_bucket_and_the_numbers_stay_the_same() {
    let (pg, s3) = (Postgres::start(), Seaweed::start());
    let app = App::new();
    app.ok(&["import", crate::sample::sample_dir().to_str().unwrap()]);
    let photo = app.items(&[]).iter().find(|i| i["status"] == "accepted" && i["kind"] == "photo").unwrap()["id"].to_string();
    app.ok(&["adopt", &photo, "--level", "city", "--date", "2024-03-22"]);
    let before = crate::on_postgres::views(&app);
    let url = pg.database("moved");

    let refused = app.run(&["migrate-db", "--to", &url, "--storage", "s3"]);
    assert!(!refused.ok && refused.stderr.contains("[storage.s3]"), "{}", refused.stderr);
    s3.describe_in(&app.config(), crate::seaweed::BUCKET);
    // A first run that stops after the archive (its database is not there), and a
    // bucket that then lost three files: the second run sends only those three.
    let stopped = app.run(&["migrate-db", "--to", &format!("{url}_missing"), "--storage", "s3"]);
    assert!(!stopped.ok && stopped.stdout.contains("存档核对通过"), "{}\n{}", stopped.stdout, stopped.stderr);
    let first: Vec<String> = s3.objects().into_iter().map(|(k, _)| k).collect();
    for k in first.iter().filter(|k| k.starts_with("blobs/")).take(3) {
        s3.delete(k);
    }
    let out = app.ok(&["migrate-db", "--to", &url, "--storage", "s3"]);
    assert!(out.contains("存档核对通过") && out.contains("迁移完成") && out.contains("backend 改为 \"s3\""), "{out}");
    assert!(out.contains(&format!("新复制 3，存储桶中已有 {}", first.len() - 3)), "{out}");
    let objects: BTreeMap<String, u64> = s3.objects().into_iter().collect();
    let on_disk = files(&app.data());
    let archived: Vec<&String> = on_disk.keys().filter(|k| ["blobs/", "raw/", "thumbs/"].iter().any(|p| k.starts_with(p))).collect();
    assert!(archived.len() > 10, "{archived:?}");
    for k in &archived {
        assert!(objects.contains_key(*k), "{k} was not copied");
    }
    let checked = app.ok(&["migrate-db", "--to", &url, "--storage", "s3", "--check"]);
    assert!(checked.contains("存档核对通过") && checked.contains("核对通过"), "{checked}");

    let moved = App::new();
    moved.set_database(&url);
    s3.install(&moved.config());
    assert_eq!(crate::on_postgres::views(&moved), before, "the books read the same on PostgreSQL and S3");
    moved.ok(&["tree", "rebuild"]);
    assert_eq!(files(&moved.data().join("tree")), files(&app.data().join("tree")));
    let verified = moved.run(&["verify"]);
    assert!(verified.ok, "{}\n{}", verified.stdout, verified.stderr);
}
