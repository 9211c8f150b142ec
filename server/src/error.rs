//! The one error type that reaches HTTP. Client errors say what was wrong; server errors
//! answer a generic 500 and are logged with their cause.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::objects::ObjectError;
use crate::store::StoreError;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid token where one is needed.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such picture, upload or tile.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the resource's state (tus offsets).
    #[error("{0}")]
    Conflict(String),
    /// 410: it existed and is gone (expired uploads).
    #[error("{0}")]
    Gone(String),
    /// 412: a precondition header is missing or wrong (Tus-Resumable).
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: over a configured size limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: wrong Content-Type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many requests of this kind from this address; `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests {
        /// What to tell the person.
        message: String,
        /// Seconds until one more is allowed.
        retry_after: u64,
    },
    /// 507: the disk cannot hold what an upload declares (plus the configured margin).
    #[error("{0}")]
    InsufficientStorage(String),
    /// 503: a service we depend on (the object store) failed; try again later.
    #[error("{0}")]
    Unavailable(String),
    /// 500: our fault; the cause (kept as the error's source) is logged, not shown.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable name for the `error` field.
    fn kind(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Gone(_) => "gone",
            AppError::PreconditionFailed(_) => "precondition_failed",
            AppError::TooLarge(_) => "too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::InsufficientStorage(_) => "insufficient_storage",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// An internal error from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string().into())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(Box::new(e))
    }
}

impl From<ObjectError> for AppError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::InvalidKey(key) => AppError::NotFound(format!("no object {key:?}")),
            ObjectError::Io(e) => AppError::Internal(Box::new(e)),
            ObjectError::Storage(e) => {
                tracing::error!(error = %e, "object store failed");
                AppError::Unavailable("the picture store did not answer; try again shortly".into())
            }
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Internal(Box::new(e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Only our own faults are hidden; a full disk or a store that did not answer is
        // said as it is.
        let detail = if matches!(self, AppError::Internal(_)) {
            tracing::error!(error = %self, "request failed");
            "something went wrong on our side; it has been logged".to_string()
        } else {
            self.to_string()
        };
        let mut response = answer(status, self.kind(), &detail);
        if let AppError::TooManyRequests { retry_after, .. } = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
        }
        response
    }
}

/// Middleware: the answers axum makes itself, before a handler runs (a query string or
/// path that does not parse, a body over a route's limit, a method the route lacks), come
/// as plain text or empty; under `/api/` and `/iiif/` they become the `{"error", "detail"}` JSON that
/// every other error is. `HEAD` answers stay bodiless.
pub async fn json_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let api = path.starts_with("/api/") || path.starts_with("/iiif/");
    let head = request.method() == axum::http::Method::HEAD;
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if !api || head || !status.is_client_error() || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .unwrap_or_default();
    let said = String::from_utf8_lossy(&text).trim().to_string();
    let detail = if said.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_lowercase()
    } else {
        said
    };
    let kind = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "bad_request",
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut json = answer(status, kind, &detail);
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// The `{"error", "detail"}` answer every error gets.
fn answer(status: StatusCode, kind: &str, detail: &str) -> Response {
    (status, Json(json!({"error": kind, "detail": detail}))).into_response()
}
