//! The 通报 as a document: the template tongbao.txt (editable, as the mail templates
//! are) rendered with the numbers of `report::tongbao`, each line read as a block of the
//! Word document (`docx`) by its mark, or printed as text.

use super::docx::{Block, Column, Table};
use crate::report::tongbao::Tongbao;
use crate::report::{pad, width};
use crate::templates::Templates;

/// The template's file name (config/templates, or `notify.templates_dir`).
pub const TEMPLATE: &str = "tongbao.txt";

/// The 通报 as blocks, with the configured templates (`notify.templates_dir`), or the
/// shipped ones when there is no [notify].
pub fn document(t: &Tongbao, config: &crate::config::Config) -> anyhow::Result<Vec<Block>> {
    match &config.templates {
        Some(templates) => blocks(t, templates),
        None => blocks(t, &Templates::load(None).map_err(|e| anyhow::anyhow!("内置模板无法读取：{e}"))?),
    }
}

/// The 通报 as blocks: the template rendered, each line one block by its mark
/// (`# ` title, `## ` heading, `### ` subheading, `< ` flush left, `> ` right,
/// `[排名表]` the table, anything else a paragraph); empty lines are dropped.
pub fn blocks(t: &Tongbao, templates: &Templates) -> anyhow::Result<Vec<Block>> {
    let text = templates.render(TEMPLATE, t).map_err(|e| anyhow::anyhow!("通报模板 {TEMPLATE} 无法生成：{e}"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let rest = |mark: &str| l.strip_prefix(mark).map(|s| s.trim().to_string());
            if l == "[排名表]" {
                Block::Table(table(t))
            } else if let Some(s) = rest("### ") {
                Block::Subheading(s)
            } else if let Some(s) = rest("## ") {
                Block::Heading(s)
            } else if let Some(s) = rest("# ") {
                Block::Title(s)
            } else if let Some(s) = rest("< ") {
                Block::Flush(s)
            } else if let Some(s) = rest("> ") {
                Block::Right(s)
            } else {
                Block::Paragraph(l.to_string())
            }
        })
        .collect())
}

/// The ranking table: 名次, 单位, submissions, photos and videos, adoptions by level,
/// each section's points and the total. Widths fill the 156 mm between the margins, with room for
/// eight characters of a department's name in 8 pt and three of a section's.
pub fn table(t: &Tongbao) -> Table {
    let col = |title: &str, width_mm: u32| Column { title: title.to_string(), width_mm, left: false };
    let mut columns = vec![
        col("名次", 7),
        Column { left: true, ..col("单位", 24) },
        col("报送\n月数", 8),
        col("按时", 7),
        col("逾期", 7),
        col("未报", 7),
        col("照片", 8),
        col("视频", 7),
        col("旗局\n采用", 7),
        col("市局\n采用", 7),
        col("厅\n采用", 7),
    ];
    let each = (50 / t.sections.len().max(1) as u32).max(7);
    for (name, max) in &t.section_heads {
        columns.push(col(&format!("{name}\n{max}分"), each));
    }
    columns.push(col("总分", 10));
    let rows = t
        .rows
        .iter()
        .map(|r| {
            let mut cells = vec![r.rank.to_string(), r.department.clone()];
            cells.extend([r.reported, r.on_time, r.late, r.missing, r.photos, r.videos, r.banner, r.city, r.province].map(|n| n.to_string()));
            cells.extend(r.sections.iter().cloned());
            cells.push(r.total.clone());
            cells
        })
        .collect();
    Table { columns, rows }
}

/// The blocks as plain text, for the terminal: the title centred over 72 columns,
/// paragraphs indented two full-width spaces, the table in aligned columns.
pub fn text(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Title(s) => out += &format!("{}{s}\n\n", " ".repeat(72usize.saturating_sub(width(s)) / 2)),
            Block::Heading(s) | Block::Subheading(s) => out += &format!("\n　　{s}\n"),
            Block::Paragraph(s) => out += &format!("　　{s}\n"),
            Block::Flush(s) => out += &format!("{s}\n"),
            Block::Right(s) => out += &format!("{}{s}\n", " ".repeat(64usize.saturating_sub(width(s)))),
            Block::Table(t) => {
                let heads: Vec<String> = t.columns.iter().map(|c| c.title.replace('\n', "")).collect();
                let widths: Vec<usize> = heads
                    .iter()
                    .enumerate()
                    .map(|(i, h)| t.rows.iter().map(|r| r.get(i).map_or(0, |c| width(c))).chain([width(h)]).max().unwrap_or(0) + 2)
                    .collect();
                let line = |cells: &[String]| cells.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect::<String>().trim_end().to_string() + "\n";
                out += "\n";
                out += &line(&heads);
                for r in &t.rows {
                    out += &line(r);
                }
                out += "\n";
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tongbao::sample;

    #[test]
    fn the_template_marks_become_blocks_and_the_table_has_a_column_per_section() {
        let templates = Templates::load(None).unwrap();
        let t = sample();
        let b = blocks(&t, &templates).unwrap();
        assert_eq!(b[0], Block::Title("关于2024年第一季度全局新闻宣传工作完成情况的通报".into()));
        assert!(matches!(&b[1], Block::Flush(s) if s.ends_with("：")), "{:?}", b[1]);
        assert!(b.iter().any(|x| matches!(x, Block::Heading(s) if s.starts_with("一、"))));
        let Some(Block::Table(table)) = b.iter().find(|x| matches!(x, Block::Table(_))) else { panic!("no table in {b:?}") };
        assert_eq!(table.columns.len(), 11 + t.sections.len() + 1);
        assert_eq!(table.columns.iter().map(|c| c.width_mm).sum::<u32>(), 156 - 50 + 50 / 2 * 2, "156 mm, with five sections of 10 mm");
        assert_eq!(table.columns[11].title, "基础业务\n12分");
        assert_eq!(table.rows[1][1], "图克派出所");
        assert!(matches!(b.last(), Some(Block::Right(s)) if s == "2024年4月5日"), "{:?}", b.last());
        let shown = text(&b);
        assert!(shown.contains("图克派出所（2月）") && shown.contains("看守所（1月、2月）"), "{shown}");
        assert!(shown.contains("张三"), "a year-end 通报 lists the candidates: {shown}");
    }
}
