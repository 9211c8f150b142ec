//! S3 (or any S3-protocol store) as tile storage. `put` hands the object to a pool of
//! uploads running on a tokio runtime, at most `concurrency` at once (object stores are
//! latency-bound: many small uploads must overlap), each retried with backoff on
//! transient failures (5xx, SlowDown, timeouts, resets). `flush` waits for all of them
//! and reports the first that failed for good. A resumed job lists what is already
//! stored once, so `exists` costs no request per tile.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::path::Path;

pub use aws_sdk_s3;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::{check_key, StorageError, TileSink};

/// Tries of one upload before it counts as failed.
const ATTEMPTS: u32 = 6;
/// First retry delay; doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// `Cache-Control` of tiles: they never change once written.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// How to reach the bucket.
#[derive(Clone)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint URL for S3-compatible servers; `None` for AWS.
    pub endpoint: Option<String>,
    /// Region (any value for most S3-compatible servers).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Path-style addressing (`endpoint/bucket/key`), which S3-compatible servers want.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"…")
            .field("path_style", &self.path_style)
            .finish()
    }
}

/// A client for `settings`.
pub fn client(settings: &S3Settings) -> Client {
    let mut config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .credentials_provider(Credentials::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.clone(),
            None,
            None,
            "hugepic",
        ))
        .force_path_style(settings.path_style)
        // `retry_raw` owns the retries (its own backoff, each attempt counted in
        // `REQUESTS`); the SDK's own would multiply the attempts and hide them.
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
    if let Some(endpoint) = &settings.endpoint {
        config = config.endpoint_url(endpoint.clone());
    }
    Client::from_conf(config.build())
}

/// Whether a failed request is worth another try.
fn transient<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or_default();
            e.raw().status().is_server_error()
                || code == "SlowDown"
                || code == "RequestTimeout"
                || code == "InternalError"
        }
        _ => false,
    }
}

fn storage_error(key: &str, message: impl std::fmt::Display) -> StorageError {
    StorageError::Io {
        key: key.to_string(),
        source: std::io::Error::other(message.to_string()),
    }
}

/// S3 requests this process made, for `/metrics`: answered (an object's absence or
/// "not modified" included), attempts that failed and were tried again, requests that
/// failed for good.
#[derive(Debug, Default)]
pub struct RequestCounts {
    pub answered: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
}

/// This process's S3 request counts.
pub static REQUESTS: RequestCounts = RequestCounts {
    answered: AtomicU64::new(0),
    retried: AtomicU64::new(0),
    failed: AtomicU64::new(0),
};

/// Whether `error` is an answer a caller expects (an absent object, "not modified", a
/// failed precondition) rather than a failure.
fn expected<E>(error: &SdkError<E, HttpResponse>) -> bool {
    error
        .raw_response()
        .is_some_and(|r| matches!(r.status().as_u16(), 304 | 404 | 412))
}

/// Runs `request` until it succeeds, fails for good, or has been tried `ATTEMPTS`
/// times; transient failures wait with doubling backoff in between.
async fn retry_raw<T, E, F, Fut>(key: &str, request: F) -> Result<T, SdkError<E, HttpResponse>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    retry_up_to(ATTEMPTS, key, request).await
}

/// `retry_raw` with at most `attempts` tries.
async fn retry_up_to<T, E, F, Fut>(
    attempts: u32,
    key: &str,
    mut request: F,
) -> Result<T, SdkError<E, HttpResponse>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut delay = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match request().await {
            Err(e) if attempt < attempts && transient(&e) => {
                REQUESTS.retried.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(key, attempt, error = %e, "S3 request failed, trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) if !expected(&e) => {
                REQUESTS.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(key, attempt, error = %aws_sdk_s3::error::DisplayErrorContext(&e), "S3 request failed");
                return Err(e);
            }
            result => {
                REQUESTS.answered.fetch_add(1, Ordering::Relaxed);
                return result;
            }
        }
    }
}

/// `retry_raw`, with the final error as a `StorageError`.
pub async fn retrying<T, E, F, Fut>(key: &str, request: F) -> Result<T, StorageError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    retry_raw(key, request)
        .await
        .map_err(|e| storage_error(key, aws_sdk_s3::error::DisplayErrorContext(e)))
}

