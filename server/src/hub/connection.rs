//! One connection, from its seat in a room until it closes: the socket loop (generic over
//! `Sink`/`Stream` and the outbox's `Wire`, so tests drive it with channels), carrying
//! out what the core's `Session` decides. What the room sends is written by the room
//! (`outbox`); this loop writes only what a socket did not take at once.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use hugepic_hub_core::presence::Author;
use hugepic_hub_core::session::{Read, Session};
use hugepic_hub_core::{Close, Effect};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message as Frame, Utf8Bytes};

use super::log::Unlogged;
use super::outbox::{binary_frame, Deliver, Outbox, Wire};
use super::room::Room;
use crate::auth::Role;

/// Who is connecting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guest {
    /// What their link (or none) lets them do.
    pub(crate) role: Role,
    /// Joined with a link's token (replacing the links closes the connection).
    pub(crate) linked: bool,
    /// Where from; `None` when unknown or loopback (`rate::client_address`): not counted.
    pub(crate) address: Option<IpAddr>,
}

impl Guest {
    /// Owner and edit links have seats kept for them: a crowd of viewers (or of
    /// tokenless sockets) cannot lock the people who work on the picture out.
    fn reserved(&self) -> bool {
        self.linked && self.role >= Role::Edit
    }
}

/// Serves one connection of `guest` in `room` until it closes: frames come in on
/// `socket`; what the hub sends goes out through `outbox` (tungstenite's own frames,
/// written to `socket`, go there too).
pub(super) async fn serve<S, E, W>(
    room: Arc<Room>,
    mut socket: S,
    outbox: Arc<Outbox<W>>,
    guest: Guest,
) where
    S: Stream<Item = Result<Frame, E>> + Sink<Frame> + Unpin,
    W: Wire,
{
    // The room and the log writer say here when this connection is to close.
    let (ends, mut ended) = mpsc::channel(1);
    let seated = Seat::take(&room, guest, Arc::clone(&outbox) as _, ends.clone());
    let outcome = match seated {
        Ok(mut seat) => run(&mut seat, &mut socket, &outbox, (ends, &mut ended)).await,
        Err(why) => Err(why),
    };
    if let Err(Close { code, reason }) = outcome {
        close(&mut socket, code, &reason).await;
    }
    outbox.finish(super::FINISH_WITHIN).await;
}

