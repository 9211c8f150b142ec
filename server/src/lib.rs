//! HUGEpic server: HTTP API, tus uploads, tile serving, and (embedded mode) the job
//! workers, in one process.
//!
//! Layout:
//! - `config`: `Config`, from flags and `HUGEPIC_*` variables.
//! - `state`: `AppState`, what handlers share.
//! - `error`: `AppError`, the one `IntoResponse`.
//! - `auth`: roles and capability tokens.
//! - `store/`: `MetaStore` (pictures, tokens, uploads) and its SQLite implementation.
//! - `objects`: the local object folder (originals and tiles).
//! - `import`: import by URL, fenced against server-side request forgery.
//! - `jobs/`: apalis jobs: build a pyramid, delete a picture's objects.
//! - `progress`: live pipeline progress for Server-Sent Events.
//! - `history/`: the annotation history: replay, its index, restores.
//! - `routes/`: thin handlers; `app(state)` assembles them.
//! - `urls`: absolute URLs for links, tiles and IIIF ids.
//! - `metrics`: counters for `/metrics`.
//! - `logging`: text or JSON log lines.
//! - `serve`: start-up, background tasks and graceful shutdown.

pub mod auth;
pub mod config;
pub mod error;
pub mod headers;
pub mod history;
pub mod hub;
pub mod import;
pub mod interchange;
pub mod jobs;
pub mod logging;
pub mod metrics;
pub mod objects;
pub mod pictures;
pub mod progress;
pub mod rate;
pub mod routes;
pub mod serve;
pub mod serving;
pub mod state;
pub mod store;
pub mod uploads;
pub mod urls;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tracing::Instrument;

use crate::routes::{
    annotations, events, health, history as past, openapi, pages, pictures as picture_api, tiles,
    uploads as tus, ws,
};
use crate::state::AppState;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    // Request bodies are small (JSON, a few fields) except a picture's multipart upload,
    // which may be as large as an upload may be; its file part streams to disk (tus
    // streams its own bodies and enforces the cap itself).
    let upload_cap = DefaultBodyLimit::max(
        usize::try_from(state.config.max_upload_bytes.saturating_add(1 << 20))
            .unwrap_or(usize::MAX),
    );
    let body_cap = DefaultBodyLimit::max(routes::SMALL_BODY_BYTES);
    let import_cap = DefaultBodyLimit::max(state.config.max_import_bytes);
    let routes = Router::new()
        .route(
            "/api/pictures",
            get(picture_api::list).post(picture_api::create.layer(upload_cap)),
        )
        .route(
            "/api/pictures/{id}",
            get(picture_api::get)
                .patch(picture_api::update)
                .delete(picture_api::delete),
        )
        .route("/api/pictures/{id}/links", post(picture_api::new_links))
        .route("/api/pictures/{id}/events", get(events::events))
        .route("/api/pictures/{id}/history", get(past::activity))
        .route("/api/pictures/{id}/history/frames", get(past::frames))
        .route("/api/pictures/{id}/history/state", get(past::state))
        .route(
            "/api/pictures/{id}/shapes/{shape_id}/history",
            get(past::shape),
        )
        .route(
            "/api/pictures/{id}/versions",
            get(past::versions).post(past::create_version),
        )
        .route("/api/pictures/{id}/restore", post(past::restore))
        .route(
            "/api/pictures/{id}/annotations",
            post(annotations::import.layer(import_cap)),
        )
        .route(
            "/api/pictures/{id}/annotations.jsonld",
            get(annotations::jsonld),
        )
        .route("/api/pictures/{id}/annotations.csv", get(annotations::csv))
        .route("/api/uploads", post(tus::create).options(tus::options))
        .route(
            "/api/uploads/{id}",
            axum::routing::head(tus::head)
                .patch(tus::patch)
                .delete(tus::delete),
        )
        .route("/ws/pictures/{id}", get(ws::connect))
        .route("/tiles/{id}/{*key}", get(tiles::tile))
        .route("/iiif/{id}/manifest.json", get(annotations::manifest))
        .route("/iiif/{id}/annotations.json", get(annotations::iiif_page))
        .route("/iiif/{id}", get(tiles::iiif_base))
        .route("/iiif/{id}/{*rest}", get(tiles::iiif))
        .route("/api/openapi.json", get(openapi::openapi))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(pages::client)
        .layer(body_cap)
        .layer(middleware::from_fn(crate::error::json_rejections))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::rate::limit_writes,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::headers::secure,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state.clone());
    // Hot tiles are answered before routing and the middleware above; the rest is routed.
    Router::new().fallback_service(tiles::FastTiles::new(state, routes))
}

/// The header that carries a request's id, given by the client or assigned here.
pub const REQUEST_ID: &str = "x-request-id";

/// A request id: the client's `X-Request-Id` if it is short and plain, else this
/// process's prefix and a counter.
pub(crate) fn request_id(request: &Request) -> HeaderValue {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(given) = request.headers().get(REQUEST_ID) {
        let plain = given
            .as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b));
        if plain && (1..=64).contains(&given.len()) {
            return given.clone();
        }
    }
    let prefix = PREFIX.get_or_init(|| format!("{:08x}", rand::random::<u32>()));
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}-{n:x}")).unwrap_or(HeaderValue::from_static("-"))
}

/// Gives each request an id (returned in `X-Request-Id`, and on every log line written
/// while it is handled), counts answers by status class and logs failures.
async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Cheap to keep (shared bytes): this runs for every tile.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or("-"),
        method = %method,
        path = uri.path()
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    state.metrics.request(status);
    let _in_request = span.enter();
    if status >= 500 {
        tracing::warn!(status, "server error");
    } else {
        tracing::debug!(status, "request");
    }
    response.headers_mut().insert(REQUEST_ID, id);
    response
}
