//! S3 (or any S3-protocol store) as tile storage. `put` hands the object to a pool of
//! uploads running on a tokio runtime, at most `concurrency` at once (object stores are
//! latency-bound: many small uploads must overlap), each retried with backoff on
//! transient failures (5xx, SlowDown, timeouts, resets). `flush` waits for all of them
//! and reports the first that failed for good. A resumed job lists what is already
//! stored once, so `exists` costs no request per tile.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
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
#[derive(Debug, Clone)]
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
        .force_path_style(settings.path_style);
    if let Some(endpoint) = &settings.endpoint {
        config = config.endpoint_url(endpoint.clone());
    }
    Client::from_conf(config.build())
}

/// Whether a failed request is worth another try.
fn transient<E>(error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool
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

/// Puts one object, retrying transient failures.
pub async fn put_object(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<(), StorageError> {
    let mut delay = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let result = client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(IMMUTABLE)
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tracing::debug!(key, attempt, error = %e, "upload failed, trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                return Err(storage_error(
                    key,
                    aws_sdk_s3::error::DisplayErrorContext(e),
                ))
            }
        }
    }
    Err(storage_error(key, "upload failed"))
}

/// Every key under `prefix`.
pub async fn list_keys(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, StorageError> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| storage_error(prefix, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    Ok(keys)
}

/// A picture's pyramid going to S3 under `prefix` (e.g. `{picture_id}/`).
pub struct S3Sink {
    client: Client,
    bucket: String,
    prefix: String,
    runtime: Handle,
    slots: Arc<Semaphore>,
    concurrency: u32,
    existing: HashSet<String>,
    failure: Arc<Mutex<Option<StorageError>>>,
}

impl S3Sink {
    /// A sink whose uploads run on `runtime`, `concurrency` at a time. Blocks to list
    /// what is already stored under `prefix` (call it off the runtime's threads).
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
        Ok(S3Sink {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            runtime,
            slots: Arc::new(Semaphore::new(concurrency as usize)),
            concurrency,
            existing,
            failure: Arc::new(Mutex::new(None)),
        })
    }

    /// Objects found stored when the sink was made.
    pub fn existing_count(&self) -> usize {
        self.existing.len()
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
        let permit = self
            .runtime
            .block_on(Arc::clone(&self.slots).acquire_owned())
            .map_err(|e| storage_error(key, e))?;
        let (client, bucket, full_key) = (
            self.client.clone(),
            self.bucket.clone(),
            format!("{}{key}", self.prefix),
        );
        let (bytes, content_type, failure) = (
            bytes.to_vec(),
            content_type.to_string(),
            Arc::clone(&self.failure),
        );
        self.runtime.spawn(async move {
            if let Err(e) = put_object(&client, &bucket, &full_key, bytes, &content_type).await {
                if let Ok(mut slot) = failure.lock() {
                    slot.get_or_insert(e);
                }
            }
            drop(permit);
        });
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        check_key(key)?;
        Ok(self.existing.contains(key))
    }

    fn flush(&self) -> Result<(), StorageError> {
        // All slots free means every upload has ended.
        let all = self
            .runtime
            .block_on(self.slots.acquire_many(self.concurrency))
            .map_err(|e| storage_error(&self.prefix, e))?;
        drop(all);
        match self.take_failure() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
