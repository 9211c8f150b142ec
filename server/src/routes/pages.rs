//! The built web client (`client/dist`): its files, and `index.html` for every page
//! route (`/`, `/upload`, `/p/{id}`, `/embed/{id}`), which the client routes itself.
//! Hashed assets are immutable; `index.html` is always revalidated. A picture's page
//! opened without a token answers 404 when the picture is unknown or unlisted (with the
//! client still in the body: a tab that keeps its link's token shows the picture).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;
use crate::store::Visibility;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether `path` (without the leading slash) is a page the client renders.
fn is_page(path: &str) -> bool {
    let id_ok = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match path.trim_end_matches('/').split_once('/') {
        None => path.is_empty() || path == "upload",
        Some(("p" | "embed", id)) => id_ok(id),
        _ => false,
    }
}

async fn file(path: &std::path::Path, cache: &'static str) -> Option<Response> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path.to_string_lossy())),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(response)
}

/// Whether a tokenless request for page `path` names a picture a visitor may find: not
/// for unknown or unlisted pictures. Pages that are not a picture's, and requests with
/// a token (checked by the API the page calls), are always found.
async fn findable(state: &AppState, path: &str, uri: &Uri, headers: &HeaderMap) -> bool {
    let Some(id) = path
        .trim_end_matches('/')
        .strip_prefix("p/")
        .or_else(|| path.trim_end_matches('/').strip_prefix("embed/"))
    else {
        return true;
    };
    let query_token = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .filter(|t| !t.is_empty())
    });
    if crate::auth::token_from(headers, query_token).is_some() {
        return true;
    }
    match state.store.picture(id).await {
        Ok(Some(picture)) => picture.visibility == Visibility::Public,
        Ok(None) => false,
        // The page's own API calls will say what is wrong.
        Err(_) => true,
    }
}

/// Fallback for everything the API does not route.
pub async fn client(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let path = uri.path().trim_start_matches('/');
    let api = ["api/", "tiles/", "iiif/", "ws/"]
        .iter()
        .any(|p| path.starts_with(p));
    let dir = &state.config.client_dir;
    let safe = path.split('/').all(|s| {
        !s.is_empty() && s != "." && s != ".." && !s.contains('\\') && !s.starts_with('.')
    });
    if !api && safe {
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        if let Some(response) = file(&dir.join(path), cache).await {
            return Ok(response);
        }
    }
    if !api && is_page(path) {
        return match file(&dir.join("index.html"), "no-cache").await {
            Some(mut response) => {
                if !findable(&state, path, &uri, &headers).await {
                    *response.status_mut() = StatusCode::NOT_FOUND;
                }
                Ok(response)
            }
            None => Ok((
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "The web client is not built: no {}. `scripts/run serve` builds it (or run `npm ci && npm run build` in client/).",
                    dir.join("index.html").display()
                ),
            )
                .into_response()),
        };
    }
    Err(AppError::NotFound(format!("there is nothing at /{path}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        for page in ["", "upload", "p/abc_D-9", "embed/x1", "p/abc/"] {
            assert!(is_page(page), "{page}");
        }
        for other in ["p", "p/", "p/a/b", "upload/x", "embed/../x", "x"] {
            assert!(!is_page(other), "{other}");
        }
    }
}
