//! Departments, their aliases and senders, their people, and how a name in free text
//! maps to one.
//!
//! Names are normalised before matching: 乌审旗/公安局/旗局 prefixes go, 镇/苏木/乡
//! before 派出所 go, 派出所 becomes 所, 交警/交通管理 become 交管, 刑事侦查 becomes 刑侦
//! and 情报指挥中心 becomes 指挥中心.

use std::collections::HashMap;

use serde::Deserialize;

use crate::config_error::ConfigError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoster {
    #[serde(default)]
    department: Vec<RawDepartment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    senders: Vec<String>,
    #[serde(default)]
    contacts: Vec<String>,
    #[serde(default)]
    escalation: Vec<String>,
    #[serde(default)]
    people: Vec<RawPerson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    name: String,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    senders: Vec<String>,
}

/// One of a department's people. Known by the police number (警号) when given, and
/// otherwise by name within the department: only a number keeps a person's history
/// when they move to another department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// The 警号, '' when none was given.
    pub number: String,
    pub aliases: Vec<String>,
    /// Addresses they send from, lower case; also addresses of their department.
    pub senders: Vec<String>,
}

impl Person {
    /// The name and the aliases, as written.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub name: String,
    pub aliases: Vec<String>,
    pub senders: Vec<String>,
    pub contacts: Vec<String>,
    /// Copied from the second overdue reminder on (the department head).
    pub escalation: Vec<String>,
    pub people: Vec<Person>,
}

#[derive(Debug, Clone)]
pub struct Roster {
    departments: Vec<Department>,
    by_sender: HashMap<String, usize>,
    /// Normalised name or alias → department index, longest keys first.
    keys: Vec<(String, usize)>,
}

impl Roster {
    /// Validates the roster. Errors say which department (1-based, with its name)
    /// and keep the 0-based TOML path in `key` ("department[2].aliases[0]"), which
    /// the loader turns into a line and column.
    pub fn from_raw(file: &str, raw: RawRoster) -> Result<Roster, ConfigError> {
        if raw.department.is_empty() {
            return Err(ConfigError::new(file, "department", "名单为空", "至少写一个 [[department]]，含 name 和 senders"));
        }
        let mut building = Building::default();
        for (i, d) in raw.department.into_iter().enumerate() {
            building.add(file, i, d)?;
        }
        let Building { departments, by_sender, key_owner, .. } = building;
        let mut keys: Vec<(String, usize)> = key_owner.into_iter().map(|(k, (i, _, _))| (k, i)).collect();
        keys.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.0.cmp(&b.0)));
        Ok(Roster { departments, by_sender, keys })
    }

    pub fn departments(&self) -> &[Department] {
        &self.departments
    }

    pub fn by_sender(&self, address: &str) -> Option<&Department> {
        self.by_sender.get(&address.trim().to_lowercase()).map(|&i| &self.departments[i])
    }

    pub fn by_name(&self, name: &str) -> Option<&Department> {
        let k = normalize(name);
        self.keys.iter().find(|(key, _)| *key == k).map(|&(_, i)| &self.departments[i])
    }

    /// The person with this police number, and their department.
    pub fn by_number(&self, number: &str) -> Option<(&Department, &Person)> {
        let number = number.trim();
        if number.is_empty() {
            return None;
        }
        self.people().find(|(_, p)| p.number == number)
    }

    /// Every person, with their department, in roster order.
    pub fn people(&self) -> impl Iterator<Item = (&Department, &Person)> {
        self.departments.iter().flat_map(|d| d.people.iter().map(move |p| (d, p)))
    }

    /// The people `spec` names: a police number, `name@单位`, or a name or alias (in
    /// any department: the caller says when more than one answers).
    pub fn find_people(&self, spec: &str) -> Vec<(&Department, &Person)> {
        let spec = spec.trim();
        if let Some(found) = self.by_number(spec) {
            return vec![found];
        }
        let (name, department) = match spec.split_once(['@', '＠']) {
            Some((n, d)) => (n.trim(), self.by_name(d)),
            None => (spec, None),
        };
        if spec.contains(['@', '＠']) && department.is_none() {
            return Vec::new();
        }
        let named = |p: &Person| p.names().any(|n| n == name);
        let exact: Vec<_> = self.people().filter(|(d, p)| department.is_none_or(|x| x.name == d.name) && p.name == name).collect();
        if !exact.is_empty() {
            return exact;
        }
        self.people().filter(|(d, p)| department.is_none_or(|x| x.name == d.name) && named(p)).collect()
    }

    /// Every department named in `text`, in roster order, without repeats.
    pub fn mentioned(&self, text: &str) -> Vec<&Department> {
        let norm = normalize(text);
        let mut taken = vec![false; norm.len()];
        let mut found = vec![false; self.departments.len()];
        for (key, i) in &self.keys {
            let mut from = 0;
            while let Some(pos) = norm[from..].find(key.as_str()) {
                let start = from + pos;
                let end = start + key.len();
                if !taken[start..end].iter().any(|&t| t) {
                    taken[start..end].iter_mut().for_each(|t| *t = true);
                    found[*i] = true;
                }
                from = end;
            }
        }
        self.departments.iter().zip(found).filter(|(_, f)| *f).map(|(d, _)| d).collect()
    }
}

