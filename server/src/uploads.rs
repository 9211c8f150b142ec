//! Uploads in progress, apart from the tus protocol (`routes::uploads`): which are being
//! written to right now, and removing them (one at a time, or all whose time ran out).

use std::collections::HashSet;
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

/// Now, seconds since 1970.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
