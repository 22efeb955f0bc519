//! `export items`: every file of a month, one row each.

use std::collections::HashMap;
use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::{Cell, Column, save, sheet};
use crate::categories::Categories;
use crate::db::authors::Authors;
use crate::db::items::ListedItem;
use crate::rejection::Flag;
use crate::report;

/// `shown_time` of the configured time zone, passed in so this stays free of Config;
/// `authors` of the items that have any (the others are 未署名).
pub fn write(list: &[ListedItem], authors: &HashMap<i64, Authors>, categories: &Categories, shown_time: &dyn Fn(i64) -> String, path: &Path) -> anyhow::Result<()> {
    let headers = [
        ("编号", 8.0),
        ("邮件编号", 10.0),
        ("单位", 18.0),
        ("月份", 10.0),
        ("收到时间", 18.0),
        ("类别", 24.0),
        ("类型", 6.0),
        ("状态", 10.0),
        ("标记", 24.0),
        ("文件名", 36.0),
        ("大小（字节）", 14.0),
        ("宽（像素）", 12.0),
        ("高（像素）", 12.0),
        ("时长（秒）", 12.0),
        ("拍摄时间", 18.0),
        ("相似于编号", 12.0),
        ("拒收原因", 30.0),
        ("目录树路径", 50.0),
        ("作者", 16.0),
    ];
    let rows: Vec<Vec<Cell>> = list
        .iter()
        .map(|l| {
            let i = &l.item;
            let mut flags = Flag::parse_list(&i.flags);
            flags.extend(Flag::parse_list(&l.message_flags));
            flags.sort();
            flags.dedup();
            vec![
                Cell::int(i.id),
                Cell::int(i.message_ref),
                Cell::text(&l.department),
                Cell::text(&l.cycle),
                Cell::text(shown_time(l.received_at)),
                Cell::text(categories.label(i.category.parse().ok())),
                Cell::text(i.kind.label()),
                Cell::text(i.status.label()),
                Cell::text(flags.iter().map(|f| f.label()).collect::<Vec<_>>().join("、")),
                Cell::text(&i.shown_name),
                Cell::int(i.size),
                Cell::int(i.width),
                Cell::int(i.height),
                Cell::Number(i.duration_ms as f64 / 1000.0, 2),
                Cell::text(if i.captured_at != 0 { shown_time(i.captured_at) } else { String::new() }),
                if i.similar_to != 0 { Cell::int(i.similar_to) } else { Cell::text("") },
                Cell::text(&i.reason),
                Cell::text(&i.tree_path),
                Cell::text(match authors.get(&i.id) {
                    _ if i.sha256.is_empty() => String::new(),
                    Some(a) if !a.authors.is_empty() => a.names(),
                    _ => "未署名".into(),
                }),
            ]
        })
        .collect();
    let name_w = super::width_for(list.iter().map(|l| report::width(&l.item.shown_name)), "文件名", 20.0);
    let columns: Vec<Column<'_>> = headers.iter().map(|(h, w)| Column { header: h, width: if *h == "文件名" { name_w } else { *w } }).collect();
    let mut book = Workbook::new();
    sheet(&mut book, "文件清单", &columns, &rows)?;
    save(&mut book, path)
}
