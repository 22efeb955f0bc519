//! What each subcommand does: wiring between the command line and the library.

use std::process::ExitCode;

use anyhow::{Context, bail};
use baosong::config::Config;
use baosong::corrections;
use baosong::config::imap::ImapConfig;
use baosong::daemon;
use baosong::intake;
use baosong::scheduler;
use baosong::source::imap;
use baosong::cycle::Cycle;
use baosong::db;
use baosong::db::items::{Kind as ItemKind, Status as ItemStatus};
use baosong::db::outbox::State as OutboxState;
use baosong::app::App;
use baosong::pipeline::Outcome;
use baosong::rejection::Flag;
use baosong::report;
use baosong::source::files;
use baosong::verify;
use chrono::DateTime;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{Cli, Command, LinksAction, OutboxAction, QuarantineAction, ReportAction, TreeAction};

mod links;
mod migrate_db;
mod tongbao;
mod scoring;
mod users;
mod people;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A command that did not do all it was asked ends with a non-zero exit code, and
/// always says why on stderr, in Chinese (scripts and the office read stderr).
fn failure(why: impl std::fmt::Display) -> ExitCode {
    eprintln!("{why}");
    ExitCode::FAILURE
}

/// `failure` when `ok` is false.
fn exit_code(ok: bool, why: impl FnOnce() -> String) -> ExitCode {
    if ok { ExitCode::SUCCESS } else { failure(why()) }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = baosong::app::load_config(cli.config.as_deref())?;
    if let Command::CheckConfig = cli.command {
        print!("{}", describe(&config));
        if let Some((cert, _)) = &config.web.tls {
            // The certificate and key are read now, as `run` and `serve` will.
            baosong::web::tls::server_config(&config.origin, &config.web)?;
            println!("控制台 https：证书 {} 和私钥可以使用。", cert.display());
        }
        let database = check_database(&config).await;
        let objects = check_object_store(&config).await;
        let imap = check_mailbox(&config).await?;
        let smtp = check_smtp(&config).await;
        if database && objects && imap && smtp {
            println!("配置检查通过。");
            return Ok(ExitCode::SUCCESS);
        }
        // The verdict ends the report on stdout, and stderr says it too.
        let verdict = "配置检查未通过：请按上面的提示修改，再运行 baosong check-config。";
        println!("{verdict}");
        return Ok(failure(verdict));
    }
    if let Command::Inspect { files, json, thumbs, cycle } = &cli.command {
        let cycle = match cycle {
            Some(c) => parse_cycle(c)?,
            None => Cycle::at(now(), config.timezone),
        };
        return inspect_files(&config, files, *json, thumbs.as_deref(), cycle);
    }
    let app = match &cli.command {
        Command::Run => App::open_writer(config, "run").await?,
        Command::Poll { .. } => App::open_writer(config, "poll").await?,
        Command::Import { .. } => App::open_writer(config, "import").await?,
        Command::Retry { .. } => App::open_writer(config, "retry").await?,
        Command::Reprocess { dry_run: false, .. } => App::open_writer(config, "reprocess").await?,
        Command::MigrateDb { .. } => App::open_writer(config, "migrate-db").await?,
        Command::Links { action: Some(LinksAction::Fetch), .. } => App::open_writer(config, "links fetch").await?,
        _ => App::open(config).await?,
    };
    match cli.command {
        Command::Run => run_daemon(&app, false).await,
        Command::Serve => serve(app).await,
        Command::Worker => analyse_only(&app).await,
        Command::User { action } => users::run(&app, action).await,
        Command::Author { items, people: persons } => people::author(&app, &items, &persons).await,
        Command::Person { action } => people::run(&app, action).await,
        Command::Poll { once: true, queue_only } => poll_once(&app, !queue_only).await,
        Command::Poll { once: false, .. } => run_daemon(&app, true).await,
        Command::Import { paths, check_senders } => import(&app, &paths, check_senders).await,
        Command::Status { cycle, as_of, json } => status(&app, cycle, as_of, json).await,
        Command::Items { cycle, department, category, flag, json } => items(&app, cycle, department, category, flag, json).await,
        Command::Quarantine { action } => quarantine(&app, action).await,
        Command::Reassign { package, cycle } => reassign(&app, package, &cycle).await,
        Command::Recategorize { item, category } => recategorize(&app, item, category).await,
        Command::Tree { action: TreeAction::Rebuild } => rebuild_tree(&app).await,
        Command::Verify { repair } => verify(&app, repair).await,
        Command::MigrateDb { to, check, storage } => migrate_db::run(&app, &to, check, storage.is_some()).await,
        Command::Retry { ids } => retry(&app, &ids).await,
        Command::Reprocess { cycle, all, dry_run } => reprocess(app, cycle, all, dry_run).await,
        Command::Digest { date, print, send } => digest(&app, date, print || !send).await,
        Command::Remind { as_of, dry_run, send } => remind(&app, as_of, dry_run || !send).await,
        Command::Outbox { action: OutboxAction::List { limit, json } } => outbox_list(&app, limit, json).await,
        Command::Outbox { action: OutboxAction::Flush } => outbox_flush(&app).await.map(|ok| exit_code(ok, held_mail)),
        Command::Extend { department, cycle, until } => extend(&app, &department, &cycle, &until).await,
        Command::Adopt { items, level, date, channel, url, note } => scoring::adopt(&app, &items, &level, date, channel, url, note).await,
        Command::Unadopt { id } => scoring::unadopt(&app, id).await,
        Command::Score { action: Some(action), .. } => scoring::ledger(&app, action).await,
        Command::Score { action: None, year, month, quarter, half, department, json, explain } => {
            let span = scoring::span_arg(quarter.as_deref(), half.as_deref())?;
            scoring::score(&app, year, month, span, department, json, explain).await
        }
        Command::Report { action: ReportAction::Tongbao { quarter, half, year, docx, as_of } } => tongbao::tongbao(&app, quarter, half, year, docx, as_of).await,
        Command::Export { action } => scoring::export(&app, action).await,
        Command::Audit { limit, json } => scoring::audit(&app, limit, json).await,
        Command::Links { action: Some(LinksAction::Fetch), .. } => links::fetch(&app).await,
        Command::Links { action: None, cycle, json } => links::list(&app, cycle.as_deref().map(parse_cycle).transpose()?, json).await,
        Command::Attach { item, file, confirm } => links::attach(&app, item, &file, confirm).await,
        Command::CheckConfig | Command::Inspect { .. } => unreachable!("handled above"),
    }
}

fn imap_config(config: &Config) -> anyhow::Result<(&ImapConfig, String)> {
    let Some(cfg) = config.imap.as_ref() else {
        bail!("{} 中没有 [imap] 配置；示例见 config/baosong.toml 的 [imap] 一节", config.origin);
    };
    Ok((cfg, cfg.password()?))
}

