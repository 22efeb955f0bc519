//! The `[imap]` table: which mailbox to watch and how. The password (QQ's 授权码) is
//! never in the file: it comes from an environment variable or a file of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Deserialize;

use super::{ConfigError, parse_size};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawImap {
    provider: Option<String>,
    host: Option<String>,
    port: Option<i64>,
    tls: Option<String>,
    #[serde(default)]
    allow_insecure: bool,
    user: Option<String>,
    password_env: Option<String>,
    password_file: Option<String>,
    ca_file: Option<String>,
    folders: Option<Vec<String>>,
    scan_junk: Option<bool>,
    backfill_since: Option<String>,
    idle: Option<bool>,
    idle_timeout: Option<String>,
    poll_interval: Option<String>,
    chunk_size: Option<String>,
    after_ingest: Option<String>,
    stale_after: Option<String>,
    timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Implicit,
    StartTls,
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterIngest {
    Nothing,
    Seen,
    Flag,
    Move(String),
}

#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: String,
    password_env: String,
    password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub folders: Vec<String>,
    pub scan_junk: bool,
    /// Local midnight of this date in the intake timezone, as Unix seconds.
    pub backfill_since: Option<i64>,
    pub idle: bool,
    pub idle_timeout: Duration,
    pub poll_interval: Duration,
    pub chunk_size: u64,
    pub after_ingest: AfterIngest,
    pub stale_after: Duration,
    /// How long one command may go unanswered before the connection is given up.
    pub timeout: Duration,
    origin: String,
}

/// "30s", "2m", "1h", "90" (seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split].parse().ok()?;
    let mult = match s[split..].trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(n * mult))
}

