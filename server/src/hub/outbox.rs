//! What a connection is sent, written to its socket by whoever sends it.
//!
//! A room writes each message to its connections' sockets itself: a write the socket
//! takes at once (the usual case) wakes no task and copies nothing. Only what a socket
//! does not take is kept, in order, and written by the connection's own task once the
//! socket is writable again. Messages are WebSocket frames, encoded once for every
//! connection (a server's frames are not masked, so all are sent the same bytes) and
//! shared as `Bytes`. A frame written in part is kept with an offset into it, never
//! moved, so a large message to a slow reader is copied once.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

/// Kept frames written in one system call at most.
const SLICES: usize = 32;

/// Where a connection's bytes go: written without waiting, as much as it takes now.
pub(crate) trait Wire: Send + Sync + 'static {
    /// Writes from `bytes` what the peer takes now; `WouldBlock` if nothing.
    fn try_write(&self, bytes: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Ready once more may be written.
    fn writable(&self) -> impl Future<Output = io::Result<()>> + Send + '_;
}

impl Wire for OwnedWriteHalf {
    fn try_write(&self, bytes: &[IoSlice<'_>]) -> io::Result<usize> {
        match bytes {
            [one] => OwnedWriteHalf::try_write(self, one),
            _ => self.try_write_vectored(bytes),
        }
    }

    fn writable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
        OwnedWriteHalf::writable(self)
    }
}

