//! What one client saw during the measured window, and how the clients' records add up.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch: the stamp senders put in messages. Every client
/// runs in this process, so senders and receivers read the same clock.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// How a client's connection ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Connected, synced, and still open when the run ended.
    Held,
    /// Never finished connecting or syncing.
    Failed(String),
    /// Synced, then closed by the server or the network before the end.
    Closed(String),
}

/// One client's record.
#[derive(Debug, Default)]
pub struct ClientRecord {
    /// Awareness delivery latencies in the window, microseconds.
    pub awareness_us: Vec<u32>,
    /// Shape edit delivery latencies in the window, microseconds.
    pub edit_us: Vec<u32>,
    /// Frames received in the window.
    pub frames_in: u64,
    /// Frames sent in the window.
    pub frames_out: u64,
    /// Edits sent in the window.
    pub edits_out: u64,
    /// Awareness updates sent in the window.
    pub awareness_out: u64,
    /// How long connecting and syncing took, microseconds (if it finished).
    pub sync_us: Option<u32>,
    /// How it ended (`None` until it does).
    pub outcome: Option<Outcome>,
}

/// Latency quantiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Quantiles {
    /// Samples behind them.
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Quantiles {
    /// The quantiles of `samples` (microseconds), which it sorts.
    pub fn of(samples: &mut [u32]) -> Quantiles {
        if samples.is_empty() {
            return Quantiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len());
            f64::from(samples[rank - 1]) / 1000.0
        };
        Quantiles {
            samples: samples.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// Everyone's records added up.
#[derive(Debug, Default)]
pub struct Totals {
    /// Clients still connected at the end.
    pub held: usize,
    /// Clients that never connected, by reason.
    pub failed: BTreeMap<String, usize>,
    /// Clients closed after connecting, by close code and reason.
    pub closed: BTreeMap<String, usize>,
    /// All awareness latencies.
    pub awareness_us: Vec<u32>,
    /// All edit latencies.
    pub edit_us: Vec<u32>,
    /// Connect-and-sync times.
    pub sync_us: Vec<u32>,
    /// Frames received in the window.
    pub frames_in: u64,
    /// Frames sent in the window.
    pub frames_out: u64,
    /// Edits sent in the window.
    pub edits_out: u64,
    /// Awareness updates sent in the window.
    pub awareness_out: u64,
    /// Awareness deliveries the window's sends call for (each send, times the sender's
    /// room-mates).
    pub awareness_expected: u64,
    /// Edit deliveries the window's sends call for.
    pub edits_expected: u64,
}

impl Totals {
    /// Adds one client's record; `peers` is how many others are in its room.
    pub fn add(&mut self, record: ClientRecord, peers: u64) {
        self.awareness_expected += record.awareness_out * peers;
        self.edits_expected += record.edits_out * peers;
        match record.outcome {
            Some(Outcome::Held) => self.held += 1,
            Some(Outcome::Failed(reason)) => *self.failed.entry(reason).or_default() += 1,
            Some(Outcome::Closed(reason)) => *self.closed.entry(reason).or_default() += 1,
            None => *self.failed.entry("did not finish".into()).or_default() += 1,
        }
        self.awareness_us.extend(record.awareness_us);
        self.edit_us.extend(record.edit_us);
        self.sync_us.extend(record.sync_us);
        self.frames_in += record.frames_in;
        self.frames_out += record.frames_out;
        self.edits_out += record.edits_out;
        self.awareness_out += record.awareness_out;
    }

    /// Clients that never connected.
    pub fn failed_count(&self) -> usize {
        self.failed.values().sum()
    }

    /// Clients closed after connecting.
    pub fn closed_count(&self) -> usize {
        self.closed.values().sum()
    }

    /// Share of the expected cursor deliveries that arrived in the window (messages sent
    /// just before it and arriving in it stand in for those sent at its end and
    /// arriving after it).
    pub fn awareness_delivered(&self) -> f64 {
        ratio(self.awareness_us.len() as u64, self.awareness_expected)
    }

    /// Share of the expected edit deliveries that arrived in the window.
    pub fn edits_delivered(&self) -> f64 {
        ratio(self.edit_us.len() as u64, self.edits_expected)
    }
}

fn ratio(got: u64, expected: u64) -> f64 {
    if expected == 0 {
        1.0 // nothing was due, nothing is missing
    } else {
        got as f64 / expected as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let mut samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        samples.reverse();
        let q = Quantiles::of(&mut samples);
        assert_eq!(q.samples, 100);
        assert!((q.p50_ms - 50.0).abs() < 1e-9);
        assert!((q.p99_ms - 99.0).abs() < 1e-9);
        assert!((q.max_ms - 100.0).abs() < 1e-9);
        assert_eq!(Quantiles::of(&mut []).samples, 0);
    }
}
