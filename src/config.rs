//! Configuration: raw TOML (serde, deny_unknown_fields) validated once into `Config`.
//! Errors name the file, the key and the fix, in Chinese and English.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

pub(crate) mod document;
pub mod imap;
pub mod links;
pub mod notify;
pub mod s3;
pub mod sender_auth;
pub mod web;

pub use crate::config_error::{ConfigError, Place};
use crate::categories::{Categories, RawCategories};
use document::Document;
use imap::{ImapConfig, RawImap};
use notify::{NotifyConfig, RawNotify, RawSmtp, SmtpConfig};
use crate::roster::{RawRoster, Roster};
use crate::unpack::Limits;

/// The example configuration shipped in `config/`, used when no file is given or found.
const DEFAULT_MAIN: &str = include_str!("../config/baosong.toml");
const DEFAULT_DEPARTMENTS: &str = include_str!("../config/departments.toml");
const DEFAULT_CATEGORIES: &str = include_str!("../config/categories.toml");
/// Where the categories come from when `intake.categories_file` is not written.
const BUILT_IN_CATEGORIES: &str = "内置类别 categories.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    intake: RawIntake,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    limits: RawLimits,
    imap: Option<RawImap>,
    smtp: Option<RawSmtp>,
    notify: Option<RawNotify>,
    #[serde(default)]
    inspect: RawInspect,
    #[serde(default)]
    scoring: RawScoring,
    #[serde(default)]
    web: web::RawWeb,
    #[serde(default)]
    links: links::RawLinks,
}

