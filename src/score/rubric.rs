//! The year's 考核细则 as config (`config/rubric-2024.toml`): sections and items
//! with their maxima, points per adoption level or per event, whether an item adds up
//! to its cap or is deducted down to its floor, and the once-per-work rule. Parsed
//! raw, then validated once; errors name the key.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Centi, Level, centi, shown};
use crate::config_error::ConfigError;

/// The shipped rubric, used unless `[scoring] rubric` names another file.
pub const DEFAULT: &str = include_str!("../../config/rubric-2024.toml");
pub const DEFAULT_NAME: &str = "内置考核细则 rubric-2024.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRubric {
    year: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    once_per_work: bool,
    #[serde(default)]
    section: Vec<RawSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    name: String,
    max: f64,
    #[serde(default)]
    item: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    name: String,
    #[serde(default)]
    group: String,
    max: f64,
    mode: String,
    floor: Option<f64>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    any_points: bool,
    double_when: Option<String>,
    #[serde(default)]
    months: Vec<i64>,
    #[serde(default)]
    once_per_month: bool,
    adoption: Option<RawAdoption>,
    #[serde(default)]
    adoption_categories: Vec<String>,
    #[serde(default)]
    rule: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: String,
    points: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdoption {
    banner: Option<f64>,
    city: Option<f64>,
    province: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Starts at 0 and rises to `max`.
    Add,
    /// Starts at `max` and is reduced, never below `floor`.
    Deduct,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub points: Centi,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub section: String,
    pub name: String,
    pub group: String,
    pub max: Centi,
    pub mode: Mode,
    pub floor: Centi,
    pub events: Vec<Event>,
    pub any_points: bool,
    pub double_when: Option<String>,
    pub months: Vec<u32>,
    pub once_per_month: bool,
    /// Points per adoption level; a level not listed scores nothing here.
    pub adoption: BTreeMap<Level, Centi>,
    pub adoption_categories: Vec<String>,
    pub rule: String,
}

impl Item {
    /// Whether entries can be made by hand (`score add`).
    pub fn takes_entries(&self) -> bool {
        !self.events.is_empty() || self.any_points
    }

    /// The values `score add` accepts, "0.2（被市局采纳）、0.3（被公安厅采纳）".
    pub fn accepted(&self) -> String {
        if self.any_points {
            return format!("大于 0、不超过 {} 的分值（最多两位小数）", shown(self.max));
        }
        self.events.iter().map(|e| format!("{}（{}）", shown(e.points), e.name)).collect::<Vec<_>>().join("、")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub name: String,
    pub max: Centi,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rubric {
    /// Where it came from, for messages.
    pub origin: String,
    pub year: i32,
    pub title: String,
    pub once_per_work: bool,
    pub sections: Vec<Section>,
}

/// Every category code a work can have.
pub const CATEGORIES: [&str; 11] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "uncategorized"];

impl Rubric {
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    /// The item called `name`, written as in the seed or without its punctuation and
    /// spaces ("图片、视频报送" is 图片视频报送).
    pub fn item(&self, name: &str) -> Option<&Item> {
        let bare = |s: &str| s.chars().filter(|c| !c.is_whitespace() && !"、，,。．.（）()“”\"".contains(*c)).collect::<String>();
        let name = bare(name);
        self.items().find(|i| bare(&i.name) == name)
    }

    /// The item an adopted work of `category` scores under.
    pub fn adoption_item(&self, category: &str) -> Option<&Item> {
        self.items().find(|i| i.adoption_categories.iter().any(|c| c == category))
    }

    pub fn max(&self) -> Centi {
        self.sections.iter().map(|s| s.max).sum()
    }

