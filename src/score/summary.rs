//! Pure: a month's adoptions per department, for the daily digest: how many at each
//! level, how many works, and what they scored in the month.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::compute::{Scores, Source};
use super::{Level, shown};
use crate::db::adoptions::Adoption;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AdoptionRow {
    pub department: String,
    pub banner: i64,
    pub city: i64,
    pub province: i64,
    /// Distinct works adopted.
    pub works: i64,
    /// Points the month's adoptions scored ("0.70"); '' when the rubric is of another year.
    pub points: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MonthAdoptions {
    /// "2024年4月"
    pub month_label: String,
    pub count: i64,
    pub works: i64,
    pub rows: Vec<AdoptionRow>,
}

/// `adoptions` dated in the month; `scores` of the month when the rubric covers it.
pub fn month(label: &str, adoptions: &[Adoption], scores: Option<&Scores>) -> MonthAdoptions {
    let mut rows: BTreeMap<&str, (AdoptionRow, BTreeSet<i64>)> = BTreeMap::new();
    for a in adoptions {
        let (row, works) = rows.entry(a.department.as_str()).or_insert_with(|| (AdoptionRow { department: a.department.clone(), ..Default::default() }, BTreeSet::new()));
        match Level::parse(&a.level) {
            Some(Level::Banner) => row.banner += 1,
            Some(Level::City) => row.city += 1,
            Some(Level::Province) => row.province += 1,
            None => {}
        }
        works.insert(a.work_ref);
    }
    let all_works: BTreeSet<i64> = adoptions.iter().map(|a| a.work_ref).collect();
    let rows: Vec<AdoptionRow> = rows
        .into_values()
        .map(|(mut row, works)| {
            row.works = works.len() as i64;
            if let Some(d) = scores.and_then(|s| s.departments.iter().find(|d| d.department == row.department)) {
                row.points = shown(d.lines.iter().filter(|l| matches!(l.source, Source::Adoption { .. })).map(|l| l.counted).sum());
            }
            row
        })
        .collect();
    MonthAdoptions { month_label: label.to_string(), count: adoptions.len() as i64, works: all_works.len() as i64, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_level_and_distinct_works() {
        let a = |id: i64, work: i64, d: &str, level: &str| Adoption { id, work_ref: work, item_ref: work, department: d.into(), level: level.into(), ..Default::default() };
        let m = month("2024年4月", &[a(1, 5, "乙", "banner"), a(2, 5, "乙", "city"), a(3, 6, "乙", "province"), a(4, 9, "甲", "banner")], None);
        assert_eq!((m.count, m.works), (4, 3));
        assert_eq!(m.rows[0], AdoptionRow { department: "乙".into(), banner: 1, city: 1, province: 1, works: 2, points: String::new() });
        assert_eq!(m.rows[1].department, "甲");
    }
}
