//! Pure rules of the monthly cycle: which month a package belongs to, the deadline,
//! and a department's state as of a given time. Nothing here reads the clock.
//!
//! The rule for a package's month:
//! 1. A month named in the subject or an archive name ("3月", "3月份", "2024年3月",
//!    "二月", "2月份补报") decides. Without a year, the year is the latest one whose
//!    month is not after the month of receipt (a "12月" package received in January
//!    belongs to last December).
//! 2. Otherwise it is the month of receipt, local time. The exception: when the
//!    department already has a counted package for that month and this mail came
//!    after the deadline, it is the first package of the next month.
//! 3. `baosong reassign PACKAGE --cycle YYYY-MM` overrides both.

use std::fmt;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;
use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cycle {
    pub year: i32,
    pub month: u32,
}

impl Cycle {
    pub fn new(year: i32, month: u32) -> Option<Cycle> {
        (1..=12).contains(&month).then_some(Cycle { year, month })
    }

    pub fn of<T: TimeZone>(t: &DateTime<T>) -> Cycle {
        Cycle { year: t.year(), month: t.month() }
    }

    /// The cycle containing Unix time `at` in `tz`.
    pub fn at(at: i64, tz: Tz) -> Cycle {
        Cycle::of(&local(at, tz))
    }

    pub fn next(self) -> Cycle {
        if self.month == 12 { Cycle { year: self.year + 1, month: 1 } } else { Cycle { year: self.year, month: self.month + 1 } }
    }

    /// "2024-03".
    pub fn parse(s: &str) -> Option<Cycle> {
        let (y, m) = s.trim().split_once('-')?;
        Cycle::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// 00:00 local time on the 1st of the month.
    pub fn start(self, tz: Tz) -> DateTime<Tz> {
        let midnight = NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default().and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&midnight).earliest().unwrap_or_else(|| tz.from_utc_datetime(&midnight))
    }

    /// The first instant that is late: 00:00 local time on the day after `deadline_day`.
    pub fn due_before(self, deadline_day: u32, tz: Tz) -> DateTime<Tz> {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, deadline_day)
            .and_then(|d| d.succ_opt())
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(self.next().year, self.next().month, 1).unwrap_or_default());
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&midnight).earliest().unwrap_or_else(|| tz.from_utc_datetime(&midnight))
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

pub fn local(at: i64, tz: Tz) -> DateTime<Tz> {
    DateTime::from_timestamp(at, 0).unwrap_or_default().with_timezone(&tz)
}

static WITH_YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(20\d\d)\s*年\s*(\d{1,2})\s*月").expect("regex"));
static DIGIT_MONTH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(^|[^\d])(\d{1,2})\s*月").expect("regex"));
static HAN_MONTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(十二|十一|十|一|二|三|四|五|六|七|八|九)月").expect("regex"));

/// A month named in `text`, placed in a year relative to the cycle of receipt.
pub fn month_named(text: &str, received: Cycle) -> Option<Cycle> {
    if let Some(c) = WITH_YEAR.captures(text) {
        if let Some(cy) = Cycle::new(c[1].parse().ok()?, c[2].parse().ok()?) {
            return Some(cy);
        }
    }
    let month: u32 = if let Some(c) = DIGIT_MONTH.captures_iter(text).find(|c| c[2].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))) {
        c[2].parse().ok()?
    } else {
        let c = HAN_MONTH.captures(text)?;
        let han = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"];
        han.iter().position(|h| *h == &c[1])? as u32 + 1
    };
    let year = if month <= received.month { received.year } else { received.year - 1 };
    Cycle::new(year, month)
}

/// Which cycle a package belongs to (see the module docs for the rule).
pub fn assign(named: Option<Cycle>, received_at: i64, tz: Tz, deadline_day: u32, already_counted_in_month: bool) -> Cycle {
    if let Some(c) = named {
        return c;
    }
    let month = Cycle::at(received_at, tz);
    let late = received_at >= month.due_before(deadline_day, tz).timestamp();
    if late && already_counted_in_month { month.next() } else { month }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum State {
    OnTime,
    Late { by_seconds: i64 },
    Missing,
    #[default]
    Pending,
}

impl State {
    pub fn code(self) -> &'static str {
        match self {
            State::OnTime => "on_time",
            State::Late { .. } => "late",
            State::Missing => "missing",
            State::Pending => "pending",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::OnTime => "按时",
            State::Late { .. } => "逾期",
            State::Missing => "未报",
            State::Pending => "待报",
        }
    }
}

/// A department's state as of `as_of`, given when its first counted package with an
/// accepted work arrived (already limited to packages received by `as_of`).
pub fn state(due_before: i64, first_received: Option<i64>, as_of: i64) -> State {
    match first_received {
        Some(t) if t < due_before => State::OnTime,
        Some(t) => State::Late { by_seconds: t - due_before },
        None if as_of >= due_before => State::Missing,
        None => State::Pending,
    }
}

/// One source of a message's receipt time, as the mail gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stamp {
    /// The source is not there (no INTERNALDATE, no Received header, no Date header).
    #[default]
    Absent,
    /// Present but not a date (garbage, month 13, year 0).
    Unreadable,
    At(i64),
}

/// 2005-01-01T00:00:00Z: no department mailed a package before this. (Not 2000: a
/// Date of year 0, `Sat, 01 Jan 0000 00:00:00 -1200`, is read as 2000-01-01 12:00 UTC by
/// mail-parser's two-digit-year rule, and 2000-01-01 is where the clocks of phones and
/// cameras that lost their time start.)
pub const EARLIEST_RECEIPT: i64 = 1_104_537_600;

