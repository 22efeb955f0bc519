//! Pure: what a message and each of its files are, from what analysis found and what
//! the database already knows (gathered by the caller in the message's transaction).
//! Nothing here reads the clock, the disk or the database; `record` gathers, asks
//! this, places the files (`place`) and writes the rows.

use std::collections::HashMap;

use crate::categories::{Categories, CategoryNo};
use crate::cycle::{self, Cycle};
use crate::db::messages::CycleRule;
use crate::inspect::{self, Kind};
use crate::rejection::{Flag, HeldReason, Rejection};
use crate::resolve::Decision;
use crate::unpack;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Refused whole (too many parts, too large, broken …).
    Rejected(Rejection),
    /// No material: a reply, a signature logo.
    Correspondence,
    /// Material, but nobody's package.
    Unrelated,
    /// Someone's package, perhaps: for the office to approve. `reason` when there is
    /// more to say than an unknown sender (a roster address that failed its check).
    Held { guess: String, reason: Option<HeldReason> },
    Package { department: String, on_behalf: bool },
}

/// The message's route from its analysis and whose it is. `held_for`: why a package
/// of a known department is held all the same (its sender's check failed).
pub fn route(message_rejection: Option<Rejection>, is_package: bool, whose: Decision, held_for: Option<HeldReason>) -> Route {
    if let Some(r) = message_rejection {
        return Route::Rejected(r);
    }
    if !is_package {
        return Route::Correspondence;
    }
    match whose {
        Decision::Unrelated => Route::Unrelated,
        Decision::Held { guess } => Route::Held { guess, reason: None },
        Decision::Department { name, .. } if held_for.is_some() => Route::Held { guess: name, reason: held_for },
        Decision::Department { name, on_behalf } => Route::Package { department: name, on_behalf },
    }
}

/// A package's month and the rule that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub cycle: Cycle,
    pub rule: CycleRule,
    /// A month named in the mail that no package can be for (before 2000, after next
    /// month): passed over, and the mail flagged `bad_date`.
    pub bad_date: bool,
}

/// The month: the one a person moved it to, or the one the mail names (if plausible at
/// `now`), or the month received (the next one for a second package after the deadline).
pub fn month(named: Option<Cycle>, manual: Option<Cycle>, received_at: i64, now: i64, tz: chrono_tz::Tz, deadline_day: u32, already_counted_in_month: bool) -> Month {
    let received = Cycle::at(received_at, tz);
    let bad_date = named.is_some_and(|c| !cycle::plausible(c, now, tz));
    let named = named.filter(|_| !bad_date);
    let assigned = cycle::assign(named, received_at, tz, deadline_day, already_counted_in_month);
    let rule = if named.is_some() {
        CycleRule::Named
    } else if assigned != received {
        CycleRule::RolledOver
    } else {
        CycleRule::Received
    };
    match manual {
        Some(moved) => Month { cycle: moved, rule: CycleRule::Manual, bad_date },
        None => Month { cycle: assigned, rule, bad_date },
    }
}

/// An item a decision points at: recorded already, or an earlier file of this message
/// (whose id is known once it is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    Item(i64),
    InMessage(usize),
}

/// A counted photo or video to compare with: recorded, or accepted earlier in this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub at: Ref,
    pub phash: String,
    pub sha256: String,
    pub department: String,
    pub cycle: String,
}

impl Counted {
    pub fn recorded(h: crate::db::items::Hashed) -> Counted {
        Counted { at: Ref::Item(h.id), phash: h.phash, sha256: h.sha256, department: h.department, cycle: h.cycle }
    }
}

/// What the database knows about a package's files: for each SHA-256, the item of the
/// same department and month counted with it (`twins`) and every counted item with it
/// (`same`); and every counted photo's perceptual hash (`phashes`). Lookups see only
/// what they may (`db::items::Before`).
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub twins: HashMap<String, i64>,
    pub same: HashMap<String, Vec<Counted>>,
    pub phashes: Vec<Counted>,
}

/// A kept file as the decision sees it.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub folders: &'a [String],
    pub name: &'a str,
    pub kind: Kind,
    pub mime: &'a str,
    pub sha256: &'a str,
    pub phash: Option<&'a str>,
    pub captured_at: Option<i64>,
    /// What unpacking and examining it flagged.
    pub flags: &'a [Flag],
    pub decoration: bool,
    /// The category a person chose for it (by its SHA-256), if any.
    pub chosen: Option<CategoryNo>,
}

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Accepted,
    /// The same file again, in the same department and month.
    Duplicate(Ref),
    /// Another department sent it first this month: counted there (`first` is marked too).
    Shared { first: i64 },
    /// A small image of the HTML body: stored, never counted.
    Decoration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub status: Status,
    pub category: CategoryNo,
    pub category_manual: bool,
    pub flags: Vec<Flag>,
    /// The earlier work it resembles (near duplicate, reused, shared), if any.
    pub similar_to: Option<Ref>,
    /// Its name in the tree (what its content is: no `.hta` holding a JPEG).
    pub tree_name: String,
}

