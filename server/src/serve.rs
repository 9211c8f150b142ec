//! `hugepic serve`: opens the store and queue, starts the job workers (embedded mode)
//! and background tasks, serves HTTP until shutdown, then lets in-flight requests and
//! jobs finish.

use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::history::checkpoint::CheckpointPolicy;
use crate::history::Historian;
use crate::hub::{LocalRelay, RedisRelay, Relay};
use crate::jobs::{JobContext, JobQueue};
use crate::metrics::Metrics;
use crate::objects::{LocalObjects, Objects, S3Objects};
use crate::progress::ProgressHub;
use crate::state::AppState;
use crate::store::{MetaStore, PostgresStore, SqliteStore};
use crate::uploads::{expire, UploadLocks};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data folder cannot be used.
    #[error("data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database cannot be opened or migrated.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The job queue cannot be set up.
    #[error(transparent)]
    Queue(#[from] crate::jobs::QueueError),
    /// Redis cannot be reached.
    #[error("{0} (HUGEPIC_REDIS_URL)")]
    Redis(#[from] crate::progress::BusError),
    /// The address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the store and queue `config` asks for: PostgreSQL when a database URL is set
/// (its schema must be migrated), else SQLite in the data folder.
async fn store_and_queue(config: &Config) -> Result<(Arc<dyn MetaStore>, JobQueue), StartError> {
    match &config.database_url {
        Some(url) => {
            let store = PostgresStore::connect(url)?;
            store.check_schema().await?;
            let queue = JobQueue::postgres(url).await?;
            Ok((Arc::new(store), queue))
        }
        None => {
            let store = SqliteStore::open(&config.data_dir.join("hugepic.sqlite")).await?;
            let queue = JobQueue::sqlite(store.pool()).await?;
            Ok((Arc::new(store), queue))
        }
    }
}

/// Applies the migrations to the configured database; returns what it did, in words.
pub async fn migrate(config: &Config) -> Result<String, StartError> {
    match &config.database_url {
        Some(url) => {
            let applied = PostgresStore::connect(url)?.migrate().await?;
            Ok(if applied.is_empty() {
                "the PostgreSQL schema is up to date".into()
            } else {
                format!("applied PostgreSQL migrations {applied:?}")
            })
        }
        None => {
            create_data_dir(config).await?;
            SqliteStore::open(&config.data_dir.join("hugepic.sqlite")).await?;
            Ok(format!(
                "the SQLite schema in {} is up to date",
                config.data_dir.display()
            ))
        }
    }
}

async fn create_data_dir(config: &Config) -> Result<(), StartError> {
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })
}

/// Builds the state for `config`.
pub async fn state(config: Config) -> Result<AppState, StartError> {
    let write_limits = Arc::new(crate::rate::WriteLimits::new(config.writes_per_minute));
    let data = config.data_dir.clone();
    create_data_dir(&config).await?;
    let (store, queue) = store_and_queue(&config).await?;
    let objects = match &config.s3 {
        Some(settings) => Objects::S3(S3Objects::new(settings, config.s3_concurrency)),
        None => Objects::Local(LocalObjects::new(data.join("objects"))),
    };
    let progress = match &config.redis_url {
        Some(url) => ProgressHub::redis(url).await?,
        None => ProgressHub::default(),
    };
    let relay: Arc<dyn Relay> = match &config.redis_url {
        Some(url) => Arc::new(RedisRelay::new(url).map_err(crate::progress::BusError::from)?),
        None => Arc::new(LocalRelay::default()),
    };
    let documents: Arc<dyn crate::store::DocStore> = store.clone();
    let hub = crate::hub::Hub::new(documents, config.hub.clone(), relay);
    crate::logging::set_node(hub.node());
    let history = Historian::with_cache(
        Arc::clone(&store),
        CheckpointPolicy {
            every: i64::from(config.history_checkpoint_every),
            by_weight: config.history_checkpoint_by_weight,
            chain_weight: i64::from(config.history_checkpoint_chain_weight),
        },
        config.history_cache_bytes,
        config.history_moment_bytes,
    );
    let (logged, to_index) = tokio::sync::mpsc::unbounded_channel();
    hub.tell_logged_to(logged);
    history.start(to_index);
    let servable = Arc::new(crate::serving::Servable::new(config.tile_servable_ttl));
    let tile_cache = Arc::new(crate::serving::TileCache::new(config.tile_cache_bytes));
    Ok(AppState::new(crate::state::Shared {
        hub,
        history,
        config: Arc::new(config),
        store,
        objects,
        queue,
        progress,
        uploads_dir: data.join("uploads"),
        metrics: Arc::new(Metrics::default()),
        upload_locks: UploadLocks::default(),
        write_limits,
        servable,
        tile_cache,
    }))
}