/// Logs in to the IMAP mailbox, as `run` will; true when that worked (or there is none).
/// `check-config`: PostgreSQL is connected to and asked its version and how far its
/// schema is; a SQLite file is made at the first start and needs no check.
async fn check_database(config: &Config) -> bool {
    if baosong::db::Backend::of(&config.database_url) != Some(baosong::db::Backend::Postgres) {
        return true;
    }
    match baosong::db::probe(&config.database_url).await {
        Ok(p) => {
            let schema = match p.applied {
                None => "库中还没有 baosong 的表，首次启动时自动建立".to_string(),
                Some(v) if v == p.latest => format!("表结构已是最新（第 {v} 版）"),
                Some(v) if v < p.latest => format!("表结构为第 {v} 版，启动时自动升级到第 {} 版", p.latest),
                Some(v) => format!("表结构为第 {v} 版，比本程序认识的第 {} 版新：请先升级 baosong", p.latest),
            };
            println!("数据库连接成功：PostgreSQL {}；{schema}。", p.version);
            p.applied.is_none_or(|v| v <= p.latest)
        }
        Err(e) => {
            println!("{e:#}\n  检查 database_url（或环境变量 BAOSONG_DATABASE_URL）中的主机、端口、用户名、密码和库名，以及 PostgreSQL 是否允许本机连接（pg_hba.conf）。");
            false
        }
    }
}

/// `check-config` with `backend = "s3"`: the keys are read, and the bucket is listed
/// with them, so a wrong endpoint, key or bucket name is found before `run`.
async fn check_object_store(config: &Config) -> bool {
    let Some(s3) = config.s3.clone() else { return true };
    let probe = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> { Ok(baosong::store::Remote::open(&s3)?.probe()?) }).await;
    match probe.unwrap_or_else(|e| Err(anyhow::anyhow!("{e}"))) {
        Ok(n) => {
            let shown = config.s3.as_ref().map(|s| s.shown()).unwrap_or_default();
            println!("对象存储连接成功：{shown}，存储桶可以读取（raw/ 下有 {n} 项）。");
            true
        }
        Err(e) => {
            println!("{e:#}\n  检查 [storage.s3] 的 endpoint、bucket、region，访问密钥（环境变量 BAOSONG_S3_ACCESS_KEY_ID、BAOSONG_S3_SECRET_ACCESS_KEY 或 secret_key_file），以及存储桶是否已建好。");
            false
        }
    }
}

async fn check_mailbox(config: &Config) -> anyhow::Result<bool> {
    let Some(cfg) = config.imap.as_ref() else {
        println!("未配置 [imap]：只能用 baosong import 导入邮件。");
        return Ok(true);
    };
    println!("邮箱：{}（{}:{}）", cfg.user, cfg.host, cfg.port);
    let password = match cfg.password() {
        Ok(p) => p,
        Err(e) => {
            println!("无法读取收件邮箱的授权码：{e}");
            return Ok(false);
        }
    };
    let (mut session, caps) = match imap::login(cfg, &password).await {
        Ok(s) => s,
        Err(e) => {
            println!("登录失败：{e}\n  {}", e.advice());
            return Ok(false);
        }
    };
    println!("登录成功。服务器能力：{}", caps.join(" "));
    match imap::folders::list(&mut session, cfg).await {
        Ok(list) => {
            println!("文件夹：");
            for f in list {
                let mark = if f.junk { "（垃圾邮件）" } else if !f.selectable { "（不可选）" } else { "" };
                println!("  {}{mark}", baosong::utf7::decode(&f.name));
            }
        }
        Err(e) => println!("无法列出文件夹：{e}"),
    }
    let reading: Vec<String> = imap::folders::to_read(&mut session, cfg).await.unwrap_or_default().iter().map(|f| baosong::utf7::decode(f)).collect();
    println!("将读取：{}", reading.join("、"));
    let _ = session.logout().await;
    println!("邮箱检查通过（未收取任何邮件）。");
    Ok(true)
}

/// Logs in to the SMTP server, as sending will, without sending anything; says what is
/// missing when notices are configured but cannot go out. True when all is well.
async fn check_smtp(config: &Config) -> bool {
    let Some(smtp) = config.smtp.as_ref() else {
        if config.notify.is_some() {
            println!("已配置 [notify]，但没有 [smtp]：回执、每日汇总和提醒都无法发出。请在 {} 中加上 [smtp] 一节（provider、user、password_file、from；示例见 config/baosong.toml）。", config.origin);
            return false;
        }
        println!("未配置 [smtp] 和 [notify]：不发送回执、每日汇总和提醒。");
        return true;
    };
    println!("发信邮箱：{}", smtp.account());
    let password = match smtp.password() {
        Ok(p) => p,
        Err(e) => {
            println!("无法读取发信邮箱的授权码：{e}");
            return false;
        }
    };
    let transport = match baosong::outbox::transport(smtp, &password) {
        Ok(t) => t,
        Err(e) => {
            println!("发信设置有误：{e:#}");
            return false;
        }
    };
    match transport.test_connection().await {
        Ok(_) => println!("发信邮箱登录成功（未发送任何邮件）。"),
        Err(e) => {
            match baosong::outbox::hold_reason(&e, smtp) {
                Some(reason) => println!("发信检查失败：{reason}。"),
                None => println!("发信检查失败：无法连接发信服务器 {}:{}（{e}）。请检查网络、smtp.host 和 smtp.port。", smtp.host, smtp.port),
            }
            return false;
        }
    }
    match &config.notify {
        None => println!("未配置 [notify]：不发送回执、每日汇总和提醒。"),
        Some(n) if n.office.is_empty() => println!("注意：notify.office 没有写收件地址，每日汇总不会发出；写 office = [\"办公室邮箱\"]。"),
        Some(_) => {}
    }
    true
}

