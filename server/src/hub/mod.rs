//! The collaboration hub: one Yjs document per picture, spoken to over WebSockets in the
//! y-websocket protocol (sync step 1/2, update, awareness, query-awareness; one message
//! per frame), so stock `WebsocketProvider` clients work unchanged.
//!
//! This is the shell around `hugepic_hub_core`, which holds every rule (what a role may
//! change, presence, limits, what each message does) without I/O. The shell owns the
//! sockets (`connection`), the rooms and their locks (`room`), the update log's writer
//! (`log`) and the other nodes (`nodes`, through a `Relay`). Its tasks run under the
//! hub's `TaskTracker` and end on its cancellation token.
//!
//! A room is loaded on its first connection (latest snapshot, then the logged updates
//! after it) and unloaded after it has been idle a while, with a final snapshot. Every
//! accepted update is appended to the update log (with time, author, role and node)
//! before it is fanned out, so an edit anyone has seen is stored.
//!
//! Rooms of the same picture on other server nodes hear each other through a `Relay`
//! (Redis pub/sub between nodes, in-process in embedded mode): updates and awareness are
//! published as they are accepted, and every few seconds (and on every (re)subscription)
//! each room publishes its state vector, so a node that missed something gets it back.

mod closing;
mod connection;
mod limits;
mod log;
mod metrics;
mod nodes;
mod outbox;
pub mod relay;
mod room;
pub mod socket;
#[cfg(test)]
mod tests;
pub use hugepic_hub_core::wire;

pub use connection::close;
pub(crate) use connection::Guest;
pub use limits::HubLimits;
pub use metrics::{Histogram, HubMetrics, LATENCY_BUCKETS};
pub use relay::{LocalRelay, RedisRelay, Relay};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Role;
use crate::store::{Author, DocStore, StoreError};

use closing::Closing;
use hugepic_hub_core::Close;
use room::Room;

/// Applied updates waiting for the log writer, from every room, before rooms wait
/// (back-pressure on the senders, not memory growth).
const LOG_QUEUE: usize = 4096;

/// The loaded rooms, by picture.
type RoomTable = Mutex<HashMap<String, Arc<Room>>>;

/// How long a closing connection's last frames may take to be written.
const FINISH_WITHIN: Duration = Duration::from_secs(2);

/// The rooms with awareness to send at the next tick.
#[derive(Default)]
struct Ticks {
    rooms: Mutex<Vec<Weak<Room>>>,
    wake: tokio::sync::Notify,
}

impl Ticks {
    /// `room` has awareness to send.
    fn want(&self, room: &Arc<Room>) {
        let Ok(mut rooms) = self.rooms.lock() else {
            return;
        };
        rooms.push(Arc::downgrade(room));
        if rooms.len() == 1 {
            self.wake.notify_one();
        }
    }

    /// Sends each waiting room's awareness once a tick, while there is any: every room
    /// of the node in one pass, so a person hears a tick's states in one message and
    /// one write.
    async fn run(context: Arc<Context>) {
        let mut interval = tokio::time::interval(context.limits.awareness_tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = context.shutdown.cancelled() => return,
                _ = context.ticks.wake.notified() => {}
            }
            tokio::select! {
                _ = context.shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            let rooms = context
                .ticks
                .rooms
                .lock()
                .map(|mut rooms| std::mem::take(&mut *rooms))
                .unwrap_or_default();
            for room in rooms.iter().filter_map(Weak::upgrade) {
                room.tick();
            }
        }
    }
}

/// What every room of a hub shares (the rooms do not hold the hub: it holds them).
pub(crate) struct Context {
    store: Arc<dyn DocStore>,
    limits: HubLimits,
    node: Arc<str>,
    node_id: u64,
    relay: Arc<dyn Relay>,
    metrics: Arc<HubMetrics>,
    /// Applied updates of every room, for the log writer (`log::write`).
    log: mpsc::Sender<(Arc<Room>, log::Unlogged)>,
    /// Told the picture each time updates of it are logged (the history indexer).
    logged: OnceLock<mpsc::UnboundedSender<String>>,
    tasks: TaskTracker,
    /// Cancelled first on shutdown: connections, sweepers and relay listeners end.
    shutdown: CancellationToken,
    /// Cancelled last, once every room's updates are logged: the log writer ends.
    log_stop: CancellationToken,
    /// Open connections by address.
    addresses: Mutex<HashMap<IpAddr, usize>>,
    /// Rooms with awareness to send.
    ticks: Ticks,
}