fn job_context(state: &AppState) -> JobContext {
    JobContext {
        store: Arc::clone(&state.store),
        objects: state.objects.clone(),
        scratch_dir: state.config.data_dir.join("work"),
        public_tile_url: state.config.public_tile_url.clone(),
        progress: state.progress.clone(),
        limits: state.config.limits,
        import: state.config.import.clone(),
        metrics: Arc::clone(&state.metrics),
        tile_format: state.config.tile_format,
    }
}

/// Runs the server on `listener`, job workers included, until `shutdown` is cancelled.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    run_with(state, listener, shutdown, true).await
}

/// Like `run`, choosing whether job workers run in this process.
/// Stops serving pictures other nodes deleted as soon as they say so (the servable
/// table's expiry is the fallback when the news is lost).
async fn forget_deleted(state: AppState, shutdown: CancellationToken) {
    use hugepic_hub_core::wire::{Body, PICTURES_CHANNEL};
    let (inbox, mut news) = tokio::sync::mpsc::channel(crate::hub::relay::INBOX);
    state.hub.relay().join(PICTURES_CHANNEL, inbox);
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => break,
            message = news.recv() => message,
        };
        match message {
            Some(crate::hub::relay::Inbound::Envelope(envelope)) => {
                if let Body::Gone { picture } = envelope.body {
                    state.servable.gone(&picture);
                    state.tile_cache.forget_picture(&picture);
                }
            }
            Some(crate::hub::relay::Inbound::Resubscribed) => {}
            None => break,
        }
    }
    state.hub.relay().leave(PICTURES_CHANNEL);
}

pub async fn run_with(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
    workers: bool,
) -> std::io::Result<()> {
    let tasks = TaskTracker::new();
    let context = job_context(&state);
    if workers {
        let (queue, shutdown, jobs) = (state.queue.clone(), shutdown.clone(), state.config.jobs);
        tasks.spawn(async move { queue.run_workers(context, jobs, shutdown).await });
    }
    tasks.spawn(state.progress.clone().relay(shutdown.clone()));
    tasks.spawn(state.hub.relay().run(shutdown.clone()));
    tasks.spawn(forget_deleted(state.clone(), shutdown.clone()));
    {
        let (state, shutdown) = (state.clone(), shutdown.clone());
        tasks.spawn(async move {
            loop {
                match expire(&state).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "removed expired uploads"),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not expire uploads");
                        crate::metrics::failed(crate::metrics::Failure::UploadExpiry);
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
            }
        });
    }
    tasks.close();
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving");
    let stop = shutdown.clone();
    let hub = state.hub.clone();
    // Small WebSocket messages (cursors, edits) must not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // With the peer's address: the hub caps connections per address.
    let app = crate::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    shutdown.cancel();
    tasks.wait().await;
    hub.shut_down().await;
    Ok(())
}

/// Binds `config.bind` and runs until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let address = config.bind;
    let state = state(config).await?;
    let listener = bind(address).await?;
    let shutdown = cancelled_by_signal("shutting down: finishing requests and jobs");
    let workers = state.config.run_workers;
    run_with(state, listener, shutdown, workers)
        .await
        .map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })
}

/// Listens on `address`.
async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind {
            address: address.to_string(),
            source,
        })
}

/// A token cancelled on Ctrl-C or SIGTERM, when `saying` is logged.
fn cancelled_by_signal(saying: &'static str) -> CancellationToken {
    let shutdown = CancellationToken::new();
    let cancel = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("{saying}");
        cancel.cancel();
    });
    shutdown
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `hugepic worker`: job workers only, until Ctrl-C or SIGTERM; a job in progress is
/// finished (or, if killed, handed back to the queue by its missing heartbeats).
pub async fn worker(config: Config) -> Result<(), StartError> {
    let jobs = config.jobs;
    let state = state(config).await?;
    let shutdown = cancelled_by_signal("shutting down: finishing the jobs in hand");
    let tasks = TaskTracker::new();
    if let Some(address) = state.config.metrics_bind {
        let listener = bind(address).await?;
        tracing::info!(%address, "serving metrics and health");
        let app = crate::routes::health::routes(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener stopped");
                crate::metrics::failed(crate::metrics::Failure::Listener);
            }
        });
    }
    tasks.close();
    tracing::info!(jobs, "worker started");
    state
        .queue
        .run_workers(job_context(&state), jobs, shutdown.clone())
        .await;
    shutdown.cancel();
    tasks.wait().await;
    Ok(())
}
