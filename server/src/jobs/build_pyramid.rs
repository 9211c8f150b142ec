//! The pyramid job: original → tiles (DeepZoom and IIIF) → published → ready. Progress
//! goes to the store and to live listeners a few times a second. Pictures at fault
//! (corrupt, unsupported, too big) fail at once with the reason; anything else is tried
//! again with backoff, keeping the tiles already stored.

use std::time::Duration;

use apalis::prelude::*;
use hugepic_workers::pyramid::Layout;
use hugepic_workers::{decode, tile_source, Progress, TileError, TileOptions};
use tokio::sync::watch;

use super::{BuildPyramid, JobContext};
use crate::objects::ORIGINAL_KEY;
use crate::progress::ProgressEvent;
use crate::store::Status;

/// Tries of one job before the picture is marked failed.
const ATTEMPTS: u32 = 3;
/// Progress reports at most this often.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Builds the pyramid of `job.picture_id`.
pub async fn build_pyramid(
    job: BuildPyramid,
    context: Data<JobContext>,
) -> Result<(), BoxDynError> {
    let id = job.picture_id;
    let Some(picture) = context.store.picture(&id).await? else {
        return Ok(()); // deleted while queued
    };
    if picture.status.is_final() {
        return Ok(());
    }
    let mut backoff = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        match run_once(&id, &context).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_input_error() => {
                fail(&context, &id, &e.to_string()).await?;
                return Ok(());
            }
            Err(e) if attempt == ATTEMPTS => {
                tracing::error!(picture = %id, error = %e, "pyramid failed for good");
                fail(
                    &context,
                    &id,
                    &format!("tiling failed after {ATTEMPTS} tries: {e}"),
                )
                .await?;
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(picture = %id, attempt, error = %e, "pyramid failed, trying again");
                tokio::time::sleep(backoff).await;
                backoff *= 4;
            }
        }
    }
    Ok(())
}

async fn fail(context: &JobContext, id: &str, reason: &str) -> Result<(), BoxDynError> {
    context
        .store
        .set_status(id, Status::Failed, Some(reason))
        .await?;
    context.progress.publish(
        id,
        ProgressEvent {
            status: Status::Failed,
            stage: "failed".into(),
            done: 0,
            total: 0,
            error: Some(reason.to_string()),
        },
    );
    Ok(())
}

async fn report(
    context: &JobContext,
    id: &str,
    status: Status,
    stage: &str,
    done: u64,
    total: u64,
) {
    if let Err(e) = context.store.set_progress(id, stage, done, total).await {
        tracing::warn!(picture = %id, error = %e, "could not record progress");
    }
    context.progress.publish(
        id,
        ProgressEvent {
            status,
            stage: stage.to_string(),
            done,
            total,
            error: None,
        },
    );
}

/// One try: decode and tile on a blocking thread while this task relays progress.
async fn run_once(id: &str, context: &JobContext) -> Result<(), TileError> {
    let store_error =
        |e: crate::store::StoreError| TileError::Io(std::io::Error::other(e.to_string()));
    let original = context
        .objects
        .path(id, ORIGINAL_KEY)
        .ok_or_else(|| TileError::InvalidOptions("bad picture id".into()))?;
    let sink = context
        .objects
        .sink(id)
        .ok_or_else(|| TileError::InvalidOptions("bad picture id".into()))?;
    context
        .store
        .set_status(id, Status::Tiling, None)
        .await
        .map_err(store_error)?;
    report(context, id, Status::Tiling, "decoding", 0, 0).await;

    let (progress_tx, mut progress_rx) = watch::channel(Progress::default());
    let (size_tx, size_rx) = tokio::sync::oneshot::channel();
    let limits = context.limits;
    let work = tokio::task::spawn_blocking(move || {
        let mut source = decode::open(&original, &limits)?;
        let format = if source.channels() == 4 { "png" } else { "jpg" };
        let _ = size_tx.send((source.width(), source.height(), format));
        let options = TileOptions {
            layout: Layout::ALL,
            skip_existing: true,
            ..TileOptions::default()
        };
        // The relay below throttles; the latest value simply replaces the last.
        tile_source(
            source.as_mut(),
            &sink,
            &options,
            &limits,
            &|p: &Progress| {
                progress_tx.send_replace(*p);
            },
        )
    });
    if let Ok((width, height, format)) = size_rx.await {
        context
            .store
            .set_dimensions(id, width, height, format)
            .await
            .map_err(store_error)?;
    }
    let mut work = work;
    let summary = loop {
        tokio::select! {
            result = &mut work => break result.map_err(|e| TileError::Io(std::io::Error::other(e.to_string())))??,
            changed = progress_rx.changed() => {
                if changed.is_ok() {
                    let p = *progress_rx.borrow_and_update();
                    report(context, id, Status::Tiling, "tiling", p.tiles_done, p.tiles_total).await;
                }
                tokio::time::sleep(REPORT_EVERY).await;
            }
        }
    };
    tracing::info!(picture = %id, tiles = summary.tiles, kept = summary.tiles_skipped, "pyramid built");
    // Local storage is the published store; S3 publishing adds an upload stage here.
    context
        .store
        .set_status(id, Status::Publishing, None)
        .await
        .map_err(store_error)?;
    report(
        context,
        id,
        Status::Publishing,
        "publishing",
        summary.tiles,
        summary.tiles,
    )
    .await;
    context
        .store
        .set_status(id, Status::Ready, None)
        .await
        .map_err(store_error)?;
    report(
        context,
        id,
        Status::Ready,
        "ready",
        summary.tiles,
        summary.tiles,
    )
    .await;
    Ok(())
}
