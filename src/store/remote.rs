//! The archive in an S3-compatible object store (`[storage] backend = "s3"`), through
//! the `object_store` crate. Keys are the store's relative paths (`blobs/ab/cd/<sha256>`,
//! `raw/ab/<sha256>.eml` …), so they are content hashes; each is written once: a small
//! file with a conditional put (`If-None-Match: *`), a large one, which is sent in
//! 5 MiB parts one at a time and never held whole, only after a HEAD found nothing (S3 offers no condition
//! on completing a multipart upload here; two writers of one key write the same bytes).
//!
//! The store's methods are synchronous and are called from blocking threads and from
//! async tasks alike, so the requests run on a runtime of their own (one thread) and the
//! caller waits for the answer.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::config::s3::S3Config;

/// Files up to this size go in one conditional request; larger ones in parts of this
/// size (S3's smallest part).
pub const PART: usize = 5 << 20;

pub struct Remote {
    s3: Arc<AmazonS3>,
    rt: Option<tokio::runtime::Runtime>,
    /// "s3://bucket（endpoint）", for messages.
    pub shown: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which an async task may not do.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Remote {
    /// Builds the client (nothing is sent yet: `probe` checks the bucket).
    pub fn open(cfg: &S3Config) -> anyhow::Result<Remote> {
        let (id, secret) = cfg.keys()?;
        let s3 = AmazonS3Builder::new()
            .with_endpoint(&cfg.endpoint)
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(id)
            .with_secret_access_key(secret)
            .with_allow_http(cfg.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(cfg.virtual_hosted)
            .with_http_connector(super::s3_http::Connector::new())
            .build()
            .map_err(|e| anyhow::anyhow!("对象存储 {} 的设置无效：{e}", cfg.shown()))?;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("baosong-s3").enable_all().build()?;
        Ok(Remote { s3: Arc::new(s3), rt: Some(rt), shown: cfg.shown() })
    }

    /// Runs `f` on this store's runtime and waits for it, from any thread.
    fn wait<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.as_ref().expect("the runtime lives as long as the store").spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv().expect("a request on the store's runtime ends with an answer")
    }

    fn error(&self, key: &str, e: object_store::Error) -> io::Error {
        let kind = if matches!(e, object_store::Error::NotFound { .. }) { io::ErrorKind::NotFound } else { io::ErrorKind::Other };
        io::Error::new(kind, format!("对象存储 {} 中的 {key}：{e}", self.shown))
    }

    /// Lists the bucket's first keys: that the endpoint answers, the keys are accepted
    /// and the bucket exists. Returns how many keys `raw/` holds on its first page.
    pub fn probe(&self) -> io::Result<usize> {
        let s3 = self.s3.clone();
        self.wait(async move { s3.list_with_delimiter(Some(&Key::from("raw"))).await.map(|l| l.common_prefixes.len() + l.objects.len()) })
            .map_err(|e| self.error("raw/", e))
    }

    /// Copies the local `file` to `key`. Without `overwrite`, a key that exists is kept
    /// (false); with it (a repair), it is replaced. True when this call wrote it.
    pub fn upload(&self, key: &str, file: &Path, overwrite: bool) -> io::Result<bool> {
        let len = std::fs::metadata(file)?.len();
        let (s3, k, path) = (self.s3.clone(), Key::from(key), file.to_path_buf());
        let result = if len as usize <= PART {
            let data = std::fs::read(&path)?;
            let mode = if overwrite { PutMode::Overwrite } else { PutMode::Create };
            self.wait(async move {
                match s3.put_opts(&k, PutPayload::from(data), PutOptions { mode, ..Default::default() }).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                    Err(e) => Err(e),
                }
            })
        } else {
            self.wait(async move {
                if !overwrite && s3.head(&k).await.is_ok() {
                    return Ok(false);
                }
                stream_up(&s3, &k, &path).await.map(|()| true)
            })
        };
        result.map_err(|e| self.error(key, e))
    }

    /// Copies `key` into the local file `dest` (created), streamed. False when the
    /// store has no such key.
    pub fn download(&self, key: &str, dest: &Path) -> io::Result<bool> {
        let (s3, k, path) = (self.s3.clone(), Key::from(key), dest.to_path_buf());
        let got = self.wait(async move {
            let mut stream = match s3.get(&k).await {
                Ok(r) => r.into_stream(),
                Err(object_store::Error::NotFound { .. }) => return Ok(Ok(false)),
                Err(e) => return Err(e),
            };
            let mut f = match tokio::fs::File::create(&path).await {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            while let Some(chunk) = stream.next().await {
                if let Err(e) = f.write_all(&chunk?).await {
                    return Ok(Err(e));
                }
            }
            Ok(f.sync_all().await.map(|()| true))
        });
        got.map_err(|e| self.error(key, e))?
    }

    /// The SHA-256 (hex) of what `key` holds, read as a stream; None when it is missing.
    pub fn hash(&self, key: &str) -> io::Result<Option<String>> {
        let (s3, k) = (self.s3.clone(), Key::from(key));
        self.wait(async move {
            let mut stream = match s3.get(&k).await {
                Ok(r) => r.into_stream(),
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
            let mut h = Sha256::new();
            while let Some(chunk) = stream.next().await {
                h.update(&chunk?);
            }
            Ok(Some(hex::encode(h.finalize())))
        })
        .map_err(|e| self.error(key, e))
    }

    /// Every key under `prefix` (`"blobs"`, `"raw"`), sorted.
    pub fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        Ok(self.sizes(prefix)?.into_iter().map(|(k, _)| k).collect())
    }

    /// Every key under `prefix` with its size, sorted by key.
    pub fn sizes(&self, prefix: &str) -> io::Result<Vec<(String, u64)>> {
        let (s3, p) = (self.s3.clone(), Key::from(prefix));
        let mut keys = self
            .wait(async move {
                let mut out = Vec::new();
                let mut listing = s3.list(Some(&p));
                while let Some(meta) = listing.next().await {
                    let meta = meta?;
                    out.push((meta.location.to_string(), meta.size));
                }
                Ok(out)
            })
            .map_err(|e| self.error(prefix, e))?;
        keys.sort();
        Ok(keys)
    }

    pub fn delete(&self, key: &str) -> io::Result<()> {
        let (s3, k) = (self.s3.clone(), Key::from(key));
        match self.wait(async move { s3.delete(&k).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }
}

/// A multipart upload of `path`, one part at a time: a part is read, sent and dropped
/// before the next is read, so an upload holds one [`PART`] whatever the file's size.
/// Aborted (its parts removed) on failure.
async fn stream_up(s3: &AmazonS3, key: &Key, path: &Path) -> object_store::Result<()> {
    use tokio::io::AsyncReadExt;
    let io = |e: io::Error| object_store::Error::Generic { store: "baosong", source: Box::new(e) };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut up = s3.put_multipart(key).await?;
    loop {
        let mut part = Vec::with_capacity(PART);
        let read = (&mut file).take(PART as u64).read_to_end(&mut part).await;
        let sent = match read {
            Ok(0) => break,
            Ok(_) => up.put_part(PutPayload::from(part)).await,
            Err(e) => Err(io(e)),
        };
        if let Err(e) = sent {
            let _ = up.abort().await;
            return Err(e);
        }
    }
    up.complete().await.map(|_| ())
}

/// How requests reach the server (hyper over rustls), for tools and tests that talk to
/// the same bucket with `object_store` themselves.
pub fn connector() -> impl object_store::client::HttpConnector {
    super::s3_http::Connector::new()
}