/// Whether a month can be a package's: from 2000-01 to the month after `now`'s. A month
/// named in a subject outside that ("2099年3月") is not taken.
pub fn plausible(c: Cycle, now: i64, tz: Tz) -> bool {
    c >= Cycle { year: 2000, month: 1 } && c <= Cycle::at(now, tz).next()
}

/// When a message was received: the first of `sources`, taken in order (IMAP
/// INTERNALDATE, topmost Received, Date), that lies in [2005-01-01, `now` + 1 day];
/// `now` (the processing time) when none does. The flag is true when a source was
/// passed over because it was unreadable or out of that range (`bad_date`); a source
/// after the one used is not looked at.
pub fn receipt_time(sources: &[Stamp], now: i64) -> (i64, bool) {
    let mut passed_over = false;
    for s in sources {
        match *s {
            Stamp::Absent => {}
            Stamp::At(t) if (EARLIEST_RECEIPT..=now.saturating_add(86_400)).contains(&t) => return (t, passed_over),
            Stamp::At(_) | Stamp::Unreadable => passed_over = true,
        }
    }
    (now, passed_over)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn deadline_is_midnight_after_the_25th_local() {
        let c = Cycle::new(2024, 3).unwrap();
        assert_eq!(c.due_before(25, Shanghai).to_rfc3339(), "2024-03-26T00:00:00+08:00");
    }

    #[test]
    fn months_in_text() {
        let mar = Cycle::new(2024, 3).unwrap();
        let jan = Cycle::new(2024, 1).unwrap();
        for (text, recv, want) in [
            ("嘎鲁图派出所3月宣传素材", mar, "2024-03"),
            ("3月份", mar, "2024-03"),
            ("2023年12月补报", mar, "2023-12"),
            ("二月", mar, "2024-02"),
            ("2月份补报", mar, "2024-02"),
            ("十二月素材", jan, "2023-12"),
            ("12月", jan, "2023-12"),
            ("十一月", mar, "2023-11"),
        ] {
            assert_eq!(month_named(text, recv).map(|c| c.to_string()).as_deref(), Some(want), "{text}");
        }
        assert_eq!(month_named("宣传素材20240301", mar), None);
        assert_eq!(month_named("13月", mar), None);
    }

    #[test]
    fn late_second_package_rolls_to_next_month() {
        let late = at("2024-03-27T10:00:00+08:00");
        assert_eq!(assign(None, late, Shanghai, 25, false).to_string(), "2024-03");
        assert_eq!(assign(None, late, Shanghai, 25, true).to_string(), "2024-04");
        let on_time = at("2024-03-25T23:59:59+08:00");
        assert_eq!(assign(None, on_time, Shanghai, 25, true).to_string(), "2024-03");
        let named = Cycle::new(2024, 2);
        assert_eq!(assign(named, late, Shanghai, 25, true).to_string(), "2024-02");
    }

    #[test]
    fn states() {
        let due = at("2024-03-26T00:00:00+08:00");
        assert_eq!(state(due, Some(due - 1), due + 99), State::OnTime);
        assert_eq!(state(due, Some(due + 3600), due + 99999), State::Late { by_seconds: 3600 });
        assert_eq!(state(due, None, due), State::Missing);
        assert_eq!(state(due, None, due - 1), State::Pending);
    }

    #[test]
    fn receipt_time_skips_impossible_dates() {
        use Stamp::*;
        let now = 1_711_000_000; // 2024-03-21
        let mar19 = 1_710_813_600;
        assert_eq!(receipt_time(&[At(mar19), At(1), At(2)], now), (mar19, false), "INTERNALDATE first");
        assert_eq!(receipt_time(&[Absent, At(mar19), At(2)], now), (mar19, false), "then the topmost Received");
        assert_eq!(receipt_time(&[Absent, Absent, At(mar19)], now), (mar19, false), "then Date");
        assert_eq!(receipt_time(&[Absent, Absent, Absent], now), (now, false), "nothing: processing time, no flag");
        // Year 1970, 2099, garbage: passed over and flagged.
        assert_eq!(receipt_time(&[Absent, Absent, At(0)], now), (now, true));
        assert_eq!(receipt_time(&[Absent, Absent, At(4_070_908_800)], now), (now, true));
        assert_eq!(receipt_time(&[Absent, Absent, Unreadable], now), (now, true));
        assert_eq!(receipt_time(&[Absent, At(4_070_908_800), At(mar19)], now), (mar19, true), "a far-future Received gives way to Date");
        // The bounds themselves, and a clock a little ahead.
        assert_eq!(receipt_time(&[At(EARLIEST_RECEIPT)], now), (EARLIEST_RECEIPT, false));
        assert_eq!(receipt_time(&[At(EARLIEST_RECEIPT - 1)], now), (now, true));
        assert_eq!(receipt_time(&[At(now + 86_400)], now), (now + 86_400, false));
        assert_eq!(receipt_time(&[At(now + 86_401)], now), (now, true));
        // Year 0 as mail-parser reads it (2000-01-01 12:00 UTC) is passed over.
        assert_eq!(receipt_time(&[Absent, At(946_728_000), At(946_728_000)], now), (now, true));
    }

    #[test]
    fn plausible_months_run_from_2000_to_next_month() {
        let now = at("2026-12-07T10:00:00+08:00");
        assert!(plausible(Cycle::new(2000, 1).unwrap(), now, Shanghai));
        assert!(!plausible(Cycle::new(1999, 12).unwrap(), now, Shanghai));
        assert!(plausible(Cycle::new(2027, 1).unwrap(), now, Shanghai));
        assert!(!plausible(Cycle::new(2027, 2).unwrap(), now, Shanghai));
        assert!(!plausible(Cycle::new(2099, 3).unwrap(), now, Shanghai));
    }
}
