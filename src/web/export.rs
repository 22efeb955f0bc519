//! 导出 Excel: the board, the search results and the scores as the same .xlsx files as
//! `export board|items|scores --xlsx`, written by the same `export` functions into the
//! store's scratch folder, sent, and removed.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{Failure, Page, Shared, now};
use crate::db;
use crate::report;
use crate::score::period::Span;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Runs `write` on a fresh path in the store's scratch folder and answers with the file
/// as an attachment named `name`.
async fn send(app: &Shared, name: String, write: impl FnOnce(&std::path::Path) -> anyhow::Result<()> + Send + 'static) -> Page {
    let dir = app.store.tmp_dir();
    let bytes = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let file = tempfile::Builder::new().prefix("export-").suffix(".xlsx").tempfile_in(&dir)?;
        write(file.path())?;
        Ok(std::fs::read(file.path())?)
    })
    .await
    .map_err(|e| anyhow::anyhow!("导出中断：{e}"))??;
    Ok(attachment(bytes, XLSX, &name))
}

/// `bytes` as a download named `name`, never cached.
fn attachment(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&super::files::disposition("attachment", name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(serde::Deserialize, Default)]
pub struct Month {
    cycle: Option<String>,
}

/// `export board --month M`: the month's 报送情况通报, as of now.
pub async fn board(State(app): State<Shared>, Query(q): Query<Month>) -> Result<Response, Failure> {
    let cycle = super::board::shown_cycle(&app, q.cycle.as_deref()).await?;
    let b = report::board(&app.db, &app.config, cycle, now()).await?;
    send(&app, format!("{cycle}报送情况.xlsx"), move |path| crate::export::board::write(&b, path)).await
}

/// `export items` with the search page's filters.
pub async fn items(State(app): State<Shared>, Query(p): Query<super::search::Params>) -> Page {
    if !p.asked() {
        return Err(Failure::bad("请先填写搜索条件（例如月份或单位），再导出"));
    }
    let filter = super::search::filter(&app, &p)?;
    let list = db::items::list(&app.db, &filter).await?;
    let mut name = String::new();
    for part in [filter.department.clone(), filter.cycle.clone()].into_iter().flatten() {
        name.push_str(&part);
    }
    name.push_str("文件清单.xlsx");
    let authors = db::authors::of_items(&app.db, &list.iter().map(|l| l.item.id).collect::<Vec<_>>()).await?;
    let a = app.clone();
    send(&app, name, move |path| crate::export::items::write(&list, &authors, &a.config.categories, &|t| report::shown_time(t, &a.config), path)).await
}

#[derive(serde::Deserialize, Default)]
pub struct Year {
    year: Option<String>,
}

/// `export scores --year Y`.
pub async fn scores(State(app): State<Shared>, Query(q): Query<Year>) -> Page {
    let (year, s) = super::scores::compute(&app, q.year.as_deref()).await?;
    let a = app.clone();
    send(&app, format!("{year}年宣传考核.xlsx"), move |path| crate::export::scores::write(&s, &a.config.rubric, path)).await
}

#[derive(serde::Deserialize, Default)]
pub struct Tongbao {
    period: Option<String>,
}

/// 下载通报（Word）: `report tongbao --docx` for a quarter ("2024Q1"), a half ("2024H1")
/// or the year ("2024"), as of now, named 2024年第一季度通报.docx.
pub async fn tongbao(State(app): State<Shared>, Query(q): Query<Tongbao>) -> Page {
    let asked = q.period.unwrap_or_default();
    let span = Span::parse(&asked).ok_or_else(|| Failure::bad(format!("通报期间 \"{asked}\" 格式不对，应写成 2024Q1（季度）、2024H1（半年）或 2024（全年）")))?;
    let rubric_year = app.config.rubric.year;
    if span.year() != rubric_year {
        return Err(Failure::bad(format!("考核细则是 {rubric_year} 年的，不能计算 {} 年（换年度见 README 的“考核计分”一节）", span.year())));
    }
    let office = crate::scheduler::office_name(&app.config);
    let t = report::tongbao::gather(&app.db, &app.config, span, now(), &office).await?;
    let blocks = crate::export::tongbao::document(&t, &app.config)?;
    let bytes = crate::export::docx::bytes(&blocks).map_err(anyhow::Error::from)?;
    Ok(attachment(bytes, DOCX, &format!("{}通报.docx", t.period)))
}
