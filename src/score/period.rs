//! Pure: a quarter's, a half-year's or a year's points. A span's points are the
//! year-to-date points at its end minus those at its start, so the rubric's yearly
//! caps apply as they do for the year: a department at 6.90 of a 7-point cap by March
//! earns 0.10 in the second quarter however much it sends. Before the year begins
//! nothing is counted, so the first quarter and the first half are the year-to-date at
//! their end (deduction items start full, as for the year), the quarters add up to the
//! year, and a later quarter shows a deduction made in it as a negative number.

use std::collections::HashMap;

use super::Centi;
use super::compute::{self, AdoptionFact, DepartmentScore, EntryFact, ItemScore, Period, Scores, SectionScore};
use super::rubric::Rubric;

/// A year, one of its halves or one of its quarters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Year(i32),
    /// 1 or 2.
    Half(i32, u32),
    /// 1 to 4.
    Quarter(i32, u32),
}

impl Span {
    /// "2024", "2024H1" or "2024Q3" (also lower case, and 2024年).
    pub fn parse(s: &str) -> Option<Span> {
        let s = s.trim().trim_end_matches('年').to_ascii_uppercase();
        let year = |y: &str| y.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y));
        if s.len() == 4 {
            return year(&s).map(Span::Year);
        }
        let (y, rest) = (s.get(..4)?, s.get(4..)?);
        let n = |limit: u32| rest.get(1..)?.parse::<u32>().ok().filter(|n| (1..=limit).contains(n));
        match rest.get(..1)? {
            "H" => Some(Span::Half(year(y)?, n(2)?)),
            "Q" => Some(Span::Quarter(year(y)?, n(4)?)),
            _ => None,
        }
    }

    pub fn year(self) -> i32 {
        match self {
            Span::Year(y) | Span::Half(y, _) | Span::Quarter(y, _) => y,
        }
    }

    /// Its first and last month (1–12).
    pub fn months(self) -> (u32, u32) {
        match self {
            Span::Year(_) => (1, 12),
            Span::Half(_, h) => (6 * h - 5, 6 * h),
            Span::Quarter(_, q) => (3 * q - 2, 3 * q),
        }
    }

    /// "2024", "2024H1", "2024Q1": as typed on the command line and in JSON.
    pub fn code(self) -> String {
        match self {
            Span::Year(y) => y.to_string(),
            Span::Half(y, h) => format!("{y}H{h}"),
            Span::Quarter(y, q) => format!("{y}Q{q}"),
        }
    }

    /// "2024年", "2024年上半年", "2024年第一季度".
    pub fn label(self) -> String {
        match self {
            Span::Year(y) => format!("{y}年"),
            Span::Half(y, h) => format!("{y}年{}半年", if h == 1 { "上" } else { "下" }),
            Span::Quarter(y, q) => format!("{y}年第{}季度", ["一", "二", "三", "四"][(q as usize - 1).min(3)]),
        }
    }

    /// Whether a YYYY-MM-DD date falls in it.
    pub fn holds(self, date: &str) -> bool {
        let (first, last) = self.months();
        month_of(date).is_some_and(|(y, m)| y == self.year() && (first..=last).contains(&m))
    }
}

fn month_of(date: &str) -> Option<(i32, u32)> {
    Some((date.get(0..4)?.parse().ok()?, date.get(5..7)?.parse().ok()?))
}

/// Every department's points in `span`: the year-to-date scores at the end of its last
/// month minus those at the end of the month before it (nothing before the year), item
/// by item and section by section, ranked by the difference of totals. The lines are
/// those of the year-to-date at its end dated in the span.
pub fn compute(rubric: &Rubric, departments: &[String], adoptions: &[AdoptionFact], entries: &[EntryFact], span: Span) -> Scores {
    let (first, last) = span.months();
    let end = year_to_date(rubric, departments, adoptions, entries, span.year(), last);
    let start = (first > 1).then(|| year_to_date(rubric, departments, adoptions, entries, span.year(), first - 1));
    let before: HashMap<&str, &DepartmentScore> = start.iter().flat_map(|s| s.departments.iter()).map(|d| (d.department.as_str(), d)).collect();
    let mut out: Vec<DepartmentScore> = end.departments.iter().map(|d| minus(d, before.get(d.department.as_str()).copied(), span)).collect();
    // Highest total first; equal totals in roster order (departments found only in the
    // data after the roster), sharing a rank.
    let order = |name: &str| departments.iter().position(|d| d == name).unwrap_or(departments.len());
    out.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| order(&a.department).cmp(&order(&b.department))));
    let totals: Vec<Centi> = out.iter().map(|d| d.total).collect();
    for d in &mut out {
        d.rank = 1 + totals.iter().filter(|&&t| t > d.total).count();
    }
    Scores { year: span.year(), month: None, max: end.max, departments: out }
}

