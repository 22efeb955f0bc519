//! `export scores`: a totals sheet, then one sheet per section of the rubric with each
//! item's raw points and points after caps and floors.

use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::{Cell, Column, save, sheet};
use crate::report;
use crate::score::compute::Scores;
use crate::score::rubric::Rubric;
use crate::score::shown;

pub fn write(s: &Scores, rubric: &Rubric, path: &Path) -> anyhow::Result<()> {
    let mut book = Workbook::new();
    let name_w = super::width_for(s.departments.iter().map(|d| report::width(&d.department)), "单位", 14.0);

    let mut headers: Vec<String> = vec!["名次".into(), "单位".into()];
    headers.extend(rubric.sections.iter().map(|x| format!("{}（{}分）", x.name, shown(x.max))));
    headers.push(format!("总分（{}分）", shown(rubric.max())));
    let rows: Vec<Vec<Cell>> = s
        .departments
        .iter()
        .map(|d| {
            let mut row = vec![Cell::int(d.rank as i64), Cell::text(&d.department)];
            row.extend(d.sections.iter().map(|x| Cell::points(x.points)));
            row.push(Cell::points(d.total));
            row
        })
        .collect();
    sheet(&mut book, "总分", &columns(&headers, name_w), &rows)?;

    for section in &rubric.sections {
        let mut headers: Vec<String> = vec!["名次".into(), "单位".into()];
        for i in &section.items {
            headers.push(format!("{} 原始分", i.name));
            headers.push(format!("{} 得分（{}分）", i.name, shown(i.max)));
        }
        headers.push(format!("本节得分（{}分）", shown(section.max)));
        let rows: Vec<Vec<Cell>> = s
            .departments
            .iter()
            .map(|d| {
                let mut row = vec![Cell::int(d.rank as i64), Cell::text(&d.department)];
                for i in d.items.iter().filter(|i| i.section == section.name) {
                    row.push(Cell::points(i.raw));
                    row.push(Cell::points(i.points));
                }
                row.push(Cell::points(d.sections.iter().find(|x| x.section == section.name).map_or(0, |x| x.points)));
                row
            })
            .collect();
        sheet(&mut book, &section.name, &columns(&headers, name_w), &rows)?;
    }
    save(&mut book, path)
}

/// The columns of a score sheet: the department column as wide as its longest name,
/// the others as wide as their header.
fn columns(headers: &[String], name_w: f64) -> Vec<Column<'_>> {
    headers.iter().enumerate().map(|(i, h)| Column { header: h, width: if i == 1 { name_w } else { (report::width(h) as f64 + 2.0).max(8.0) } }).collect()
}
