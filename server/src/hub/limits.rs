//! What the hub's connections and rooms are held to (set from the configuration).

use std::time::Duration;

use hugepic_hub_core::SessionLimits;

/// What connections and rooms are held to.
#[derive(Debug, Clone)]
pub struct HubLimits {
    /// Largest WebSocket message accepted, bytes.
    pub max_message_bytes: usize,
    /// What each connection is held to (update and awareness rates, sizes).
    pub session: SessionLimits,
    /// Connections one room takes.
    pub connections_per_room: usize,
    /// Of those, seats kept for owner and edit links (others cannot take them).
    pub reserved_seats: usize,
    /// Connections to the hub from one address at once.
    pub connections_per_address: usize,
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
    /// Awareness taken within this is sent on as one message (zero: at once).
    pub awareness_tick: Duration,
}

impl Default for HubLimits {
    fn default() -> Self {
        HubLimits {
            max_message_bytes: 1 << 20,
            session: SessionLimits::default(),
            connections_per_room: 500,
            reserved_seats: 100,
            connections_per_address: 64,
            idle_unload: Duration::from_secs(60),
            snapshot_every: 500,
            awareness_timeout: Duration::from_secs(30),
            send_queue: 512,
            ping_every: Duration::from_secs(20),
            repair_every: Duration::from_secs(3),
            awareness_tick: Duration::from_millis(16),
        }
    }
}