    /// Validates `raw`, read from `file`.
    pub fn from_raw(file: &str, raw: RawRubric) -> Result<Rubric, ConfigError> {
        if !(2000..=2100).contains(&raw.year) {
            return Err(ConfigError::new(file, "year", format!("{} 不是有效的年度", raw.year), "写考核年度，例如 year = 2024"));
        }
        if raw.section.is_empty() {
            return Err(ConfigError::new(file, "section", "没有任何考核内容", "至少写一个 [[section]]，每节下写 [[section.item]]"));
        }
        let mut seen = Seen::default();
        let sections = raw.section.into_iter().enumerate().map(|(si, s)| section(file, si, s, &mut seen)).collect::<Result<Vec<_>, _>>()?;
        if !seen.categories.is_empty() {
            if let Some(missing) = CATEGORIES.iter().find(|c| !seen.categories.contains_key(**c)) {
                return Err(ConfigError::new(
                    file,
                    "section",
                    format!("类别 \"{missing}\" 的作品被采用时不知道计入哪一项"),
                    "在某个按采用计分的项目的 adoption_categories 中加上它",
                ));
            }
        }
        Ok(Rubric { origin: file.to_string(), year: raw.year as i32, title: raw.title, once_per_work: raw.once_per_work, sections })
    }
}

/// What the items validated so far have taken, across sections: their names, and
/// which item each adoption category counts toward.
#[derive(Default)]
struct Seen {
    names: Vec<String>,
    categories: BTreeMap<String, String>,
}

/// Where a fault is, for the items' checks: the file, the item's key
/// ("section[0].item[2]") and how the problem names the item (项目「矩阵响应」).
struct At<'a> {
    file: &'a str,
    key: String,
    what: String,
}

impl At<'_> {
    fn err(&self, key: String, problem: String, fix: &str) -> ConfigError {
        ConfigError::new(self.file, &key, problem, fix)
    }

    fn points(&self, key: String, v: f64) -> Result<Centi, ConfigError> {
        points(self.file, key, v)
    }
}

fn points(file: &str, key: String, v: f64) -> Result<Centi, ConfigError> {
    centi(v).ok_or_else(|| ConfigError::new(file, &key, format!("分值 {v} 最多只能有两位小数"), "写成 0.2、7 这样的分值"))
}

/// Section `si`: its name, its maximum, its items, and that the items' maxima add up to it.
fn section(file: &str, si: usize, s: RawSection, seen: &mut Seen) -> Result<Section, ConfigError> {
    let err = |key: String, problem: String, fix: &str| ConfigError::new(file, &key, problem, fix);
    let sk = format!("section[{si}]");
    let sname = s.name.trim().to_string();
    if sname.is_empty() {
        return Err(err(format!("{sk}.name"), format!("第 {} 节没有名称", si + 1), "写上细则中的名称，如 name = \"基础业务\""));
    }
    let smax = points(file, format!("{sk}.max"), s.max)?;
    if smax <= 0 {
        return Err(err(format!("{sk}.max"), format!("「{sname}」的满分必须大于 0"), "写细则中本节的满分，如 max = 12"));
    }
    if s.item.is_empty() {
        return Err(err(format!("{sk}.item"), format!("「{sname}」下没有考核项目"), "在本节下写 [[section.item]]"));
    }
    let items = s.item.into_iter().enumerate().map(|(ii, r)| item(file, &sk, &sname, ii, r, seen)).collect::<Result<Vec<_>, _>>()?;
    let sum: Centi = items.iter().map(|i| i.max).sum();
    if sum != smax {
        return Err(err(format!("{sk}.max"), format!("「{sname}」满分 {}，但其中各项满分之和为 {}", shown(smax), shown(sum)), "核对细则，使本节满分等于各项满分之和"));
    }
    Ok(Section { name: sname, max: smax, items })
}

