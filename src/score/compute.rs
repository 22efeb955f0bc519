//! Pure: every department's points under a rubric, from adoptions and ledger entries.
//! A work (or an entry's named work) scores once in the year, at its highest value;
//! items add up to their cap or are deducted down to their floor; sections are capped
//! at their maximum; departments are ranked by total. No database, no clock.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::rubric::{Mode, Rubric};
use super::{Centi, Level, shown};

/// One recorded adoption, with its work's department and category.
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionFact {
    pub id: i64,
    /// The adopted file, and the original work it resolves to.
    pub item: i64,
    pub work: i64,
    pub department: String,
    pub category: String,
    pub level: Level,
    /// YYYY-MM-DD
    pub date: String,
    pub name: String,
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryFact {
    pub id: i64,
    pub department: String,
    pub item: String,
    /// As entered, hundredths.
    pub points: Centi,
    pub doubled: bool,
    pub date: String,
    /// A work, article or honour named on the entry ('' for none); "#12" is the work
    /// of file 12, the same key adoptions of that work use.
    pub work: String,
    pub note: String,
}

/// The period asked for: a year, or one month of it ("2024-04").
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub year: i32,
    pub month: Option<u32>,
}

impl Period {
    fn holds(&self, date: &str) -> bool {
        let year_ok = date.get(0..4).and_then(|y| y.parse::<i32>().ok()) == Some(self.year);
        let month_ok = match self.month {
            None => true,
            Some(m) => date.get(5..7).and_then(|x| x.parse::<u32>().ok()) == Some(m),
        };
        year_ok && month_ok
    }
}

/// Where a line's points come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Adoption { id: i64, item: i64, work: i64, level: &'static str },
    Entry { id: i64 },
}

