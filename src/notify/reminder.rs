//! Reminders to departments that have not sent their package. Pure schedule:
//! `remind_days_before` days before the deadline and on the deadline day to pending
//! departments; the day after the deadline and then every `overdue_every_days` days to
//! missing ones, for `overdue_for_days` after the deadline (then the cycle is closed). Each step is sent at
//! `reminder_time`. A daemon that was down sends only the latest step due, once.

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Draft, cycle_label};
use crate::config::notify::NotifyConfig;
use crate::cycle::{Cycle, State, local};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Before,
    Deadline,
    /// The nth overdue reminder, from 1.
    Overdue(u32),
}

impl Step {
    pub fn key(self) -> String {
        match self {
            Step::Before => "before".into(),
            Step::Deadline => "deadline".into(),
            Step::Overdue(n) => format!("overdue-{n}"),
        }
    }
}

/// The latest step due at `as_of` for a deadline of `due_before` (the first late
/// instant), or None. `until` ends the overdue steps (the cycle is closed).
pub fn latest_step(due_before: i64, until: i64, as_of: i64, n: &NotifyConfig, tz: Tz) -> Option<(Step, i64)> {
    if as_of >= until {
        return None; // the cycle is closed
    }
    let last_day: NaiveDate = local(due_before - 1, tz).date_naive();
    let at = |d: NaiveDate| d.and_time(n.reminder_time).and_local_timezone(tz).earliest().map(|t| t.timestamp());
    let mut best: Option<(Step, i64)> = None;
    let mut consider = |step: Step, day: NaiveDate| {
        if let Some(t) = at(day) {
            if t <= as_of && best.is_none_or(|(_, b)| t >= b) {
                best = Some((step, t));
            }
        }
    };
    if n.remind_days_before > 0 {
        consider(Step::Before, last_day - Duration::days(i64::from(n.remind_days_before)));
    }
    if n.remind_on_deadline {
        consider(Step::Deadline, last_day);
    }
    let mut k = 1;
    loop {
        let day = last_day + Duration::days(1 + i64::from(k - 1) * i64::from(n.overdue_every_days));
        match at(day) {
            Some(t) if t <= as_of && t < until => consider(Step::Overdue(k), day),
            _ => break,
        }
        k += 1;
    }
    best
}

/// Whether `step` is still wanted for a department in `state` as of the reminder.
pub fn applies(step: Step, state: State) -> bool {
    match step {
        Step::Before | Step::Deadline => state == State::Pending,
        Step::Overdue(_) => state == State::Missing,
    }
}

#[derive(Debug, Serialize)]
pub struct Context {
    pub department: String,
    pub cycle_label: String,
    pub deadline: String,
    pub step: &'static str,
    pub days_left: i64,
    pub days_overdue: i64,
    pub extended: bool,
    pub mailbox: String,
    pub office: String,
}

pub fn sample() -> Context {
    Context {
        department: "嘎鲁图派出所".into(),
        cycle_label: "2024年3月".into(),
        deadline: "2024年3月25日".into(),
        step: "before",
        days_left: 3,
        days_overdue: 0,
        extended: false,
        mailbox: "1605739848@qq.com".into(),
        office: "宣传工作领导小组办公室".into(),
    }
}

/// Everything about one reminder that the template and the outbox need.
pub struct Reminder<'a> {
    pub department: &'a crate::roster::Department,
    pub cycle: Cycle,
    pub step: Step,
    pub step_at: i64,
    /// When the reminder is written; days left or overdue count from here.
    pub now: i64,
    pub due_before: i64,
    pub extended: bool,
}

pub fn draft(r: &Reminder<'_>, templates: &crate::templates::Templates, tz: Tz, mailbox: &str, office: &str) -> anyhow::Result<Draft> {
    let last_day = local(r.due_before - 1, tz).date_naive();
    let today = local(r.now.max(r.step_at), tz).date_naive();
    let ctx = Context {
        department: r.department.name.clone(),
        cycle_label: cycle_label(r.cycle),
        deadline: format!("{}年{}月{}日", last_day.year(), last_day.month(), last_day.day()),
        step: match r.step {
            Step::Before => "before",
            Step::Deadline => "deadline",
            Step::Overdue(_) => "overdue",
        },
        days_left: (last_day - today).num_days().max(0),
        days_overdue: (today - last_day).num_days().max(0),
        extended: r.extended,
        mailbox: mailbox.to_string(),
        office: office.to_string(),
    };
    let rendered = templates.render("reminder.txt", &ctx).map_err(anyhow::Error::msg)?;
    let (subject, text) = super::split_subject(&rendered);
    // From the second overdue reminder on, the department head is copied.
    let cc = match r.step {
        Step::Overdue(n) if n >= 2 => r.department.escalation.clone(),
        _ => vec![],
    };
    Ok(Draft {
        key: format!("reminder:{}:{}:{}", r.department.name, r.cycle, r.step.key()),
        kind: "reminder",
        department: r.department.name.clone(),
        cycle: r.cycle.to_string(),
        to: r.department.contacts.clone(),
        cc,
        subject,
        text,
        html: None,
        inline: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn t(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn the_schedule() {
        let n = NotifyConfig::default();
        let due = t("2024-03-26T00:00:00+08:00");
        let until = due + 14 * 24 * 3600;
        let step = |at: &str| latest_step(due, until, t(at), &n, Shanghai).map(|(s, _)| s);
        assert_eq!(step("2024-03-22T08:59:00+08:00"), None);
        assert_eq!(step("2024-03-22T09:00:00+08:00"), Some(Step::Before));
        assert_eq!(step("2024-03-25T09:30:00+08:00"), Some(Step::Deadline));
        assert_eq!(step("2024-03-26T09:00:00+08:00"), Some(Step::Overdue(1)));
        assert_eq!(step("2024-03-28T23:00:00+08:00"), Some(Step::Overdue(1)));
        assert_eq!(step("2024-03-29T09:00:00+08:00"), Some(Step::Overdue(2)));
        // Down for a week: only the latest step.
        assert_eq!(step("2024-04-05T10:00:00+08:00"), Some(Step::Overdue(4)));
        // Fourteen days after the deadline the cycle is closed: nothing more.
        assert_eq!(step("2024-04-08T10:00:00+08:00"), Some(Step::Overdue(5)));
        assert_eq!(step("2024-04-09T10:00:00+08:00"), None);
        assert!(applies(Step::Before, State::Pending) && !applies(Step::Before, State::OnTime));
        assert!(applies(Step::Overdue(2), State::Missing) && !applies(Step::Overdue(2), State::Late { by_seconds: 1 }));
    }
}
