//! `score people --xlsx`: 个人积分, one row per person, and each scoring work.

use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::{Cell, Column, save, sheet};
use crate::score::people::{PersonScore, candidates};

/// `title` names the period ("2024年", "2024年第一季度").
pub fn write(ranked: &[PersonScore], shown: &[&PersonScore], title: &str, path: &Path) -> anyhow::Result<()> {
    let mut book = Workbook::new();
    let columns = [("排名", 6.0), ("姓名", 10.0), ("警号", 10.0), ("单位", 18.0), ("积分", 8.0), ("计入作品", 10.0), ("采用次数", 10.0)];
    let columns: Vec<Column<'_>> = columns.iter().map(|(h, w)| Column { header: h, width: *w }).collect();
    let row = |s: &PersonScore| {
        vec![
            Cell::int(s.rank as i64),
            Cell::text(&s.person.name),
            Cell::text(&s.person.number),
            Cell::text(&s.person.department),
            Cell::points(s.points.centi()),
            Cell::int(s.counted_works as i64),
            Cell::int(s.adoptions as i64),
        ]
    };
    let rows: Vec<Vec<Cell>> = shown.iter().map(|s| row(s)).collect();
    sheet(&mut book, &format!("{title}个人积分"), &columns, &rows)?;
    let works = [("姓名", 10.0), ("单位", 18.0), ("文件编号", 10.0), ("文件名", 30.0), ("采用日期", 12.0), ("采用级别", 10.0), ("合作人数", 10.0), ("得分", 8.0)];
    let works: Vec<Column<'_>> = works.iter().map(|(h, w)| Column { header: h, width: *w }).collect();
    let lines: Vec<Vec<Cell>> = shown
        .iter()
        .flat_map(|s| {
            s.works.iter().map(move |w| {
                vec![
                    Cell::text(&s.person.name),
                    Cell::text(&s.person.department),
                    Cell::int(w.item),
                    Cell::text(&w.name),
                    Cell::text(&w.date),
                    Cell::text(w.level.label()),
                    Cell::int(w.authors as i64),
                    Cell::Number(w.points.number(), 2),
                ]
            })
        })
        .collect();
    sheet(&mut book, "得分作品", &works, &lines)?;
    let top: Vec<Vec<Cell>> = candidates(ranked).into_iter().map(row).collect();
    sheet(&mut book, "优秀宣传员候选", &columns, &top)?;
    save(&mut book, path)
}