/// One adoption or entry behind a department's numbers, and what it added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub source: Source,
    pub section: String,
    pub item: String,
    pub date: String,
    /// What it is worth by the rubric (doubling applied).
    #[serde(skip)]
    pub value: Centi,
    /// What it adds to the item's raw points (0 when another line of the same work counts).
    #[serde(skip)]
    pub counted: Centi,
    /// In Chinese: what it is and why it counts as it does.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemScore {
    pub section: String,
    pub item: String,
    /// The sum of counted lines; for a deduction item, its maximum plus the deductions.
    pub raw: Centi,
    /// After the cap (addition items) or the floor (deduction items).
    pub points: Centi,
    pub max: Centi,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SectionScore {
    pub section: String,
    pub points: Centi,
    pub max: Centi,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentScore {
    pub department: String,
    /// 1 for the highest total; equal totals share a rank.
    pub rank: usize,
    pub total: Centi,
    pub items: Vec<ItemScore>,
    pub sections: Vec<SectionScore>,
    /// Lines in the period, in date order.
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub year: i32,
    pub month: Option<u32>,
    pub max: Centi,
    pub departments: Vec<DepartmentScore>,
}

/// A line before the once-per-work rule.
struct Candidate {
    department: String,
    item: Option<(String, String)>,
    work: Option<String>,
    date: String,
    /// Adoptions before entries on a tie, then by id.
    order: (u8, i64),
    line: Line,
}

/// Scores of `departments` (roster order; departments found only in the data follow)
/// from a year's adoptions and entries, for `period`. The once-per-work rule looks at
/// the whole year: the line that counts for a work is its highest, and a month shows
/// it when that line is dated in the month.
pub fn compute(rubric: &Rubric, departments: &[String], adoptions: &[AdoptionFact], entries: &[EntryFact], period: &Period) -> Scores {
    let in_year = Period { year: period.year, month: None };
    let mut candidates: Vec<Candidate> = adoptions.iter().filter(|a| in_year.holds(&a.date)).map(|a| adoption_line(rubric, a)).collect();
    candidates.extend(entries.iter().filter(|e| in_year.holds(&e.date)).map(|e| entry_line(rubric, e)));
    if rubric.once_per_work {
        once_per_work(&mut candidates);
    }

    let mut names: Vec<String> = departments.to_vec();
    for c in &candidates {
        if !names.contains(&c.department) {
            names.push(c.department.clone());
        }
    }
    let mut by_department: HashMap<&str, Vec<&Candidate>> = HashMap::new();
    for c in candidates.iter().filter(|c| period.holds(&c.date)) {
        by_department.entry(c.department.as_str()).or_default().push(c);
    }
    let mut out: Vec<DepartmentScore> = names
        .iter()
        .map(|d| department_score(rubric, d, by_department.get(d.as_str()).map(Vec::as_slice).unwrap_or(&[])))
        .collect();
    // Highest total first; equal totals keep roster order and share a rank.
    out.sort_by(|a, b| b.total.cmp(&a.total));
    let totals: Vec<Centi> = out.iter().map(|d| d.total).collect();
    for d in &mut out {
        d.rank = 1 + totals.iter().filter(|&&t| t > d.total).count();
    }
    Scores { year: period.year, month: period.month, max: rubric.max(), departments: out }
}

/// An adoption's line: what its level is worth under the item its category scores in.
fn adoption_line(rubric: &Rubric, a: &AdoptionFact) -> Candidate {
    let item = rubric.adoption_item(&a.category);
    let value = item.and_then(|i| i.adoption.get(&a.level).copied()).unwrap_or(0);
    let copy = if a.item != a.work { format!("（采用的是其副本，文件 {}）", a.item) } else { String::new() };
    let mut text = format!("作品 {}「{}」{}被{}采用", a.work, a.name, copy, a.level.label());
    match item {
        Some(i) if value > 0 => text += &format!("，{} +{}", i.name, shown(value)),
        Some(i) => text += &format!("：{}不计{}采用，0 分", i.name, a.level.label()),
        None => text += "：细则中没有计入此类别作品的项目，0 分",
    }
    Candidate {
        department: a.department.clone(),
        item: item.map(|i| (i.section.clone(), i.name.clone())),
        work: Some(format!("#{}", a.work)),
        date: a.date.clone(),
        order: (0, a.id),
        line: Line {
            source: Source::Adoption { id: a.id, item: a.item, work: a.work, level: a.level.code() },
            section: item.map(|i| i.section.clone()).unwrap_or_default(),
            item: item.map(|i| i.name.clone()).unwrap_or_default(),
            date: a.date.clone(),
            value,
            counted: value,
            text,
        },
    }
}

/// A ledger entry's line: its points (doubled when marked), nothing for an item the
/// rubric does not have.
fn entry_line(rubric: &Rubric, e: &EntryFact) -> Candidate {
    let item = rubric.item(&e.item);
    let value = if e.doubled { e.points * 2 } else { e.points };
    let mut text = format!("登记 {}：{} {}", e.id, e.item, if value > 0 { format!("+{}", shown(value)) } else { shown(value) });
    if e.doubled {
        let why = item.and_then(|i| i.double_when.clone()).unwrap_or_else(|| "翻倍".into());
        text += &format!("（{why}，{} 翻倍）", shown(e.points));
    }
    if !e.work.is_empty() {
        text += &format!("，作品/稿件/荣誉「{}」", e.work);
    }
    if !e.note.is_empty() {
        text += &format!("，{}", e.note);
    }
    if item.is_none() {
        text += &format!("：{} 年细则中没有此项，不计分", rubric.year);
    }
    Candidate {
        department: e.department.clone(),
        item: item.map(|i| (i.section.clone(), i.name.clone())),
        work: (!e.work.is_empty() && value > 0).then(|| e.work.clone()),
        date: e.date.clone(),
        order: (1, e.id),
        line: Line {
            source: Source::Entry { id: e.id },
            section: item.map(|i| i.section.clone()).unwrap_or_default(),
            item: item.map(|i| i.name.clone()).unwrap_or_default(),
            date: e.date.clone(),
            value: if item.is_some() { value } else { 0 },
            counted: if item.is_some() { value } else { 0 },
            text,
        },
    }
}

/// Once per work, at its highest value: the best line of each (department, work)
/// counts, and every other line of that work counts nothing and says which did.
fn once_per_work(candidates: &mut [Candidate]) {
    let mut best: HashMap<(String, String), usize> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let Some(w) = &c.work else { continue };
        let key = (c.department.clone(), w.clone());
        match best.get(&key) {
            Some(&b) if better(&candidates[b], c) => {}
            _ => {
                best.insert(key, i);
            }
        }
    }
    let winners: Vec<(usize, String)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.work.as_ref().map(|w| (i, best[&(c.department.clone(), w.clone())])))
        .filter(|(i, b)| i != b)
        .map(|(i, b)| (i, describe_winner(&candidates[b])))
        .collect();
    for (i, why) in winners {
        let c = &mut candidates[i];
        c.line.counted = 0;
        c.line.text += &format!("；同一作品只计分一次，取最高分：已按{why}计分，此条不再计分");
    }
}

