//! The hub's counters and its fan-out latency histogram, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Batches (or a room's part of one) written to the document log.
    pub log_written: AtomicU64,
    /// Tries to write a room's part of a batch that failed and were made again.
    pub log_retried: AtomicU64,
    /// A room's part of a batch given up on: not logged.
    pub log_failed: AtomicU64,
    /// Snapshots that could not be made (the log could not be read or the snapshot
    /// written); the room tries again later.
    pub snapshots_failed: AtomicU64,
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
