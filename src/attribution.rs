//! Pure: who made a work. The first of a manual assignment, a name in the file or
//! folder name, the photo's EXIF Artist/XPAuthor, and the sender; otherwise 未署名.
//! Only people on the department's roster are ever named, so that a folder called
//! 主题党日 never becomes a person.

use crate::roster::{Department, Person, Roster};

/// Where an attribution came from. No author at all is `None` (未署名), not a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manual,
    FileName,
    Exif,
    Sender,
}

impl Source {
    /// The stored and printed code (`items --json`'s `author_source`).
    pub fn code(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::FileName => "file_name",
            Source::Exif => "exif",
            Source::Sender => "sender",
        }
    }

    pub fn parse(code: &str) -> Option<Source> {
        [Source::Manual, Source::FileName, Source::Exif, Source::Sender].into_iter().find(|s| s.code() == code)
    }

    /// In words, for the console.
    pub fn label(self) -> &'static str {
        match self {
            Source::Manual => "人工指定",
            Source::FileName => "文件名",
            Source::Exif => "照片或视频中的作者信息",
            Source::Sender => "发件人",
        }
    }
}

/// One author of a work: who, and the department they were credited under (the one
/// the work was sent under). Several authors share a work evenly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    /// The 警号, '' when the roster gives none.
    pub number: String,
    pub department: String,
}

impl Author {
    pub fn of(department: &Department, p: &Person) -> Author {
        Author { name: p.name.clone(), number: p.number.clone(), department: department.name.clone() }
    }
}

/// What a file says about who made it.
#[derive(Debug, Clone, Default)]
pub struct Clues<'a> {
    /// The file's name, and the folders it was in (outermost first).
    pub name: &'a str,
    pub folders: &'a [String],
    /// EXIF Artist and XPAuthor, as written.
    pub exif: &'a [String],
    /// The sender's address (lower case) and display name.
    pub from_addr: &'a str,
    pub from_name: &'a str,
}

/// The authors of a file sent under `department`, and where they came from; empty
/// authors and `None` when it is 未署名. `manual`, when a person assigned authors, wins.
pub fn attribute(manual: Option<&[Author]>, department: Option<&Department>, clues: &Clues<'_>) -> (Vec<Author>, Option<Source>) {
    if let Some(m) = manual.filter(|m| !m.is_empty()) {
        return (m.to_vec(), Some(Source::Manual));
    }
    let Some(d) = department else { return (Vec::new(), None) };
    if d.people.is_empty() {
        return (Vec::new(), None);
    }
    let texts = std::iter::once(clues.name).chain(clues.folders.iter().rev().map(String::as_str));
    for text in texts {
        let found = in_name(&d.people, text);
        if !found.is_empty() {
            return (found.into_iter().map(|p| Author::of(d, p)).collect(), Some(Source::FileName));
        }
    }
    let tagged: Vec<&Person> = d.people.iter().filter(|p| clues.exif.iter().any(|tag| tag_names(tag, p))).collect();
    if !tagged.is_empty() {
        return (tagged.into_iter().map(|p| Author::of(d, p)).collect(), Some(Source::Exif));
    }
    let addr = clues.from_addr.trim().to_lowercase();
    let by_addr: Vec<&Person> = d.people.iter().filter(|p| !addr.is_empty() && p.senders.contains(&addr)).collect();
    let by_name: Vec<&Person> = d.people.iter().filter(|p| !clues.from_name.trim().is_empty() && p.names().any(|n| n == clues.from_name.trim())).collect();
    for found in [by_addr, by_name] {
        if let [p] = found[..] {
            return (vec![Author::of(d, p)], Some(Source::Sender));
        }
    }
    (Vec::new(), None)
}

/// Whether authors found before (`before`, credited under the department the work was
/// sent under) all moved to another department with their police number: reprocess
/// cannot find them on the sending department's roster any more, and keeps them, so
/// that their history follows them. A person without a number is not followed.
pub fn moved_away(before: &[Author], roster: &Roster) -> bool {
    !before.is_empty() && before.iter().all(|a| roster.by_number(&a.number).is_some_and(|(d, _)| d.name != a.department))
}

