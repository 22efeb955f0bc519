//! The scoring commands: adopt, unadopt, score (add/list/remove), export and audit.
//! Parsing arguments and printing only; the work is in `baosong::score` and `export`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use baosong::cycle::Cycle;
use baosong::db;
use baosong::app::App;
use baosong::report;
use baosong::score::compute::{DepartmentScore, Period, Scores, Source};
use baosong::score::period::Span;
use baosong::score::record::{self, Details, NewEntry};
use baosong::score::{Level, centi, number, shown};
use chrono::NaiveDate;
use serde_json::json;

use super::{department_name, now, parse_cycle};
use crate::{ExportAction, ScoreAction};

fn today(app: &App) -> NaiveDate {
    baosong::cycle::local(now(), app.config.timezone).date_naive()
}

fn parse_date(app: &App, s: Option<&str>) -> anyhow::Result<NaiveDate> {
    match s {
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").with_context(|| format!("日期 \"{d}\" 格式不对，应写成 YYYY-MM-DD，例如 2024-04-12")),
        None => Ok(today(app)),
    }
}

pub async fn adopt(app: &App, items: &[i64], level: &str, date: Option<String>, channel: Option<String>, url: Option<String>, note: Option<String>) -> anyhow::Result<ExitCode> {
    let Some(level) = Level::parse(level) else {
        bail!("采用级别 \"{level}\" 无法识别：写 banner（旗局）、city（市局）或 province（公安厅）");
    };
    let date = parse_date(app, date.as_deref())?;
    let d = Details { date: date.to_string(), channel: channel.unwrap_or_default(), url: url.unwrap_or_default(), note: note.unwrap_or_default() };
    match record::adopt(&app.db, items, level, &d, &db::audit::cli_user(), now()).await? {
        Err(refusals) => {
            for r in &refusals {
                eprintln!("不能登记：{}", r.reason());
            }
            bail!("没有登记任何采用（共 {} 个文件不能登记）；改正后重新运行", refusals.len())
        }
        Ok(done) => {
            for a in &done {
                let copy = if a.item != a.work { format!("（是作品 {}「{}」的副本，按原作品计分）", a.work, a.work_name) } else { format!("「{}」", a.work_name) };
                println!("已登记采用 {}：文件 {}{copy}，{} {}采用，计入 {}。", a.id, a.item, date, level.label(), a.department);
                if !a.earlier.is_empty() {
                    let list: Vec<String> = a.earlier.iter().map(|(id, l, on)| format!("{on} {}采用（采用 {id}）", Level::parse(l).map_or(l.as_str(), |l| l.label()))).collect();
                    println!("  该作品此前已登记：{}；同一作品只按最高级别计分一次。", list.join("、"));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn unadopt(app: &App, id: i64) -> anyhow::Result<ExitCode> {
    match record::unadopt(&app.db, id, &db::audit::cli_user(), now()).await? {
        Some(a) => {
            let level = Level::parse(&a.level).map_or(a.level.as_str(), |l| l.label());
            println!("已撤销采用 {id}：文件 {}「{}」{} {level}采用（{}）。", a.item_ref, a.item_name, a.adopted_on, a.department);
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("没有编号为 {id} 的采用登记"),
    }
}

pub(super) fn year_of(app: &App, year: Option<i32>) -> anyhow::Result<i32> {
    // Only the rubric's year can be computed; it is the default.
    let r = &app.config.rubric;
    let year = year.unwrap_or(r.year);
    if year != r.year {
        bail!("考核细则（{}）是 {} 年的，不能计算 {year} 年：把该年度的细则写成 rubric-{year}.toml，在 {} 的 [scoring] 中写 rubric = \"rubric-{year}.toml\"", r.origin, r.year, app.config.origin);
    }
    Ok(year)
}

pub async fn ledger(app: &App, action: ScoreAction) -> anyhow::Result<ExitCode> {
    match action {
        ScoreAction::People { year, month, quarter, half, department, json, xlsx } => {
            let span = span_arg(quarter.as_deref(), half.as_deref())?;
            return super::people::score(app, (year, month.as_deref(), span), department.as_deref(), json, xlsx.as_deref()).await;
        }
        ScoreAction::Add { department, item, points, date, negative_opinion, work, note } => {
            let department = department_name(app, &department)?;
            let value: f64 = points.trim().parse().ok().filter(|v: &f64| v.is_finite()).with_context(|| format!("分值 \"{points}\" 不是数字，应写成 -0.2、0.3 这样的分值"))?;
            let Some(points) = centi(value) else { bail!("分值 {value} 最多只能有两位小数") };
            let date = parse_date(app, date.as_deref())?;
            let e = NewEntry { department, item, points, doubled: negative_opinion, date, work: work.unwrap_or_default(), note: note.unwrap_or_default() };
            match record::add_entry(&app.db, &app.config.rubric, &e, &db::audit::cli_user(), now()).await? {
                Err(r) => bail!("不能登记：{}", r.reason()),
                Ok(row) => {
                    let effective = if row.doubled { row.points_centi * 2 } else { row.points_centi };
                    let doubled = if row.doubled { format!("（引发负面舆情，翻倍为 {}）", shown(effective)) } else { String::new() };
                    println!("已登记计分 {}：{} {} {} {}{doubled}。", row.id, row.entry_on, row.department, row.item, shown(row.points_centi));
                }
            }
        }
        ScoreAction::List { year, department, json } => {
            let year = year.unwrap_or(app.config.rubric.year);
            let department = department.as_deref().map(|d| department_name(app, d)).transpose()?;
            let (_, entries) = record::year_facts(&app.db, year).await?;
            let entries: Vec<_> = entries.into_iter().filter(|e| department.as_ref().is_none_or(|d| &e.department == d)).collect();
            if json {
                let v: Vec<serde_json::Value> = entries
                    .iter()
                    .map(|e| {
                        json!({"id": e.id, "department": e.department, "item": e.item, "points": number(e.points_centi), "negative_opinion": e.doubled,
                        "date": e.entry_on, "work": e.work, "note": e.note, "created_by": e.created_by, "created_at": report::rfc3339(e.created_at, &app.config)})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            if entries.is_empty() {
                println!("{year} 年没有手工计分登记。");
            }
            for e in &entries {
                let doubled = if e.doubled { "（引发负面舆情，翻倍）" } else { "" };
                let work = if e.work.is_empty() { String::new() } else { format!("  作品「{}」", e.work) };
                let note = if e.note.is_empty() { String::new() } else { format!("  {}", e.note) };
                println!("[{}] {}  {}  {}  {}{doubled}{work}{note}  （{} 登记）", e.id, e.entry_on, e.department, e.item, shown(e.points_centi), e.created_by);
            }
            if !entries.is_empty() {
                println!("共 {} 条", entries.len());
            }
        }
        ScoreAction::Remove { id } => match record::remove_entry(&app.db, id, &db::audit::cli_user(), now()).await? {
            Some(e) => println!("已删除计分登记 {id}：{} {} {} {}。", e.entry_on, e.department, e.item, shown(e.points_centi)),
            None => bail!("没有编号为 {id} 的计分登记（编号见 baosong score list）"),
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn period(app: &App, year: Option<i32>, month: Option<&str>) -> anyhow::Result<Period> {
    match month {
        Some(m) => {
            let c = parse_cycle(m)?;
            if year.is_some_and(|y| y != c.year) {
                bail!("--year 与 --month 不在同一年");
            }
            Ok(Period { year: year_of(app, Some(c.year))?, month: Some(c.month) })
        }
        None => Ok(Period { year: year_of(app, year)?, month: None }),
    }
}

async fn compute(app: &App, p: &Period) -> anyhow::Result<Scores> {
    let names: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    record::scores(&app.db, &app.config.rubric, &names, p).await
}

fn department_json(d: &DepartmentScore, explain: bool) -> serde_json::Value {
    let items: Vec<serde_json::Value> =
        d.items.iter().map(|i| json!({"section": i.section, "item": i.item, "raw": number(i.raw), "points": number(i.points), "max": number(i.max)})).collect();
    let sections: Vec<serde_json::Value> = d.sections.iter().map(|s| json!({"section": s.section, "points": number(s.points), "max": number(s.max)})).collect();
    let mut v = json!({"department": d.department, "rank": d.rank, "total": number(d.total), "sections": sections, "items": items});
    if explain {
        let lines: Vec<serde_json::Value> = d
            .lines
            .iter()
            .map(|l| json!({"source": l.source, "date": l.date, "section": l.section, "item": l.item, "value": number(l.value), "counted": number(l.counted), "text": l.text}))
            .collect();
        v["lines"] = json!(lines);
    }
    v
}

/// The quarter or half asked for on the command line (clap keeps them apart).
pub fn span_arg(quarter: Option<&str>, half: Option<&str>) -> anyhow::Result<Option<Span>> {
    let parse = |s: &str, what: &str, example: &str| match Span::parse(s) {
        Some(span) if span.code().contains(what) => Ok(span),
        _ => bail!("\"{s}\" 不是{}，应写成 {example}", if what == "Q" { "季度" } else { "半年" }),
    };
    match (quarter, half) {
        (Some(q), _) => parse(q, "Q", "2024Q1（第一季度）到 2024Q4").map(Some),
        (None, Some(h)) => parse(h, "H", "2024H1（上半年）或 2024H2（下半年）").map(Some),
        (None, None) => Ok(None),
    }
}

/// A quarter's or half's scores (the rubric's year only).
pub async fn span_scores(app: &App, span: Span) -> anyhow::Result<Scores> {
    year_of(app, Some(span.year()))?;
    let names: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    record::span_scores(&app.db, &app.config.rubric, &names, span).await
}

pub async fn score(app: &App, year: Option<i32>, month: Option<String>, span: Option<Span>, department: Option<String>, json: bool, explain: Option<String>) -> anyhow::Result<ExitCode> {
    let s = match span {
        Some(span) => span_scores(app, span).await?,
        None => compute(app, &period(app, year, month.as_deref())?).await?,
    };
    let only = match (&explain, &department) {
        (Some(e), _) => Some(department_name(app, e)?),
        (None, Some(d)) => Some(department_name(app, d)?),
        (None, None) => None,
    };
    let chosen: Vec<&DepartmentScore> = s.departments.iter().filter(|d| only.as_ref().is_none_or(|o| &d.department == o)).collect();
    if json {
        let mut v = json!({"year": s.year, "departments": chosen.iter().map(|d| department_json(d, explain.is_some())).collect::<Vec<_>>()});
        if let Some(m) = s.month {
            v["month"] = json!(format!("{}-{m:02}", s.year));
        }
        match span {
            Some(x @ Span::Quarter(..)) => v["quarter"] = json!(x.code()),
            Some(x @ Span::Half(..)) => v["half"] = json!(x.code()),
            _ => {}
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rubric = &app.config.rubric;
    let when = match (s.month, span) {
        (Some(m), _) => format!("{}年{m}月", s.year),
        (None, Some(x)) => x.label(),
        (None, None) => format!("{}年", s.year),
    };
    println!("{when}考核得分（{}，满分 {}）", if rubric.title.is_empty() { "考核细则" } else { &rubric.title }, shown(s.max));
    if s.month.is_some() {
        println!("（只计该月的采用和登记；扣分项从满分扣起，加分项从 0 分加起。）");
    }
    if let Some(x) = span {
        println!("{}", span_note(x));
    }
    let mut header = format!("{}{}", report::pad("名次", 6), report::pad("单位", 20));
    for sec in &rubric.sections {
        header += &report::pad(&format!("{}({})", sec.name, shown(sec.max)), 20);
    }
    println!("{header}总分");
    for d in &chosen {
        let mut line = format!("{}{}", report::pad(&d.rank.to_string(), 6), report::pad(&d.department, 20));
        for sec in &d.sections {
            line += &report::pad(&shown(sec.points), 20);
        }
        println!("{line}{}", shown(d.total));
    }
    if only.is_some() {
        for d in &chosen {
            println!("\n{}：第 {} 名，总分 {}", d.department, d.rank, shown(d.total));
            println!("  {}{}{}满分", report::pad("项目", 36), report::pad("原始分", 10), report::pad("得分", 10));
            for i in &d.items {
                let group = rubric.item(&i.item).map(|x| x.group.clone()).filter(|g| !g.is_empty()).map(|g| format!(" · {g}")).unwrap_or_default();
                println!("  {}{}{}{}", report::pad(&format!("{}{group} · {}", i.section, i.item), 36), report::pad(&shown(i.raw), 10), report::pad(&shown(i.points), 10), shown(i.max));
            }
        }
    }
    if explain.is_some() {
        for d in &chosen {
            println!("\n{} 得分明细（{} 条）：", d.department, d.lines.len());
            if d.lines.is_empty() {
                println!("  没有采用或计分登记：扣分项按满分计，加分项为 0 分。");
            }
            for l in &d.lines {
                let tag = match &l.source {
                    Source::Adoption { id, .. } => format!("[采用 {id}]"),
                    Source::Entry { id } => format!("[登记 {id}]"),
                };
                println!("  {}  {} {}", l.date, tag, l.text);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How a quarter's or half's points are counted, in words.
fn span_note(span: Span) -> String {
    let (first, last) = span.months();
    if first == 1 {
        format!("（{} 1–{last} 月的年度累计得分，年度封顶照常适用。）", span.year())
    } else {
        format!("（{last} 月底的年度累计得分减去 {} 月底的：年度封顶照常适用，已封顶的项目本期不再加分；本期的扣分显示为负数。）", first - 1)
    }
}

pub async fn export(app: &App, action: ExportAction) -> anyhow::Result<ExitCode> {
    match action {
        ExportAction::Board { month, xlsx, as_of } => {
            let cycle: Cycle = parse_cycle(&month)?;
            let as_of = as_of.as_deref().map(|t| super::parse_time(t, &app.config)).transpose()?.unwrap_or_else(now);
            let board = report::board(&app.db, &app.config, cycle, as_of).await?;
            baosong::export::board::write(&board, &xlsx)?;
            println!("已导出 {cycle} 报送情况通报（{} 个单位）：{}", board.departments.len(), xlsx.display());
        }
        ExportAction::Items { month, xlsx } => {
            let cycle = parse_cycle(&month)?;
            let filter = db::items::Filter { cycle: Some(cycle.to_string()), ..Default::default() };
            let list = db::items::list(&app.db, &filter).await?;
            let config = &app.config;
            let authors = db::authors::of_items(&app.db, &list.iter().map(|l| l.item.id).collect::<Vec<_>>()).await?;
            baosong::export::items::write(&list, &authors, &config.categories, &|t| report::shown_time(t, config), &xlsx)?;
            println!("已导出 {cycle} 的文件清单（{} 个文件）：{}", list.len(), xlsx.display());
        }
        ExportAction::Scores { year, xlsx } => {
            let p = period(app, year, None)?;
            let s = compute(app, &p).await?;
            baosong::export::scores::write(&s, &app.config.rubric, &xlsx)?;
            println!("已导出 {} 年考核得分（{} 个单位，{} 节）：{}", s.year, s.departments.len(), app.config.rubric.sections.len(), xlsx.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(app: &App, limit: i64, json: bool) -> anyhow::Result<ExitCode> {
    let rows = db::audit::list(&app.db, limit).await?;
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| json!({"id": r.id, "at": report::rfc3339(r.at, &app.config), "who": r.who, "action": r.action, "target": r.target, "before": r.before, "after": r.after}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("还没有操作记录。");
    }
    for r in &rows {
        let change = match (r.before.is_empty(), r.after.is_empty()) {
            (true, false) => format!("新增 {}", r.after),
            (false, true) => format!("删除前 {}", r.before),
            (false, false) => format!("{} → {}", r.before, r.after),
            (true, true) => String::new(),
        };
        println!("[{}] {}  {}  {}  {}  {change}", r.id, report::shown_time(r.at, &app.config), r.who, db::audit::action_label(&r.action), r.target);
    }
    Ok(ExitCode::SUCCESS)
}
