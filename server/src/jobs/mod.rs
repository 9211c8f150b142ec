//! Background jobs through apalis: building a picture's pyramid and deleting a picture's
//! objects. Jobs are durable (SQLite in the embedded mode): a process that dies
//! mid-job leaves it to be picked up again, and the pyramid job then keeps the tiles it
//! already stored.

mod build_pyramid;
mod delete_picture;

use std::sync::Arc;

use apalis::prelude::*;
use apalis_postgres::{PgPool, PostgresStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use build_pyramid::build_pyramid;
pub use delete_picture::delete_picture;

use crate::objects::Objects;
use crate::progress::ProgressHub;
use crate::store::MetaStore;

/// How often idle workers look for new jobs (the queue's own default is its 30 s
/// heartbeat, far too slow for someone watching an upload).
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Workers prove they are alive this often; a job whose worker missed two beats (a
/// killed process) goes back on the queue.
const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Cut a picture's original into its pyramid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildPyramid {
    /// The picture.
    pub picture_id: String,
    /// Where to download the original from first (import by URL), if it is not stored.
    #[serde(default)]
    pub source_url: Option<String>,
}

/// Remove every stored object of a deleted picture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletePicture {
    /// The picture.
    pub picture_id: String,
}

/// What job handlers need.
#[derive(Clone)]
pub struct JobContext {
    /// Metadata.
    pub store: Arc<dyn MetaStore>,
    /// Originals and tiles.
    pub objects: Objects,
    /// Folder for downloaded originals while they are tiled.
    pub scratch_dir: std::path::PathBuf,
    /// Base of IIIF image ids written into stored info.json files (the CDN's, when
    /// tiles are served from one), e.g. `https://cdn.example` gives
    /// `https://cdn.example/{id}/iiif`; `None`: the server rewrites ids when serving.
    pub public_tile_url: Option<String>,
    /// Live progress.
    pub progress: ProgressHub,
    /// Counters (tiles written).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// What import by URL may fetch.
    pub import: crate::import::ImportPolicy,
    /// Decode limits.
    pub limits: hugepic_workers::Limits,
    /// Tile format; `None`: JPEG, or PNG for pictures with alpha.
    pub tile_format: Option<hugepic_workers::TileFormat>,
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
#[error("job queue: {0}")]
pub struct QueueError(String);

/// Where the queue lives.
#[derive(Clone)]
enum Backend {
    Sqlite {
        build: SqliteStorage<BuildPyramid>,
        delete: SqliteStorage<DeletePicture>,
        pool: SqlitePool,
    },
    Postgres {
        build: PostgresStorage<BuildPyramid>,
        delete: PostgresStorage<DeletePicture>,
        pool: PgPool,
    },
}

/// Jobs waiting in one queue (for `/metrics`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDepth {
    /// The queue: `build-pyramid` or `delete-picture`.
    pub queue: String,
    /// Jobs not yet taken by a worker (due now or later).
    pub waiting: u64,
    /// Seconds the oldest job due has waited (0 when none).
    pub oldest_seconds: f64,
}

/// Puts jobs on the queue and runs workers for it.
#[derive(Clone)]
pub struct JobQueue(Backend);

/// Builds and runs the two workers over one backend's storages (the storages' types
/// differ per backend, the wiring does not).
macro_rules! run_both {
    ($build:expr, $delete:expr, $context:expr, $concurrency:expr, $shutdown:expr) => {{
        // Names are unique per process: a restarted process must not look like the dead
        // one, whose jobs go back on the queue once its heartbeats stop.
        let instance = crate::auth::new_id();
        let builder = WorkerBuilder::new(format!("build-pyramid-{instance}"))
            .backend($build.poll_with_interval(POLL_EVERY))
            .data($context.clone())
            .concurrency($concurrency)
            .build(build_pyramid);
        let deleter = WorkerBuilder::new(format!("delete-picture-{instance}"))
            .backend($delete.poll_with_interval(POLL_EVERY))
            .data($context)
            .build(delete_picture);
        let (a, b) = ($shutdown.clone(), $shutdown);
        let (first, second) = tokio::join!(
            builder.run_until(async move {
                a.cancelled().await;
                Ok::<(), std::io::Error>(())
            }),
            deleter.run_until(async move {
                b.cancelled().await;
                Ok::<(), std::io::Error>(())
            })
        );
        for result in [first, second] {
            if let Err(e) = result {
                tracing::error!(error = %e, "job worker stopped");
                crate::metrics::failed(crate::metrics::Failure::Worker);
            }
        }
    }};
}

