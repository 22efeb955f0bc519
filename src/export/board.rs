//! `export board`: the monthly 报送情况通报 table, one row per department.

use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::{Cell, Column, save, sheet};
use crate::categories::CIRCLED;
use crate::report::{self, Board};

pub fn write(b: &Board, path: &Path) -> anyhow::Result<()> {
    let mut headers: Vec<String> = ["单位", "状态", "首次报送时间", "逾期时长", "逾期小时数", "报送邮件数", "照片", "视频", "文档", "拒收", "共享不计", "超大附件已取", "超大附件待取", "超大附件待办"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    headers.extend((1..=10).map(|n| format!("类别{}", CIRCLED[n - 1])));
    headers.push("未分类".into());
    headers.push("标记".into());
    headers.push("延期至".into());
    let rows: Vec<Vec<Cell>> = b
        .departments
        .iter()
        .map(|d| {
            let mut row = vec![
                Cell::text(&d.department),
                Cell::text(d.state.label()),
                Cell::text(d.first_received_at.as_deref().map(report::shown).unwrap_or_default()),
                Cell::text(if d.late_by_seconds > 0 { report::duration_zh(d.late_by_seconds) } else { String::new() }),
                Cell::Number((d.late_by_seconds as f64 / 360.0).round() / 10.0, 2),
                Cell::int(d.packages),
                Cell::int(d.photos),
                Cell::int(d.videos),
                Cell::int(d.documents),
                Cell::int(d.rejected),
                Cell::int(d.shared),
                // A link whose file is in is counted once, as the photo or video it
                // became; the three say where the month's links stand.
                Cell::int(d.links.fetched),
                Cell::int(d.links.waiting),
                Cell::int(d.links.needs_office),
            ];
            row.extend((1..=10).map(|n| Cell::int(d.by_category.get(&n.to_string()).copied().unwrap_or(0))));
            row.push(Cell::int(d.by_category.get("uncategorized").copied().unwrap_or(0)));
            row.push(Cell::text(report::flags_line(&d.flags)));
            row.push(Cell::text(d.extended_until.clone().unwrap_or_default()));
            row
        })
        .collect();
    let name_w = super::width_for(b.departments.iter().map(|d| report::width(&d.department)), "单位", 14.0);
    let flags_w = super::width_for(b.departments.iter().map(|d| report::width(&report::flags_line(&d.flags))), "标记", 12.0);
    let columns: Vec<Column<'_>> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| Column {
            header: h,
            width: match i {
                0 => name_w,
                1 => 8.0,
                2 => 18.0,
                3 => 12.0,
                _ if h == "标记" => flags_w,
                _ if h == "延期至" => 12.0,
                _ => (report::width(h) as f64 + 2.0).max(6.0),
            },
        })
        .collect();
    let mut book = Workbook::new();
    let month = b.cycle.replace('-', "年");
    sheet(&mut book, &format!("{month}月报送情况"), &columns, &rows)?;
    save(&mut book, path)
}