impl ImapConfig {
    pub fn from_raw(file: &str, base: &Path, raw: RawImap, tz: chrono_tz::Tz) -> Result<ImapConfig, ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError::new(file, &format!("imap.{key}"), problem, fix);
        let preset = super::provider(file, "imap", raw.provider.as_deref(), 993)?;
        let host = raw.host.clone().or(preset.as_ref().map(|p| p.0.clone())).ok_or_else(|| err("host", "没有写邮箱服务器".into(), "写 provider = \"qq\"，或写 host = \"imap.example.com\""))?;
        let tls = match raw.tls.as_deref().unwrap_or("tls") {
            "tls" => Tls::Implicit,
            "starttls" => Tls::StartTls,
            "plain" if raw.allow_insecure => Tls::Plain,
            "plain" => return Err(err("tls", "明文连接会泄露授权码".into(), "改用 \"tls\" 或 \"starttls\"；仅在本机测试时可另加 allow_insecure = true")),
            other => return Err(err("tls", format!("不认识的加密方式 \"{other}\""), "写 \"tls\"（993 端口）、\"starttls\"（143 端口）")),
        };
        let default_port = if tls == Tls::Implicit { 993 } else { 143 };
        let port = match raw.port {
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(p) => return Err(err("port", format!("{p} 不是有效端口"), "写 1–65535 之间的端口号，QQ 邮箱为 993")),
            None => preset.map(|p| p.1).unwrap_or(default_port),
        };
        let user = raw.user.clone().filter(|u| !u.trim().is_empty()).ok_or_else(|| err("user", "没有写邮箱账号".into(), "写完整邮箱地址，例如 user = \"1605739848@qq.com\""))?;
        let dur = |key: &str, v: &Option<String>, default: &str| -> Result<Duration, ConfigError> {
            let s = v.as_deref().unwrap_or(default);
            parse_duration(s).filter(|d| !d.is_zero()).ok_or_else(|| err(key, format!("无法识别的时长 \"{s}\""), "写成 \"30s\"、\"2m\" 或 \"1h\""))
        };
        let idle_timeout = dur("idle_timeout", &raw.idle_timeout, "5m")?;
        if idle_timeout > Duration::from_secs(300) {
            return Err(err("idle_timeout", "IDLE 超过 5 分钟，网络设备可能悄悄断开连接".into(), "写不超过 \"5m\" 的时长"));
        }
        let chunk_text = raw.chunk_size.as_deref().unwrap_or("8MiB");
        let chunk_size = parse_size(chunk_text).filter(|s| *s >= 64 << 10).ok_or_else(|| err("chunk_size", format!("无法识别的大小 \"{chunk_text}\""), "写不小于 64KiB 的大小，例如 \"8MiB\""))?;
        let after_ingest = match raw.after_ingest.as_deref().unwrap_or("none") {
            "none" => AfterIngest::Nothing,
            "seen" => AfterIngest::Seen,
            "flag" => AfterIngest::Flag,
            m if m.starts_with("move:") && m.len() > 5 => AfterIngest::Move(crate::utf7::to_wire(&m[5..])),
            other => return Err(err("after_ingest", format!("不认识的处理方式 \"{other}\""), "写 \"none\"（不改动邮件）、\"seen\"（标为已读）、\"flag\"（加星标）或 \"move:文件夹名\"")),
        };
        let backfill_since = match &raw.backfill_since {
            None => None,
            Some(s) => {
                let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| err("backfill_since", format!("无法识别的日期 \"{s}\""), "写成 \"2024-01-01\""))?;
                let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
                Some(midnight.and_local_timezone(tz).earliest().map(|t| t.timestamp()).unwrap_or_default())
            }
        };
        // Folder names are written as people see them (其他文件夹/宣传) and sent to the
        // server in modified UTF-7.
        let folders: Vec<String> = raw.folders.clone().unwrap_or_else(|| vec!["INBOX".into()]).iter().map(|f| crate::utf7::to_wire(f)).collect();
        if folders.is_empty() {
            return Err(err("folders", "没有要读取的文件夹".into(), "写 folders = [\"INBOX\"]"));
        }
        Ok(ImapConfig {
            host,
            port,
            tls,
            user,
            password_env: raw.password_env.unwrap_or_else(|| "BAOSONG_IMAP_PASSWORD".into()),
            password_file: raw.password_file.map(|p| base.join(p)),
            ca_file: raw.ca_file.map(|p| base.join(p)),
            folders,
            scan_junk: raw.scan_junk.unwrap_or(true),
            backfill_since,
            idle: raw.idle.unwrap_or(true),
            idle_timeout,
            poll_interval: dur("poll_interval", &raw.poll_interval, "2m")?,
            chunk_size,
            after_ingest,
            stale_after: dur("stale_after", &raw.stale_after, "30m")?,
            timeout: dur("timeout", &raw.timeout, "2m")?,
            origin: file.to_string(),
        })
    }

    /// "user@host": the account's name in the cursor table and in logs.
    pub fn account(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }

    /// The password (授权码), read when it is needed and never logged.
    pub fn password(&self) -> Result<String, ConfigError> {
        super::secret(&self.origin, "imap", &self.password_env, self.password_file.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Result<ImapConfig, ConfigError> {
        let raw: RawImap = toml::from_str(text).unwrap();
        ImapConfig::from_raw("baosong.toml", Path::new("/etc/baosong"), raw, chrono_tz::Asia::Shanghai)
    }

    #[test]
    fn presets_and_defaults() {
        let c = cfg("provider = \"qq\"\nuser = \"1605739848@qq.com\"").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.tls), ("imap.qq.com", 993, Tls::Implicit));
        assert_eq!(c.folders, ["INBOX"]);
        assert!(c.scan_junk && c.idle);
        assert_eq!(c.poll_interval, Duration::from_secs(120));
        assert_eq!(c.chunk_size, 8 << 20);
        assert_eq!(c.after_ingest, AfterIngest::Nothing);
    }

    #[test]
    fn plain_needs_allow_insecure_and_errors_name_the_key() {
        let e = cfg("host = \"localhost\"\ntls = \"plain\"\nuser = \"a\"").unwrap_err();
        assert_eq!(e.key, "imap.tls");
        assert!(cfg("host = \"localhost\"\ntls = \"plain\"\nallow_insecure = true\nuser = \"a\"").is_ok());
        assert_eq!(cfg("provider = \"gmail\"\nuser = \"a\"").unwrap_err().key, "imap.provider");
        assert_eq!(cfg("provider = \"qq\"").unwrap_err().key, "imap.user");
        assert_eq!(cfg("provider = \"qq\"\nuser = \"a\"\nidle_timeout = \"29m\"").unwrap_err().key, "imap.idle_timeout");
        assert_eq!(cfg("provider = \"qq\"\nuser = \"a\"\nafter_ingest = \"delete\"").unwrap_err().key, "imap.after_ingest");
        let c = cfg("provider = \"qq\"\nuser = \"a\"\nbackfill_since = \"2024-01-01\"\nafter_ingest = \"move:已报送\"").unwrap();
        assert_eq!(c.backfill_since, Some(1704038400));
        assert_eq!(c.after_ingest, AfterIngest::Move("&XfJipZAB-".into()), "已报送, in modified UTF-7");
    }

    #[test]
    fn the_password_comes_from_the_environment_with_a_clear_error() {
        let c = cfg("provider = \"qq\"\nuser = \"a\"\npassword_env = \"BAOSONG_TEST_NO_SUCH_VAR\"").unwrap();
        let e = c.password().unwrap_err();
        assert!(e.fix.contains("授权码") && e.problem.contains("BAOSONG_TEST_NO_SUCH_VAR"));
    }
}
