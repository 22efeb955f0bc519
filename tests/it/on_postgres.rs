//! The same books on PostgreSQL (issue 25, point 1): `[storage] database_url =
//! "postgres://…"` or `BAOSONG_DATABASE_URL` runs everything on a throwaway
//! PostgreSQL 15 cluster (`postgres`), and the scenarios that matter (intake of the
//! sample mailbox and over IMAP with kill -9, scoring, reprocess, the console) pass
//! with the very checks they pass on SQLite.

use crate::harness::App;
use crate::postgres::Postgres;

/// An installation whose database is `name`, a new database on `pg`.
fn on(pg: &Postgres, name: &str) -> App {
    App::with_config(&format!("database_url = \"{}\"", pg.database(name)))
}

#[test]
fn the_sample_mailbox_shows_the_same_board_on_postgresql() {
    let pg = Postgres::start();
    let app = on(&pg, "sample");
    crate::sample::sample_mailbox_shows_the_board(&app);
    // The books are in PostgreSQL, not in a SQLite file beside them.
    assert_eq!(pg.query("sample", "SELECT count(*) FROM messages"), ["9"]);
    assert_eq!(pg.query("sample", "SELECT count(*) FROM journal WHERE state <> 'done'"), ["0"]);
    assert!(!app.data().join("baosong.db").exists());
}

#[test]
fn adoptions_score_and_are_audited_on_postgresql() {
    let pg = Postgres::start();
    crate::scoring::adopted_at_banner_and_city_scores_once_and_is_audited(&on(&pg, "scores"));
    assert_eq!(pg.query("scores", "SELECT count(*) FROM audit"), ["3"]);
}

#[test]
fn a_rule_fix_reaches_a_past_month_on_postgresql() {
    let pg = Postgres::start();
    crate::reprocess::rule_fix_reaches_a_past_month(&on(&pg, "fix"), false);
}

#[test]
fn kill_9_at_random_moments_counts_every_message_once_on_postgresql() {
    let pg = Postgres::start();
    crate::imap::kill_9_at_random_moments_counts_once(Some(&pg.database("kill")), None);
    assert_eq!(pg.query("kill", "SELECT count(*) FROM messages"), ["200"]);
}

#[test]
fn the_console_on_postgresql() {
    let pg = Postgres::start();
    let c = crate::console::Console::start_on(Some(&pg.database("console")));
    crate::console::login_cookie_and_board(&c);
    crate::console::every_form_is_audited_and_shows_on_the_board(&c);
    crate::console::adopts_from_the_item_page_and_shows_the_scores(&c);
    assert!(pg.query("console", "SELECT count(*) FROM sessions")[0].parse::<i64>().unwrap() > 0, "the sessions are in PostgreSQL");
}

#[test]
fn two_consoles_on_one_postgresql_database_share_the_login_limit() {
    let pg = Postgres::start();
    crate::console::two_consoles_share_the_login_limit(&crate::console::Console::start_on(Some(&pg.database("limit"))));
    assert!(pg.query("limit", "SELECT count(*) FROM login_failures")[0].parse::<i64>().unwrap() >= 5);
}

