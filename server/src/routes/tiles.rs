//! Serving pyramids: DeepZoom descriptor and tiles, IIIF info.json (its `id` fitted to
//! the request) and images, thumbnails. Tiles never change once written, so they are
//! cached for a year, with an ETag and no ranges.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use futures_util::future::{ready, Either, Ready};
use hugepic_workers::pyramid::layout::{dzi, iiif};
use tower_service::Service;

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
        Some("webp") => "image/webp",
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
    immutable_headers(response.headers_mut(), etag);
    response
}

/// The headers every pyramid object gets: cached for a year, its ETag, open to any origin.
fn immutable_headers(headers: &mut HeaderMap, etag: HeaderValue) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// Every header of a full answer with an object of type `content_type`, made once per
/// cached object: those of `immutable`, those of every answer, and a place for the
/// request id (overwritten in place, so that a copy never grows).
fn object_headers(etag: &HeaderValue, content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(8);
    immutable_headers(&mut headers, etag.clone());
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    crate::headers::plain(&mut headers, false);
    headers.insert(crate::REQUEST_ID, HeaderValue::from_static("-"));
    headers
}

/// `cached` as an answer: 304 when the client holds it, else its bytes.
fn answer(cached: &Cached, if_none_match: Option<&str>) -> Response {
    let held = cached.etag.to_str().ok();
    if held.is_some_and(|etag| etag_matches(if_none_match, etag)) {
        let mut response = immutable(
            StatusCode::NOT_MODIFIED.into_response(),
            cached.etag.clone(),
        );
        crate::headers::plain(response.headers_mut(), false);
        return response;
    }
    let mut response = Response::new(Body::from(cached.bytes.clone()));
    *response.headers_mut() = cached.headers.clone();
    response
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
            let headers = object_headers(&etag, content_type(key));
            let cached = Arc::new(Cached::new(Bytes::from(bytes), etag, headers));
            let response = answer(&cached, None);
            state.tile_cache.insert(id, key, cached);
            response
        }
    })
}

/// Whether `/tiles/{id}/{key}` serves `key`: the DeepZoom descriptor and tiles, and the
/// thumbnails (not the original, nor IIIF objects, which have their own routes).
fn tile_route_serves(key: &str) -> bool {
    key == dzi::DESCRIPTOR_KEY || key.starts_with("image_files/") || key.starts_with("thumbnail-")
}

/// `GET /tiles/{id}/image.dzi`, `/tiles/{id}/image_files/{level}/{col}_{row}.jpg`, thumbnails.
pub async fn tile(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !tile_route_serves(&key) {
        return Err(AppError::NotFound(format!("picture {id:?} has no {key:?}")));
    }
    serve_object(&state, &id, &key, &headers).await
}

/// The HTTP application with hot tiles answered first: a `GET` of a tile that is in the
/// hot-tile cache, of a picture known to be servable, gets its answer here, before
/// routing and middleware (the same headers, counted the same; no log span: such an
/// answer logs nothing). Everything else goes to `routes`.
#[derive(Clone)]
pub struct FastTiles {
    state: AppState,
    routes: Router,
}

impl FastTiles {
    pub fn new(state: AppState, routes: Router) -> Self {
        FastTiles { state, routes }
    }

    /// The answer to `request` if it is a hot tile's.
    fn hot(&self, request: &Request) -> Option<Response> {
        if request.method() != Method::GET {
            return None;
        }
        // The cache's keys are `{id}/{key}` as decoded; a path with escapes takes the
        // router's way, which decodes it.
        let path = request.uri().path().strip_prefix("/tiles/")?;
        if path.contains('%') {
            return None;
        }
        let (id, key) = path.split_once('/')?;
        if !tile_route_serves(key) || self.state.servable.cached(id, Instant::now()) != Some(true) {
            return None;
        }
        let cached = self.state.tile_cache.get_path(path)?;
        let if_none_match = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok());
        let mut response = answer(&cached, if_none_match);
        response
            .headers_mut()
            .insert(crate::REQUEST_ID, crate::request_id(request));
        self.state.metrics.tile_served();
        self.state.metrics.request(response.status().as_u16());
        Some(response)
    }
}

impl Service<Request> for FastTiles {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, <Router as Service<Request>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.routes, cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.hot(&request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.routes.call(request)),
        }
    }
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
