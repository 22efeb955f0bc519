//! Scoring under the year's 考核细则: the rubric (config), adoptions and ledger
//! entries checked against it, and the pure computation of every department's
//! points. Points are kept in hundredths (`Centi`) so that 80 × 0.1 is exactly 8.

pub mod compute;
pub mod ledger;
pub mod people;
pub mod period;
pub mod record;
pub mod rubric;
pub mod summary;

/// Hundredths of a point: 0.2 points is 20.
pub type Centi = i64;

/// "7.00", "-0.20": points as people read them, always with two decimals.
pub fn shown(c: Centi) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

/// Points for JSON and spreadsheets: a number rounded to 0.01.
pub fn number(c: Centi) -> f64 {
    c as f64 / 100.0
}

/// A number of points from config or the command line in hundredths, if it has at
/// most two decimals (0.1, -0.2, 7).
pub fn centi(points: f64) -> Option<Centi> {
    let c = (points * 100.0).round();
    ((points * 100.0 - c).abs() < 1e-6 && c.abs() < 1e9).then_some(c as Centi)
}

/// The level a work was adopted at: the banner (county) bureau's own channels, the
/// city bureau, or the regional public security department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Banner,
    City,
    Province,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Banner, Level::City, Level::Province];

    pub fn code(self) -> &'static str {
        match self {
            Level::Banner => "banner",
            Level::City => "city",
            Level::Province => "province",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Level::Banner => "旗局",
            Level::City => "市局",
            Level::Province => "公安厅",
        }
    }

    /// The code, or the Chinese name (旗局/市局/公安厅, also 自治区/厅).
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim() {
            "banner" | "旗局" | "旗" => Some(Level::Banner),
            "city" | "市局" | "市" => Some(Level::City),
            "province" | "公安厅" | "厅" | "自治区" | "region" => Some(Level::Province),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundredths_are_exact() {
        assert_eq!(centi(0.1), Some(10));
        assert_eq!(centi(-0.2), Some(-20));
        assert_eq!(centi(7.0), Some(700));
        assert_eq!(centi(0.125), None);
        assert_eq!(shown(700), "7.00");
        assert_eq!(shown(-20), "-0.20");
        assert_eq!(shown(5), "0.05");
        assert_eq!(number(810), 8.1);
    }
}
