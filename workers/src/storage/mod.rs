//! Where tiles go: the `TileSink` trait the engine writes through, with a local-folder
//! implementation, an S3 one, and an in-memory one for tests.

mod fs;
mod memory;
pub mod s3;

pub use fs::FsSink;
pub use memory::MemorySink;
pub use s3::{S3Settings, S3Sink, UploadCounts};

/// Why storing or checking a tile failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The local filesystem refused.
    #[error("{key}: {source}")]
    Io {
        /// The key being written or checked.
        key: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key that would escape the sink's root.
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
}

/// A place to put a pyramid's objects. Keys are relative paths built by
/// `pyramid::layout`; `put` must be atomic per key (never a half-written tile).
pub trait TileSink: Send + Sync {
    /// Stores `bytes` under `key`, replacing what was there.
    fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), StorageError>;
    /// Whether `key` is stored (complete), so a resumed job can skip it.
    fn exists(&self, key: &str) -> Result<bool, StorageError>;
    /// Waits until everything `put` so far is stored; the first failure, if any.
    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// Refuses keys that are absolute or climb out of the root.
pub(crate) fn check_key(key: &str) -> Result<(), StorageError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\\')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(StorageError::InvalidKey(key.to_string()));
    }
    Ok(())
}
