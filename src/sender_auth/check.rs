//! The sender checked over the DNS: every DKIM signature of the raw mail verified with
//! mail-auth, DMARC from the trusted `Authentication-Results` (`results`) or computed
//! from DKIM. The resolver is made the first time a message needs it (an idle daemon
//! never holds one), once per set of DNS servers, and kept with a cache of the parsed
//! TXT records (keys, DMARC policies) for their TTL: a warm cache asks nothing. Each
//! query waits `TIMEOUT` at most; a temporary failure is tried again `TRIES` times in
//! all, then recorded as `temperror` (未能验证).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use mail_auth::dkim::DkimError;
use mail_auth::dmarc::Policy as DmarcPolicy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DkimOutput, DkimResult, DmarcResult, MessageAuthenticator, Parameters, ResolverCache, SpfOutput, Txt};

use super::results::{self, AuthResults};
use super::verdict::judge;
use super::{Evidence, Policy, Signature, Source};

/// How long one DNS query may take.
pub const TIMEOUT: Duration = Duration::from_millis(1500);
/// Tries before a temporary DNS failure is recorded as temperror.
pub const TRIES: u32 = 3;
/// The pause before the second try; doubled before each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(300);
/// Parsed TXT records kept at most (about 1 KiB each).
const CACHE_ENTRIES: usize = 4096;

/// A resolver and its cache, for one set of DNS servers.
pub struct Checker {
    auth: MessageAuthenticator,
    cache: TxtCache,
}

/// The checker for `servers` (empty: the system's), made on first use.
pub fn checker(servers: &[SocketAddr]) -> anyhow::Result<Arc<Checker>> {
    static CHECKERS: OnceLock<Mutex<HashMap<Vec<SocketAddr>, Arc<Checker>>>> = OnceLock::new();
    let mut all = CHECKERS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = all.get(servers) {
        return Ok(c.clone());
    }
    let c = Arc::new(Checker { auth: authenticator(servers)?, cache: TxtCache::default() });
    all.insert(servers.to_vec(), c.clone());
    Ok(c)
}

fn authenticator(servers: &[SocketAddr]) -> anyhow::Result<MessageAuthenticator> {
    let (config, mut opts) = if servers.is_empty() {
        mail_auth::hickory_resolver::system_conf::read_system_conf().map_err(|e| anyhow::anyhow!("无法读取系统的 DNS 设置（/etc/resolv.conf）：{e}；可在 [intake] dns_servers 中写明 DNS 服务器"))?
    } else {
        let name_servers = servers
            .iter()
            .map(|s| {
                let (mut udp, mut tcp) = (ConnectionConfig::udp(), ConnectionConfig::tcp());
                (udp.port, tcp.port) = (s.port(), s.port());
                NameServerConfig::new(s.ip(), true, vec![udp, tcp])
            })
            .collect();
        (ResolverConfig::from_name_servers(name_servers), ResolverOpts::default())
    };
    opts.timeout = TIMEOUT;
    // Retries are ours (`TRIES`, with pauses), so that a dead server costs a bounded time.
    opts.attempts = 1;
    opts.edns0 = true;
    opts.cache_size = 256;
    MessageAuthenticator::new(config, opts).map_err(|e| anyhow::anyhow!("无法建立 DNS 查询：{e}"))
}

/// Checks the sender of `raw` (the whole message as received). `now` is the time of
/// the check (Unix seconds), recorded with the evidence.
pub async fn check(policy: &Policy, raw: &[u8], now: i64) -> anyhow::Result<Evidence> {
    let header = results::trusted(raw);
    let Some(message) = AuthenticatedMessage::parse(raw) else {
        // Not even a header block: nothing signed, nothing to align with.
        return Ok(finish(policy, Evidence { dmarc: "none".into(), spf: "not_checked".into(), tries: 0, checked_at: now, ..Evidence::default() }, header.as_ref()));
    };
    let checker = checker(&policy.dns_servers)?;
    let mut pause = FIRST_PAUSE;
    let mut tries = 0;
    loop {
        tries += 1;
        let mut e = checker.once(&message).await;
        (e.tries, e.checked_at) = (tries, now);
        if !temporary(&e, header.as_ref()) || tries >= TRIES {
            return Ok(finish(policy, e, header.as_ref()));
        }
        tracing::info!(tries, "查询发件人签名记录的 DNS 暂时失败，稍后再试");
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
}

/// Whether a try met a temporary DNS failure worth trying again: not when a signature
/// already passed, nor for DMARC when the trusted header gives its result.
fn temporary(e: &Evidence, header: Option<&AuthResults>) -> bool {
    let dmarc_known = header.is_some_and(|h| h.method("dmarc").is_some());
    e.aligned_pass().is_none() && ((e.dmarc == "temperror" && !dmarc_known) || e.dkim.iter().any(|s| s.result == "temperror"))
}

/// SPF and DMARC from the trusted header, when there is one; the verdict.
fn finish(policy: &Policy, mut e: Evidence, header: Option<&AuthResults>) -> Evidence {
    e.mode = policy.mode;
    match header {
        Some(h) => {
            e.source = Source::Header;
            e.spf = h.method("spf").map_or_else(|| "none".to_string(), |m| m.result.clone());
            if let Some(d) = h.method("dmarc") {
                // What we verified ourselves stands: an aligned valid signature passes
                // DMARC whatever the server said; a result we cannot read leaves ours.
                if e.aligned_pass().is_none() && matches!(d.result.as_str(), "pass" | "fail" | "temperror" | "permerror") {
                    e.dmarc = d.result.clone();
                }
                if e.policy.is_empty() {
                    e.policy = d.policy().unwrap_or_default();
                }
            }
        }
        None => {
            e.source = Source::Computed;
            e.spf = "not_checked".into();
        }
    }
    e.verdict = judge(policy.mode, &e);
    e
}

impl Checker {
    /// One try: DKIM, then DMARC computed from it (SPF is the server's to check).
    async fn once(&self, message: &AuthenticatedMessage<'_>) -> Evidence {
        let dkim: Vec<DkimOutput<'_>> = self.auth.verify_dkim(Parameters::new(message).with_txt_cache(&self.cache)).await;
        let from_domain = message.from.first().and_then(|f| f.rsplit_once('@')).map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase()).unwrap_or_default();
        let spf = SpfOutput::new(String::new());
        let dmarc = self.auth.verify_dmarc(Parameters::new(DmarcParameters::new(message, &dkim, "", &spf)).with_txt_cache(&self.cache)).await;
        let policy = match (dmarc.dmarc_record(), dmarc.policy()) {
            (None, _) => "",
            (Some(_), DmarcPolicy::Quarantine) => "quarantine",
            (Some(_), DmarcPolicy::Reject) => "reject",
            (Some(_), _) => "none",
        };
        let result = match dmarc.result() {
            DmarcResult::Pass => "pass",
            DmarcResult::Fail(_) => "fail",
            DmarcResult::TempError(_) => "temperror",
            DmarcResult::PermError(_) => "permerror",
            DmarcResult::None => "none",
        };
        Evidence { from_domain, dkim: dkim.iter().map(signature).collect(), dmarc: result.into(), policy: policy.into(), ..Evidence::default() }
    }
}

