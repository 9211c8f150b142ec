//! The collaboration hub: one Yjs document per picture, spoken to over WebSockets in the
//! y-websocket protocol (sync step 1/2, update, awareness, query-awareness; one message
//! per frame), so stock `WebsocketProvider` clients work unchanged.
//!
//! A room is loaded on its first connection (latest snapshot, then the logged updates
//! after it) and unloaded after it has been idle a while, with a final snapshot. Every
//! accepted update is appended to the update log (with time, author, role and node)
//! before it is fanned out, so an edit anyone has seen is stored. Roles are enforced
//! here: `view` may only send awareness, `comment` may change only `comments`; a refused
//! update is not applied, not logged, not fanned out, and its sender gets an auth message.
//!
//! Rooms of the same picture on other server nodes hear each other through a `Relay`
//! (Redis pub/sub between nodes, in-process in embedded mode): updates and awareness are
//! published as they are accepted, and every few seconds (and on every (re)subscription)
//! each room publishes its state vector, so a node that missed something gets it back.

pub mod relay;
mod room;
pub use hugepic_hub_core::wire;

pub use relay::{LocalRelay, RedisRelay, Relay};
pub use room::{close, HubLimits};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::auth::Role;
use crate::store::{Author, MetaStore, StoreError};

use room::Room;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct HubMetrics {
    /// Open connections.
    pub connections: AtomicU64,
    /// Loaded rooms.
    pub rooms: AtomicU64,
    /// Messages received.
    pub messages_in: AtomicU64,
    /// Messages sent.
    pub messages_out: AtomicU64,
    /// Bytes received.
    pub bytes_in: AtomicU64,
    /// Bytes sent.
    pub bytes_out: AtomicU64,
    /// Updates refused (roles, limits).
    pub refused_updates: AtomicU64,
    /// State vectors published to other nodes (repair asks).
    pub repair_asks: AtomicU64,
    /// Repairs: diffs from another node that brought something this node lacked.
    pub repair_syncs: AtomicU64,
    /// Messages for other nodes dropped because the relay was full or away.
    pub relay_dropped: AtomicU64,
    /// Delay from a node publishing an update or awareness to another applying it.
    pub fanout_latency: Histogram,
}

/// Upper bounds (seconds) of the fan-out latency buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A Prometheus histogram with fixed buckets (`LATENCY_BUCKETS`).
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The text exposition of the histogram `name`.
    pub fn render(&self, name: &str, help: &str) -> String {
        use std::fmt::Write;
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

/// All rooms of this node.
#[derive(Clone)]
pub struct Hub {
    rooms: Arc<Mutex<HashMap<String, Arc<Room>>>>,
    store: Arc<dyn MetaStore>,
    limits: HubLimits,
    node: Arc<str>,
    node_id: u64,
    relay: Arc<dyn Relay>,
    metrics: Arc<HubMetrics>,
    /// Applied updates of every room, for the log writer (`room::write_log`).
    log: tokio::sync::mpsc::UnboundedSender<(Arc<Room>, room::Unlogged)>,
    /// Told the picture each time updates of it are logged (the history indexer).
    logged: Arc<OnceLock<tokio::sync::mpsc::UnboundedSender<String>>>,
}

impl Hub {
    /// A hub storing documents in `store`, reaching other nodes through `relay`. Starts
    /// its log writer (call it inside the Tokio runtime).
    pub fn new(store: Arc<dyn MetaStore>, limits: HubLimits, relay: Arc<dyn Relay>) -> Self {
        let node_id = rand::random::<u64>();
        let (log, queue) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(room::write_log(Arc::clone(&store), queue));
        Hub {
            rooms: Arc::default(),
            store,
            limits,
            node: format!("node-{node_id:016x}").into(),
            node_id,
            relay,
            metrics: Arc::default(),
            log,
            logged: Arc::default(),
        }
    }

    /// Names each picture on `listener` whenever updates of it are logged (set once).
    pub fn tell_logged_to(&self, listener: tokio::sync::mpsc::UnboundedSender<String>) {
        let _ = self.logged.set(listener);
    }

    pub(crate) fn tell_logged(&self, picture_id: &str) {
        if let Some(listener) = self.logged.get() {
            let _ = listener.send(picture_id.to_string());
        }
    }

    /// Makes a change to a picture's document on the server's behalf (a restore): the
    /// room is loaded if it is not; `edit` makes the change in a transaction of its own
    /// on the live document and returns that transaction's update, or `None` for no
    /// change. The update is logged and delivered like any client's; its seq.
    pub async fn change(
        &self,
        picture_id: &str,
        author: Author,
        role: Role,
        restored_to: Option<i64>,
        edit: impl FnOnce(&yrs::Doc) -> Option<Vec<u8>>,
    ) -> Result<Option<i64>, StoreError> {
        let room = self.room(picture_id).await?;
        Ok(room.change(author, role, restored_to, edit).await)
    }

    /// The hub's counters.
    pub fn metrics(&self) -> &HubMetrics {
        &self.metrics
    }

    /// This node's name in the update log.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The limits connections are held to.
    pub fn limits(&self) -> &HubLimits {
        &self.limits
    }

    /// The room of `picture_id`, loading it if it is not loaded.
    pub(crate) async fn room(&self, picture_id: &str) -> Result<Arc<Room>, StoreError> {
        if let Some(room) = self.loaded(picture_id) {
            return Ok(room);
        }
        let stored = self.store.load_document(picture_id).await?;
        let (inbox, inbound) = tokio::sync::mpsc::channel(relay::INBOX);
        let loaded = Arc::new(Room::load(picture_id, stored, self.clone()));
        let room = {
            let mut rooms = self.rooms.lock().map_err(|_| poisoned())?;
            Arc::clone(
                rooms
                    .entry(picture_id.to_string())
                    .or_insert_with(|| Arc::clone(&loaded)),
            )
        };
        if Arc::ptr_eq(&room, &loaded) {
            self.metrics.rooms.fetch_add(1, Ordering::Relaxed);
            room.start_sweeper();
            // Joined after loading: what was published in between, the repair brings.
            self.relay.join(picture_id, inbox);
            room.start_relay(inbound);
        }
        Ok(room)
    }

    fn loaded(&self, picture_id: &str) -> Option<Arc<Room>> {
        self.rooms.lock().ok()?.get(picture_id).cloned()
    }

    /// Forgets `room` if it is still the loaded one for its picture.
    pub(crate) fn unload(&self, room: &Arc<Room>) {
        if let Ok(mut rooms) = self.rooms.lock() {
            if rooms.get(room.id()).is_some_and(|r| Arc::ptr_eq(r, room)) {
                rooms.remove(room.id());
                self.metrics.rooms.fetch_sub(1, Ordering::Relaxed);
                self.relay.leave(room.id());
            }
        }
    }

    /// Logs what every loaded room applied and writes its snapshot (graceful shutdown).
    pub async fn flush(&self) {
        let rooms: Vec<Arc<Room>> = self
            .rooms
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        for room in rooms {
            room.drain().await;
            room.snapshot().await;
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn MetaStore> {
        &self.store
    }

    pub(crate) fn counters(&self) -> &Arc<HubMetrics> {
        &self.metrics
    }

    pub(crate) fn node_id(&self) -> u64 {
        self.node_id
    }

    /// How this hub reaches other nodes.
    pub fn relay(&self) -> &Arc<dyn Relay> {
        &self.relay
    }
}

fn poisoned() -> StoreError {
    StoreError::Database("the room table lock was poisoned".into())
}