/// Item `ii` of section `sname` (key `sk`), checked field by field in the order they
/// are written in the seed.
fn item(file: &str, sk: &str, sname: &str, ii: usize, r: RawItem, seen: &mut Seen) -> Result<Item, ConfigError> {
    let k = format!("{sk}.item[{ii}]");
    let name = r.name.trim().to_string();
    let at = At { file, key: k.clone(), what: format!("「{sname}」第 {} 项", ii + 1) };
    if name.is_empty() {
        let what = &at.what;
        return Err(at.err(format!("{k}.name"), format!("{what}没有名称"), "写上项目名称，如 name = \"矩阵响应\""));
    }
    if seen.names.contains(&name) {
        return Err(at.err(format!("{k}.name"), format!("项目名称「{name}」重复"), "每个项目的名称在整个细则中只能出现一次（score add 的 --item 按名称找项目）"));
    }
    seen.names.push(name.clone());
    let at = At { what: format!("项目「{name}」"), ..at };
    let what = &at.what;
    let max = at.points(format!("{k}.max"), r.max)?;
    if max <= 0 {
        return Err(at.err(format!("{k}.max"), format!("{what}的满分必须大于 0"), "写细则中本项的满分，如 max = 2"));
    }
    let mode = mode(&at, &r.mode)?;
    let floor = floor(&at, mode, r.floor, max)?;
    let events = events(&at, mode, max, &r.events)?;
    if r.any_points && mode == Mode::Deduct {
        return Err(at.err(format!("{k}.any_points"), format!("{what}是扣分项，不能写 any_points"), "扣分项在 events 中写出每种情形的分值"));
    }
    if r.any_points && !events.is_empty() {
        return Err(at.err(format!("{k}.any_points"), format!("{what}同时写了 events 和 any_points"), "二选一：按情形计分写 events，按上级赋分逐笔登记写 any_points = true"));
    }
    let months = months(&at, &r.months)?;
    if r.once_per_month && months.is_empty() && events.is_empty() {
        return Err(at.err(format!("{k}.once_per_month"), format!("{what}不能手工登记，once_per_month 没有意义"), "删去 once_per_month"));
    }
    if let Some(d) = &r.double_when {
        if events.is_empty() || d.trim().is_empty() {
            return Err(at.err(format!("{k}.double_when"), format!("{what}的翻倍情形写法不对"), "在有 events 的项目中写翻倍的情形，如 double_when = \"引发负面舆情\""));
        }
    }
    let adoption = adoption(&at, mode, max, r.adoption.as_ref(), &r.adoption_categories)?;
    adoption_categories(&at, &name, &r.adoption_categories, &mut seen.categories)?;
    if events.is_empty() && !r.any_points && adoption.is_empty() && mode == Mode::Add {
        return Err(at.err(k.clone(), format!("{what}没有任何得分来源"), "写 events（手工登记的情形和分值）、any_points = true 或 adoption（按采用计分）"));
    }
    Ok(Item {
        section: sname.to_string(),
        name,
        group: r.group.trim().to_string(),
        max,
        mode,
        floor,
        events,
        any_points: r.any_points,
        double_when: r.double_when.map(|d| d.trim().to_string()),
        months,
        once_per_month: r.once_per_month,
        adoption,
        adoption_categories: r.adoption_categories,
        rule: r.rule,
    })
}

fn mode(at: &At, mode: &str) -> Result<Mode, ConfigError> {
    let (k, what) = (&at.key, &at.what);
    match mode {
        "add" => Ok(Mode::Add),
        "deduct" => Ok(Mode::Deduct),
        other => Err(at.err(
            format!("{k}.mode"),
            format!("{what}的计分方式 \"{other}\" 无法识别"),
            "写 \"add\"（从 0 分加起，加到满分为止）或 \"deduct\"（从满分扣起，扣到 floor 为止）",
        )),
    }
}

/// The lowest an item can fall to: 0 for an addition item (which may not write
/// `floor`), the written `floor` below `max` for a deduction item (which must).
fn floor(at: &At, mode: Mode, floor: Option<f64>, max: Centi) -> Result<Centi, ConfigError> {
    let (k, what) = (&at.key, &at.what);
    match (mode, floor) {
        (Mode::Add, Some(_)) => Err(at.err(format!("{k}.floor"), format!("{what}是加分项（mode = \"add\"），不能写 floor"), "删去 floor；加分项从 0 分起，最多加到 max")),
        (Mode::Add, None) => Ok(0),
        (Mode::Deduct, None) => Err(at.err(format!("{k}.mode"), format!("{what}是扣分项（mode = \"deduct\"），没有写最低分 floor"), "写 floor = 0（扣完为止）")),
        (Mode::Deduct, Some(f)) => {
            let f = at.points(format!("{k}.floor"), f)?;
            if f < 0 || f >= max {
                return Err(at.err(format!("{k}.floor"), format!("{what}的最低分 {} 应不小于 0、小于满分 {}", shown(f), shown(max)), "扣完为止写 floor = 0"));
            }
            Ok(f)
        }
    }
}

