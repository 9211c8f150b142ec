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

mod room;

pub use room::{close, HubLimits, Peer};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::store::{MetaStore, StoreError};

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
    /// Updates refused (roles, limits).
    pub refused_updates: AtomicU64,
}

/// All rooms of this node.
#[derive(Clone)]
pub struct Hub {
    rooms: Arc<Mutex<HashMap<String, Arc<Room>>>>,
    store: Arc<dyn MetaStore>,
    limits: HubLimits,
    node: Arc<str>,
    metrics: Arc<HubMetrics>,
}

impl Hub {
    /// A hub storing documents in `store`.
    pub fn new(store: Arc<dyn MetaStore>, limits: HubLimits) -> Self {
        Hub {
            rooms: Arc::default(),
            store,
            limits,
            node: format!("node-{}", crate::auth::new_id()).into(),
            metrics: Arc::default(),
        }
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
            }
        }
    }

    /// Writes a snapshot of every loaded room (graceful shutdown).
    pub async fn flush(&self) {
        let rooms: Vec<Arc<Room>> = self
            .rooms
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        for room in rooms {
            room.snapshot().await;
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn MetaStore> {
        &self.store
    }

    pub(crate) fn counters(&self) -> &Arc<HubMetrics> {
        &self.metrics
    }
}

fn poisoned() -> StoreError {
    StoreError::Database("the room table lock was poisoned".into())
}