/// `[scoring]`: which 考核细则 file scores are computed by.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScoring {
    /// Without it, the shipped `config/rubric-2024.toml` (embedded).
    rubric: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInspect {
    min_photo_long_side: Option<i64>,
    min_video_short_side: Option<i64>,
    blur_threshold: Option<f64>,
    old_capture_days: Option<i64>,
    short_video_seconds: Option<f64>,
    near_duplicate_distance: Option<i64>,
    recompressed_bits_per_pixel: Option<f64>,
    min_work_pixels: Option<i64>,
    max_pixels: Option<i64>,
    max_decode_memory: Option<String>,
    thumbnails: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIntake {
    timezone: String,
    deadline_day: i64,
    departments_file: String,
    /// Without it, the built-in ten categories (config/categories.toml, embedded).
    categories_file: Option<String>,
    /// "dmarc" (default), "dkim" or "off": see `config::sender_auth`.
    sender_auth: Option<String>,
    /// The DNS servers the sender checks ask; none: the system's.
    dns_servers: Vec<String>,
}

impl Default for RawIntake {
    fn default() -> Self {
        RawIntake {
            timezone: "Asia/Shanghai".into(),
            deadline_day: 25,
            departments_file: "departments.toml".into(),
            categories_file: None,
            sender_auth: None,
            dns_servers: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStorage {
    data_dir: String,
    database_url: Option<String>,
    backend: String,
    s3: Option<s3::RawS3>,
}

impl Default for RawStorage {
    fn default() -> Self {
        RawStorage { data_dir: "./data".into(), database_url: None, backend: "local".into(), s3: None }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    max_unpacked_size: String,
    max_file_size: String,
    max_archive_entries: i64,
    max_compression_ratio: i64,
    max_nesting_depth: i64,
    max_mime_parts: i64,
    max_mime_depth: i64,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_unpacked_size: "4GiB".into(),
            max_file_size: "64MiB".into(),
            max_archive_entries: 5000,
            max_compression_ratio: 200,
            max_nesting_depth: 3,
            max_mime_parts: 1000,
            max_mime_depth: 30,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the configuration came from, for messages ("内置默认配置" when embedded).
    pub origin: String,
    pub timezone: Tz,
    pub deadline_day: u32,
    pub roster: Roster,
    pub categories: Categories,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The object store that keeps the archive, with `[storage] backend = "s3"`; without,
    /// the archive is in `data_dir`.
    pub s3: Option<s3::S3Config>,
    /// `[storage.s3]` as written, also with `backend = "local"`: where `migrate-db
    /// --storage s3` copies a local archive.
    pub s3_table: Option<s3::S3Config>,
    pub limits: Limits,
    /// The mailbox to watch, when `[imap]` is present.
    pub imap: Option<ImapConfig>,
    /// How to send mail, when `[smtp]` is present.
    pub smtp: Option<SmtpConfig>,
    /// What to send and when, when `[notify]` is present.
    pub notify: Option<NotifyConfig>,
    /// How photos and videos are examined (`[inspect]`).
    pub media: crate::inspect::MediaConfig,
    /// The mail templates, checked at start-up (present with `[notify]`).
    pub templates: Option<std::sync::Arc<crate::templates::Templates>>,
    /// The 考核细则 scores are computed by (`[scoring] rubric`, or the shipped 2024 one).
    pub rubric: std::sync::Arc<crate::score::rubric::Rubric>,
    /// The office console (`[web]`).
    pub web: web::WebConfig,
    /// 超大附件 downloads (`[links]`).
    pub links: links::LinksConfig,
    /// Senders checked as mail is analysed (`[intake] sender_auth`, `dns_servers`).
    pub sender_auth: crate::sender_auth::Policy,
}

impl Config {
    /// Loads `path`, or without one the embedded defaults (the files shipped in
    /// `config/`), with the data directory `./data` under the current directory.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Self::load_file(p),
            None => Self::embedded(Path::new(".")),
        }
    }

    /// The shipped example, with paths relative to `base`.
    pub fn embedded(base: &Path) -> Result<Config, ConfigError> {
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        let main = Document::parse("内置默认配置 baosong.toml", DEFAULT_MAIN)?;
        let deps = Document::parse("内置默认 departments.toml", DEFAULT_DEPARTMENTS)?;
        let cats = Document::parse(BUILT_IN_CATEGORIES, DEFAULT_CATEGORIES)?;
        let (raw, roster, categories) = (main.deserialize()?, deps.deserialize()?, cats.deserialize()?);
        let rubric = load_rubric(crate::score::rubric::DEFAULT_NAME, crate::score::rubric::DEFAULT)?;
        Self::validate("内置默认配置".into(), &base, raw, ("departments.toml", roster), (BUILT_IN_CATEGORIES, categories), rubric)
    }

    fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(&shown, "", format!("无法读取配置文件：{}", io_reason(&e)), "检查 --config 或 BAOSONG_CONFIG 指向的路径是否存在且可读")
        })?;
        let main = Document::parse(&shown, &text)?;
        let raw: RawConfig = main.deserialize()?;
        // Relative paths in the file are relative to the folder the file is in,
        // whatever the current directory; from here on every path is absolute.
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
        let base = std::fs::canonicalize(&base).or_else(|_| std::path::absolute(&base)).unwrap_or(base);
        let dep_path = base.join(&raw.intake.departments_file);
        let dep_text = read_named(&shown, "intake.departments_file", &dep_path).map_err(|e| main.locate(e))?;
        let dep_shown = dep_path.display().to_string();
        let (cat_shown, cat_text) = match &raw.intake.categories_file {
            Some(f) => {
                let cat_path = base.join(f);
                let t = read_named(&shown, "intake.categories_file", &cat_path).map_err(|e| main.locate(e))?;
                (cat_path.display().to_string(), t)
            }
            None => (BUILT_IN_CATEGORIES.to_string(), DEFAULT_CATEGORIES.to_string()),
        };
        let deps = Document::parse(&dep_shown, &dep_text)?;
        let cats = Document::parse(&cat_shown, &cat_text)?;
        let (roster, categories) = (deps.deserialize()?, cats.deserialize()?);
        let rubric = match &raw.scoring.rubric {
            Some(f) => {
                let path = base.join(f);
                let text = read_named(&shown, "scoring.rubric", &path).map_err(|e| main.locate(e))?;
                load_rubric(&path.display().to_string(), &text)?
            }
            None => load_rubric(crate::score::rubric::DEFAULT_NAME, crate::score::rubric::DEFAULT)?,
        };
        Self::validate(shown.clone(), &base, raw, (&dep_shown, roster), (&cat_shown, categories), rubric)
            .map_err(|e| cats.locate(deps.locate(main.locate(e))))
    }

    fn validate(
        origin: String,
        base: &Path,
        raw: RawConfig,
        (dep_file, roster): (&str, RawRoster),
        (cat_file, cats): (&str, RawCategories),
        rubric: crate::score::rubric::Rubric,
    ) -> Result<Config, ConfigError> {
        let timezone: Tz = raw.intake.timezone.parse().map_err(|_| {
            ConfigError::new(&origin, "intake.timezone", format!("无法识别的时区 \"{}\"", raw.intake.timezone), "写成 IANA 时区名，例如 \"Asia/Shanghai\"")
        })?;
        if !(1..=28).contains(&raw.intake.deadline_day) {
            return Err(ConfigError::new(
                &origin,
                "intake.deadline_day",
                format!("{} 不是有效的截止日", raw.intake.deadline_day),
                "填 1 到 28 之间的整数，按细则为 25（25 日当天截止）",
            ));
        }
        let data_dir = absolute_under(base, &raw.storage.data_dir);
        let from_env = std::env::var(DATABASE_URL_ENV).ok().filter(|u| !u.trim().is_empty());
        let database_url = match from_env {
            Some(url) => database_url(&origin, DATABASE_URL_ENV, base, &data_dir, Some(url.trim().to_string()))?,
            None => database_url(&origin, "storage.database_url", base, &data_dir, raw.storage.database_url)?,
        };
        let (s3_table, s3_in_use) = s3::S3Config::from_raw(&origin, base, raw.storage.backend.trim(), raw.storage.s3)?;
        let limits = limits(&origin, &raw.limits)?;
        let imap = raw.imap.map(|r| ImapConfig::from_raw(&origin, base, r, timezone)).transpose()?;
        let smtp = raw.smtp.map(|r| SmtpConfig::from_raw(&origin, base, r)).transpose()?;
        let notify = raw.notify.map(|r| NotifyConfig::from_raw(&origin, base, r)).transpose()?;
        let media = inspect_config(&origin, &raw.inspect)?;
        let web = web::WebConfig::from_raw(&origin, base, raw.web)?;
        let links = links::LinksConfig::from_raw(&origin, base, raw.links)?;
        let templates = match &notify {
            Some(n) => Some(std::sync::Arc::new(crate::templates::Templates::load(n.templates_dir.as_deref())?)),
            None => None,
        };
        Ok(Config {
            sender_auth: sender_auth::policy(&origin, raw.intake.sender_auth.as_deref(), &raw.intake.dns_servers)?,
            web,
            links,
            rubric: std::sync::Arc::new(rubric),
            media,
            imap,
            smtp,
            notify,
            templates,
            roster: Roster::from_raw(dep_file, roster)?,
            categories: Categories::from_raw(cat_file, cats)?,
            origin,
            timezone,
            deadline_day: raw.intake.deadline_day as u32,
            data_dir,
            database_url,
            s3: s3_table.clone().filter(|_| s3_in_use),
            s3_table,
            limits,
        })
    }
}