impl Context {
    /// Runs `task` under the hub's tracker.
    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Counts a connection from `address` in, unless it has as many as it may. No
    /// address (loopback, see `rate::client_address`) is not counted.
    fn enter_from(&self, address: Option<IpAddr>) -> bool {
        let Some(address) = address else {
            return true;
        };
        let Ok(mut addresses) = self.addresses.lock() else {
            return true;
        };
        let open = addresses.entry(address).or_default();
        if *open >= self.limits.connections_per_address {
            return false;
        }
        *open += 1;
        true
    }

    /// Counts a connection from `address` out.
    fn leave_from(&self, address: Option<IpAddr>) {
        let Some(address) = address else {
            return;
        };
        if let Ok(mut addresses) = self.addresses.lock() {
            if let Some(open) = addresses.get_mut(&address) {
                *open = open.saturating_sub(1);
                if *open == 0 {
                    addresses.remove(&address);
                }
            }
        }
    }

    fn tell_logged(&self, picture_id: &str) {
        if let Some(listener) = self.logged.get() {
            let _ = listener.send(picture_id.to_string());
        }
    }
}

/// All rooms of this node.
#[derive(Clone)]
pub struct Hub {
    rooms: Arc<RoomTable>,
    context: Arc<Context>,
}

impl Hub {
    /// A hub storing documents in `store`, reaching other nodes through `relay`. Starts
    /// its log writer (call it inside the Tokio runtime).
    pub fn new(store: Arc<dyn DocStore>, limits: HubLimits, relay: Arc<dyn Relay>) -> Self {
        let node_id = rand::random::<u64>();
        let (log, queue) = mpsc::channel(LOG_QUEUE);
        let context = Arc::new(Context {
            store: Arc::clone(&store),
            limits,
            node: format!("node-{node_id:016x}").into(),
            node_id,
            relay,
            metrics: Arc::default(),
            log,
            logged: OnceLock::new(),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            log_stop: CancellationToken::new(),
            addresses: Mutex::default(),
            ticks: Ticks::default(),
        });
        context.spawn(log::write(store, queue, context.log_stop.clone()));
        if !context.limits.awareness_tick.is_zero() {
            context.spawn(Ticks::run(Arc::clone(&context)));
        }
        Hub {
            rooms: Arc::default(),
            context,
        }
    }

    /// Names each picture on `listener` whenever updates of it are logged (set once).
    pub fn tell_logged_to(&self, listener: mpsc::UnboundedSender<String>) {
        let _ = self.context.logged.set(listener);
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
        edit: impl FnOnce(&yrs::Doc, usize) -> Option<Vec<u8>>,
    ) -> Result<Option<i64>, StoreError> {
        let room = self.room(picture_id).await?;
        Ok(room.change(author, role, restored_to, edit).await)
    }

    /// Reads the live document of `picture_id`: the room's when it is loaded here, else
    /// as stored (snapshot and logged updates), without loading a room for it.
    pub async fn read<T>(
        &self,
        picture_id: &str,
        read: impl FnOnce(&yrs::Doc) -> T,
    ) -> Result<T, StoreError> {
        if let Some(room) = self.loaded(picture_id) {
            return Ok(room.read(read).await);
        }
        let (document, _) = self.context.store.load_document(picture_id).await?.open();
        Ok(read(document.doc()))
    }

    /// The hub's counters.
    pub fn metrics(&self) -> &HubMetrics {
        &self.context.metrics
    }

    /// This node's name in the update log.
    pub fn node(&self) -> &str {
        &self.context.node
    }

    /// The limits connections are held to.
    pub fn limits(&self) -> &HubLimits {
        &self.context.limits
    }

    /// The room of `picture_id`, loading it if it is not loaded.
    pub(crate) async fn room(&self, picture_id: &str) -> Result<Arc<Room>, StoreError> {
        if let Some(room) = self.loaded(picture_id) {
            return Ok(room);
        }
        let stored = self.context.store.load_document(picture_id).await?;
        let (inbox, inbound) = mpsc::channel(relay::INBOX);
        let loaded = Arc::new(Room::load(
            picture_id,
            stored,
            Arc::clone(&self.context),
            Arc::downgrade(&self.rooms),
        ));
        let room = {
            let mut rooms = self.rooms.lock().map_err(|_| poisoned())?;
            Arc::clone(
                rooms
                    .entry(picture_id.to_string())
                    .or_insert_with(|| Arc::clone(&loaded)),
            )
        };
        if Arc::ptr_eq(&room, &loaded) {
            self.context.metrics.rooms.fetch_add(1, Ordering::Relaxed);
            room.start_sweeper();
            // Joined after loading: what was published in between, the repair brings.
            self.context.relay.join(picture_id, inbox);
            room.start_relay(inbound);
        }
        Ok(room)
    }

