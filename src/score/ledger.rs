//! Pure: what may be recorded. An adoption needs an accepted photo or video (a copy
//! resolves to its original work); a ledger entry needs an item of the rubric that
//! takes entries, one of its values, and a date it allows. Refusals are data with a
//! stable code and a Chinese reason.

use chrono::{Datelike, NaiveDate};

use super::rubric::{Item, Rubric};
use super::{Centi, shown};
use crate::db::adoptions::Candidate;
use crate::db::items::{Kind, Status};
use crate::db::messages::Disposition;
use crate::rejection::Flag;

#[derive(Debug, Clone, PartialEq)]
pub enum AdoptRefusal {
    NotFound { id: i64 },
    /// The file's mail was not counted as a package (held, refused, dismissed …).
    NotCounted { id: i64, name: String },
    Refused { id: i64, name: String, reason: String },
    Decoration { id: i64, name: String },
    Duplicate { id: i64, name: String, of: i64 },
    NotPhotoOrVideo { id: i64, name: String, kind: Kind },
}

impl AdoptRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            AdoptRefusal::NotFound { .. } => "not_found",
            AdoptRefusal::NotCounted { .. } => "not_counted",
            AdoptRefusal::Refused { .. } => "refused_item",
            AdoptRefusal::Decoration { .. } => "decoration",
            AdoptRefusal::Duplicate { .. } => "duplicate",
            AdoptRefusal::NotPhotoOrVideo { .. } => "not_photo_or_video",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            AdoptRefusal::NotFound { id } => format!("没有编号为 {id} 的文件（编号见 baosong items）"),
            AdoptRefusal::NotCounted { id, name } => format!("文件 {id}「{name}」所在的邮件没有计入报送（待审核、已驳回或整封拒收），不能登记采用"),
            AdoptRefusal::Refused { id, name, reason } => format!("文件 {id}「{name}」已拒收（{reason}），不是作品，不能登记采用"),
            AdoptRefusal::Decoration { id, name } => format!("文件 {id}「{name}」是邮件正文中的装饰图片（如签名图标），不是作品，不能登记采用"),
            AdoptRefusal::Duplicate { id, name, of } => format!("文件 {id}「{name}」是重复报送的文件，与文件 {of} 完全相同；请登记文件 {of}"),
            AdoptRefusal::NotPhotoOrVideo { id, name, kind } => {
                let kind = match kind {
                    Kind::Link => "超大附件链接",
                    Kind::None => "其他文件",
                    k => k.label(),
                };
                format!("文件 {id}「{name}」是{kind}，只有照片和视频能登记采用")
            }
        }
    }
}

/// Whether `c` may be adopted; `Ok(Some(original))` when it is a copy of an earlier
/// work (near_duplicate, reused or shared_work) that the caller must follow.
pub fn adoptable(c: &Candidate) -> Result<Option<i64>, AdoptRefusal> {
    let (id, name) = (c.id, c.shown_name.clone());
    if c.disposition != Disposition::Package {
        return Err(AdoptRefusal::NotCounted { id, name });
    }
    match c.status {
        Status::Rejected => return Err(AdoptRefusal::Refused { id, name, reason: c.reason.clone() }),
        Status::Decoration => return Err(AdoptRefusal::Decoration { id, name }),
        Status::Duplicate => return Err(AdoptRefusal::Duplicate { id, name, of: c.duplicate_of }),
        Status::Accepted | Status::Shared => {}
    }
    if !c.kind.is_work() {
        return Err(AdoptRefusal::NotPhotoOrVideo { id, name, kind: c.kind });
    }
    Ok(copy_of(c))
}

