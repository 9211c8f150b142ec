//! One picture's room: its document, the awareness of the people in it, and the
//! connections, each served by `Room::serve` until it closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as Frame, Utf8Bytes, WebSocket};
use tokio::sync::{broadcast, Mutex};
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::sync::{Message, SyncMessage};
use yrs::types::ToJson;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, ReadTxn, StateVector, Transact, Update};

use super::Hub;
use crate::auth::Role;
use crate::store::{NewUpdate, StoredDocument};

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
        }
    }
}

/// Someone's presence in a room.
#[derive(Debug, Clone)]
pub struct Peer {
    clock: u32,
    json: Arc<str>,
    connection: u64,
    seen: Instant,
}

/// A message for everyone in the room but its sender.
#[derive(Debug, Clone)]
struct Outgoing {
    from: u64,
    bytes: Arc<[u8]>,
}

struct State {
    doc: Doc,
    last_seq: i64,
    since_snapshot: u32,
    document_bytes: usize,
    awareness: HashMap<ClientID, Peer>,
}

/// One picture's document and the people looking at it.
pub struct Room {
    id: String,
    state: Mutex<State>,
    tx: broadcast::Sender<Outgoing>,
    connections: AtomicUsize,
    next_connection: std::sync::atomic::AtomicU64,
    hub: Hub,
}

/// Why a connection ends: a WebSocket close code and a reason a person can read.
struct Close(u16, String);

