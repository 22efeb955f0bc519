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
    crate::imap::kill_9_at_random_moments_counts_once(Some(&pg.database("kill")));
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
    assert!(r.ok && r.stdout.contains("表结构已是最新（第 19 版）"), "{}", r.stdout);
    let r = app.run_env(&["check-config"], &[("BAOSONG_DATABASE_URL", &url.replace("/env", "/absent"))]);
    assert!(!r.ok && r.stdout.contains("无法连接数据库") && r.stdout.contains("BAOSONG_DATABASE_URL"), "{}", r.stdout);
    assert!(!r.stdout.contains("geheim"), "{}", r.stdout);

    let r = app.run_env(&["check-config"], &[("BAOSONG_DATABASE_URL", "mysql://root:geheim@db/baosong")]);
    assert!(!r.ok);
    assert!(r.stderr.contains("BAOSONG_DATABASE_URL") && r.stderr.contains("postgres://"), "{}", r.stderr);
    assert!(!r.stderr.contains("geheim"), "{}", r.stderr);
}
