//! Liveness, readiness and metrics.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::AppError;
use crate::metrics::{family, read, single};
use crate::state::AppState;

/// `/healthz`, `/readyz` and `/metrics` alone: what `hugepic worker` serves on
/// `--metrics-bind`.
pub fn routes(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database, the object store and Redis (when configured) work.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.store.ping().await.map_err(|e| e.to_string());
    let storage = state.objects.check().await.map_err(|e| e.to_string());
    let redis = state
        .progress
        .check()
        .await
        .map(|r| r.map_err(|e| e.to_string()));
    let ok = database.is_ok() && storage.is_ok() && redis.as_ref().is_none_or(Result::is_ok);
    let show = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => e.clone(),
    };
    let mut body = json!({"database": show(&database), "storage": show(&storage)});
    if let Some(redis) = &redis {
        body["redis"] = show(redis).into();
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Whether a `/metrics` request may read: with the configured bearer token, or (none
/// configured) from loopback.
fn may_scrape(state: &AppState, headers: &HeaderMap, extensions: &Extensions) -> bool {
    match &state.config.metrics_token {
        Some(token) => crate::auth::token_from(headers, None).is_some_and(|given| given == *token),
        None => extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_none_or(|info| info.0.ip().is_loopback()),
    }
}

/// `GET /metrics`: Prometheus text (see `may_scrape` for who may read it).
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    if !may_scrape(&state, &headers, &extensions) {
        return AppError::Unauthorized(
            "/metrics needs the metrics token (Authorization: Bearer …)".into(),
        )
        .into_response();
    }
    let counts = state.store.status_counts().await.unwrap_or_default();
    let pairs: Vec<(&str, u64)> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    let queues = match state.queue.depth().await {
        Ok(queues) => Some(queues),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the job queues' depth");
            crate::metrics::failed(crate::metrics::Failure::QueueDepth);
            None
        }
    };
    let mut text = state.metrics.render(&pairs, queues.as_deref());
    let hub = state.hub.metrics();
    let history = state.history.metrics();
    for (name, help, kind, value) in [
        (
            "hugepic_history_updates_read_total",
            "Logged updates read to rebuild moments of the annotation history (state, frames, restores, versions).",
            "counter",
            &history.updates_read,
        ),
        (
            "hugepic_history_updates_indexed_total",
            "Logged updates the history index has read (each once).",
            "counter",
            &history.updates_indexed,
        ),
        (
            "hugepic_history_checkpoints_total",
            "History checkpoints written.",
            "counter",
            &history.checkpoints,
        ),
        (
            "hugepic_history_checkpoint_lines_made_total",
            "Checkpoints history/frames turned into lines (decoded, converted) rather than found in memory.",
            "counter",
            &history.checkpoint_lines_made,
        ),
        (
            "hugepic_history_moments_kept_total",
            "History states and restores that found their moment rebuilt a moment before.",
            "counter",
            &history.moments_kept,
        ),
        ("hugepic_hub_connections", "Open WebSocket connections.", "gauge", &hub.connections),
        ("hugepic_hub_rooms", "Loaded documents.", "gauge", &hub.rooms),
        ("hugepic_hub_messages_in_total", "Messages received.", "counter", &hub.messages_in),
        ("hugepic_hub_messages_out_total", "Messages sent.", "counter", &hub.messages_out),
        ("hugepic_hub_bytes_in_total", "Bytes received.", "counter", &hub.bytes_in),
        ("hugepic_hub_bytes_out_total", "Bytes sent.", "counter", &hub.bytes_out),
        (
            "hugepic_hub_refused_updates_total",
            "Updates refused (roles, limits).",
            "counter",
            &hub.refused_updates,
        ),
        (
            "hugepic_hub_repair_asks_total",
            "State vectors published to other nodes to find missed updates.",
            "counter",
            &hub.repair_asks,
        ),
        (
            "hugepic_hub_repair_syncs_total",
            "Diffs from other nodes that brought updates this node had missed.",
            "counter",
            &hub.repair_syncs,
        ),
        (
            "hugepic_hub_snapshot_failures_total",
            "Snapshots of a document that could not be made (log unreadable, or the write failed); tried again later.",
            "counter",
            &hub.snapshots_failed,
        ),
    ] {
        family(&mut text, name, help, kind, single(read(value)));
    }
    let (away, timeout) = state.hub.relay().dropped();
    let full = read(&hub.relay_dropped);
    family(
        &mut text,
        "hugepic_hub_relay_dropped_total",
        "Messages for other nodes dropped, by reason: full (this node's send queue), away (no \
         Redis connection, or publishing failed), timeout (Redis did not answer within 2 s). \
         Other nodes repair what they missed.",
        "counter",
        [("full", full), ("away", away), ("timeout", timeout)]
            .map(|(reason, n)| (format!("reason=\"{reason}\""), n)),
    );
    family(
        &mut text,
        "hugepic_hub_log_writes_total",
        "Batches of updates written to the document log, by outcome: written, retried (a try \
         failed and was made again), failed (given up: the updates were not logged).",
        "counter",
        [
            ("written", &hub.log_written),
            ("retried", &hub.log_retried),
            ("failed", &hub.log_failed),
        ]
        .map(|(outcome, c)| (format!("outcome=\"{outcome}\""), read(c))),
    );
    let (hits, misses) = state.tile_cache.hits_and_misses();
    for (name, help, kind, value) in [
        (
            "hugepic_tile_cache_bytes",
            "Bytes of hot tiles held in memory.",
            "gauge",
            state.tile_cache.bytes() as u64,
        ),
        (
            "hugepic_tile_cache_limit_bytes",
            "The most bytes of hot tiles held in memory (HUGEPIC_TILE_CACHE_MIB).",
            "gauge",
            state.tile_cache.limit() as u64,
        ),
        (
            "hugepic_tile_cache_hits_total",
            "Pyramid objects answered from memory.",
            "counter",
            hits,
        ),
        (
            "hugepic_tile_cache_misses_total",
            "Pyramid objects read from storage.",
            "counter",
            misses,
        ),
    ] {
        family(&mut text, name, help, kind, single(value));
    }
    text.push_str(&hub.fanout_latency.render(
        "hugepic_hub_fanout_latency_seconds",
        "Delay from one node publishing an update or awareness to another applying it.",
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
