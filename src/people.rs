//! The roster's people and what they are credited with: their counted works, found
//! by police number wherever they were sent from, or else by name in their department.

use crate::config::Config;
use crate::db::{self, Db};

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
