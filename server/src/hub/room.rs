//! One picture's room: its document and the awareness of the people in it behind their
//! locks, the channel its connections hear from, snapshots, and server-made changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use hugepic_hub_core::presence::REMOTE;
use hugepic_hub_core::wire::Body;
use hugepic_hub_core::{Close, Document, Outbound, Presence, Tick};
use tokio::sync::{mpsc, Mutex};
use yrs::sync::awareness::AwarenessUpdate;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::Doc;

use super::closing::Closing;
use super::log::Unlogged;
use super::outbox::{binary_frame, Deliver};
use super::{Context, RoomTable};
use crate::auth::Role;
use crate::store::{Author, StoredDocument};

/// The room's connections, as fan-outs see them (copied on each seat and unseat, so a
/// fan-out holds no lock while it writes).
type Listeners = Arc<[(u64, Arc<dyn Deliver>)]>;

/// One picture's document and the people looking at it.
pub struct Room {
    pub(super) id: String,
    pub(super) document: Mutex<Document>,
    presence: std::sync::Mutex<Presence>,
    /// Awareness taken since the last tick.
    outbound: std::sync::Mutex<Outbound>,
    /// The connections seated here, to tell when they are to close.
    seated: std::sync::Mutex<HashMap<u64, Seated>>,
    /// The same connections, to send to.
    listeners: std::sync::RwLock<Listeners>,
    /// Set once the picture is deleted: nothing more is stored.
    deleted: AtomicBool,
    /// Updates applied and not logged yet.
    pub(super) unlogged: AtomicUsize,
    /// Held while a snapshot is written.
    snapshotting: Mutex<()>,
    /// When this room last asked other nodes for a repair (microseconds since 1970).
    pub(super) asked_at: AtomicU64,
    pub(super) connections: AtomicUsize,
    /// Connections that are not on reserved seats.
    pub(super) open_connections: AtomicUsize,
    pub(super) next_connection: AtomicU64,
    pub(super) context: Arc<Context>,
    rooms: Weak<RoomTable>,
}

impl Room {
    /// The room of `picture_id` from what is stored.
    pub(super) fn load(
        picture_id: &str,
        stored: StoredDocument,
        context: Arc<Context>,
        rooms: Weak<RoomTable>,
    ) -> Room {
        let (document, skipped) = stored.open();
        for seq in skipped {
            tracing::error!(
                picture = picture_id,
                seq,
                "a stored update does not decode; skipped"
            );
            crate::metrics::failed(crate::metrics::Failure::StoredUpdate);
        }
        Room {
            id: picture_id.to_string(),
            document: Mutex::new(document),
            presence: std::sync::Mutex::default(),
            outbound: std::sync::Mutex::default(),
            seated: std::sync::Mutex::default(),
            listeners: std::sync::RwLock::new(Arc::new([])),
            deleted: AtomicBool::new(false),
            unlogged: AtomicUsize::new(0),
            snapshotting: Mutex::new(()),
            asked_at: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            open_connections: AtomicUsize::new(0),
            next_connection: AtomicU64::new(1),
            context,
            rooms,
        }
    }

