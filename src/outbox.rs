//! Sends what the outbox holds. A mail is claimed (`sending`), handed to the SMTP
//! server, and marked `sent` after the server's 250. Transient failures (4xx, the
//! network) are retried with backoff; permanent ones (5xx) are marked `failed` with
//! the server's reply.
//!
//! The one window left: a crash after the server's 250 and before `sent` is
//! recorded. Such a mail is found in `sending` at the next start, counted as
//! interrupted, and sent again with the same Message-ID, so the recipient may get it
//! twice; nothing is ever lost.

use std::time::Duration;

use anyhow::Context;
use chrono::Timelike;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tracing::{info, warn};

use crate::config::Config;
use crate::config::notify::{SmtpConfig, SmtpTls};
use crate::cycle::local;
use crate::db::{self, Db};

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

pub fn transport(cfg: &SmtpConfig, password: &str) -> anyhow::Result<Transport> {
    let mut tls = TlsParameters::builder(cfg.host.clone());
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("无法读取 smtp.ca_file {}", ca.display()))?;
        tls = tls.add_root_certificate(Certificate::from_pem(&pem).context("smtp.ca_file 中的证书无效")?);
    }
    let tls = tls.build_rustls().context("无法建立 TLS 设置")?;
    let tls = match cfg.tls {
        SmtpTls::Implicit => Tls::Wrapper(tls),
        SmtpTls::StartTls => Tls::Required(tls),
    };
    Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
        .port(cfg.port)
        .tls(tls)
        .credentials(Credentials::new(cfg.user.clone(), password.to_string()))
        .timeout(Some(cfg.timeout))
        .build())
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub sent: usize,
    pub failed: usize,
    pub deferred: usize,
}

/// The wait before attempt `n + 1` of a transiently failing mail: 30 s doubling to 1 h.
pub fn retry_delay(attempts: i64) -> i64 {
    (30i64 << attempts.clamp(0, 7)).min(3600)
}

/// Sends every due mail, unless `now` is in the quiet hours. With `ignore_backoff`
/// mail waiting to be retried goes now too (a person asked to send now).
pub async fn flush(db: &Db, config: &Config, transport: &Transport, now: impl Fn() -> i64, ignore_backoff: bool) -> anyhow::Result<Flushed> {
    let mut out = Flushed::default();
    let notify = config.notify.clone().unwrap_or_default();
    if notify.is_quiet(local(now(), config.timezone).time().with_nanosecond(0).unwrap_or_default()) {
        return Ok(out);
    }
    let smtp = config.smtp.as_ref().context("没有 [smtp] 配置，无法发信")?;
    let from: Address = smtp.from.parse::<lettre::message::Mailbox>()?.email;
    let due_by = || if ignore_backoff { i64::MAX } else { now() };
    while let Some(row) = db::outbox::claim_next(db, due_by()).await? {
        let rcpts: Vec<Address> = row.recipients.split(',').chain(row.cc.split(',')).filter(|a| !a.is_empty()).filter_map(|a| a.trim().parse().ok()).collect();
        let envelope = Envelope::new(Some(from.clone()), rcpts).context("收件人为空")?;
        match transport.send_raw(&envelope, row.body.as_bytes()).await {
            Ok(_) => {
                db::outbox::mark_sent(db, row.id, now()).await?;
                info!(key = %row.key, "已发送");
                out.sent += 1;
            }
            Err(e) if e.is_permanent() => {
                let reply = e.to_string();
                warn!(key = %row.key, reply = %reply, "邮件被拒收，不再重试");
                db::outbox::mark_failed(db, row.id, &reply).await?;
                out.failed += 1;
            }
            Err(e) => {
                let at = now() + retry_delay(row.attempts);
                warn!(key = %row.key, error = %e, retry_at = at, "发送暂时失败，稍后重试");
                db::outbox::retry_later(db, row.id, at, &e.to_string()).await?;
                out.deferred += 1;
                break; // the server is unwell: leave the rest for the next round
            }
        }
    }
    Ok(out)
}

/// How often the daemon looks at the outbox and the schedule.
pub const TICK: Duration = Duration::from_secs(30);
