//! Pure: what the evidence about a sender means under the office's policy. `judge`
//! gives the verdict (pass, fail, none, temperror); `consequence` says whether the
//! mail is held for review or only flagged; `summary` says it in Chinese. Nothing here
//! reads the clock, the DNS or the database.

use super::{Evidence, Mode, Verdict, aligned};
use crate::rejection::{Flag, HeldReason};

/// The verdict on `e` under `mode`.
pub fn judge(mode: Mode, e: &Evidence) -> Verdict {
    if e.aligned_pass().is_some() {
        return Verdict::Pass;
    }
    let aligned_temp = e.dkim.iter().any(|s| s.result == "temperror" && aligned(&s.domain, &e.from_domain));
    match mode {
        Mode::Dkim | Mode::Off if aligned_temp => Verdict::TempError,
        Mode::Dkim | Mode::Off => Verdict::Fail,
        Mode::Dmarc => match e.dmarc.as_str() {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            "temperror" => Verdict::TempError,
            _ if aligned_temp => Verdict::TempError,
            _ => Verdict::None,
        },
    }
}

/// What a verdict does to a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consequence {
    /// Held for the office to review instead of counted.
    pub held: Option<HeldReason>,
    /// Counted, with these flags on the message.
    pub flags: Vec<Flag>,
}

/// What the evidence does under `mode`. `enforced`: the policy applies to this mail
/// (IMAP, `import --check-senders`); a plain import records the evidence only. No
/// evidence (mail recorded before senders were checked, or with the checks off) does
/// nothing.
pub fn consequence(e: Option<&Evidence>, mode: Mode, enforced: bool) -> Consequence {
    let Some(e) = e else { return Consequence::default() };
    if mode == Mode::Off || !enforced {
        return Consequence::default();
    }
    match judge(mode, e) {
        Verdict::Pass | Verdict::None => Consequence::default(),
        // Only a definite failure holds mail: the DNS failing is no evidence of forgery.
        Verdict::TempError => Consequence { held: None, flags: vec![Flag::SenderUnverified] },
        Verdict::Fail if mode == Mode::Dkim || requires(e) => Consequence { held: Some(HeldReason::SenderAuthFailed), flags: vec![] },
        Verdict::Fail => Consequence { held: None, flags: vec![Flag::SenderAuthFailed] },
    }
}

/// Whether the From domain asks receivers to act on failure (`p=quarantine`, `p=reject`).
fn requires(e: &Evidence) -> bool {
    matches!(e.policy.as_str(), "quarantine" | "reject")
}

/// The evidence in the office's words.
pub fn summary(e: &Evidence) -> String {
    let from = if e.from_domain.is_empty() { "发件域名" } else { e.from_domain.as_str() };
    match e.verdict {
        Verdict::Pass => match e.aligned_pass() {
            Some(s) => format!("发件人已验证（{} 签名有效）", s.domain),
            None => "发件人已验证（收信服务器 mx.qq.com 的 DMARC 检查通过）".to_string(),
        },
        Verdict::TempError => {
            format!("发件人未能验证：查询 {from} 的 DNS 记录失败（试了 {} 次），邮件照常计入，请留意是否为本单位所发", e.tries.max(1))
        }
        Verdict::None => format!("发件人未能确认：{}，{from} 未发布 DMARC 策略", why(e)),
        Verdict::Fail if e.mode == Mode::Dkim => format!("发件人地址可能被冒充：{}（按设置须有 {from} 的有效签名）", why(e)),
        Verdict::Fail if requires(e) => format!("发件人地址可能被冒充：{}，{from} 要求签名", why(e)),
        Verdict::Fail => format!("发件人验证未通过：{}（{from} 的 DMARC 策略为 p=none，只记录，不扣留）", why(e)),
    }
}