/// The events an entry can be made for: positive points for an addition item,
/// negative for a deduction item, never more than `max` either way.
fn events(at: &At, mode: Mode, max: Centi, raw: &[RawEvent]) -> Result<Vec<Event>, ConfigError> {
    let (k, what) = (&at.key, &at.what);
    let mut events = Vec::new();
    for (ei, e) in raw.iter().enumerate() {
        let ek = format!("{k}.events[{ei}]");
        let p = at.points(format!("{ek}.points"), e.points)?;
        let ok = match mode {
            Mode::Add => p > 0 && p <= max,
            Mode::Deduct => p < 0 && -p <= max,
        };
        if !ok {
            let fix = if mode == Mode::Add { "加分项的分值写正数，且不超过本项满分" } else { "扣分项的分值写负数（如 -0.2），且扣分不超过本项满分" };
            return Err(at.err(format!("{ek}.points"), format!("{what}的情形「{}」分值 {} 不合适", e.name, shown(p)), fix));
        }
        if e.name.trim().is_empty() {
            return Err(at.err(format!("{ek}.name"), format!("{what}第 {} 个情形没有名称", ei + 1), "写上细则中的情形，如 name = \"被市局采纳\""));
        }
        events.push(Event { name: e.name.trim().to_string(), points: p });
    }
    Ok(events)
}

fn months(at: &At, raw: &[i64]) -> Result<Vec<u32>, ConfigError> {
    let (k, what) = (&at.key, &at.what);
    let mut months = Vec::new();
    for (mi, m) in raw.iter().enumerate() {
        if !(1..=12).contains(m) {
            return Err(at.err(format!("{k}.months[{mi}]"), format!("{what}的月份 {m} 无效"), "写 1 到 12 的月份，如 months = [3, 4, 5, 6, 7, 8]"));
        }
        months.push(*m as u32);
    }
    Ok(months)
}

/// Points per adoption level, for an addition item that scores adoptions: each
/// above 0 and at most `max`, at least one level, and the categories it takes.
fn adoption(at: &At, mode: Mode, max: Centi, raw: Option<&RawAdoption>, categories: &[String]) -> Result<BTreeMap<Level, Centi>, ConfigError> {
    let (k, what) = (&at.key, &at.what);
    let mut adoption = BTreeMap::new();
    let Some(a) = raw else {
        if !categories.is_empty() {
            return Err(at.err(format!("{k}.adoption_categories"), format!("{what}写了 adoption_categories，但没有写 adoption 分值"), "写 adoption = { … }，或删去 adoption_categories"));
        }
        return Ok(adoption);
    };
    if mode == Mode::Deduct {
        return Err(at.err(format!("{k}.adoption"), format!("{what}是扣分项，不能按采用计分"), "把 adoption 写在加分项中"));
    }
    for (level, v) in [(Level::Banner, a.banner), (Level::City, a.city), (Level::Province, a.province)] {
        if let Some(v) = v {
            let p = at.points(format!("{k}.adoption.{}", level.code()), v)?;
            if p <= 0 || p > max {
                return Err(at.err(format!("{k}.adoption.{}", level.code()), format!("{what}的{}采用分值 {} 不合适", level.label(), shown(p)), "写大于 0、不超过本项满分的分值"));
            }
            adoption.insert(level, p);
        }
    }
    if adoption.is_empty() {
        return Err(at.err(format!("{k}.adoption"), format!("{what}的 adoption 没有写任何级别"), "写 adoption = { banner = 0.1, city = 0.2, province = 0.3 }"));
    }
    if categories.is_empty() {
        return Err(at.err(format!("{k}.adoption_categories"), format!("{what}按采用计分，但没有写哪些类别的作品计入本项"), "写 adoption_categories = [\"1\", \"2\", …]（\"1\"–\"10\" 或 \"uncategorized\"）"));
    }
    Ok(adoption)
}

