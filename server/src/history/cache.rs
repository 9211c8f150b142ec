//! What `history/frames` sends for each checkpoint, kept in memory once made.
//!
//! A checkpoint is stored as a deflated Yjs v2 state; the frames give it as a v1 update
//! (what every Yjs client applies) unless asked for v2. Turning v2 into v1 decodes and
//! re-encodes every item of the document: measured at 70% of a seek's CPU on a
//! 2,000-shape document (a seek cost 46 ms). Checkpoints never change once written, so
//! each one's line is made once and kept, up to a byte budget, the least recently read
//! going first. Lines are also made as the index writes each checkpoint (the document is
//! at hand there: no conversion), but only into room the budget has to spare: a line
//! nobody asked for never pushes out one somebody read.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use base64::Engine;
use serde_json::json;

use crate::store::times::micros_to_text;

/// A `checkpoint` line of `history/frames`: the state (or delta, on the checkpoint at
/// `base`) at `seq`, whose last update was at `at`, as a Yjs v1 update or v2.
pub fn state_line(seq: i64, base: Option<i64>, at: Option<i64>, v2: bool, state: &[u8]) -> Bytes {
    let mut text = json!({
        "type": "checkpoint",
        "seq": seq,
        "base": base,
        "at": at.map(micros_to_text),
        "encoding": if v2 { "v2" } else { "v1" },
        "state": base64::engine::general_purpose::STANDARD.encode(state),
    })
    .to_string();
    text.push('\n');
    Bytes::from(text)
}

/// Which line: a checkpoint of a picture, in one encoding of the frames.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineKey {
    /// The picture.
    pub picture: String,
    /// The checkpoint's seq.
    pub seq: i64,
    /// The whole state it is a delta on, if it is one.
    pub base: Option<i64>,
    /// Whether the line carries v2 (as stored) rather than v1.
    pub v2: bool,
}

struct Entry {
    line: Bytes,
    used: u64,
}

#[derive(Default)]
struct Lines {
    entries: HashMap<LineKey, Entry>,
    bytes: usize,
    clock: u64,
}

/// The budget when none is configured (`--history-cache-mib`'s default).
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Checkpoint lines, up to `budget` bytes.
pub struct LineCache {
    budget: usize,
    lines: Mutex<Lines>,
}

impl LineCache {
    /// A cache of at most `budget` bytes of lines (0: none kept).
    pub fn new(budget: usize) -> LineCache {
        LineCache {
            budget,
            lines: Mutex::default(),
        }
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The line made for `key`, if it is still kept.
    pub fn get(&self, key: &LineKey) -> Option<Bytes> {
        let mut lines = self.lines();
        lines.clock += 1;
        let now = lines.clock;
        let entry = lines.entries.get_mut(key)?;
        entry.used = now;
        Some(entry.line.clone())
    }

    /// Keeps `line` for `key`, forgetting the least recently read lines past the budget.
    /// A line larger than the whole budget is not kept.
    pub fn put(&self, key: LineKey, line: Bytes) {
        if line.len() > self.budget {
            return;
        }
        let mut lines = self.lines();
        lines.clock += 1;
        let used = lines.clock;
        lines.bytes += line.len();
        if let Some(old) = lines.entries.insert(key, Entry { line, used }) {
            lines.bytes -= old.line.len();
        }
        while lines.bytes > self.budget {
            // A few hundred entries at most for a budget of tens of MiB: a scan is cheap
            // beside the conversion that made the line.
            let Some(oldest) = lines
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = lines.entries.remove(&oldest) {
                lines.bytes -= gone.line.len();
            }
        }
    }

    /// Whether a line of `bytes` would fit beside those kept without pushing any out.
    pub fn has_room(&self, bytes: usize) -> bool {
        self.lines().bytes + bytes <= self.budget
    }

    /// Keeps `line` for `key` if it fits without pushing out another line (one made
    /// before anybody asked for it); whether it was kept.
    pub fn offer(&self, key: LineKey, line: Bytes) -> bool {
        let mut lines = self.lines();
        if lines.bytes + line.len() > self.budget || lines.entries.contains_key(&key) {
            return false;
        }
        lines.clock += 1;
        let used = lines.clock;
        lines.bytes += line.len();
        lines.entries.insert(key, Entry { line, used });
        true
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.lines().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seq: i64) -> LineKey {
        LineKey {
            picture: "p".into(),
            seq,
            base: None,
            v2: false,
        }
    }

    #[test]
    fn keeps_lines_within_the_budget_and_drops_the_least_recently_read() {
        let cache = LineCache::new(30);
        cache.put(key(1), Bytes::from(vec![1; 10]));
        cache.put(key(2), Bytes::from(vec![2; 10]));
        cache.put(key(3), Bytes::from(vec![3; 10]));
        assert_eq!(cache.bytes(), 30);
        // 1 is read, so 2 is the least recently read when 4 comes.
        assert_eq!(cache.get(&key(1)).as_deref(), Some(&[1u8; 10][..]));
        cache.put(key(4), Bytes::from(vec![4; 10]));
        assert!(cache.get(&key(2)).is_none());
        for seq in [1, 3, 4] {
            assert!(cache.get(&key(seq)).is_some(), "line {seq} kept");
        }
        assert_eq!(cache.bytes(), 30);
        // Another encoding or base is another line.
        assert!(cache.get(&LineKey { v2: true, ..key(1) }).is_none());
        assert!(cache
            .get(&LineKey {
                base: Some(0),
                ..key(1)
            })
            .is_none());
    }

    #[test]
    fn a_line_offered_is_kept_only_in_room_to_spare() {
        let cache = LineCache::new(30);
        cache.put(key(1), Bytes::from(vec![1; 10]));
        assert!(cache.has_room(20));
        assert!(cache.offer(key(2), Bytes::from(vec![2; 15])));
        assert!(!cache.has_room(6));
        // No room: nothing read is pushed out, and the offer is refused.
        assert!(!cache.offer(key(3), Bytes::from(vec![3; 6])));
        assert!(cache.get(&key(3)).is_none());
        assert!(cache.get(&key(1)).is_some() && cache.get(&key(2)).is_some());
        // A line already kept is not replaced.
        assert!(!cache.offer(key(1), Bytes::from(vec![9; 1])));
        assert_eq!(cache.get(&key(1)).as_deref(), Some(&[1u8; 10][..]));
        assert_eq!(cache.bytes(), 25);
    }

    #[test]
    fn a_line_past_the_budget_is_not_kept_and_a_zero_budget_keeps_nothing() {
        let cache = LineCache::new(8);
        cache.put(key(1), Bytes::from(vec![0; 9]));
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.bytes(), 0);
        let none = LineCache::new(0);
        none.put(key(1), Bytes::from(vec![0; 1]));
        assert!(none.get(&key(1)).is_none());
        // Putting the same key twice counts its bytes once.
        cache.put(key(2), Bytes::from(vec![0; 4]));
        cache.put(key(2), Bytes::from(vec![0; 5]));
        assert_eq!(cache.bytes(), 5);
    }
}