/// Why nothing aligned passed, in a few words.
fn why(e: &Evidence) -> String {
    let own = e.dkim.iter().find(|s| aligned(&s.domain, &e.from_domain));
    match own {
        Some(s) if s.reason == "body_changed" => "签名与邮件内容不符（签名后邮件被改动过）".to_string(),
        Some(s) if s.reason == "no_key" => format!("找不到 {} 的签名公钥（选择器 {}）", s.domain, s.selector),
        Some(s) if s.reason == "expired" => "签名已过期".to_string(),
        Some(_) => "签名无效".to_string(),
        None => match e.dkim.iter().find(|s| s.result == "pass") {
            Some(other) => format!("只有 {} 的签名，与发件人域名 {} 不一致", other.domain, e.from_domain),
            None => "没有有效签名".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Signature, Source};
    use super::*;

    fn sig(domain: &str, result: &str, reason: &str) -> Signature {
        Signature { domain: domain.into(), selector: "s201512".into(), result: result.into(), reason: reason.into() }
    }

    fn evidence(dkim: Vec<Signature>, dmarc: &str, policy: &str) -> Evidence {
        let mut e = Evidence { from_domain: "qq.com".into(), dkim, spf: "not_checked".into(), dmarc: dmarc.into(), policy: policy.into(), source: Source::Computed, ..Evidence::default() };
        e.verdict = judge(Mode::Dmarc, &e);
        e
    }

    #[test]
    fn a_valid_aligned_signature_passes() {
        let e = evidence(vec![sig("qq.com", "pass", "")], "pass", "quarantine");
        assert_eq!(judge(Mode::Dmarc, &e), Verdict::Pass);
        assert_eq!(judge(Mode::Dkim, &e), Verdict::Pass);
        assert_eq!(consequence(Some(&e), Mode::Dmarc, true), Consequence::default());
        assert_eq!(e.summary(), "发件人已验证（qq.com 签名有效）");
    }

    #[test]
    fn unsigned_mail_from_a_quarantine_domain_is_held() {
        let e = evidence(vec![], "fail", "quarantine");
        assert_eq!(consequence(Some(&e), Mode::Dmarc, true).held, Some(HeldReason::SenderAuthFailed));
        assert_eq!(e.summary(), "发件人地址可能被冒充：没有有效签名，qq.com 要求签名");
        // A plain import keeps the evidence and holds nothing.
        assert_eq!(consequence(Some(&e), Mode::Dmarc, false), Consequence::default());
        // p=none: flagged, counted.
        let none = evidence(vec![], "fail", "none");
        assert_eq!(consequence(Some(&none), Mode::Dmarc, true), Consequence { held: None, flags: vec![Flag::SenderAuthFailed] });
        assert!(none.summary().contains("p=none"));
    }

    #[test]
    fn a_changed_body_and_another_domain_s_signature_fail() {
        let changed = evidence(vec![sig("qq.com", "neutral", "body_changed")], "fail", "quarantine");
        assert!(changed.summary().contains("签名后邮件被改动过"));
        let evil = evidence(vec![sig("evil.test", "pass", "")], "fail", "quarantine");
        assert_eq!(judge(Mode::Dkim, &evil), Verdict::Fail);
        assert!(evil.summary().contains("只有 evil.test 的签名"), "{}", evil.summary());
    }

    #[test]
    fn dkim_mode_ignores_dmarc_and_temperror_only_flags() {
        let header_pass = evidence(vec![], "pass", "quarantine");
        assert_eq!(judge(Mode::Dmarc, &header_pass), Verdict::Pass);
        assert_eq!(consequence(Some(&header_pass), Mode::Dkim, true).held, Some(HeldReason::SenderAuthFailed));
        let dns = evidence(vec![sig("qq.com", "temperror", "dns")], "temperror", "");
        assert_eq!(consequence(Some(&dns), Mode::Dmarc, true), Consequence { held: None, flags: vec![Flag::SenderUnverified] });
        assert_eq!(consequence(Some(&dns), Mode::Dkim, true).flags, vec![Flag::SenderUnverified]);
        // No DMARC published and nothing signed: nothing to judge by.
        let bare = evidence(vec![], "none", "");
        assert_eq!(consequence(Some(&bare), Mode::Dmarc, true), Consequence::default());
        assert!(bare.summary().starts_with("发件人未能确认"));
        // No evidence (mail recorded before senders were checked): nothing.
        assert_eq!(consequence(None, Mode::Dkim, true), Consequence::default());
    }
}
