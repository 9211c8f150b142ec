//! Where originals and tiles live: a folder per picture under `DATA_DIR/objects/`
//! (embedded mode), or an S3 bucket with originals under `originals/{id}` and tiles
//! under `tiles/{id}/` (distributed mode; a CDN in front of the bucket serves
//! `tiles/`). Keys come from `hugepic_workers::pyramid::layout`; every key is checked
//! before it touches a path or a bucket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hugepic_workers::storage::s3::{self, aws_sdk_s3::Client, Fetched};
use hugepic_workers::{FsSink, S3Settings, S3Sink, StorageError, TileSink, UploadCounts};

/// Key of a picture's original file.
pub const ORIGINAL_KEY: &str = "original";

/// Why an object operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// A picture id or key that could escape its place.
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    /// The local folder refused.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The object store refused.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One stored object, read for serving.
#[derive(Debug)]
pub enum StoredObject {
    /// Its bytes and entity tag.
    Found {
        /// The bytes.
        bytes: Vec<u8>,
        /// Quoted ETag.
        etag: String,
    },
    /// The client's copy is current.
    NotModified {
        /// Quoted ETag.
        etag: String,
    },
}

/// A picture's original as a local file for decoding; a downloaded copy is removed
/// when this is dropped.
#[derive(Debug)]
pub struct OriginalFile {
    path: PathBuf,
    temporary: bool,
}

impl OriginalFile {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for OriginalFile {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where a pyramid is being written, and how far its uploads are.
pub struct PictureSink {
    /// The sink the engine writes through.
    pub sink: Box<dyn TileSink>,
    /// Upload counts, when writing goes over the network.
    pub uploads: Option<Arc<UploadCounts>>,
}

/// The object store, chosen at start-up.
#[derive(Clone)]
pub enum Objects {
    /// A local folder.
    Local(LocalObjects),
    /// An S3 bucket.
    S3(S3Objects),
}

/// Originals and tiles in an S3 bucket.
#[derive(Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
    concurrency: u32,
}

impl S3Objects {
    /// The bucket of `settings`, writing `concurrency` tiles at once per job.
    pub fn new(settings: &S3Settings, concurrency: u32) -> Self {
        S3Objects {
            client: s3::client(settings),
            bucket: settings.bucket.clone(),
            concurrency,
        }
    }

    fn original_key(id: &str) -> Result<String, ObjectError> {
        checked(id).map(|id| format!("originals/{id}"))
    }

    fn tile_prefix(id: &str) -> Result<String, ObjectError> {
        checked(id).map(|id| format!("tiles/{id}/"))
    }
}

fn checked(id: &str) -> Result<&str, ObjectError> {
    if valid_segment(id) {
        Ok(id)
    } else {
        Err(ObjectError::InvalidKey(id.to_string()))
    }
}

impl Objects {
    /// Takes a complete upload in as a picture's original (the file is consumed).
    pub async fn store_original(&self, id: &str, file: &Path) -> Result<(), ObjectError> {
        match self {
            Objects::Local(local) => {
                let original = local
                    .path(id, ORIGINAL_KEY)
                    .ok_or_else(|| ObjectError::InvalidKey(id.to_string()))?;
                if let Some(dir) = original.parent() {
                    tokio::fs::create_dir_all(dir).await?;
                }
                tokio::fs::rename(file, &original).await?;
            }
            Objects::S3(bucket) => {
                let key = S3Objects::original_key(id)?;
                s3::upload_file(
                    &bucket.client,
                    &bucket.bucket,
                    &key,
                    file,
                    "application/octet-stream",
                )
                .await?;
                let _ = tokio::fs::remove_file(file).await;
            }
        }
        Ok(())
    }

    /// Whether a picture's original is stored.
    pub async fn has_original(&self, id: &str) -> Result<bool, ObjectError> {
        match self {
            Objects::Local(local) => {
                let path = local
                    .path(id, ORIGINAL_KEY)
                    .ok_or_else(|| ObjectError::InvalidKey(id.to_string()))?;
                Ok(tokio::fs::try_exists(&path).await?)
            }
            Objects::S3(bucket) => {
                let key = S3Objects::original_key(id)?;
                let found = s3::list_keys(&bucket.client, &bucket.bucket, &key).await?;
                Ok(found.contains(&key))
            }
        }
    }

    /// The original of a picture as a local file, downloaded into `scratch` if need be;
    /// `None` if it is not stored.
    pub async fn fetch_original(
        &self,
        id: &str,
        scratch: &Path,
    ) -> Result<Option<OriginalFile>, ObjectError> {
        match self {
            Objects::Local(local) => {
                let path = local
                    .path(id, ORIGINAL_KEY)
                    .ok_or_else(|| ObjectError::InvalidKey(id.to_string()))?;
                Ok(tokio::fs::try_exists(&path).await?.then_some(OriginalFile {
                    path,
                    temporary: false,
                }))
            }
            Objects::S3(bucket) => {
                let key = S3Objects::original_key(id)?;
                tokio::fs::create_dir_all(scratch).await?;
                let file = OriginalFile {
                    path: scratch.join(format!("{id}.original")),
                    temporary: true,
                };
                let found =
                    s3::download_file(&bucket.client, &bucket.bucket, &key, &file.path).await?;
                Ok(found.then_some(file))
            }
        }
    }

