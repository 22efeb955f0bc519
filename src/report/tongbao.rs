//! The 通报's numbers: how every department did in a quarter, a half or a year (the
//! span's scores as `score --quarter|--half|--year`, each month's board, the
//! adoptions). The words are the editable template's (`export::tongbao`).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::DepartmentRow;
use crate::config::Config;
use crate::cycle::{Cycle, State};
use crate::db::Db;
use crate::score::compute::{Scores, Source};
use crate::score::period::Span;
use crate::score::rubric::Rubric;
use crate::score::{Level, record, shown};

/// One department's line of the ranking table.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Row {
    pub rank: usize,
    pub department: String,
    /// Months with a package, on time or late (报送月数).
    pub reported: i64,
    pub on_time: i64,
    pub late: i64,
    pub missing: i64,
    /// Photos and videos counted (accepted, not another department's).
    pub photos: i64,
    pub videos: i64,
    /// Adoptions dated in the span, at each level.
    pub banner: i64,
    pub city: i64,
    pub province: i64,
    /// The span's points of each rubric section, "2.30", in the rubric's order.
    pub sections: Vec<String>,
    pub total: String,
}

/// The sums of the table's columns; `due` is departments × months counted.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub due: i64,
    pub reported: i64,
    pub on_time: i64,
    pub late: i64,
    pub missing: i64,
    pub photos: i64,
    pub videos: i64,
    pub banner: i64,
    pub city: i64,
    pub province: i64,
}

/// A department late or missing, and in which months ("1月、3月").
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Named {
    pub department: String,
    pub months: String,
}

/// A 优秀宣传员 candidate for the year-end 通报 (issue 23 point 4): a person's points and
/// the works and adoptions behind them. People's points are scored by `score people`;
/// until that is in place this list is empty and the template leaves the part out.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub department: String,
    pub points: String,
    pub works: i64,
    pub adoptions: i64,
}

/// Everything the template can say.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tongbao {
    /// "2024年第一季度"
    pub period: String,
    /// "2024Q1", "2024H1", "2024"
    pub code: String,
    /// A whole year's 通报 (the candidates belong to it).
    pub year_end: bool,
    /// The span starts in January: its points are the year-to-date.
    pub first: bool,
    /// "1—3月"
    pub months: String,
    /// How far the scores go: the span's end, "2024年3月底", or the day the 通报 is made
    /// when that is earlier, "2024年3月20日".
    pub through: String,
    /// Months whose deadline had not passed, so not counted in the submissions ("3月").
    pub pending: String,
    pub departments: usize,
    pub rubric: String,
    /// "基础业务（12分）", in the rubric's order.
    pub sections: Vec<String>,
    /// The same as (name, maximum "12"), for the table's header.
    #[serde(skip)]
    pub section_heads: Vec<(String, String)>,
    pub totals: Totals,
    pub rows: Vec<Row>,
    /// The first three by rank ("甲、乙、丙"), '' when everyone shares them.
    pub top: String,
    pub late: Vec<Named>,
    pub missing: Vec<Named>,
    /// 优秀宣传员候选, in a year's 通报 only (`score people`'s candidates); empty otherwise.
    pub candidates: Vec<Candidate>,
    pub office: String,
    /// "2024年4月5日"
    pub date: String,
}

/// The span's numbers from the database, as of `as_of` (months not yet due are left out
/// of the submissions), signed by `office`.
pub async fn gather(db: &Db, config: &Config, span: Span, as_of: i64, office: &str) -> anyhow::Result<Tongbao> {
    let names: Vec<String> = config.roster.departments().iter().map(|d| d.name.clone()).collect();
    let scores = record::span_scores(db, &config.rubric, &names, span).await?;
    let (first, last) = span.months();
    let mut months = Vec::new();
    for m in first..=last {
        let Some(c) = Cycle::new(span.year(), m) else { continue };
        if c.start(config.timezone).timestamp() > as_of {
            months.push((c, Vec::new()));
            continue;
        }
        months.push((c, super::department_rows(db, config, c, as_of).await?));
    }
    let today = crate::cycle::local(as_of, config.timezone).date_naive();
    let mut tongbao = assemble(span, &config.rubric, &scores, &months, office, today);
    if let Span::Year(year) = span {
        let ranked = crate::people::scores(config, db, crate::people::When::Period(crate::score::people::Period { year, month: None })).await?;
        tongbao.candidates = candidates(&ranked);
    }
    Ok(tongbao)
}

/// The year's 优秀宣传员 candidates (`score::people::candidates`: the top five by
/// 个人积分, then counted works, then adoptions), with the numbers behind each.
fn candidates(ranked: &[crate::score::people::PersonScore]) -> Vec<Candidate> {
    crate::score::people::candidates(ranked)
        .into_iter()
        .map(|s| Candidate {
            name: s.person.name.clone(),
            department: s.person.department.clone(),
            points: s.points.shown(),
            works: s.counted_works as i64,
            adoptions: s.adoptions as i64,
        })
        .collect()
}

