//! `Config`: everything `hugepic serve` can be told, from flags or `HUGEPIC_*`
//! environment variables, parsed and checked once at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use hugepic_hub_core::SessionLimits;
use hugepic_workers::{Limits, S3Settings, TileFormat};

use crate::auth::Role;
use crate::hub::HubLimits;
use crate::import::{AllowRule, ImportPolicy};
use crate::store::Visibility;

/// Flags and environment of `hugepic serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HUGEPIC_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// Folder for the embedded database, uploads and tiles.
    #[arg(long, env = "HUGEPIC_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Base URL the server is reached at (share links, IIIF ids); default: from each request.
    #[arg(long, env = "HUGEPIC_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Base URL tiles are served from (a CDN in front of the tile store); default: this server.
    #[arg(long, env = "HUGEPIC_PUBLIC_TILE_URL")]
    pub public_tile_url: Option<String>,
    /// Trust `X-Forwarded-Proto`/`X-Forwarded-Host` (the server is behind a proxy that
    /// sets them); otherwise they are ignored, so a client cannot choose the URLs the
    /// server writes.
    #[arg(long, env = "HUGEPIC_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// New pictures, imports, uploads begun and link replacements one address may make
    /// per minute (bursts of as many); loopback is not limited.
    #[arg(long, env = "HUGEPIC_WRITES_PER_MINUTE", default_value_t = 60)]
    pub writes_per_minute: u32,
    /// Bearer token `/metrics` asks for; without one it answers loopback clients only.
    #[arg(long, env = "HUGEPIC_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// `hugepic worker` only: serve `/metrics`, `/healthz` and `/readyz` on this address
    /// (e.g. 127.0.0.1:9101); off when not given. `serve` has them on its own address.
    #[arg(long, env = "HUGEPIC_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// PostgreSQL for metadata and jobs (`postgres://…`); default: SQLite in the data folder.
    #[arg(long, env = "HUGEPIC_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder of the built web client.
    #[arg(long, env = "HUGEPIC_CLIENT_DIR", default_value = "client/dist")]
    pub client_dir: PathBuf,
    /// Largest upload accepted, in MiB.
    #[arg(long, env = "HUGEPIC_MAX_UPLOAD_MIB", default_value_t = 4096)]
    pub max_upload_mib: u64,
    /// Memory for hot tiles served from this process, in MiB (0: none).
    #[arg(long, env = "HUGEPIC_TILE_CACHE_MIB", default_value_t = 256)]
    pub tile_cache_mib: usize,
    /// How long this process trusts that a picture exists before asking the database
    /// again, in ms (a picture deleted on another node stops being served after it).
    #[arg(long, env = "HUGEPIC_TILE_SERVABLE_TTL_MS", default_value_t = 500)]
    pub tile_servable_ttl_ms: u64,
    /// Largest annotation import (`POST /api/pictures/{id}/annotations`), in MiB.
    #[arg(long, env = "HUGEPIC_MAX_IMPORT_MIB", default_value_t = 16)]
    pub max_import_mib: usize,
    /// Most annotations one import takes.
    #[arg(long, env = "HUGEPIC_MAX_IMPORT_ANNOTATIONS", default_value_t = 10_000)]
    pub max_import_annotations: usize,
    /// Largest picture accepted, in pixels (width × height).
    #[arg(long, env = "HUGEPIC_MAX_PIXELS", default_value_t = hugepic_workers::pyramid::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,
    /// Memory one tiling job may plan to use, in MiB.
    #[arg(long, env = "HUGEPIC_MEMORY_BUDGET_MIB", default_value_t = hugepic_workers::pyramid::DEFAULT_MEMORY_BUDGET_BYTES >> 20)]
    pub memory_budget_mib: u64,
    /// Tiling jobs run at once by this process.
    #[arg(long, env = "HUGEPIC_JOBS", default_value_t = 1)]
    pub jobs: usize,
    /// Hours an unfinished tus upload is kept.
    #[arg(long, env = "HUGEPIC_UPLOAD_EXPIRY_HOURS", default_value_t = 24)]
    pub upload_expiry_hours: u64,
    /// Hosts, addresses or CIDR ranges that import by URL may reach even though they are
    /// not public (comma-separated; empty by default).
    #[arg(long, env = "HUGEPIC_IMPORT_ALLOW", value_delimiter = ',')]
    pub import_allow: Vec<String>,
    /// Longest an import by URL may take to download, in seconds.
    #[arg(long, env = "HUGEPIC_IMPORT_TIMEOUT_SECS", default_value_t = 600)]
    pub import_timeout_secs: u64,
    /// Redis for progress events between processes (`redis://…`); default: in-process.
    #[arg(long, env = "HUGEPIC_REDIS_URL")]
    pub redis_url: Option<String>,
    /// S3 bucket for originals and tiles; default: the object folder under the data dir.
    #[arg(long, env = "HUGEPIC_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// Endpoint of an S3-compatible store (`http://host:port`); default: AWS.
    #[arg(long, env = "HUGEPIC_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Region of the bucket.
    #[arg(long, env = "HUGEPIC_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Access key id for the bucket.
    #[arg(long, env = "HUGEPIC_S3_ACCESS_KEY_ID", default_value = "")]
    pub s3_access_key_id: String,
    /// Secret access key for the bucket.
    #[arg(
        long,
        env = "HUGEPIC_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true
    )]
    pub s3_secret_access_key: String,
    /// Path-style addressing (`endpoint/bucket/key`); default: on when an endpoint is set.
    #[arg(long, env = "HUGEPIC_S3_PATH_STYLE")]
    pub s3_path_style: Option<bool>,
    /// Uploads to S3 one tiling job runs at once.
    #[arg(long, env = "HUGEPIC_S3_CONCURRENCY", default_value_t = 16)]
    pub s3_concurrency: u32,
    /// Serve only: leave jobs to `hugepic worker` processes.
    #[arg(long, env = "HUGEPIC_NO_WORKERS")]
    pub no_workers: bool,
    /// Role of a visitor without a token on a public picture: view, comment or edit.
    #[arg(long, env = "HUGEPIC_DEFAULT_ROLE", default_value = "view")]
    pub default_role: String,
    /// Visibility of new pictures: `unlisted` (only their links work) or `public`
    /// (listed in the gallery, viewable without a link). The owner changes it.
    #[arg(long, env = "HUGEPIC_DEFAULT_VISIBILITY", default_value = "unlisted")]
    pub default_visibility: String,
    /// Tile format of new pictures: `auto` (JPEG, or PNG for pictures with alpha),
    /// `jpg` or `webp` (smaller tiles at the same quality, several times the tiling
    /// time; alpha kept).
    #[arg(long, env = "HUGEPIC_TILE_FORMAT", default_value = "auto")]
    pub tile_format: String,
    /// Unfinished tus uploads one address may hold at once.
    #[arg(long, env = "HUGEPIC_MAX_UNFINISHED_UPLOADS", default_value_t = 8)]
    pub max_unfinished_uploads: u64,
    /// Bytes the unfinished tus uploads of one address may still promise, in MiB.
    #[arg(
        long,
        env = "HUGEPIC_MAX_UNFINISHED_UPLOAD_MIB",
        default_value_t = 8192
    )]
    pub max_unfinished_upload_mib: u64,
    /// Disk space kept free beyond what the unfinished uploads declared, in MiB: an
    /// upload that would eat into it is refused with 507.
    #[arg(long, env = "HUGEPIC_UPLOAD_DISK_MARGIN_MIB", default_value_t = 1024)]
    pub upload_disk_margin_mib: u64,
    /// Largest WebSocket message the hub accepts, KiB.
    #[arg(long, env = "HUGEPIC_HUB_MAX_MESSAGE_KIB", default_value_t = 1024)]
    pub hub_max_message_kib: usize,
    /// Largest annotation document of one picture, MiB.
    #[arg(long, env = "HUGEPIC_HUB_MAX_DOCUMENT_MIB", default_value_t = 32)]
    pub hub_max_document_mib: usize,
    /// Document updates one connection may send per second (bursts of 5× that).
    #[arg(long, env = "HUGEPIC_HUB_UPDATES_PER_SECOND", default_value_t = 60)]
    pub hub_updates_per_second: u32,
    /// Awareness messages (cursors, views) one connection passes on per second; faster
    /// ones are merged, latest state first, and a sender at ten times this is closed.
    #[arg(long, env = "HUGEPIC_HUB_AWARENESS_PER_SECOND", default_value_t = 30)]
    pub hub_awareness_per_second: u32,
    /// Largest awareness state of one client, KiB (larger ones are dropped).
    #[arg(long, env = "HUGEPIC_HUB_MAX_AWARENESS_KIB", default_value_t = 4)]
    pub hub_max_awareness_kib: usize,
    /// Connections one picture's room takes.
    #[arg(long, env = "HUGEPIC_HUB_CONNECTIONS_PER_ROOM", default_value_t = 500)]
    pub hub_connections_per_room: usize,
    /// Of a room's seats, this many are kept for owner and edit links: view links and
    /// visitors without a link cannot take them.
    #[arg(long, env = "HUGEPIC_HUB_RESERVED_SEATS", default_value_t = 100)]
    pub hub_reserved_seats: usize,
    /// Hub connections one address may hold at once (on one node; loopback, such as a
    /// reverse proxy on the same machine, is not capped).
    #[arg(
        long,
        env = "HUGEPIC_HUB_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    pub hub_connections_per_address: usize,
    /// A room nobody is in is unloaded (with a snapshot) after this many seconds.
    #[arg(long, env = "HUGEPIC_HUB_IDLE_UNLOAD_SECS", default_value_t = 60)]
    pub hub_idle_unload_secs: u64,
    /// Rooms compare state with other server nodes this often, milliseconds.
    #[arg(long, env = "HUGEPIC_HUB_REPAIR_MS", default_value_t = 3000)]
    pub hub_repair_ms: u64,
    /// Awareness (cursors, selections) taken within this many milliseconds goes out as
    /// one message per connection; 0 sends each change at once. At most 100.
    #[arg(long, env = "HUGEPIC_HUB_AWARENESS_TICK_MS", default_value_t = 16)]
    pub hub_awareness_tick_ms: u64,
    /// The annotation history keeps a checkpoint every this many updates: reading any
    /// moment costs one checkpoint and at most this many updates.
    #[arg(long, env = "HUGEPIC_HISTORY_CHECKPOINT_EVERY", default_value_t = 500)]
    pub history_checkpoint_every: u32,
    /// Space checkpoints by weight too (past every K updates, wait until the updates
    /// since the last checkpoint weigh as much as it did): checkpoints never outgrow the
    /// log, but a heavy document's moments cost more than K updates.
    #[arg(long, env = "HUGEPIC_HISTORY_CHECKPOINT_BY_WEIGHT")]
    pub history_checkpoint_by_weight: bool,
    /// Checkpoints between whole states are deltas (what changed since the previous one)
    /// until the deltas weigh this many whole states; 0 keeps every checkpoint whole.
    /// Reading a moment costs one whole state, at most this many states' weight of
    /// deltas, and at most K updates.
    #[arg(
        long,
        env = "HUGEPIC_HISTORY_CHECKPOINT_CHAIN_WEIGHT",
        default_value_t = 2
    )]
    pub history_checkpoint_chain_weight: u32,
    /// Memory for the history's checkpoints as `history/frames` sends them (each is
    /// made once: turning a stored state into what clients apply is most of a seek's
    /// work), MiB; 0 keeps none.
    #[arg(long, env = "HUGEPIC_HISTORY_CACHE_MIB", default_value_t = 64)]
    pub history_cache_mib: usize,
    /// Memory for the moments the history rebuilt last (a restore's dry run, then the
    /// restore, ask for the same one; each is kept a minute), MiB; 0 keeps none.
    #[arg(long, env = "HUGEPIC_HISTORY_MOMENTS_MIB", default_value_t = 64)]
    pub history_moments_mib: usize,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data folder.
    pub data_dir: PathBuf,
    /// Public base URL without a trailing slash.
    pub public_url: Option<String>,
    /// Public tile base URL without a trailing slash.
    pub public_tile_url: Option<String>,
    /// Forwarded headers are honoured.
    pub trust_proxy: bool,
    /// What `/metrics` asks for, if anything (else: loopback only).
    pub metrics_token: Option<String>,
    /// Where a worker serves its metrics and health, if anywhere.
    pub metrics_bind: Option<SocketAddr>,
    /// Writes per address per minute.
    pub writes_per_minute: u32,
    /// Built client folder.
    pub client_dir: PathBuf,
    /// PostgreSQL URL, in the distributed mode.
    pub database_url: Option<String>,
    /// Upload size cap, bytes.
    pub max_upload_bytes: u64,
    /// Hot-tile memory, bytes.
    pub tile_cache_bytes: usize,
    /// How long "this picture exists" is trusted.
    pub tile_servable_ttl: std::time::Duration,
    /// Annotation import size cap, bytes.
    pub max_import_bytes: usize,
    /// Most annotations one import takes.
    pub max_import_annotations: usize,
    /// Decode limits for tiling jobs.
    pub limits: Limits,
    /// Concurrent tiling jobs.
    pub jobs: usize,
    /// Lifetime of unfinished uploads.
    pub upload_expiry: std::time::Duration,
    /// Role without a token, on public pictures.
    pub default_role: Role,
    /// Visibility of new pictures.
    pub default_visibility: Visibility,
    /// Tile format of new pictures; `None`: JPEG, or PNG for pictures with alpha.
    pub tile_format: Option<TileFormat>,
    /// Per-address quotas of unfinished tus uploads, and the disk margin.
    pub upload_quota: UploadQuota,
    /// Import by URL.
    pub import: ImportPolicy,
    /// Redis URL, in the distributed mode.
    pub redis_url: Option<String>,
    /// The bucket, in the distributed mode.
    pub s3: Option<S3Settings>,
    /// Concurrent uploads per tiling job.
    pub s3_concurrency: u32,
    /// Whether `serve` runs job workers too.
    pub run_workers: bool,
    /// What the collaboration hub holds connections and rooms to.
    pub hub: HubLimits,
    /// Updates between two checkpoints of the annotation history.
    pub history_checkpoint_every: u32,
    /// Checkpoints also spaced by weight.
    pub history_checkpoint_by_weight: bool,
    /// Deltas between whole-state checkpoints, by weight (0: none).
    pub history_checkpoint_chain_weight: u32,
    /// Bytes of checkpoint lines the frames keep in memory.
    pub history_cache_bytes: usize,
    /// Bytes of moments rebuilt the history keeps in memory.
    pub history_moment_bytes: usize,
}

