//! The ten work categories of the 2024 rules (①党的建设 … ⑩民警辅警生活点滴) and how
//! a folder name, a file name or a subject maps to one.

use serde::Deserialize;

use crate::config_error::ConfigError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCategories {
    #[serde(default)]
    category: Vec<RawCategory>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    number: i64,
    name: String,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Category {
    pub number: u8,
    pub name: String,
    pub keywords: Vec<String>,
}

/// A category number 1–10, or none (未分类).
pub type CategoryNo = Option<u8>;

pub const CIRCLED: [char; 10] = ['①', '②', '③', '④', '⑤', '⑥', '⑦', '⑧', '⑨', '⑩'];
const HAN_DIGITS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

#[derive(Debug, Clone)]
pub struct Categories {
    list: Vec<Category>,
}

impl Categories {
    pub fn from_raw(file: &str, raw: RawCategories) -> Result<Categories, ConfigError> {
        let mut list: Vec<Category> = Vec::new();
        for (i, c) in raw.category.into_iter().enumerate() {
            let nth = i + 1;
            if !(1..=10).contains(&c.number) {
                return Err(ConfigError::new(
                    file,
                    &format!("category[{i}].number"),
                    format!("第 {nth} 个类别的编号 {} 不在 1 到 10 之间", c.number),
                    "十个类别依次编号 1 到 10（对应 ①–⑩），每个编号只出现一次",
                ));
            }
            if let Some(j) = list.iter().position(|x| i64::from(x.number) == c.number) {
                return Err(ConfigError::new(
                    file,
                    &format!("category[{i}].number"),
                    format!("第 {nth} 个类别与第 {} 个类别的编号都是 {}", j + 1, c.number),
                    "十个类别依次编号 1 到 10（对应 ①–⑩），每个编号只出现一次",
                ));
            }
            if c.name.trim().is_empty() {
                return Err(ConfigError::new(file, &format!("category[{i}].name"), format!("第 {nth} 个类别的名称为空"), "填写类别名称，例如 \"党的建设\""));
            }
            let keywords = c.keywords.into_iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
            list.push(Category { number: c.number as u8, name: c.name.trim().to_string(), keywords });
        }
        if list.len() != 10 {
            return Err(ConfigError::new(file, "category", format!("只有 {} 个类别", list.len()), "按细则写满十个类别 ①–⑩"));
        }
        list.sort_by_key(|c| c.number);
        Ok(Categories { list })
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, number: u8) -> Option<&Category> {
        self.list.iter().find(|c| c.number == number)
    }

    /// The folder label in the browsable tree: "①党的建设", or "未分类".
    pub fn label(&self, no: CategoryNo) -> String {
        match no.and_then(|n| self.get(n)) {
            Some(c) => format!("{}{}", CIRCLED[usize::from(c.number) - 1], c.name),
            None => "未分类".to_string(),
        }
    }

    /// An explicit number at the start of a name: "①", "7.", "7、", "7-", "（七）", "七、".
    /// A bare number with nothing after it ("1.jpg") does not count.
    pub fn numbered(name: &str) -> CategoryNo {
        let s = strip_extension(name.trim_start());
        if let Some(i) = s.chars().next().and_then(|c| CIRCLED.iter().position(|&x| x == c)) {
            return Some(i as u8 + 1);
        }
        let (n, rest) = if let Some(r) = s.strip_prefix(['（', '(']) {
            let (n, r) = leading_number(r)?;
            (n, r.strip_prefix(['）', ')'])?)
        } else {
            let (n, r) = leading_number(s)?;
            let sep = r.chars().next()?;
            if !matches!(sep, '.' | '、' | '-' | '．' | '_' | ' ' | '，') {
                return None;
            }
            (n, &r[sep.len_utf8()..])
        };
        let meaningful = rest.trim().chars().any(|c| !c.is_ascii_digit() && !c.is_whitespace());
        (1..=10).contains(&n).then_some(n).filter(|_| meaningful)
    }

    /// The category whose name or keyword appears in `text`; the longest match wins,
    /// and a tie between two categories is no answer.
    pub fn by_words(&self, text: &str) -> CategoryNo {
        let mut best: Option<(usize, u8)> = None;
        let mut tie = false;
        for c in &self.list {
            let len = std::iter::once(&c.name)
                .chain(&c.keywords)
                .filter(|k| text.contains(k.as_str()))
                .map(|k| k.chars().count())
                .max();
            if let Some(len) = len {
                match best {
                    Some((b, _)) if b > len => {}
                    Some((b, n)) if b == len && n != c.number => tie = true,
                    _ => {
                        best = Some((len, c.number));
                        tie = false;
                    }
                }
            }
        }
        if tie { None } else { best.map(|(_, n)| n) }
    }

    /// Categories named in a subject; it decides only when exactly one is named.
    pub fn named_in_subject(&self, subject: &str) -> CategoryNo {
        let mut hits: Vec<u8> = Vec::new();
        for (i, c) in CIRCLED.iter().enumerate() {
            if subject.contains(*c) {
                hits.push(i as u8 + 1);
            }
        }
        for c in &self.list {
            if std::iter::once(&c.name).chain(&c.keywords).any(|k| subject.contains(k.as_str())) {
                hits.push(c.number);
            }
        }
        hits.sort_unstable();
        hits.dedup();
        if hits.len() == 1 { Some(hits[0]) } else { None }
    }

    /// The rule, first match wins: a folder component (outermost first), the file
    /// name's prefix, a subject naming exactly one category, keywords in the file name.
    pub fn classify(&self, folders: &[String], file_name: &str, subject: &str) -> CategoryNo {
        for f in folders {
            if let Some(n) = Self::numbered(f).or_else(|| self.by_words(f)) {
                return Some(n);
            }
        }
        Self::numbered(file_name)
            .or_else(|| self.named_in_subject(subject))
            .or_else(|| self.by_words(file_name))
    }
}

/// "7-1.jpg" → "7-1"; a folder such as "7.智慧警务" keeps its whole name.
fn strip_extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if (1..=5).contains(&(name.len() - dot - 1)) && name[dot + 1..].chars().all(|c| c.is_ascii_alphanumeric()) => &name[..dot],
        _ => name,
    }
}