/// Pure: the 通报's numbers from the span's `scores` and each month's board rows (a month
/// with no rows, or whose rows are pending, is not yet due), signed by `office` on `today`.
pub fn assemble(span: Span, rubric: &Rubric, scores: &Scores, months: &[(Cycle, Vec<DepartmentRow>)], office: &str, today: NaiveDate) -> Tongbao {
    let mut late: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut missing: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut pending = Vec::new();
    let mut due_months = 0i64;
    for (c, rows) in months {
        if rows.is_empty() || rows.iter().all(|r| r.state == State::Pending) {
            pending.push(c.month);
        } else {
            due_months += 1;
        }
    }
    let rows: Vec<Row> = scores
        .departments
        .iter()
        .map(|d| {
            let mut row = Row { rank: d.rank, department: d.department.clone(), ..Default::default() };
            for (c, rows) in months {
                let Some(r) = rows.iter().find(|r| r.department == d.department) else { continue };
                row.photos += r.photos;
                row.videos += r.videos;
                match r.state {
                    State::OnTime => row.on_time += 1,
                    State::Late { .. } => {
                        row.late += 1;
                        late.entry(&d.department).or_default().push(c.month);
                    }
                    State::Missing => {
                        row.missing += 1;
                        missing.entry(&d.department).or_default().push(c.month);
                    }
                    State::Pending => {}
                }
            }
            row.reported = row.on_time + row.late;
            for l in &d.lines {
                if let Source::Adoption { level, .. } = &l.source {
                    match Level::ALL.iter().find(|x| x.code() == *level) {
                        Some(Level::Banner) => row.banner += 1,
                        Some(Level::City) => row.city += 1,
                        Some(Level::Province) => row.province += 1,
                        None => {}
                    }
                }
            }
            row.sections = d.sections.iter().map(|s| shown(s.points)).collect();
            row.total = shown(d.total);
            row
        })
        .collect();
    let mut totals = Totals { due: due_months * rows.len() as i64, ..Default::default() };
    for r in &rows {
        totals.reported += r.reported;
        totals.on_time += r.on_time;
        totals.late += r.late;
        totals.missing += r.missing;
        totals.photos += r.photos;
        totals.videos += r.videos;
        totals.banner += r.banner;
        totals.city += r.city;
        totals.province += r.province;
    }
    let named = |m: BTreeMap<&str, Vec<u32>>| -> Vec<Named> {
        // In the table's (rank) order.
        rows.iter()
            .filter_map(|r| m.get(r.department.as_str()).map(|ms| Named { department: r.department.clone(), months: month_list(ms) }))
            .collect()
    };
    let top: Vec<&str> = rows.iter().filter(|r| r.rank <= 3).map(|r| r.department.as_str()).collect();
    let (first, last) = span.months();
    Tongbao {
        period: span.label(),
        code: span.code(),
        year_end: matches!(span, Span::Year(_)),
        first: first == 1,
        months: format!("{first}—{last}月"),
        // The scores hold what was recorded by today: a 通报 made before the span ends
        // says so.
        through: if (today.year(), today.month()) <= (span.year(), last) { label(today) } else { format!("{}年{last}月底", span.year()) },
        pending: month_list(&pending),
        departments: rows.len(),
        rubric: if rubric.title.is_empty() { "考核细则".into() } else { rubric.title.clone() },
        sections: rubric.sections.iter().map(|s| format!("{}（{}分）", s.name, points(s.max))).collect(),
        section_heads: rubric.sections.iter().map(|s| (s.name.clone(), points(s.max))).collect(),
        totals,
        top: if top.len() < rows.len() && top.len() <= 5 { top.join("、") } else { String::new() },
        late: named(late),
        missing: named(missing),
        candidates: Vec::new(),
        rows,
        office: office.to_string(),
        date: label(today),
    }
}

/// "2024年4月5日"
fn label(day: NaiveDate) -> String {
    format!("{}年{}月{}日", day.year(), day.month(), day.day())
}

/// A maximum as written in the rubric: "12", "0.5".
fn points(c: crate::score::Centi) -> String {
    shown(c).trim_end_matches(".00").to_string()
}

/// "1月、3月"; three or more months in a row as "1—3月".
fn month_list(months: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < months.len() {
        let mut j = i;
        while j + 1 < months.len() && months[j + 1] == months[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            parts.push(format!("{}—{}月", months[i], months[j]));
        } else {
            parts.extend(months[i..=j].iter().map(|m| format!("{m}月")));
        }
        i = j + 1;
    }
    parts.join("、")
}