/// Puts one object, retrying transient failures.
pub async fn put_object(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<(), StorageError> {
    retrying(key, || {
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(IMMUTABLE)
            .body(ByteStream::from(bytes.clone()))
            .send()
    })
    .await
    .map(|_| ())
}

/// Part size of multipart uploads of files (S3 wants at least 5 MiB).
const PART_BYTES: u64 = 16 << 20;

/// Uploads a file in pieces of at most `PART_BYTES`, so memory stays bounded whatever
/// its size: one request for a small file, a multipart upload for a large one; each
/// request is retried on transient failures.
pub async fn upload_file(
    client: &Client,
    bucket: &str,
    key: &str,
    path: &Path,
    content_type: &str,
) -> Result<(), StorageError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let io = |source: std::io::Error| StorageError::Io {
        key: key.to_string(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let length = file.metadata().await.map_err(io)?.len();
    let mut read_part = async |offset: u64, size: u64| -> Result<Vec<u8>, StorageError> {
        let mut buffer = vec![0; size as usize];
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io)?;
        file.read_exact(&mut buffer).await.map_err(io)?;
        Ok(buffer)
    };
    if length <= PART_BYTES {
        let bytes = read_part(0, length).await?;
        return retrying(key, || {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type(content_type)
                .body(ByteStream::from(bytes.clone()))
                .send()
        })
        .await
        .map(|_| ());
    }
    let upload = retrying(key, || {
        client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
    })
    .await?;
    let upload_id = upload
        .upload_id()
        .ok_or_else(|| storage_error(key, "the store gave no upload id"))?
        .to_string();
    let result = async {
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < length {
            let size = PART_BYTES.min(length - offset);
            let bytes = read_part(offset, size).await?;
            let done = retrying(key, || {
                client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(bytes.clone()))
                    .send()
            })
            .await?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(done.e_tag().map(str::to_string))
                    .build(),
            );
            offset += size;
            number += 1;
        }
        let parts = CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        retrying(key, || {
            client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(parts.clone())
                .send()
        })
        .await
    }
    .await;
    if result.is_err() {
        let _ = client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .send()
            .await;
    }
    result.map(|_| ())
}

/// Downloads an object to `dest`, streaming; `false` if there is no such object.
pub async fn download_file(
    client: &Client,
    bucket: &str,
    key: &str,
    dest: &Path,
) -> Result<bool, StorageError> {
    use tokio::io::AsyncWriteExt;
    let response = match retry_raw(key, || client.get_object().bucket(bucket).key(key).send()).await
    {
        Ok(r) => r,
        Err(e) if is_not_found(&e) => return Ok(false),
        Err(e) => {
            return Err(storage_error(
                key,
                aws_sdk_s3::error::DisplayErrorContext(e),
            ))
        }
    };
    let io = |source: std::io::Error| StorageError::Io {
        key: key.to_string(),
        source,
    };
    let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut body = response.body;
    while let Some(chunk) = body.try_next().await.map_err(|e| storage_error(key, e))? {
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(true)
}

/// What a conditional read of one object found.
#[derive(Debug)]
pub enum Fetched {
    /// The object, with its entity tag and type.
    Object {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Its ETag, quoted.
        etag: Option<String>,
    },
    /// The caller's copy (`If-None-Match`) is current.
    NotModified,
    /// There is no such object.
    Missing,
}

/// Reads one object (small: tiles and descriptors), honouring `If-None-Match`.
pub async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
    if_none_match: Option<&str>,
) -> Result<Fetched, StorageError> {
    let result = retry_raw(key, || {
        client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_if_none_match(if_none_match.map(str::to_string))
            .send()
    })
    .await;
    let response = match result {
        Ok(r) => r,
        Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 304 => {
            return Ok(Fetched::NotModified)
        }
        Err(e) if is_not_found(&e) => return Ok(Fetched::Missing),
        Err(e) => {
            return Err(storage_error(
                key,
                aws_sdk_s3::error::DisplayErrorContext(e),
            ))
        }
    };
    let etag = response.e_tag().map(str::to_string);
    let bytes = response
        .body
        .collect()
        .await
        .map_err(|e| storage_error(key, e))?
        .into_bytes()
        .to_vec();
    Ok(Fetched::Object { bytes, etag })
}

fn is_not_found<E>(error: &SdkError<E, HttpResponse>) -> bool {
    matches!(error, SdkError::ServiceError(e) if e.raw().status().as_u16() == 404)
}

/// Removes every object under `prefix`; how many there were.
pub async fn delete_prefix(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<usize, StorageError> {
    let keys = list_keys(client, bucket, prefix).await?;
    delete_keys(client, bucket, &keys).await?;
    Ok(keys.len())
}

/// Removes the objects `keys` (missing ones are no error).
pub async fn delete_keys(
    client: &Client,
    bucket: &str,
    keys: &[String],
) -> Result<(), StorageError> {
    for batch in keys.chunks(1000) {
        let objects: Vec<ObjectIdentifier> = batch
            .iter()
            .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| storage_error(bucket, e))?;
        retrying(bucket, || {
            client
                .delete_objects()
                .bucket(bucket)
                .delete(delete.clone())
                .send()
        })
        .await?;
    }
    Ok(())
}