fn leading_number(s: &str) -> Option<(u8, &str)> {
    let digits: usize = s.chars().take_while(|c| c.is_ascii_digit()).map(char::len_utf8).sum();
    if digits > 0 {
        let n: u32 = s[..digits].parse().ok()?;
        return Some((u8::try_from(n).ok()?, &s[digits..]));
    }
    // 十 first so that "十" is not read as nothing; only 一 … 十 are categories.
    for (i, h) in HAN_DIGITS.iter().enumerate().rev() {
        if let Some(r) = s.strip_prefix(h) {
            return Some((i as u8 + 1, r));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Categories {
        crate::config::Config::embedded(std::path::Path::new(".")).unwrap().categories
    }

    #[test]
    fn numbered_prefixes() {
        for (name, want) in [
            ("①党的建设", Some(1)),
            ("⑩生活", Some(10)),
            ("7.智慧警务", Some(7)),
            ("7、雪亮工程", Some(7)),
            ("7-现场", Some(7)),
            ("（七）智慧警务", Some(7)),
            ("(十)点滴", Some(10)),
            ("七、智慧警务", Some(7)),
            ("10.生活", Some(10)),
            ("1.jpg", None),
            ("7-1.jpg", None),
            ("11.其他", None),
            ("2024.3月", None),
            ("IMG_0001.jpg", None),
        ] {
            assert_eq!(Categories::numbered(name), want, "{name}");
        }
    }

    #[test]
    fn the_rule_order() {
        let c = cats();
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(c.classify(&f(&["嘎鲁图派出所3月", "⑤打击犯罪"]), "党建活动.jpg", ""), Some(5));
        assert_eq!(c.classify(&f(&["反诈宣传"]), "x.jpg", ""), Some(5));
        assert_eq!(c.classify(&[], "3、安保现场.jpg", "党建"), Some(3));
        assert_eq!(c.classify(&[], "IMG_1.jpg", "3月份党建素材"), Some(1));
        assert_eq!(c.classify(&[], "雪亮工程巡检.jpg", ""), Some(7));
        assert_eq!(c.classify(&[], "IMG_1.jpg", "3月份素材"), None);
        assert_eq!(c.label(None), "未分类");
        assert_eq!(c.label(Some(1)), "①党的建设");
    }
}
