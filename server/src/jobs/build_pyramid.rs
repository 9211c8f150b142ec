//! The pyramid job: original → tiles (DeepZoom and IIIF) → published → ready. Progress
//! goes to the store and to live listeners a few times a second. Pictures at fault
//! (corrupt, unsupported, too big) fail at once with the reason; anything else is tried
//! again with backoff, keeping the tiles already stored.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use hugepic_workers::pyramid::Layout;
use hugepic_workers::storage::{StorageError, TileSink};
use hugepic_workers::{decode, tile_source, Progress, TileError, TileFormat, TileOptions};
use tokio::sync::watch;
use tracing::Instrument;

use super::{BuildPyramid, JobContext};
use crate::metrics::{JobKind, JobOutcome, Metrics};
use crate::progress::ProgressEvent;
use crate::store::Status;
use crate::urls::BaseUrls;

/// Why one try of a pyramid job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Decoding or tiling the original.
    #[error(transparent)]
    Tile(#[from] TileError),
    /// The metadata store.
    #[error("the metadata store failed: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The object store.
    #[error("the object store failed: {0}")]
    Objects(#[from] crate::objects::ObjectError),
    /// The picture has no original to tile.
    #[error("the original is not stored")]
    NoOriginal,
    /// The tiling thread panicked or was cancelled.
    #[error("the tiling thread stopped: {0}")]
    Thread(#[from] tokio::task::JoinError),
}

impl JobError {
    /// The picture is at fault (corrupt, unsupported, too big): trying again is no use.
    fn is_input_error(&self) -> bool {
        matches!(self, JobError::Tile(e) if e.is_input_error())
    }
}

/// Tries of one job before the picture is marked failed.
const ATTEMPTS: u32 = 3;
/// Progress reports at most this often.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Builds the pyramid of `job.picture_id`.
pub async fn build_pyramid(
    job: BuildPyramid,
    context: Data<JobContext>,
    task: TaskId,
) -> Result<(), BoxDynError> {
    let span = tracing::info_span!("job", job = %task, kind = JobKind::BuildPyramid.name(), picture = %job.picture_id);
    let outcome = build(job, &context).instrument(span).await;
    let counted = match &outcome {
        Ok(Some(outcome)) => *outcome,
        Ok(None) => return Ok(()),
        Err(_) => JobOutcome::Failed,
    };
    context.metrics.job(JobKind::BuildPyramid, counted);
    outcome.map(|_| ())
}

/// The job's work; what became of it (`None`: nothing to do).
async fn build(job: BuildPyramid, context: &JobContext) -> Result<Option<JobOutcome>, BoxDynError> {
    let id = job.picture_id;
    let Some(picture) = context.store.picture(&id).await? else {
        return Ok(None); // deleted while queued
    };
    if picture.status.is_final() {
        return Ok(None);
    }
    // Under way already: the worker that had this job stopped (its heartbeats did).
    if matches!(picture.status, Status::Tiling | Status::Publishing) {
        tracing::warn!("taking up a job another worker left unfinished");
        context
            .metrics
            .job(JobKind::BuildPyramid, JobOutcome::Reclaimed);
    }
    if let Some(url) = &job.source_url {
        if !context.objects.has_original(&id).await? {
            report(context, &id, Status::Queued, "downloading", 0, 0).await;
            if let Err(reason) = import_original(context, &id, url).await {
                fail(context, &id, &format!("import failed: {reason}")).await?;
                return Ok(Some(JobOutcome::Refused));
            }
        }
    }
    let mut backoff = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        match run_once(&id, context).await {
            Ok(()) => return Ok(Some(JobOutcome::Done)),
            Err(e) if e.is_input_error() => {
                fail(context, &id, &e.to_string()).await?;
                return Ok(Some(JobOutcome::Refused));
            }
            Err(e) if attempt == ATTEMPTS => {
                tracing::error!(error = %e, "pyramid failed for good");
                fail(
                    context,
                    &id,
                    &format!("tiling failed after {ATTEMPTS} tries: {e}"),
                )
                .await?;
                return Ok(Some(JobOutcome::Failed));
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, "pyramid failed, trying again");
                context
                    .metrics
                    .job(JobKind::BuildPyramid, JobOutcome::Retried);
                tokio::time::sleep(backoff).await;
                backoff *= 4;
            }
        }
    }
    Ok(None)
}

/// Downloads an imported original (checked again: DNS may answer differently now) and
/// stores it as the picture's original.
async fn import_original(context: &JobContext, id: &str, url: &str) -> Result<(), String> {
    let fetched = crate::import::fetch(&context.import, url)
        .await
        .map_err(|e| e.to_string())?;
    tokio::fs::create_dir_all(&context.scratch_dir)
        .await
        .map_err(|e| e.to_string())?;
    let file = context.scratch_dir.join(format!("import-{id}"));
    let result = async {
        let bytes = crate::import::download(&context.import, fetched, &file).await?;
        tracing::info!(picture = %id, bytes, "imported");
        context
            .objects
            .store_original(id, &file)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let _ = tokio::fs::remove_file(&file).await;
    result
}

async fn fail(context: &JobContext, id: &str, reason: &str) -> Result<(), BoxDynError> {
    context
        .store
        .set_status(id, Status::Failed, Some(reason))
        .await?;
    context
        .progress
        .publish(
            id,
            ProgressEvent {
                status: Status::Failed,
                stage: "failed".into(),
                done: 0,
                total: 0,
                error: Some(reason.to_string()),
            },
        )
        .await;
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
        crate::metrics::failed(crate::metrics::Failure::ProgressRecord);
    }
    context
        .progress
        .publish(
            id,
            ProgressEvent {
                status,
                stage: stage.to_string(),
                done,
                total,
                error: None,
            },
        )
        .await;
}

