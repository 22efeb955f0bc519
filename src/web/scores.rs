//! Scoring on the console (issue 13): the year's scores per department with what is
//! behind them (考核计分) and the form that downloads a 通报, and the adopt / unadopt
//! buttons of an item. Both call the
//! same `score::record` functions as the CLI, audited as `web:<account>`.

use axum::Extension;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::auth::{Fields, Session, done};
use super::{Failure, Page, Shared, now, session_view};
use crate::score::compute::{Period, Scores, Source};
use crate::score::period::Span;
use crate::score::record::{self, Details, NewEntry};
use crate::score::{Level, shown};

#[derive(Debug, Deserialize)]
pub struct YearQuery {
    year: Option<String>,
}

/// The year asked for (the rubric's by default), and its scores: the same as
/// `score` and `export scores`. Only the rubric's year can be computed.
pub async fn compute(app: &Shared, asked: Option<&str>) -> Result<(i32, Scores), Failure> {
    let rubric = &app.config.rubric;
    let year = match asked.map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => y.trim_end_matches('年').parse::<i32>().map_err(|_| Failure::bad(format!("年度 \"{y}\" 格式不对，应写成 2024")))?,
        None => rubric.year,
    };
    if year != rubric.year {
        return Err(Failure::bad(format!("考核细则是 {} 年的，不能计算 {year} 年（换年度见 README 的“考核计分”一节）", rubric.year)));
    }
    let names: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    Ok((year, record::scores(&app.db, rubric, &names, &Period { year, month: None }).await?))
}

/// 考核计分: ranks, section points and total per department; each department's items
/// and the adoptions and entries behind them.
pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, Query(q): Query<YearQuery>) -> Page {
    let rubric = &app.config.rubric;
    let (year, scores) = compute(&app, q.year.as_deref()).await?;
    let sections: Vec<_> = rubric.sections.iter().map(|x| minijinja::context! { name => x.name.clone(), max => shown(x.max) }).collect();
    let departments: Vec<_> = scores
        .departments
        .iter()
        .map(|d| {
            let lines: Vec<_> = d
                .lines
                .iter()
                .map(|l| {
                    let tag = match &l.source {
                        Source::Adoption { id, .. } => format!("采用 {id}"),
                        Source::Entry { id } => format!("登记 {id}"),
                    };
                    minijinja::context! { date => l.date.clone(), tag => tag, item => l.item.clone(), text => l.text.clone(), value => shown(l.value), counted => shown(l.counted) }
                })
                .collect();
            minijinja::context! {
                department => d.department.clone(), rank => d.rank, total => shown(d.total),
                sections => d.sections.iter().map(|x| shown(x.points)).collect::<Vec<_>>(),
                items => d.items.iter().map(|i| minijinja::context! {
                    section => i.section.clone(), item => i.item.clone(), raw => shown(i.raw), points => shown(i.points), max => shown(i.max), capped => capped(i),
                }).collect::<Vec<_>>(),
                capped => d.items.iter().filter(|i| capped(i)).map(|i| i.item.clone()).collect::<Vec<_>>(),
                lines => lines,
            }
        })
        .collect();
    let title = if rubric.title.is_empty() { "考核细则".to_string() } else { rubric.title.clone() };
    // The years the picker offers: the rubric's, and every year with mail.
    let mut years: Vec<i32> = crate::db::messages::cycles(&app.db).await?.iter().filter_map(|c| c.get(..4)?.parse().ok()).collect();
    years.push(rubric.year);
    years.sort_unstable();
    years.dedup();
    years.reverse();
    let entry_items: Vec<_> = rubric
        .items()
        .filter(|i| i.takes_entries())
        .map(|i| minijinja::context! { name => i.name.clone(), label => format!("{} · {}", i.section, i.name), accepted => i.accepted() })
        .collect();
    let names: Vec<String> = app.config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let now_local = chrono::DateTime::from_timestamp(now(), 0).map(|t| t.with_timezone(&app.config.timezone));
    let periods = tongbao_periods(year, now_local.map_or((year, 12), |t| (chrono::Datelike::year(&t), chrono::Datelike::month(&t))));
    Ok(app
        .pages
        .render(
            "scores.html",
            minijinja::context! {
                session => session_view(&s), year => year, years => years, rubric_year => rubric.year, title => title, max => shown(scores.max), periods => periods,
                sections => sections, departments => departments, entry_items => entry_items, names => names, today => today(&app),
            },
        )?
        .into_response())
}

