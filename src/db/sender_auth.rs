//! The sender_auth table: what checking a message's sender found when it was first
//! analysed (`sender_auth::Evidence`), one row per message checked.

use std::collections::HashMap;

use super::{Db, Tx};
use crate::sender_auth::{Evidence, Mode, Signature, Source, Verdict};

struct AuthRow {
    message_ref: i64,
    from_domain: String,
    dkim: String,
    spf: String,
    dmarc: String,
    policy: String,
    source: String,
    verdict: String,
    mode: String,
    enforced: i64,
    tries: i64,
    checked_at: i64,
}

from_row!(AuthRow { message_ref, from_domain, dkim, spf, dmarc, policy, source, verdict, mode, enforced, tries, checked_at });

const COLUMNS: &str = "message_ref, from_domain, dkim, spf, dmarc, policy, source, verdict, mode, enforced, tries, checked_at";

impl AuthRow {
    fn evidence(self) -> Evidence {
        Evidence {
            from_domain: self.from_domain,
            // Written by `put` below; a list that cannot be read shows as no signatures.
            dkim: serde_json::from_str::<Vec<Signature>>(&self.dkim).unwrap_or_default(),
            spf: self.spf,
            dmarc: self.dmarc,
            policy: self.policy,
            source: Source::from_code(&self.source).unwrap_or_default(),
            verdict: Verdict::from_code(&self.verdict).unwrap_or_default(),
            mode: Mode::from_code(&self.mode).unwrap_or_default(),
            enforced: self.enforced != 0,
            tries: u32::try_from(self.tries).unwrap_or(1),
            checked_at: self.checked_at,
        }
    }
}

/// Keeps what checking message `message_ref`'s sender found. Written once, in the
/// transaction that first records the message.
pub async fn put(tx: &mut Tx<'_>, message_ref: i64, e: &Evidence) -> anyhow::Result<()> {
    let dkim = serde_json::to_string(&e.dkim)?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sender_auth ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (message_ref) DO NOTHING"
    )))
    .bind(message_ref)
    .bind(&e.from_domain)
    .bind(dkim)
    .bind(&e.spf)
    .bind(&e.dmarc)
    .bind(&e.policy)
    .bind(e.source.code())
    .bind(e.verdict.code())
    .bind(e.mode.code())
    .bind(i64::from(e.enforced))
    .bind(i64::from(e.tries))
    .bind(e.checked_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What was found about message `message_ref`'s sender; `None` when it was never checked.
pub async fn get(db: &Db, message_ref: i64) -> anyhow::Result<Option<Evidence>> {
    let row: Option<AuthRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM sender_auth WHERE message_ref = $1")))
        .bind(message_ref)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(AuthRow::evidence))
}

/// The evidence of each of `ids` that has any, by message.
pub async fn of_messages(db: &Db, ids: &[i64]) -> anyhow::Result<HashMap<i64, Evidence>> {
    let mut out = HashMap::new();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // In chunks, well under SQLite's limit on bound parameters.
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {COLUMNS} FROM sender_auth WHERE message_ref IN ({})", marks.join(", "));
        let mut q = sqlx::query_as::<_, AuthRow>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&db.pool).await? {
            out.insert(r.message_ref, r.evidence());
        }
    }
    Ok(out)
}
