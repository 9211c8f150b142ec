//! Fan-out between server nodes. Each loaded room joins its picture's channel; what a
//! node publishes there reaches the same room on every other node. Delivery is
//! at-most-once (Redis pub/sub drops what is sent while a subscriber is away), so rooms
//! also exchange state vectors (see `Room::on_envelope`) and repair what went missing.
//!
//! Two implementations: `LocalRelay` in-process (embedded mode, and tests that run
//! several hubs in one process) and `RedisRelay`, one pub/sub channel per picture.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use hugepic_hub_core::wire::Envelope;

/// What reaches a room from its channel.
#[derive(Debug)]
pub enum Inbound {
    /// Another node's message.
    Envelope(Envelope),
    /// The subscription was made again after a loss: things may have been missed.
    Resubscribed,
}

/// Messages waiting for a room before the relay drops new ones (repair fetches them).
pub const INBOX: usize = 4096;

/// Why a message could not be handed to the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The queue to Redis is full (Redis is slow or away); the message was dropped.
    #[error("the relay's queue is full")]
    Full,
}

/// How a hub reaches the same rooms on other nodes.
pub trait Relay: Send + Sync + 'static {
    /// Starts delivering `room`'s channel to `inbox`.
    fn join(&self, room: &str, inbox: mpsc::Sender<Inbound>);
    /// Stops delivering `room`'s channel.
    fn leave(&self, room: &str);
    /// Sends `envelope` to the other nodes in `room` (without waiting for it to go).
    fn publish(&self, room: &str, envelope: Envelope) -> Result<(), RelayError>;
    /// Messages accepted by `publish` and then thrown away: (Redis away, timed out).
    fn dropped(&self) -> (u64, u64) {
        (0, 0)
    }
    /// What the relay runs in the background until `shutdown` (nothing by default).
    fn run(&self, shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        let _ = shutdown;
        Box::pin(async {})
    }
}

/// Relay between hubs of one process.
#[derive(Default, Clone)]
pub struct LocalRelay {
    rooms: Arc<Mutex<HashMap<String, Vec<mpsc::Sender<Inbound>>>>>,
}

impl Relay for LocalRelay {
    fn join(&self, room: &str, inbox: mpsc::Sender<Inbound>) {
        if let Ok(mut rooms) = self.rooms.lock() {
            let inboxes = rooms.entry(room.to_string()).or_default();
            inboxes.retain(|i| !i.is_closed());
            inboxes.push(inbox);
        }
    }

    fn leave(&self, room: &str) {
        if let Ok(mut rooms) = self.rooms.lock() {
            if let Some(inboxes) = rooms.get_mut(room) {
                inboxes.retain(|i| !i.is_closed());
                if inboxes.is_empty() {
                    rooms.remove(room);
                }
            }
        }
    }

    fn publish(&self, room: &str, envelope: Envelope) -> Result<(), RelayError> {
        let inboxes = match self.rooms.lock() {
            // Alone in the room (the embedded mode): the only inbox is the sender's.
            Ok(rooms) => match rooms.get(room) {
                Some(inboxes) if inboxes.len() > 1 => inboxes.clone(),
                _ => return Ok(()),
            },
            Err(_) => return Ok(()),
        };
        // Every inbox hears it, the sender's too, as on Redis; rooms skip their own.
        for inbox in inboxes {
            let _ = inbox.try_send(Inbound::Envelope(envelope.clone()));
        }
        Ok(())
    }
}

/// Envelopes waiting to be published before new ones are dropped.
const OUTBOX: usize = 8192;
/// Envelopes published in one round trip.
const BATCH: usize = 256;

/// Relay through Redis pub/sub: channel `hugepic:hub:{picture}`.
#[derive(Clone)]
pub struct RedisRelay {
    client: redis::Client,
    rooms: Arc<Mutex<HashMap<String, mpsc::Sender<Inbound>>>>,
    /// Rooms joined or left, for the subscription to follow (in order).
    changes: mpsc::UnboundedSender<String>,
    changed: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>>,
    outbox: mpsc::Sender<Outgoing>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Outgoing>>>,
    /// Messages thrown away because Redis was away (no connection, or it failed).
    dropped_away: Arc<AtomicU64>,
    /// Messages thrown away because Redis did not answer in time.
    dropped_timeout: Arc<AtomicU64>,
}

/// An encoded envelope and the room it is for.
type Outgoing = (String, Vec<u8>);

const PREFIX: &str = "hugepic:hub:";

