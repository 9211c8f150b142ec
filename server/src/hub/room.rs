//! One picture's room: its document, the awareness of the people in it, and the
//! connections, each served by `Room::serve` until it closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as Frame, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use tokio::sync::{broadcast, mpsc, Mutex};
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update};

use hugepic_hub_core::limits::TokenBucket;
use hugepic_hub_core::presence::{only_taken, withhold_tour, Presence, REMOTE};
use hugepic_hub_core::roles::only_comments;
use hugepic_hub_core::wire::{
    decode_client, delete_digest, has_gap, straddles, Body, ClientMessage, Envelope,
};

use super::relay::Inbound;
use super::Hub;
use crate::auth::Role;
use crate::store::{Author, MetaStore, NewUpdate, StoredDocument};

/// What connections and rooms are held to.
#[derive(Debug, Clone)]
pub struct HubLimits {
    /// Largest WebSocket message accepted, bytes.
    pub max_message_bytes: usize,
    /// Largest document (its encoded state plus what was added since), bytes.
    pub max_document_bytes: usize,
    /// Document updates one connection may send per second, sustained.
    pub updates_per_second: u32,
    /// Short bursts above that rate.
    pub update_burst: u32,
    /// Connections one room takes.
    pub connections_per_room: usize,
    /// A room with nobody in it is unloaded after this.
    pub idle_unload: Duration,
    /// A snapshot is written after this many updates.
    pub snapshot_every: u32,
    /// Awareness of a client silent this long is removed.
    pub awareness_timeout: Duration,
    /// Messages queued for one connection before it counts as too slow.
    pub send_queue: usize,
    /// Ping interval.
    pub ping_every: Duration,
    /// Each room publishes its state vector to the other nodes this often.
    pub repair_every: Duration,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            max_message_bytes: 1 << 20,
            max_document_bytes: 32 << 20,
            updates_per_second: 60,
            update_burst: 300,
            connections_per_room: 500,
            idle_unload: Duration::from_secs(60),
            snapshot_every: 500,
            awareness_timeout: Duration::from_secs(30),
            send_queue: 512,
            ping_every: Duration::from_secs(20),
            repair_every: Duration::from_secs(3),
        }
    }
}

/// Messages written to a connection before one flush.
const WRITE_BATCH: usize = 64;

/// Updates logged in one transaction at most.
const LOG_BATCH: usize = 1024;

/// A message for everyone in the room but its sender.
#[derive(Debug, Clone)]
struct Outgoing {
    from: u64,
    bytes: Bytes,
}

struct State {
    doc: Doc,
    since_snapshot: u32,
    document_bytes: usize,
}

/// A document update a room has applied, on its way to the log; it is sent on to the
/// room's connections and to other nodes once it is logged (`write_log`).
pub(super) struct Unlogged {
    update: Vec<u8>,
    author: Author,
    role: Role,
    /// The connection it came from (`REMOTE` for changes the server made), told if it
    /// cannot be stored.
    from: u64,
    ends: mpsc::Sender<Close>,
    /// Set when the update is a restore: the seq it went back to.
    restored_to: Option<i64>,
    /// Told the update's seq once it is logged (`None` if it could not be).
    seq: Option<tokio::sync::oneshot::Sender<Option<i64>>>,
}

/// One picture's document and the people looking at it.
pub struct Room {
    id: String,
    state: Mutex<State>,
    presence: std::sync::Mutex<Presence>,
    tx: broadcast::Sender<Outgoing>,
    /// Updates applied and not logged yet.
    unlogged: AtomicUsize,
    /// Held while a snapshot is written.
    snapshotting: Mutex<()>,
    /// When this room last asked other nodes for a repair (microseconds since 1970).
    asked_at: AtomicU64,
    connections: AtomicUsize,
    next_connection: AtomicU64,
    hub: Hub,
}

/// Why a connection ends: a WebSocket close code and a reason a person can read.
pub(super) struct Close(u16, String);

/// What became of a document update.
enum Applied {
    /// Applied (or nothing new); logged and sent on by the log writer.
    Done,
    /// Not applied: it does not continue the document; the client gets the document's
    /// state vector and sends what is missing from there.
    Resync(StateVector),
    /// Not applied, for this reason (role, size).
    Refused(String),
}

impl Room {
    /// The room of `picture_id` from what is stored.
    pub(super) fn load(picture_id: &str, stored: StoredDocument, hub: Hub) -> Room {
        let doc = Doc::new();
        let mut document_bytes = 0;
        {
            let mut txn = doc.transact_mut();
            let parts = stored
                .snapshot
                .iter()
                .map(|(state, seq)| (*seq, state))
                .chain(stored.updates.iter().map(|(seq, u)| (*seq, u)));
            for (seq, bytes) in parts {
                match Update::decode_v1(bytes).map(|u| txn.apply_update(u)) {
                    Ok(Ok(())) => {}
                    _ => tracing::error!(
                        picture = picture_id,
                        seq,
                        "a stored update does not decode; skipped"
                    ),
                }
                document_bytes += bytes.len();
            }
        }
        let (tx, _) = broadcast::channel(hub.limits.send_queue);
        Room {
            id: picture_id.to_string(),
            state: Mutex::new(State {
                doc,
                since_snapshot: stored.updates.len() as u32,
                document_bytes,
            }),
            presence: std::sync::Mutex::default(),
            tx,
            unlogged: AtomicUsize::new(0),
            snapshotting: Mutex::new(()),
            asked_at: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            next_connection: AtomicU64::new(1),
            hub,
        }
    }

