//! Spreadsheets for the office's Excel/WPS habit: the monthly board, the files of a
//! month and the year's scores; and Word documents (`docx`, the 通报). Chinese headers, set column widths, a frozen header
//! row, and numbers written as numbers (no formulas: rust_xlsxwriter does not compute
//! them, and a formula cell would read back as 0).

pub mod board;
pub mod docx;
pub mod items;
pub mod people;
pub mod scores;
pub mod tongbao;

use std::path::Path;

use anyhow::Context;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

/// A column: its header, and its width in Excel's character units.
pub struct Column<'a> {
    pub header: &'a str,
    pub width: f64,
}

/// A cell of a data row.
pub enum Cell {
    Text(String),
    /// Written as a number; `decimals` picks the display format (0 or 2).
    Number(f64, u8),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn int(n: i64) -> Cell {
        Cell::Number(n as f64, 0)
    }

    /// Points, shown with two decimals.
    pub fn points(c: crate::score::Centi) -> Cell {
        Cell::Number(crate::score::number(c), 2)
    }
}

/// Adds a sheet called `name` with a bold, frozen header row and the rows under it.
pub fn sheet(book: &mut Workbook, name: &str, columns: &[Column<'_>], rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    let header = Format::new().set_bold().set_background_color("#DDEBF7").set_border(rust_xlsxwriter::FormatBorder::Thin);
    let two = Format::new().set_num_format("0.00");
    let whole = Format::new().set_num_format("0");
    let ws: &mut Worksheet = book.add_worksheet();
    ws.set_name(name).with_context(|| format!("工作表名「{name}」不可用"))?;
    for (c, col) in columns.iter().enumerate() {
        let c = c as u16;
        ws.write_string_with_format(0, c, col.header, &header)?;
        ws.set_column_width(c, col.width)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    ws.write_string(r, c, s)?;
                }
                Cell::Number(n, 0) => {
                    ws.write_number_with_format(r, c, *n, &whole)?;
                }
                Cell::Number(n, _) => {
                    ws.write_number_with_format(r, c, *n, &two)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Saves `book` to `path`, saying in Chinese where it could not be written.
pub fn save(book: &mut Workbook, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("无法创建目录 {}", dir.display()))?;
    }
    book.save(path).with_context(|| format!("无法写入 {}（文件是否正被 Excel 或 WPS 打开？）", path.display()))?;
    Ok(())
}

/// A width for text: CJK characters count two.
pub fn width_for(texts: impl Iterator<Item = usize>, header: &str, min: f64) -> f64 {
    let w = texts.chain(std::iter::once(crate::report::width(header))).max().unwrap_or(0) as f64 + 2.0;
    w.clamp(min, 60.0)
}