/// The roster as it is validated, one department at a time.
#[derive(Default)]
struct Building {
    departments: Vec<Department>,
    by_sender: HashMap<String, usize>,
    /// Normalised name or alias → (department index, as written, whether it is the name).
    key_owner: HashMap<String, (usize, String, bool)>,
    /// Police number → (department index, person's name).
    numbers: HashMap<String, (usize, String)>,
}

impl Building {
    /// Checks department `i` against itself and those before it, and adds it.
    fn add(&mut self, file: &str, i: usize, d: RawDepartment) -> Result<(), ConfigError> {
        let key = format!("department[{i}]");
        let nth = i + 1;
        let name = d.name.trim().to_string();
        if name.is_empty() || name.contains(['/', '\\']) {
            return Err(ConfigError::new(
                file,
                &format!("{key}.name"),
                format!("第 {nth} 个单位的名称为空或含 / \\"),
                "填写单位全称，例如 \"嘎鲁图派出所\"",
            ));
        }
        self.claim_names(file, i, &name, &d.aliases)?;
        let senders = self.claim_senders(file, i, &name, &d.senders)?;
        for (field, list, what) in [("contacts", &d.contacts, "通知地址"), ("escalation", &d.escalation, "抄送地址")] {
            for (k, a) in list.iter().enumerate() {
                if let Err((problem, fix)) = crate::address::check_mailbox(a) {
                    return Err(ConfigError::new(file, &format!("{key}.{field}[{k}]"), format!("第 {nth} 个单位“{name}”的{what} {problem}"), fix));
                }
            }
        }
        let contacts = if d.contacts.is_empty() { senders.clone() } else { d.contacts.clone() };
        let (people, their_senders) = self.people(file, i, &name, &senders, d.people)?;
        let senders = senders.into_iter().chain(their_senders).collect();
        self.departments.push(Department { name, aliases: d.aliases, senders, contacts, escalation: d.escalation, people });
        Ok(())
    }

    /// Claims department `i`'s name and aliases, normalised, for matching: none may
    /// be another department's.
    fn claim_names(&mut self, file: &str, i: usize, name: &str, aliases: &[String]) -> Result<(), ConfigError> {
        let key = format!("department[{i}]");
        let nth = i + 1;
        let written = std::iter::once((format!("{key}.name"), name, true)).chain(aliases.iter().enumerate().map(|(k, a)| (format!("{key}.aliases[{k}]"), a.as_str(), false)));
        for (path, text, is_name) in written {
            if text.trim().is_empty() {
                return Err(ConfigError::new(file, &path, format!("第 {nth} 个单位“{name}”有一个空的别名"), "删去空的别名 \"\""));
            }
            let k = normalize(text);
            if k.is_empty() {
                // Only words that matching strips (乌审旗, 公安局): nothing to match on.
                continue;
            }
            match self.key_owner.get(&k) {
                Some((j, other, other_is_name)) if *j != i => {
                    let theirs = &self.departments[*j].name;
                    let problem = match (is_name, *other_is_name) {
                        (true, true) if other.as_str() == name => format!("第 {nth} 个单位与第 {} 个单位重名：{name}", j + 1),
                        (true, true) => format!("第 {nth} 个单位“{name}”与第 {} 个单位“{theirs}”按名称匹配规则视为同名", j + 1),
                        (true, false) => format!("第 {nth} 个单位的名称“{name}”与第 {} 个单位“{theirs}”的别名“{other}”重复", j + 1),
                        (false, true) => format!("第 {nth} 个单位“{name}”的别名“{text}”与第 {} 个单位的名称“{theirs}”重复", j + 1),
                        (false, false) => format!("第 {nth} 个单位“{name}”的别名“{text}”与第 {} 个单位“{theirs}”的别名“{other}”重复", j + 1),
                    };
                    let fix = if is_name && *other_is_name {
                        "每个单位只写一个 [[department]]：删去重复的一个；如果确是两个单位，请写各自的全称"
                    } else {
                        "一个名称或别名只能属于一个单位：删去其中一个别名（匹配时“派出所”与“所”、“交警”与“交管”视为相同，“乌审旗”“公安局”会被去掉）"
                    };
                    return Err(ConfigError::new(file, &path, problem, fix));
                }
                Some(_) => {}
                None => {
                    self.key_owner.insert(k, (i, text.to_string(), is_name));
                }
            }
        }
        Ok(())
    }

