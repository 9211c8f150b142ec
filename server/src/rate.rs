//! Who a request comes from, and how many writes (pictures made, imports, uploads
//! begun, links replaced) one address may make: a token bucket per address, refused
//! with 429 and `Retry-After` when empty.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hugepic_hub_core::limits::TokenBucket;

use crate::config::Config;
use crate::error::AppError;
use crate::state::AppState;

/// Addresses tracked before the idle ones are forgotten.
const TRACKED: usize = 10_000;

/// The address a request comes from: the peer, or behind a trusted proxy the address it
/// names last in `X-Forwarded-For` (the one it saw). `None` for loopback: the machine's
/// own tools, or a proxy on it that does not say whom it serves.
pub fn client_address(
    config: &Config,
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
) -> Option<IpAddr> {
    let forwarded = config
        .trust_proxy
        .then(|| headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded
        .or_else(|| peer.map(|info| info.0.ip()))
        .filter(|ip| !ip.is_loopback())
}

/// Writes per address.
#[derive(Debug)]
pub struct WriteLimits {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl WriteLimits {
    /// `per_minute` writes per address, in bursts of as many.
    pub fn new(per_minute: u32) -> WriteLimits {
        WriteLimits {
            per_minute: per_minute.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Takes a write for `address` at `now`; how long to wait when there is none.
    pub fn take(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= TRACKED {
            buckets.retain(|_, bucket| !bucket.is_full(now));
        }
        // The bucket counts per second; a minute's allowance refills over a minute.
        let rate = self.per_minute as f64 / 60.0;
        let bucket = buckets
            .entry(address)
            .or_insert_with(|| TokenBucket::with_rate(rate, self.per_minute, now));
        if bucket.take(now) {
            Ok(())
        } else {
            Err(bucket.ready_at(now).saturating_duration_since(now))
        }
    }
}

/// Whether a request is one of the writes counted.
fn is_write(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (path == "/api/pictures"
            || path == "/api/uploads"
            || (path.starts_with("/api/pictures/")
                && (path.ends_with("/links") || path.ends_with("/annotations"))))
}

/// Middleware: refuses a counted write past its address's allowance.
pub async fn limit_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_write(request.method(), request.uri().path()) {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
        if let Some(address) = client_address(&state.config, request.headers(), peer) {
            if let Err(wait) = state.write_limits.take(address, Instant::now()) {
                return AppError::TooManyRequests {
                    message: format!(
                        "too many new pictures, uploads, imports or links from your address ({} a minute); try again shortly",
                        state.config.writes_per_minute
                    ),
                    retry_after: wait.as_secs().max(1),
                }
                .into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_allowance_then_waits() {
        let limits = WriteLimits::new(6);
        let start = Instant::now();
        let (a, b): (IpAddr, IpAddr) = ([203, 0, 113, 1].into(), [203, 0, 113, 2].into());
        for _ in 0..6 {
            assert!(limits.take(a, start).is_ok());
        }
        let wait = limits.take(a, start).expect_err("the seventh waits");
        assert!(
            wait > Duration::from_secs(9) && wait <= Duration::from_secs(11),
            "{wait:?}"
        );
        assert!(
            limits.take(b, start).is_ok(),
            "another address is not affected"
        );
        assert!(limits.take(a, start + Duration::from_secs(10)).is_ok());
    }
}