/// The scores of the facts dated up to the end of `through` (a month of `year`).
fn year_to_date(rubric: &Rubric, departments: &[String], adoptions: &[AdoptionFact], entries: &[EntryFact], year: i32, through: u32) -> Scores {
    let upto = |date: &str| month_of(date).is_some_and(|(y, m)| y == year && m <= through);
    let a: Vec<AdoptionFact> = adoptions.iter().filter(|a| upto(&a.date)).cloned().collect();
    let e: Vec<EntryFact> = entries.iter().filter(|e| upto(&e.date)).cloned().collect();
    compute::compute(rubric, departments, &a, &e, &Period { year, month: None })
}

/// `end` less `start` (a department with no start counts from nothing).
fn minus(end: &DepartmentScore, start: Option<&DepartmentScore>, span: Span) -> DepartmentScore {
    let item_before = |s: &str, i: &str| start.and_then(|d| d.items.iter().find(|x| x.section == s && x.item == i));
    let section_before = |s: &str| start.and_then(|d| d.sections.iter().find(|x| x.section == s)).map_or(0, |x| x.points);
    DepartmentScore {
        department: end.department.clone(),
        rank: 0,
        total: end.total - start.map_or(0, |d| d.total),
        items: end
            .items
            .iter()
            .map(|i| {
                let b = item_before(&i.section, &i.item);
                ItemScore { section: i.section.clone(), item: i.item.clone(), raw: i.raw - b.map_or(0, |b| b.raw), points: i.points - b.map_or(0, |b| b.points), max: i.max }
            })
            .collect(),
        sections: end.sections.iter().map(|s| SectionScore { section: s.section.clone(), points: s.points - section_before(&s.section), max: s.max }).collect(),
        lines: end.lines.iter().filter(|l| span.holds(&l.date)).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::Level;
    use crate::score::rubric::{DEFAULT, RawRubric};

    fn rubric() -> Rubric {
        let raw: RawRubric = toml::from_str(DEFAULT).unwrap();
        Rubric::from_raw("t", raw).unwrap()
    }

    fn adoption(id: i64, department: &str, level: Level, date: &str) -> AdoptionFact {
        AdoptionFact { id, item: id, work: id, department: department.into(), category: "3".into(), level, date: date.into(), name: format!("{id}.jpg") }
    }

    fn entry(id: i64, department: &str, item: &str, points: Centi, date: &str) -> EntryFact {
        EntryFact { id, department: department.into(), item: item.into(), points, doubled: false, date: date.into(), work: String::new(), note: String::new() }
    }

    fn of<'a>(s: &'a Scores, d: &str) -> &'a DepartmentScore {
        s.departments.iter().find(|x| x.department == d).unwrap()
    }

    fn photo_points(s: &Scores, d: &str) -> Centi {
        of(s, d).items.iter().find(|i| i.item == "图片视频报送").unwrap().points
    }

    #[test]
    fn spans_parse_and_name_themselves() {
        assert_eq!(Span::parse("2024Q1"), Some(Span::Quarter(2024, 1)));
        assert_eq!(Span::parse("2024h2"), Some(Span::Half(2024, 2)));
        assert_eq!(Span::parse("2024年"), Some(Span::Year(2024)));
        for bad in ["2024Q5", "2024H0", "2024Q", "24Q1", "2024-04", "二〇二四Q1", ""] {
            assert_eq!(Span::parse(bad), None, "{bad}");
        }
        assert_eq!(Span::Quarter(2024, 1).label(), "2024年第一季度");
        assert_eq!(Span::Half(2024, 2).label(), "2024年下半年");
        assert_eq!(Span::Quarter(2024, 4).months(), (10, 12));
        assert_eq!(Span::Half(2024, 2).months(), (7, 12));
        assert!(Span::Quarter(2024, 2).holds("2024-06-30") && !Span::Quarter(2024, 2).holds("2024-07-01"));
    }

    /// 嘎鲁图派出所 has 69 banner adoptions (6.90) by March and 30 more (3.00) in
    /// April–May: the 7-point cap leaves 0.10 for the second quarter, and the year is 7.
    #[test]
    fn a_department_that_reaches_the_cap_mid_year_earns_only_what_is_left() {
        let d = "嘎鲁图派出所";
        let mut a: Vec<AdoptionFact> = (1..=69).map(|n| adoption(n, d, Level::Banner, "2024-03-10")).collect();
        a.extend((70..=99).map(|n| adoption(n, d, Level::Banner, if n < 85 { "2024-04-10" } else { "2024-05-10" })));
        a.push(adoption(100, "图克派出所", Level::City, "2024-05-02"));
        let names = [d.to_string(), "图克派出所".to_string()];
        let q1 = compute(&rubric(), &names, &a, &[], Span::Quarter(2024, 1));
        let q2 = compute(&rubric(), &names, &a, &[], Span::Quarter(2024, 2));
        let q3 = compute(&rubric(), &names, &a, &[], Span::Quarter(2024, 3));
        let h1 = compute(&rubric(), &names, &a, &[], Span::Half(2024, 1));
        assert_eq!(photo_points(&q1, d), 690);
        assert_eq!(photo_points(&q2, d), 10);
        assert_eq!(photo_points(&q3, d), 0);
        assert_eq!(photo_points(&h1, d), 700);
        // The raw points are not capped: 30 adoptions' worth in the second quarter.
        assert_eq!(of(&q2, d).items.iter().find(|i| i.item == "图片视频报送").unwrap().raw, 300);
        assert_eq!(of(&q2, d).lines.len(), 30);
        // 图克 earns 0.20 in Q2 and ranks first there, behind in Q1.
        assert_eq!(q2.departments[0].department, "图克派出所");
        assert_eq!(of(&q2, "图克派出所").total - of(&q2, d).total, 20 - 10);
        assert_eq!(q1.departments[0].department, d);
    }

    /// The quarters add up to the year, section by section, item by item.
    #[test]
    fn the_quarters_add_up_to_the_year_and_later_deductions_are_negative() {
        let d = "看守所";
        let a = vec![adoption(1, d, Level::Province, "2024-02-01"), adoption(2, d, Level::Banner, "2024-08-01")];
        let e = vec![entry(1, d, "矩阵响应", -20, "2024-05-03"), entry(2, d, "矩阵响应", -20, "2024-11-03")];
        let names = [d.to_string()];
        let year = compute::compute(&rubric(), &names, &a, &e, &Period { year: 2024, month: None });
        let quarters: Vec<Scores> = (1..=4).map(|q| compute(&rubric(), &names, &a, &e, Span::Quarter(2024, q))).collect();
        assert_eq!(quarters.iter().map(|q| q.departments[0].total).sum::<Centi>(), year.departments[0].total);
        for (i, item) in year.departments[0].items.iter().enumerate() {
            assert_eq!(quarters.iter().map(|q| q.departments[0].items[i].points).sum::<Centi>(), item.points, "{}", item.item);
        }
        let matrix = |s: &Scores| s.departments[0].items.iter().find(|i| i.item == "矩阵响应").unwrap().points;
        assert_eq!(matrix(&quarters[0]), 200);
        assert_eq!(matrix(&quarters[1]), -20);
        assert_eq!(matrix(&quarters[3]), -20);
        // The year as a span is `score --year`.
        assert_eq!(compute(&rubric(), &names, &a, &e, Span::Year(2024)).departments, year.departments);
    }
}
