//! A department's month as thumbnails grouped by category, and one item: the full
//! image, its metadata, the earlier photo it resembles, the mail it came from and that
//! mail's refused files; for a 超大附件 link, where it stands and the upload of its file.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Extension;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::IntoResponse;
use serde::Serialize;

use super::auth::Session;
use super::{Failure, Page, Shared, session_view};
use crate::db::{self, items::{Kind, ListedItem, Status}};
use crate::rejection::{Flag, Rejection};
use crate::report;

#[derive(Serialize)]
pub struct Card {
    id: i64,
    /// The file's name, and where it was in the mail (`素材/3月/夜巡.jpg`).
    name: String,
    path: String,
    /// The status code, for the card's CSS class, and in words.
    status: &'static str,
    status_label: &'static str,
    kind_label: &'static str,
    is_link: bool,
    is_video: bool,
    thumb: bool,
    badges: Vec<String>,
    department: String,
    cycle: String,
    category: String,
    /// A 超大附件 link's state in words (等待下载 …), '' for other items.
    link_state: String,
    /// A video without a picture: 视频 0:12 · 1920×1080 · 12.3 MB.
    video: String,
    /// 作者：张三 or 未署名, where the page shows authors ('' elsewhere).
    pub author: String,
}

/// The author line a page shows: 作者：张三、李四, or 未署名.
pub fn author_line(authors: Option<&db::authors::Authors>) -> String {
    match authors.filter(|a| !a.authors.is_empty()) {
        Some(a) => format!("作者：{}", a.names()),
        None => "未署名".into(),
    }
}

/// Every flag of an item and of its message, in words.
pub fn badges(li: &ListedItem) -> Vec<String> {
    let mut all = Flag::parse_list(&li.item.flags);
    all.extend(Flag::parse_list(&li.message_flags));
    all.sort();
    all.dedup();
    let mut out: Vec<String> = all.iter().map(|f| f.label().to_string()).collect();
    // A duplicate's flag says 重复 already: the status badge is not said twice.
    if matches!(li.item.status, Status::Duplicate | Status::Shared) && !out.iter().any(|b| b == li.item.status.label()) {
        out.insert(0, li.item.status.label().into());
    }
    out
}

/// The file's own name, without the folders of the archive it came in.
pub fn file_name(shown: &str) -> &str {
    shown.rsplit(['/', '\\']).next().filter(|n| !n.is_empty()).unwrap_or(shown)
}

pub fn card(app: &Shared, li: &ListedItem) -> Card {
    Card {
        id: li.item.id,
        name: file_name(&li.item.shown_name).to_string(),
        path: li.item.shown_name.clone(),
        status: li.item.status.code(),
        status_label: li.item.status.label(),
        kind_label: li.item.kind.label(),
        is_link: li.item.kind == Kind::Link,
        is_video: li.item.kind == Kind::Video,
        thumb: !li.item.thumb_path.is_empty(),
        badges: badges(li),
        department: li.department.clone(),
        cycle: li.cycle.clone(),
        category: app.config.categories.label(li.item.category.parse().ok()),
        link_state: String::new(),
        video: if li.item.kind == Kind::Video { video_text(li) } else { String::new() },
        author: String::new(),
    }
}

/// Links shown in `list` whose file is already among its items (recorded again, the
/// file keeps the link's URL): not shown a second time.
fn superseded(list: &[ListedItem]) -> HashSet<i64> {
    let files: HashSet<(i64, &str)> =
        list.iter().filter(|li| li.item.kind != Kind::Link && !li.item.url.is_empty()).map(|li| (li.item.message_ref, li.item.url.as_str())).collect();
    list.iter().filter(|li| li.item.kind == Kind::Link && files.contains(&(li.item.message_ref, li.item.url.as_str()))).map(|li| li.item.id).collect()
}

#[derive(Serialize)]
struct Group {
    label: String,
    cards: Vec<Card>,
}

#[derive(Serialize)]
struct Choice {
    value: u8,
    label: String,
}

pub fn category_choices(app: &Shared) -> Vec<minijinja::Value> {
    let mut v: Vec<minijinja::Value> = (1..=10u8).map(|n| minijinja::Value::from_serialize(Choice { value: n, label: app.config.categories.label(Some(n)) })).collect();
    v.push(minijinja::Value::from_serialize(Choice { value: 0, label: "未分类".into() }));
    v
}

