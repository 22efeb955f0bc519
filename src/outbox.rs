//! Sends what the outbox holds. A mail is claimed (`sending`), handed to the SMTP
//! server, and marked `sent` after the server's 250. Transient failures (4xx, the
//! network) are retried with backoff; a permanent reply to one message (5xx to its
//! MAIL, RCPT or DATA) marks that message `failed` with the server's reply.
//!
//! A refused login (530, 534, 535: a wrong or changed 授权码) or a failed TLS
//! connection is nobody's message's fault: it puts the account on hold. Every mail
//! stays as it was, the hold shows on the board and in the digest, and sending is
//! tried again every 30 minutes (`HOLD_RETRY`) or at once by `baosong outbox flush`.
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

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flushed {
    pub sent: usize,
    pub failed: usize,
    pub deferred: usize,
    /// Sending is on hold: why, and what to do (Chinese).
    pub held: Option<String>,
    /// Mail still waiting in the outbox after this round.
    pub waiting: i64,
}

/// How long a hold lasts before sending is tried again.
pub const HOLD_RETRY: i64 = 30 * 60;

/// Whether a TLS library error sits in the error's chain: rustls reports a failed
/// handshake (unknown CA, wrong host name, plain text on a TLS port) as an I/O error of
/// kind InvalidData, which lettre wraps as a connection error.
fn tls_failure(e: &lettre::transport::smtp::Error) -> bool {
    if e.is_tls() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
        }
        source = err.source();
    }
    false
}

/// Why `e` holds all sending, with what to do, or None when it concerns one message or
/// the network.
pub fn hold_reason(e: &lettre::transport::smtp::Error, smtp: &SmtpConfig) -> Option<String> {
    if let Some(code) = e.status() {
        return match u16::from(code) {
            530 | 534 | 535 => Some(format!(
                "发信邮箱 {} 登录被拒绝（服务器答复：{e}）。授权码错误或已更换：请在邮箱网页版重新生成授权码，写入 smtp.password_file 指定的文件（或 {} 环境变量），再运行 baosong outbox flush",
                smtp.user,
                smtp.password_env()
            )),
            _ => None,
        };
    }
    if tls_failure(e) {
        return Some(format!(
            "与发信服务器 {}:{} 的加密连接（TLS）失败（{e}）。请检查 smtp.host、smtp.port、smtp.tls（465 端口用 \"tls\"，587 用 \"starttls\"）和 smtp.ca_file，再运行 baosong outbox flush",
            smtp.host, smtp.port
        ));
    }
    if e.is_client() && e.to_string().contains("authentication mechanism") {
        return Some(format!("发信服务器 {}:{} 不支持登录（{e}）。请检查 smtp.host 和 smtp.port，再运行 baosong outbox flush", smtp.host, smtp.port));
    }
    None
}

/// The wait before attempt `n + 1` of a transiently failing mail: 30 s doubling to 1 h.
pub fn retry_delay(attempts: i64) -> i64 {
    (30i64 << attempts.clamp(0, 7)).min(3600)
}