    /// Claims department `i`'s sender addresses, lower-cased: each a valid address,
    /// written once, and no other department's. Returns them.
    fn claim_senders(&mut self, file: &str, i: usize, name: &str, senders: &[String]) -> Result<Vec<String>, ConfigError> {
        let nth = i + 1;
        let senders: Vec<String> = senders.iter().map(|s| s.trim().to_lowercase()).collect();
        for (k, s) in senders.iter().enumerate() {
            let path = format!("department[{i}].senders[{k}]");
            if let Err((problem, fix)) = crate::address::check_address(s) {
                return Err(ConfigError::new(file, &path, format!("第 {nth} 个单位“{name}”的发件地址 {problem}"), fix));
            }
            if let Some(j) = self.by_sender.insert(s.clone(), i) {
                let problem = if j == i {
                    format!("第 {nth} 个单位“{name}”的发件地址 {s} 写了两次")
                } else {
                    format!("第 {nth} 个单位“{name}”的发件地址 {s} 已属于第 {} 个单位“{}”", j + 1, departments_name(&self.departments, j))
                };
                return Err(ConfigError::new(file, &path, problem, "一个邮箱只能属于一个单位；代发的邮件会按主题里的单位名自动归属"));
            }
        }
        Ok(senders)
    }
}

impl Building {
    /// Checks department `i`'s people: a name each, no name or alias twice in the
    /// department, a police number and an address for one person only. Their sender
    /// addresses become the department's (returned, those not already in `own`).
    fn people(&mut self, file: &str, i: usize, department: &str, own: &[String], raw: Vec<RawPerson>) -> Result<(Vec<Person>, Vec<String>), ConfigError> {
        let nth = i + 1;
        let mut people: Vec<Person> = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut addresses: HashMap<String, String> = HashMap::new();
        let mut added = Vec::new();
        for (k, p) in raw.into_iter().enumerate() {
            let key = format!("department[{i}].people[{k}]");
            let name = p.name.trim().to_string();
            if name.is_empty() {
                return Err(ConfigError::new(file, &format!("{key}.name"), format!("第 {nth} 个单位“{department}”的第 {} 个人员姓名为空", k + 1), "填写姓名，例如 name = \"张三\""));
            }
            let written = std::iter::once((format!("{key}.name"), name.clone())).chain(p.aliases.iter().enumerate().map(|(a, s)| (format!("{key}.aliases[{a}]"), s.trim().to_string())));
            for (path, text) in written {
                if text.is_empty() {
                    return Err(ConfigError::new(file, &path, format!("第 {nth} 个单位“{department}”的人员“{name}”有一个空的别名"), "删去空的别名 \"\""));
                }
                if let Some(other) = names.insert(text.clone(), name.clone()) {
                    let problem = if other == name && path.ends_with(".name") {
                        format!("第 {nth} 个单位“{department}”的人员“{name}”写了两次")
                    } else if other == name {
                        format!("第 {nth} 个单位“{department}”的人员“{name}”的别名“{text}”写了两次")
                    } else {
                        format!("第 {nth} 个单位“{department}”的人员“{name}”的“{text}”与人员“{other}”的姓名或别名重复")
                    };
                    return Err(ConfigError::new(file, &path, problem, "同一单位内，姓名和别名只能属于一个人：删去重复的一个；同名的两人请写警号并用不同的别名区分"));
                }
            }
            let number = p.number.as_deref().unwrap_or("").trim().to_string();
            if p.number.is_some() && (number.is_empty() || !number.chars().all(|c| c.is_ascii_alphanumeric())) {
                return Err(ConfigError::new(file, &format!("{key}.number"), format!("第 {nth} 个单位“{department}”的人员“{name}”的警号“{number}”不对"), "警号只写数字或字母，例如 number = \"150621\"；没有警号就删去这一项"));
            }
            if !number.is_empty()
                && let Some((j, other)) = self.numbers.insert(number.clone(), (i, name.clone()))
            {
                let theirs = if j == i { department.to_string() } else { departments_name(&self.departments, j) };
                return Err(ConfigError::new(
                    file,
                    &format!("{key}.number"),
                    format!("第 {nth} 个单位“{department}”的人员“{name}”的警号 {number} 已属于第 {} 个单位“{theirs}”的“{other}”", j + 1),
                    "一个警号只能属于一个人；调动的人员只写在新单位，从原单位删去",
                ));
            }
            let mut senders = Vec::new();
            for (a, s) in p.senders.iter().enumerate() {
                let path = format!("{key}.senders[{a}]");
                let s = s.trim().to_lowercase();
                if let Err((problem, fix)) = crate::address::check_address(&s) {
                    return Err(ConfigError::new(file, &path, format!("第 {nth} 个单位“{department}”的人员“{name}”的发件地址 {problem}"), fix));
                }
                if let Some(other) = addresses.insert(s.clone(), name.clone()) {
                    let problem = if other == name {
                        format!("第 {nth} 个单位“{department}”的人员“{name}”的发件地址 {s} 写了两次")
                    } else {
                        format!("第 {nth} 个单位“{department}”的人员“{name}”的发件地址 {s} 已属于人员“{other}”")
                    };
                    return Err(ConfigError::new(file, &path, problem, "一个邮箱只能属于一个人：删去其中一个"));
                }
                if !own.contains(&s) {
                    if let Some(j) = self.by_sender.insert(s.clone(), i) {
                        return Err(ConfigError::new(
                            file,
                            &path,
                            format!("第 {nth} 个单位“{department}”的人员“{name}”的发件地址 {s} 已属于第 {} 个单位“{}”", j + 1, departments_name(&self.departments, j)),
                            "人员的发件地址也是其所在单位的发件地址，一个邮箱只能属于一个单位",
                        ));
                    }
                    added.push(s.clone());
                }
                senders.push(s);
            }
            let aliases = p.aliases.iter().map(|a| a.trim().to_string()).collect();
            people.push(Person { name, number, aliases, senders });
        }
        Ok((people, added))
    }
}

