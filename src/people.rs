//! The roster's people and what they are credited with: their counted works, found
//! by police number wherever they were sent from, or else by name in their department.

use std::collections::HashMap;

use crate::config::Config;
use crate::db::{self, Db};
use crate::score::period::Span;
use crate::score::people::{Facts, Period, Person, PersonScore};

/// One person as `person list` and the console show them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub name: String,
    /// The 警号, '' when none.
    pub number: String,
    pub department: String,
    pub aliases: Vec<String>,
    pub senders: Vec<String>,
    /// Their counted works (accepted files), ids in order.
    pub works: Vec<i64>,
}

/// The roster's people, in roster order, only `department`'s when given (a name the
/// roster knows, in any of its spellings).
pub async fn list(config: &Config, db: &Db, department: Option<&str>) -> anyhow::Result<Vec<Listed>> {
    let only = match department {
        Some(d) => Some(config.roster.by_name(d).ok_or_else(|| anyhow::anyhow!("名单中没有单位“{d}”"))?.name.clone()),
        None => None,
    };
    let mut out = Vec::new();
    for (d, p) in config.roster.people().filter(|(d, _)| only.as_deref().is_none_or(|o| o == d.name)) {
        let who = db::authors::Who { number: &p.number, name: &p.name, department: &d.name };
        out.push(Listed {
            name: p.name.clone(),
            number: p.number.clone(),
            department: d.name.clone(),
            aliases: p.aliases.clone(),
            senders: p.senders.clone(),
            works: db::authors::works(db, who).await?,
        });
    }
    Ok(out)
}

/// How scoring knows `a`: by police number (shown as the roster has them now), or by
/// name in the department the work was sent under.
fn scored(config: &Config, a: &crate::attribution::Author) -> Person {
    if !a.number.is_empty() {
        let (name, department) = config.roster.by_number(&a.number).map_or((a.name.clone(), a.department.clone()), |(d, p)| (p.name.clone(), d.name.clone()));
        return Person { key: format!("#{}", a.number), name, number: a.number.clone(), department };
    }
    Person { key: format!("{}@{}", a.name, a.department), name: a.name.clone(), number: String::new(), department: a.department.clone() }
}

/// What `score people` is asked for: a year or a month of it, or a quarter or half.
#[derive(Debug, Clone, Copy)]
pub enum When {
    Period(Period),
    Span(Span),
}

impl When {
    pub fn year(self) -> i32 {
        match self {
            When::Period(p) => p.year,
            When::Span(s) => s.year(),
        }
    }
}

/// 个人积分 for `when`, ranked (`score::people::compute`, `compute_span`): the roster's
/// people, and anyone credited with a work who is no longer on it.
pub async fn scores(config: &Config, db: &Db, when: When) -> anyhow::Result<Vec<PersonScore>> {
    let (adoptions, _) = crate::score::record::facts(db, when.year()).await?;
    let mut people: Vec<Person> = config
        .roster
        .people()
        .map(|(d, p)| scored(config, &crate::attribution::Author::of(d, p)))
        .collect();
    let works: Vec<i64> = adoptions.iter().map(|a| a.work).collect();
    let mut authors: HashMap<i64, Vec<String>> = HashMap::new();
    let add = |people: &mut Vec<Person>, p: Person| {
        if !people.iter().any(|x| x.key == p.key) {
            people.push(p.clone());
        }
        p.key
    };
    for (work, a) in db::authors::of_items(db, &works).await? {
        let keys = a.authors.iter().map(|x| add(&mut people, scored(config, x))).collect();
        authors.insert(work, keys);
    }
    let counted: Vec<(String, String)> = db::authors::counted_in_year(db, when.year()).await?.into_iter().map(|(a, month)| (add(&mut people, scored(config, &a)), month)).collect();
    let facts = Facts { people: &people, adoptions: &adoptions, authors: &authors, counted: &counted };
    Ok(match when {
        When::Period(period) => crate::score::people::compute(&config.rubric, &facts, period),
        When::Span(span) => crate::score::people::compute_span(&config.rubric, &facts, span),
    })
}
