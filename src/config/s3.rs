//! `[storage] backend = "s3"` and its `[storage.s3]` table: the S3-compatible object
//! store that keeps the archive (blobs, raw mail, thumbnails, renditions) for every
//! instance. The key pair is never in the file: the key ID may be, the secret comes
//! from an environment variable or a file of its own.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

/// Where the key ID and the secret come from when the file does not say.
pub const ACCESS_KEY_ENV: &str = "BAOSONG_S3_ACCESS_KEY_ID";
pub const SECRET_KEY_ENV: &str = "BAOSONG_S3_SECRET_ACCESS_KEY";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    endpoint: Option<String>,
    bucket: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_key_env: Option<String>,
    secret_key_file: Option<String>,
    /// Bucket in the host name (`bucket.endpoint`), as Aliyun OSS and Tencent COS want.
    virtual_hosted: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct S3Config {
    /// `http://127.0.0.1:8333` or `https://s3.example.cn`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub virtual_hosted: bool,
    access_key_id: Option<String>,
    secret_key_env: String,
    secret_key_file: Option<PathBuf>,
    origin: String,
}

impl S3Config {
    /// `backend` as written (`"local"` when absent) and the `[storage.s3]` table: the
    /// table, checked whenever it is written (with `backend = "local"` it is where
    /// `migrate-db --storage s3` copies the archive), and whether the archive is in it.
    pub(super) fn from_raw(origin: &str, base: &Path, backend: &str, raw: Option<RawS3>) -> Result<(Option<S3Config>, bool), ConfigError> {
        let in_use = match backend {
            "local" => false,
            "s3" => true,
            other => {
                return Err(ConfigError::new(
                    origin,
                    "storage.backend",
                    format!("无法识别的存储方式 \"{other}\""),
                    "写 \"local\"（默认：文件存在 data_dir）或 \"s3\"（对象存储，另需 [storage.s3] 一节）",
                ));
            }
        };
        let Some(raw) = raw else {
            if !in_use {
                return Ok((None, false));
            }
            return Err(ConfigError::new(
                origin,
                "storage.s3",
                "backend = \"s3\" 但没有 [storage.s3] 一节",
                "加上 [storage.s3]，写明 endpoint（如 \"https://s3.example.cn\"）和 bucket；示例见 config/baosong.toml",
            ));
        };
        let endpoint = raw.endpoint.map(|e| e.trim().trim_end_matches('/').to_string()).unwrap_or_default();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) || url::Url::parse(&endpoint).is_err() {
            return Err(ConfigError::new(
                origin,
                "storage.s3.endpoint",
                if endpoint.is_empty() { "没有填写对象存储的地址".to_string() } else { format!("\"{endpoint}\" 不是有效的网址") },
                "写成 \"https://主机[:端口]\"，例如 \"https://oss-cn-beijing.aliyuncs.com\"；本机测试可用 \"http://127.0.0.1:8333\"",
            ));
        }
        let bucket = raw.bucket.map(|b| b.trim().to_string()).unwrap_or_default();
        let valid = (3..=63).contains(&bucket.len()) && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(ConfigError::new(
                origin,
                "storage.s3.bucket",
                if bucket.is_empty() { "没有填写存储桶名称".to_string() } else { format!("\"{bucket}\" 不是有效的存储桶名称") },
                "填已建好的存储桶名：3 到 63 个字符，只含小写字母、数字、点和连字符，例如 \"baosong\"",
            ));
        }
        Ok((Some(S3Config {
            endpoint,
            bucket,
            region: raw.region.filter(|r| !r.trim().is_empty()).unwrap_or_else(|| "us-east-1".into()),
            virtual_hosted: raw.virtual_hosted.unwrap_or(false),
            access_key_id: raw.access_key_id.filter(|k| !k.trim().is_empty()),
            secret_key_env: raw.secret_key_env.unwrap_or_else(|| SECRET_KEY_ENV.into()),
            secret_key_file: raw.secret_key_file.map(|p| base.join(p)),
            origin: origin.to_string(),
        }), in_use))
    }

    /// The key ID and the secret, read when the store is opened and never logged.
    pub fn keys(&self) -> Result<(String, String), ConfigError> {
        let id = match &self.access_key_id {
            Some(id) => id.clone(),
            None => std::env::var(ACCESS_KEY_ENV).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).ok_or_else(|| {
                ConfigError::new(
                    &self.origin,
                    "storage.s3.access_key_id",
                    format!("没有填写，环境变量 {ACCESS_KEY_ENV} 也没有设置"),
                    format!("在 [storage.s3] 写 access_key_id = \"…\"，或 export {ACCESS_KEY_ENV}=…"),
                )
            })?,
        };
        let secret = match &self.secret_key_file {
            Some(p) => std::fs::read_to_string(p).map(|s| s.trim().to_string()).map_err(|e| {
                ConfigError::new(&self.origin, "storage.s3.secret_key_file", format!("无法读取 {}：{e}", p.display()), "检查文件路径和权限（建议 chmod 600）")
            })?,
            None => std::env::var(&self.secret_key_env).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).ok_or_else(|| {
                ConfigError::new(
                    &self.origin,
                    "storage.s3.secret_key_env",
                    format!("环境变量 {} 没有设置", self.secret_key_env),
                    format!("把对象存储的密钥（Secret Access Key）放进环境变量：export {}=…；或用 storage.s3.secret_key_file 指定文件", self.secret_key_env),
                )
            })?,
        };
        Ok((id, secret))
    }

    /// Where the archive is, for people: "s3://baosong（http://127.0.0.1:8333）".
    pub fn shown(&self) -> String {
        format!("s3://{}（{}）", self.bucket, self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(backend: &str, text: Option<&str>) -> Result<Option<S3Config>, ConfigError> {
        let raw = text.map(|t| toml::from_str::<RawS3>(t).unwrap());
        S3Config::from_raw("baosong.toml", Path::new("/etc/baosong"), backend, raw).map(|(table, in_use)| table.filter(|_| in_use))
    }

    #[test]
    fn local_needs_nothing_and_s3_needs_its_table() {
        assert!(cfg("local", None).unwrap().is_none());
        // Written with backend = "local", the table is checked and kept for migrate-db, not used.
        let table = "endpoint = \"http://127.0.0.1:8333\"\nbucket = \"baosong\"";
        assert!(cfg("local", Some(table)).unwrap().is_none());
        let raw = toml::from_str::<RawS3>(table).unwrap();
        assert!(S3Config::from_raw("baosong.toml", Path::new("/"), "local", Some(raw)).unwrap().0.is_some());
        assert!(cfg("local", Some("endpoint = \"ftp://x\"\nbucket = \"baosong\"")).is_err());
        let e = cfg("s3", None).unwrap_err().to_string();
        assert!(e.contains("storage.s3") && e.contains("endpoint"), "{e}");
        let e = cfg("S3 ", None).unwrap_err().to_string();
        assert!(e.contains("storage.backend") && e.contains("\"local\""), "{e}");
    }

    #[test]
    fn endpoint_and_bucket_are_checked_with_the_fix() {
        let e = cfg("s3", Some("bucket = \"baosong\"")).unwrap_err().to_string();
        assert!(e.contains("storage.s3.endpoint") && e.contains("https://"), "{e}");
        let e = cfg("s3", Some("endpoint = \"s3.example.cn\"\nbucket = \"baosong\"")).unwrap_err().to_string();
        assert!(e.contains("不是有效的网址"), "{e}");
        let e = cfg("s3", Some("endpoint = \"https://s3.example.cn\"\nbucket = \"宣传科\"")).unwrap_err().to_string();
        assert!(e.contains("storage.s3.bucket") && e.contains("小写字母"), "{e}");
        let c = cfg("s3", Some("endpoint = \"http://127.0.0.1:8333/\"\nbucket = \"baosong\"\nsecret_key_file = \"s3.key\"")).unwrap().unwrap();
        assert_eq!((c.endpoint.as_str(), c.region.as_str()), ("http://127.0.0.1:8333", "us-east-1"));
        assert_eq!(c.shown(), "s3://baosong（http://127.0.0.1:8333）");
        let e = c.keys().unwrap_err().to_string();
        assert!(e.contains(ACCESS_KEY_ENV) || e.contains("/etc/baosong/s3.key"), "{e}");
    }
}