impl RedisRelay {
    /// A relay through the Redis at `url` (nothing is connected until `run`).
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        let (outbox, queue) = mpsc::channel(OUTBOX);
        let (changes, changed) = mpsc::unbounded_channel();
        Ok(RedisRelay {
            client: redis::Client::open(url)?,
            rooms: Arc::default(),
            changes,
            changed: Arc::new(tokio::sync::Mutex::new(changed)),
            outbox,
            queue: Arc::new(tokio::sync::Mutex::new(queue)),
            dropped_away: Arc::default(),
            dropped_timeout: Arc::default(),
        })
    }

    /// Publishes and listens until `shutdown`, connecting again whenever Redis goes away.
    async fn serve(self, shutdown: CancellationToken) {
        let publisher = tokio::spawn(self.clone().publish_loop(shutdown.clone()));
        let mut changed = self.changed.lock().await;
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let ended = self.listen(&mut changed, &shutdown, &mut failures).await;
            if shutdown.is_cancelled() {
                break;
            }
            // Said once per outage, not every half second while Redis is away.
            match ended {
                Err(e) if failures == 0 => {
                    tracing::warn!(error = %e, "the hub's Redis subscription failed; retrying")
                }
                Ok(()) if failures == 0 => {
                    tracing::warn!("lost the hub's Redis subscription; subscribing again")
                }
                _ => tracing::debug!("the hub's Redis subscription is still down"),
            }
            failures += 1;
            crate::metrics::failed(crate::metrics::Failure::RelaySubscription);
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        let _ = publisher.await;
    }

    /// One subscription's life: subscribes every joined room, tells them to repair,
    /// then delivers messages and follows joins and leaves until the connection ends.
    async fn listen(
        &self,
        changed: &mut mpsc::UnboundedReceiver<String>,
        shutdown: &CancellationToken,
        failures: &mut u32,
    ) -> Result<(), redis::RedisError> {
        let (mut sink, mut stream) = self.client.get_async_pubsub().await?.split();
        // The room table is the truth; changes queued so far are in it.
        while changed.try_recv().is_ok() {}
        let names: Vec<String> = self
            .rooms
            .lock()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        for name in &names {
            sink.subscribe(format!("{PREFIX}{name}")).await?;
        }
        if *failures > 0 {
            tracing::info!(rooms = names.len(), "the hub's Redis subscription is back");
        }
        *failures = 0;
        self.tell_all(|| Inbound::Resubscribed);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                message = stream.next() => match message {
                    Some(message) => self.deliver(&message),
                    None => return Ok(()),
                },
                room = changed.recv() => {
                    let Some(room) = room else { return Ok(()) };
                    let joined = self.rooms.lock().is_ok_and(|r| r.contains_key(&room));
                    let channel = format!("{PREFIX}{room}");
                    if joined {
                        sink.subscribe(channel).await?;
                    } else {
                        sink.unsubscribe(channel).await?;
                    }
                }
            }
        }
    }

    fn deliver(&self, message: &redis::Msg) {
        let channel = message.get_channel_name();
        let Some(room) = channel.strip_prefix(PREFIX) else {
            return;
        };
        let Some(inbox) = self.rooms.lock().ok().and_then(|r| r.get(room).cloned()) else {
            return;
        };
        match Envelope::decode(message.get_payload_bytes()) {
            Ok(envelope) => {
                if inbox.try_send(Inbound::Envelope(envelope)).is_err() {
                    tracing::debug!(room, "a room's relay inbox is full; repair will catch up");
                    crate::metrics::failed(crate::metrics::Failure::RelayInbox);
                }
            }
            Err(e) => {
                tracing::warn!(room, error = %e, "a message on the hub channel was refused");
                crate::metrics::failed(crate::metrics::Failure::RelayMessage);
            }
        }
    }

    fn tell_all(&self, what: impl Fn() -> Inbound) {
        let inboxes: Vec<mpsc::Sender<Inbound>> = self
            .rooms
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default();
        for inbox in inboxes {
            let _ = inbox.try_send(what());
        }
    }

    /// Drains the outbox: PUBLISH commands pipelined, many per round trip.
    async fn publish_loop(self, shutdown: CancellationToken) {
        let mut queue = self.queue.lock().await;
        let mut connection: Option<ConnectionManager> = None;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                n = queue.recv_many(&mut batch, BATCH) => if n == 0 { return },
            }
            if connection.is_none() {
                match self.client.get_connection_manager().await {
                    Ok(c) => connection = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, dropped = batch.len(), "cannot publish to Redis");
                        self.dropped_away
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        batch.clear();
                        continue;
                    }
                }
            }
            let Some(conn) = connection.as_mut() else {
                continue;
            };
            let count = batch.len() as u64;
            let mut pipe = redis::pipe();
            for (room, bytes) in batch.drain(..) {
                pipe.cmd("PUBLISH")
                    .arg(format!("{PREFIX}{room}"))
                    .arg(bytes)
                    .ignore();
            }
            let sent = tokio::time::timeout(Duration::from_secs(2), pipe.query_async::<()>(conn));
            match sent.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, dropped = count, "could not publish to Redis");
                    self.dropped_away.fetch_add(count, Ordering::Relaxed);
                }
                Err(_) => {
                    tracing::warn!(dropped = count, "publishing to Redis timed out");
                    self.dropped_timeout.fetch_add(count, Ordering::Relaxed);
                    connection = None;
                }
            }
        }
    }
}

impl Relay for RedisRelay {
    fn dropped(&self) -> (u64, u64) {
        (
            self.dropped_away.load(Ordering::Relaxed),
            self.dropped_timeout.load(Ordering::Relaxed),
        )
    }

    fn join(&self, room: &str, inbox: mpsc::Sender<Inbound>) {
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.insert(room.to_string(), inbox);
        }
        let _ = self.changes.send(room.to_string());
    }

    fn leave(&self, room: &str) {
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.remove(room);
        }
        let _ = self.changes.send(room.to_string());
    }

    fn run(&self, shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        Box::pin(self.clone().serve(shutdown))
    }

    fn publish(&self, room: &str, envelope: Envelope) -> Result<(), RelayError> {
        self.outbox
            .try_send((room.to_string(), envelope.encode()))
            .map_err(|_| RelayError::Full)
    }
}