/// The periods 下载通报（Word） offers for `year`: its quarters, halves and the year,
/// with the latest quarter ended by `today` (year, month) chosen, or the year once it
/// is over.
fn tongbao_periods(year: i32, today: (i32, u32)) -> Vec<minijinja::Value> {
    let chosen = match today {
        (y, _) if y > year => Span::Year(year),
        (y, m) if y == year => Span::Quarter(year, ((m - 1) / 3).max(1)),
        _ => Span::Quarter(year, 1),
    };
    let spans = (1..=4).map(|q| Span::Quarter(year, q)).chain((1..=2).map(|h| Span::Half(year, h))).chain([Span::Year(year)]);
    spans.map(|s| minijinja::context! { code => s.code(), label => s.label(), chosen => s == chosen }).collect()
}

/// An addition item whose points reached its maximum with more to spare: 已封顶.
fn capped(i: &crate::score::compute::ItemScore) -> bool {
    i.raw > i.max && i.points == i.max
}

fn today(app: &Shared) -> String {
    chrono::DateTime::from_timestamp(now(), 0).map(|t| t.with_timezone(&app.config.timezone).format("%Y-%m-%d").to_string()).unwrap_or_default()
}

/// 登记计分 (`score add`): a department's points under an item that takes entries,
/// checked and audited by the same `record::add_entry`.
pub async fn add(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>) -> Page {
    let text = |k: &str| f.get(k).unwrap_or("").trim().to_string();
    let name = text("department");
    let department = app.config.roster.by_name(&name).map(|d| d.name.clone()).ok_or_else(|| Failure::bad(format!("名单中没有单位 \"{name}\"")))?;
    let points = text("points");
    let value: f64 = points.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| Failure::bad(format!("分值 \"{points}\" 不是数字，应写成 -0.2、0.3 这样的分值")))?;
    let points = crate::score::centi(value).ok_or_else(|| Failure::bad(format!("分值 {value} 最多只能有两位小数")))?;
    let date = match text("date") {
        d if d.is_empty() => today(&app),
        d => d,
    };
    let date = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| Failure::bad(format!("日期 \"{date}\" 格式不对，应写成 2024-04-12")))?;
    let doubled = f.get("negative_opinion").is_some_and(|v| v == "1" || v == "on");
    let e = NewEntry { department, item: text("item"), points, doubled, date, work: text("work"), note: text("note") };
    match record::add_entry(&app.db, &app.config.rubric, &e, &s.who(), now()).await? {
        Err(r) => Err(Failure::bad(format!("不能登记：{}", r.reason()))),
        Ok(row) => {
            let doubled = if row.doubled { format!("（引发负面舆情，翻倍为 {}）", shown(row.points_centi * 2)) } else { String::new() };
            let said = format!("已登记计分：{} {} {} {} 分{doubled}", row.entry_on, row.department, row.item, shown(row.points_centi));
            Ok(done(&app, "/scores", &said))
        }
    }
}

/// Records that the item was adopted (登记采用): level, date and where.
pub async fn adopt(State(app): State<Shared>, Extension(s): Extension<Session>, Extension(f): Extension<Fields>, UrlPath(id): UrlPath<String>) -> Page {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这个文件"))?;
    let level = f.get("level").and_then(Level::parse).ok_or_else(|| Failure::bad("请选择采用级别：旗局、市局或公安厅"))?;
    let date = f.get("date").unwrap_or("").trim();
    let date = if date.is_empty() {
        chrono::DateTime::from_timestamp(now(), 0).map(|t| t.with_timezone(&app.config.timezone).format("%Y-%m-%d").to_string()).unwrap_or_default()
    } else {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| Failure::bad(format!("日期 \"{date}\" 格式不对，应写成 2024-04-08")))?.to_string()
    };
    let text = |k: &str| f.get(k).unwrap_or("").trim().to_string();
    let d = Details { date, channel: text("channel"), url: text("url"), note: text("note") };
    let said = format!("已登记：{}被{}采用", d.date, level.label());
    match record::adopt(&app.db, &[id], level, &d, &s.who(), now()).await? {
        Ok(_) => Ok(done(&app, &format!("/items/{id}"), &said)),
        Err(refusals) => Err(Failure::bad(refusals.iter().map(|r| r.reason()).collect::<Vec<_>>().join("；"))),
    }
}

/// Removes an adoption (撤销采用) and goes back to the item it was recorded on.
pub async fn unadopt(State(app): State<Shared>, Extension(s): Extension<Session>, UrlPath(id): UrlPath<String>) -> Page {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这条采用记录"))?;
    let removed = record::unadopt(&app.db, id, &s.who(), now()).await?.ok_or_else(|| Failure::not_found(format!("没有编号为 {id} 的采用记录")))?;
    Ok(done(&app, &format!("/items/{}", removed.item_ref), "已撤销这条采用登记"))
}