/// Whether the bucket can be reached (for readiness checks). A transient failure is
/// tried again (three tries, 0.3 s of backoff at most, well inside a probe's timeout),
/// so readiness does not flap on one lost request yet still reports an outage.
pub async fn check_bucket(client: &Client, bucket: &str) -> Result<(), StorageError> {
    retry_up_to(3, bucket, || client.head_bucket().bucket(bucket).send())
        .await
        .map(|_| ())
        .map_err(|e| storage_error(bucket, aws_sdk_s3::error::DisplayErrorContext(e)))
}

/// Every key under `prefix`, page by page, each page retried on transient failures.
pub async fn list_keys(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, StorageError> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = retrying(prefix, || {
            client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone())
                .send()
        })
        .await?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match page.next_continuation_token() {
            Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
            _ => return Ok(keys),
        }
    }
}

/// Objects a sink has been handed and has stored, for progress reports.
#[derive(Debug, Default)]
pub struct UploadCounts {
    /// Handed to `put`.
    pub queued: AtomicU64,
    /// Stored in the bucket.
    pub uploaded: AtomicU64,
}

/// A picture's pyramid going to S3 under `prefix` (e.g. `tiles/{picture_id}/`).
/// `put` queues the object and returns; up to `backlog` objects wait in memory while
/// `concurrency` requests run, so the encoders rarely wait for the network and what
/// is left when tiling ends is the publishing stage.
pub struct S3Sink {
    client: Client,
    bucket: String,
    prefix: String,
    runtime: Handle,
    backlog: Arc<Semaphore>,
    backlog_size: u32,
    requests: Arc<Semaphore>,
    existing: HashSet<String>,
    failure: Arc<Mutex<Option<StorageError>>>,
    counts: Arc<UploadCounts>,
}

impl S3Sink {
    /// A sink whose uploads run on `runtime`, `concurrency` at a time, with up to four
    /// times as many waiting. Blocks to list what is already stored under `prefix`
    /// (call it off the runtime's threads).
    pub fn new(
        client: Client,
        bucket: &str,
        prefix: &str,
        runtime: Handle,
        concurrency: u32,
    ) -> Result<Self, StorageError> {
        let existing = runtime
            .block_on(list_keys(&client, bucket, prefix))?
            .into_iter()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect();
        let concurrency = concurrency.max(1);
        let backlog_size = concurrency * 4;
        Ok(S3Sink {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            runtime,
            backlog: Arc::new(Semaphore::new(backlog_size as usize)),
            backlog_size,
            requests: Arc::new(Semaphore::new(concurrency as usize)),
            existing,
            failure: Arc::new(Mutex::new(None)),
            counts: Arc::default(),
        })
    }

    /// Objects found stored when the sink was made.
    pub fn existing_count(&self) -> usize {
        self.existing.len()
    }

    /// Live counts of queued and stored objects.
    pub fn counts(&self) -> Arc<UploadCounts> {
        Arc::clone(&self.counts)
    }

    fn take_failure(&self) -> Option<StorageError> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

impl TileSink for S3Sink {
    fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), StorageError> {
        check_key(key)?;
        if let Some(e) = self.take_failure() {
            return Err(e);
        }
        let queued = self
            .runtime
            .block_on(Arc::clone(&self.backlog).acquire_owned())
            .map_err(|e| storage_error(key, e))?;
        self.counts.queued.fetch_add(1, Ordering::Relaxed);
        let (client, bucket, full_key) = (
            self.client.clone(),
            self.bucket.clone(),
            format!("{}{key}", self.prefix),
        );
        let (bytes, content_type, failure, requests, counts) = (
            bytes.to_vec(),
            content_type.to_string(),
            Arc::clone(&self.failure),
            Arc::clone(&self.requests),
            Arc::clone(&self.counts),
        );
        self.runtime.spawn(async move {
            let running = requests.acquire_owned().await;
            match put_object(&client, &bucket, &full_key, bytes, &content_type).await {
                Ok(()) => {
                    counts.uploaded.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    if let Ok(mut slot) = failure.lock() {
                        slot.get_or_insert(e);
                    }
                }
            }
            drop(running);
            drop(queued);
        });
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        Ok(self.existing.contains(key))
    }

    fn flush(&self) -> Result<(), StorageError> {
        // All backlog slots free means every upload has ended.
        let all = self
            .runtime
            .block_on(self.backlog.acquire_many(self.backlog_size))
            .map_err(|e| storage_error(&self.prefix, e))?;
        drop(all);
        match self.take_failure() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