pub async fn page(State(app): State<Shared>, Extension(s): Extension<Session>, UrlPath((cycle, department)): UrlPath<(String, String)>) -> Page {
    let cycle = super::board::cycle_of(&app, Some(&cycle))?.to_string();
    let department = app.config.roster.by_name(&department).map(|d| d.name.clone()).ok_or_else(|| Failure::not_found(format!("名单中没有单位 \"{department}\"")))?;
    let filter = db::items::Filter { cycle: Some(cycle.clone()), department: Some(department.clone()), ..Default::default() };
    let list = db::items::list(&app.db, &filter).await?;
    let states: HashMap<(i64, String), crate::links::State> =
        db::links::list(&app.db, Some(&cycle)).await?.into_iter().map(|l| ((l.link.message_ref, l.link.url), l.link.state)).collect();
    let skip = superseded(&list);
    let authors = db::authors::of_items(&app.db, &list.iter().map(|li| li.item.id).collect::<Vec<_>>()).await?;
    let mut groups: BTreeMap<(u8, String), Vec<Card>> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut total = 0;
    for li in list.iter() {
        if skip.contains(&li.item.id) {
            continue;
        }
        total += 1;
        if li.item.status == Status::Rejected {
            refused.push(minijinja::context! { id => li.item.id, name => li.item.shown_name.clone(), reason => refusal(li) });
            continue;
        }
        let no: Option<u8> = li.item.category.parse().ok();
        let mut c = card(&app, li);
        if li.item.kind != Kind::Link {
            c.author = author_line(authors.get(&li.item.id));
        }
        if let Some(st) = (!li.item.url.is_empty()).then(|| states.get(&(li.item.message_ref, li.item.url.clone()))).flatten() {
            c.link_state = if li.item.kind == Kind::Link { st.label().to_string() } else { format!("超大附件{}", st.label()) };
        }
        groups.entry((no.unwrap_or(11), app.config.categories.label(no))).or_default().push(c);
    }
    let groups: Vec<Group> = groups.into_iter().map(|((_, label), cards)| Group { label, cards }).collect();
    Ok(app
        .pages
        .render(
            "gallery.html",
            minijinja::context! { session => session_view(&s), cycle => cycle, department => department, groups => groups, refused => refused, choices => category_choices(&app), total => total },
        )?
        .into_response())
}

/// Why a file was refused, in words: the reason recorded with it (which already says
/// what the code means), else the code's own.
fn refusal(li: &ListedItem) -> String {
    let it = &li.item;
    if it.reason.is_empty() { Rejection::from_code(&it.rejection_code).map_or(it.rejection_code.as_str(), |r| r.reason()).to_string() } else { it.reason.clone() }
}

/// The months a package may be moved to from `cycle` (改月份): the three before and
/// the three after.
fn months_around(cycle: &str) -> Vec<String> {
    let Some(c) = crate::cycle::Cycle::parse(cycle) else { return Vec::new() };
    let mut start = c;
    for _ in 0..3 {
        start = if start.month == 1 { crate::cycle::Cycle::new(start.year - 1, 12) } else { crate::cycle::Cycle::new(start.year, start.month - 1) }.unwrap_or(start);
    }
    let mut out = Vec::new();
    let mut m = start;
    for _ in 0..7 {
        if m != c {
            out.push(m.to_string());
        }
        m = m.next();
    }
    out
}

/// Size in words: 850 KB, 12.3 MB.
pub fn size_text(bytes: i64) -> String {
    if bytes < 1_048_576 { format!("{} KB", (bytes + 1023) / 1024) } else { format!("{:.1} MB", bytes as f64 / 1_048_576.0) }
}

/// A video's length: 0:12, 1:02:03.
fn duration_text(ms: i64) -> String {
    let s = (ms + 500) / 1000;
    if s >= 3600 { format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) } else { format!("{}:{:02}", s / 60, s % 60) }
}

/// What a card without a picture says of a video: 视频 0:12 · 1920×1080 · 12.3 MB.
fn video_text(li: &ListedItem) -> String {
    let it = &li.item;
    let mut parts = vec![if it.duration_ms > 0 { format!("视频 {}", duration_text(it.duration_ms)) } else { "视频".to_string() }];
    if it.width > 0 {
        parts.push(format!("{}×{}", it.width, it.height));
    }
    parts.push(size_text(it.size));
    parts.join(" · ")
}

/// What the office reads of a file, and (behind 详细信息) what only a technician needs.
fn facts(app: &Shared, li: &ListedItem) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let it = &li.item;
    let mut f = vec![("文件名".to_string(), file_name(&it.shown_name).to_string()), ("单位".into(), li.department.clone()), ("月份".into(), li.cycle.clone())];
    f.push(("类别".into(), app.config.categories.label(it.category.parse().ok())));
    f.push(("状态".into(), it.status.label().to_string()));
    f.push(("拍摄时间".into(), if it.captured_at > 0 { report::shown_time(it.captured_at, &app.config) } else { "文件中没有记录".into() }));
    if it.duration_ms > 0 {
        f.push(("时长".into(), duration_text(it.duration_ms)));
    }
    if it.width > 0 {
        f.push(("尺寸".into(), format!("{} × {}", it.width, it.height)));
    }
    f.push(("大小".into(), size_text(it.size)));
    if !it.camera.is_empty() {
        f.push(("相机".into(), it.camera.clone()));
    }
    f.push(("收到时间".into(), report::shown_time(li.received_at, &app.config)));
    let mut more = Vec::new();
    if it.shown_name != file_name(&it.shown_name) {
        more.push(("邮件中的路径".to_string(), it.shown_name.clone()));
    }
    if !it.mime.is_empty() {
        more.push(("文件格式".into(), it.mime.clone()));
    }
    if !it.codec.is_empty() {
        more.push(("编码".into(), format!("{} {}", it.container, it.codec)));
    }
    if it.blur_centi > 0 {
        more.push(("清晰度（数值越大越清晰）".into(), format!("{:.0}", it.blur_centi as f64 / 100.0)));
    }
    if !it.sha256.is_empty() {
        more.push(("SHA-256（文件指纹）".into(), it.sha256.clone()));
    }
    more.push(("编号".into(), it.id.to_string()));
    (f, more)
}