/// The thresholds and rules a package's files are decided by.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub categories: &'a Categories,
    pub subject: &'a str,
    pub department: &'a str,
    pub cycle: Cycle,
    /// The start of `cycle` (Unix seconds), for "taken long before".
    pub cycle_start: i64,
    pub thresholds: inspect::quality::Thresholds,
}

/// Every file of a package, in order: a file accepted earlier in the message is
/// compared with those after it, as if it were recorded already.
pub fn files(facts: &[Facts<'_>], known: &Known, r: &Rules<'_>) -> Vec<File> {
    let cycle = r.cycle.to_string();
    let mut phashes = known.phashes.clone();
    let mut first_in_message: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::with_capacity(facts.len());
    for (i, f) in facts.iter().enumerate() {
        let category = f.chosen.unwrap_or_else(|| r.categories.classify(f.folders, f.name, r.subject));
        let (tree_name, renamed) = unpack::names::tree_name(f.name, f.mime);
        let mut d = File { status: Status::Accepted, category, category_manual: f.chosen.is_some(), flags: f.flags.to_vec(), similar_to: None, tree_name };
        if f.decoration {
            d.status = Status::Decoration;
            out.push(d);
            continue;
        }
        if inspect::quality::old_capture(f.captured_at, r.cycle_start, r.thresholds.old_capture_days) {
            d.flags.push(Flag::OldCapture);
        }
        let twin = first_in_message.get(f.sha256).map(|&j| Ref::InMessage(j)).or_else(|| known.twins.get(f.sha256).map(|&id| Ref::Item(id)));
        let like = if twin.is_some() { Likeness::default() } else { likeness(f, known, &phashes, r.department, &cycle, r.thresholds.near_duplicate_distance) };
        for (flag, found) in [(Flag::NearDuplicate, like.near), (Flag::Reused, like.reused), (Flag::SharedWork, like.shared.map(Ref::Item))] {
            if let Some(e) = found {
                d.flags.push(flag);
                d.similar_to = Some(e);
            }
        }
        if let Some(t) = twin {
            d.flags.push(Flag::Duplicate);
            d.status = Status::Duplicate(t);
        } else if let Some(first) = like.shared {
            d.status = Status::Shared { first };
        } else {
            if renamed && unpack::names::extension(f.name).is_some() {
                d.flags.push(Flag::NameMismatch);
            }
            if let Some(h) = f.phash {
                phashes.push(Counted { at: Ref::InMessage(i), phash: h.to_string(), sha256: f.sha256.to_string(), department: r.department.to_string(), cycle: cycle.clone() });
            }
            first_in_message.insert(f.sha256, i);
        }
        out.push(d);
    }
    out
}

/// Which earlier counted photos or videos a file is, or resembles: byte for byte, or
/// within `max_distance` of its perceptual hash. Each is the closest match.
#[derive(Debug, Default, PartialEq, Eq)]
struct Likeness {
    /// The same department's other photo of this month.
    near: Option<Ref>,
    /// Any department's photo of an earlier month.
    reused: Option<Ref>,
    /// Another department's photo of this month (the first sent).
    shared: Option<i64>,
}

fn likeness(f: &Facts<'_>, known: &Known, phashes: &[Counted], department: &str, cycle: &str, max_distance: u32) -> Likeness {
    if !matches!(f.kind, Kind::Photo | Kind::Video) {
        return Likeness::default();
    }
    // (distance, counted): the same bytes are distance 0.
    let mut found: Vec<(u32, &Counted)> = known.same.get(f.sha256).map(|v| v.iter().map(|e| (0, e)).collect()).unwrap_or_default();
    if let Some(h) = f.phash {
        let same: Vec<Ref> = found.iter().map(|(_, e)| e.at).collect();
        found.extend(phashes.iter().filter(|e| !same.contains(&e.at)).filter_map(|e| inspect::photo::distance(h, &e.phash).filter(|&d| d <= max_distance).map(|d| (d, e))));
    }
    let closest = |keep: &dyn Fn(&Counted) -> bool| found.iter().filter(|(_, e)| keep(e)).min_by_key(|(d, e)| (*d, e.at)).map(|(_, e)| e.at);
    let recorded = |r: Ref| match r {
        Ref::Item(id) => Some(id),
        Ref::InMessage(_) => None,
    };
    Likeness {
        // The very same file of the same department and month is a duplicate, not this.
        near: closest(&|e| e.cycle == cycle && e.department == department && e.sha256 != f.sha256),
        reused: closest(&|e| e.cycle.as_str() < cycle),
        shared: found.iter().filter(|(_, e)| e.cycle == cycle && e.department != department).filter_map(|(_, e)| recorded(e.at)).min(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn routes() {
        let dept = Decision::Department { name: "嘎鲁图派出所".into(), on_behalf: false };
        assert_eq!(route(Some(Rejection::TooLarge), true, dept.clone(), None), Route::Rejected(Rejection::TooLarge));
        assert_eq!(route(None, false, dept.clone(), None), Route::Correspondence);
        assert_eq!(route(None, true, Decision::Unrelated, None), Route::Unrelated);
        assert_eq!(route(None, true, Decision::Held { guess: "图克派出所".into() }, None), Route::Held { guess: "图克派出所".into(), reason: None });
        assert_eq!(route(None, true, dept.clone(), None), Route::Package { department: "嘎鲁图派出所".into(), on_behalf: false });
        // A roster address whose check failed: held for the office, its department guessed.
        let forged = route(None, true, dept.clone(), Some(HeldReason::SenderAuthFailed));
        assert_eq!(forged, Route::Held { guess: "嘎鲁图派出所".into(), reason: Some(HeldReason::SenderAuthFailed) });
        // A reply from it carries nothing to count: not held.
        assert_eq!(route(None, false, dept, Some(HeldReason::SenderAuthFailed)), Route::Correspondence);
    }

    #[test]
    fn months() {
        let mar = Cycle::new(2024, 3).unwrap();
        let now = at("2024-04-01T00:00:00+08:00");
        let on_time = at("2024-03-19T10:00:00+08:00");
        let late = at("2024-03-28T10:00:00+08:00");
        assert_eq!(month(None, None, on_time, now, Shanghai, 25, false), Month { cycle: mar, rule: CycleRule::Received, bad_date: false });
        assert_eq!(month(None, None, late, now, Shanghai, 25, true).cycle, Cycle::new(2024, 4).unwrap());
        assert_eq!(month(None, None, late, now, Shanghai, 25, true).rule, CycleRule::RolledOver);
        let feb = Cycle::new(2024, 2).unwrap();
        assert_eq!(month(Some(feb), None, on_time, now, Shanghai, 25, false).rule, CycleRule::Named);
        let m = month(Some(Cycle::new(2099, 3).unwrap()), None, on_time, now, Shanghai, 25, false);
        assert_eq!(m, Month { cycle: mar, rule: CycleRule::Received, bad_date: true });
        assert_eq!(month(Some(feb), Some(mar), on_time, now, Shanghai, 25, false), Month { cycle: mar, rule: CycleRule::Manual, bad_date: false });
    }

    fn facts<'a>(name: &'a str, sha: &'a str, phash: Option<&'a str>) -> Facts<'a> {
        Facts { folders: &[], name, kind: Kind::Photo, mime: "image/jpeg", sha256: sha, phash, captured_at: None, flags: &[], decoration: false, chosen: None }
    }

    fn counted(id: i64, phash: &str, sha: &str, dept: &str, cycle: &str) -> Counted {
        Counted { at: Ref::Item(id), phash: phash.into(), sha256: sha.into(), department: dept.into(), cycle: cycle.into() }
    }

    #[test]
    fn twins_in_the_message_and_recorded_ones_are_duplicates() {
        let categories = crate::config::Config::embedded(std::path::Path::new(".")).unwrap().categories;
        let rules = Rules { categories: &categories, subject: "3月素材", department: "嘎鲁图派出所", cycle: Cycle::new(2024, 3).unwrap(), cycle_start: 0, thresholds: Default::default() };
        let mut known = Known::default();
        known.twins.insert("bbbb".into(), 7);
        let out = files(&[facts("a.jpg", "aaaa", None), facts("a (1).jpg", "aaaa", None), facts("b.jpg", "bbbb", None)], &known, &rules);
        assert_eq!(out[0].status, Status::Accepted);
        assert_eq!(out[1].status, Status::Duplicate(Ref::InMessage(0)));
        assert!(out[1].flags.contains(&Flag::Duplicate));
        assert_eq!(out[2].status, Status::Duplicate(Ref::Item(7)));
    }

    #[test]
    fn likeness_near_reused_and_shared() {
        let categories = crate::config::Config::embedded(std::path::Path::new(".")).unwrap().categories;
        let rules = Rules { categories: &categories, subject: "3月素材", department: "嘎鲁图派出所", cycle: Cycle::new(2024, 3).unwrap(), cycle_start: 0, thresholds: Default::default() };
        let h = "0000000000000000";
        let known = Known {
            twins: HashMap::new(),
            same: [("cccc".to_string(), vec![counted(3, h, "cccc", "图克派出所", "2024-03")])].into(),
            phashes: vec![counted(1, h, "old1", "无定河派出所", "2024-02")],
        };
        let out = files(&[facts("a.jpg", "aaaa", Some(h)), facts("b.jpg", "bbbb", Some(h)), facts("c.jpg", "cccc", Some(h))], &known, &rules);
        // The first resembles last month's photo: reused, still counted.
        assert_eq!((out[0].status.clone(), out[0].similar_to), (Status::Accepted, Some(Ref::Item(1))));
        assert!(out[0].flags.contains(&Flag::Reused));
        // The second also resembles the first of this message: a near duplicate of it.
        assert!(out[1].flags.contains(&Flag::NearDuplicate) && out[1].flags.contains(&Flag::Reused));
        // The third is another department's photo of this month, sent first: shared.
        assert_eq!(out[2].status, Status::Shared { first: 3 });
        assert!(out[2].flags.contains(&Flag::SharedWork));
    }
}
