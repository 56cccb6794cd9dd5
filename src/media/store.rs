//! Where media bytes live: a local directory (the default, beside the SQLite file) or an
//! S3-compatible bucket, for several nodes. Keys are chosen by Newsdesk alone, from hashes and
//! rendition names, never from a name a user gave: `originals/<hash>` (private, kept for
//! re-processing) and `renditions/<hash>/<name>` (what readers are served).
//!
//! Every call blocks; call off the async executor.

use std::io::Write;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::http_client::{self, Target};

/// The largest object read back: an original at the largest upload allowed, with room.
const MAX_OBJECT: usize = 64 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);
const SIGNED_FOR: Duration = Duration::from_secs(300);

/// A media store.
pub enum Store {
    Local(PathBuf),
    S3(Box<S3>),
}

/// An S3-compatible bucket and a prefix inside it.
pub struct S3 {
    bucket: Bucket,
    credentials: Option<Credentials>,
    prefix: String,
}

pub fn original_key(hash: &str) -> String {
    format!("originals/{hash}")
}

pub fn rendition_key(hash: &str, name: &str) -> String {
    format!("renditions/{hash}/{name}")
}

impl Store {
    /// The store `MEDIA_STORE` names: `s3://bucket/prefix`, or a directory (made if missing).
    pub fn open(config: &Config) -> Result<Store, String> {
        let raw = config.media_store.trim();
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("MEDIA_STORE: `s3://` needs a bucket name".into());
            }
            let s3 = &config.media_s3;
            let (endpoint, style) = match &s3.endpoint {
                Some(e) => (e.clone(), UrlStyle::Path),
                None => (
                    format!("https://s3.{}.amazonaws.com", s3.region),
                    UrlStyle::VirtualHost,
                ),
            };
            let endpoint = url::Url::parse(&endpoint)
                .map_err(|e| format!("AWS_ENDPOINT_URL `{endpoint}`: {e}"))?;
            let bucket = Bucket::new(endpoint, style, bucket.to_owned(), s3.region.clone())
                .map_err(|e| format!("MEDIA_STORE: {e}"))?;
            let credentials = match (&s3.access_key_id, &s3.secret_access_key) {
                (Some(id), Some(secret)) => Some(match &s3.session_token {
                    Some(token) => Credentials::new_with_token(id, secret, token),
                    None => Credentials::new(id, secret),
                }),
                _ => None,
            };
            let prefix = prefix.trim_matches('/');
            return Ok(Store::S3(Box::new(S3 {
                bucket,
                credentials,
                prefix: if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}/")
                },
            })));
        }
        let dir = PathBuf::from(raw);
        std::fs::create_dir_all(dir.join("originals"))
            .and_then(|_| std::fs::create_dir_all(dir.join("renditions")))
            .map_err(|e| format!("MEDIA_STORE `{}`: {e}", dir.display()))?;
        Ok(Store::Local(dir))
    }

    /// Whether readers can be sent straight to this store (it is a directory this node serves).
    pub fn is_local(&self) -> bool {
        matches!(self, Store::Local(_))
    }

    /// Stores `data` at `key`, durably: once this returns, a crash does not lose it.
    pub fn put(&self, key: &str, data: &[u8], mime: &str) -> AppResult<()> {
        match self {
            Store::Local(dir) => write_durably(&dir.join(key), data)
                .map_err(|e| AppError::Internal(format!("media store: writing {key}: {e}"))),
            Store::S3(s3) => {
                let full = s3.key(key);
                let url = s3
                    .bucket
                    .put_object(s3.credentials.as_ref(), &full)
                    .sign(SIGNED_FOR);
                let answer = s3.send("PUT", &url, &[("Content-Type", mime.to_owned())], data)?;
                s3.expect_2xx(&answer, "PUT", key)
            }
        }
    }

    /// The bytes at `key`, if there are any.
    pub fn get(&self, key: &str) -> AppResult<Option<Vec<u8>>> {
        match self {
            Store::Local(dir) => match std::fs::read(dir.join(key)) {
                Ok(data) => Ok(Some(data)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(AppError::Internal(format!(
                    "media store: reading {key}: {e}"
                ))),
            },
            Store::S3(s3) => {
                let full = s3.key(key);
                let url = s3
                    .bucket
                    .get_object(s3.credentials.as_ref(), &full)
                    .sign(SIGNED_FOR);
                let answer = s3.send("GET", &url, &[], &[])?;
                if answer.status == 404 {
                    return Ok(None);
                }
                s3.expect_2xx(&answer, "GET", key)?;
                Ok(Some(answer.body))
            }
        }
    }

    /// Removes the original and every rendition of `hash`.
    pub fn remove(&self, hash: &str) -> AppResult<()> {
        match self {
            Store::Local(dir) => {
                let gone = |r: std::io::Result<()>| match r {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AppError::Internal(
                        format!("media store: removing {hash}: {e}"),
                    )),
                    _ => Ok(()),
                };
                gone(std::fs::remove_file(dir.join(original_key(hash))))?;
                gone(std::fs::remove_dir_all(dir.join("renditions").join(hash)))
            }
            Store::S3(s3) => {
                let mut keys = vec![original_key(hash)];
                let prefix = s3.key(&format!("renditions/{hash}/"));
                let mut list = s3.bucket.list_objects_v2(s3.credentials.as_ref());
                list.with_prefix(prefix.as_str());
                let answer = s3.send("GET", &list.sign(SIGNED_FOR), &[], &[])?;
                s3.expect_2xx(&answer, "LIST", &prefix)?;
                let listed = std::str::from_utf8(&answer.body)
                    .map_err(|e| e.to_string())
                    .and_then(|xml| {
                        rusty_s3::actions::ListObjectsV2::parse_response(xml)
                            .map_err(|e| e.to_string())
                    })
                    .map_err(|e| AppError::Internal(format!("media store: listing: {e}")))?;
                keys.extend(
                    listed
                        .contents
                        .into_iter()
                        .filter_map(|c| c.key.strip_prefix(&s3.prefix).map(str::to_owned)),
                );
                for key in keys {
                    let full = s3.key(&key);
                    let url = s3
                        .bucket
                        .delete_object(s3.credentials.as_ref(), &full)
                        .sign(SIGNED_FOR);
                    let answer = s3.send("DELETE", &url, &[], &[])?;
                    if answer.status != 404 {
                        s3.expect_2xx(&answer, "DELETE", &key)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl S3 {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn send(
        &self,
        method: &str,
        url: &url::Url,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> AppResult<http_client::Answer> {
        let unreachable = |e: String| AppError::Unavailable(format!("media store: {e}"));
        let host = url
            .host_str()
            .ok_or_else(|| unreachable("the bucket's address has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let https = url.scheme() == "https";
        let port = url.port_or_known_default().unwrap_or(443);
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let addrs: Vec<_> = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| unreachable(format!("cannot resolve {host}: {e}")))?
            .collect();
        let target = Target {
            https,
            host,
            port,
            path,
        };
        http_client::request(method, &target, &addrs, headers, body, TIMEOUT, MAX_OBJECT)
            .map_err(unreachable)
    }

    fn expect_2xx(&self, answer: &http_client::Answer, what: &str, key: &str) -> AppResult<()> {
        if (200..300).contains(&answer.status) {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)]).into_owned();
        Err(AppError::Unavailable(format!(
            "media store: {what} {key} answered {}: {said}",
            answer.status
        )))
    }
}

/// Writes `data` to `path` through a temporary file, synced, then renamed into place and the
/// directory synced: a reader never sees half a file, and a crash after this returns keeps it.
fn write_durably(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".{}.{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("media"),
        crate::auth::random_token(6)
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        std::fs::remove_file(&temp).ok();
    }
    result
}
