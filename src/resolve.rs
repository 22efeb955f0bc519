//! Pure rules for whose package a mail is and which month it names.
//!
//! - A sender listed in the roster decides the department, unless the subject and
//!   archive names name exactly one *other* department and not the sender's own:
//!   then it counts for the named one, flagged `sent_on_behalf`.
//! - A sender not in the roster whose mail names a department is held for review.
//! - A sender not in the roster naming no department is unrelated.

use crate::cycle::{Cycle, month_named};
use crate::roster::Roster;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Department { name: String, on_behalf: bool },
    Held { guess: String },
    Unrelated,
}

/// `sender_department` is the roster's (or a remembered) answer for the From address.
pub fn department(roster: &Roster, sender_department: Option<&str>, texts: &[&str]) -> Decision {
    let mut named: Vec<String> = Vec::new();
    for t in texts {
        for d in roster.mentioned(t) {
            if !named.contains(&d.name) {
                named.push(d.name.clone());
            }
        }
    }
    match sender_department {
        Some(own) => {
            if named.len() == 1 && named[0] != own {
                Decision::Department { name: named[0].clone(), on_behalf: true }
            } else {
                Decision::Department { name: own.to_string(), on_behalf: false }
            }
        }
        None if named.is_empty() => Decision::Unrelated,
        None => Decision::Held { guess: if named.len() == 1 { named[0].clone() } else { String::new() } },
    }
}

/// The month named by the subject, else by the first archive or attached-message name that names one.
pub fn named_month(subject: &str, names: &[String], received: Cycle) -> Option<Cycle> {
    std::iter::once(subject).chain(names.iter().map(String::as_str)).find_map(|t| month_named(t, received))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        crate::config::Config::embedded(std::path::Path::new(".")).unwrap().roster
    }

    #[test]
    fn sender_decides_and_on_behalf_needs_exactly_one_other() {
        let r = roster();
        let own = Some("嘎鲁图派出所");
        assert_eq!(department(&r, own, &["3月素材"]), Decision::Department { name: "嘎鲁图派出所".into(), on_behalf: false });
        assert_eq!(
            department(&r, own, &["代无定河派出所报送3月素材"]),
            Decision::Department { name: "无定河派出所".into(), on_behalf: true }
        );
        assert_eq!(
            department(&r, own, &["嘎鲁图所和无定河所3月素材"]),
            Decision::Department { name: "嘎鲁图派出所".into(), on_behalf: false }
        );
        assert_eq!(department(&r, None, &["", "无定河镇派出所三月.zip"]), Decision::Held { guess: "无定河派出所".into() });
        assert_eq!(department(&r, None, &["发票"]), Decision::Unrelated);
    }
}
