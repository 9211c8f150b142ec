//! Uploads in progress, apart from the tus protocol (`routes::uploads`): which are being
//! written to right now, and removing them (one at a time, or all whose time ran out).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::AppError;
use crate::state::AppState;

/// Uploads a request is writing to right now: one writer per upload.
#[derive(Clone, Default)]
pub struct UploadLocks(Arc<Mutex<HashSet<String>>>);

/// Held while a request writes to an upload.
pub(crate) struct LockGuard(UploadLocks, String);

impl UploadLocks {
    pub(crate) fn lock(&self, id: &str) -> Option<LockGuard> {
        let mut held = self.0.lock().ok()?;
        held.insert(id.to_string())
            .then(|| LockGuard(self.clone(), id.to_string()))
    }

    /// Waits (up to `limit`) until no request writes to `id`: a PATCH whose connection
    /// just dropped is still recording how far it got.
    pub(crate) async fn settled(&self, id: &str, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.0.lock().is_ok_and(|held| held.contains(id))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Ok(mut held) = (self.0).0.lock() {
            held.remove(&self.1);
        }
    }
}

/// Removes an upload's file and record.
pub async fn remove_upload(state: &AppState, id: &str) -> Result<(), AppError> {
    match tokio::fs::remove_file(state.uploads_dir.join(format!("{id}.part"))).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    state.store.delete_upload(id).await?;
    Ok(())
}

/// Removes unfinished uploads whose time ran out (the expiration extension).
pub async fn expire(state: &AppState) -> Result<usize, AppError> {
    let expired = state.store.expired_uploads(now_unix()).await?;
    for id in &expired {
        if let Some(_guard) = state.upload_locks.lock(id) {
            remove_upload(state, id).await?;
        }
    }
    Ok(expired.len())
}

/// Whether a new upload of `length` bytes from `address` may start: the address's
/// unfinished uploads (count and bytes still to come) stay within the quota (429), and
/// the disk holds every unfinished upload's remaining bytes plus this one plus the
/// margin (507). Loopback and unknown addresses (`rate::client_address`) have no quota.
pub async fn admit(state: &AppState, address: Option<IpAddr>, length: u64) -> Result<(), AppError> {
    let quota = state.config.upload_quota;
    if let Some(address) = address {
        let held = state
            .store
            .unfinished_uploads(Some(&address.to_string()))
            .await?;
        if held.uploads >= quota.uploads_per_address {
            return Err(AppError::TooManyRequests {
                message: format!(
                    "this address has {} unfinished uploads, the most allowed; finish or cancel one first",
                    held.uploads
                ),
                retry_after: 60,
            });
        }
        if held.bytes_to_come.saturating_add(length) > quota.bytes_per_address {
            return Err(AppError::TooManyRequests {
                message: format!(
                    "this address's unfinished uploads already promise {} MiB; with this one it would be over the {} MiB allowed",
                    held.bytes_to_come >> 20,
                    quota.bytes_per_address >> 20
                ),
                retry_after: 60,
            });
        }
    }
    let promised = state.store.unfinished_uploads(None).await?.bytes_to_come;
    let free = free_bytes(&state.uploads_dir)?;
    let needed = promised
        .saturating_add(length)
        .saturating_add(quota.disk_margin_bytes);
    if free < needed {
        return Err(AppError::InsufficientStorage(format!(
            "the server's disk cannot hold this upload now ({} MiB free, {} MiB needed with the uploads under way); try later or a smaller file",
            free >> 20,
            needed >> 20
        )));
    }
    Ok(())
}

/// Bytes an unprivileged process may still write on the file system of `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64, AppError> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| AppError::internal("the uploads folder's path holds a NUL byte"))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string that outlives the call, and `stats`
    // points to writable memory the size of `statvfs`, which the call fills on success.
    let result = unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) };
    if result != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: the call succeeded, so it initialised `stats`.
    let stats = unsafe { stats.assume_init() };
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Now, seconds since 1970.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
