//! Pure: 个人积分. A person earns the points of their adopted works by the rubric's
//! adoption levels, each work once in the year at its highest level, shared evenly by
//! its authors, kept exactly (no rounding until shown) and with no personal cap. The
//! top five are the 优秀宣传员 candidates: by points, then counted works, then adoptions.

use std::collections::HashMap;

use super::compute::AdoptionFact;
use super::period::Span;
use super::rubric::Rubric;
use super::{Centi, Level, shown};

/// Points kept exactly: `num / den` hundredths, `den` > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact {
    num: i128,
    den: i128,
}

impl Default for Exact {
    fn default() -> Self {
        Exact { num: 0, den: 1 }
    }
}

impl Exact {
    pub fn share(centi: Centi, ways: usize) -> Exact {
        Exact { num: i128::from(centi), den: ways.max(1) as i128 }.reduced()
    }

    fn reduced(self) -> Exact {
        let g = gcd(self.num.abs(), self.den).max(1);
        Exact { num: self.num / g, den: self.den / g }
    }

    /// Rounded to the hundredth (half away from zero).
    pub fn centi(self) -> Centi {
        let (n, d) = (self.num, self.den);
        let r = (2 * n.abs() + d) / (2 * d);
        (if n < 0 { -r } else { r }) as Centi
    }

    /// "0.03": two decimals.
    pub fn shown(self) -> String {
        shown(self.centi())
    }

    pub fn number(self) -> f64 {
        self.centi() as f64 / 100.0
    }
}

impl std::ops::Add for Exact {
    type Output = Exact;

    fn add(self, o: Exact) -> Exact {
        Exact { num: self.num * o.den + o.num * self.den, den: self.den * o.den }.reduced()
    }
}

impl std::ops::Sub for Exact {
    type Output = Exact;

    fn sub(self, o: Exact) -> Exact {
        self + Exact { num: -o.num, den: o.den }
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Exact {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.num * o.den).cmp(&(o.num * self.den))
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A person as scoring knows them: a stable key (`#警号`, or `姓名@单位` without one),
/// and how they are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub key: String,
    pub name: String,
    pub number: String,
    pub department: String,
}

/// One of a person's works that earned points.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkPoints {
    pub item: i64,
    pub name: String,
    pub level: Level,
    /// The work's points by the rubric, and this person's share of them.
    pub value: Centi,
    pub authors: usize,
    pub points: Exact,
    pub date: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonScore {
    pub person: Person,
    pub points: Exact,
    pub works: Vec<WorkPoints>,
    /// Their counted files in the period, and adoptions of their works in it.
    pub counted_works: usize,
    pub adoptions: usize,
    /// 1 for the first; people are ordered by points, counted works, adoptions.
    pub rank: usize,
}

/// The period: a year, or one month of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    pub year: i32,
    pub month: Option<u32>,
}

impl Period {
    /// Whether a date ("2024-04-12") or month ("2024-04") falls in it.
    pub fn holds(&self, date: &str) -> bool {
        date.get(0..4).and_then(|y| y.parse::<i32>().ok()) == Some(self.year) && self.month.is_none_or(|m| date.get(5..7).and_then(|x| x.parse::<u32>().ok()) == Some(m))
    }
}

/// What goes in: every person (roster order), the year's adoptions, each work's
/// authors (by work item id, keys of `people`), and each person's counted files with
/// their month.
pub struct Facts<'a> {
    pub people: &'a [Person],
    pub adoptions: &'a [AdoptionFact],
    pub authors: &'a HashMap<i64, Vec<String>>,
    pub counted: &'a [(String, String)],
}

