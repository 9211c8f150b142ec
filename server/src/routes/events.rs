//! `GET /api/pictures/{id}/events`: Server-Sent Events with the stage and progress of a
//! picture's pipeline, from its current state until it is ready or failed.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::access::picture_and_role;
use super::pictures::TokenQuery;
use crate::error::AppError;
use crate::progress::ProgressEvent;
use crate::state::AppState;

fn event(progress: &ProgressEvent) -> Event {
    Event::default()
        .event("progress")
        .json_data(progress)
        .unwrap_or_else(|_| Event::default().event("progress"))
}

/// The event stream of one picture.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    // Subscribe before reading the state, so nothing falls between the two.
    let receiver = state.progress.subscribe(&id);
    let (picture, _) = picture_and_role(&state, &id, &headers, query.token.as_deref()).await?;
    let first = ProgressEvent {
        status: picture.status,
        stage: picture
            .stage
            .clone()
            .unwrap_or_else(|| picture.status.as_str().into()),
        done: picture.done,
        total: picture.total,
        error: picture.error.clone(),
    };
    let done = first.status.is_final();
    let stream = stream::unfold(
        (Some(first), receiver, done),
        |(pending, mut receiver, finished)| async move {
            if let Some(first) = pending {
                return Some((Ok(event(&first)), (None, receiver, finished)));
            }
            if finished {
                return None;
            }
            loop {
                match receiver.recv().await {
                    Ok(progress) => {
                        let last = progress.status.is_final();
                        return Some((Ok(event(&progress)), (None, receiver, last)));
                    }
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
