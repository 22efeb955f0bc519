//! A Word document (.docx) laid out as a government notice (GB/T 9704): A4, margins
//! top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; the title in 方正小标宋简体 2号,
//! body text in 仿宋_GB2312 3号 on a fixed 28-point line, headings in 黑体 and
//! 楷体_GB2312, tables in 仿宋_GB2312 8 pt, page numbers "— 1 —" at the foot. Every run
//! names its font for w:eastAsia as well as w:ascii/w:hAnsi, which is what Word and WPS
//! read for Chinese text. The document is a list of blocks; what they say is decided
//! elsewhere (report::tongbao).

mod package;

/// One block of the document, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// 小标宋 2号, centred.
    Title(String),
    /// Flush left, no indent: the addressees (主送机关).
    Flush(String),
    /// 黑体 3号: 一、…
    Heading(String),
    /// 楷体_GB2312 3号: （一）…
    Subheading(String),
    /// 仿宋_GB2312 3号, first line indented two characters.
    Paragraph(String),
    /// Right-aligned, four characters in from the margin: the issuing office and date.
    Right(String),
    Table(Table),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: String,
    pub width_mm: u32,
    /// Left-aligned (names); numbers are centred.
    pub left: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

/// Font names as Word and WPS know them.
pub const TITLE_FONT: &str = "方正小标宋简体";
pub const BODY_FONT: &str = "仿宋_GB2312";
pub const HEADING_FONT: &str = "黑体";
pub const SUBHEADING_FONT: &str = "楷体_GB2312";
pub const PAGE_NUMBER_FONT: &str = "宋体";

/// Page and margins in millimetres: A4, GB/T 9704's 37/35/28/26.
pub const PAGE_MM: (u32, u32) = (210, 297);
pub const MARGINS_MM: Margins = Margins { top: 37, bottom: 35, left: 28, right: 26 };

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margins {
    pub top: u32,
    pub bottom: u32,
    pub left: u32,
    pub right: u32,
}

/// Writes the document to `path`.
pub fn write(blocks: &[Block], path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = bytes(blocks)?;
    std::fs::write(path, bytes).map_err(|e| anyhow::anyhow!("无法写入 {}：{e}", path.display()))
}

/// The .docx file's bytes.
pub fn bytes(blocks: &[Block]) -> std::io::Result<Vec<u8>> {
    package::zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
        ("_rels/.rels", RELS.as_bytes().to_vec()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.as_bytes().to_vec()),
        ("word/styles.xml", styles().into_bytes()),
        ("word/footer1.xml", footer().into_bytes()),
        ("word/document.xml", document(blocks).into_bytes()),
    ])
}

/// Twentieths of a point in `mm` millimetres.
pub fn twips(mm: u32) -> u32 {
    (mm as f64 * 1440.0 / 25.4).round() as u32
}

const NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/></Types>"#;

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/></Relationships>"#;

