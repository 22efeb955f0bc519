//! The `[smtp]` and `[notify]` tables: how baosong sends mail, and what it sends when.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;
use serde::Deserialize;

use super::ConfigError;
use super::imap::parse_duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSmtp {
    provider: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    tls: Option<String>,
    user: Option<String>,
    password_env: Option<String>,
    password_file: Option<String>,
    ca_file: Option<String>,
    from: Option<String>,
    timeout: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    office: Option<Vec<String>>,
    digest_time: Option<String>,
    reminder_time: Option<String>,
    quiet_hours: Option<String>,
    receipts: Option<bool>,
    remind_days_before: Option<i64>,
    remind_on_deadline: Option<bool>,
    overdue_every_days: Option<i64>,
    overdue_for_days: Option<i64>,
    templates_dir: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    Implicit,
    StartTls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: String,
    password_env: String,
    password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// "乌审旗公安局宣传工作领导小组办公室 <1605739848@qq.com>"
    pub from: String,
    pub timeout: Duration,
    origin: String,
}

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub office: Vec<String>,
    pub digest_time: NaiveTime,
    pub reminder_time: NaiveTime,
    /// Local times between which nothing is sent (start, end); may wrap midnight.
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
    pub receipts: bool,
    pub remind_days_before: u32,
    pub remind_on_deadline: bool,
    pub overdue_every_days: u32,
    /// Overdue reminders stop this many days after the deadline: the cycle is closed.
    pub overdue_for_days: u32,
    pub templates_dir: Option<PathBuf>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            office: vec![],
            digest_time: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            reminder_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            quiet_hours: Some((NaiveTime::from_hms_opt(22, 0, 0).unwrap_or_default(), NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default())),
            receipts: true,
            remind_days_before: 3,
            remind_on_deadline: true,
            overdue_every_days: 3,
            overdue_for_days: 14,
            templates_dir: None,
        }
    }
}

fn time(file: &str, key: &str, v: &Option<String>, default: &str) -> Result<NaiveTime, ConfigError> {
    let s = v.as_deref().unwrap_or(default);
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| ConfigError::new(file, &format!("notify.{key}"), format!("无法识别的时间 \"{s}\""), "写成 24 小时制的 \"HH:MM\"，例如 \"08:00\""))
}

impl SmtpConfig {
    pub fn from_raw(file: &str, base: &Path, raw: RawSmtp) -> Result<SmtpConfig, ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError::new(file, &format!("smtp.{key}"), problem, fix);
        let preset = super::provider(file, "smtp", raw.provider.as_deref(), 465)?;
        let host = raw.host.or(preset.as_ref().map(|p| p.0.clone())).ok_or_else(|| err("host", "没有写发信服务器".into(), "写 provider = \"qq\"，或写 host = \"smtp.example.com\""))?;
        let tls = match raw.tls.as_deref().unwrap_or("tls") {
            "tls" => SmtpTls::Implicit,
            "starttls" => SmtpTls::StartTls,
            other => return Err(err("tls", format!("不认识的加密方式 \"{other}\""), "写 \"tls\"（465 端口）或 \"starttls\"（587 端口）")),
        };
        let port = match raw.port {
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(p) => return Err(err("port", format!("{p} 不是有效端口"), "QQ 邮箱为 465")),
            None => preset.map(|p| p.1).unwrap_or(if tls == SmtpTls::Implicit { 465 } else { 587 }),
        };
        let user = raw.user.filter(|u| !u.trim().is_empty()).ok_or_else(|| err("user", "没有写发信账号".into(), "写完整邮箱地址，例如 user = \"1605739848@qq.com\""))?;
        let from = raw.from.unwrap_or_else(|| user.clone());
        let from_example = "写成 \"显示名 <地址>\"，例如 \"乌审旗公安局宣传工作领导小组办公室 <1605739848@qq.com>\"";
        if let Err((problem, _)) = crate::address::check_mailbox(&from) {
            return Err(err("from", problem, from_example));
        }
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err("from", format!("发件人 \"{from}\" 格式不对"), from_example));
        }
        let t = raw.timeout.as_deref().unwrap_or("1m");
        let timeout = parse_duration(t).filter(|d| !d.is_zero()).ok_or_else(|| err("timeout", format!("无法识别的时长 \"{t}\""), "写成 \"30s\" 或 \"1m\""))?;
        Ok(SmtpConfig {
            host,
            port,
            tls,
            user,
            password_env: raw.password_env.unwrap_or_else(|| "BAOSONG_SMTP_PASSWORD".into()),
            password_file: raw.password_file.map(|p| base.join(p)),
            ca_file: raw.ca_file.map(|p| base.join(p)),
            from,
            timeout,
            origin: file.to_string(),
        })
    }

    /// "office@qq.com（smtp.qq.com:465）": the sending account, as people and the
    /// outbox hold name it.
    pub fn account(&self) -> String {
        format!("{}（{}:{}）", self.user, self.host, self.port)
    }

    /// The environment variable the 授权码 may come from.
    pub fn password_env(&self) -> &str {
        &self.password_env
    }

    /// The password (授权码), read when needed and never logged.
    pub fn password(&self) -> Result<String, ConfigError> {
        super::secret(&self.origin, "smtp", &self.password_env, self.password_file.as_deref())
    }
}

