//! `baosong links`, `links fetch` and `attach`: the 超大附件 queue on the command line.

use std::path::Path;
use std::process::ExitCode;

use baosong::cycle::Cycle;
use baosong::db;
use baosong::intake;
use baosong::corrections::attach::{self, Refusal};
use baosong::links::{self, queue::Queue};
use baosong::app::App;
use baosong::pipeline::Outcome;
use baosong::report::{self, pad};

use super::now;

/// `baosong links [--cycle] [--json]`: every link with its state.
pub async fn list(app: &App, cycle: Option<Cycle>, json: bool) -> anyhow::Result<ExitCode> {
    let cycle = cycle.map(|c| c.to_string());
    let rows = db::links::list(&app.db, cycle.as_deref()).await?;
    if json {
        let out: Vec<serde_json::Value> = rows.iter().map(|l| to_json(app, l)).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("没有超大附件链接{}。", cycle.map(|c| format!("（{c}）")).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}{}{}{}{}{}{}{}说明", pad("编号", 6), pad("文件", 7), pad("单位", 18), pad("月份", 9), pad("大小", 12), pad("到期", 18), pad("状态", 14), pad("名称", 30));
    for l in &rows {
        let k = &l.link;
        let size = if k.size > 0 { links::mib(k.size) } else if k.caption_size > 0 { links::mib(k.caption_size) } else { "未知".into() };
        let expires = if k.expires_at > 0 { format!("{}{}", report::shown_time(k.expires_at, &app.config), if k.expiry_guessed != 0 { "?" } else { "" }) } else { "未知".into() };
        let note = if k.state == links::State::Waiting && k.next_attempt_at > now() {
            format!("{}（{} 再试）", k.detail, report::shown_time(k.next_attempt_at, &app.config))
        } else if k.state == links::State::TakenIn {
            format!("由 {} 补交", k.taken_in_by)
        } else {
            k.detail.clone()
        };
        println!(
            "{}{}{}{}{}{}{}{}{note}",
            pad(&k.id.to_string(), 6),
            pad(&l.item.to_string(), 7),
            pad(&l.department, 18),
            pad(&l.cycle, 9),
            pad(&size, 12),
            pad(&expires, 18),
            pad(k.state.label(), 14),
            pad(&k.name, 30)
        );
    }
    println!("（到期时间带“?”的是按邮箱默认保存期估计的：QQ 30 天，网易 15 天。）");
    Ok(ExitCode::SUCCESS)
}

/// A link as `links --json` and `items --json` give it.
pub fn to_json(app: &App, l: &db::links::Listed) -> serde_json::Value {
    let k = &l.link;
    let time = |t: i64| (t > 0).then(|| report::rfc3339(t, &app.config));
    serde_json::json!({
        "id": k.id, "item": l.item, "package": k.message_ref, "department": l.department, "cycle": l.cycle,
        "provider": k.provider, "url": k.url, "name": k.name, "caption_size": k.caption_size,
        "expires_at": time(k.expires_at), "expiry_guessed": k.expiry_guessed != 0,
        "state": k.state.code(), "state_label": k.state.label(),
        "reason_code": k.reason_code, "reason": k.detail, "tries": k.tries,
        "next_attempt_at": if k.state == links::State::Waiting { time(k.next_attempt_at) } else { None },
        "file": k.state.has_file().then(|| serde_json::json!({"name": k.file_name, "size": k.size, "sha256": k.sha256})),
        "taken_in_by": (!k.taken_in_by.is_empty()).then_some(&k.taken_in_by),
    })
}

/// `baosong links fetch`: every download due now, then the messages they complete.
pub async fn fetch(app: &App) -> anyhow::Result<ExitCode> {
    if let Some(w) = app.config.links.test_overrides() {
        eprintln!("{w}");
    }
    let queue = Queue::new(app.db.clone(), app.store.clone(), &app.config.links)?;
    queue.start().await?;
    let mut fetched = 0;
    let tried = queue
        .run_due(&mut |e| {
            if e.state.has_file() {
                fetched += 1;
                let how = if e.reused { "（与另一封邮件的链接相同，直接使用）" } else { "" };
                println!("已下载 [{}] {}，{}{how}", e.id, e.name, links::mib(e.size));
            } else if let Some((code, reason)) = &e.reason {
                let then = if e.state == links::State::Waiting { "稍后自动重试" } else { e.state.label() };
                println!("未能下载 [{}] {}：{reason}（{code}）——{then}", e.id, e.name);
            }
        })
        .await?;
    // The messages whose files came in are recorded again now, so that the result shows.
    let (_tx, shutdown) = tokio::sync::watch::channel(false);
    intake::worker::drain(&app.config, &app.db, &app.store, true, &shutdown, &mut |_, _| {}).await?;
    if tried == 0 {
        println!("没有到期需要下载的超大附件。");
    } else {
        println!("超大附件：试了 {tried} 个，下载 {fetched} 个。用 baosong links 查看每个链接的状态。");
    }
    Ok(ExitCode::SUCCESS)
}

/// `baosong attach ITEM FILE [--confirm]`: the office takes a link's file in by hand.
pub async fn attach(app: &App, item: i64, file: &Path, confirm: bool) -> anyhow::Result<ExitCode> {
    let staged = match attach::stage(&app.store.tmp_dir(), file, app.config.links.max_size) {
        Ok(Ok(s)) => s,
        Ok(Err(r)) => return refused(&r),
        Err(e) => anyhow::bail!("无法读取文件 {}：{e}", file.display()),
    };
    match attach::attach(&app.config, &app.db, &app.store, &db::audit::cli_user(), item, staged, confirm, now()).await? {
        Err(r) => refused(&r),
        Ok(done) => {
            let result = match &done.outcome {
                Some(Outcome::Package { accepted, duplicates, refused, .. }) => format!("计入 {accepted} 个，重复 {duplicates} 个，拒收 {refused} 个"),
                Some(other) => format!("{other:?}"),
                None => "等待登记".into(),
            };
            println!("已补交：链接 {} 的文件已计入 {} {}（按原邮件收到时间）：{result}。", done.link, done.department, done.cycle);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn refused(r: &Refusal) -> anyhow::Result<ExitCode> {
    let hint = if matches!(r, Refusal::Mismatch(_)) { "；确认无误时加 --confirm 再运行一次" } else { "" };
    eprintln!("未补交：{}（{}）{hint}", r.message(), r.code());
    Ok(ExitCode::FAILURE)
}