/// Run properties: the font for every script, the size in points, and Chinese as the
/// East Asian language (so that a renderer picks simplified Chinese glyphs).
fn run_props(font: &str, points: u32, bold: bool) -> String {
    let half = points * 2;
    let b = if bold { "<w:b/><w:bCs/>" } else { "" };
    format!(r#"<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}" w:cs="{font}" w:hint="eastAsia"/>{b}<w:sz w:val="{half}"/><w:szCs w:val="{half}"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr>"#)
}

fn run(text: &str, font: &str, points: u32, bold: bool) -> String {
    format!(r#"<w:r>{}<w:t xml:space="preserve">{}</w:t></w:r>"#, run_props(font, points, bold), escape(text))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Body paragraphs: a fixed 28-point line, as GB/T 9704's 22 lines to a page; no
/// punctuation hanging past the right margin (LibreOffice hangs a line-end "，" otherwise).
const LINE: &str = r#"<w:overflowPunct w:val="0"/><w:spacing w:before="0" w:after="0" w:line="560" w:lineRule="exact"/>"#;
/// Two characters of 3号 (16 pt).
const INDENT: &str = r#"<w:ind w:firstLineChars="200" w:firstLine="640"/>"#;

fn paragraph(props: &str, text: &str, font: &str, points: u32) -> String {
    format!("<w:p><w:pPr>{props}{}</w:pPr>{}</w:p>", run_props(font, points, false), run(text, font, points, false))
}

fn block(b: &Block) -> String {
    match b {
        Block::Title(t) => {
            let props = r#"<w:spacing w:before="0" w:after="560" w:line="700" w:lineRule="exact"/><w:jc w:val="center"/>"#;
            paragraph(props, t, TITLE_FONT, 22)
        }
        Block::Flush(t) => paragraph(&format!(r#"{LINE}<w:jc w:val="both"/>"#), t, BODY_FONT, 16),
        Block::Heading(t) => paragraph(&format!(r#"<w:keepNext/>{LINE}{INDENT}<w:jc w:val="both"/>"#), t, HEADING_FONT, 16),
        Block::Subheading(t) => paragraph(&format!(r#"<w:keepNext/>{LINE}{INDENT}<w:jc w:val="both"/>"#), t, SUBHEADING_FONT, 16),
        Block::Paragraph(t) => paragraph(&format!(r#"{LINE}{INDENT}<w:jc w:val="both"/>"#), t, BODY_FONT, 16),
        Block::Right(t) => paragraph(&format!(r#"{LINE}<w:ind w:right="1280"/><w:jc w:val="right"/>"#), t, BODY_FONT, 16),
        Block::Table(t) => table(t),
    }
}

/// A table in 仿宋_GB2312 8 pt (eight characters of a name in 26 mm) with single borders; its header row, in 黑体,
/// repeats on every page.
fn table(t: &Table) -> String {
    let widths: Vec<u32> = t.columns.iter().map(|c| twips(c.width_mm)).collect();
    let grid: String = widths.iter().map(|w| format!(r#"<w:gridCol w:w="{w}"/>"#)).collect();
    let border = |side: &str| format!(r#"<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>"#);
    let borders: String = ["top", "left", "bottom", "right", "insideH", "insideV"].iter().map(|s| border(s)).collect();
    let cell = |text: &str, width: u32, left: bool, header: bool| {
        let jc = if left && !header { "left" } else { "center" };
        let font = if header { HEADING_FONT } else { BODY_FONT };
        let lines: String = text
            .split('\n')
            .map(|line| {
                format!(r#"<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="240" w:lineRule="auto"/><w:jc w:val="{jc}"/>{}</w:pPr>{}</w:p>"#, run_props(font, 8, false), run(line, font, 8, false))
            })
            .collect();
        format!(r#"<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>{lines}</w:tc>"#)
    };
    let mut xml = format!(
        r#"<w:tbl><w:tblPr><w:tblW w:w="{}" w:type="dxa"/><w:jc w:val="center"/><w:tblBorders>{borders}</w:tblBorders><w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="28" w:type="dxa"/><w:right w:w="28" w:type="dxa"/></w:tblCellMar></w:tblPr><w:tblGrid>{grid}</w:tblGrid>"#,
        widths.iter().sum::<u32>()
    );
    xml += r#"<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>"#;
    for (c, w) in t.columns.iter().zip(&widths) {
        xml += &cell(&c.title, *w, c.left, true);
    }
    xml += "</w:tr>";
    for row in &t.rows {
        xml += r#"<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="397"/></w:trPr>"#;
        for ((text, c), w) in row.iter().zip(&t.columns).zip(&widths) {
            xml += &cell(text, *w, c.left, false);
        }
        xml += "</w:tr>";
    }
    xml + "</w:tbl>"
}

fn document(blocks: &[Block]) -> String {
    let body: String = blocks.iter().map(block).collect();
    let m = MARGINS_MM;
    let sect = format!(
        r#"<w:sectPr><w:footerReference w:type="default" r:id="rId2"/><w:pgSz w:w="{}" w:h="{}"/><w:pgMar w:top="{}" w:right="{}" w:bottom="{}" w:left="{}" w:header="851" w:footer="{}" w:gutter="0"/></w:sectPr>"#,
        twips(PAGE_MM.0),
        twips(PAGE_MM.1),
        twips(m.top),
        twips(m.right),
        twips(m.bottom),
        twips(m.left),
        // The page number sits 7 mm below the text block (GB/T 9704 7.5).
        twips(m.bottom - 7 - 5),
    );
    // A table may not end the body: Word wants a paragraph before the section's properties.
    format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {NS}><w:body>{body}<w:p/>{sect}</w:body></w:document>"#)
}

/// "— 1 —" centred, in 宋体 4号 (14 pt).
fn footer() -> String {
    let props = run_props(PAGE_NUMBER_FONT, 14, false);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:ftr {NS}><w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r>{props}<w:t xml:space="preserve">— </w:t></w:r><w:r>{props}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{props}<w:instrText xml:space="preserve"> PAGE </w:instrText></w:r><w:r>{props}<w:fldChar w:fldCharType="separate"/></w:r><w:r>{props}<w:t>1</w:t></w:r><w:r>{props}<w:fldChar w:fldCharType="end"/></w:r><w:r>{props}<w:t xml:space="preserve"> —</w:t></w:r></w:p></w:ftr>"#
    )
}

/// Defaults for anything typed into the document later: 仿宋_GB2312 3号, Chinese.
fn styles() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles {NS}><w:docDefaults><w:rPrDefault>{}</w:rPrDefault><w:pPrDefault><w:pPr>{LINE}</w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/><w:pPr><w:jc w:val="both"/></w:pPr></w:style></w:styles>"#,
        run_props(BODY_FONT, 16, false)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_and_margins_are_gb_t_9704_in_twips() {
        let xml = document(&[Block::Title("关于".into())]);
        assert!(xml.contains(r#"<w:pgSz w:w="11906" w:h="16838"/>"#), "{xml}");
        assert!(xml.contains(r#"<w:pgMar w:top="2098" w:right="1474" w:bottom="1984" w:left="1587""#), "{xml}");
    }

    #[test]
    fn every_run_names_its_east_asian_font_and_text_is_escaped() {
        let xml = document(&[
            Block::Title("关于<通报>".into()),
            Block::Heading("一、总体".into()),
            Block::Subheading("（一）逾期".into()),
            Block::Paragraph("A&B".into()),
        ]);
        for (font, size) in [(TITLE_FONT, 44), (HEADING_FONT, 32), (SUBHEADING_FONT, 32), (BODY_FONT, 32)] {
            assert!(xml.contains(&format!(r#"w:eastAsia="{font}""#)), "{font}");
            assert!(xml.contains(&format!(r#"w:eastAsia="{font}" w:cs="{font}" w:hint="eastAsia"/><w:sz w:val="{size}"/>"#)), "{font} {size}");
        }
        assert!(xml.contains("关于&lt;通报&gt;") && xml.contains("A&amp;B"));
        assert_eq!(xml.matches("<w:r><w:rPr><w:rFonts ").count(), xml.matches("<w:r>").count(), "each run names its fonts");
        assert_eq!(xml.matches(r#"<w:lang w:val="en-US" w:eastAsia="zh-CN"/>"#).count(), 2 * xml.matches("<w:r>").count(), "runs and paragraph marks are Chinese");
    }
}
