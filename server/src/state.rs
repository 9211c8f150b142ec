//! `AppState`: what every handler can reach, built once at start-up.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::jobs::JobQueue;
use crate::metrics::Metrics;
use crate::objects::Objects;
use crate::progress::ProgressHub;
use crate::store::MetaStore;
use crate::uploads::UploadLocks;

/// Shared state of the HTTP server: one pointer, as every request's extractors and
/// middleware take a copy of it (a struct of a dozen `Arc`s cost 5-8% of a tile's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state made of `shared`.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What the state holds.
pub struct Shared {
    /// The checked configuration.
    pub config: Arc<Config>,
    /// Metadata.
    pub store: Arc<dyn MetaStore>,
    /// Originals and tiles.
    pub objects: Objects,
    /// Background jobs.
    pub queue: JobQueue,
    /// Live pipeline progress.
    pub progress: ProgressHub,
    /// Partial uploads (tus and multipart), before they become pictures.
    pub uploads_dir: PathBuf,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The collaboration hub.
    pub hub: crate::hub::Hub,
    /// The annotation history's index.
    pub history: crate::history::Historian,
    /// Uploads being written to.
    pub upload_locks: UploadLocks,
    /// Writes per address (`rate::limit_writes`).
    pub write_limits: Arc<crate::rate::WriteLimits>,
    /// Which pictures may be served, known without a query per tile.
    pub servable: Arc<crate::serving::Servable>,
    /// Hot tiles in memory.
    pub tile_cache: Arc<crate::serving::TileCache>,
}