impl Room {
    /// The room of `picture_id` from what is stored.
    pub(super) fn load(picture_id: &str, stored: StoredDocument, hub: Hub) -> Room {
        let doc = Doc::new();
        let mut last_seq = 0;
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
                last_seq = last_seq.max(seq);
                document_bytes += bytes.len();
            }
        }
        let (tx, _) = broadcast::channel(hub.limits.send_queue);
        Room {
            id: picture_id.to_string(),
            state: Mutex::new(State {
                doc,
                last_seq,
                since_snapshot: stored.updates.len() as u32,
                document_bytes,
                awareness: HashMap::new(),
            }),
            tx,
            connections: AtomicUsize::new(0),
            next_connection: std::sync::atomic::AtomicU64::new(1),
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
                let mut state = room.state.lock().await;
                let silent: Vec<ClientID> = state
                    .awareness
                    .iter()
                    .filter(|(_, p)| p.seen.elapsed() > timeout)
                    .map(|(id, _)| *id)
                    .collect();
                if !silent.is_empty() {
                    let removal = remove_peers(&mut state, &silent);
                    drop(state);
                    room.fan_out(0, removal);
                }
            }
        });
    }

    fn fan_out(&self, from: u64, bytes: Vec<u8>) {
        let _ = self.tx.send(Outgoing {
            from,
            bytes: bytes.into(),
        });
    }

    /// Writes a snapshot of the document as it is now.
    pub async fn snapshot(&self) {
        let (state, seq) = {
            let mut state = self.state.lock().await;
            if state.since_snapshot == 0 {
                return;
            }
            state.since_snapshot = 0;
            let bytes = state
                .doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            state.document_bytes = bytes.len();
            (bytes, state.last_seq)
        };
        if let Err(e) = self.hub.store().save_snapshot(&self.id, &state, seq).await {
            tracing::error!(picture = %self.id, error = %e, "could not write a snapshot");
        }
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
        let metrics = Arc::clone(self.hub.counters());
        metrics.connections.fetch_add(1, Ordering::Relaxed);
        let me = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let mut rx = self.tx.subscribe();
        let ended = self.run(&mut socket, &mut rx, me, role).await;
        if let Err(Close(code, reason)) = ended {
            close(&mut socket, code, &reason).await;
        }
        // Its people leave with it.
        {
            let mut state = self.state.lock().await;
            let mine: Vec<ClientID> = state
                .awareness
                .iter()
                .filter(|(_, p)| p.connection == me)
                .map(|(id, _)| *id)
                .collect();
            if !mine.is_empty() {
                let removal = remove_peers(&mut state, &mine);
                drop(state);
                self.fan_out(me, removal);
            }
        }
        metrics.connections.fetch_sub(1, Ordering::Relaxed);
        if self.connections.fetch_sub(1, Ordering::SeqCst) == 1 {
            let room = Arc::clone(&self);
            tokio::spawn(async move {
                tokio::time::sleep(room.hub.limits.idle_unload).await;
                if room.connections.load(Ordering::SeqCst) == 0 {
                    room.snapshot().await;
                    room.hub.unload(&room);
                }
            });
        }
    }

    async fn run(
        &self,
        socket: &mut WebSocket,
        rx: &mut broadcast::Receiver<Outgoing>,
        me: u64,
        role: Role,
    ) -> Result<(), Close> {
        // The server's side of the handshake: its state vector, and who is here.
        let (step1, present) = {
            let state = self.state.lock().await;
            let sv = state.doc.transact().state_vector();
            (
                Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1(),
                awareness_of(&state, state.awareness.keys().copied()),
            )
        };
        send(socket, step1).await?;
        if let Some(present) = present {
            send(socket, present).await?;
        }
        let limits = self.hub.limits.clone();
        let mut bucket = TokenBucket::new(limits.updates_per_second, limits.update_burst);
        let mut ping = tokio::time::interval(limits.ping_every);
        ping.tick().await;
        let mut last_heard = Instant::now();
        let metrics = Arc::clone(self.hub.counters());
        loop {
            tokio::select! {
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
                            for reply in self.handle(&bytes, me, role, &mut bucket).await? {
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
                outgoing = rx.recv() => match outgoing {
                    Ok(message) if message.from != me => {
                        metrics.messages_out.fetch_add(1, Ordering::Relaxed);
                        send(socket, message.bytes.to_vec()).await?;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Err(Close(4408, "the connection fell too far behind; reconnect to resync".into()))
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > limits.ping_every * 3 {
                        return Err(Close(4408, "no answer to pings".into()));
                    }
                    socket.send(Frame::Ping(Vec::new().into())).await.map_err(|_| Close(1006, String::new()))?;
                }
            }
        }
    }

    /// One message from a client: the replies to send it.
    async fn handle(
        &self,
        bytes: &[u8],
        me: u64,
        role: Role,
        bucket: &mut TokenBucket,
    ) -> Result<Vec<Vec<u8>>, Close> {
        let message = Message::decode_v1(bytes)
            .map_err(|e| Close(1003, format!("malformed y-websocket message: {e}")))?;
        match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let state = self.state.lock().await;
                let diff = state.doc.transact().encode_diff_v1(&sv);
                Ok(vec![Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1()])
            }
            Message::Sync(SyncMessage::SyncStep2(update) | SyncMessage::Update(update)) => {
                if !bucket.take() {
                    return Err(Close(
                        1008,
                        "too many updates; slow down and reconnect".into(),
                    ));
                }
                match self.apply(&update, me, role).await? {
                    None => Ok(Vec::new()),
                    Some(reason) => {
                        self.hub
                            .counters()
                            .refused_updates
                            .fetch_add(1, Ordering::Relaxed);
                        Ok(vec![Message::Auth(Some(reason)).encode_v1()])
                    }
                }
            }
            Message::Awareness(update) => {
                let mut state = self.state.lock().await;
                for (client, entry) in &update.clients {
                    let owner = state.awareness.get(client).map(|p| p.connection);
                    if owner.is_some_and(|c| c != me) {
                        continue; // someone else's client id
                    }
                    let newer = state
                        .awareness
                        .get(client)
                        .is_none_or(|p| entry.clock >= p.clock);
                    if !newer {
                        continue;
                    }
                    if &*entry.json == "null" {
                        state.awareness.remove(client);
                    } else {
                        state.awareness.insert(
                            *client,
                            Peer {
                                clock: entry.clock,
                                json: Arc::clone(&entry.json),
                                connection: me,
                                seen: Instant::now(),
                            },
                        );
                    }
                }
                drop(state);
                self.fan_out(me, bytes.to_vec());
                Ok(Vec::new())
            }
            Message::AwarenessQuery => {
                let state = self.state.lock().await;
                Ok(awareness_of(&state, state.awareness.keys().copied())
                    .into_iter()
                    .collect())
            }
            Message::Auth(_) | Message::Custom(..) => Ok(Vec::new()),
        }
    }

    /// Applies, logs and fans out a document update; `Some(reason)` if it is refused.
    async fn apply(&self, bytes: &[u8], me: u64, role: Role) -> Result<Option<String>, Close> {
        if role == Role::View {
            return Ok(Some(
                "this link is view-only: your changes are not saved or shared".into(),
            ));
        }
        let update = Update::decode_v1(bytes)
            .map_err(|e| Close(1003, format!("malformed document update: {e}")))?;
        let mut state = self.state.lock().await;
        if state.document_bytes + bytes.len() > self.hub.limits.max_document_bytes {
            return Ok(Some(format!(
                "this picture's annotations reached the limit of {} MiB",
                self.hub.limits.max_document_bytes >> 20
            )));
        }
        if role == Role::Comment && !only_comments(&state.doc, bytes) {
            return Ok(Some(
                "this link allows comments only: drawing is not saved or shared".into(),
            ));
        }
        let changed = {
            let mut txn = state.doc.transact_mut();
            let before = txn.state_vector();
            let deletes = !update.delete_set().is_empty();
            txn.apply_update(update)
                .map_err(|e| Close(1003, format!("the update does not apply: {e}")))?;
            deletes || txn.state_vector() != before
        };
        if !changed {
            return Ok(None); // nothing new (a client resending what is known)
        }
        let author = author_of(&state, me);
        let logged = self
            .hub
            .store()
            .append_update(&NewUpdate {
                picture_id: &self.id,
                update: bytes,
                author: &author,
                role: role.as_str(),
                node: self.hub.node(),
            })
            .await;
        match logged {
            Ok(seq) => state.last_seq = state.last_seq.max(seq),
            Err(e) => {
                // Applied here but not stored: end the connection so the client resends.
                tracing::error!(picture = %self.id, error = %e, "could not log an update");
                return Err(Close(
                    1011,
                    "the server could not store your change; reconnecting will resend it".into(),
                ));
            }
        }
        state.document_bytes += bytes.len();
        state.since_snapshot += 1;
        let due = state.since_snapshot >= self.hub.limits.snapshot_every;
        drop(state);
        self.fan_out(
            me,
            Message::Sync(SyncMessage::Update(bytes.to_vec())).encode_v1(),
        );
        if due {
            self.snapshot().await;
        }
        Ok(None)
    }
}