/// The environment variable that, when set, takes the place of `storage.database_url`
/// (so that a password need not be written in the file).
pub const DATABASE_URL_ENV: &str = "BAOSONG_DATABASE_URL";

/// `storage.database_url` (or `BAOSONG_DATABASE_URL`, named by `key`): a SQLite file,
/// relative to `base`, or a PostgreSQL database; without it, `baosong.db` in the data
/// directory.
fn database_url(origin: &str, key: &str, base: &Path, data_dir: &Path, url: Option<String>) -> Result<String, ConfigError> {
    match url {
        Some(url) => match crate::db::Backend::of(&url) {
            Some(crate::db::Backend::Sqlite) => Ok(sqlite_under(base, &url)),
            Some(crate::db::Backend::Postgres) => Ok(url),
            None => Err(ConfigError::new(
                origin,
                key,
                format!("无法识别的数据库地址 \"{}\"", crate::db::shown(&url)),
                "写成 \"sqlite://路径\"（单机，默认 data_dir/baosong.db），或 \"postgres://用户:密码@主机:端口/库名\"（PostgreSQL）",
            )),
        },
        None => Ok(format!("sqlite://{}", data_dir.join("baosong.db").display())),
    }
}

/// `[limits]`: the unpacking limits, sizes with units and positive counts.
fn limits(origin: &str, l: &RawLimits) -> Result<Limits, ConfigError> {
    let positive = |key: &str, v: i64| -> Result<usize, ConfigError> {
        if v >= 1 {
            Ok(v as usize)
        } else {
            Err(ConfigError::new(origin, key, format!("{v} 必须是正整数"), "填大于 0 的整数，或删去此项使用默认值"))
        }
    };
    Ok(Limits {
        max_unpacked_bytes: parse_size(&l.max_unpacked_size).ok_or_else(|| {
            ConfigError::new(origin, "limits.max_unpacked_size", format!("无法识别的大小 \"{}\"", l.max_unpacked_size), "写成带单位的大小，例如 \"4GiB\"、\"500MiB\"")
        })?,
        max_file_bytes: parse_size(&l.max_file_size).filter(|&n| n > 0).ok_or_else(|| {
            ConfigError::new(origin, "limits.max_file_size", format!("无法识别的大小 \"{}\"", l.max_file_size), "写成带单位的大小，例如 \"64MiB\"")
        })?,
        max_archive_entries: positive("limits.max_archive_entries", l.max_archive_entries)?,
        max_compression_ratio: positive("limits.max_compression_ratio", l.max_compression_ratio)? as u64,
        max_nesting_depth: positive("limits.max_nesting_depth", l.max_nesting_depth)?,
        max_mime_parts: positive("limits.max_mime_parts", l.max_mime_parts)?,
        max_mime_depth: positive("limits.max_mime_depth", l.max_mime_depth)?,
    })
}