    /// The sink a picture's pyramid is written through. Blocks (an S3 sink lists what is
    /// already stored): call it from a blocking thread, with a handle to the runtime.
    pub fn sink(
        &self,
        id: &str,
        runtime: tokio::runtime::Handle,
    ) -> Result<PictureSink, ObjectError> {
        match self {
            Objects::Local(local) => Ok(PictureSink {
                sink: Box::new(
                    local
                        .sink(id)
                        .ok_or_else(|| ObjectError::InvalidKey(id.to_string()))?,
                ),
                uploads: None,
            }),
            Objects::S3(bucket) => {
                let sink = S3Sink::new(
                    bucket.client.clone(),
                    &bucket.bucket,
                    &S3Objects::tile_prefix(id)?,
                    runtime,
                    bucket.concurrency,
                )?;
                let uploads = Some(sink.counts());
                Ok(PictureSink {
                    sink: Box::new(sink),
                    uploads,
                })
            }
        }
    }

    /// Reads one object of a picture's pyramid for serving; `None` if there is none.
    pub async fn get(
        &self,
        id: &str,
        key: &str,
        if_none_match: Option<&str>,
    ) -> Result<Option<StoredObject>, ObjectError> {
        if key == ORIGINAL_KEY || !key.split('/').all(valid_segment) {
            return Ok(None);
        }
        match self {
            Objects::Local(local) => {
                let Some(path) = local.path(id, key) else {
                    return Ok(None);
                };
                let meta = match tokio::fs::metadata(&path).await {
                    Ok(meta) if meta.is_file() => meta,
                    _ => return Ok(None),
                };
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                let etag = format!("\"{:x}-{:x}\"", meta.len(), modified);
                if etag_matches(if_none_match, &etag) {
                    return Ok(Some(StoredObject::NotModified { etag }));
                }
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Ok(Some(StoredObject::Found { bytes, etag })),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Objects::S3(bucket) => {
                let key = format!("{}{key}", S3Objects::tile_prefix(id)?);
                match s3::get_object(&bucket.client, &bucket.bucket, &key, if_none_match).await? {
                    Fetched::Missing => Ok(None),
                    Fetched::NotModified => Ok(Some(StoredObject::NotModified {
                        etag: if_none_match.unwrap_or_default().to_string(),
                    })),
                    Fetched::Object { bytes, etag } => Ok(Some(StoredObject::Found {
                        etag: etag.unwrap_or_else(|| format!("\"{:x}\"", bytes.len())),
                        bytes,
                    })),
                }
            }
        }
    }

    /// Removes every object of a picture: original and pyramid.
    pub async fn delete_picture(&self, id: &str) -> Result<usize, ObjectError> {
        match self {
            Objects::Local(local) => local
                .delete_picture(id)
                .await
                .map(|()| 0)
                .map_err(Into::into),
            Objects::S3(bucket) => {
                let removed =
                    s3::delete_prefix(&bucket.client, &bucket.bucket, &S3Objects::tile_prefix(id)?)
                        .await?;
                s3::delete_keys(
                    &bucket.client,
                    &bucket.bucket,
                    &[S3Objects::original_key(id)?],
                )
                .await?;
                Ok(removed)
            }
        }
    }

    /// Whether the store can be used (for `/readyz`).
    pub async fn check(&self) -> Result<(), ObjectError> {
        match self {
            Objects::Local(local) => local.check().await.map_err(Into::into),
            Objects::S3(bucket) => Ok(s3::check_bucket(&bucket.client, &bucket.bucket).await?),
        }
    }
}

/// Whether an `If-None-Match` header names `etag`.
/// Whether an `If-None-Match` value names `etag` (or `*`).
pub fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// The local object folder.
#[derive(Debug, Clone)]
pub struct LocalObjects {
    root: PathBuf,
}

impl LocalObjects {
    /// Objects under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalObjects { root: root.into() }
    }

    /// The folder of one picture.
    pub fn picture_dir(&self, picture_id: &str) -> Option<PathBuf> {
        valid_segment(picture_id).then(|| self.root.join(picture_id))
    }

    /// A sink writing a picture's pyramid.
    pub fn sink(&self, picture_id: &str) -> Option<FsSink> {
        self.picture_dir(picture_id).map(FsSink::new)
    }

    /// The file of `key` in a picture, if the key is well-formed (no `..`, no absolute paths).
    pub fn path(&self, picture_id: &str, key: &str) -> Option<PathBuf> {
        let dir = self.picture_dir(picture_id)?;
        key.split('/').all(valid_segment).then(|| dir.join(key))
    }

    /// Removes every object of a picture.
    pub async fn delete_picture(&self, picture_id: &str) -> std::io::Result<()> {
        let Some(dir) = self.picture_dir(picture_id) else {
            return Ok(());
        };
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether the folder can be written (for `/readyz`).
    pub async fn check(&self) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.root).await?;
        let probe = self.root.join(".ready-probe");
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// One path segment we are willing to touch.
fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 200
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,!^".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        let objects = LocalObjects::new("/data/objects");
        assert_eq!(
            objects.path("abc", "image_files/3/0_1.jpg"),
            Some(PathBuf::from("/data/objects/abc/image_files/3/0_1.jpg"))
        );
        assert!(objects
            .path("abc", "iiif/0,0,256,256/256,256/0/default.jpg")
            .is_some());
        for bad in ["../x", "a/../../b", "/etc/passwd", "a//b", "a/%2e%2e/b"] {
            assert_eq!(objects.path("abc", bad), None, "{bad}");
        }
        assert_eq!(objects.path("..", "x"), None);
    }
}