    /// The picture.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Removes silent peers every few seconds while the room is loaded.
    pub(super) fn start_sweeper(self: &Arc<Self>) {
        let room = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let Some(room) = room.upgrade() else { return };
                let timeout = room.hub.limits.awareness_timeout;
                let removal = {
                    let mut state = room.presence();
                    let silent = state.silent(timeout, Instant::now());
                    state.remove(&silent)
                };
                if let Some(removal) = removal {
                    room.fan_out(0, removal.clone());
                    room.publish(Body::Awareness(removal));
                }
            }
        });
    }

    fn fan_out(&self, from: u64, bytes: Vec<u8>) {
        let _ = self.tx.send(Outgoing {
            from,
            bytes: Bytes::from(bytes),
        });
    }

    /// Writes a snapshot of the document as it is now. The snapshot says it covers
    /// the log up to a sequence number, and other nodes write to the same log: so the
    /// log is read first and whatever this room missed of it is merged in (and passed
    /// on to this node's connections) before the state is encoded.
    /// Whether the document is stored (by this snapshot or an earlier one).
    pub async fn snapshot(&self) -> bool {
        let _one_at_a_time = self.snapshotting.lock().await;
        if self.state.lock().await.since_snapshot == 0 {
            return true;
        }
        let stored = match self.hub.store().load_document(&self.id).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(picture = %self.id, error = %e, "could not read the log for a snapshot");
                return false;
            }
        };
        let (state, seq) = {
            let mut state = self.state.lock().await;
            state.since_snapshot = 0;
            let mut upto = 0;
            let missed = {
                let mut txn = state.doc.transact_mut();
                let before = txn.state_vector();
                let parts = stored
                    .snapshot
                    .iter()
                    .map(|(bytes, seq)| (*seq, bytes))
                    .chain(stored.updates.iter().map(|(seq, bytes)| (*seq, bytes)));
                for (seq, bytes) in parts {
                    upto = upto.max(seq);
                    if let Ok(update) = Update::decode_v1(bytes) {
                        let _ = txn.apply_update(update);
                    }
                }
                (txn.state_vector() != before).then(|| txn.encode_diff_v1(&before))
            };
            let bytes = state
                .doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            state.document_bytes = bytes.len();
            if let Some(missed) = missed {
                self.hub
                    .counters()
                    .repair_syncs
                    .fetch_add(1, Ordering::Relaxed);
                self.fan_out(
                    REMOTE,
                    Message::Sync(SyncMessage::Update(missed)).encode_v1(),
                );
            }
            (bytes, upto)
        };
        match self.hub.store().save_snapshot(&self.id, &state, seq).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(picture = %self.id, error = %e, "could not write a snapshot");
                self.state.lock().await.since_snapshot += 1;
                false
            }
        }
    }

    /// Waits (a few seconds at most) until every applied update is logged.
    pub async fn drain(&self) {
        let until = Instant::now() + Duration::from_secs(5);
        while self.unlogged.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Unloads the room (with a snapshot) if nobody is in it after `idle_unload`.
    pub(super) fn unload_when_idle(self: Arc<Self>) {
        tokio::spawn(async move {
            tokio::time::sleep(self.hub.limits.idle_unload).await;
            if self.connections.load(Ordering::SeqCst) == 0 {
                self.drain().await;
                self.snapshot().await;
                self.hub.unload(&self);
            }
        });
    }

    /// A change the server makes to the document (a restore): `edit` makes it in a
    /// transaction of its own and returns the transaction's update, or `None` if it
    /// changed nothing. The update is logged and sent to everyone, on every node, like a
    /// client's; its seq once logged (`None` if nothing changed). An empty room is
    /// unloaded again after a while.
    pub(super) async fn change(
        self: &Arc<Self>,
        author: Author,
        role: Role,
        restored_to: Option<i64>,
        edit: impl FnOnce(&Doc) -> Option<Vec<u8>>,
    ) -> Option<i64> {
        let (told, seq) = tokio::sync::oneshot::channel();
        {
            let mut state = self.state.lock().await;
            // A restore's edit rebuilds thousands of shapes: the runtime's other tasks
            // (every connection's fan-out) move to another thread meanwhile.
            let update = match tokio::runtime::Handle::current().runtime_flavor() {
                tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| edit(&state.doc))
                }
                _ => edit(&state.doc),
            }?;
            state.document_bytes += update.len();
            state.since_snapshot += 1;
            self.unlogged.fetch_add(1, Ordering::SeqCst);
            // Nobody to close if it cannot be stored: the caller hears `None`.
            let (ends, _) = mpsc::channel(1);
            let unlogged = Unlogged {
                update,
                author,
                role,
                from: REMOTE,
                ends,
                restored_to,
                seq: Some(told),
            };
            if self.hub.log.send((Arc::clone(self), unlogged)).is_err() {
                self.unlogged.fetch_sub(1, Ordering::SeqCst);
                return None;
            }
        }
        if self.connections.load(Ordering::SeqCst) == 0 {
            Arc::clone(self).unload_when_idle();
        }
        seq.await.ok().flatten()
    }

    /// Sends on an update that is logged (or could not be, after retries).
    fn logged(&self, update: Vec<u8>, from: u64) {
        self.fan_out(
            from,
            Message::Sync(SyncMessage::Update(update.clone())).encode_v1(),
        );
        self.publish(Body::Update(update));
        self.unlogged.fetch_sub(1, Ordering::SeqCst);
    }

    /// Serves one WebSocket connection with `role` until it closes.
    pub async fn serve(self: Arc<Self>, mut socket: WebSocket, role: Role) {
        let limits = self.hub.limits.clone();
        if self.connections.fetch_add(1, Ordering::SeqCst) >= limits.connections_per_room {
            self.connections.fetch_sub(1, Ordering::SeqCst);
            close(
                &mut socket,
                1013,
                "this picture has as many viewers as it takes; try again later",
            )
            .await;
            return;
        }
        self.hub
            .counters()
            .connections
            .fetch_add(1, Ordering::Relaxed);
        let me = self.next_connection.fetch_add(1, Ordering::Relaxed);
        // Leaving is done when the seat is dropped, also if serving panics.
        let _seat = Seat {
            room: Arc::clone(&self),
            connection: me,
        };
        let mut rx = self.tx.subscribe();
        let ended = self.run(&mut socket, &mut rx, me, role).await;
        if let Err(Close(code, reason)) = ended {
            close(&mut socket, code, &reason).await;
        }
    }

    async fn run(
        self: &Arc<Self>,
        socket: &mut WebSocket,
        rx: &mut broadcast::Receiver<Outgoing>,
        me: u64,
        role: Role,
    ) -> Result<(), Close> {
        // The server's side of the handshake: its state vector, and who is here.
        let step1 = {
            let state = self.state.lock().await;
            let sv = state.doc.transact().state_vector();
            Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()
        };
        let present = {
            let state = self.presence();
            state.message(&state.clients())
        };
        send(socket, step1).await?;
        if let Some(present) = present {
            send(socket, present).await?;
        }
        let limits = self.hub.limits.clone();
        let mut bucket = TokenBucket::new(
            limits.updates_per_second,
            limits.update_burst,
            Instant::now(),
        );
        let mut ping = tokio::time::interval(limits.ping_every);
        ping.tick().await;
        let mut last_heard = Instant::now();
        let metrics = Arc::clone(self.hub.counters());
        let (ends, mut ended) = mpsc::channel(1);
        loop {
            tokio::select! {
                Some(close) = ended.recv() => return Err(close),
                incoming = socket.recv() => {
                    let frame = match incoming {
                        None | Some(Err(_)) => return Ok(()),
                        Some(Ok(frame)) => frame,
                    };
                    last_heard = Instant::now();
                    match frame {
                        Frame::Binary(bytes) => {
                            metrics.messages_in.fetch_add(1, Ordering::Relaxed);
                            metrics.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                            for reply in self.handle(&bytes, me, role, &mut bucket, &ends).await? {
                                metrics.messages_out.fetch_add(1, Ordering::Relaxed);
                                metrics.bytes_out.fetch_add(reply.len() as u64, Ordering::Relaxed);
                                send(socket, reply).await?;
                            }
                        }
                        Frame::Text(_) => {
                            return Err(Close(1003, "this endpoint speaks the binary y-websocket protocol".into()))
                        }
                        Frame::Close(_) => return Ok(()),
                        Frame::Ping(_) | Frame::Pong(_) => {}
                    }
                }
                outgoing = rx.recv() => {
                    // What else is already waiting goes out in the same write.
                    let mut next = Some(outgoing);
                    let mut queued = 0;
                    while let Some(outgoing) = next.take() {
                        match outgoing {
                            Ok(message) if message.from != me => {
                                metrics.messages_out.fetch_add(1, Ordering::Relaxed);
                                metrics.bytes_out.fetch_add(message.bytes.len() as u64, Ordering::Relaxed);
                                socket.feed(Frame::Binary(message.bytes)).await.map_err(|_| Close(1006, String::new()))?;
                                queued += 1;
                            }
                            Ok(_) => {}
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                return Err(Close(1013, "the connection fell too far behind; reconnect to resync".into()))
                            }
                            Err(broadcast::error::RecvError::Closed) => return Ok(()),
                        }
                        if queued < WRITE_BATCH {
                            next = match rx.try_recv() {
                                Ok(message) => Some(Ok(message)),
                                Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Err(broadcast::error::RecvError::Lagged(n))),
                                Err(_) => None,
                            };
                        }
                    }
                    if queued > 0 {
                        socket.flush().await.map_err(|_| Close(1006, String::new()))?;
                    }
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > limits.ping_every * 3 {
                        return Err(Close(1001, "no answer to pings".into()));
                    }
                    socket.send(Frame::Ping(Vec::new().into())).await.map_err(|_| Close(1006, String::new()))?;
                }
            }
        }
    }

    /// One message from a client: the replies to send it.
    async fn handle(
        self: &Arc<Self>,
        bytes: &[u8],
        me: u64,
        role: Role,
        bucket: &mut TokenBucket,
        ends: &mpsc::Sender<Close>,
    ) -> Result<Vec<Vec<u8>>, Close> {
        let message = decode_client(bytes).map_err(|e| Close(1003, e.0))?;
        match message {
            ClientMessage::SyncStep1(sv) => {
                let state = self.state.lock().await;
                let diff = state.doc.transact().encode_diff_v1(&sv);
                Ok(vec![Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1()])
            }
            ClientMessage::Update { bytes, update } => {
                if !bucket.take(Instant::now()) {
                    return Err(Close(
                        1008,
                        "too many updates; slow down and reconnect".into(),
                    ));
                }
                match self.apply(bytes, update, me, role, ends).await? {
                    Applied::Done => Ok(Vec::new()),
                    Applied::Resync(sv) => {
                        Ok(vec![Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()])
                    }
                    Applied::Refused(reason) => {
                        self.hub
                            .counters()
                            .refused_updates
                            .fetch_add(1, Ordering::Relaxed);
                        Ok(vec![Message::Auth(Some(reason)).encode_v1()])
                    }
                }
            }
            ClientMessage::Awareness(mut update) => {
                // Only the owner leads tours (others' maps follow a `tour`).
                let withheld = role != Role::Owner && withhold_tour(&mut update);
                let taken = self.presence().merge(&update, me, Instant::now());
                if taken.is_empty() {
                    return Ok(Vec::new()); // nothing new (an echo of someone's state)
                }
                let bytes = only_taken(update, &taken, bytes, withheld);
                self.fan_out(me, bytes.clone());
                self.publish(Body::Awareness(bytes));
                Ok(Vec::new())
            }
            ClientMessage::AwarenessQuery => {
                let state = self.presence();
                Ok(state.message(&state.clients()).into_iter().collect())
            }
            ClientMessage::Ignored => Ok(Vec::new()),
        }
    }

    /// Applies a document update and queues it for the log writer, which sends it on.
    async fn apply(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        update: Update,
        me: u64,
        role: Role,
        ends: &mpsc::Sender<Close>,
    ) -> Result<Applied, Close> {
        let mut state = self.state.lock().await;
        let sv = state.doc.transact().state_vector();
        // An update that brings nothing the document lacks is not a write, whoever sends
        // it: a stock client's sync step 2 on connecting (empty, or the deletions the
        // server has) must not count as a refused change of a view link, nor be logged.
        let brings_blocks = update.insertions(true).iter().any(|(client, ranges)| {
            let have = sv.get(client);
            ranges.iter().any(|r| r.end > have)
        });
        if !brings_blocks
            && (update.delete_set().is_empty()
                || update
                    .delete_set()
                    .diff(&state.doc.transact().snapshot().delete_set)
                    .is_empty())
        {
            return Ok(Applied::Done);
        }
        if role == Role::View {
            return Ok(Applied::Refused(
                "this link is view-only: your changes are not saved or shared".into(),
            ));
        }
        // Blocks that do not continue what the document has of a client are not
        // integrated (yrs mishandles them; see `straddles` and `has_gap`): the client
        // gets the document's state vector instead and sends what is missing from there.
        if straddles(&update, &sv) || has_gap(&update, &sv) {
            return Ok(Applied::Resync(sv));
        }
        if state.document_bytes + bytes.len() > self.hub.limits.max_document_bytes {
            return Ok(Applied::Refused(format!(
                "this picture's annotations reached the limit of {} MiB",
                self.hub.limits.max_document_bytes >> 20
            )));
        }
        if role == Role::Comment && !only_comments(&state.doc, &bytes) {
            return Ok(Applied::Refused(
                "this link allows comments only: drawing is not saved or shared".into(),
            ));
        }
        // Whose document wrote it: a stock client's awareness has the same client id.
        let writer = update
            .insertions(true)
            .iter()
            .next()
            .map(|(client, _)| *client);
        let (applied, failed) = {
            let mut txn = state.doc.transact_mut();
            let before = txn.state_vector();
            let deletes = !update.delete_set().is_empty();
            match txn.apply_update(update) {
                Ok(()) => (
                    (deletes || txn.state_vector() != before).then_some(bytes),
                    None,
                ),
                // yrs can fail half-way: what it did apply is logged and sent on like
                // any update, so that every node and the log hold the same document.
                Err(e) => (
                    (txn.state_vector() != before).then(|| txn.encode_diff_v1(&before)),
                    Some(e),
                ),
            }
        };
        if let Some(update) = applied {
            state.document_bytes += update.len();
            state.since_snapshot += 1;
            let author = author_of(&self.presence(), me, writer);
            self.unlogged.fetch_add(1, Ordering::SeqCst);
            // Queued under the document's lock: the log has updates in the order applied.
            let unlogged = Unlogged {
                update,
                author,
                role,
                from: me,
                ends: ends.clone(),
                restored_to: None,
                seq: None,
            };
            let queued = self.hub.log.send((Arc::clone(self), unlogged));
            if queued.is_err() {
                self.unlogged.fetch_sub(1, Ordering::SeqCst);
            }
        }
        match failed {
            None => Ok(Applied::Done),
            Some(e) => Err(Close(1003, format!("the update does not apply: {e}"))),
        }
    }
}