/// Everyone's points for `period`, ranked; the candidates are the first five with points.
pub fn compute(rubric: &Rubric, facts: &Facts<'_>, period: Period) -> Vec<PersonScore> {
    let year = Period { year: period.year, month: None };
    // Each work's best adoption in the year: the highest value, the earliest on a tie.
    let mut best: HashMap<i64, (&AdoptionFact, Centi)> = HashMap::new();
    let mut adoptions_of: HashMap<i64, usize> = HashMap::new();
    for a in facts.adoptions.iter().filter(|a| year.holds(&a.date)) {
        if period.holds(&a.date) {
            *adoptions_of.entry(a.work).or_default() += 1;
        }
        let value = rubric.adoption_item(&a.category).and_then(|i| i.adoption.get(&a.level).copied()).unwrap_or(0);
        match best.get(&a.work) {
            Some((b, v)) if *v > value || (*v == value && (b.date.as_str(), b.id) <= (a.date.as_str(), a.id)) => {}
            _ => {
                best.insert(a.work, (a, value));
            }
        }
    }
    let mut scores: Vec<PersonScore> = facts.people.iter().map(|p| PersonScore { person: p.clone(), points: Exact::default(), works: vec![], counted_works: 0, adoptions: 0, rank: 0 }).collect();
    let at: HashMap<&str, usize> = facts.people.iter().enumerate().map(|(i, p)| (p.key.as_str(), i)).collect();
    let mut works: Vec<(&i64, &(&AdoptionFact, Centi))> = best.iter().collect();
    works.sort_by_key(|(w, (a, _))| (a.date.clone(), **w));
    for (work, (a, value)) in works {
        let Some(authors) = facts.authors.get(work).filter(|v| !v.is_empty()) else { continue };
        for key in authors {
            let Some(&i) = at.get(key.as_str()) else { continue };
            let s = &mut scores[i];
            s.adoptions += adoptions_of.get(work).copied().unwrap_or(0);
            if !period.holds(&a.date) || *value == 0 {
                continue;
            }
            let points = Exact::share(*value, authors.len());
            s.points = s.points + points;
            s.works.push(WorkPoints { item: *work, name: a.name.clone(), level: a.level, value: *value, authors: authors.len(), points, date: a.date.clone() });
        }
    }
    for (key, month) in facts.counted {
        if let (Some(&i), true) = (at.get(key.as_str()), period.holds(month)) {
            scores[i].counted_works += 1;
        }
    }
    // Stable: equal people keep roster order.
    scores.sort_by(|a, b| b.points.cmp(&a.points).then(b.counted_works.cmp(&a.counted_works)).then(b.adoptions.cmp(&a.adoptions)));
    for (n, s) in scores.iter_mut().enumerate() {
        s.rank = n + 1;
    }
    scores
}

/// Everyone's points in a quarter or half (`span`): the year-to-date points at the end of
/// its last month minus those at the end of the month before it (nothing before the
/// year), as departments' are; a work that rose a level in the span gains the difference.
pub fn compute_span(rubric: &Rubric, facts: &Facts<'_>, span: Span) -> Vec<PersonScore> {
    let (first, last) = span.months();
    let year = span.year();
    let upto = |through: u32| {
        let within = |date: &str| Period { year, month: None }.holds(date) && date.get(5..7).and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m <= through);
        let adoptions: Vec<AdoptionFact> = facts.adoptions.iter().filter(|a| within(&a.date)).cloned().collect();
        let counted: Vec<(String, String)> = facts.counted.iter().filter(|(_, month)| within(month)).cloned().collect();
        compute(rubric, &Facts { people: facts.people, adoptions: &adoptions, authors: facts.authors, counted: &counted }, Period { year, month: None })
    };
    let end = upto(last);
    let start = if first > 1 { upto(first - 1) } else { Vec::new() };
    let mut out: Vec<PersonScore> = end
        .into_iter()
        .map(|mut e| {
            let before = start.iter().find(|s| s.person.key == e.person.key);
            if let Some(b) = before {
                e.points = e.points - b.points;
                e.counted_works -= b.counted_works.min(e.counted_works);
                e.adoptions -= b.adoptions.min(e.adoptions);
                for w in &mut e.works {
                    if let Some(old) = b.works.iter().find(|o| o.item == w.item) {
                        w.points = w.points - old.points;
                    }
                }
                e.works.retain(|w| w.points != Exact::default());
            }
            e
        })
        .collect();
    // Roster order first, as `compute` starts, then ranked by the span's numbers.
    out.sort_by_key(|s| facts.people.iter().position(|p| p.key == s.person.key).unwrap_or(usize::MAX));
    out.sort_by(|a, b| b.points.cmp(&a.points).then(b.counted_works.cmp(&a.counted_works)).then(b.adoptions.cmp(&a.adoptions)));
    for (n, s) in out.iter_mut().enumerate() {
        s.rank = n + 1;
    }
    out
}

