//! Outbound mail: receipts to senders (and a follow-up for each 超大附件 link), the
//! office's daily digest and its reminders of expiring links, and reminders to
//! departments. Each is rendered from a template the office can edit, turned into a
//! complete message and written to the outbox under a unique key; `outbox` sends it.

pub mod digest;
pub mod link;
pub mod receipt;
pub mod reminder;

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use sha2::{Digest, Sha256};

use crate::config::notify::SmtpConfig;
use crate::db::outbox::OutboxRow;

/// A rendered mail, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Draft {
    pub key: String,
    pub kind: &'static str,
    pub department: String,
    pub cycle: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Images the HTML shows inline: (content id, JPEG bytes).
    pub inline: Vec<(String, Vec<u8>)>,
}

/// Splits a rendered template into its first line (the subject) and the body.
pub fn split_subject(rendered: &str) -> (String, String) {
    let rendered = rendered.trim_start_matches(['\n', '\r']);
    match rendered.split_once('\n') {
        Some((subject, body)) => (subject.trim().to_string(), body.trim_start_matches(['\n', '\r']).to_string()),
        None => (rendered.trim().to_string(), String::new()),
    }
}

/// The Message-ID of an outbox key: the same key always gives the same id, so a
/// resend after a crash can be recognised as the same mail.
pub fn message_id(key: &str, from: &str) -> String {
    let domain = from.rsplit('@').next().unwrap_or("baosong.local").trim_end_matches('>');
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..12]);
    format!("<baosong.{hash}@{domain}>")
}

/// Builds the full message and the outbox row for a draft.
pub fn to_outbox(d: &Draft, smtp: &SmtpConfig, now: i64) -> anyhow::Result<OutboxRow> {
    let from: Mailbox = smtp.from.parse()?;
    let id = message_id(&d.key, &from.email.to_string());
    let mut b = lettre::Message::builder().from(from).subject(d.subject.clone()).message_id(Some(id.clone()));
    for t in &d.to {
        b = b.to(t.parse()?);
    }
    for c in &d.cc {
        b = b.cc(c.parse()?);
    }
    let message = match &d.html {
        Some(html) if !d.inline.is_empty() => {
            let mut related = MultiPart::related().singlepart(SinglePart::html(html.clone()));
            for (cid, jpeg) in &d.inline {
                related = related.singlepart(Attachment::new_inline(cid.clone()).body(jpeg.clone(), ContentType::parse("image/jpeg")?));
            }
            b.multipart(MultiPart::alternative().singlepart(SinglePart::plain(d.text.clone())).multipart(related))?
        }
        Some(html) => b.multipart(MultiPart::alternative_plain_html(d.text.clone(), html.clone()))?,
        None => b.singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(d.text.clone()))?,
    };
    let body = String::from_utf8(message.formatted())?;
    Ok(OutboxRow {
        key: d.key.clone(),
        kind: d.kind.to_string(),
        department: d.department.clone(),
        cycle: d.cycle.clone(),
        message_id: id,
        recipients: d.to.join(","),
        cc: d.cc.join(","),
        subject: d.subject.clone(),
        body,
        created_at: now,
        ..OutboxRow::default()
    })
}

/// "2024年3月".
/// Sample values for every template, as each mail fills it: `app::load_config`
/// renders the templates with them at start-up (`Templates::check`).
pub fn samples() -> Vec<(&'static str, serde_json::Value)> {
    let value = |v: Result<serde_json::Value, serde_json::Error>| v.unwrap_or_default();
    vec![
        ("receipt.txt", value(serde_json::to_value(receipt::sample()))),
        ("reminder.txt", value(serde_json::to_value(reminder::sample()))),
        ("digest.txt", value(serde_json::to_value(digest::sample()))),
        ("digest.html", value(serde_json::to_value(digest::sample()))),
        ("link_result.txt", value(serde_json::to_value(link::result_sample()))),
        ("link_reminder.txt", value(serde_json::to_value(link::reminder_sample()))),
        ("tongbao.txt", value(serde_json::to_value(crate::report::tongbao::sample()))),
    ]
}

pub fn cycle_label(c: crate::cycle::Cycle) -> String {
    format!("{}年{}月", c.year, c.month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_the_first_line_and_ids_are_stable() {
        assert_eq!(split_subject("\n主题\n\n正文\n第二行"), ("主题".into(), "正文\n第二行".into()));
        let a = message_id("digest:2024-03-20", "office@qq.com");
        assert_eq!(a, message_id("digest:2024-03-20", "office@qq.com"));
        assert_ne!(a, message_id("digest:2024-03-21", "office@qq.com"));
        assert!(a.ends_with("@qq.com>"));
    }

    /// The shipped templates render with every sample; one naming a variable no mail
    /// fills does not.
    #[test]
    fn every_template_renders_with_its_sample_and_a_misspelt_variable_is_refused() {
        let shipped = crate::templates::Templates::load(None).unwrap();
        shipped.check(&samples()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reminder.txt"), "主题 {{ departmnet }}\n\n正文").unwrap();
        let broken = crate::templates::Templates::load(Some(dir.path())).unwrap();
        let e = broken.check(&samples()).unwrap_err().to_string();
        assert!(e.contains("reminder.txt") && e.contains("departmnet"), "{e}");
    }
}
