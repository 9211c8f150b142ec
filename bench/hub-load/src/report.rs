//! The result of a run, for people (aligned text) and for scripts (one JSON line).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::process::Memory;
use crate::protocol::Dialect;
use crate::stats::Quantiles;

/// Share of expected deliveries below which a run does not count as held: the window's
/// edges make the count a little uncertain, a server dropping messages (or not relaying
/// them between nodes) makes it clearly short.
const MIN_DELIVERED: f64 = 0.97;

/// CPU and memory of one server process over the window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerUsage {
    /// The process.
    pub pid: u32,
    /// User plus system time over the window, percent of one core.
    pub cpu_percent: f64,
    /// User plus system time over the window, seconds.
    pub cpu_seconds: f64,
    /// Of `cpu_seconds`, the system (kernel) time.
    pub system_seconds: f64,
    /// Memory at the end of the window.
    pub memory: Memory,
}

/// Everything a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Wire dialect.
    pub protocol: Dialect,
    /// Servers the clients were spread over.
    pub servers: Vec<String>,
    /// Clients started.
    pub clients: usize,
    /// Rooms.
    pub rooms: usize,
    /// Length of the measured window.
    pub seconds: f64,
    /// Cursor moves per second and mover.
    pub cursor_hz: f64,
    /// Cursor movers per room (`None`: every client).
    pub movers: Option<usize>,
    /// Seconds between a client's edits (0: no edits).
    pub edit_every_s: f64,
    /// Clients connected and synced at the end.
    pub held: usize,
    /// Clients that never connected or synced.
    pub failed: usize,
    /// Clients closed after syncing.
    pub closed: usize,
    /// Why clients failed, with counts.
    pub failures: BTreeMap<String, usize>,
    /// Why clients were closed (close code and reason), with counts.
    pub closes: BTreeMap<String, usize>,
    /// Share of the cursor moves due to room-mates that arrived.
    pub awareness_delivered: f64,
    /// Share of the edits due to room-mates that arrived.
    pub edits_delivered: f64,
    /// Cursor (awareness) delivery latency.
    pub awareness: Quantiles,
    /// Shape edit delivery latency.
    pub edits: Quantiles,
    /// Time to connect and finish the sync handshake.
    pub sync: Quantiles,
    /// Frames all clients received per second.
    pub received_per_s: f64,
    /// Frames all clients sent per second.
    pub sent_per_s: f64,
    /// Edits sent in the window.
    pub edits_sent: u64,
    /// Cursor moves (and presence renewals) sent in the window.
    pub awareness_sent: u64,
    /// The servers' CPU time over the window (all processes added up), microseconds, per
    /// cursor state the clients received in it: what one delivery costs the server.
    /// `None` without server processes or deliveries.
    pub server_cpu_us_per_state: Option<f64>,
    /// Of `server_cpu_us_per_state`, the part spent in the kernel (system time: sockets,
    /// wake-ups).
    pub server_system_us_per_state: Option<f64>,
    /// The loader's own CPU over the window, percent of one core.
    pub loader_cpu_percent: f64,
    /// Cores the loader may run on.
    pub loader_cores: usize,
    /// CPU everything else on the machine used over the window, percent of one core
    /// (a busy machine makes the numbers pessimistic).
    pub other_cpu_percent: f64,
    /// Each server process.
    pub server_usage: Vec<ServerUsage>,
}

impl Report {
    /// Whether every client held on, (nearly) every cursor move and edit arrived, and
    /// both latencies' p99 are within `p99_ms`.
    pub fn holds(&self, p99_ms: f64) -> bool {
        self.failed == 0
            && self.closed == 0
            && self.awareness_delivered >= MIN_DELIVERED
            && self.edits_delivered >= MIN_DELIVERED
            && self.awareness.samples > 0
            && self.awareness.p99_ms <= p99_ms
            && self.edits.p99_ms <= p99_ms
    }

    /// The JSON line.
    pub fn json(&self) -> serde_json::Result<String> {
        let mut value = serde_json::to_value(self)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("holds_p99_50ms".into(), self.holds(50.0).into());
        }
        serde_json::to_string(&value)
    }

    /// The text for people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let protocol = match self.protocol {
            Dialect::YWebsocket => "y-websocket",
            Dialect::Hocuspocus => "hocuspocus",
        };
        let movers = match self.movers {
            Some(n) => format!("{n} per room"),
            None => "every client".into(),
        };
        let edits = if self.edit_every_s > 0.0 {
            format!("an edit every {} s", self.edit_every_s)
        } else {
            "no edits".into()
        };
        let _ = writeln!(
            out,
            "{protocol} against {}: {} clients in {} rooms, cursor {} Hz ({movers}), {edits}, {:.0} s measured",
            self.servers.join(", "),
            self.clients,
            self.rooms,
            self.cursor_hz,
            self.seconds
        );
        let _ = writeln!(
            out,
            "  clients         held {}, failed {}, closed {}",
            self.held, self.failed, self.closed
        );
        for (reason, count) in &self.failures {
            let _ = writeln!(out, "    failed {count}× {reason}");
        }
        for (reason, count) in &self.closes {
            let _ = writeln!(out, "    closed {count}× {reason}");
        }
        for (label, q) in [
            ("cursor latency", &self.awareness),
            ("edit latency", &self.edits),
            ("connect+sync", &self.sync),
        ] {
            let _ = writeln!(
                out,
                "  {label:<15} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
                q.p50_ms, q.p99_ms, q.max_ms, q.samples
            );
        }
        let _ = writeln!(
            out,
            "  delivered       {:.1}% of cursor moves, {:.1}% of edits due to room-mates",
            self.awareness_delivered * 100.0,
            self.edits_delivered * 100.0
        );
        let _ = writeln!(
            out,
            "  messages        received {:.0}/s, sent {:.0}/s ({} cursor moves, {} edits)",
            self.received_per_s, self.sent_per_s, self.awareness_sent, self.edits_sent
        );
        let _ = writeln!(
            out,
            "  loader          CPU {:.0}% of one core ({} core(s) usable); everything else {:.0}%",
            self.loader_cpu_percent, self.loader_cores, self.other_cpu_percent
        );
        for server in &self.server_usage {
            let _ = writeln!(
                out,
                "  server {:<8} CPU {:.0}% of one core, RSS {:.1} MiB, peak RSS {:.1} MiB",
                server.pid, server.cpu_percent, server.memory.rss_mib, server.memory.peak_rss_mib
            );
        }
        if let Some(us) = self.server_cpu_us_per_state {
            let _ = writeln!(
                out,
                "  server CPU      {us:.1} µs per cursor state delivered ({} states), {:.1} of them in the kernel",
                self.awareness.samples,
                self.server_system_us_per_state.unwrap_or(0.0)
            );
        }
        let _ = writeln!(
            out,
            "  holds p99 <= 50 ms with every client: {}",
            if self.holds(50.0) { "yes" } else { "no" }
        );
        out
    }
}