async fn poll_once(app: &App, analyse: bool) -> anyhow::Result<ExitCode> {
    let (cfg, password) = imap_config(&app.config)?;
    match daemon::poll_once(&app.config, &app.db, &app.store, cfg, &password, shutdown_on_signal()?, analyse).await {
        Ok(s) => {
            print!("收取完成：读取 {} 个文件夹，新入库 {} 封", s.folders, s.ingested - s.already);
            if s.already > 0 {
                print!("，另有 {} 封此前已入库（不重复计入）", s.already);
            }
            if s.skipped_before_backfill > 0 {
                print!("，早于 backfill_since 跳过 {} 封", s.skipped_before_backfill);
            }
            println!("。");
            let missing = sync_tree(app).await?;
            Ok(exit_code(missing == 0, || format!("{missing} 个文件未能放入目录树；可运行 baosong tree rebuild")))
        }
        Err(e) => {
            eprintln!("收取失败：{e}\n  {}", e.advice());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_draft(d: &baosong::notify::Draft) {
    println!("收件人：{}", if d.to.is_empty() { "（没有，不会发出）".to_string() } else { d.to.join("、") });
    if !d.cc.is_empty() {
        println!("抄送：{}", d.cc.join("、"));
    }
    println!("主题：{}\n\n{}", d.subject, d.text.trim_end());
}

async fn digest(app: &App, date: Option<String>, print_only: bool) -> anyhow::Result<ExitCode> {
    let date = match date {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").with_context(|| format!("日期 \"{d}\" 格式不对，应写成 2024-03-20"))?,
        None => baosong::cycle::local(now(), app.config.timezone).date_naive(),
    };
    let d = scheduler::digest(&app.db, &app.config, &app.store, date).await?;
    if print_only {
        print_draft(&d);
        if d.to.is_empty() {
            println!("\n注意：notify.office 没有写收件地址，这份汇总不会发出。在 {} 的 [notify] 中写 office = [\"办公室邮箱\"]。", app.config.origin);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if d.to.is_empty() {
        bail!("每日汇总没有收件人：在 {} 的 [notify] 中写 office = [\"办公室邮箱\"]，例如 office = [\"1605739848@qq.com\"]", app.config.origin);
    }
    need_smtp(app)?;
    if scheduler::enqueue(&app.db, &app.config, &d, now()).await? {
        println!("{date} 的每日汇总已放入发件箱。");
    } else {
        println!("{date} 的每日汇总此前已发送过，不再重复发送。");
    }
    Ok(exit_code(outbox_flush(app).await?, held_mail))
}

/// Sending needs `[smtp]`: say where to add it.
fn need_smtp(app: &App) -> anyhow::Result<()> {
    if app.config.smtp.is_none() {
        bail!("{} 中没有 [smtp] 配置，无法发信：加上 [smtp] 一节（provider、user、password_file、from；示例见 config/baosong.toml 的 [smtp] 一节），再运行 baosong check-config 检查", app.config.origin);
    }
    Ok(())
}

async fn remind(app: &App, as_of: Option<String>, dry_run: bool) -> anyhow::Result<ExitCode> {
    let as_of = as_of.as_deref().map(|t| parse_time(t, &app.config)).transpose()?.unwrap_or_else(now);
    if app.config.notify.is_none() {
        bail!("{} 中没有 [notify] 配置，不生成提醒：加上 [notify] 一节（可以只写 [notify] 这一行，提醒时间等用默认值；示例见 config/baosong.toml）", app.config.origin);
    }
    if !dry_run {
        need_smtp(app)?;
    }
    if scheduler::mailbox_address(&app.config).is_empty() {
        bail!("提醒里要写明报送邮箱地址，但配置里没有：配置 [imap]（user 即各单位报送的邮箱）或 [smtp]（user），示例见 config/baosong.toml");
    }
    let drafts = scheduler::reminders(&app.db, &app.config, as_of).await?;
    if drafts.is_empty() {
        println!("此刻没有需要发送的提醒。");
    }
    let mut queued = 0;
    for d in &drafts {
        if dry_run {
            let sent = db::outbox::exists(&app.db, &d.key).await?;
            println!("—— {}{} ——", d.key, if sent { "（已发送过，不会重复发送）" } else { "" });
            print_draft(d);
            println!();
        } else if scheduler::enqueue(&app.db, &app.config, d, now()).await? {
            queued += 1;
        }
    }
    let unaddressed: Vec<&str> = drafts.iter().filter(|d| d.to.is_empty()).map(|d| d.department.as_str()).collect();
    if !dry_run {
        println!("新放入发件箱的提醒 {queued} 封（{} 封此前已发送过或没有收件人）。", drafts.len() - queued);
    }
    if !unaddressed.is_empty() {
        println!("没有收件人、不会发出的提醒：{}。在名单中给这些单位写 contacts = [\"联系人邮箱\"]。", unaddressed.join("、"));
    }
    if !dry_run && !outbox_flush(app).await? {
        return Ok(failure(held_mail()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends what the outbox holds now; false when sending is on hold.
/// Why a flush that did not send says so.
fn held_mail() -> String {
    "未能发出：发信已暂停（原因见上），待发邮件都保留在发件箱中。".to_string()
}

async fn outbox_flush(app: &App) -> anyhow::Result<bool> {
    need_smtp(app)?;
    let Some(smtp) = app.config.smtp.as_ref() else { return Ok(false) };
    let transport = baosong::outbox::transport(smtp, &smtp.password()?)?;
    db::outbox::recover_interrupted(&app.db).await?;
    let f = baosong::outbox::flush(&app.db, &app.config, &transport, now, true).await?;
    if let Some(reason) = &f.held {
        println!("发信暂停：{reason}。");
        println!("发件箱中 {} 封待发邮件都保留着，不会丢失；baosong run 每 30 分钟自动重试。", f.waiting);
        return Ok(false);
    }
    println!("发送：成功 {} 封，被拒 {} 封，暂缓重试 {} 封。", f.sent, f.failed, f.deferred);
    Ok(true)
}

async fn outbox_list(app: &App, limit: i64, json: bool) -> anyhow::Result<ExitCode> {
    let rows = db::outbox::list(&app.db, limit).await?;
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let at = |t: i64| (t > 0).then(|| report::rfc3339(t, &app.config));
                serde_json::json!({"id": r.id, "key": r.key, "kind": r.kind, "message_id": r.message_id, "to": r.recipients, "cc": r.cc,
                    "subject": r.subject, "state": r.state.code(), "attempts": r.attempts, "interrupted": r.interrupted, "last_error": r.last_error,
                    "created_at": at(r.created_at), "sent_at": at(r.sent_at), "next_attempt_at": at(r.next_attempt_at)})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("发件箱是空的。");
    }
    for r in rows {
        let state = match r.state {
            OutboxState::Sent => format!("{} {}", r.state.label(), report::shown_time(r.sent_at, &app.config)),
            OutboxState::Failed => format!("{}：{}", r.state.label(), r.last_error),
            OutboxState::Pending if r.attempts > 0 => format!("待重试（已试 {} 次）：{}", r.attempts, r.last_error),
            OutboxState::Pending | OutboxState::Sending => r.state.label().to_string(),
        };
        println!("[{}] {}  收件人 {}{}  「{}」  {}", r.id, r.key, r.recipients, if r.cc.is_empty() { String::new() } else { format!(" 抄送 {}", r.cc) }, r.subject, state);
    }
    Ok(ExitCode::SUCCESS)
}

async fn extend(app: &App, department: &str, cycle: &str, until: &str) -> anyhow::Result<ExitCode> {
    let name = department_name(app, department)?;
    let cycle = parse_cycle(cycle)?;
    let date = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").with_context(|| format!("日期 \"{until}\" 格式不对，应写成 2024-03-28"))?;
    corrections::extend(&app.db, &db::audit::cli_user(), &name, cycle, date, now()).await?;
    println!("已批准：{name} {cycle} 延期至 {date}（含当天）。");
    Ok(ExitCode::SUCCESS)
}

/// The notice loop of the daemon: receipts, digest, reminders, then the outbox.
async fn run_daemon(app: &App, force_poll: bool) -> anyhow::Result<ExitCode> {
    let (cfg, password) = imap_config(&app.config)?;
    let mut cfg = cfg.clone();
    if force_poll {
        cfg.idle = false;
    }
    let rx = shutdown_on_signal()?;
    if let Some(smtp) = &app.config.smtp {
        smtp.password()?; // a missing 授权码 is a start-up error, not a silent gap
    }
    // A certificate that cannot be used is a configuration error at start-up, like a
    // missing 授权码; a console that cannot listen (the port is taken) is only logged.
    baosong::web::tls::server_config(&app.config.origin, &app.config.web)?;
    // The console reads and corrects through its own connections, as a manual command
    // alongside the writer would; it stops with intake on SIGTERM. It runs on a
    // standby too.
    let web = baosong::web::serve(App::open(app.config.clone()).await?, rx.clone());
    let mut console = tokio::spawn(async move {
        if let Err(e) = web.await {
            tracing::error!(error = %format!("{e:#}"), "控制台未能运行；收件照常进行");
        }
    });
    let active = |rx| read_mailbox(app, &cfg, &password, rx);
    let ended = match app.db.backend {
        db::Backend::Sqlite => active(rx.clone()).await,
        db::Backend::Postgres => baosong::failover::lead(&app.db, &app.config.database_url, rx.clone(), active).await,
    };
    // On SIGTERM the console finishes its requests; if intake stopped for another reason,
    // the console stops with it.
    if tokio::time::timeout(std::time::Duration::from_secs(5), &mut console).await.is_err() {
        console.abort();
    }
    ended?;
    Ok(ExitCode::SUCCESS)
}

/// The mailbox reader's work: the tree brought in line with the books, then intake,
/// link downloads, the daily jobs and the outbox, until `rx` turns true.
async fn read_mailbox(app: &App, cfg: &ImapConfig, password: &str, rx: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<()> {
    sync_tree(app).await?;
    let ingested = tokio::sync::Notify::new();
    let links = match app.config.links.fetch {
        true => Some(baosong::links::queue::Queue::new(app.db.clone(), app.store.clone(), &app.config.links)?),
        false => None,
    };
    if let Some(w) = app.config.links.test_overrides() {
        tracing::warn!("{w}");
    }
    let (intake, notices) = tokio::join!(daemon::run(&app.config, &app.db, &app.store, cfg, password, rx.clone(), &ingested, links.as_ref()), baosong::outbox::run(&app.db, &app.config, &app.store, rx, &ingested, now));
    intake?;
    notices
}

/// `baosong worker`: analysis alone, beside the `run` of another machine, on the
/// journal they share in PostgreSQL, until SIGTERM or Ctrl-C.
async fn analyse_only(app: &App) -> anyhow::Result<ExitCode> {
    if app.db.backend != db::Backend::Postgres {
        bail!("baosong worker 用于多台机器共用 PostgreSQL 的部署（[storage] database_url = \"postgres://…\"）；使用 SQLite 时 baosong run 自己完成分析，不需要它。");
    }
    db::journal::act_as_worker();
    let rx = shutdown_on_signal()?;
    tracing::info!(database = %db::shown(&app.config.database_url), "开始分析共用日志中排队的邮件");
    let wake = tokio::sync::Notify::new();
    intake::worker::run(&app.config, &app.db, &app.store, &wake, rx, &[], Some(std::time::Duration::from_secs(1))).await?;
    Ok(ExitCode::SUCCESS)
}

/// `baosong serve`: the console alone, until SIGTERM or Ctrl-C.
async fn serve(app: App) -> anyhow::Result<ExitCode> {
    println!("控制台：{}（监听 {}；按 Ctrl-C 退出）", app.config.web.base_url, app.config.web.listen);
    baosong::web::serve(app, shutdown_on_signal()?).await?;
    Ok(ExitCode::SUCCESS)
}

/// A channel that turns true on SIGTERM or SIGINT: the current transaction finishes,
/// then the command stops.
fn shutdown_on_signal() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("收到退出信号，处理完当前邮件后退出");
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// `baosong inspect`: what baosong would see in each file, without recording anything.
fn inspect_files(config: &Config, files: &[std::path::PathBuf], json: bool, thumbs: Option<&std::path::Path>, cycle: Cycle) -> anyhow::Result<ExitCode> {
    use baosong::inspect;
    let mut cfg = config.media;
    cfg.thumbnails = thumbs.is_some();
    if let Some(dir) = thumbs {
        std::fs::create_dir_all(dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    }
    let cycle_start = cycle.start(config.timezone).timestamp();
    let mut failed = false;
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}：无法读取（{e}）", path.display());
                failed = true;
                continue;
            }
        };
        let (ins, mut m) = match inspect::file(&name, &data, &cfg, config.timezone) {
            Ok(r) => r,
            Err((r, detail)) => {
                if json {
                    println!("{}", serde_json::json!({"file": path.display().to_string(), "rejected": r.code(), "reason": r.explained(&detail)}));
                } else {
                    println!("{}：拒收（{}）", path.display(), r.explained(&detail));
                }
                continue;
            }
        };
        if inspect::quality::old_capture(m.captured_at, cycle_start, cfg.thresholds.old_capture_days) {
            m.flags.push(baosong::rejection::Flag::OldCapture);
        }
        let mut flags: Vec<_> = ins.flags.iter().chain(&m.flags).copied().collect();
        flags.sort();
        flags.dedup();
        let thumb = match (thumbs, m.thumbnail.take()) {
            (Some(dir), Some(jpeg)) => {
                let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
                let p = dir.join(format!("{stem}.jpg"));
                std::fs::write(&p, jpeg).with_context(|| format!("无法写入 {}", p.display()))?;
                Some(p.display().to_string())
            }
            _ => None,
        };
        let captured = m.captured_at.map(|t| report::rfc3339(t, config));
        if json {
            println!(
                "{}",
                serde_json::json!({"file": path.display().to_string(), "kind": ins.kind.code(), "mime": ins.mime, "width": m.width, "height": m.height,
                    "duration_seconds": m.duration_ms.map(|d| d as f64 / 1000.0), "container": m.container, "codec": m.codec,
                    "captured_at": captured, "camera": m.camera, "blur": m.blur, "phash": m.phash,
                    "flags": flags.iter().map(|f| f.code()).collect::<Vec<_>>(), "thumbnail": thumb})
            );
        } else {
            let size = match (m.width, m.height) {
                (Some(w), Some(h)) => format!("{w}×{h}"),
                _ => "尺寸未知".into(),
            };
            let problems: Vec<&str> = flags.iter().map(|f| f.reason()).collect();
            println!(
                "{}：{} {size}{}{}  {}",
                path.display(),
                ItemKind::from_code(ins.kind.code()).map_or("—", ItemKind::label),
                m.duration_ms.map(|d| format!("，{:.1} 秒", d as f64 / 1000.0)).unwrap_or_default(),
                captured.as_deref().map(|c| format!("，拍摄于 {}", report::shown(c))).unwrap_or_default(),
                if problems.is_empty() { "没有发现问题".to_string() } else { problems.join("；") }
            );
        }
    }
    Ok(exit_code(!failed, || "有文件无法检查（原因见上）。".into()))
}

fn describe(c: &Config) -> String {
    format!(
        "配置来源：{}\n时区：{}\n截止日：每月 {} 日（次日 00:00 起算逾期）\n数据目录：{}\n数据库：{}\n单位：{} 个\n类别：{} 个\n考核细则：{} 年，{} 节 {} 项，满分 {}（{}）\n控制台：{}（监听 {}）\n",
        c.origin,
        c.timezone,
        c.deadline_day,
        c.data_dir.display(),
        baosong::db::shown(&c.database_url),
        c.roster.departments().len(),
        c.categories.len(),
        c.rubric.year,
        c.rubric.sections.len(),
        c.rubric.items().count(),
        baosong::score::shown(c.rubric.max()),
        c.rubric.origin,
        c.web.base_url,
        c.web.listen
    ) + &links_line(&c.links)
}

/// What `check-config` says of `[links]`, with the test settings' warning.
fn links_line(l: &baosong::config::links::LinksConfig) -> String {
    let mut s = match l.fetch {
        true => format!(
            "超大附件：自动下载（单个文件最大 {}，每个下载限时 {} 分钟，允许的域名：{}）\n",
            baosong::links::mib(l.max_size as i64),
            l.timeout.as_secs().div_ceil(60),
            l.allow.join("、")
        ),
        false => "超大附件：不自动下载（[links] fetch = false）；可用 baosong links fetch 手动下载，或 baosong attach 补交\n".to_string(),
    };
    if let Some(w) = l.test_overrides() {
        s += &w;
        s.push('\n');
    }
    s
}


async fn import(app: &App, paths: &[std::path::PathBuf], check_senders: bool) -> anyhow::Result<ExitCode> {
    let files::Discovery { found, skipped } = files::discover(paths);
    // `--check-senders`: the sender policy holds imported mail as it holds IMAP mail.
    let mut config = app.config.clone();
    config.sender_auth.check_imports = check_senders;
    let bar = ProgressBar::new(found.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} 导入中 [{bar:30}] {pos}/{len} 封  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let shutdown = shutdown_on_signal()?;
    let t = intake::import::import(&config, &app.db, &app.store, &found, &shutdown, &mut |department| {
        if let Some(d) = department {
            bar.set_message(d.to_string());
        }
        bar.inc(1);
    })
    .await?;
    bar.finish_and_clear();
    if app.config.smtp.is_some() && app.config.notify.as_ref().is_some_and(|n| n.receipts) {
        let queued = scheduler::receipts(&app.db, &app.config, now()).await?;
        if queued > 0 {
            println!("回执 {queued} 封已放入发件箱。");
            // A hold is reported and the import still succeeds: the receipts wait.
            outbox_flush(app).await?;
        }
    }
    // Links the tree for anything a crash left unlinked after its commit.
    sync_tree(app).await?;
    println!("导入完成：共 {} 封邮件", found.len());
    println!("  计入报送    {} 封（文件 {} 个，其中重复 {} 个；拒收文件 {} 个；超大附件链接 {} 个）", t.packages, t.files, t.duplicates, t.refused, t.links);
    println!("  待审核      {} 封{}", t.held, if t.held > 0 { "（baosong quarantine list 查看）" } else { "" });
    println!("  无关邮件    {} 封", t.unrelated);
    println!("  往来邮件    {} 封（无附件，不算报送）", t.correspondence);
    println!("  整封拒收    {} 封", t.rejected);
    println!("  此前已导入  {} 封（不重复计入）", t.already);
    if t.failed > 0 {
        println!("  处理失败    {} 封（重试 {} 次仍失败，已记录原因，未计入；baosong status 可查看）", t.failed, intake::worker::MAX_TRIES);
    }
    if !t.unreadable.is_empty() {
        println!("  无法读取    {} 封：", t.unreadable.len());
        for (what, why) in &t.unreadable {
            println!("    {what}：{why}");
        }
    }
    if !skipped.is_empty() {
        println!("跳过 {} 个路径：", skipped.len());
        for s in &skipped {
            println!("    {} （{}）", s.path.display(), s.reason.reason());
        }
    }
    // Something asked for could not be read, or failed: the rest was still imported,
    // and the exit code says so.
    if t.failed > 0 || !t.unreadable.is_empty() || skipped.iter().any(|s| s.reason.is_error()) {
        let mut why = Vec::new();
        if t.failed > 0 {
            why.push(format!("{} 封处理失败", t.failed));
        }
        if !t.unreadable.is_empty() {
            why.push(format!("{} 封无法读取", t.unreadable.len()));
        }
        let bad: Vec<String> = skipped.iter().filter(|s| s.reason.is_error()).map(|s| format!("{}（{}）", s.path.display(), s.reason.reason())).collect();
        if !bad.is_empty() {
            why.push(format!("{} 个路径读不了或不是邮件：{}", bad.len(), bad.join("；")));
        }
        return Ok(failure(format!("导入未全部完成：{}。其余邮件已照常导入，详见上面的列表。", why.join("，"))));
    }
    Ok(ExitCode::SUCCESS)
}

/// `baosong retry`: failed messages go back into the queue and are analysed again.
async fn retry(app: &App, ids: &[i64]) -> anyhow::Result<ExitCode> {
    let requeued = baosong::journal::requeue_failed(&app.db, ids).await?;
    if requeued.is_empty() {
        println!("{}", if ids.is_empty() { "没有处理失败的邮件。".to_string() } else { format!("编号 {:?} 中没有处理失败的邮件。", ids) });
        return Ok(exit_code(ids.is_empty(), || format!("编号 {ids:?} 都不是处理失败的邮件，没有重新处理。")));
    }
    println!("重新处理 {} 封邮件……", requeued.len());
    let shutdown = shutdown_on_signal()?;
    let mut t = intake::import::Tally::default();
    intake::worker::drain(&app.config, &app.db, &app.store, true, &shutdown, &mut |_, r| {
        if let Ok(o) = r {
            t.count(o);
        }
    })
    .await?;
    sync_tree(app).await?;
    println!("完成：计入报送 {} 封，待审核 {} 封，整封拒收 {} 封，往来或无关 {} 封，仍然失败 {} 封。", t.packages, t.held, t.rejected, t.correspondence + t.unrelated, t.failed);
    Ok(exit_code(t.failed == 0, || format!("{} 封邮件仍然处理失败（baosong status 可查看原因）。", t.failed)))
}

/// `reprocess`: the current rules over the stored raw mail of one month or all; with
/// `dry_run`, over a copy of the database and a store that writes nothing.
async fn reprocess(app: App, cycle: Option<String>, all: bool, dry_run: bool) -> anyhow::Result<ExitCode> {
    if cycle.is_none() && !all {
        bail!("请指明重新处理哪些邮件：--cycle YYYY-MM（一个月份）或 --all（全部）。例：baosong reprocess --cycle 2024-04 --dry-run");
    }
    let cycle = cycle.as_deref().map(parse_cycle).transpose()?;
    let dry = if dry_run { Some(baosong::reprocess::DryRun::open(&app.config, &app.db, &app.store).await?) } else { None };
    let bar = indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} 封 {elapsed}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    let shutdown = shutdown_on_signal()?;
    let (config, db, store) = match &dry {
        Some(d) => (&d.config, &d.db, &d.store),
        None => (&app.config, &app.db, &app.store),
    };
    let result = baosong::reprocess::run(config, db, store, cycle, now(), &shutdown, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await;
    bar.finish_and_clear();
    if let Some(d) = dry {
        d.close().await;
    }
    let out = result?;
    let what = cycle.map_or("全部邮件".to_string(), |c| format!("{c} 的邮件"));
    println!("{}{what}，共 {} 封，其中 {} 封有变化。", if dry_run { "试运行（未改动数据）：" } else { "已按现行规则重新处理" }, out.examined, out.messages.len());
    for c in &out.messages {
        println!("邮件 [{}]「{}」\n    原来：{}\n    现在：{}", c.id, c.subject, c.before.shown(), c.after.shown());
    }
    if !out.departments.is_empty() {
        println!("各单位报送情况的变化：");
        for d in &out.departments {
            println!("  {} {}\n    原来：{}\n    现在：{}", d.cycle, d.department, d.before, d.after);
        }
    }
    for (id, subject, why) in &out.failed {
        eprintln!("邮件 [{id}]「{subject}」未能重新处理，保持原样：{why}");
    }
    if out.unfinished > 0 {
        eprintln!("已停止：还有 {} 封邮件在队列中，下次运行 baosong run、poll 或 import 时会继续处理。", out.unfinished);
    }
    if !dry_run && !out.messages.is_empty() {
        sync_tree(&app).await?;
    }
    Ok(exit_code(out.failed.is_empty() && out.unfinished == 0, || "重新处理没有全部完成（原因见上）。".into()))
}

/// `--as-of`: RFC 3339; a local date and time ("2024-03-28 12:00"); or a date alone,
/// meaning the end of that day (23:59:59 local time).
fn parse_time(s: &str, config: &Config) -> anyhow::Result<i64> {
    let t = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(t) {
        return Ok(t.timestamp());
    }
    let local = |n: chrono::NaiveDateTime| n.and_local_timezone(config.timezone).earliest().map(|t| t.timestamp());
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(next) = d.succ_opt().and_then(|n| local(n.and_time(chrono::NaiveTime::MIN))) {
            return Ok(next - 1);
        }
    }
    for f in ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Some(at) = chrono::NaiveDateTime::parse_from_str(t, f).ok().and_then(local) {
            return Ok(at);
        }
    }
    bail!("时间 \"{s}\" 格式不对：写日期，如 2024-03-28（指当天结束，即 23:59:59）；或日期和时间，如 \"2024-03-28 12:00\"；或带时区的 2024-03-28T12:00:00+08:00")
}

