//! Who really sent a message. A department is known by its sender address, and anyone
//! can write `From: tkpcs@qq.com`; QQ, Foxmail and 163 sign their mail (DKIM) and
//! qq.com publishes DMARC `p=quarantine`. When a message is first analysed, its DKIM
//! signatures are verified over the raw mail (`check`), SPF and DMARC are taken from
//! the receiving server's own topmost `Authentication-Results` (`results`), or DMARC
//! is computed from DKIM when that header is missing; the evidence is kept per
//! message, and `verdict` (pure) says what it means under the office's policy.

pub mod check; // DKIM and DMARC over DNS: a lazily made resolver, a cache, short timeouts, bounded retries
pub mod results; // pure: the topmost Authentication-Results header, trusted only from mx.qq.com
pub mod verdict; // pure: the evidence under the policy: pass, fail, none or temperror; held or flagged

use std::net::SocketAddr;

use serde::Serialize;

/// `[intake] sender_auth`: what a failed check does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Mail from a roster address whose domain publishes DMARC `p=quarantine` or
    /// `p=reject`, and which fails DMARC, is held; `p=none` only flags it.
    #[default]
    Dmarc,
    /// Mail from a roster address without a valid DKIM signature aligned with its From
    /// domain is held, whatever DMARC says.
    Dkim,
    /// Nothing is checked.
    Off,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Dmarc, Mode::Dkim, Mode::Off];

    pub fn code(self) -> &'static str {
        match self {
            Mode::Dmarc => "dmarc",
            Mode::Dkim => "dkim",
            Mode::Off => "off",
        }
    }

    pub fn from_code(code: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// The sender checks as configured (`[intake] sender_auth`, `dns_servers`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// The DNS servers the checks ask; empty: the system's (/etc/resolv.conf).
    pub dns_servers: Vec<SocketAddr>,
    /// Whether mail taken in from files is held by the policy too (`import
    /// --check-senders`); mail from IMAP always is. Set by the command, not the file.
    pub check_imports: bool,
}

impl Policy {
    /// Whether a failed check may hold mail: from IMAP always; from files only with
    /// `import --check-senders`. A plain import (a backfill, often of old mail whose
    /// keys have rotated) records the evidence only.
    pub fn enforced(&self, from_imap: bool) -> bool {
        self.mode != Mode::Off && (from_imap || self.check_imports)
    }
}

/// One DKIM signature of a message and what verifying it gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Signature {
    /// `d=`: the domain that signed.
    pub domain: String,
    /// `s=`: the key's selector.
    pub selector: String,
    /// `pass`, `fail`, `neutral`, `permerror`, `temperror` (the DNS failed) or `none`.
    pub result: String,
    /// Why it did not pass, as a code: `body_changed`, `bad_signature`, `no_key`,
    /// `expired`, `dns`, `malformed`; '' when it passed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// Where SPF and DMARC came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The receiving server's own topmost `Authentication-Results` (mx.qq.com).
    Header,
    /// No trusted header: DMARC computed here from DKIM; SPF could not be checked.
    #[default]
    Computed,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Header => "header",
            Source::Computed => "computed",
        }
    }

    pub fn from_code(code: &str) -> Option<Source> {
        [Source::Header, Source::Computed].into_iter().find(|s| s.code() == code)
    }
}

/// What the checks say about the sender, in one word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Authenticated: a valid aligned signature, or DMARC passed at the receiving server.
    Pass,
    /// A definite failure: what the From domain requires is missing or broken.
    Fail,
    /// Nothing to judge by: the domain publishes no DMARC policy and nothing passed.
    #[default]
    None,
    /// The DNS could not be asked, after retries: 未能验证.
    TempError,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::None => "none",
            Verdict::TempError => "temperror",
        }
    }

    pub fn from_code(code: &str) -> Option<Verdict> {
        [Verdict::Pass, Verdict::Fail, Verdict::None, Verdict::TempError].into_iter().find(|v| v.code() == code)
    }
}

/// What was found about a message's sender when it was first analysed, kept with it
/// (`db::sender_auth`): `reprocess` reads it and never checks again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The domain of the From address, lower case.
    pub from_domain: String,
    pub dkim: Vec<Signature>,
    /// `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror`, `permerror` from the
    /// trusted header, or `not_checked` without one.
    pub spf: String,
    /// `pass`, `fail`, `none` (no policy published), `temperror`, `permerror`.
    pub dmarc: String,
    /// The From domain's DMARC policy: `none`, `quarantine`, `reject`, or '' (none published or unknown).
    pub policy: String,
    pub source: Source,
    /// The verdict under the mode in force when it was checked.
    pub verdict: Verdict,
    /// The mode it was judged under.
    #[serde(skip)]
    pub mode: Mode,
    /// Whether the policy could hold it (IMAP, `import --check-senders`).
    #[serde(skip)]
    pub enforced: bool,
    /// How many times the DNS was asked (more than once after a temporary failure).
    pub tries: u32,
    /// When it was checked (Unix seconds).
    pub checked_at: i64,
}

impl Evidence {
    /// The signatures from the From domain (or a parent of it) that verified.
    pub fn aligned_pass(&self) -> Option<&Signature> {
        self.dkim.iter().find(|s| s.result == "pass" && aligned(&s.domain, &self.from_domain))
    }

    /// What the office reads: 发件人已验证（qq.com 签名有效）, 发件人地址可能被冒充：… .
    pub fn summary(&self) -> String {
        verdict::summary(self)
    }

    /// The JSON of `items --json` and `quarantine list --json`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("summary".into(), self.summary().into());
        }
        v
    }
}

/// Relaxed alignment, as DMARC's `adkim=r` for the cases that arrive here: the signing
/// domain is the From domain or a parent of it (`qq.com` for `mail.qq.com`).
pub fn aligned(signer: &str, from_domain: &str) -> bool {
    let (d, f) = (signer.trim_end_matches('.').to_ascii_lowercase(), from_domain.trim_end_matches('.').to_ascii_lowercase());
    !d.is_empty() && d.contains('.') && (d == f || f.ends_with(&format!(".{d}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_is_the_from_domain_or_a_parent() {
        assert!(aligned("qq.com", "qq.com"));
        assert!(aligned("QQ.com.", "vip.qq.com"));
        assert!(!aligned("evil.test", "qq.com"));
        assert!(!aligned("q.com", "qq.com"));
        assert!(!aligned("com", "qq.com"));
        assert!(!aligned("vip.qq.com", "qq.com"));
    }

    #[test]
    fn imports_are_held_only_when_asked() {
        let p = Policy::default();
        assert!(p.enforced(true));
        assert!(!p.enforced(false));
        assert!(Policy { check_imports: true, ..Policy::default() }.enforced(false));
        assert!(!Policy { mode: Mode::Off, ..Policy::default() }.enforced(true));
    }
}