impl NotifyConfig {
    pub fn from_raw(file: &str, base: &Path, raw: RawNotify) -> Result<NotifyConfig, ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError::new(file, &format!("notify.{key}"), problem, fix);
        let quiet_hours = match raw.quiet_hours.as_deref() {
            None => NotifyConfig::default().quiet_hours,
            Some("") | Some("none") => None,
            Some(q) => {
                let (a, b) = q.split_once('-').ok_or_else(|| err("quiet_hours", format!("无法识别的时段 \"{q}\""), "写成 \"22:00-07:00\"，或 \"none\" 表示随时发送"))?;
                let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M");
                match (parse(a), parse(b)) {
                    (Ok(a), Ok(b)) if a != b => Some((a, b)),
                    _ => return Err(err("quiet_hours", format!("无法识别的时段 \"{q}\""), "写成 \"22:00-07:00\"，或 \"none\" 表示随时发送")),
                }
            }
        };
        let days = |key: &str, v: Option<i64>, default: u32, min: i64| -> Result<u32, ConfigError> {
            match v {
                None => Ok(default),
                Some(d) if (min..=28).contains(&d) => Ok(d as u32),
                Some(d) => Err(err(key, format!("{d} 天不合适"), &format!("填 {min} 到 28 之间的整数"))),
            }
        };
        for (i, a) in raw.office.iter().flatten().enumerate() {
            let checked = crate::address::check_mailbox(a).and_then(|()| {
                a.parse::<lettre::message::Mailbox>().map(|_| ()).map_err(|_| (format!("\"{a}\" 不是有效的邮箱地址"), String::new()))
            });
            if let Err((problem, fix)) = checked {
                let fix = if fix.is_empty() { "写成完整地址，例如 \"1605739848@qq.com\"".to_string() } else { fix };
                return Err(err(&format!("office[{i}]"), problem, &fix));
            }
        }
        Ok(NotifyConfig {
            office: raw.office.unwrap_or_default(),
            digest_time: time(file, "digest_time", &raw.digest_time, "08:00")?,
            reminder_time: time(file, "reminder_time", &raw.reminder_time, "09:00")?,
            quiet_hours,
            receipts: raw.receipts.unwrap_or(true),
            remind_days_before: days("remind_days_before", raw.remind_days_before, 3, 0)?,
            remind_on_deadline: raw.remind_on_deadline.unwrap_or(true),
            overdue_every_days: days("overdue_every_days", raw.overdue_every_days, 3, 1)?,
            overdue_for_days: days("overdue_for_days", raw.overdue_for_days, 14, 1)?,
            templates_dir: raw.templates_dir.map(|d| base.join(d)),
        })
    }

    /// Whether local time `t` falls in the quiet hours.
    pub fn is_quiet(&self, t: NaiveTime) -> bool {
        match self.quiet_hours {
            None => false,
            Some((start, end)) if start < end => t >= start && t < end,
            Some((start, end)) => t >= start || t < end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_wrap_midnight() {
        let n = NotifyConfig::default();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(n.is_quiet(t(23, 0)) && n.is_quiet(t(3, 0)) && n.is_quiet(t(6, 59)));
        assert!(!n.is_quiet(t(7, 0)) && !n.is_quiet(t(12, 0)) && !n.is_quiet(t(21, 59)));
    }

    #[test]
    fn errors_name_the_key() {
        let raw: RawNotify = toml::from_str("digest_time = \"8点\"").unwrap();
        assert_eq!(NotifyConfig::from_raw("f", Path::new("."), raw).unwrap_err().key, "notify.digest_time");
        let raw: RawNotify = toml::from_str("office = [\"not an address\"]").unwrap();
        assert_eq!(NotifyConfig::from_raw("f", Path::new("."), raw).unwrap_err().key, "notify.office[0]");
        let raw: RawSmtp = toml::from_str("provider = \"qq\"\nuser = \"a@qq.com\"\nfrom = \"办公室 <a@qq.com>\"").unwrap();
        let s = SmtpConfig::from_raw("f", Path::new("."), raw).unwrap();
        assert_eq!((s.host.as_str(), s.port, s.tls), ("smtp.qq.com", 465, SmtpTls::Implicit));
    }
}
