//! `report tongbao`: the 通报 of a quarter, a half or a year, printed or written as a
//! Word document. Parsing arguments and printing only; the work is in
//! `baosong::report::tongbao` (the numbers),
//! `baosong::export::tongbao` (the words) and `baosong::export::docx` (the Word file).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use baosong::app::App;
use baosong::export::tongbao as document;
use baosong::report::tongbao;
use baosong::score::period::Span;

use super::{now, parse_time, scoring};

pub async fn tongbao(app: &App, quarter: Option<String>, half: Option<String>, year: Option<i32>, docx: Option<PathBuf>, as_of: Option<String>) -> anyhow::Result<ExitCode> {
    let span = match (scoring::span_arg(quarter.as_deref(), half.as_deref())?, year) {
        (Some(s), _) => s,
        (None, Some(y)) => Span::Year(y),
        (None, None) => bail!("请用 --quarter、--half 或 --year 指明通报的期间，例如 --quarter 2024Q1"),
    };
    // Only the rubric's year can be scored; the same message as `score`.
    scoring::year_of(app, Some(span.year()))?;
    let as_of = as_of.as_deref().map(|t| parse_time(t, &app.config)).transpose()?.unwrap_or_else(now);
    let office = baosong::scheduler::office_name(&app.config);
    let t = tongbao::gather(&app.db, &app.config, span, as_of, &office).await?;
    let blocks = document::document(&t, &app.config)?;
    match docx {
        Some(path) => {
            baosong::export::docx::write(&blocks, &path)?;
            println!("已生成{}通报（{} 个单位）：{}", t.period, t.departments, path.display());
        }
        None => print!("{}", document::text(&blocks)),
    }
    Ok(ExitCode::SUCCESS)
}
