//! The hub's WebSocket: the HTTP upgrade is made here rather than by axum's
//! `WebSocketUpgrade`, so that the connection's TCP socket comes back whole. tungstenite
//! reads from it; what the hub sends is written through the connection's `Outbox`
//! (`outbox.rs`), by whoever sends it, tungstenite's own frames (pings, pongs, closes)
//! included, in order.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto::upgrade::downcast;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::outbox::{ControlWrites, Outbox};

/// A connection of the hub, once upgraded: tungstenite reads, and its writes go to the
/// outbox.
pub(crate) type Socket = WebSocketStream<Halves>;

/// The outbox of a connection's TCP socket.
pub(crate) type TcpOutbox = Outbox<OwnedWriteHalf>;

/// An upgraded connection: frames in through tungstenite, out through the outbox.
pub(crate) struct Connection {
    pub(crate) socket: Socket,
    pub(crate) outbox: Arc<TcpOutbox>,
}

impl Connection {
    /// Closes the connection with `code` and `reason` (cut to a control frame).
    pub(crate) async fn close(mut self, code: u16, reason: &str) {
        super::close(&mut self.socket, code, reason).await;
        self.outbox.finish(super::FINISH_WITHIN).await;
    }
}

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
    /// Answers 101 and runs `serve` on the connection once it is upgraded; a reader
    /// `send_queue` frames behind lags.
    pub(crate) fn serve<F, Fut>(
        self,
        config: WebSocketConfig,
        send_queue: usize,
        serve: F,
    ) -> Response
    where
        F: FnOnce(Connection) -> Fut + Send + 'static,
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
            // The server's listener gives TCP sockets (serve.rs); anything else is a bug.
            let Ok(parts) = downcast::<TokioIo<TcpStream>>(upgraded) else {
                tracing::error!("an upgraded connection is not a TCP socket");
                return;
            };
            let (read, write) = parts.io.into_inner().into_split();
            let outbox = Arc::new(Outbox::new(write, send_queue));
            let halves = Halves {
                read: Prefixed {
                    early: parts.read_buf,
                    inner: read,
                },
                write: ControlWrites(Arc::clone(&outbox)),
            };
            let socket = WebSocketStream::from_raw_socket(halves, Role::Server, Some(config)).await;
            serve(Connection { socket, outbox }).await;
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

/// The two halves of an upgraded socket as one stream for tungstenite: reads from the
/// socket, writes into the outbox.
pub struct Halves {
    read: Prefixed,
    write: ControlWrites<OwnedWriteHalf>,
}

/// The socket's read half, after whatever the HTTP server read past the handshake.
struct Prefixed {
    early: Bytes,
    inner: OwnedReadHalf,
}

impl AsyncRead for Halves {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = &mut self.get_mut().read;
        if !read.early.is_empty() {
            let n = read.early.len().min(buf.remaining());
            buf.put_slice(&read.early.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut read.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Halves {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().write).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().write).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().write).poll_shutdown(cx)
    }
}