/// A binary WebSocket frame (RFC 6455 section 5.2, unmasked, as a server sends) holding
/// `payload`.
pub(crate) fn binary_frame(payload: &[u8]) -> Bytes {
    let len = payload.len();
    let mut frame = Vec::with_capacity(len + 10);
    frame.push(0x82); // FIN, binary
    if len < 126 {
        frame.push(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        frame.push(126);
        frame.extend_from_slice(&short.to_be_bytes());
    } else {
        frame.push(127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(payload);
    Bytes::from(frame)
}

/// A connection as the room sees it: something to send frames to.
pub(crate) trait Deliver: Send + Sync {
    /// Sends `frame` (a whole WebSocket frame); false if the connection is ending.
    fn deliver(&self, frame: &Bytes) -> bool;
}

/// What is kept for a socket that did not take it at once.
#[derive(Default)]
struct Kept {
    frames: VecDeque<Bytes>,
    /// How much of the first frame is written.
    offset: usize,
    /// The reader fell too far behind: the connection is to close.
    lagging: bool,
    /// The socket failed: nothing more is written.
    broken: bool,
}

impl Kept {
    /// Marks `written` bytes of the kept frames as written.
    fn advance(&mut self, mut written: usize) {
        while written > 0 {
            let Some(first) = self.frames.front() else {
                return;
            };
            let left = first.len() - self.offset;
            if written < left {
                self.offset += written;
                return;
            }
            written -= left;
            self.frames.pop_front();
            self.offset = 0;
        }
    }
}

/// One connection's outgoing frames and the socket they are written to.
pub(crate) struct Outbox<W> {
    wire: W,
    kept: Mutex<Kept>,
    /// Tells the connection's task that frames are kept or that it lags.
    wake: Notify,
    /// Frames kept before the reader counts as too slow.
    limit: usize,
}

impl<W: Wire> Outbox<W> {
    /// Writes to `wire`; a reader with `limit` frames unwritten lags.
    pub(crate) fn new(wire: W, limit: usize) -> Outbox<W> {
        Outbox {
            wire,
            kept: Mutex::default(),
            wake: Notify::new(),
            limit: limit.max(1),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `frame`: written now if nothing is waiting and the socket takes it, else
    /// kept for the connection's task. False if the connection is ending (a broken
    /// socket, or a reader that lags; its task is told).
    pub(crate) fn push(&self, frame: Bytes) -> bool {
        self.send(frame, true)
    }

    /// Sends a frame of the protocol's own (close, ping, pong): never refused for lag,
    /// since the close that ends a lagging connection is one.
    pub(crate) fn push_control(&self, frame: Bytes) -> bool {
        self.send(frame, false)
    }

    fn send(&self, frame: Bytes, limited: bool) -> bool {
        let mut kept = self.kept();
        if kept.broken || (limited && kept.lagging) {
            return false;
        }
        if !kept.frames.is_empty() {
            if limited && kept.frames.len() >= self.limit {
                // Whatever of the first frame is written must be finished (the stream
                // would be garbled otherwise); the rest is not worth sending.
                let partial = (kept.offset > 0).then(|| kept.frames.pop_front()).flatten();
                kept.frames.clear();
                kept.frames.extend(partial);
                kept.lagging = true;
                drop(kept);
                self.wake.notify_one();
                return false;
            }
            kept.frames.push_back(frame);
            return true;
        }
        match self.wire.try_write(&[IoSlice::new(&frame)]) {
            Ok(n) if n == frame.len() => return true,
            Ok(n) => {
                kept.offset = n;
                kept.frames.push_back(frame);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => kept.frames.push_back(frame),
            Err(_) => kept.broken = true,
        }
        drop(kept);
        self.wake.notify_one();
        true
    }

    /// Writes what is kept, as much as the socket takes now; whether all of it is written.
    pub(crate) fn write_kept(&self) -> io::Result<bool> {
        let mut kept = self.kept();
        if kept.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        while !kept.frames.is_empty() {
            let mut slices = [IoSlice::new(&[]); SLICES];
            let mut count = 0;
            for (i, frame) in kept.frames.iter().take(SLICES).enumerate() {
                let from = if i == 0 { kept.offset } else { 0 };
                slices[i] = IoSlice::new(&frame[from..]);
                count += 1;
            }
            match self.wire.try_write(&slices[..count]) {
                Ok(0) => {
                    kept.broken = true;
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(n) => kept.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => {
                    kept.broken = true;
                    return Err(e);
                }
            }
        }
        Ok(true)
    }

    /// Whether frames are waiting for the socket.
    pub(crate) fn has_kept(&self) -> bool {
        !self.kept().frames.is_empty()
    }

    /// Whether the reader fell too far behind.
    pub(crate) fn lagging(&self) -> bool {
        self.kept().lagging
    }

    /// Ready when the socket may take more.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.wire.writable().await
    }

    /// Ready when frames were kept, or the reader lags, since the last call.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await
    }

    /// Writes everything kept, waiting for the socket up to `within`.
    pub(crate) async fn finish(&self, within: Duration) {
        let write_all = async {
            while let Ok(false) = self.write_kept() {
                if self.writable().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(within, write_all).await;
    }
}

impl<W: Wire> Deliver for Outbox<W> {
    fn deliver(&self, frame: &Bytes) -> bool {
        self.push(frame.clone())
    }
}

/// tungstenite's side of an outbox: the frames it writes itself (pings, pongs, closes)
/// go in order with the rest. Every write is taken whole.
pub(crate) struct ControlWrites<W>(pub(crate) std::sync::Arc<Outbox<W>>);

impl<W: Wire> AsyncWrite for ControlWrites<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.0.push_control(Bytes::copy_from_slice(buf)) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// A socket that takes `take` bytes per write while open, and records them.
    struct Trickle {
        take: AtomicUsize,
        written: Mutex<Vec<u8>>,
        writes: AtomicUsize,
    }

    impl Trickle {
        fn new(take: usize) -> Trickle {
            Trickle {
                take: AtomicUsize::new(take),
                written: Mutex::default(),
                writes: AtomicUsize::new(0),
            }
        }
    }

    impl Wire for Arc<Trickle> {
        fn try_write(&self, bytes: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut budget = self.take.load(Ordering::SeqCst);
            if budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            let mut written = self.written.lock().expect("lock");
            let mut n = 0;
            for slice in bytes {
                let part = &slice[..slice.len().min(budget)];
                written.extend_from_slice(part);
                n += part.len();
                budget -= part.len();
                if budget == 0 {
                    break;
                }
            }
            Ok(n)
        }

        async fn writable(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn frames_have_the_lengths_rfc_6455_gives_them() {
        assert_eq!(&binary_frame(b"hi")[..], &[0x82, 2, b'h', b'i']);
        let medium = binary_frame(&[7; 300]);
        assert_eq!(&medium[..4], &[0x82, 126, 1, 44]);
        assert_eq!(medium.len(), 304);
        let large = binary_frame(&vec![7; 70_000]);
        assert_eq!(&large[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(large.len(), 70_010);
    }

    #[test]
    fn what_the_socket_takes_at_once_is_not_kept_and_the_rest_goes_out_in_order() {
        let socket = Arc::new(Trickle::new(usize::MAX));
        let outbox = Outbox::new(Arc::clone(&socket), 8);
        assert!(outbox.push(binary_frame(b"one")));
        assert!(!outbox.has_kept());
        // 1 MB to a reader taking 70 KB a write: kept with an offset and written whole.
        socket.take.store(70_000, Ordering::SeqCst);
        let big: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        assert!(outbox.push(binary_frame(&big)));
        assert!(outbox.has_kept());
        assert!(outbox.push(binary_frame(b"after")));
        while !outbox.write_kept().expect("writes") {}
        let written = socket.written.lock().expect("lock").clone();
        let mut expected = binary_frame(b"one").to_vec();
        expected.extend_from_slice(&binary_frame(&big));
        expected.extend_from_slice(&binary_frame(b"after"));
        assert_eq!(written.len(), expected.len());
        assert!(written == expected, "the bytes arrive whole and in order");
        // 1 write for "one", 1 try for the big frame, then 70 KB pieces.
        let writes = socket.writes.load(Ordering::SeqCst);
        assert_eq!(writes, 2 + (expected.len() - 5 - 70_000).div_ceil(70_000));
    }

    #[test]
    fn a_reader_that_falls_behind_lags_but_still_gets_its_close() {
        let socket = Arc::new(Trickle::new(0));
        let outbox = Outbox::new(Arc::clone(&socket), 3);
        for _ in 0..3 {
            assert!(outbox.push(binary_frame(b"x")));
        }
        assert!(!outbox.lagging());
        assert!(!outbox.push(binary_frame(b"one too many")));
        assert!(outbox.lagging());
        assert!(!outbox.push(binary_frame(b"later")));
        assert!(outbox.push_control(Bytes::from_static(&[0x88, 0])));
        socket.take.store(usize::MAX, Ordering::SeqCst);
        assert!(outbox.write_kept().expect("writes"));
        // Nothing was written in part, so only the close goes out.
        assert_eq!(&socket.written.lock().expect("lock")[..], &[0x88, 0]);
    }

    #[test]
    fn a_frame_written_in_part_is_finished_before_the_close() {
        let socket = Arc::new(Trickle::new(2));
        let outbox = Outbox::new(Arc::clone(&socket), 2);
        assert!(outbox.push(binary_frame(b"abcdef")));
        socket.take.store(0, Ordering::SeqCst);
        assert!(outbox.push(binary_frame(b"g")));
        assert!(!outbox.push(binary_frame(b"h")));
        assert!(outbox.push_control(Bytes::from_static(&[0x88, 0])));
        socket.take.store(usize::MAX, Ordering::SeqCst);
        assert!(outbox.write_kept().expect("writes"));
        let mut expected = binary_frame(b"abcdef").to_vec();
        expected.extend_from_slice(&[0x88, 0]);
        assert_eq!(&socket.written.lock().expect("lock")[..], &expected[..]);
    }
}