/// A configuration value that cannot work.
/// What unfinished tus uploads may hold.
#[derive(Debug, Clone, Copy)]
pub struct UploadQuota {
    /// Unfinished uploads per address.
    pub uploads_per_address: u64,
    /// Bytes still to come per address.
    pub bytes_per_address: u64,
    /// Disk kept free beyond every unfinished upload's declared bytes.
    pub disk_margin_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Checks `args`; every error names the flag and its environment variable.
    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let url = |name: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
            match value {
                None => Ok(None),
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                    Ok(Some(v.trim_end_matches('/').to_string()))
                }
                Some(v) => Err(ConfigError(format!(
                    "{name} must be an http(s) URL, got {v:?}"
                ))),
            }
        };
        let default_role = match args.default_role.as_str() {
            "view" => Role::View,
            "comment" => Role::Comment,
            "edit" => Role::Edit,
            other => {
                return Err(ConfigError(format!(
                    "HUGEPIC_DEFAULT_ROLE must be view, comment or edit, got {other:?}"
                )))
            }
        };
        let default_visibility = Visibility::parse(&args.default_visibility).ok_or_else(|| {
            ConfigError(format!(
                "HUGEPIC_DEFAULT_VISIBILITY must be unlisted or public, got {:?}",
                args.default_visibility
            ))
        })?;
        let tile_format = match args.tile_format.as_str() {
            "auto" => None,
            "jpg" => Some(TileFormat::Jpeg),
            "webp" => Some(TileFormat::Webp),
            other => {
                return Err(ConfigError(format!(
                    "HUGEPIC_TILE_FORMAT must be auto, jpg or webp, got {other:?}"
                )))
            }
        };
        if args.jobs == 0 {
            return Err(ConfigError("HUGEPIC_JOBS must be at least 1".into()));
        }
        if args.max_upload_mib == 0 {
            return Err(ConfigError(
                "HUGEPIC_MAX_UPLOAD_MIB must be at least 1".into(),
            ));
        }
        if args.max_import_mib == 0 || args.max_import_annotations == 0 {
            return Err(ConfigError(
                "HUGEPIC_MAX_IMPORT_MIB and HUGEPIC_MAX_IMPORT_ANNOTATIONS must be at least 1"
                    .into(),
            ));
        }
        let mut allow = Vec::new();
        for entry in &args.import_allow {
            match AllowRule::parse(entry) {
                Some(rule) => allow.push(rule),
                None if entry.trim().is_empty() => {}
                None => {
                    return Err(ConfigError(format!(
                        "HUGEPIC_IMPORT_ALLOW entry {entry:?} is not a host, address or range"
                    )))
                }
            }
        }
        let redis_url = match args.redis_url.filter(|u| !u.trim().is_empty()) {
            Some(u) if u.starts_with("redis://") || u.starts_with("rediss://") => Some(u),
            Some(u) => {
                return Err(ConfigError(format!(
                    "HUGEPIC_REDIS_URL must be a redis:// URL, got {:?}",
                    u.split('@').next_back().unwrap_or_default()
                )))
            }
            None => None,
        };
        let s3_endpoint = url("HUGEPIC_S3_ENDPOINT (--s3-endpoint)", args.s3_endpoint)?;
        let s3 = match args.s3_bucket.filter(|b| !b.trim().is_empty()) {
            None => None,
            Some(bucket) => {
                let valid = (3..=63).contains(&bucket.len())
                    && bucket
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c));
                if !valid {
                    return Err(ConfigError(format!(
                        "HUGEPIC_S3_BUCKET {bucket:?} is not a bucket name (3-63 lowercase letters, digits, dots, dashes)"
                    )));
                }
                if args.s3_access_key_id.is_empty() != args.s3_secret_access_key.is_empty() {
                    return Err(ConfigError(
                        "HUGEPIC_S3_ACCESS_KEY_ID and HUGEPIC_S3_SECRET_ACCESS_KEY go together"
                            .into(),
                    ));
                }
                Some(S3Settings {
                    bucket,
                    path_style: args.s3_path_style.unwrap_or(s3_endpoint.is_some()),
                    endpoint: s3_endpoint,
                    region: args.s3_region,
                    access_key_id: args.s3_access_key_id,
                    secret_access_key: args.s3_secret_access_key,
                })
            }
        };
        if args.hub_max_message_kib == 0
            || args.hub_max_document_mib == 0
            || args.hub_updates_per_second == 0
            || args.hub_awareness_per_second == 0
            || args.hub_max_awareness_kib == 0
            || args.hub_connections_per_room == 0
            || args.hub_connections_per_address == 0
            || args.hub_repair_ms < 100
            || args.hub_awareness_tick_ms > 100
            || args.history_checkpoint_every == 0
        {
            return Err(ConfigError(
                "the HUGEPIC_HUB_* limits and HUGEPIC_HISTORY_CHECKPOINT_EVERY must be at least 1 (HUGEPIC_HUB_REPAIR_MS at least 100, HUGEPIC_HUB_AWARENESS_TICK_MS 0 to 100)"
                    .into(),
            ));
        }
        let hub = HubLimits {
            max_message_bytes: args.hub_max_message_kib << 10,
            session: SessionLimits {
                max_document_bytes: args.hub_max_document_mib << 20,
                updates_per_second: args.hub_updates_per_second,
                update_burst: args.hub_updates_per_second.saturating_mul(5),
                awareness_per_second: args.hub_awareness_per_second,
                awareness_flood: args.hub_awareness_per_second.saturating_mul(10),
                max_awareness_bytes: args.hub_max_awareness_kib << 10,
            },
            connections_per_room: args.hub_connections_per_room,
            reserved_seats: args.hub_reserved_seats.min(args.hub_connections_per_room),
            connections_per_address: args.hub_connections_per_address,
            idle_unload: std::time::Duration::from_secs(args.hub_idle_unload_secs),
            repair_every: std::time::Duration::from_millis(args.hub_repair_ms),
            awareness_tick: std::time::Duration::from_millis(args.hub_awareness_tick_ms),
            ..HubLimits::default()
        };
        Ok(Config {
            hub,
            history_checkpoint_every: args.history_checkpoint_every,
            history_checkpoint_by_weight: args.history_checkpoint_by_weight,
            history_checkpoint_chain_weight: args.history_checkpoint_chain_weight,
            history_cache_bytes: args.history_cache_mib.saturating_mul(1 << 20),
            history_moment_bytes: args.history_moments_mib.saturating_mul(1 << 20),
            redis_url,
            s3,
            s3_concurrency: args.s3_concurrency.clamp(1, 256),
            run_workers: !args.no_workers,
            import: ImportPolicy {
                allow,
                max_bytes: args.max_upload_mib << 20,
                timeout: std::time::Duration::from_secs(args.import_timeout_secs.max(1)),
            },
            bind: args.bind,
            data_dir: args.data_dir,
            public_url: url("HUGEPIC_PUBLIC_URL (--public-url)", args.public_url)?,
            trust_proxy: args.trust_proxy,
            metrics_token: args.metrics_token.filter(|t| !t.is_empty()),
            metrics_bind: args.metrics_bind,
            writes_per_minute: args.writes_per_minute.max(1),
            public_tile_url: url(
                "HUGEPIC_PUBLIC_TILE_URL (--public-tile-url)",
                args.public_tile_url,
            )?,
            client_dir: args.client_dir,
            database_url: match args.database_url.filter(|u| !u.trim().is_empty()) {
                Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    Some(url)
                }
                Some(url) => {
                    return Err(ConfigError(format!(
                        "HUGEPIC_DATABASE_URL must be a postgres:// URL, got {:?}",
                        url.split('@').next_back().unwrap_or_default()
                    )))
                }
                None => None,
            },
            max_upload_bytes: args.max_upload_mib << 20,
            tile_cache_bytes: args.tile_cache_mib << 20,
            tile_servable_ttl: std::time::Duration::from_millis(args.tile_servable_ttl_ms),
            max_import_bytes: args.max_import_mib << 20,
            max_import_annotations: args.max_import_annotations,
            limits: Limits {
                max_pixels: args.max_pixels,
                memory_budget_bytes: args.memory_budget_mib << 20,
                ..Limits::default()
            },
            jobs: args.jobs,
            upload_expiry: std::time::Duration::from_secs(args.upload_expiry_hours * 3600),
            default_role,
            default_visibility,
            tile_format,
            upload_quota: UploadQuota {
                uploads_per_address: args.max_unfinished_uploads,
                bytes_per_address: args.max_unfinished_upload_mib << 20,
                disk_margin_bytes: args.upload_disk_margin_mib << 20,
            },
        })
    }
}