/// The earlier item a copy is linked to, if it is a copy.
pub fn copy_of(c: &Candidate) -> Option<i64> {
    let flags = Flag::parse_list(&c.flags);
    let linked = flags.iter().any(|f| matches!(f, Flag::NearDuplicate | Flag::Reused | Flag::SharedWork));
    (linked && c.similar_to != 0 && c.similar_to != c.id).then_some(c.similar_to)
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntryRefusal {
    UnknownItem { name: String, names: Vec<String> },
    AdoptionsOnly { item: String },
    ValueNotAccepted { item: String, value: Centi, accepted: String },
    NoDoubling { item: String },
    OtherYear { date: String, year: i32 },
    MonthOutside { item: String, month: u32, months: Vec<u32> },
    MonthTaken { item: String, month: u32, id: i64 },
    Unknown { department: String },
}

impl EntryRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            EntryRefusal::UnknownItem { .. } => "unknown_item",
            EntryRefusal::AdoptionsOnly { .. } => "adoptions_only",
            EntryRefusal::ValueNotAccepted { .. } => "value_not_accepted",
            EntryRefusal::NoDoubling { .. } => "no_doubling",
            EntryRefusal::OtherYear { .. } => "other_year",
            EntryRefusal::MonthOutside { .. } => "month_outside",
            EntryRefusal::MonthTaken { .. } => "month_taken",
            EntryRefusal::Unknown { .. } => "unknown_department",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            EntryRefusal::UnknownItem { name, names } => format!("考核细则中没有项目「{name}」。可登记的项目：{}", names.join("、")),
            EntryRefusal::AdoptionsOnly { item } => format!("「{item}」按报送作品的采用计分，不能手工登记：用 baosong adopt 文件编号 --level banner|city|province 登记采用"),
            EntryRefusal::ValueNotAccepted { item, value, accepted } => format!("「{item}」不能登记 {} 分。可登记的分值：{accepted}", shown(*value)),
            EntryRefusal::NoDoubling { item } => format!("「{item}」没有翻倍扣分的规定，不能加 --negative-opinion"),
            EntryRefusal::OtherYear { date, year } => format!("日期 {date} 不在 {year} 年：当前的考核细则是 {year} 年的；其他年度请在配置 [scoring] rubric 中换用该年度的细则"),
            EntryRefusal::MonthOutside { item, month, months } => {
                let list: Vec<String> = months.iter().map(|m| format!("{m}月")).collect();
                format!("「{item}」只考核 {}，{month}月不能登记", list.join("、"))
            }
            EntryRefusal::MonthTaken { item, month, id } => format!("「{item}」每月只登记一次，该单位{month}月已有登记 {id}（要更正请先 baosong score remove {id}）"),
            EntryRefusal::Unknown { department } => format!("名单中没有单位「{department}」"),
        }
    }
}