impl JobQueue {
    /// The queue in the embedded SQLite database (its tables are created if missing).
    pub async fn sqlite(pool: &SqlitePool) -> Result<Self, QueueError> {
        SqliteStorage::setup(pool)
            .await
            .map_err(|e| QueueError(e.to_string()))?;
        let config = |queue: &str| {
            apalis_sqlite::Config::default()
                .queue(queue)
                .heartbeat_interval(HEARTBEAT_EVERY)
        };
        Ok(JobQueue(Backend::Sqlite {
            build: SqliteStorage::new(pool).with_config(config("build-pyramid")),
            delete: SqliteStorage::new(pool).with_config(config("delete-picture")),
            pool: pool.clone(),
        }))
    }

    /// The queue in PostgreSQL at `url` (its tables are created if missing).
    pub async fn postgres(url: &str) -> Result<Self, QueueError> {
        let pool = PgPool::connect(url)
            .await
            .map_err(|e| QueueError(e.to_string()))?;
        PostgresStorage::setup(&pool)
            .await
            .map_err(|e| QueueError(e.to_string()))?;
        let config = |queue: &str| {
            apalis_postgres::Config::default()
                .queue(queue)
                .heartbeat_interval(HEARTBEAT_EVERY)
        };
        Ok(JobQueue(Backend::Postgres {
            build: PostgresStorage::new(&pool).with_config(config("build-pyramid")),
            delete: PostgresStorage::new(&pool).with_config(config("delete-picture")),
            pool,
        }))
    }

    /// Queues the pyramid of `picture_id`, whose original is stored or, for an import,
    /// is first downloaded from `source_url` by the worker.
    pub async fn build_pyramid(
        &self,
        picture_id: &str,
        source_url: Option<&str>,
    ) -> Result<(), QueueError> {
        let job = BuildPyramid {
            picture_id: picture_id.to_string(),
            source_url: source_url.map(str::to_string),
        };
        let result = match &self.0 {
            Backend::Sqlite { build, .. } => {
                build.clone().push(job).await.map_err(|e| e.to_string())
            }
            Backend::Postgres { build, .. } => {
                build.clone().push(job).await.map_err(|e| e.to_string())
            }
        };
        result.map_err(QueueError)
    }

    /// Queues removal of `picture_id`'s objects.
    pub async fn delete_picture(&self, picture_id: &str) -> Result<(), QueueError> {
        let job = DeletePicture {
            picture_id: picture_id.to_string(),
        };
        let result = match &self.0 {
            Backend::Sqlite { delete, .. } => {
                delete.clone().push(job).await.map_err(|e| e.to_string())
            }
            Backend::Postgres { delete, .. } => {
                delete.clone().push(job).await.map_err(|e| e.to_string())
            }
        };
        result.map_err(QueueError)
    }

    /// The jobs waiting in each queue that has any, and how long the oldest has waited.
    pub async fn depth(&self) -> Result<Vec<QueueDepth>, QueueError> {
        let rows: Vec<(String, i64, f64)> = match &self.0 {
            Backend::Sqlite { pool, .. } => sqlx::query_as(
                "WITH now AS (SELECT CAST(strftime('%s', 'now') AS INTEGER) AS s)
                 SELECT job_type, COUNT(*),
                        CAST(COALESCE((SELECT s FROM now)
                                      - MIN(CASE WHEN run_at <= (SELECT s FROM now) THEN run_at END), 0) AS REAL)
                 FROM Jobs WHERE status IN ('Pending', 'Queued') GROUP BY job_type",
            )
            .fetch_all(pool)
            .await,
            Backend::Postgres { pool, .. } => sqlx::query_as(
                "SELECT job_type, COUNT(*),
                        COALESCE(EXTRACT(epoch FROM now() - MIN(run_at) FILTER (WHERE run_at <= now())), 0)::float8
                 FROM apalis.jobs WHERE status IN ('Pending', 'Queued') GROUP BY job_type",
            )
            .fetch_all(pool)
            .await,
        }
        .map_err(|e| QueueError(e.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|(queue, waiting, oldest)| QueueDepth {
                queue,
                waiting: u64::try_from(waiting).unwrap_or(0),
                oldest_seconds: oldest.max(0.0),
            })
            .collect())
    }

    /// Runs the workers until `shutdown`; `concurrency` pyramids at a time.
    pub async fn run_workers(
        &self,
        context: JobContext,
        concurrency: usize,
        shutdown: CancellationToken,
    ) {
        match self.0.clone() {
            Backend::Sqlite { build, delete, .. } => {
                run_both!(build, delete, context, concurrency, shutdown)
            }
            Backend::Postgres { build, delete, .. } => {
                run_both!(build, delete, context, concurrency, shutdown)
            }
        }
    }
}