/// A job's sink that counts each object it stores in `/metrics` as it goes, so a worker
/// killed in the middle has counted what it stored. (For S3 an object counts when it is
/// handed to the uploads; if one of them fails, the job fails.)
struct Counted<'a> {
    inner: &'a dyn TileSink,
    metrics: &'a Metrics,
}

impl TileSink for Counted<'_> {
    fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), StorageError> {
        self.inner.put(key, bytes, content_type)?;
        self.metrics.tiles_written(1);
        Ok(())
    }

    fn exists(&self, key: &str) -> Result<bool, StorageError> {
        self.inner.exists(key)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.inner.flush()
    }
}

/// One try: fetch the original, decode and tile on a blocking thread while this task
/// relays progress, then wait for the last uploads (publishing).
async fn run_once(id: &str, context: &JobContext) -> Result<(), JobError> {
    context.store.set_status(id, Status::Tiling, None).await?;
    report(context, id, Status::Tiling, "fetching", 0, 0).await;
    let original = context
        .objects
        .fetch_original(id, &context.scratch_dir)
        .await?
        .ok_or(JobError::NoOriginal)?;
    report(context, id, Status::Tiling, "decoding", 0, 0).await;

    let (progress_tx, mut progress_rx) = watch::channel(Progress::default());
    let (size_tx, size_rx) = tokio::sync::oneshot::channel();
    let (uploads_tx, uploads_rx) = tokio::sync::oneshot::channel();
    let limits = context.limits;
    let objects = context.objects.clone();
    let runtime = tokio::runtime::Handle::current();
    let (picture, iiif_id) = (
        id.to_string(),
        BaseUrls::stored_iiif_id(context.public_tile_url.as_deref(), id),
    );
    let metrics = Arc::clone(&context.metrics);
    let configured = context.tile_format;
    let work = tokio::task::spawn_blocking(move || {
        let mut source = decode::open(original.path(), &limits)?;
        let format = configured.unwrap_or(if source.channels() == 4 {
            TileFormat::Png
        } else {
            TileFormat::Jpeg
        });
        let _ = size_tx.send((source.width(), source.height(), format.extension()));
        let target = objects.sink(&picture, runtime)?;
        let _ = uploads_tx.send(target.uploads.clone());
        let options = TileOptions {
            layout: Layout::ALL,
            skip_existing: true,
            iiif_id,
            format: Some(format),
            ..TileOptions::default()
        };
        // The relay below throttles; the latest value simply replaces the last.
        let counted = Counted {
            inner: target.sink.as_ref(),
            metrics: &metrics,
        };
        let summary = tile_source(
            source.as_mut(),
            &counted,
            &options,
            &limits,
            &|p: &Progress| {
                progress_tx.send_replace(*p);
            },
        )?;
        Ok::<_, JobError>(summary)
    });
    if let Ok((width, height, format)) = size_rx.await {
        context
            .store
            .set_dimensions(id, width, height, format)
            .await?;
    }
    let uploads = uploads_rx.await.ok().flatten();
    let mut work = work;
    let mut publishing = false;
    let summary = loop {
        tokio::select! {
            result = &mut work => break result??,
            changed = progress_rx.changed() => {
                if changed.is_ok() {
                    let p = *progress_rx.borrow_and_update();
                    let tiled = p.rows_done == p.rows_total && p.tiles_done >= p.tiles_total;
                    match &uploads {
                        // Every tile is cut: what is left is uploads landing.
                        Some(counts) if tiled => {
                            if !publishing {
                                publishing = true;
                                context.store.set_status(id, Status::Publishing, None).await?;
                            }
                            let (done, total) = (counts.uploaded.load(Ordering::Relaxed), counts.queued.load(Ordering::Relaxed));
                            report(context, id, Status::Publishing, "publishing", done, total).await;
                        }
                        _ => report(context, id, Status::Tiling, "tiling", p.tiles_done, p.tiles_total).await,
                    }
                }
                tokio::time::sleep(REPORT_EVERY).await;
            }
        }
    };
    tracing::info!(picture = %id, tiles = summary.tiles, kept = summary.tiles_skipped, "pyramid built and stored");
    if !publishing {
        context
            .store
            .set_status(id, Status::Publishing, None)
            .await?;
    }
    let stored = uploads
        .as_ref()
        .map_or(summary.tiles, |c| c.uploaded.load(Ordering::Relaxed));
    report(
        context,
        id,
        Status::Publishing,
        "publishing",
        stored,
        stored,
    )
    .await;
    context.store.set_status(id, Status::Ready, None).await?;
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