/// A verified signature as kept.
fn signature(o: &DkimOutput<'_>) -> Signature {
    use mail_auth::Error;
    let (domain, selector) = o.signature().map_or_else(Default::default, |s| (s.d.to_ascii_lowercase(), s.s.clone()));
    let reason = |e: &Error| match e {
        Error::Dkim(DkimError::FailedBodyHashMatch) => "body_changed",
        Error::Dkim(DkimError::SignatureExpired) => "expired",
        Error::Dkim(DkimError::RevokedPublicKey) | Error::Dns(mail_auth::DnsError::RecordNotFound(_) | mail_auth::DnsError::InvalidRecordType) => "no_key",
        Error::Dns(_) => "dns",
        Error::Crypto(_) | Error::Dkim(DkimError::FailedAuidMatch) => "bad_signature",
        _ => "malformed",
    };
    let (result, why) = match o.result() {
        DkimResult::Pass => ("pass", ""),
        DkimResult::Neutral(e) => ("neutral", reason(e)),
        DkimResult::Fail(e) => ("fail", reason(e)),
        DkimResult::PermError(e) => ("permerror", reason(e)),
        DkimResult::TempError(e) => ("temperror", reason(e)),
        DkimResult::None => ("none", ""),
    };
    Signature { domain, selector, result: result.into(), reason: why.into() }
}

/// Parsed TXT records by name, each until its TTL runs out; bounded (when full, the
/// expired go, then everything: the cache only saves queries).
#[derive(Default)]
pub struct TxtCache {
    entries: Mutex<HashMap<Box<str>, (Txt, Instant)>>,
}

impl ResolverCache<Box<str>, Txt> for TxtCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(name).filter(|(_, until)| *until > Instant::now()).map(|(t, _)| t.clone())
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(name).map(|(t, _)| t)
    }

    fn insert(&self, name: Box<str>, value: Txt, valid_until: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(name, (value, valid_until));
    }
}

/// Checks the sender of the raw mail stored at `path`, unless the checks are off.
/// `enforced`: whether the policy may hold it (see `Policy::enforced`). A check that
/// cannot even start (no DNS configuration, the file unreadable) is recorded as
/// temperror: counted and flagged, never held.
pub async fn check_file(policy: &Policy, path: &std::path::Path, enforced: bool, now: i64) -> Option<Evidence> {
    if policy.mode == super::Mode::Off {
        return None;
    }
    let checked = match std::fs::File::open(path) {
        // SAFETY: raw mail in the store is written once, fsynced and never changed; the
        // map is read here and dropped before this returns. Large messages are not
        // read into memory for their body hash.
        Ok(f) => match unsafe { memmap2::Mmap::map(&f) } {
            Ok(map) => check(policy, &map, now).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    };
    let mut e = checked.unwrap_or_else(|err| {
        tracing::warn!(error = %format!("{err:#}"), "无法验证发件人，记为未能验证");
        let mut e = Evidence { spf: "not_checked".into(), dmarc: "temperror".into(), tries: 0, checked_at: now, mode: policy.mode, ..Evidence::default() };
        e.verdict = super::Verdict::TempError;
        e
    });
    e.enforced = enforced;
    tracing::info!(verdict = e.verdict.code(), from_domain = %e.from_domain, "发件人验证：{}", e.summary());
    Some(e)
}