/// Values for checking the template at start-up: two departments, one late.
pub fn sample() -> Tongbao {
    let row = |rank: usize, department: &str, late: i64| Row {
        rank,
        department: department.into(),
        reported: 3,
        on_time: 3 - late,
        late,
        missing: 0,
        photos: 40,
        videos: 2,
        banner: 3,
        city: 1,
        province: 0,
        sections: vec!["0.50".into(), "1.00".into()],
        total: "1.50".into(),
    };
    Tongbao {
        period: "2024年第一季度".into(),
        code: "2024Q1".into(),
        year_end: true,
        first: false,
        months: "1—3月".into(),
        through: "2024年3月底".into(),
        pending: "3月".into(),
        departments: 2,
        rubric: "2024年新闻宣传工作绩效考核细则".into(),
        sections: vec!["基础业务（12分）".into(), "政务新媒体（1分）".into()],
        section_heads: vec![("基础业务".into(), "12".into()), ("政务新媒体".into(), "1".into())],
        totals: Totals { due: 6, reported: 6, on_time: 5, late: 1, missing: 0, photos: 80, videos: 4, banner: 6, city: 2, province: 0 },
        rows: vec![row(1, "嘎鲁图派出所", 0), row(2, "图克派出所", 1)],
        top: "嘎鲁图派出所".into(),
        late: vec![Named { department: "图克派出所".into(), months: "2月".into() }],
        missing: vec![Named { department: "看守所".into(), months: "1月、2月".into() }],
        candidates: vec![Candidate { name: "张三".into(), department: "嘎鲁图派出所".into(), points: "1.20".into(), works: 9, adoptions: 6 }],
        office: "宣传工作领导小组办公室".into(),
        date: "2024年4月5日".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::compute::{DepartmentScore, Line, SectionScore};
    use crate::score::rubric::{DEFAULT, RawRubric};

    fn rubric() -> Rubric {
        Rubric::from_raw("t", toml::from_str::<RawRubric>(DEFAULT).unwrap()).unwrap()
    }

    fn department(name: &str, rank: usize, total: i64, levels: &[&'static str]) -> DepartmentScore {
        let lines = levels
            .iter()
            .enumerate()
            .map(|(i, level)| Line {
                source: Source::Adoption { id: i as i64, item: i as i64, work: i as i64, level },
                section: String::new(),
                item: String::new(),
                date: "2024-02-01".into(),
                value: 0,
                counted: 0,
                text: String::new(),
            })
            .collect();
        DepartmentScore { department: name.into(), rank, total, items: vec![], sections: vec![SectionScore { section: "基础业务".into(), points: total, max: 1200 }], lines }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn board_row(name: &str, state: State, photos: i64) -> DepartmentRow {
        DepartmentRow { department: name.into(), state, photos, videos: 1, ..Default::default() }
    }

    #[test]
    fn months_are_counted_per_department_and_late_and_missing_are_named_by_month() {
        let scores = Scores {
            year: 2024,
            month: None,
            max: 3000,
            departments: vec![department("甲", 1, 650, &["banner", "banner", "city"]), department("乙", 2, 600, &[]), department("丙", 2, 600, &["province"])],
        };
        let c = |m| Cycle::new(2024, m).unwrap();
        let months = vec![
            (c(1), vec![board_row("甲", State::OnTime, 5), board_row("乙", State::Late { by_seconds: 60 }, 2), board_row("丙", State::Missing, 0)]),
            (c(2), vec![board_row("甲", State::OnTime, 3), board_row("乙", State::Missing, 0), board_row("丙", State::Missing, 0)]),
            (c(3), vec![board_row("甲", State::Pending, 1), board_row("乙", State::Pending, 0), board_row("丙", State::Pending, 0)]),
        ];
        let t = assemble(Span::Quarter(2024, 1), &rubric(), &scores, &months, "办公室", day(2024, 4, 5));
        assert_eq!(t.rows[0], Row { rank: 1, department: "甲".into(), reported: 2, on_time: 2, late: 0, missing: 0, photos: 9, videos: 3, banner: 2, city: 1, province: 0, sections: vec!["6.50".into()], total: "6.50".into() });
        assert_eq!((t.rows[1].reported, t.rows[1].late, t.rows[1].missing), (1, 1, 1));
        assert_eq!(t.late, vec![Named { department: "乙".into(), months: "1月".into() }]);
        assert_eq!(t.missing.iter().map(|n| (n.department.as_str(), n.months.as_str())).collect::<Vec<_>>(), [("乙", "2月"), ("丙", "1月、2月")]);
        assert_eq!((t.totals.due, t.totals.reported, t.totals.on_time, t.totals.late, t.totals.missing), (6, 3, 2, 1, 3));
        assert_eq!((t.totals.banner, t.totals.city, t.totals.province), (2, 1, 1));
        assert_eq!(t.pending, "3月");
        assert_eq!((t.through.as_str(), t.date.as_str()), ("2024年3月底", "2024年4月5日"));
        let early = assemble(Span::Quarter(2024, 1), &rubric(), &scores, &months, "办公室", day(2024, 3, 20));
        assert_eq!(early.through, "2024年3月20日", "made before the quarter ends");
        assert_eq!(month_list(&[1, 2, 3, 5, 7, 8, 10, 11, 12]), "1—3月、5月、7月、8月、10—12月");
        assert_eq!(t.top, "", "all three share the first three places");
        assert_eq!(t.period, "2024年第一季度");
        assert!(t.sections[0].starts_with("基础业务（12分）"), "{:?}", t.sections);
    }
}
