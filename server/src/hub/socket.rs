//! The hub's WebSocket: the HTTP upgrade is made here rather than by axum's
//! `WebSocketUpgrade`, so that tungstenite writes through [`WholeWrites`].
//!
//! tungstenite keeps what it has to send in one buffer, writes as much of it as the
//! socket takes, and moves the rest to the front of the buffer after each partial write.
//! A large message (a restore that re-creates a document is over a megabyte) to a reader
//! that drains its socket slowly is written in many pieces, each moving what is left: a
//! `perf` profile of a restore delivered to 50 connections spent 10% of the server's time
//! in that `memmove`. `WholeWrites` takes every write whole and keeps the unwritten part
//! with an offset into it, so each byte is copied once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// A connection of the hub, once upgraded.
pub type Socket = WebSocketStream<WholeWrites<TokioIo<Upgraded>>>;

/// Bytes kept unwritten before a write waits for the socket (tungstenite's own buffer
/// holds at most one message more).
const KEPT: usize = 256 * 1024;

/// A request to upgrade to a WebSocket (RFC 6455 section 4.2.1), taken from the request.
pub struct Upgrade {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
}

/// Why a request is not a WebSocket handshake this server takes.
#[derive(Debug)]
pub struct NotUpgrade(&'static str);

impl IntoResponse for NotUpgrade {
    fn into_response(self) -> Response {
        (
            StatusCode::UPGRADE_REQUIRED,
            [
                (header::UPGRADE, "websocket"),
                (header::SEC_WEBSOCKET_VERSION, "13"),
            ],
            self.0,
        )
            .into_response()
    }
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotUpgrade;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET
            || !has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return Err(NotUpgrade(
                "this address is a WebSocket (the y-websocket protocol): open it with a WebSocket client",
            ));
        }
        if parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_none_or(|v| v != "13")
        {
            return Err(NotUpgrade("only WebSocket version 13 is spoken here"));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY) else {
            return Err(NotUpgrade(
                "the WebSocket handshake has no Sec-WebSocket-Key",
            ));
        };
        let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
            .map_err(|_| NotUpgrade("the WebSocket handshake's key cannot be answered"))?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(NotUpgrade("this connection cannot be upgraded"))?;
        Ok(Upgrade { on_upgrade, accept })
    }
}

impl Upgrade {
    /// Answers 101 and runs `serve` on the socket once the connection is upgraded.
    pub fn serve<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let Upgrade { on_upgrade, accept } = self;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    tracing::debug!(error = %e, "a WebSocket upgrade did not complete");
                    return;
                }
            };
            let stream = WholeWrites::new(TokioIo::new(upgraded));
            let socket = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;
            serve(socket).await;
        });
        (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (header::SEC_WEBSOCKET_ACCEPT, accept),
            ],
        )
            .into_response()
    }
}

/// A byte stream whose writes are always taken whole: what the socket does not take at
/// once is kept (up to [`KEPT`] bytes, then writes wait) and written on the next write
/// or flush, from an offset, never moved to the front piecemeal.
pub struct WholeWrites<S> {
    inner: S,
    kept: Vec<u8>,
    /// How much of `kept` is written.
    written: usize,
}

impl<S> WholeWrites<S> {
    pub fn new(inner: S) -> WholeWrites<S> {
        WholeWrites {
            inner,
            kept: Vec::new(),
            written: 0,
        }
    }

    fn unwritten(&self) -> usize {
        self.kept.len() - self.written
    }

    /// Keeps `bytes` after what is kept already.
    fn keep(&mut self, bytes: &[u8]) {
        // Drops the written part when it is most of the buffer: each byte moves at most once.
        if self.written > 0 && self.written >= self.unwritten() {
            self.kept.drain(..self.written);
            self.written = 0;
        }
        self.kept.extend_from_slice(bytes);
    }
}

impl<S: AsyncWrite + Unpin> WholeWrites<S> {
    /// Writes what is kept; ready when all of it is written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.unwritten() > 0 {
            let n = match Pin::new(&mut self.inner).poll_write(cx, &self.kept[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            self.written += n;
        }
        self.kept.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WholeWrites<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WholeWrites<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.unwritten() > 0 {
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
        }
        if this.unwritten() == 0 {
            // Nothing waiting: straight to the socket, keeping what it does not take.
            return match Pin::new(&mut this.inner).poll_write(cx, buf) {
                Poll::Ready(Ok(n)) => {
                    if n < buf.len() {
                        this.keep(&buf[n..]);
                    }
                    Poll::Ready(Ok(buf.len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => {
                    this.keep(buf);
                    Poll::Ready(Ok(buf.len()))
                }
            };
        }
        if this.unwritten() >= KEPT {
            // The socket said Pending in `poll_drain`: woken when it can take more.
            return Poll::Pending;
        }
        this.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A reader that drains slowly: every write is taken whole, and the bytes arrive in
    /// order, all of them, once the reader reads.
    #[tokio::test]
    async fn takes_writes_whole_and_delivers_every_byte_in_order() {
        let (near, mut far) = tokio::io::duplex(4096);
        let mut stream = WholeWrites::new(near);
        let message: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut chunk = [0u8; 1000];
            loop {
                let n = far.read(&mut chunk).await.expect("read");
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            got
        });
        let mut sent = Vec::new();
        for piece in message.chunks(70_000) {
            // A whole write, however full the pipe is (up to KEPT waiting).
            let n = stream.write(piece).await.expect("write");
            assert_eq!(n, piece.len());
            sent.extend_from_slice(piece);
            assert!(stream.unwritten() <= KEPT + piece.len());
        }
        stream.flush().await.expect("flush");
        assert_eq!(stream.unwritten(), 0);
        stream.shutdown().await.expect("shutdown");
        let got = reader.await.expect("reader");
        assert_eq!(got.len(), message.len());
        assert!(got == message, "bytes out of order or changed");
    }
}