/// Sends every due mail, unless `now` is in the quiet hours or the account is on hold.
/// With `ignore_backoff` (a person asked to send now) mail waiting to be retried goes
/// now too, and a hold is tried at once.
pub async fn flush(db: &Db, config: &Config, transport: &Transport, now: impl Fn() -> i64, ignore_backoff: bool) -> anyhow::Result<Flushed> {
    let mut out = Flushed::default();
    let notify = config.notify.clone().unwrap_or_default();
    if notify.is_quiet(local(now(), config.timezone).time().with_nanosecond(0).unwrap_or_default()) {
        return Ok(out);
    }
    let smtp = config.smtp.as_ref().context("没有 [smtp] 配置，无法发信；在配置文件中加上 [smtp] 一节（示例见 config/baosong.toml）")?;
    let account = smtp.account();
    let from: Address = smtp.from.parse::<lettre::message::Mailbox>()?.email;
    let due_by = || if ignore_backoff { i64::MAX } else { now() };
    let hold = db::outbox::holds(db).await?.into_iter().find(|h| h.account == account);
    let (waiting, due) = db::outbox::pending(db, due_by()).await?;
    out.waiting = waiting;
    if let Some(h) = &hold {
        if !ignore_backoff && now() < h.next_try_at {
            out.held = Some(h.reason.clone());
            return Ok(out);
        }
    } else if !due {
        return Ok(out);
    }
    // Log in before taking any mail: a refused login holds everything and fails nothing.
    let connected = match transport.test_connection().await {
        Ok(_) => true,
        Err(e) => match hold_reason(&e, smtp) {
            Some(reason) => {
                put_on_hold(db, &account, &reason, now()).await?;
                out.held = Some(reason);
                return Ok(out);
            }
            None => false,
        },
    };
    if connected && hold.is_some() && db::outbox::release(db, &account).await? {
        info!(account = %account, "发信邮箱登录成功，恢复发送");
    }
    while let Some(row) = db::outbox::claim_next(db, due_by()).await? {
        let rcpts: Vec<Address> = row.recipients.split(',').chain(row.cc.split(',')).filter(|a| !a.is_empty()).filter_map(|a| a.trim().parse().ok()).collect();
        let envelope = Envelope::new(Some(from.clone()), rcpts).context("收件人为空")?;
        match transport.send_raw(&envelope, row.body.as_bytes()).await {
            Ok(_) => {
                db::outbox::mark_sent(db, row.id, now()).await?;
                info!(key = %row.key, "已发送");
                out.sent += 1;
            }
            Err(e) if hold_reason(&e, smtp).is_some() => {
                let reason = hold_reason(&e, smtp).unwrap_or_default();
                db::outbox::unclaim(db, row.id).await?;
                put_on_hold(db, &account, &reason, now()).await?;
                out.held = Some(reason);
                break;
            }
            // A 5xx counts against the message only once the server has let us in:
            // one refused before that (a 554 greeting, say) is the server's, not the mail's.
            Err(e) if e.is_permanent() && connected => {
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
    out.waiting = db::outbox::pending(db, 0).await?.0;
    Ok(out)
}

/// Records (or renews) the hold of `account`; the next try is `HOLD_RETRY` from `at`.
pub async fn put_on_hold(db: &Db, account: &str, reason: &str, at: i64) -> anyhow::Result<()> {
    // info, not warn: a one-off command prints the reason itself; the daemon logs at info.
    info!(account = %account, reason = %reason, "发信暂停：所有待发邮件保留在发件箱，30 分钟后重试");
    db::outbox::hold(db, account, reason, at, at + HOLD_RETRY).await
}

/// How often the daemon looks at the outbox and the schedule.
pub const TICK: Duration = Duration::from_secs(30);

/// The daemon's notices: drafts what is due (receipts, the digest, reminders, the
/// 超大附件 mails: `scheduler::tick`) and sends the outbox, every `TICK`, at once when
/// `ingested` is notified (mail was recorded), until `shutdown`. Without `[smtp]` and
/// `[notify]` it returns at once. `now` is the clock.
pub async fn run(db: &Db, config: &Config, store: &crate::store::Store, mut shutdown: tokio::sync::watch::Receiver<bool>, ingested: &tokio::sync::Notify, now: fn() -> i64) -> anyhow::Result<()> {
    let (Some(smtp), Some(_)) = (config.smtp.as_ref(), config.notify.as_ref()) else {
        info!("未配置 [smtp] 和 [notify]：不发送回执、汇总和提醒");
        return Ok(());
    };
    let recovered = db::outbox::recover_interrupted(db).await?;
    if recovered > 0 {
        warn!(recovered, "上次退出时有邮件发送被中断，将重新发送（收件人可能收到两次）");
    }
    loop {
        if let Err(e) = crate::scheduler::tick(db, config, store, now()).await {
            tracing::error!(error = %format!("{e:#}"), "生成通知失败");
        }
        // The 授权码 is read again each round: a corrected password file is used
        // without a restart, at the next try of a hold (every 30 minutes).
        let sent = match smtp.password() {
            Ok(password) => match transport(smtp, &password) {
                Ok(t) => flush(db, config, &t, now, false).await.map(|_| ()),
                Err(e) => Err(e),
            },
            Err(e) => Err(e.into()),
        };
        if let Err(e) = sent {
            tracing::error!(error = %format!("{e:#}"), "发送通知失败");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = ingested.notified() => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