/// Claims each of item `name`'s adoption categories in `taken` (category → item):
/// a valid code, and no other item's.
fn adoption_categories(at: &At, name: &str, categories: &[String], taken: &mut BTreeMap<String, String>) -> Result<(), ConfigError> {
    let (k, what) = (&at.key, &at.what);
    for (ci, c) in categories.iter().enumerate() {
        if !CATEGORIES.contains(&c.as_str()) {
            return Err(at.err(format!("{k}.adoption_categories[{ci}]"), format!("{what}的类别 \"{c}\" 无效"), "写 \"1\" 到 \"10\" 或 \"uncategorized\""));
        }
        if let Some(other) = taken.insert(c.clone(), name.to_string()) {
            return Err(at.err(format!("{k}.adoption_categories[{ci}]"), format!("类别 \"{c}\" 已计入项目「{other}」"), "每个类别的作品只能计入一个项目：从其中一项删去"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Rubric, ConfigError> {
        let raw: RawRubric = toml::from_str(text).map_err(|e| ConfigError::new("t", "", e.to_string(), ""))?;
        Rubric::from_raw("t", raw)
    }

    #[test]
    fn the_shipped_rubric_is_the_seeds_whole_table() {
        let r = parse(DEFAULT).unwrap();
        assert_eq!(r.year, 2024);
        assert!(r.once_per_work);
        let sections: Vec<(&str, Centi)> = r.sections.iter().map(|s| (s.name.as_str(), s.max)).collect();
        assert_eq!(sections, [("基础业务", 1200), ("政务新媒体", 100), ("典型选树", 300), ("公安文化", 200), ("外宣刊稿", 1000)]);
        assert_eq!(r.max(), 2800);
        let photo = r.item("图片视频报送").unwrap();
        assert_eq!((photo.max, photo.mode), (700, Mode::Add));
        assert_eq!(photo.adoption.get(&Level::Banner), Some(&10));
        assert_eq!(photo.adoption.get(&Level::Province), Some(&30));
        assert_eq!(r.adoption_item("10").unwrap().name, "市局矩阵策划");
        assert_eq!(r.adoption_item("uncategorized").unwrap().name, "图片视频报送");
        let matrix = r.item("矩阵响应").unwrap();
        assert_eq!((matrix.mode, matrix.floor, matrix.max), (Mode::Deduct, 0, 200));
        assert_eq!(r.item("政务新媒体").unwrap().double_when.as_deref(), Some("引发负面舆情"));
        assert_eq!(r.item("典型选树").unwrap().months, [3, 4, 5, 6, 7, 8]);
        assert!(r.item("外宣刊稿").unwrap().any_points);
        assert_eq!(r.item(" 图片、视频报送 ").unwrap().name, "图片视频报送");
        assert!(r.item("公安文化").is_none(), "a section of two items is not an item");
    }

    #[test]
    fn errors_name_the_key() {
        let bad = DEFAULT.replace("max = 7\n", "max = 6\n");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.key, "section[0].max");
        assert!(e.problem.contains("各项满分之和为 11.00"), "{}", e.problem);
        let bad = DEFAULT.replace("mode = \"deduct\"\nfloor = 0\nevents = [{ name = \"转发", "mode = \"minus\"\nfloor = 0\nevents = [{ name = \"转发");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.key, "section[0].item[2].mode");
        let bad = DEFAULT.replace("adoption_categories = [\"10\"]", "adoption_categories = [\"9\"]");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.key, "section[0].item[1].adoption_categories[8]");
        assert!(e.problem.contains("已计入项目「市局矩阵策划」"), "{}", e.problem);
        let bad = DEFAULT.replace("points = -0.5", "points = 0.5");
        assert_eq!(parse(&bad).unwrap_err().key, "section[2].item[0].events[0].points");
    }
}
