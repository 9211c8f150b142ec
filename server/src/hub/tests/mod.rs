//! The shell driven without sockets or a database: connections over channels, documents
//! in memory.

use std::convert::Infallible;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, Map, MapPrelim, ReadTxn, StateVector, Transact};

use super::outbox::{Deliver, Outbox, Wire};
use super::room::Room;
use super::{Hub, HubLimits, LocalRelay};
use crate::auth::Role;
use crate::store::MemoryDocStore;

/// A connection's two ends as channels: what the test sends arrives as frames, what
/// the hub writes comes out.
struct Duplex {
    incoming: mpsc::UnboundedReceiver<Frame>,
    outgoing: mpsc::UnboundedSender<Frame>,
}

impl Stream for Duplex {
    type Item = Result<Frame, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

impl Sink<Frame> for Duplex {
    type Error = mpsc::error::SendError<Frame>;

    fn poll_ready(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, frame: Frame) -> Result<(), Self::Error> {
        self.outgoing.send(frame)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

/// The outbox's writes as frames on the same channel, every byte taken at once (so
/// every write holds whole frames).
struct ChannelWire(mpsc::UnboundedSender<Frame>);

impl Wire for ChannelWire {
    fn try_write(&self, bytes: &[IoSlice<'_>]) -> io::Result<usize> {
        let all: Vec<u8> = bytes
            .iter()
            .flat_map(|slice| slice.iter().copied())
            .collect();
        for payload in payloads(&all) {
            let _ = self.0.send(Frame::Binary(payload.into()));
        }
        Ok(all.len())
    }

    async fn writable(&self) -> io::Result<()> {
        Ok(())
    }
}

/// The payloads of the whole binary frames in `bytes`.
fn payloads(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    while let [first, second, more @ ..] = bytes {
        assert_eq!(*first, 0x82, "the hub sends binary frames");
        let (len, header) = match second {
            126 => (usize::from(u16::from_be_bytes([more[0], more[1]])), 4),
            127 => {
                let mut len = [0; 8];
                len.copy_from_slice(&more[..8]);
                (usize::try_from(u64::from_be_bytes(len)).expect("fits"), 10)
            }
            short => (usize::from(*short), 2),
        };
        payloads.push(bytes[header..header + len].to_vec());
        bytes = &bytes[header + len..];
    }
    payloads
}

/// Hears what a room sends its connections, seated like one.
struct Watcher(mpsc::UnboundedSender<Vec<u8>>);

impl Deliver for Watcher {
    fn deliver(&self, frame: &Bytes) -> bool {
        payloads(frame)
            .into_iter()
            .all(|payload| self.0.send(payload).is_ok())
    }
}

/// The messages `room` sends from now on.
fn watch(room: &Room) -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ends, _) = mpsc::channel(1);
    let id = u64::MAX - room.next_connection.fetch_add(1, Ordering::Relaxed);
    room.seat(id, (Role::View, false), Arc::new(Watcher(tx)), ends);
    rx
}

/// The test's side of a connection.
struct Client {
    to_hub: Option<mpsc::UnboundedSender<Frame>>,
    from_hub: mpsc::UnboundedReceiver<Frame>,
}

impl Client {
    /// Connects to `room` with `role`, as if with a link.
    fn join(room: &Arc<Room>, role: Role) -> Client {
        let guest = super::Guest {
            role,
            linked: true,
            address: None,
        };
        Client::join_as(room, guest)
    }

    /// Connects to `room` as `guest`.
    fn join_as(room: &Arc<Room>, guest: super::Guest) -> Client {
        let (to_hub, incoming) = mpsc::unbounded_channel();
        let (outgoing, from_hub) = mpsc::unbounded_channel();
        let outbox = Outbox::new(
            ChannelWire(outgoing.clone()),
            room.context.limits.send_queue,
        );
        let duplex = Duplex { incoming, outgoing };
        tokio::spawn(super::connection::serve(
            Arc::clone(room),
            duplex,
            Arc::new(outbox),
            guest,
        ));
        Client {
            to_hub: Some(to_hub),
            from_hub,
        }
    }

    fn send(&self, bytes: Vec<u8>) {
        if let Some(to_hub) = &self.to_hub {
            let _ = to_hub.send(Frame::Binary(bytes.into()));
        }
    }

    /// The next frame from the hub.
    async fn next(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(5), self.from_hub.recv())
            .await
            .expect("a frame within 5 s")
            .expect("the connection is open")
    }

    /// The next binary message, decoded.
    async fn message(&mut self) -> Message {
        loop {
            match self.next().await {
                Frame::Binary(bytes) => return Message::decode_v1(&bytes).expect("decodes"),
                Frame::Ping(_) => continue,
                other => panic!("a message, not {other:?}"),
            }
        }
    }
}

fn update_of(doc: &Doc, change: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
    let before = doc.transact().state_vector();
    change(&mut doc.transact_mut());
    doc.transact().encode_diff_v1(&before)
}

fn awareness(client: ClientID, clock: u32, json: &str) -> Vec<u8> {
    let entry = AwarenessUpdateEntry {
        clock,
        json: json.into(),
    };
    Message::Awareness(AwarenessUpdate {
        clients: [(client, entry)].into(),
    })
    .encode_v1()
}

/// A hub on documents in memory, with picture "p".
fn hub_in_memory(limits: HubLimits) -> (Hub, Arc<MemoryDocStore>) {
    let store = Arc::new(MemoryDocStore::with_pictures(["p"]));
    let hub = Hub::new(store.clone(), limits, Arc::new(LocalRelay::default()));
    (hub, store)
}

/// Whether `room`'s `shapes` has `key`.
async fn has_shape(room: &Room, key: &str) -> bool {
    let document = room.document.lock().await;
    let shapes = document.doc().get_or_insert_map("shapes");
    let txn = document.doc().transact();
    shapes.get(&txn, key).is_some()
}

async fn eventually(what: &str, check: impl AsyncFn() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits for the close frame, skipping what comes before it.
async fn closed_with(client: &mut Client) -> u16 {
    loop {
        if let Frame::Close(close) = client.next().await {
            return close.map_or(0, |c| u16::from(c.code));
        }
    }
}

mod connections;
mod nodes;