/// The item an entry goes to, if `points` (hundredths, as entered) on `date` is
/// allowed. `month_entries` are the department's entries of this item in `date`'s
/// month (for once-per-month items).
pub fn check_entry<'r>(rubric: &'r Rubric, item: &str, points: Centi, doubled: bool, date: NaiveDate, month_entries: &[i64]) -> Result<&'r Item, EntryRefusal> {
    let Some(it) = rubric.item(item) else {
        return Err(EntryRefusal::UnknownItem { name: item.to_string(), names: rubric.items().filter(|i| i.takes_entries()).map(|i| i.name.clone()).collect() });
    };
    if !it.takes_entries() {
        return Err(EntryRefusal::AdoptionsOnly { item: it.name.clone() });
    }
    let ok = if it.any_points { points > 0 && points <= it.max } else { it.events.iter().any(|e| e.points == points) };
    if !ok {
        return Err(EntryRefusal::ValueNotAccepted { item: it.name.clone(), value: points, accepted: it.accepted() });
    }
    if doubled && it.double_when.is_none() {
        return Err(EntryRefusal::NoDoubling { item: it.name.clone() });
    }
    if date.year() != rubric.year {
        return Err(EntryRefusal::OtherYear { date: date.to_string(), year: rubric.year });
    }
    if !it.months.is_empty() && !it.months.contains(&date.month()) {
        return Err(EntryRefusal::MonthOutside { item: it.name.clone(), month: date.month(), months: it.months.clone() });
    }
    if it.once_per_month {
        if let Some(&id) = month_entries.first() {
            return Err(EntryRefusal::MonthTaken { item: it.name.clone(), month: date.month(), id });
        }
    }
    Ok(it)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::rubric::{DEFAULT, RawRubric};

    fn rubric() -> Rubric {
        Rubric::from_raw("t", toml::from_str::<RawRubric>(DEFAULT).unwrap()).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_rubric_decides_what_an_entry_may_be() {
        let r = rubric();
        assert_eq!(check_entry(&r, "矩阵响应", -20, false, day("2024-05-01"), &[]).unwrap().name, "矩阵响应");
        let e = check_entry(&r, "矩阵响应", -30, false, day("2024-05-01"), &[]).unwrap_err();
        assert_eq!(e.code(), "value_not_accepted");
        assert!(e.reason().contains("-0.20（转发、投票任务未完成）"), "{}", e.reason());
        assert_eq!(check_entry(&r, "矩阵响应", -20, true, day("2024-05-01"), &[]).unwrap_err().code(), "no_doubling");
        assert!(check_entry(&r, "政务新媒体", -20, true, day("2024-05-01"), &[]).is_ok());
        assert_eq!(check_entry(&r, "图片视频报送", 10, false, day("2024-05-01"), &[]).unwrap_err().code(), "adoptions_only");
        assert_eq!(check_entry(&r, "宣传", 10, false, day("2024-05-01"), &[]).unwrap_err().code(), "unknown_item");
        assert_eq!(check_entry(&r, "矩阵响应", -20, false, day("2025-01-02"), &[]).unwrap_err().code(), "other_year");
        assert!(check_entry(&r, "外宣刊稿", 137, false, day("2024-05-01"), &[]).is_ok());
        assert_eq!(check_entry(&r, "外宣刊稿", 1001, false, day("2024-05-01"), &[]).unwrap_err().code(), "value_not_accepted");
    }

    #[test]
    fn the_best_star_is_deducted_march_to_august_once_a_month() {
        let r = rubric();
        for m in ["2024-02-28", "2024-09-01", "2024-12-01"] {
            let e = check_entry(&r, "典型选树", -50, false, day(m), &[]).unwrap_err();
            assert_eq!(e.code(), "month_outside", "{m}");
            assert!(e.reason().contains("只考核 3月、4月、5月、6月、7月、8月"), "{}", e.reason());
        }
        assert!(check_entry(&r, "典型选树", -50, false, day("2024-03-31"), &[]).is_ok());
        assert_eq!(check_entry(&r, "典型选树", -50, false, day("2024-08-01"), &[7]).unwrap_err().code(), "month_taken");
    }

    fn candidate(status: &str, kind: &str, flags: &str, similar_to: i64) -> Candidate {
        Candidate { id: 9, status: Status::from_code(status).unwrap(), kind: Kind::from_code(kind).unwrap(), flags: flags.into(), similar_to, disposition: Disposition::Package, shown_name: "a.jpg".into(), ..Default::default() }
    }

    #[test]
    fn only_accepted_photos_and_videos_are_works_and_copies_point_to_them() {
        assert_eq!(adoptable(&candidate("accepted", "photo", "", 0)), Ok(None));
        assert_eq!(adoptable(&candidate("accepted", "photo", "near_duplicate", 4)), Ok(Some(4)));
        assert_eq!(adoptable(&candidate("shared", "video", "shared_work", 3)), Ok(Some(3)));
        assert_eq!(adoptable(&candidate("accepted", "photo", "blurry", 0)), Ok(None));
        assert_eq!(adoptable(&candidate("rejected", "", "", 0)).unwrap_err().code(), "refused_item");
        assert_eq!(adoptable(&candidate("decoration", "photo", "", 0)).unwrap_err().code(), "decoration");
        assert_eq!(adoptable(&candidate("duplicate", "photo", "duplicate", 0)).unwrap_err().code(), "duplicate");
        assert_eq!(adoptable(&candidate("accepted", "document", "", 0)).unwrap_err().code(), "not_photo_or_video");
    }
}