fn parse_cycle(s: &str) -> anyhow::Result<Cycle> {
    Cycle::parse(s).with_context(|| format!("月份 \"{s}\" 格式不对，应写成 YYYY-MM，例如 2024-03"))
}

async fn status(app: &App, cycle: Option<String>, as_of: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    let as_of = as_of.as_deref().map(|t| parse_time(t, &app.config)).transpose()?.unwrap_or_else(now);
    let chosen = cycle.is_some();
    let cycle = match cycle {
        Some(c) => parse_cycle(&c)?,
        None => Cycle::at(as_of, app.config.timezone),
    };
    let board = report::board(&app.db, &app.config, cycle, as_of).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&board)?);
    } else {
        print!("{}", report::render(&board));
        // A month without packages points to the months that have them. The board has
        // said already when no mail at all arrived.
        let known = db::messages::cycles(&app.db).await?;
        if board.departments.iter().all(|d| d.packages == 0) && !known.is_empty() {
            let list: Vec<&str> = known.iter().take(6).map(String::as_str).collect();
            let lead = match (board.no_mail_received, chosen) {
                (true, _) => "",
                (false, false) => "本月还没有报送。",
                (false, true) => "该月还没有报送。",
            };
            println!("\n{lead}已有报送的月份：{}（用 --cycle 查看，如 --cycle {}）", list.join("、"), list[0]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn department_name(app: &App, name: &str) -> anyhow::Result<String> {
    match app.config.roster.by_name(name) {
        Some(d) => Ok(d.name.clone()),
        None => {
            let names: Vec<&str> = app.config.roster.departments().iter().map(|d| d.name.as_str()).collect();
            bail!("名单中没有单位 \"{name}\"。可用的名称（也可写别名）：{}", names.join("、"))
        }
    }
}

fn flag_code(code: &str) -> anyhow::Result<String> {
    match Flag::from_code(code.trim()) {
        Some(f) => Ok(f.code().to_string()),
        None => {
            let valid: Vec<String> = Flag::ALL.iter().map(|f| format!("  {}（{}）", f.code(), f.label())).collect();
            bail!("没有标记 \"{code}\"。可用的标记：\n{}", valid.join("\n"))
        }
    }
}

/// An item's flags and its message's, as short Chinese labels ("旧图、代发").
fn flag_labels(l: &db::items::ListedItem) -> String {
    let mut all = Flag::parse_list(&l.item.flags);
    all.extend(Flag::parse_list(&l.message_flags));
    all.sort();
    all.dedup();
    all.iter().map(|f| f.label()).collect::<Vec<_>>().join("、")
}

async fn items(app: &App, cycle: Option<String>, department: Option<String>, category: Option<String>, flag: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    let filter = db::items::Filter {
        cycle: cycle.as_deref().map(parse_cycle).transpose()?.map(|c| c.to_string()),
        department: department.as_deref().map(|d| department_name(app, d)).transpose()?,
        category,
        flag: flag.as_deref().map(flag_code).transpose()?,
        ..Default::default()
    };
    let list = db::items::list(&app.db, &filter).await?;
    // Each 超大附件 link's state, for the items that show one (the link, or its file).
    let links: LinksByItem = match list.iter().any(|l| !l.item.url.is_empty()) {
        true => db::links::list(&app.db, None).await?.into_iter().map(|l| ((l.link.message_ref, l.link.url.clone()), l)).collect(),
        false => Default::default(),
    };
    if json {
        let auth = db::sender_auth::of_messages(&app.db, &list.iter().map(|l| l.item.message_ref).collect::<Vec<_>>()).await?;
        let authors = db::authors::of_items(&app.db, &list.iter().map(|l| l.item.id).collect::<Vec<_>>()).await?;
        let rows: Vec<serde_json::Value> = list.iter().map(|l| with_authors(item_json(app, l, link_of(&links, &l.item), auth.get(&l.item.message_ref)), authors.get(&l.item.id))).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_items(app, &list, &links);
    Ok(ExitCode::SUCCESS)
}

/// 超大附件 links by (message, URL): an item shows the link with the same message and URL.
type LinksByItem = std::collections::HashMap<(i64, String), db::links::Listed>;

fn link_of<'a>(links: &'a LinksByItem, i: &db::items::ItemRow) -> Option<&'a db::links::Listed> {
    links.get(&(i.message_ref, i.url.clone()))
}

/// An item's `author` (names joined by 、, or null when 未署名), `authors` (each with
/// their department and share) and `author_source` (`none` when 未署名).
fn with_authors(mut item: serde_json::Value, authors: Option<&db::authors::Authors>) -> serde_json::Value {
    let a = authors.cloned().unwrap_or_default();
    let share = a.share();
    item["author"] = if a.authors.is_empty() { serde_json::Value::Null } else { a.names().into() };
    item["authors"] = a.authors.iter().map(|x| serde_json::json!({"name": x.name, "number": x.number, "department": x.department, "share": share})).collect();
    item["author_source"] = a.source.map_or("none", |s| s.code()).into();
    item
}

/// An item as `items --json` writes it, with its link's state when it shows one.
fn item_json(app: &App, l: &db::items::ListedItem, link: Option<&db::links::Listed>, auth: Option<&baosong::sender_auth::Evidence>) -> serde_json::Value {
    let i = &l.item;
    serde_json::json!({
        "id": i.id, "package": i.message_ref, "department": l.department, "cycle": l.cycle,
        "received_at": report::rfc3339(l.received_at, &app.config),
        "status": i.status.code(), "kind": i.kind.code(), "category": i.category, "name": i.shown_name,
        "size": i.size, "sha256": i.sha256, "mime": i.mime, "path": i.tree_path,
        "rejection": i.rejection_code, "reason": i.reason,
        "flags": i.flags.split(',').filter(|f| !f.is_empty()).collect::<Vec<_>>(),
        "message_flags": l.message_flags.split(',').filter(|f| !f.is_empty()).collect::<Vec<_>>(),
        "sent_on_behalf": l.sent_on_behalf != 0,
        "sender_auth": auth.map(|e| e.to_json()),
        "url": i.url,
        "link": link.map(|l| links::to_json(app, l)),
        "width": i.width, "height": i.height, "duration_ms": i.duration_ms, "container": i.container, "codec": i.codec,
        "captured_at": (i.captured_at != 0).then(|| report::rfc3339(i.captured_at, &app.config)),
        "camera": i.camera, "phash": i.phash, "blur": (i.blur_centi >= 0).then(|| i.blur_centi as f64 / 100.0),
        "thumbnail": i.thumb_path, "rendition": (!i.rendition_path.is_empty()).then_some(&i.rendition_path), "similar_to": (i.similar_to != 0).then_some(i.similar_to),
    })
}

/// The items as a table, one line each, and how many there are.
fn print_items(app: &App, list: &[db::items::ListedItem], links: &LinksByItem) {
    let labels: Vec<String> = list.iter().map(flag_labels).collect();
    let flags_w = labels.iter().map(|l| report::width(l)).max().unwrap_or(0).max(4) + 2;
    println!(
        "{}{}{}{}{}{}{}{}{}文件",
        report::pad("编号", 7),
        report::pad("邮件", 6),
        report::pad("单位", 18),
        report::pad("月份", 9),
        report::pad("收到时间", 18),
        report::pad("类别", 22),
        report::pad("类型", 7),
        report::pad("状态", 10),
        report::pad("标记", flags_w)
    );
    for (l, flags) in list.iter().zip(&labels) {
        let i = &l.item;
        let cat = app.config.categories.label(i.category.parse().ok());
        let (status, why) = status_cell(i, link_of(links, i));
        let kind = i.kind.label();
        println!(
            "{}{}{}{}{}{}{}{}{}{}",
            report::pad(&i.id.to_string(), 7),
            report::pad(&i.message_ref.to_string(), 6),
            report::pad(&l.department, 18),
            report::pad(&l.cycle, 9),
            report::pad(&report::shown_time(l.received_at, &app.config), 18),
            report::pad(&cat, 22),
            report::pad(kind, 7),
            report::pad(status, 10),
            report::pad(if flags.is_empty() { "—" } else { flags }, flags_w),
            format!("{}{why}", i.shown_name)
        );
    }
    println!("共 {} 条", list.len());
}

/// An item's 状态 cell, and what the 文件 cell adds after its name: why it is not
/// counted, or its link's state.
fn status_cell(i: &db::items::ItemRow, link: Option<&db::links::Listed>) -> (&'static str, String) {
    match i.status {
        ItemStatus::Accepted if i.kind == ItemKind::Link => match link {
            Some(l) => ("超大附件", format!("（{}{}）", l.link.state.label(), if l.link.detail.is_empty() { String::new() } else { format!("：{}", l.link.detail) })),
            None => ("超大附件", String::new()),
        },
        ItemStatus::Accepted | ItemStatus::Duplicate => (i.status.label(), String::new()),
        ItemStatus::Shared => (i.status.label(), format!("（与编号 {} 相同，已计入先报送的单位）", i.similar_to)),
        ItemStatus::Decoration => (i.status.label(), "（邮件正文中的小图，如签名图标，不计入）".to_string()),
        ItemStatus::Rejected => (i.status.label(), format!("（{}）", i.reason)),
    }
}

async fn quarantine(app: &App, action: QuarantineAction) -> anyhow::Result<ExitCode> {
    match action {
        QuarantineAction::List { json } => quarantine_list(app, json).await?,
        QuarantineAction::Approve { id, department, remember_sender } => {
            let name = department_name(app, &department)?;
            let done = corrections::approve(&app.config, &app.db, &app.store, &db::audit::cli_user(), id, &name, remember_sender, now()).await?;
            if let Some(from) = done.remembered {
                println!("已记住：{from} 的邮件今后直接计入 {name}。");
            }
            match done.outcome {
                Outcome::Package { cycle, accepted, duplicates, refused, .. } => {
                    println!("已批准：邮件 {id} 计入 {name} {cycle}（计入 {accepted} 个，重复 {duplicates} 个，拒收 {refused} 个）。")
                }
                other => println!("已处理：{other:?}"),
            }
        }
        QuarantineAction::Reject { id } => {
            corrections::reject(&app.db, &db::audit::cli_user(), id, now()).await?;
            println!("已驳回邮件 {id}，不计入任何单位。");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The review queue: each held message with why it is held and what checking its
/// sender found.
async fn quarantine_list(app: &App, json: bool) -> anyhow::Result<()> {
    let held = db::messages::held(&app.db, i64::MAX).await?;
    let auth = db::sender_auth::of_messages(&app.db, &held.iter().map(|m| m.id).collect::<Vec<_>>()).await?;
    if json {
        let rows: Vec<serde_json::Value> = held
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "received_at": report::rfc3339(m.received_at, &app.config), "from": m.from_addr, "subject": m.subject,
                    "guessed_department": m.guessed_department, "reason_code": m.reason_code, "reason": report::held_reason(&m.reason_code),
                    "flags": m.flags.split(',').filter(|f| !f.is_empty()).collect::<Vec<_>>(),
                    "sender_auth": auth.get(&m.id).map(|e| e.to_json()),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if held.is_empty() {
        println!("没有待审核的邮件。");
    }
    for m in held {
        let guess = if m.guessed_department.is_empty() { "无法判断".into() } else { m.guessed_department };
        println!("[{}] {}  发件人 {}  主题「{}」  疑似单位：{}", m.id, report::shown_time(m.received_at, &app.config), m.from_addr, m.subject, guess);
        println!("      原因：{}", report::held_reason(&m.reason_code));
        if let Some(e) = auth.get(&m.id) {
            println!("      发件人验证：{}", e.summary());
        }
    }
    Ok(())
}

async fn reassign(app: &App, package: i64, cycle: &str) -> anyhow::Result<ExitCode> {
    let done = corrections::reassign(&app.config, &app.db, &app.store, &db::audit::cli_user(), package, parse_cycle(cycle)?, now()).await?;
    for e in &done.tree_errors {
        eprintln!("警告：{e}");
    }
    println!("已将邮件 {package}（{}）从 {} 改到 {}。", done.department, done.from, done.to);
    Ok(ExitCode::SUCCESS)
}

async fn recategorize(app: &App, item: i64, category: u8) -> anyhow::Result<ExitCode> {
    let done = corrections::recategorize(&app.config, &app.db, &app.store, &db::audit::cli_user(), item, category, now()).await?;
    for e in &done.tree_errors {
        eprintln!("警告：{e}");
    }
    if done.changed {
        println!("已将文件 {item}「{}」改为 {}。", done.name, done.label);
    } else {
        println!("文件 {item}「{}」本来就是 {}，没有改动。", done.name, done.label);
    }
    Ok(ExitCode::SUCCESS)
}

/// Links every tree entry the database knows and the disk lacks; returns how many failed.
/// Blobs are not re-hashed here (it runs after every import); `tree rebuild` does.
/// Links what the tree lacks (see `verify::sync_tree`), saying on stderr what could
/// not be linked; returns how many.
async fn sync_tree(app: &App) -> anyhow::Result<usize> {
    let failed = verify::sync_tree(&app.db, &app.store).await?;
    for (tree, e) in &failed {
        eprintln!("无法建立 {tree}：{e}");
    }
    if !failed.is_empty() {
        eprintln!("警告：{} 个文件未能放入目录树；可运行 baosong tree rebuild", failed.len());
    }
    Ok(failed.len())
}

/// A bar on a terminal; otherwise a line on stderr every `every` files.
fn progress(what: &'static str, every: usize) -> (ProgressBar, verify::Progress) {
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let bar = if tty { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(&format!("{what} [{{bar:30}}] {{pos}}/{{len}} 个文件"))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let b = bar.clone();
    let report: verify::Progress = std::sync::Arc::new(move |done, total| {
        if tty {
            b.set_length(total as u64);
            b.set_position(done as u64);
        } else if done % every == 0 {
            eprintln!("{what}：{done}/{total} 个文件");
        }
    });
    (bar, report)
}

async fn rebuild_tree(app: &App) -> anyhow::Result<ExitCode> {
    app.store.clear_tree().context("无法清空目录树")?;
    let entries = db::items::tree_entries(&app.db).await?;
    let store = app.store.clone();
    let (bar, report) = progress("重建目录树", 1000);
    let done = tokio::task::spawn_blocking(move || verify::link_tree(&store, &entries, true, &*report)).await.context("目录树线程异常退出")?;
    bar.finish_and_clear();
    for (tree, blob, why) in &done.damaged {
        eprintln!("未放入目录树：{tree}（存档文件 {blob}：{why}）");
    }
    for (tree, e) in &done.failed {
        eprintln!("无法建立 {tree}：{e}");
    }
    println!("目录树已重建：{} 个文件，位于 {}", done.linked, app.store.abs("tree").display());
    if !done.damaged.is_empty() {
        println!("{} 个文件的存档已损坏或缺失，没有放入目录树；运行 baosong verify --repair 从原始邮件恢复，再运行 baosong tree rebuild。", done.damaged.len());
    }
    Ok(exit_code(done.failed.is_empty() && done.damaged.is_empty(), || format!("目录树没有完全重建：{} 个文件放不进去，{} 个存档文件损坏或缺失。", done.failed.len(), done.damaged.len())))
}

/// `baosong verify [--repair]`: one line per problem, a summary, and a failing exit
/// code while anything stays damaged.
async fn verify(app: &App, repair: bool) -> anyhow::Result<ExitCode> {
    let (bar, report) = progress("校验", 1000);
    let r = verify::verify(&app.config, &app.db, &app.store, repair, report).await?;
    bar.finish_and_clear();
    for p in &r.problems {
        println!("{}", p.describe());
    }
    if r.wrong_modes > 0 {
        if repair {
            println!("{} 个存档文件原来不是只读，已改为只读（0444）{}。", r.wrong_modes, if r.modes_fixed < r.wrong_modes { format!("，其中 {} 个未能修改", r.wrong_modes - r.modes_fixed) } else { String::new() });
        } else {
            println!("{} 个存档文件不是只读（应为 0444）；运行 baosong verify --repair 修正。", r.wrong_modes);
        }
    }
    let unresolved = r.unresolved();
    let fixed = r.problems.len() - unresolved;
    println!(
        "校验完成：存档文件 {} 个，原始邮件 {} 封，目录树文件 {} 个；发现问题 {} 个{}{}。",
        r.blobs,
        r.raw,
        r.tree,
        r.problems.len(),
        if repair { format!("，已修复 {fixed} 个") } else { String::new() },
        if unresolved > 0 { format!("，尚未解决 {unresolved} 个") } else { String::new() },
    );
    Ok(exit_code(unresolved == 0, || format!("存档中有 {unresolved} 个问题尚未解决（见上）。")))
}