    fn loaded(&self, picture_id: &str) -> Option<Arc<Room>> {
        self.rooms.lock().ok()?.get(picture_id).cloned()
    }

    /// Serves one WebSocket connection of `guest` in `room` until it closes (tracked:
    /// shutting down closes it).
    pub(crate) async fn serve(
        &self,
        room: Arc<Room>,
        connection: socket::Connection,
        guest: Guest,
    ) {
        let socket::Connection { socket, outbox } = connection;
        self.context
            .tasks
            .track_future(connection::serve(room, socket, outbox, guest))
            .await;
    }

    /// Closes, on every node, the connections to `picture_id` that joined with a link
    /// of one of `roles` (the links were replaced): code 4401, `reason`.
    pub fn links_revoked(&self, picture_id: &str, roles: &[Role], reason: &str) {
        let which = Closing {
            roles: Role::set(roles),
            deleted: false,
            linked_only: true,
            unlinked_only: false,
        };
        self.close_everywhere(picture_id, which, Close::new(4401, reason));
    }

    /// Closes, on every node, the connections to `picture_id` that joined without a link
    /// (the owner made it unlisted): code 4404, as if it did not exist, which it no
    /// longer does for them.
    pub fn made_unlisted(&self, picture_id: &str) {
        let which = Closing {
            roles: Role::set(&Role::ALL),
            deleted: false,
            linked_only: false,
            unlinked_only: true,
        };
        self.close_everywhere(
            picture_id,
            which,
            Close::new(4404, "this picture is now reached only through its links"),
        );
    }

    /// Closes every connection to `picture_id` on every node, and its rooms, with
    /// nothing more stored: the picture was deleted.
    pub fn deleted(&self, picture_id: &str) {
        let which = Closing {
            roles: Role::set(&Role::ALL),
            deleted: true,
            linked_only: false,
            unlinked_only: false,
        };
        self.close_everywhere(
            picture_id,
            which,
            Close::new(4404, "this picture was deleted"),
        );
    }

    /// Tells every node (on the pictures channel) that `picture_id` was deleted.
    pub fn announce_gone(&self, picture_id: &str) {
        let envelope = wire::Envelope {
            node: self.context.node_id,
            sent_micros: room::now_micros(),
            body: wire::Body::Gone {
                picture: picture_id.to_string(),
            },
        };
        if self
            .context
            .relay
            .publish(wire::PICTURES_CHANNEL, envelope)
            .is_err()
        {
            self.context
                .metrics
                .relay_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn close_everywhere(&self, picture_id: &str, which: Closing, close: Close) {
        if let Some(room) = self.loaded(picture_id) {
            room.close_connections(which, close.clone());
        }
        let envelope = wire::Envelope {
            node: self.context.node_id,
            sent_micros: room::now_micros(),
            body: wire::Body::Close {
                roles: which.bits(),
                code: close.code,
                reason: close.reason,
            },
        };
        if self.context.relay.publish(picture_id, envelope).is_err() {
            self.context
                .metrics
                .relay_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Shuts the hub down: connections are closed (clients reconnect, to another node
    /// if there is one), every applied update is logged and every room's snapshot
    /// written, and the hub's tasks end.
    pub async fn shut_down(&self) {
        self.context.shutdown.cancel();
        let rooms: Vec<Arc<Room>> = self
            .rooms
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        let restarting = Close::new(1012, "the server is restarting; reconnect");
        for room in &rooms {
            room.close_connections(Closing::EVERYONE, restarting.clone());
        }
        for room in rooms {
            room.drain().await;
            room.snapshot().await;
        }
        self.context.log_stop.cancel();
        self.context.tasks.close();
        if tokio::time::timeout(Duration::from_secs(5), self.context.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some hub tasks did not end within 5 s of shutdown");
        }
    }

    /// How this hub reaches other nodes.
    pub fn relay(&self) -> &Arc<dyn Relay> {
        &self.context.relay
    }
}

fn poisoned() -> StoreError {
    StoreError::Database("the room table lock was poisoned".into())
}
