//! A department's month, or a whole month, as one ZIP, streamed as it is written:
//! stored (the photos are compressed already), names in UTF-8 (so Windows 10+
//! Explorer shows them right), folders by category, ZIP64 past 4 GiB (see `zip`).

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::files::{disposition, fetched};
use super::{Failure, Page, Shared};
use crate::db;

mod zip;

use zip::{Entry, Plan};

/// The files of a month (and department) as archive entries: `[单位/]类别/文件名`.
async fn entries(app: &Shared, cycle: &str, department: Option<&str>) -> Result<Vec<Entry>, Failure> {
    let filter = db::items::Filter { cycle: Some(cycle.to_string()), department: department.map(str::to_string), ..Default::default() };
    let list = db::items::list(&app.db, &filter).await?;
    let prefix = match department {
        Some(d) => format!("tree/{cycle}/{d}/"),
        None => format!("tree/{cycle}/"),
    };
    let mut out = Vec::new();
    for li in list {
        let it = &li.item;
        let Some(name) = it.tree_path.strip_prefix(&prefix) else { continue };
        let Some(path) = fetched(&app.store, &it.blob_path).await else { continue };
        out.push(Entry { name: name.to_string(), path, size: it.size.max(0) as u64 });
    }
    Ok(out)
}

async fn send(app: &Shared, cycle: &str, department: Option<String>) -> Page {
    let cycle = super::board::cycle_of(app, Some(cycle))?.to_string();
    let department = match department {
        Some(d) => Some(app.config.roster.by_name(&d).map(|x| x.name.clone()).ok_or_else(|| Failure::not_found(format!("名单中没有单位 \"{d}\"")))?),
        None => None,
    };
    let list = entries(app, &cycle, department.as_deref()).await?;
    if list.is_empty() {
        return Err(Failure::not_found("这个月还没有可下载的文件"));
    }
    let plan = Plan::new(list, zip::LIMITS);
    let size = plan.size;
    if plan.zip64() {
        tracing::info!(cycle, size, "下载的 ZIP 超过 4 GB 或多于 65 535 个文件：使用 ZIP64");
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(zip::write(plan, tx));
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) }));
    let name = match &department {
        Some(d) => format!("{d}-{cycle}.zip"),
        None => format!("报送-{cycle}.zip"),
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition("attachment", &name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

pub async fn month(State(app): State<Shared>, UrlPath(cycle): UrlPath<String>) -> Page {
    send(&app, &cycle, None).await
}

pub async fn department(State(app): State<Shared>, UrlPath((cycle, department)): UrlPath<(String, String)>) -> Page {
    send(&app, &cycle, Some(department)).await
}