/// A connection's place in a room; dropping it is leaving (its people go with it).
struct Seat {
    room: Arc<Room>,
    connection: u64,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let room = &self.room;
        let removal = {
            let mut state = room.presence();
            let mine = state.of_connection(self.connection);
            state.remove(&mine)
        };
        if let Some(removal) = removal {
            room.fan_out(self.connection, removal.clone());
            room.publish(Body::Awareness(removal));
        }
        room.hub
            .counters()
            .connections
            .fetch_sub(1, Ordering::Relaxed);
        if room.connections.fetch_sub(1, Ordering::SeqCst) == 1 {
            Arc::clone(room).unload_when_idle();
        }
    }
}

/// Between nodes: what a room publishes and what it does with what others publish.
impl Room {
    /// Who is in the room (a short lock, never held across an await).
    fn presence(&self) -> std::sync::MutexGuard<'_, Presence> {
        self.presence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands `body` to the relay for the same room on other nodes.
    fn publish(&self, body: Body) {
        let envelope = Envelope {
            node: self.hub.node_id(),
            sent_micros: now_micros(),
            body,
        };
        if self.hub.relay().publish(&self.id, envelope).is_err() {
            self.hub
                .counters()
                .relay_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Publishes this room's state vector and a digest of its deletions, so other
    /// nodes send what it lacks; `hello` asks for their awareness too.
    async fn ask(&self, hello: bool, answer: bool) {
        let (state_vector, deletes) = {
            let state = self.state.lock().await;
            let txn = state.doc.transact();
            (
                txn.state_vector().encode_v1(),
                delete_digest(&txn.snapshot().delete_set),
            )
        };
        self.hub
            .counters()
            .repair_asks
            .fetch_add(1, Ordering::Relaxed);
        self.publish(Body::Ask {
            state_vector,
            deletes,
            hello,
            answer,
        });
    }

    /// Listens to the room's channel while the room is loaded, and asks for repairs on
    /// joining, on every resubscription and every `repair_every`.
    pub(super) fn start_relay(self: &Arc<Self>, mut inbound: mpsc::Receiver<Inbound>) {
        let room = Arc::downgrade(self);
        let every = self.hub.limits.repair_every;
        tokio::spawn(async move {
            if let Some(room) = room.upgrade() {
                room.ask(true, false).await;
            }
            let mut repair = tokio::time::interval(every);
            repair.tick().await;
            loop {
                tokio::select! {
                    message = inbound.recv() => {
                        let Some(message) = message else { return };
                        let Some(room) = room.upgrade() else { return };
                        match message {
                            Inbound::Envelope(envelope) => room.on_envelope(envelope).await,
                            Inbound::Resubscribed => room.ask(true, false).await,
                        }
                    }
                    _ = repair.tick() => {
                        let Some(room) = room.upgrade() else { return };
                        room.ask(false, false).await;
                    }
                }
            }
        });
    }

    /// A message from the same room on another node.
    async fn on_envelope(&self, envelope: Envelope) {
        if envelope.node == self.hub.node_id() {
            return; // our own, back from the channel
        }
        let metrics = Arc::clone(self.hub.counters());
        let latency = || now_micros().saturating_sub(envelope.sent_micros) as f64 / 1e6;
        match envelope.body {
            Body::Update(bytes) => {
                metrics.fanout_latency.observe(latency());
                self.merge_remote(&bytes).await;
            }
            Body::Diff { to, update } => {
                if to == self.hub.node_id() && self.merge_remote(&update).await {
                    metrics.repair_syncs.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(picture = %self.id, "repaired from another node");
                }
            }
            Body::Awareness(bytes) => {
                metrics.fanout_latency.observe(latency());
                let Ok(Message::Awareness(update)) = Message::decode_v1(&bytes) else {
                    return;
                };
                let taken = self.presence().merge(&update, REMOTE, Instant::now());
                if !taken.is_empty() {
                    self.fan_out(REMOTE, only_taken(update, &taken, &bytes, false));
                }
            }
            Body::Ask {
                state_vector,
                deletes,
                hello,
                answer,
            } => {
                let Ok(theirs) = StateVector::decode_v1(&state_vector) else {
                    return;
                };
                let (diff, ask_back) = {
                    let state = self.state.lock().await;
                    let txn = state.doc.transact();
                    let ours = txn.state_vector();
                    let same_deletes = delete_digest(&txn.snapshot().delete_set) == deletes;
                    let they_lack = ours.iter().any(|(c, clock)| theirs.get(c) < *clock);
                    let we_lack = theirs.iter().any(|(c, clock)| ours.get(c) < *clock);
                    let diff = (they_lack || !same_deletes).then(|| txn.encode_diff_v1(&theirs));
                    (diff, (we_lack || !same_deletes) && !answer)
                };
                let present = if hello {
                    let state = self.presence();
                    state.message(&state.local())
                } else {
                    None
                };
                if let Some(update) = diff {
                    self.publish(Body::Diff {
                        to: envelope.node,
                        update,
                    });
                }
                if ask_back {
                    self.ask(false, true).await;
                }
                if let Some(present) = present {
                    self.publish(Body::Awareness(present));
                }
            }
        }
    }

    /// Applies an update another node accepted (and logged) and passes it on to this
    /// node's connections; whether it brought anything new. One that does not continue
    /// the document (a message in between was lost) is left to a repair, asked for now.
    async fn merge_remote(&self, bytes: &[u8]) -> bool {
        let Ok(update) = Update::decode_v1(bytes) else {
            tracing::warn!(picture = %self.id, "an update from another node does not decode");
            return false;
        };
        let mut state = self.state.lock().await;
        let sv = state.doc.transact().state_vector();
        if straddles(&update, &sv) || has_gap(&update, &sv) {
            drop(state);
            self.ask_soon().await;
            return false;
        }
        let changed = {
            let mut txn = state.doc.transact_mut();
            let deletes = !update.delete_set().is_empty();
            if let Err(e) = txn.apply_update(update) {
                tracing::warn!(picture = %self.id, error = %e, "an update from another node does not apply");
            }
            deletes || txn.state_vector() != sv
        };
        if changed {
            state.document_bytes += bytes.len();
            drop(state);
            self.fan_out(
                REMOTE,
                Message::Sync(SyncMessage::Update(bytes.to_vec())).encode_v1(),
            );
        }
        changed
    }

    /// Asks for a repair unless this room asked within the last 100 ms.
    async fn ask_soon(&self) {
        let now = now_micros();
        let last = self.asked_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) > 100_000
            && self
                .asked_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.ask(false, false).await;
        }
    }
}