/// The 优秀宣传员 candidates: the first five of `ranked` who earned points.
pub fn candidates(ranked: &[PersonScore]) -> Vec<&PersonScore> {
    ranked.iter().filter(|s| s.points > Exact::default()).take(5).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rubric() -> Rubric {
        Rubric::from_raw("t", toml::from_str::<crate::score::rubric::RawRubric>(crate::score::rubric::DEFAULT).unwrap()).unwrap()
    }

    fn person(key: &str) -> Person {
        Person { key: key.into(), name: key.into(), number: String::new(), department: "甲所".into() }
    }

    fn adoption(id: i64, work: i64, level: Level, date: &str) -> AdoptionFact {
        AdoptionFact { id, item: work, work, department: "甲所".into(), category: "1".into(), level, date: date.into(), name: format!("作品{work}") }
    }

    #[test]
    fn exact_shares_are_summed_before_rounding() {
        let third = Exact::share(10, 3);
        assert_eq!(third.shown(), "0.03");
        assert_eq!((third + third + third).shown(), "0.10");
        assert_eq!((Exact::share(20, 3) + Exact::share(10, 3)).centi(), 10);
    }

    #[test]
    fn each_work_once_at_its_highest_level_shared_evenly() {
        let r = rubric();
        let people = [person("张三"), person("李四"), person("王五")];
        let adoptions = [adoption(1, 10, Level::Banner, "2024-03-02"), adoption(2, 10, Level::City, "2024-04-01"), adoption(3, 11, Level::Banner, "2024-05-01")];
        let authors: HashMap<i64, Vec<String>> = [(10, vec!["张三".to_string(), "李四".to_string()]), (11, vec!["张三".to_string()])].into();
        let counted = [("王五".to_string(), "2024-03".to_string())];
        let facts = Facts { people: &people, adoptions: &adoptions, authors: &authors, counted: &counted };
        let s = compute(&r, &facts, Period { year: 2024, month: None });
        assert_eq!(s[0].person.name, "张三");
        // Work 10 at its highest, 市局 0.2, halved; work 11 at 旗局 0.1, alone.
        assert_eq!(s[0].points.shown(), "0.20");
        assert_eq!(s[0].works.len(), 2);
        assert_eq!(s[1].person.name, "李四");
        assert_eq!(s[1].works[0].level, Level::City);
        assert_eq!((s[2].person.name.as_str(), s[2].counted_works), ("王五", 1));
        assert_eq!(candidates(&s).len(), 2, "only people with points are candidates");
        // In March the work had not yet reached its highest level: it counts in April.
        let march = compute(&r, &facts, Period { year: 2024, month: Some(3) });
        assert_eq!(march.iter().find(|p| p.person.name == "张三").unwrap().points, Exact::default());
        let april = compute(&r, &facts, Period { year: 2024, month: Some(4) });
        assert_eq!(april[0].points.shown(), "0.10");
    }

    #[test]
    fn a_quarter_is_the_year_to_date_at_its_end_less_its_start() {
        let r = rubric();
        let people = [person("张三")];
        // 旗局 in March (0.1), 市局 in May: Q2 gains the difference, 0.1; the year is 0.2.
        let adoptions = [adoption(1, 10, Level::Banner, "2024-03-02"), adoption(2, 10, Level::City, "2024-05-01")];
        let authors: HashMap<i64, Vec<String>> = [(10, vec!["张三".to_string()])].into();
        let facts = Facts { people: &people, adoptions: &adoptions, authors: &authors, counted: &[] };
        let q = |n: u32| compute_span(&r, &facts, Span::Quarter(2024, n))[0].points.shown();
        assert_eq!([q(1), q(2), q(3)], ["0.10", "0.10", "0.00"]);
        assert_eq!(compute_span(&r, &facts, Span::Half(2024, 1))[0].points.shown(), "0.20");
        assert_eq!(compute_span(&r, &facts, Span::Quarter(2024, 2))[0].works[0].level, Level::City);
    }

    #[test]
    fn ties_go_to_counted_works_then_adoptions() {
        let r = rubric();
        let people = [person("甲"), person("乙")];
        let adoptions = [adoption(1, 10, Level::Banner, "2024-03-02"), adoption(2, 11, Level::Banner, "2024-03-02")];
        let authors: HashMap<i64, Vec<String>> = [(10, vec!["甲".to_string()]), (11, vec!["乙".to_string()])].into();
        let counted = [("乙".to_string(), "2024-03".to_string())];
        let s = compute(&r, &Facts { people: &people, adoptions: &adoptions, authors: &authors, counted: &counted }, Period { year: 2024, month: None });
        assert_eq!((s[0].person.name.as_str(), s[0].rank), ("乙", 1));
    }
}
