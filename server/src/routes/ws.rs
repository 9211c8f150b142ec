//! `GET /ws/pictures/{id}?token=…`: the collaboration hub's WebSocket. A request that
//! cannot join (no such picture, a wrong token, a failed document load) is still
//! upgraded and then closed with a code and a reason a person can read, since browsers
//! show WebSocket clients nothing of a refused HTTP handshake.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::access::picture_and_role;
use super::pictures::TokenQuery;
use crate::error::AppError;
use crate::hub::socket::Upgrade;
use crate::hub::Guest;
use crate::state::AppState;

/// Bytes read from a connection's socket at a time.
const READ_BUFFER: usize = 4096;

/// Upgrades and hands the connection to the picture's room.
pub async fn connect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    extensions: Extensions,
    upgrade: Upgrade,
) -> Response {
    let limit = state.hub.limits().max_message_bytes;
    let joined = match picture_and_role(&state, &id, &headers, query.token.as_deref()).await {
        Ok((_, role)) => match state.hub.room(&id).await {
            Ok(room) => Ok((room, role)),
            Err(e) => {
                tracing::error!(picture = %id, error = %e, "could not load a document");
                crate::metrics::failed(crate::metrics::Failure::DocumentLoad);
                Err((
                    1011,
                    "the picture's annotations could not be loaded; try again".to_string(),
                ))
            }
        },
        Err(AppError::NotFound(reason)) => Err((4404, reason)),
        Err(AppError::Unauthorized(reason)) => Err((4401, reason)),
        Err(e) => Err((1011, e.to_string())),
    };
    let hub = state.hub.clone();
    let linked = crate::auth::token_from(&headers, query.token.as_deref()).is_some();
    let peer = extensions.get::<ConnectInfo<SocketAddr>>();
    let address = crate::rate::client_address(&state.config, &headers, peer);
    // tungstenite zeroes the free part of its read buffer on every read: its 128 KiB
    // default cost a third of the hub's CPU under load (perf). Messages larger than this
    // still arrive (the buffer grows); most are cursors of a hundred bytes.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let send_queue = state.hub.limits().send_queue;
    upgrade.serve(config, send_queue, move |connection| async move {
        match joined {
            Ok((room, role)) => {
                let guest = Guest {
                    role,
                    linked,
                    address,
                };
                hub.serve(room, connection, guest).await
            }
            Err((code, reason)) => connection.close(code, &reason).await,
        }
    })
}