fn inspect_config(origin: &str, r: &RawInspect) -> Result<crate::inspect::MediaConfig, ConfigError> {
    let d = crate::inspect::MediaConfig::default();
    let t = d.thresholds;
    let positive = |key: &str, v: Option<i64>, default: i64| -> Result<i64, ConfigError> {
        match v {
            None => Ok(default),
            Some(x) if x > 0 => Ok(x),
            Some(x) => Err(ConfigError::new(origin, &format!("inspect.{key}"), format!("{x} 必须是正整数"), "填大于 0 的整数，或删去此项使用默认值")),
        }
    };
    let decode = crate::inspect::limits::DecodeLimits::DEFAULT;
    let max_alloc = match r.max_decode_memory.as_deref() {
        None => decode.max_alloc,
        Some(text) => parse_size(text).filter(|&n| n > 0).ok_or_else(|| ConfigError::new(origin, "inspect.max_decode_memory", format!("无法识别的大小 \"{text}\""), "写成 \"80MiB\" 这样的大小"))?,
    };
    Ok(crate::inspect::MediaConfig {
        thresholds: crate::inspect::quality::Thresholds {
            min_photo_long_side: positive("min_photo_long_side", r.min_photo_long_side, i64::from(t.min_photo_long_side))? as u32,
            min_video_short_side: positive("min_video_short_side", r.min_video_short_side, i64::from(t.min_video_short_side))? as u32,
            blur: r.blur_threshold.unwrap_or(t.blur),
            old_capture_days: positive("old_capture_days", r.old_capture_days, t.old_capture_days)?,
            short_video_ms: r.short_video_seconds.map_or(t.short_video_ms, |s| (s * 1000.0) as i64),
            near_duplicate_distance: r.near_duplicate_distance.map_or(t.near_duplicate_distance, |x| x.clamp(0, 64) as u32),
            recompressed_bits_per_pixel: r.recompressed_bits_per_pixel.unwrap_or(t.recompressed_bits_per_pixel),
            min_work_pixels: positive("min_work_pixels", r.min_work_pixels, t.min_work_pixels as i64)? as u64,
        },
        limits: crate::inspect::limits::DecodeLimits {
            max_pixels: positive("max_pixels", r.max_pixels, decode.max_pixels as i64)? as u64,
            max_alloc,
        },
        thumbnails: r.thumbnails.unwrap_or(true),
    })
}

/// The server of a provider preset for `table` ("imap" or "smtp"): "qq" gives
/// imap.qq.com / smtp.qq.com, all on the implicit-TLS `port`.
pub fn provider(origin: &str, table: &str, name: Option<&str>, port: u16) -> Result<Option<(String, u16)>, ConfigError> {
    let domain = match name {
        None => return Ok(None),
        Some("qq") => "qq.com",
        Some("163") => "163.com",
        Some("126") => "126.com",
        Some("exmail") => "exmail.qq.com",
        Some(other) => {
            return Err(ConfigError::new(
                origin,
                &format!("{table}.provider"),
                format!("不认识的邮箱服务商 \"{other}\""),
                "写 \"qq\"、\"163\"、\"126\" 或 \"exmail\"；其他邮箱删去此项，改写 host、port 和 tls",
            ));
        }
    };
    Ok(Some((format!("{table}.{domain}"), port)))
}

