//! Offline import through the journal: every message found on disk is made durable
//! and queued (in groups, one transaction each), then the workers analyse the queue
//! exactly as they do for IMAP. What an earlier, interrupted run left queued is
//! finished too.

use tokio::sync::watch;

use crate::journal::{Incoming, commit_group};
use super::worker;
use crate::config::Config;
use crate::db::Db;
use crate::store::Store;
use crate::pipeline::Outcome;
use crate::source::files::{self, Found};

/// Messages queued in one transaction: at most this many…
const GROUP_MESSAGES: usize = 32;
/// …or this many bytes of raw mail.
const GROUP_BYTES: usize = 32 << 20;

/// What an import did, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub packages: usize,
    pub files: usize,
    pub duplicates: usize,
    pub refused: usize,
    pub links: usize,
    pub held: usize,
    pub unrelated: usize,
    pub correspondence: usize,
    pub rejected: usize,
    pub already: usize,
    /// Recorded as failed after every try (kept with the error, shown in status).
    pub failed: usize,
    /// Messages that could not be read from disk: (where, why).
    pub unreadable: Vec<(String, String)>,
}

impl Tally {
    /// Counts one analysed message.
    pub fn count(&mut self, o: &Outcome) {
        match o {
            Outcome::Package { accepted, duplicates, refused, links, .. } => {
                self.packages += 1;
                self.files += accepted + duplicates;
                self.duplicates += duplicates;
                self.refused += refused;
                self.links += links;
            }
            Outcome::Held { .. } => self.held += 1,
            Outcome::Unrelated { .. } => self.unrelated += 1,
            Outcome::Correspondence { .. } => self.correspondence += 1,
            Outcome::Rejected { .. } => self.rejected += 1,
            Outcome::Failed { .. } => self.failed += 1,
            Outcome::AlreadyHad(_) => self.already += 1,
        }
    }
}

/// Imports `found`. `progress` is called once per message analysed (or found known),
/// with the department of a counted package.
pub async fn import(config: &Config, db: &Db, store: &Store, found: &[Found], shutdown: &watch::Receiver<bool>, progress: &mut (dyn FnMut(Option<&str>) + Send)) -> anyhow::Result<Tally> {
    let mut t = Tally::default();
    let mut group: Vec<Incoming> = Vec::new();
    let mut bytes = 0;
    for f in found {
        if *shutdown.borrow() {
            break;
        }
        match files::load(f, &store.tmp_dir()) {
            Ok(incoming) => {
                bytes += incoming.raw.len() as usize;
                group.push(incoming);
            }
            Err(e) => t.unreadable.push((f.to_string(), e.to_string())),
        }
        if group.len() >= GROUP_MESSAGES || bytes >= GROUP_BYTES {
            queue(db, store, std::mem::take(&mut group), &mut t, progress).await?;
            bytes = 0;
        }
    }
    queue(db, store, group, &mut t, progress).await?;
    worker::drain(config, db, store, true, shutdown, &mut |_, result| {
        if let Ok(o) = result {
            t.count(o);
            progress(match o {
                Outcome::Package { department, .. } => Some(department.as_str()),
                _ => None,
            });
        }
    })
    .await?;
    Ok(t)
}

async fn queue(db: &Db, store: &Store, group: Vec<Incoming>, t: &mut Tally, progress: &mut (dyn FnMut(Option<&str>) + Send)) -> anyhow::Result<()> {
    let q = commit_group(db, store, group, chrono::Utc::now().timestamp()).await?;
    t.already += q.known;
    for _ in 0..q.known {
        progress(None);
    }
    Ok(())
}