/// One department's items (capped, or deducted down to the floor), sections (capped)
/// and total from `mine`, its lines in the period; rank is set later.
fn department_score(rubric: &Rubric, department: &str, mine: &[&Candidate]) -> DepartmentScore {
    let mut sums: BTreeMap<(&str, &str), Centi> = BTreeMap::new();
    for c in mine {
        if let Some((s, i)) = &c.item {
            *sums.entry((s.as_str(), i.as_str())).or_default() += c.line.counted;
        }
    }
    let mut items = Vec::new();
    let mut sections = Vec::new();
    for s in &rubric.sections {
        let mut section_points = 0;
        for i in &s.items {
            let sum = sums.get(&(s.name.as_str(), i.name.as_str())).copied().unwrap_or(0);
            let (raw, points) = match i.mode {
                Mode::Add => (sum, sum.clamp(0, i.max)),
                Mode::Deduct => (i.max + sum, (i.max + sum).clamp(i.floor, i.max)),
            };
            section_points += points;
            items.push(ItemScore { section: s.name.clone(), item: i.name.clone(), raw, points, max: i.max });
        }
        sections.push(SectionScore { section: s.name.clone(), points: section_points.min(s.max), max: s.max });
    }
    let mut lines: Vec<Line> = mine.iter().map(|c| c.line.clone()).collect();
    lines.sort_by(|a, b| a.date.cmp(&b.date));
    DepartmentScore { department: department.to_string(), rank: 0, total: sections.iter().map(|s| s.points).sum(), items, sections, lines }
}

/// Whether `a` beats `b` as the line that counts for their work.
fn better(a: &Candidate, b: &Candidate) -> bool {
    (a.line.value, std::cmp::Reverse(&a.date), std::cmp::Reverse(a.order)) > (b.line.value, std::cmp::Reverse(&b.date), std::cmp::Reverse(b.order))
}