/// A secret (QQ's 授权码) from `password_file` when set, else from the environment
/// variable `env`. `table` is "imap" or "smtp", for the error's key.
pub fn secret(origin: &str, table: &str, env: &str, file: Option<&Path>) -> Result<String, ConfigError> {
    if let Some(p) = file {
        return std::fs::read_to_string(p).map(|s| s.trim().to_string()).map_err(|e| {
            ConfigError::new(origin, &format!("{table}.password_file"), format!("无法读取 {}：{}", p.display(), io_reason(&e)), "检查文件路径和权限（建议 chmod 600）")
        });
    }
    match std::env::var(env) {
        Ok(p) if !p.trim().is_empty() => Ok(p.trim().to_string()),
        _ => Err(ConfigError::new(
            origin,
            &format!("{table}.password_env"),
            format!("环境变量 {env} 没有设置"),
            format!("把邮箱的授权码（不是 QQ 密码）放进环境变量：export {env}=授权码；或用 {table}.password_file 指定文件"),
        )),
    }
}

/// A 考核细则 file's text validated, its errors placed at 第 N 行第 M 列 of `file`.
fn load_rubric(file: &str, text: &str) -> Result<crate::score::rubric::Rubric, ConfigError> {
    let doc = Document::parse(file, text)?;
    let raw = doc.deserialize()?;
    crate::score::rubric::Rubric::from_raw(file, raw).map_err(|e| doc.locate(e))
}

fn read_named(origin: &str, key: &str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            // Found, but saved in GBK (Windows Notepad's "ANSI"): the fault is in that file.
            return ConfigError::new(
                &path.display().to_string(),
                "",
                "文件不是 UTF-8 编码的文本（可能是用 GBK/ANSI 保存的）",
                "用记事本或 WPS 打开，“另存为”时编码选 UTF-8",
            );
        }
        ConfigError::new(
            origin,
            key,
            format!("无法读取 {}：{}", path.display(), io_reason(&e)),
            "相对路径从主配置文件所在的目录算起；检查文件名和权限，或写绝对路径",
        )
    })
}

/// `e` placed at its key's line and column, for a check made after loading (a file a
/// key names, read only when it is needed): the configuration file is read again.
pub fn located(e: ConfigError) -> ConfigError {
    let file = e.file.clone();
    let Ok(text) = std::fs::read_to_string(&file) else { return e };
    match Document::parse(&file, &text) {
        Ok(doc) => doc.locate(e),
        Err(_) => e,
    }
}

/// An I/O error in words an office reads.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "文件不存在".into(),
        std::io::ErrorKind::PermissionDenied => "没有读取权限".into(),
        std::io::ErrorKind::IsADirectory => "这是一个目录，不是文件".into(),
        std::io::ErrorKind::InvalidData => "文件不是 UTF-8 编码的文本（请用 UTF-8 保存）".into(),
        _ => e.to_string(),
    }
}

/// `path` from the config, relative to `base` (the config file's folder), as an
/// absolute path without `.` components: "./data" under /etc/baosong is /etc/baosong/data.
fn absolute_under(base: &Path, path: &str) -> PathBuf {
    let joined = base.join(path);
    std::path::absolute(&joined).unwrap_or(joined)
}

/// A SQLite URL with a relative file resolved like every other path in the config.
fn sqlite_under(base: &Path, url: &str) -> String {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or("");
    let (file, query) = match rest.split_once('?') {
        Some((f, q)) => (f, Some(q)),
        None => (rest, None),
    };
    if file.is_empty() || file.starts_with(':') || Path::new(file).is_absolute() {
        return url.to_string();
    }
    let file = absolute_under(base, file);
    match query {
        Some(q) => format!("sqlite://{}?{q}", file.display()),
        None => format!("sqlite://{}", file.display()),
    }
}

/// "4GiB", "500MiB", "8MB", "1024": bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::embedded(Path::new("/tmp/x")).expect("embedded config must validate");
        assert_eq!(c.deadline_day, 25);
        assert_eq!(c.categories.len(), 10);
        assert!(c.roster.departments().len() >= 10);
        assert_eq!(c.data_dir, Path::new("/tmp/x/data"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4GiB"), Some(4 << 30));
        assert_eq!(parse_size("8 MiB"), Some(8 << 20));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("lots"), None);
    }
}