fn departments_name(deps: &[Department], i: usize) -> String {
    deps.get(i).map(|d| d.name.clone()).unwrap_or_default()
}

/// Normalises a department name, or a whole subject, for matching.
pub fn normalize(s: &str) -> String {
    let mut t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    for (from, to) in [
        ("乌审旗", ""),
        ("公安局", ""),
        ("旗局", ""),
        ("派出所", "所"),
        ("交通警察", "交管"),
        ("交通管理", "交管"),
        ("交警", "交管"),
        ("刑事侦查", "刑侦"),
        ("情报指挥中心", "指挥中心"),
    ] {
        t = t.replace(from, to);
    }
    for suffix in ["镇所", "苏木所", "乡所"] {
        t = t.replace(suffix, "所");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        let raw: RawRoster = toml::from_str(
            r#"
            [[department]]
            name = "嘎鲁图派出所"
            aliases = ["嘎鲁图所"]
            senders = ["GLTPCS@163.com"]
            [[department]]
            name = "交管大队"
            senders = ["jg@qq.com"]
            [[department]]
            name = "刑事侦查大队"
            aliases = ["刑侦大队"]
            senders = ["xz@qq.com"]
            [[department]]
            name = "图克派出所"
            senders = ["tk@qq.com"]
            "#,
        )
        .unwrap();
        Roster::from_raw("t", raw).unwrap()
    }

    #[test]
    fn variants_of_names_match() {
        let r = roster();
        for text in ["乌审旗公安局嘎鲁图镇派出所3月素材", "嘎鲁图所", "旗局嘎鲁图派出所"] {
            let m: Vec<_> = r.mentioned(text).into_iter().map(|d| d.name.as_str()).collect();
            assert_eq!(m, ["嘎鲁图派出所"], "{text}");
        }
        assert_eq!(r.mentioned("交警大队三月份")[0].name, "交管大队");
        assert_eq!(r.mentioned("交通管理大队")[0].name, "交管大队");
        assert_eq!(r.mentioned("刑侦大队")[0].name, "刑事侦查大队");
        assert!(r.mentioned("三月份宣传素材").is_empty());
        assert_eq!(r.mentioned("图克镇派出所、嘎鲁图所").len(), 2);
    }

    #[test]
    fn sender_lookup_ignores_case() {
        assert_eq!(roster().by_sender("gltpcs@163.COM").unwrap().name, "嘎鲁图派出所");
        assert!(roster().by_sender("x@y.z").is_none());
    }

    #[test]
    fn duplicate_sender_is_a_config_error_naming_the_key() {
        let raw: RawRoster = toml::from_str(
            "[[department]]\nname='甲所'\nsenders=['a@b.c']\n[[department]]\nname='乙所'\nsenders=['A@b.c']\n",
        )
        .unwrap();
        let e = Roster::from_raw("departments.toml", raw).unwrap_err();
        assert_eq!(e.key, "department[1].senders[0]");
        assert_eq!(e.problem, "第 2 个单位“乙所”的发件地址 a@b.c 已属于第 1 个单位“甲所”");
    }
}