/// Logs what rooms applied, in batches: everything that arrived (from every room) while
/// the last batch was written goes in one transaction. Only then is it sent on, so an
/// update anyone has seen is in the log; the connections that sent it go on meanwhile.
pub(super) async fn write_log(
    store: Arc<dyn MetaStore>,
    mut queue: mpsc::UnboundedReceiver<(Arc<Room>, Unlogged)>,
) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, LOG_BATCH).await > 0 {
        let rows: Vec<NewUpdate> = batch
            .iter()
            .map(|(room, u)| NewUpdate {
                picture_id: &room.id,
                update: &u.update,
                author: &u.author,
                role: u.role.as_str(),
                node: room.hub.node(),
                restored_to: u.restored_to,
            })
            .collect();
        let mut logged = store.append_updates(&rows).await;
        for wait in [50, 250, 1000] {
            let Err(e) = &logged else { break };
            tracing::warn!(error = %e, "could not log updates; retrying");
            tokio::time::sleep(Duration::from_millis(wait)).await;
            logged = store.append_updates(&rows).await;
        }
        drop(rows);
        if let Err(e) = &logged {
            tracing::error!(error = %e, updates = batch.len(), "could not log updates");
        }
        // The documents have them either way: everyone gets them.
        // Keyed by address: the rooms of this batch, and who sent to each.
        let mut rooms: HashMap<usize, (Arc<Room>, Vec<mpsc::Sender<Close>>)> = HashMap::new();
        let seqs = logged.as_ref().map(Vec::as_slice).unwrap_or_default();
        for (i, (room, mut u)) in batch.drain(..).enumerate() {
            if let Some(told) = u.seq.take() {
                let _ = told.send(seqs.get(i).copied());
            }
            room.logged(u.update, u.from);
            let senders = &mut rooms
                .entry(Arc::as_ptr(&room) as usize)
                .or_insert((room, Vec::new()))
                .1;
            senders.push(u.ends);
        }
        for (room, ends) in rooms.into_values() {
            if logged.is_err() {
                if !room.snapshot().await {
                    // Neither in the log nor in a snapshot: a restart would lose them.
                    for end in ends {
                        let _ = end.try_send(Close(
                            1011,
                            "the server could not store your change; reconnect to send it again"
                                .into(),
                        ));
                    }
                }
            } else {
                room.hub.tell_logged(&room.id);
                if room.state.lock().await.since_snapshot >= room.hub.limits.snapshot_every {
                    tokio::spawn(async move { room.snapshot().await });
                }
            }
        }
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Who the sender says it is in its awareness (`user: {id, name, color}`): the state of
/// the client id that wrote the update, else the one its connection sent, else the
/// connection. There are no accounts: this is a pseudonym, not an identity.
fn author_of(state: &Presence, me: u64, writer: Option<ClientID>) -> Author {
    let user = state.user(me, writer);
    let field = |key: &str, limit: usize| {
        user[key]
            .as_str()
            .map(|s| s.chars().take(limit).collect::<String>())
    };
    Author {
        id: field("id", 64).unwrap_or_default(),
        name: field("name", 100).unwrap_or_else(|| format!("connection {me}")),
        color: field("color", 32).unwrap_or_default(),
    }
}

async fn send(socket: &mut WebSocket, bytes: Vec<u8>) -> Result<(), Close> {
    socket
        .send(Frame::Binary(bytes.into()))
        .await
        .map_err(|_| Close(1006, String::new()))
}

/// Sends a close frame; the reason is cut to what a control frame holds (123 bytes).
pub async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let _ = socket
        .send(Frame::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from(&reason[..end]),
        })))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
    use yrs::{Map, MapPrelim};

    fn update_of(doc: &Doc, change: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        let before = doc.transact().state_vector();
        change(&mut doc.transact_mut());
        doc.transact().encode_diff_v1(&before)
    }

    /// Whether `room`'s `shapes` has `key`.
    async fn has_shape(room: &Room, key: &str) -> bool {
        let state = room.state.lock().await;
        let shapes = state.doc.get_or_insert_map("shapes");
        let txn = state.doc.transact();
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

    #[tokio::test]
    async fn nodes_repair_dropped_updates_and_deletions_by_comparing_state() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn crate::store::MetaStore> = Arc::new(
            crate::store::SqliteStore::open(&dir.path().join("hub.sqlite"))
                .await
                .expect("store"),
        );
        let relay = Arc::new(super::super::LocalRelay::default());
        let limits = HubLimits {
            repair_every: Duration::from_millis(50),
            ..HubLimits::default()
        };
        let one = Hub::new(Arc::clone(&store), limits.clone(), relay.clone());
        let two = Hub::new(store, limits, relay);
        let a = one.room("p").await.expect("room on one");
        let b = two.room("p").await.expect("room on two");

        // A change reaches node one, but what it published is lost.
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let added = update_of(&client, |txn| {
            shapes.insert(txn, "s1", MapPrelim::from([("type", "marker")]));
            shapes.insert(txn, "s2", MapPrelim::from([("type", "circle")]));
        });
        assert!(a.merge_remote(&added).await);
        assert!(!has_shape(&b, "s1").await);
        eventually("node two to get the lost shapes", async || {
            has_shape(&b, "s1").await
        })
        .await;
        let repaired = two.metrics().repair_syncs.load(Ordering::Relaxed);
        assert!(repaired >= 1);

        // A deletion moves no state vector; the delete digest finds it.
        let deleted = update_of(&client, |txn| {
            shapes.remove(txn, "s2");
        });
        assert!(a.merge_remote(&deleted).await);
        eventually("node two to lose the deleted shape", async || {
            !has_shape(&b, "s2").await
        })
        .await;
        assert!(has_shape(&b, "s1").await);
        assert!(two.metrics().repair_syncs.load(Ordering::Relaxed) > repaired);
    }

    async fn hub_on_sqlite(dir: &tempfile::TempDir) -> Hub {
        let store = crate::store::SqliteStore::with_test_picture(dir.path()).await;
        let relay = Arc::new(super::super::LocalRelay::default());
        Hub::new(store, HubLimits::default(), relay)
    }

    #[tokio::test]
    async fn updates_are_logged_in_order_before_anyone_sees_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = hub_on_sqlite(&dir).await;
        let room = hub.room("p").await.expect("room");
        let mut others = room.tx.subscribe();
        let (ends, _ended) = mpsc::channel(1);
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let mut sent = Vec::new();
        for i in 0..40 {
            let bytes = update_of(&client, |txn| {
                shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
            });
            let update = Update::decode_v1(&bytes).expect("decodes");
            let applied = room
                .apply(bytes.clone(), update, 1, Role::Edit, &ends)
                .await;
            assert!(matches!(applied, Ok(Applied::Done)));
            sent.push(bytes);
        }
        for (i, bytes) in sent.iter().enumerate() {
            let seen = tokio::time::timeout(Duration::from_secs(5), others.recv())
                .await
                .expect("sent on")
                .expect("received");
            assert_eq!(
                &seen.bytes[..],
                &Message::Sync(SyncMessage::Update(bytes.clone())).encode_v1()[..]
            );
            let logged = hub.store().load_document("p").await.expect("log").updates;
            assert!(
                logged.len() > i,
                "update {i} was sent on before it was logged"
            );
            assert_eq!(&logged[i].1, bytes, "the log keeps the order applied");
        }
        assert_eq!(room.unlogged.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn an_update_is_written_by_whoever_its_awareness_names() {
        let entry = |json: &str| AwarenessUpdateEntry {
            clock: 1,
            json: json.into(),
        };
        let (bo_id, cy_id) = (ClientID::new(20), ClientID::new(30));
        let long = "x".repeat(500);
        let mut presence = Presence::default();
        presence.merge(
            &AwarenessUpdate {
                clients: HashMap::from([
                    (
                        bo_id,
                        entry(r##"{"user":{"id":"b2","name":"Bo","color":"#3f51b5"}}"##),
                    ),
                    (
                        cy_id,
                        entry(&format!(r#"{{"user":{{"id":"{long}","name":"{long}"}}}}"#)),
                    ),
                ]),
            },
            2,
            Instant::now(),
        );
        let bo = author_of(&presence, 2, Some(bo_id));
        assert_eq!(
            (bo.id.as_str(), bo.name.as_str(), bo.color.as_str()),
            ("b2", "Bo", "#3f51b5")
        );
        let cy = author_of(&presence, 2, Some(cy_id));
        assert_eq!(
            (cy.id.chars().count(), cy.name.chars().count()),
            (64, 100),
            "cut to size"
        );
        assert_eq!(author_of(&presence, 7, None).name, "connection 7");
    }

    #[tokio::test]
    async fn updates_that_bring_nothing_are_not_writes_even_from_a_view_link() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = hub_on_sqlite(&dir).await;
        let room = hub.room("p").await.expect("room");
        let (ends, _ended) = mpsc::channel(1);
        let editor = Doc::new();
        let shapes = editor.get_or_insert_map("shapes");
        let add = update_of(&editor, |txn| {
            shapes.insert(txn, "a", MapPrelim::from([("type", "marker")]));
            shapes.insert(txn, "b", MapPrelim::from([("type", "marker")]));
        });
        let delete = update_of(&editor, |txn| {
            shapes.remove(txn, "b");
        });
        for bytes in [&add, &delete] {
            let update = Update::decode_v1(bytes).expect("decodes");
            let applied = room
                .apply(bytes.clone(), update, 1, Role::Edit, &ends)
                .await;
            assert!(matches!(applied, Ok(Applied::Done)));
        }
        room.drain().await;
        // A viewer's sync step 2: empty on a first visit; on a reconnect, what it got
        // from the server (blocks and deletions the document has).
        let empty = Doc::new()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let known = editor
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        for bytes in [empty, known] {
            let update = Update::decode_v1(&bytes).expect("decodes");
            let applied = room
                .apply(bytes.clone(), update, 2, Role::View, &ends)
                .await;
            assert!(
                matches!(applied, Ok(Applied::Done)),
                "a no-op is not refused"
            );
        }
        // A viewer deleting something is still refused.
        let viewer = Doc::new();
        {
            let mut txn = viewer.transact_mut();
            txn.apply_update(Update::decode_v1(&add).expect("decodes"))
                .expect("applies");
        }
        let vshapes = viewer.get_or_insert_map("shapes");
        let forced = update_of(&viewer, |txn| {
            vshapes.remove(txn, "a");
        });
        let update = Update::decode_v1(&forced).expect("decodes");
        let applied = room
            .apply(forced.clone(), update, 2, Role::View, &ends)
            .await;
        assert!(matches!(applied, Ok(Applied::Refused(_))));
        let logged = hub.store().load_document("p").await.expect("log").updates;
        assert_eq!(logged.len(), 2, "only the editor's two updates are logged");
    }

    #[tokio::test]
    async fn an_update_that_does_not_continue_the_document_gets_its_state_vector() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = hub_on_sqlite(&dir).await;
        let room = hub.room("p").await.expect("room");
        let (ends, _ended) = mpsc::channel(1);
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let first = update_of(&client, |txn| {
            shapes.insert(txn, "a", MapPrelim::from([("type", "marker")]));
        });
        let second = update_of(&client, |txn| {
            shapes.insert(txn, "b", MapPrelim::from([("type", "marker")]));
        });
        let apply = async |bytes: &Vec<u8>| {
            let update = Update::decode_v1(bytes).expect("decodes");
            room.apply(bytes.clone(), update, 1, Role::Edit, &ends)
                .await
        };
        // The second alone leaves a gap: the client is told where the document is.
        match apply(&second).await {
            Ok(Applied::Resync(sv)) => assert_eq!(sv.get(&client.client_id()), 0),
            _ => panic!("a gap is not integrated"),
        }
        assert!(!has_shape(&room, "b").await);
        assert!(matches!(apply(&first).await, Ok(Applied::Done)));
        assert!(matches!(apply(&second).await, Ok(Applied::Done)));
        assert!(has_shape(&room, "a").await && has_shape(&room, "b").await);
        // A view connection changes nothing.
        let third = update_of(&client, |txn| {
            shapes.insert(txn, "c", MapPrelim::from([("type", "marker")]));
        });
        let update = Update::decode_v1(&third).expect("decodes");
        let refused = room.apply(third, update, 2, Role::View, &ends).await;
        assert!(matches!(refused, Ok(Applied::Refused(_))));
        assert!(!has_shape(&room, "c").await);
    }
}