#[derive(serde::Deserialize, Default)]
pub struct ItemQuery {
    /// Set by the redirect after 补交文件: the page says it was taken in.
    attached: Option<String>,
}

pub async fn item(State(app): State<Shared>, Extension(s): Extension<Session>, UrlPath(id): UrlPath<String>, Query(q): Query<ItemQuery>) -> Page {
    let id: i64 = id.parse().ok().filter(|n| *n > 0).ok_or_else(|| Failure::not_found("没有这个文件"))?;
    let li = db::items::get(&app.db, id).await?.ok_or_else(|| Failure::not_found(format!("没有编号为 {id} 的文件")))?;
    let earlier_id = if li.item.similar_to > 0 { li.item.similar_to } else { li.item.duplicate_of };
    let earlier = match earlier_id {
        0 => None,
        e => db::items::get(&app.db, e).await?.map(|e| minijinja::context! { card => card(&app, &e), facts => facts(&app, &e).0 }),
    };
    let adoptions: Vec<_> = db::adoptions::touching(&app.db, id)
        .await?
        .into_iter()
        .map(|a| {
            let level = crate::score::Level::parse(&a.level).map_or(a.level.clone(), |l| l.label().to_string());
            minijinja::context! { id => a.id, date => a.adopted_on, level => level, channel => a.channel, url => a.url, note => a.note, copy => (a.item_ref != id).then_some(a.item_name) }
        })
        .collect();
    let levels: Vec<_> = crate::score::Level::ALL.iter().map(|l| minijinja::context! { code => l.code(), label => l.label() }).collect();
    let link = super::links::view(&app, &li).await?;
    let attached = q.attached.is_some() && link.as_ref().is_some_and(|l| l.get_attr("has_file").is_ok_and(|v| v.is_true()));
    let mail = db::messages::get(&app.db, li.item.message_ref).await?;
    let mut facts = facts(&app, &li);
    let authors = db::authors::of_item(&app.db, id).await?;
    let mut card = card(&app, &li);
    card.author = author_line(Some(&authors));
    let whom = match (&authors.source, authors.authors.is_empty()) {
        (Some(src), false) => format!("{}（{}）", authors.names(), src.label()),
        _ => "未署名".into(),
    };
    facts.0.insert(1, ("作者".into(), whom));
    let people: Vec<String> = app.config.roster.by_name(&li.department).map(|d| d.people.iter().map(|p| p.name.clone()).collect()).unwrap_or_default();
    let siblings = db::items::list(&app.db, &db::items::Filter { message_ref: Some(li.item.message_ref), ..Default::default() }).await?;
    let refused: Vec<_> = siblings.iter().filter(|x| x.item.status == Status::Rejected).map(|x| minijinja::context! { name => x.item.shown_name.clone(), reason => refusal(x) }).collect();
    let auth = db::sender_auth::of_messages(&app.db, &[li.item.message_ref]).await?.remove(&li.item.message_ref);
    let mail = mail.map(|m| {
        let months = months_around(&m.cycle);
        minijinja::context! {
            id => m.id, from => m.from_addr, subject => m.subject, received => report::shown_time(m.received_at, &app.config), count => siblings.len(),
            cycle => m.cycle.clone(), months => months, movable => m.disposition == db::messages::Disposition::Package,
            auth => auth.as_ref().map(|e| e.summary()), forged => auth.as_ref().is_some_and(|e| e.verdict == crate::sender_auth::Verdict::Fail),
        }
    });
    Ok(app
        .pages
        .render(
            "item.html",
            minijinja::context! {
                session => session_view(&s), card => card, facts => facts.0, people => people, authors => authors.names(), more => facts.1, earlier => earlier,
                similar => li.item.similar_to > 0, mail => mail, refused => refused, choices => category_choices(&app),
                adoptions => adoptions, levels => levels, adoptable => li.item.is_counted_work(),
                link => link, attached => attached,
            },
        )?
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, message_ref: i64, kind: Kind, url: &str) -> ListedItem {
        let mut li = ListedItem::default();
        li.item.id = id;
        li.item.message_ref = message_ref;
        li.item.kind = kind;
        li.item.url = url.into();
        li
    }

    #[test]
    fn a_link_whose_file_is_listed_is_not_shown_again() {
        let list = [item(1, 7, Kind::Link, "https://a"), item(2, 7, Kind::Video, "https://a"), item(3, 7, Kind::Link, "https://b"), item(4, 8, Kind::Link, "https://a"), item(5, 7, Kind::Photo, "")];
        assert_eq!(superseded(&list), [1].into_iter().collect());
    }
}