async fn run<S, E, W>(
    seat: &mut Seat,
    socket: &mut S,
    outbox: &Outbox<W>,
    (ends, ended): (mpsc::Sender<Close>, &mut mpsc::Receiver<Close>),
) -> Result<(), Close>
where
    S: Stream<Item = Result<Frame, E>> + Sink<Frame> + Unpin,
    W: Wire,
{
    let room = Arc::clone(&seat.room);
    let me = seat.session.connection();
    // The server's side of the handshake: its state vector, and who is here.
    let hello = {
        let document = room.document.lock().await;
        Session::greeting(&document, &room.presence())
    };
    for message in hello {
        send(outbox, &message, &room.context.metrics)?;
    }
    let limits = &room.context.limits;
    let mut ping = tokio::time::interval(limits.ping_every);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let metrics = Arc::clone(&room.context.metrics);
    loop {
        let held = seat.session.held_until(Instant::now());
        tokio::select! {
            // Revoked links, a deleted picture, shutdown, an update that cannot be stored.
            Some(close) = ended.recv() => return Err(close),
            incoming = socket.next() => {
                let frame = match incoming {
                    None | Some(Err(_)) => return Ok(()),
                    Some(Ok(frame)) => frame,
                };
                last_heard = Instant::now();
                match frame {
                    Frame::Binary(bytes) => {
                        metrics.messages_in.fetch_add(1, Ordering::Relaxed);
                        metrics.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        let effects = handle(&room, &mut seat.session, &bytes, &ends).await;
                        carry_out(&room, me, effects, outbox)?;
                    }
                    Frame::Text(_) => {
                        return Err(Close::new(1003, "this endpoint speaks the binary y-websocket protocol"))
                    }
                    Frame::Close(_) => return Ok(()),
                    Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => {}
                }
            }
            // Frames the socket did not take at once, or a reader too far behind.
            _ = outbox.woken() => {
                if outbox.lagging() {
                    return Err(lagging());
                }
                outbox.write_kept().map_err(|_| gone())?;
            }
            written = outbox.writable(), if outbox.has_kept() => {
                written.map_err(|_| gone())?;
                outbox.write_kept().map_err(|_| gone())?;
            }
            _ = sleep_until(held), if held.is_some() => {
                let effects = seat.session.flush(Instant::now(), &mut room.presence());
                carry_out(&room, me, effects, outbox)?;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > limits.ping_every * 3 {
                    return Err(Close::new(1001, "no answer to pings"));
                }
                socket.send(Frame::Ping(Vec::new().into())).await.map_err(|_| gone())?;
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// One message through the core: a document request with the document locked (and any
/// update queued for the log under that lock, so the log keeps the order applied), the
/// rest with presence alone. The effects left for the socket and the room.
async fn handle(
    room: &Arc<Room>,
    session: &mut Session,
    bytes: &[u8],
    ends: &mpsc::Sender<Close>,
) -> Vec<Effect> {
    let now = Instant::now();
    match session.read(bytes, now) {
        Err(close) => vec![Effect::Close(close)],
        Ok(Read::Nothing) => Vec::new(),
        Ok(Read::Presence(request)) => session.on_presence(request, now, &mut room.presence()),
        Ok(Read::Document(request)) => {
            let mut document = room.document.lock().await;
            let names = |connection, writer| Author::of(&room.presence(), connection, writer);
            let effects = session.on_document(request, &mut document, names);
            let mut rest = Vec::with_capacity(effects.len());
            for effect in effects {
                let Effect::Log { update, author } = effect else {
                    rest.push(effect);
                    continue;
                };
                let unlogged = Unlogged {
                    update,
                    author,
                    role: session.role(),
                    from: session.connection(),
                    ends: ends.clone(),
                    restored_to: None,
                    seq: None,
                };
                room.queue_log(unlogged).await;
            }
            rest
        }
    }
}

/// Carries out what is left of a message's effects after `handle`.
fn carry_out<W: Wire>(
    room: &Arc<Room>,
    me: u64,
    effects: Vec<Effect>,
    outbox: &Outbox<W>,
) -> Result<(), Close> {
    let metrics = &room.context.metrics;
    for effect in effects {
        match effect {
            Effect::Reply(bytes) => send(outbox, &bytes, metrics)?,
            Effect::Share(update) => room.share(me, update),
            Effect::Refused => {
                metrics.refused_updates.fetch_add(1, Ordering::Relaxed);
            }
            Effect::Close(close) => return Err(close),
            Effect::Log { .. } => {} // queued by `handle`
        }
    }
    Ok(())
}

/// A connection's place in a room; dropping it is leaving (its people go with it).
struct Seat {
    room: Arc<Room>,
    session: Session,
    guest: Guest,
    /// Counted in the hub's open connections.
    counted: bool,
}

impl Seat {
    /// A seat for `guest`, if the room and the guest's address have one; the room tells
    /// `ends` when the connection is to close.
    fn take(
        room: &Arc<Room>,
        guest: Guest,
        outbox: Arc<dyn Deliver>,
        ends: mpsc::Sender<Close>,
    ) -> Result<Seat, Close> {
        let limits = &room.context.limits;
        let open_seats = limits
            .connections_per_room
            .saturating_sub(limits.reserved_seats);
        if !room.context.enter_from(guest.address) {
            return Err(Close::new(1008, "too many connections from your address"));
        }
        let taken = room.connections.fetch_add(1, Ordering::SeqCst);
        let open = if guest.reserved() {
            0
        } else {
            room.open_connections.fetch_add(1, Ordering::SeqCst) + 1
        };
        let me = room.next_connection.fetch_add(1, Ordering::Relaxed);
        let session = Session::new(me, guest.role, limits.session.clone(), Instant::now());
        room.seat(me, (guest.role, guest.linked), outbox, ends);
        // From here on, dropping the seat gives everything back.
        let mut seat = Seat {
            room: Arc::clone(room),
            session,
            guest,
            counted: false,
        };
        if taken >= limits.connections_per_room || open > open_seats {
            return Err(Close::new(
                1013,
                "this picture has as many viewers as it takes; try again later",
            ));
        }
        room.context
            .metrics
            .connections
            .fetch_add(1, Ordering::Relaxed);
        seat.counted = true;
        Ok(seat)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let room = &self.room;
        let removal = self.session.leave(&mut room.presence());
        if let Some(removal) = removal {
            room.share(self.session.connection(), removal);
        }
        room.unseat(self.session.connection());
        room.context.leave_from(self.guest.address);
        if self.counted {
            room.context
                .metrics
                .connections
                .fetch_sub(1, Ordering::Relaxed);
        }
        if !self.guest.reserved() {
            room.open_connections.fetch_sub(1, Ordering::SeqCst);
        }
        if room.connections.fetch_sub(1, Ordering::SeqCst) == 1 {
            Arc::clone(room).unload_when_idle();
        }
    }
}

/// The socket went away.
fn gone() -> Close {
    Close::new(1006, "")
}

/// The reader fell too far behind what the room sends.
fn lagging() -> Close {
    Close::new(
        1013,
        "the connection fell too far behind; reconnect to resync",
    )
}

/// Sends the message `bytes` to this connection alone.
fn send<W: Wire>(
    outbox: &Outbox<W>,
    bytes: &[u8],
    metrics: &super::HubMetrics,
) -> Result<(), Close> {
    metrics.messages_out.fetch_add(1, Ordering::Relaxed);
    metrics
        .bytes_out
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    if outbox.push(binary_frame(bytes)) {
        Ok(())
    } else if outbox.lagging() {
        Err(lagging())
    } else {
        Err(gone())
    }
}

/// Sends a close frame; the reason is cut to what a control frame holds (123 bytes).
pub async fn close<S>(socket: &mut S, code: u16, reason: &str)
where
    S: Sink<Frame> + Unpin,
{
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let _ = socket
        .send(Frame::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(&reason[..end]),
        })))
        .await;
}
