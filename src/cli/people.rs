//! `baosong person` and `baosong author`: the roster's people, and authors by hand.

use std::process::ExitCode;

use baosong::app::App;
use baosong::corrections::author;
use baosong::report::pad;
use baosong::people::When;
use baosong::score::people::{Period, PersonScore};
use baosong::score::period::Span;
use baosong::{db, people};

use crate::PersonAction;

pub async fn run(app: &App, action: PersonAction) -> anyhow::Result<ExitCode> {
    match action {
        PersonAction::List { department, json } => list(app, department.as_deref(), json).await,
    }
}

async fn list(app: &App, department: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let listed = people::list(&app.config, &app.db, department).await?;
    // 个人积分 of the rubric's year, as score people gives them.
    let year = app.config.rubric.year;
    let scores = people::scores(&app.config, &app.db, When::Period(Period { year, month: None })).await?;
    let points = |p: &people::Listed| scores.iter().find(|s| s.person.name == p.name && s.person.department == p.department && s.person.number == p.number).map_or_else(Default::default, |s| s.points);
    if json {
        let people: Vec<serde_json::Value> = listed
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "number": p.number, "department": p.department,
                    "aliases": p.aliases, "senders": p.senders, "works": p.works.len(), "items": p.works,
                    "year": year, "points": points(p).number(),
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
    println!("{}{}{}{}{year} 年积分", pad("姓名", 10), pad("警号", 10), pad("单位", 20), pad("作品", 6));
    for p in &listed {
        let number = if p.number.is_empty() { "—" } else { p.number.as_str() };
        println!("{}{}{}{}{}", pad(&p.name, 10), pad(number, 10), pad(&p.department, 20), pad(&p.works.len().to_string(), 6), points(p).shown());
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

/// `score people`: 个人积分 and the 优秀宣传员 candidates.
pub async fn score(app: &App, (year, month, span): (Option<i32>, Option<&str>, Option<Span>), department: Option<&str>, json: bool, xlsx: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let period = match month {
        Some(m) => {
            let c = super::parse_cycle(m)?;
            if year.is_some_and(|y| y != c.year) {
                anyhow::bail!("--year 与 --month 不在同一年");
            }
            Period { year: super::scoring::year_of(app, Some(c.year))?, month: Some(c.month) }
        }
        None => Period { year: super::scoring::year_of(app, year)?, month: None },
    };
    let only = department.map(|d| super::department_name(app, d)).transpose()?;
    let when = match span {
        Some(s) => {
            super::scoring::year_of(app, Some(s.year()))?;
            When::Span(s)
        }
        None => When::Period(period),
    };
    let ranked = people::scores(&app.config, &app.db, when).await?;
    let candidates = baosong::score::people::candidates(&ranked);
    let shown: Vec<&PersonScore> = ranked.iter().filter(|s| only.as_ref().is_none_or(|o| &s.person.department == o)).collect();
    if let Some(path) = xlsx {
        let title = match span {
            Some(s) => s.label(),
            None => period.month.map_or(format!("{}年", period.year), |m| format!("{}年{m}月", period.year)),
        };
        baosong::export::people::write(&ranked, &shown, &title, path)?;
        eprintln!("已导出{title}个人积分（{} 人）：{}", shown.len(), path.display());
    }
    if json {
        let person = |s: &PersonScore| {
            let works: Vec<serde_json::Value> = s
                .works
                .iter()
                .map(|w| serde_json::json!({"item": w.item, "name": w.name, "level": w.level.code(), "date": w.date, "authors": w.authors, "points": w.points.number()}))
                .collect();
            serde_json::json!({
                "rank": s.rank, "name": s.person.name, "number": s.person.number, "department": s.person.department,
                "points": s.points.number(), "counted_works": s.counted_works, "adoptions": s.adoptions, "works": works,
            })
        };
        let mut v = serde_json::json!({"year": period.year, "people": shown.iter().map(|s| person(s)).collect::<Vec<_>>(), "candidates": candidates.iter().map(|s| person(s)).collect::<Vec<_>>()});
        match (span, period.month) {
            (Some(s), _) => v[if s.code().contains('Q') { "quarter" } else { "half" }] = serde_json::json!(s.code()),
            (None, Some(m)) => v["month"] = serde_json::json!(format!("{}-{m:02}", period.year)),
            (None, None) => {}
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let said = match span {
        Some(s) => format!("{}（年度累计：期末减期初）", s.label()),
        None => period.month.map_or(format!("{} 年", period.year), |m| format!("{} 年 {m} 月", period.year)),
    };
    println!("{said}个人积分（被采用作品每件按最高级别计一次，几人合作平分，不封顶）");
    println!("{}{}{}{}{}采用", pad("排名", 6), pad("姓名", 10), pad("单位", 20), pad("积分", 8), pad("作品", 6));
    for s in &shown {
        println!("{}{}{}{}{}{}", pad(&s.rank.to_string(), 6), pad(&s.person.name, 10), pad(&s.person.department, 20), pad(&s.points.shown(), 8), pad(&s.counted_works.to_string(), 6), s.adoptions);
        for w in &s.works {
            let shared = if w.authors > 1 { format!("，{} 人合作", w.authors) } else { String::new() };
            println!("      作品 {}「{}」{} {}采用{shared} +{}", w.item, w.name, w.date, w.level.label(), w.points.shown());
        }
    }
    if shown.is_empty() {
        println!("没有人员。在 departments.toml 的单位下写 people = [{{ name = \"张三\" }}]");
    }
    if period.month.is_none() && span.is_none() {
        println!();
        println!("优秀宣传员候选（按积分，同分看计入的作品数，再看采用次数；由办公室决定）：");
        if candidates.is_empty() {
            println!("  还没有人得分。");
        }
        for (n, s) in candidates.iter().enumerate() {
            println!("  {}. {}（{}）{} 分，作品 {} 件，采用 {} 次", n + 1, s.person.name, s.person.department, s.points.shown(), s.counted_works, s.adoptions);
        }
    }
    Ok(ExitCode::SUCCESS)
}