/// Words that say who took a photo when they follow a name (张三摄, 张三 拍摄).
const AFTER: [&str; 6] = ["摄影", "拍摄", "供图", "摄", "制作", "作品"];
/// Words that say it when they come before one (摄影：张三, 作者-张三, 通讯员 张三).
const BEFORE: [&str; 8] = ["摄影", "拍摄", "作者", "摄", "供图", "通讯员", "图", "制作"];
/// What may stand between such a word and the name.
const GLUE: [char; 8] = ['：', ':', '-', '－', '_', ' ', '　', '/'];
/// What separates the names of several authors (张三、李四摄).
const AND: [&str; 5] = ["、", "，", ",", "和", "与"];
/// What a name alone between them is taken for an author (巡逻-张三-01.jpg).
const SEPARATORS: [char; 10] = ['-', '－', '_', ' ', '　', '、', '.', '，', ',', '+'];
const BRACKETS: [(char, char); 4] = [('（', '）'), ('(', ')'), ('【', '】'), ('[', ']')];

/// The department's people named as authors in one file or folder name, in roster
/// order: `张三摄`, `摄影：张三`, `作者-张三`, `（张三）`, `张三、李四摄` or a name standing
/// alone between separators. Names and aliases under two characters are never matched.
pub fn in_name<'p>(people: &'p [Person], text: &str) -> Vec<&'p Person> {
    let text = strip_extension(text);
    // Every place a name or alias of a person stands: (start, end, person).
    let mut spots: Vec<(usize, usize, usize)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        for n in p.names().filter(|n| n.chars().count() >= 2) {
            spots.extend(text.match_indices(n).map(|(at, m)| (at, at + m.len(), i)));
        }
    }
    // A longer name wins where two overlap (张三丰 over 张三).
    spots.sort_by(|a, b| a.0.cmp(&b.0).then((b.1 - b.0).cmp(&(a.1 - a.0))));
    let mut kept: Vec<(usize, usize, usize)> = Vec::new();
    for s in spots {
        if kept.last().is_none_or(|k| s.0 >= k.1) {
            kept.push(s);
        }
    }
    let mut credited: Vec<bool> = kept.iter().map(|&(start, end, _)| credits(&text[..start], &text[end..])).collect();
    // Names joined by 、 share what credits one of them (张三、李四摄; 摄影：张三、李四).
    loop {
        let mut changed = false;
        for k in 0..kept.len().saturating_sub(1) {
            let between = &text[kept[k].1..kept[k + 1].0];
            if AND.contains(&between.trim()) && credited[k] != credited[k + 1] {
                credited[k] = true;
                credited[k + 1] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut out: Vec<usize> = kept.iter().zip(&credited).filter(|(_, c)| **c).map(|(s, _)| s.2).collect();
    out.sort_unstable();
    out.dedup();
    out.into_iter().map(|i| &people[i]).collect()
}

/// Whether the words around a name make it the author's.
fn credits(before: &str, after: &str) -> bool {
    let after_trim = after.trim_start_matches([' ', '　']);
    if AFTER.iter().any(|w| after_trim.starts_with(w)) {
        return true;
    }
    let before_trim = before.trim_end_matches(GLUE);
    if BEFORE.iter().any(|w| before_trim.ends_with(w)) {
        return true;
    }
    let (prev, next) = (before.chars().next_back(), after.chars().next());
    if BRACKETS.iter().any(|&(open, close)| prev == Some(open) && next == Some(close)) {
        return true;
    }
    let bounded = |c: Option<char>| c.is_none_or(|c| SEPARATORS.contains(&c));
    bounded(prev) && bounded(next)
}

/// `张三摄.jpg` → `张三摄`: a file name without its extension.
fn strip_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric()) => stem,
        _ => name,
    }
}

