//! Serving pyramids: DeepZoom descriptor and tiles, IIIF info.json (its `id` fitted to
//! the request) and images, thumbnails. Tiles never change once written, so they are
//! cached for a year, with an ETag and no ranges.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hugepic_workers::pyramid::layout::{dzi, iiif};

use crate::error::AppError;
use crate::objects::{etag_matches, StoredObject};
use crate::serving::Cached;
use crate::state::AppState;
use crate::urls::BaseUrls;

/// `Cache-Control` of immutable objects.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("dzi") => "application/xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Whether picture `id` may be served: from memory while fresh, else from the store.
async fn servable(state: &AppState, id: &str) -> Result<bool, AppError> {
    let now = Instant::now();
    if let Some(known) = state.servable.cached(id, now) {
        return Ok(known);
    }
    let exists = state.store.picture(id).await?.is_some();
    state.servable.remember(id, exists, now);
    Ok(exists)
}

/// An answer with the headers every pyramid object gets.
fn immutable(mut response: Response, etag: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `cached` as an answer: 304 when the client holds it, else its bytes.
fn answer(cached: &Cached, if_none_match: Option<&str>) -> Response {
    let held = cached.etag.to_str().ok();
    if held.is_some_and(|etag| etag_matches(if_none_match, etag)) {
        return immutable(
            StatusCode::NOT_MODIFIED.into_response(),
            cached.etag.clone(),
        );
    }
    let mut response = Response::new(Body::from(cached.bytes.clone()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(cached.content_type),
    );
    immutable(response, cached.etag.clone())
}

/// One stored object of a picture, or 404: from the hot-tile cache when it is there.
async fn serve_object(
    state: &AppState,
    id: &str,
    key: &str,
    request: &HeaderMap,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound(format!("picture {id:?} has no {key:?}"));
    if !servable(state, id).await? {
        return Err(not_found());
    }
    let if_none_match = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if let Some(cached) = state.tile_cache.get(id, key) {
        state.metrics.tile_served();
        return Ok(answer(&cached, if_none_match));
    }
    let stored = state
        .objects
        .get(id, key, if_none_match)
        .await?
        .ok_or_else(not_found)?;
    state.metrics.tile_served();
    Ok(match stored {
        StoredObject::NotModified { etag } => {
            let etag = HeaderValue::from_str(&etag).map_err(AppError::internal)?;
            immutable(StatusCode::NOT_MODIFIED.into_response(), etag)
        }
        StoredObject::Found { bytes, etag } => {
            let etag = HeaderValue::from_str(&etag).map_err(AppError::internal)?;
            let cached = Arc::new(Cached::new(Bytes::from(bytes), etag, content_type(key)));
            let response = answer(&cached, None);
            state.tile_cache.insert(id, key, cached);
            response
        }
    })
}

/// `GET /tiles/{id}/image.dzi`, `/tiles/{id}/image_files/{level}/{col}_{row}.jpg`, thumbnails.
pub async fn tile(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let allowed = key == dzi::DESCRIPTOR_KEY
        || key.starts_with("image_files/")
        || key.starts_with("thumbnail-");
    if !allowed {
        return Err(AppError::NotFound(format!("picture {id:?} has no {key:?}")));
    }
    serve_object(&state, &id, &key, &headers).await
}

/// `GET /iiif/{id}`: the image service's base URI points at its info.json.
pub async fn iiif_base(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Redirect {
    Redirect::to(&BaseUrls::from_request(&state.config, &headers).iiif_info(&id))
}

/// `GET /iiif/{id}/info.json` and every image URL it declares.
pub async fn iiif(
    State(state): State<AppState>,
    Path((id, rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = format!("{}/{rest}", iiif::PREFIX);
    if key != iiif::INFO_KEY {
        return serve_object(&state, &id, &key, &headers).await;
    }
    if state.store.picture(&id).await?.is_none() {
        return Err(AppError::NotFound(format!("there is no picture {id:?}")));
    }
    let bytes = match state.objects.get(&id, &key, None).await? {
        Some(StoredObject::Found { bytes, .. }) => bytes,
        _ => {
            return Err(AppError::NotFound(format!(
                "picture {id:?} has no tiles yet"
            )))
        }
    };
    let mut info: serde_json::Value = serde_json::from_slice(&bytes).map_err(AppError::internal)?;
    info["id"] = BaseUrls::from_request(&state.config, &headers)
        .iiif_id(&id)
        .into();
    let mut response = axum::Json(info).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"",
        ),
    );
    // The id depends on how the server was reached; caches must keep per-host copies.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Host, X-Forwarded-Host, X-Forwarded-Proto"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}
