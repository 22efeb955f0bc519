//! `baosong person` and `baosong author`: the roster's people, and authors by hand.

use std::process::ExitCode;

use baosong::app::App;
use baosong::corrections::author;
use baosong::{db, people};

use crate::PersonAction;

pub async fn run(app: &App, action: PersonAction) -> anyhow::Result<ExitCode> {
    match action {
        PersonAction::List { department, json } => list(app, department.as_deref(), json).await,
    }
}

async fn list(app: &App, department: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let listed = people::list(&app.config, &app.db, department).await?;
    if json {
        let people: Vec<serde_json::Value> = listed
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "number": p.number, "department": p.department,
                    "aliases": p.aliases, "senders": p.senders, "works": p.works.len(), "items": p.works,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "people": people }))?);
        return Ok(ExitCode::SUCCESS);
    }
    if listed.is_empty() {
        println!("名单中还没有人员。在 departments.toml 的单位下写 people = [{{ name = \"张三\", number = \"150621\" }}]");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}{}{}作品", baosong::report::pad("姓名", 10), baosong::report::pad("警号", 10), baosong::report::pad("单位", 20));
    for p in &listed {
        let number = if p.number.is_empty() { "—" } else { p.number.as_str() };
        println!("{}{}{}{}", baosong::report::pad(&p.name, 10), baosong::report::pad(number, 10), baosong::report::pad(&p.department, 20), p.works.len());
    }
    println!("共 {} 人", listed.len());
    Ok(ExitCode::SUCCESS)
}

pub async fn author(app: &App, items: &[i64], persons: &[String]) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now().timestamp();
    let done = author::assign(&app.config, &app.db, &db::audit::cli_user(), items, persons, now).await?;
    let who = author::in_words(&author::people(&app.config.roster, persons)?);
    for d in &done {
        if d.changed {
            println!("已将文件 {}「{}」的作者定为 {who}（原为 {}）。", d.item, d.name, d.before);
        } else {
            println!("文件 {}「{}」的作者本来就是 {who}，没有改动。", d.item, d.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