    /// Who is in the room (a short lock, never held across an await).
    pub(super) fn presence(&self) -> std::sync::MutexGuard<'_, Presence> {
        self.presence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes silent peers every few seconds while the room is loaded.
    pub(super) fn start_sweeper(self: &Arc<Self>) {
        let room = Arc::downgrade(self);
        let shutdown = self.context.shutdown.clone();
        self.context.spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                let Some(room) = room.upgrade() else { return };
                let timeout = room.context.limits.awareness_timeout;
                let removal = {
                    let mut presence = room.presence();
                    let silent = presence.silent(timeout, Instant::now());
                    presence.remove(&silent)
                };
                if let Some(removal) = removal {
                    room.share(REMOTE, removal);
                }
            }
        });
    }

    /// Sends the message `bytes` to every connection of the room but `from`'s, as one
    /// frame encoded once, written to each socket here and now (`outbox`).
    pub(super) fn fan_out(&self, from: u64, bytes: &[u8]) {
        let frame = binary_frame(bytes);
        let listeners = Arc::clone(
            &self
                .listeners
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut sent = 0u64;
        for (connection, outbox) in listeners.iter() {
            if *connection != from && outbox.deliver(&frame) {
                sent += 1;
            }
        }
        let metrics = &self.context.metrics;
        metrics.messages_out.fetch_add(sent, Ordering::Relaxed);
        metrics
            .bytes_out
            .fetch_add(sent * bytes.len() as u64, Ordering::Relaxed);
    }

    /// Passes awareness states taken from connection `from` (`REMOTE`: made here) on to
    /// the room's connections and to the room on other nodes, with the next tick.
    pub(super) fn share(self: &Arc<Self>, from: u64, update: AwarenessUpdate) {
        self.gather(update, from, true);
    }

    /// Passes awareness states from other nodes on to this node's connections.
    pub(super) fn share_remote(self: &Arc<Self>, update: AwarenessUpdate) {
        self.gather(update, REMOTE, false);
    }

    fn gather(self: &Arc<Self>, update: AwarenessUpdate, from: u64, publish: bool) {
        if self.context.limits.awareness_tick.is_zero() {
            let mut now = Outbound::default();
            now.gather(update, from, publish);
            self.send_tick(now.take());
            return;
        }
        let first = self
            .outbound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .gather(update, from, publish);
        if first {
            self.context.ticks.want(self);
        }
    }

    /// Sends what awareness was gathered since the last tick, as one message.
    pub(super) fn tick(&self) {
        let tick = self
            .outbound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        self.send_tick(tick);
    }

    fn send_tick(&self, tick: Option<Tick>) {
        let Some(tick) = tick else { return };
        // A tick whose states all came from one connection is not sent back to it.
        self.fan_out(tick.only_from.unwrap_or(REMOTE), &tick.message);
        if let Some(publish) = tick.publish {
            self.publish(Body::Awareness(publish));
        }
    }

    /// Queues an applied update for the log writer. Called with the document locked, so
    /// the log has updates in the order applied; waits while the log's queue is full.
    pub(super) async fn queue_log(self: &Arc<Self>, unlogged: Unlogged) -> bool {
        self.unlogged.fetch_add(1, Ordering::SeqCst);
        if self
            .context
            .log
            .send((Arc::clone(self), unlogged))
            .await
            .is_err()
        {
            self.unlogged.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Sends on an update that is logged (or could not be, after retries).
    pub(super) fn logged(&self, update: Vec<u8>, from: u64) {
        self.fan_out(
            from,
            &Message::Sync(SyncMessage::Update(update.clone())).encode_v1(),
        );
        self.publish(Body::Update(update));
        self.unlogged.fetch_sub(1, Ordering::SeqCst);
    }

    /// Writes a snapshot of the document as it is now. The snapshot says it covers
    /// the log up to a sequence number, and other nodes write to the same log: so the
    /// log is read first and whatever this room missed of it is merged in (and passed
    /// on to this node's connections) before the state is encoded.
    /// Whether the document is stored (by this snapshot or an earlier one).
    pub async fn snapshot(&self) -> bool {
        if self.deleted.load(Ordering::SeqCst) {
            return true; // nothing to keep
        }
        let _one_at_a_time = self.snapshotting.lock().await;
        if self.document.lock().await.since_snapshot == 0 {
            return true;
        }
        let stored = match self.context.store.load_document(&self.id).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(picture = %self.id, error = %e, "could not read the log for a snapshot");
                self.context
                    .metrics
                    .snapshots_failed
                    .fetch_add(1, Ordering::Relaxed);
                return false;
            }
        };
        let (state, seq) = {
            let mut document = self.document.lock().await;
            let snapshot = stored
                .snapshot
                .as_ref()
                .map(|(s, seq)| (*seq, s.as_slice()));
            let updates = stored.updates.iter().map(|(seq, u)| (*seq, u.as_slice()));
            let (upto, missed) = document.merge_log(snapshot.into_iter().chain(updates));
            if let Some(missed) = missed {
                self.context
                    .metrics
                    .repair_syncs
                    .fetch_add(1, Ordering::Relaxed);
                self.fan_out(
                    REMOTE,
                    &Message::Sync(SyncMessage::Update(missed)).encode_v1(),
                );
            }
            (document.encode(), upto)
        };
        match self
            .context
            .store
            .save_snapshot(&self.id, &state, seq)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(picture = %self.id, error = %e, "could not write a snapshot");
                self.context
                    .metrics
                    .snapshots_failed
                    .fetch_add(1, Ordering::Relaxed);
                self.document.lock().await.since_snapshot += 1;
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
        let context = Arc::clone(&self.context);
        context.spawn(async move {
            tokio::select! {
                _ = self.context.shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.context.limits.idle_unload) => {}
            }
            if self.connections.load(Ordering::SeqCst) == 0 {
                self.drain().await;
                self.snapshot().await;
                self.unload();
            }
        });
    }

    /// Notes connection `connection` (with `role`, joined with a link or not), sent
    /// what the room sends through `outbox` and told on `ends` when it is to close.
    pub(super) fn seat(
        &self,
        connection: u64,
        (role, linked): (Role, bool),
        outbox: Arc<dyn Deliver>,
        ends: mpsc::Sender<Close>,
    ) {
        let mut seats = self.seats();
        let seated = Seated {
            role,
            linked,
            outbox,
            ends,
        };
        seats.insert(connection, seated);
        self.list(&seats);
    }

    /// Forgets connection `connection`.
    pub(super) fn unseat(&self, connection: u64) {
        let mut seats = self.seats();
        seats.remove(&connection);
        self.list(&seats);
    }

    /// Copies the seated connections for fan-outs.
    fn list(&self, seats: &HashMap<u64, Seated>) {
        let listeners: Listeners = seats
            .iter()
            .map(|(id, seated)| (*id, Arc::clone(&seated.outbox)))
            .collect();
        *self
            .listeners
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = listeners;
    }

    fn seats(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Seated>> {
        self.seated
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Closes the connections that `which` names, with `close`. When the picture is
    /// gone (`which.deleted`), the room is unloaded at once, with nothing stored.
    pub(super) fn close_connections(self: &Arc<Self>, which: Closing, close: Close) {
        for seated in self.seats().values() {
            if which.applies(seated.role, seated.linked) {
                let _ = seated.ends.try_send(close.clone());
            }
        }
        if which.deleted {
            self.deleted.store(true, Ordering::SeqCst);
            self.unload();
        }
    }

    /// Forgets this room if it is still the loaded one for its picture.
    fn unload(self: &Arc<Self>) {
        let Some(rooms) = self.rooms.upgrade() else {
            return;
        };
        let Ok(mut rooms) = rooms.lock() else { return };
        if rooms.get(&self.id).is_some_and(|r| Arc::ptr_eq(r, self)) {
            rooms.remove(&self.id);
            self.context.metrics.rooms.fetch_sub(1, Ordering::Relaxed);
            self.context.relay.leave(&self.id);
        }
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
        edit: impl FnOnce(&Doc, usize) -> Option<Vec<u8>>,
    ) -> Option<i64> {
        let (told, seq) = tokio::sync::oneshot::channel();
        {
            let mut document = self.document.lock().await;
            // A restore's edit rebuilds thousands of shapes: the runtime's other tasks
            // (every connection's fan-out) move to another thread meanwhile.
            let update = match tokio::runtime::Handle::current().runtime_flavor() {
                tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(|| document.change(edit))
                }
                _ => document.change(edit),
            }?;
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
            if !self.queue_log(unlogged).await {
                return None;
            }
        }
        if self.connections.load(Ordering::SeqCst) == 0 {
            Arc::clone(self).unload_when_idle();
        }
        seq.await.ok().flatten()
    }

    /// Reads the live document.
    pub(super) async fn read<T>(&self, read: impl FnOnce(&Doc) -> T) -> T {
        read(self.document.lock().await.doc())
    }

    /// Hands `body` to the relay for the same room on other nodes.
    pub(super) fn publish(&self, body: Body) {
        let envelope = hugepic_hub_core::wire::Envelope {
            node: self.context.node_id,
            sent_micros: now_micros(),
            body,
        };
        if self.context.relay.publish(&self.id, envelope).is_err() {
            self.context
                .metrics
                .relay_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A connection, as the room knows it.
struct Seated {
    role: Role,
    linked: bool,
    outbox: Arc<dyn Deliver>,
    ends: mpsc::Sender<Close>,
}

/// Microseconds since 1970.
pub(super) fn now_micros() -> u64 {
    u64::try_from(crate::store::times::now_micros()).unwrap_or(0)
}