/// `BAOSONG_DATABASE_URL` takes the place of the file's `database_url`, and
/// `check-config` shows it without its password; an address of neither kind is a
/// configuration error naming the variable.
#[test]
fn the_database_address_comes_from_the_environment_and_its_password_is_never_shown() {
    let pg = Postgres::start();
    let app = App::new();
    let url = pg.database("env").replace("baosong@", "baosong:geheim@");
    let r = app.run_env(&["check-config"], &[("BAOSONG_DATABASE_URL", &url)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("数据库：postgres://baosong:***@127.0.0.1:{}/env", pg.port)), "{}", r.stdout);
    assert!(r.stdout.contains("数据库连接成功：PostgreSQL 15") && r.stdout.contains("库中还没有 baosong 的表，首次启动时自动建立"), "{}", r.stdout);
    assert!(!r.stdout.contains("geheim") && !r.stderr.contains("geheim"));
    let r = app.run_env(&["import", app.dir.path().join("inbox").to_str().unwrap()], &[("BAOSONG_DATABASE_URL", &url)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(pg.query("env", "SELECT count(*) FROM _sqlx_migrations")[0].parse::<i64>().unwrap() > 0, "migrated on PostgreSQL");
    assert!(!app.data().join("baosong.db").exists());
    let r = app.run_env(&["check-config"], &[("BAOSONG_DATABASE_URL", &url)]);
    assert!(r.ok && r.stdout.contains("表结构已是最新（第 20 版）"), "{}", r.stdout);
    let r = app.run_env(&["check-config"], &[("BAOSONG_DATABASE_URL", &url.replace("/env", "/absent"))]);
    assert!(!r.ok && r.stdout.contains("无法连接数据库") && r.stdout.contains("BAOSONG_DATABASE_URL"), "{}", r.stdout);
    assert!(!r.stdout.contains("geheim"), "{}", r.stdout);

    let r = app.run_env(&["check-config"], &[("BAOSONG_DATABASE_URL", "mysql://root:geheim@db/baosong")]);
    assert!(!r.ok);
    assert!(r.stderr.contains("BAOSONG_DATABASE_URL") && r.stderr.contains("postgres://"), "{}", r.stderr);
    assert!(!r.stderr.contains("geheim"), "{}", r.stderr);
}

/// What a user reads of the books: the board of March 2024, every item, the year's
/// scores and the audit log.
pub fn views(app: &App) -> Vec<serde_json::Value> {
    let json = |args: &[&str]| serde_json::from_str::<serde_json::Value>(&app.ok(args)).unwrap();
    vec![
        json(&["status", "--cycle", "2024-03", "--as-of", crate::ingest::AS_OF, "--json"]),
        json(&["items", "--json"]),
        json(&["score", "--year", "2024", "--json"]),
        json(&["audit", "--json"]),
    ]
}

/// `migrate-db` (issue 25, point 6): a SQLite deployment with mail, a person's decision
/// and an adoption is copied into an empty PostgreSQL database, also after being killed
/// at any moment (the copy is one transaction: the target is then empty, or complete);
/// the board, items, scores and audit log read the same from either; a non-empty target
/// is refused; mail taken in afterwards gets new ids.
#[test]
fn migrate_db_moves_the_books_and_the_numbers_stay_the_same() {
    let pg = Postgres::start();
    let app = App::new();
    app.ok(&["import", crate::sample::sample_dir().to_str().unwrap()]);
    let items = app.items(&[]);
    let photo = items.iter().find(|i| i["status"] == "accepted" && i["kind"] == "photo").unwrap()["id"].to_string();
    app.ok(&["adopt", &photo, "--level", "city", "--date", "2024-03-22"]);
    app.ok(&["extend", "无定河所", "--cycle", "2024-03", "--until", "2024-03-28"]);
    let before = views(&app);
    let url = pg.database("moved");

    for delay_ms in [30u64, 120, 400] {
        let mut child = app.spawn(&["migrate-db", "--to", &url]);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        crate::harness::signal(&child, libc::SIGKILL);
        let _ = child.wait();
        let copied = pg.query("moved", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'messages'") == ["1"]
            && pg.query("moved", "SELECT count(*) FROM messages") != ["0"];
        if copied {
            break;
        }
    }
    if pg.query("moved", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'messages'") == ["0"]
        || pg.query("moved", "SELECT count(*) FROM messages") == ["0"]
    {
        let out = app.ok(&["migrate-db", "--to", &url]);
        assert!(out.contains("迁移完成") && out.contains("行数和校验和全部一致"), "{out}");
        assert!(out.contains("messages") && !out.contains("不一致"), "{out}");
    }
    let again = app.run(&["migrate-db", "--to", &url]);
    assert!(!again.ok && again.stderr.contains("目标库不是空的"), "{}", again.stderr);
    // The check compares every value: one changed cell in the target is found.
    let checked = app.ok(&["migrate-db", "--to", &url, "--check"]);
    assert!(checked.contains("核对通过") && checked.contains("messages"), "{checked}");
    pg.query("moved", "UPDATE items SET shown_name = shown_name || '!' WHERE id = (SELECT min(id) FROM items)");
    let differs = app.run(&["migrate-db", "--to", &url, "--check"]);
    assert!(!differs.ok && differs.stderr.contains("核对未通过"), "{}", differs.stdout);
    let line = differs.stdout.lines().find(|l| l.trim_start().starts_with("items ")).unwrap_or_else(|| panic!("{}", differs.stdout)).to_string();
    assert!(line.contains("校验和不一致"), "{line}");
    assert!(differs.stdout.lines().filter(|l| l.contains("校验和不一致")).count() == 1, "{}", differs.stdout);
    pg.query("moved", "UPDATE items SET shown_name = left(shown_name, -1) WHERE id = (SELECT min(id) FROM items)");

    app.set_database(&url);
    let after = views(&app);
    assert_eq!(after, before, "the books read the same from PostgreSQL");
    assert_eq!(pg.query("moved", "SELECT count(*) FROM adoptions"), ["1"]);
    // New mail after the move: ids continue past the copied ones.
    let raw = crate::fixtures::Mail::new("tkpcs@qq.com", "图克派出所3月素材", crate::ingest::MAR19).attach("①新.jpg", &crate::fixtures::jpeg(77)).build();
    app.import_one("new.eml", &raw);
    let items = app.items(&[]);
    assert_eq!(items.len(), before[1].as_array().unwrap().len() + 1);
    let wrong = app.run(&["migrate-db", "--to", &url]);
    assert!(!wrong.ok && wrong.stderr.contains("当前配置的数据库已是 PostgreSQL"), "{}", wrong.stderr);
}

/// Writers on two machines (two data directories, so the flock on data/lock cannot
/// see one another) on one PostgreSQL database: while `run` holds the database's
/// writer lock, an `import` elsewhere is refused in Chinese; once `run` is killed with
/// SIGKILL the server ends its session, the lock is free, and the import goes through.
#[test]
fn a_second_writer_on_another_machine_waits_for_the_database_lock() {
    let pg = Postgres::start();
    let url = pg.database("shared");
    let d = crate::dovecot::Dovecot::start();
    let first = App::with_imap(d.tls_port, true, "scan_junk = false\npoll_interval = \"10m\"");
    first.set_database(&url);
    let mut daemon = first.spawn(&["run"]);
    let held = || pg.query("shared", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == ["1"];
    assert!(crate::harness::wait_until(std::time::Duration::from_secs(30), held), "{}", first.daemon_log());

    let second = App::new();
    second.set_database(&url);
    let inbox = second.dir.path().join("inbox");
    let refused = second.run(&["import", inbox.to_str().unwrap()]);
    assert!(!refused.ok, "{}", refused.stdout);
    assert!(refused.stderr.contains("正被另一个 baosong 进程写入") && refused.stderr.contains("127.0.0.1"), "{}", refused.stderr);
    // Reading and manual changes are not writers' work: they go on.
    assert!(second.run(&["status", "--cycle", "2024-03"]).ok);

    crate::harness::signal(&daemon, libc::SIGKILL);
    let _ = daemon.wait();
    assert!(crate::harness::wait_until(std::time::Duration::from_secs(30), || !held()), "the server ends a killed writer's session");
    let r = second.run(&["import", inbox.to_str().unwrap()]);
    assert!(r.ok, "{}", r.stderr);
}