/// Whether applying `update` to a copy of `doc` leaves every root but `comments` as it
/// was (and leaves nothing pending that could change them later).
fn only_comments(doc: &Doc, update: &[u8]) -> bool {
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let copy = Doc::new();
    // Roots arriving in updates have no type until asked for one; every root of the
    // document schema is a map, so each is read as one.
    // (Compared as values: map entries have no order.)
    let roots = |doc: &Doc| -> Vec<(String, yrs::Any)> {
        let names: Vec<String> = doc
            .transact()
            .root_refs()
            .map(|(name, _)| name.to_string())
            .filter(|name| name != "comments")
            .collect();
        let mut roots: Vec<(String, yrs::Any)> = names
            .into_iter()
            .map(|name| {
                let map = doc.get_or_insert_map(name.as_str());
                let json = map.to_json(&doc.transact());
                (name, json)
            })
            .collect();
        roots.sort_by(|a, b| a.0.cmp(&b.0));
        roots
    };
    {
        let mut txn = copy.transact_mut();
        match Update::decode_v1(&state).map(|u| txn.apply_update(u)) {
            Ok(Ok(())) => {}
            _ => return false,
        }
    }
    let before = roots(&copy);
    {
        let mut txn = copy.transact_mut();
        match Update::decode_v1(update).map(|u| txn.apply_update(u)) {
            Ok(Ok(())) => {}
            _ => return false,
        }
        if txn.has_missing_updates() {
            return false;
        }
    }
    roots(&copy) == before
}

/// The name the sender gave in its awareness, else its connection.
fn author_of(state: &State, me: u64) -> String {
    state
        .awareness
        .values()
        .find(|p| p.connection == me)
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.json).ok())
        .and_then(|v| v["user"]["name"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("connection {me}"))
}

/// An awareness message with the states of `clients`, if there are any.
fn awareness_of(state: &State, clients: impl Iterator<Item = ClientID>) -> Option<Vec<u8>> {
    let clients: HashMap<ClientID, AwarenessUpdateEntry> = clients
        .filter_map(|id| {
            state.awareness.get(&id).map(|p| {
                (
                    id,
                    AwarenessUpdateEntry {
                        clock: p.clock,
                        json: Arc::clone(&p.json),
                    },
                )
            })
        })
        .collect();
    (!clients.is_empty()).then(|| Message::Awareness(AwarenessUpdate { clients }).encode_v1())
}

/// Removes peers; the awareness message that tells the others.
fn remove_peers(state: &mut State, ids: &[ClientID]) -> Vec<u8> {
    let clients = ids
        .iter()
        .filter_map(|id| {
            state.awareness.remove(id).map(|p| {
                (
                    *id,
                    AwarenessUpdateEntry {
                        clock: p.clock + 1,
                        json: Arc::from("null"),
                    },
                )
            })
        })
        .collect();
    Message::Awareness(AwarenessUpdate { clients }).encode_v1()
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

/// Updates per second with bursts.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new(rate: u32, burst: u32) -> Self {
        TokenBucket {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Map, MapPrelim};

    fn update_of(doc: &Doc, change: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
        let before = doc.transact().state_vector();
        change(&mut doc.transact_mut());
        doc.transact().encode_diff_v1(&before)
    }

    #[test]
    fn comment_role_may_only_touch_comments() {
        let server = Doc::new();
        let client = Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let comments = client.get_or_insert_map("comments");
        let drawn = update_of(&client, |txn| {
            for i in 0..20 {
                shapes.insert(txn, format!("s{i}"), MapPrelim::from([("type", "marker")]));
            }
        });
        assert!(!only_comments(&server, &drawn), "a shape is not a comment");
        server
            .transact_mut()
            .apply_update(Update::decode_v1(&drawn).unwrap())
            .unwrap();
        let commented = update_of(&client, |txn| {
            comments.insert(txn, "t1", MapPrelim::from([("target", "s1")]));
        });
        assert!(only_comments(&server, &commented));
        let moved = update_of(&client, |txn| {
            shapes.remove(txn, "s1");
        });
        assert!(
            !only_comments(&server, &moved),
            "deleting a shape is drawing"
        );
    }

    #[test]
    fn bucket_allows_bursts_then_refuses() {
        let mut bucket = TokenBucket::new(1, 5);
        assert!((0..5).all(|_| bucket.take()));
        assert!(!bucket.take());
    }
}