/// Whether an EXIF author tag names `p`: the tag, or one of the names it lists, is
/// their name, an alias or their police number.
fn tag_names(tag: &str, p: &Person) -> bool {
    tag.split(['、', ',', '，', ';', '；', '/']).map(str::trim).filter(|t| !t.is_empty()).any(|t| p.names().any(|n| n == t) || (!p.number.is_empty() && t == p.number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, aliases: &[&str], senders: &[&str]) -> Person {
        Person { name: name.into(), number: String::new(), aliases: aliases.iter().map(|s| s.to_string()).collect(), senders: senders.iter().map(|s| s.to_string()).collect() }
    }

    fn dept() -> Department {
        Department {
            name: "嘎鲁图派出所".into(),
            aliases: vec![],
            senders: vec!["glt@qq.com".into(), "zs@qq.com".into()],
            contacts: vec![],
            escalation: vec![],
            people: vec![person("张三", &["小张"], &["zs@qq.com"]), person("李四", &[], &[]), person("王五", &[], &[])],
        }
    }

    fn names(found: Vec<&Person>) -> Vec<&str> {
        found.into_iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn credit_forms_in_file_names() {
        let d = dept();
        for text in ["张三摄.jpg", "巡逻 张三 摄.jpg", "摄影：张三.jpg", "摄影:张三_01.jpg", "作者-张三.jpg", "社区走访（张三）.jpg", "社区走访(张三).JPG", "【张三】夜巡.jpg", "小张摄.jpg", "2024-03-张三-01.jpg", "张三拍摄.mp4", "通讯员 张三.jpg"] {
            assert_eq!(names(in_name(&d.people, text)), ["张三"], "{text}");
        }
        assert_eq!(names(in_name(&d.people, "张三、李四摄.jpg")), ["张三", "李四"]);
        assert_eq!(names(in_name(&d.people, "摄影：李四、张三.jpg")), ["张三", "李四"]);
    }

    #[test]
    fn names_not_in_a_credit_or_not_on_the_roster_are_not_authors() {
        let d = dept();
        for text in ["主题党日.jpg", "张三丰摄.jpg", "慰问张三家属.jpg", "赵六摄.jpg", "IMG_0001.jpg", "张.jpg"] {
            assert!(in_name(&d.people, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn the_first_source_that_names_someone_wins() {
        let d = dept();
        let folders = vec!["三月".to_string(), "李四摄".to_string()];
        let exif = vec!["王五".to_string()];
        let mut c = Clues { name: "IMG_1.jpg", folders: &folders, exif: &exif, from_addr: "zs@qq.com", from_name: "" };
        let got = |c: &Clues<'_>| {
            let (a, s) = attribute(None, Some(&d), c);
            (a.into_iter().map(|a| a.name).collect::<Vec<_>>(), s)
        };
        assert_eq!(got(&c), (vec!["李四".to_string()], Some(Source::FileName)));
        c.folders = &[];
        assert_eq!(got(&c), (vec!["王五".to_string()], Some(Source::Exif)));
        c.exif = &[];
        assert_eq!(got(&c), (vec!["张三".to_string()], Some(Source::Sender)));
        c.from_addr = "glt@qq.com";
        c.from_name = "李四";
        assert_eq!(got(&c), (vec!["李四".to_string()], Some(Source::Sender)));
        c.from_name = "嘎鲁图所";
        assert_eq!(got(&c), (vec![], None));
        let manual = [Author { name: "王五".into(), number: String::new(), department: d.name.clone() }];
        assert_eq!(attribute(Some(&manual), Some(&d), &Clues { name: "张三摄.jpg", ..c }).1, Some(Source::Manual));
    }

    #[test]
    fn only_people_who_moved_with_a_police_number_keep_their_credit() {
        let raw: crate::roster::RawRoster = toml::from_str(
            "[[department]]\nname='甲所'\nsenders=['a@b.cn']\npeople=[{name='张三', number='1'}]\n[[department]]\nname='乙所'\nsenders=['c@d.cn']\npeople=[{name='李四', number='2'}, {name='王五'}]\n",
        )
        .unwrap();
        let roster = Roster::from_raw("t", raw).unwrap();
        let a = |name: &str, number: &str| Author { name: name.into(), number: number.into(), department: "乙所".into() };
        assert!(moved_away(&[a("张三", "1")], &roster), "乙所's work of 张三, now at 甲所");
        assert!(!moved_away(&[a("李四", "2")], &roster), "still at 乙所: the rules decide");
        assert!(!moved_away(&[a("赵六", "")], &roster), "no number");
        assert!(!moved_away(&[a("张三", "1"), a("赵六", "")], &roster));
        assert!(!moved_away(&[], &roster));
    }

    #[test]
    fn an_exif_tag_must_name_a_person_of_the_department() {
        let d = dept();
        let exif = vec!["Canon EOS".to_string(), "赵六".to_string()];
        assert_eq!(attribute(None, Some(&d), &Clues { exif: &exif, ..Clues::default() }), (vec![], None));
        let exif = vec!["张三、李四".to_string()];
        assert_eq!(attribute(None, Some(&d), &Clues { exif: &exif, ..Clues::default() }).0.len(), 2);
    }
}