fn describe_winner(c: &Candidate) -> String {
    match &c.line.source {
        Source::Adoption { id, level, .. } => {
            let label = Level::ALL.iter().find(|l| l.code() == *level).map_or("", |l| l.label());
            format!("{} 的{}采用（采用 {id}，{} 分）", c.date, label, shown(c.line.value))
        }
        Source::Entry { id } => format!("{} 的登记 {id}（{}，{} 分）", c.date, c.line.item, shown(c.line.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::rubric::{RawRubric, DEFAULT};

    fn rubric() -> Rubric {
        let raw: RawRubric = toml::from_str(DEFAULT).unwrap();
        Rubric::from_raw("t", raw).unwrap()
    }

    fn adoption(id: i64, work: i64, department: &str, category: &str, level: Level, date: &str) -> AdoptionFact {
        AdoptionFact { id, item: work, work, department: department.into(), category: category.into(), level, date: date.into(), name: format!("{work}.jpg") }
    }

    fn entry(id: i64, department: &str, item: &str, points: Centi, date: &str) -> EntryFact {
        EntryFact { id, department: department.into(), item: item.into(), points, doubled: false, date: date.into(), work: String::new(), note: String::new() }
    }

    const YEAR: Period = Period { year: 2024, month: None };

    fn item<'a>(s: &'a Scores, d: &str, i: &str) -> &'a ItemScore {
        s.departments.iter().find(|x| x.department == d).unwrap().items.iter().find(|x| x.item == i).unwrap()
    }

    fn total(s: &Scores, d: &str) -> Centi {
        s.departments.iter().find(|x| x.department == d).unwrap().total
    }

    #[test]
    fn eighty_banner_adoptions_cap_at_seven() {
        let a: Vec<AdoptionFact> = (1..=80).map(|n| adoption(n, n, "嘎鲁图派出所", "3", Level::Banner, "2024-04-10")).collect();
        let s = compute(&rubric(), &["嘎鲁图派出所".into()], &a, &[], &YEAR);
        let p = item(&s, "嘎鲁图派出所", "图片视频报送");
        assert_eq!((p.raw, p.points, p.max), (800, 700, 700));
    }

    #[test]
    fn a_work_scores_once_at_its_highest_level() {
        let a = vec![adoption(1, 7, "图克派出所", "1", Level::Banner, "2024-03-02"), adoption(2, 7, "图克派出所", "1", Level::City, "2024-03-20")];
        let s = compute(&rubric(), &["图克派出所".into()], &a, &[], &YEAR);
        assert_eq!(item(&s, "图克派出所", "图片视频报送").points, 20);
        let lines = &s.departments[0].lines;
        assert_eq!(lines.iter().map(|l| l.counted).collect::<Vec<_>>(), [0, 20]);
        assert!(lines[0].text.contains("同一作品只计分一次"), "{}", lines[0].text);
        // A month shows the work in the month of the adoption that counts.
        let march = compute(&rubric(), &["图克派出所".into()], &a, &[], &Period { year: 2024, month: Some(3) });
        assert_eq!(item(&march, "图克派出所", "图片视频报送").points, 20);
    }

    #[test]
    fn category_ten_scores_under_the_planning_item() {
        let a = vec![adoption(1, 5, "图克派出所", "10", Level::City, "2024-05-01"), adoption(2, 6, "图克派出所", "10", Level::Banner, "2024-05-01")];
        let s = compute(&rubric(), &["图克派出所".into()], &a, &[], &YEAR);
        assert_eq!(item(&s, "图克派出所", "市局矩阵策划").points, 20);
        assert_eq!(item(&s, "图克派出所", "图片视频报送").points, 0);
        assert!(s.departments[0].lines[1].text.contains("市局矩阵策划不计旗局采用"), "{:?}", s.departments[0].lines);
    }

    #[test]
    fn deductions_stop_at_the_floor_and_doubling_doubles() {
        let mut e: Vec<EntryFact> = (1..=12).map(|n| entry(n, "看守所", "矩阵响应", -20, "2024-06-01")).collect();
        let mut doubled = entry(20, "看守所", "政务新媒体", -20, "2024-06-02");
        doubled.doubled = true;
        e.push(doubled);
        let s = compute(&rubric(), &["看守所".into()], &[], &e, &YEAR);
        let m = item(&s, "看守所", "矩阵响应");
        assert_eq!((m.raw, m.points), (-40, 0));
        assert_eq!(item(&s, "看守所", "政务新媒体").points, 60);
        let three: Vec<EntryFact> = (1..=3).map(|n| { let mut x = entry(n, "看守所", "政务新媒体", -20, "2024-06-01"); x.doubled = true; x }).collect();
        let s = compute(&rubric(), &["看守所".into()], &[], &three, &YEAR);
        let g = item(&s, "看守所", "政务新媒体");
        assert_eq!((g.raw, g.points), (-20, 0));
    }

    #[test]
    fn nothing_recorded_scores_deductions_in_full_and_additions_at_zero() {
        let s = compute(&rubric(), &["拘留所".into()], &[], &[], &YEAR);
        let d = &s.departments[0];
        for i in &d.items {
            let full = matches!(i.item.as_str(), "矩阵响应" | "政务新媒体" | "典型选树");
            assert_eq!(i.points, if full { i.max } else { 0 }, "{i:?}");
        }
        assert_eq!(d.total, 200 + 100 + 300);
        assert_eq!(d.rank, 1);
    }

    #[test]
    fn an_honour_scores_once_across_the_rubric_and_ranks_share() {
        let mut a = entry(1, "甲", "创佳绩", 20, "2024-07-01");
        a.work = "短视频《守护》".into();
        let mut b = entry(2, "甲", "原创作品获奖", 50, "2024-07-02");
        b.work = "短视频《守护》".into();
        let c = entry(3, "乙", "原创作品获奖", 50, "2024-07-02");
        let s = compute(&rubric(), &["乙".into(), "甲".into(), "丙".into()], &[], &[a, b, c], &YEAR);
        assert_eq!(item(&s, "甲", "创佳绩").points, 0);
        assert_eq!(item(&s, "甲", "原创作品获奖").points, 50);
        assert_eq!(total(&s, "甲"), total(&s, "乙"));
        let ranks: Vec<(&str, usize)> = s.departments.iter().map(|d| (d.department.as_str(), d.rank)).collect();
        assert_eq!(ranks, [("乙", 1), ("甲", 1), ("丙", 3)]);
    }

    #[test]
    fn a_month_counts_its_own_entries_and_other_years_are_left_out() {
        let e = vec![entry(1, "甲", "矩阵响应", -20, "2024-04-03"), entry(2, "甲", "矩阵响应", -20, "2024-05-03"), entry(3, "甲", "矩阵响应", -20, "2023-04-03")];
        let april = compute(&rubric(), &["甲".into()], &[], &e, &Period { year: 2024, month: Some(4) });
        assert_eq!(item(&april, "甲", "矩阵响应").points, 180);
        let year = compute(&rubric(), &["甲".into()], &[], &e, &YEAR);
        assert_eq!(item(&year, "甲", "矩阵响应").points, 160);
    }
}
