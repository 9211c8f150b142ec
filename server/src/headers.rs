//! Headers every answer carries so that browsers hold the pages to what they are: no
//! content sniffing, no referrer (share links carry tokens), and for pages a content
//! security policy (scripts from this origin only, no inline script; connections to
//! this origin and the tile origin; never framed, except the `/embed/` pages).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::state::AppState;

/// The content security policy of pages; `framed` for `/embed/` pages.
pub fn page_policy(config: &Config, framed: bool) -> String {
    // Tiles may come from a CDN of their own; data: and blob: are local (a page reading
    // back its own canvas), never a way out.
    let tiles = config
        .public_tile_url
        .as_deref()
        .and_then(origin_of)
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let ancestors = if framed { "*" } else { "'none'" };
    format!(
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; \
         img-src 'self' data: blob:{tiles}; connect-src 'self' data: blob:{tiles}; worker-src 'self' blob:; \
         frame-ancestors {ancestors}"
    )
}

/// `https://cdn.example` of `https://cdn.example/tiles`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

/// Middleware: the headers, on every answer.
pub async fn secure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let framed = request.uri().path().starts_with("/embed/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    plain(headers, framed);
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_page {
        if let Ok(policy) = HeaderValue::from_str(&page_policy(&state.config, framed)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}

/// The headers of every answer that is not a page: no sniffing, no referrer, and never
/// framed unless `framed` (an `/embed/` page).
pub fn plain(headers: &mut HeaderMap, framed: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !framed {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}
