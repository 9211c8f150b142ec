//! What the history keeps in memory once made: what `history/frames` sends for each
//! checkpoint, and the moments rebuilt last.
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
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::Engine;
use serde_json::json;
use yrs::Any;

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

/// Values kept up to a byte budget, the least recently read going first.
struct Kept<K, V> {
    entries: HashMap<K, Held<V>>,
    bytes: usize,
    clock: u64,
}

struct Held<V> {
    value: V,
    bytes: usize,
    used: u64,
}

impl<K, V> Default for Kept<K, V> {
    fn default() -> Self {
        Kept {
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
        }
    }
}

impl<K: Eq + Hash + Clone, V> Kept<K, V> {
    /// The value kept for `key`, marked as read now.
    fn read(&mut self, key: &K) -> Option<&V> {
        self.clock += 1;
        let now = self.clock;
        let held = self.entries.get_mut(key)?;
        held.used = now;
        Some(&held.value)
    }

    /// Keeps `value` (`bytes` of memory) for `key`, replacing what it had.
    fn keep(&mut self, key: K, value: V, bytes: usize) {
        self.clock += 1;
        let used = self.clock;
        self.bytes += bytes;
        if let Some(old) = self.entries.insert(key, Held { value, bytes, used }) {
            self.bytes -= old.bytes;
        }
    }

    fn forget(&mut self, key: &K) {
        if let Some(gone) = self.entries.remove(key) {
            self.bytes -= gone.bytes;
        }
    }

    /// Forgets every value for which `gone` holds.
    fn forget_where(&mut self, gone: impl Fn(&K, &V) -> bool) {
        let bytes = &mut self.bytes;
        self.entries.retain(|key, held| {
            let keep = !gone(key, &held.value);
            if !keep {
                *bytes -= held.bytes;
            }
            keep
        });
    }

    /// Forgets the least recently read values until what is kept fits `budget`.
    fn fit(&mut self, budget: usize) {
        while self.bytes > budget {
            // A few hundred entries at most for a budget of tens of MiB: a scan is cheap
            // beside the work that made a value.
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, held)| held.used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            self.forget(&oldest);
        }
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The budget when none is configured (`--history-cache-mib`'s default).
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Checkpoint lines, up to `budget` bytes.
pub struct LineCache {
    budget: usize,
    lines: Mutex<Kept<LineKey, Bytes>>,
}

impl LineCache {
    /// A cache of at most `budget` bytes of lines (0: none kept).
    pub fn new(budget: usize) -> LineCache {
        LineCache {
            budget,
            lines: Mutex::default(),
        }
    }

    /// The line made for `key`, if it is still kept.
    pub fn get(&self, key: &LineKey) -> Option<Bytes> {
        locked(&self.lines).read(key).cloned()
    }

    /// Keeps `line` for `key`, forgetting the least recently read lines past the budget.
    /// A line larger than the whole budget is not kept.
    pub fn put(&self, key: LineKey, line: Bytes) {
        if line.len() > self.budget {
            return;
        }
        let mut lines = locked(&self.lines);
        let bytes = line.len();
        lines.keep(key, line, bytes);
        lines.fit(self.budget);
    }

    /// Whether a line of `bytes` would fit beside those kept without pushing any out.
    pub fn has_room(&self, bytes: usize) -> bool {
        locked(&self.lines).bytes + bytes <= self.budget
    }

    /// Keeps `line` for `key` if it fits without pushing out another line (one made
    /// before anybody asked for it); whether it was kept.
    pub fn offer(&self, key: LineKey, line: Bytes) -> bool {
        let mut lines = locked(&self.lines);
        if lines.bytes + line.len() > self.budget || lines.entries.contains_key(&key) {
            return false;
        }
        let bytes = line.len();
        lines.keep(key, line, bytes);
        true
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        locked(&self.lines).bytes
    }
}

/// A picture's shapes and comments at one moment, as yrs values (what a restore compares
/// the live document with, and what `history/state` sends).
pub type Roots = (Any, Any);

/// How long a rebuilt moment is kept after it was made.
pub const MOMENT_TTL: Duration = Duration::from_secs(60);

/// The moments rebuilt last, per (picture, seq), kept a short while.
///
/// Rebuilding a moment (its checkpoint chain, then the logged updates after it) took
/// 270-560 ms on the benchmark's 2,000-shape document of 100,000 updates. A restore asks
/// for it twice in a row: its confirmation first asks for a dry run, then the restore
/// itself. A moment never changes (the log only grows), so the second ask finds the
/// first's. They are kept for `MOMENT_TTL` only: one is for the next few requests, not
/// for seeks.
pub struct MomentCache {
    budget: usize,
    ttl: Duration,
    moments: Mutex<Kept<(String, i64), Made>>,
}

/// A moment and when it was made.
type Made = (Arc<Roots>, Instant);

impl MomentCache {
    /// A cache of at most `budget` bytes (as `roots_bytes` counts them; 0: none kept),
    /// each kept for `ttl`.
    pub fn new(budget: usize, ttl: Duration) -> MomentCache {
        MomentCache {
            budget,
            ttl,
            moments: Mutex::default(),
        }
    }

    /// The moment at `seq`, if it was made less than the TTL ago.
    pub fn get(&self, picture: &str, seq: i64) -> Option<Arc<Roots>> {
        let key = (picture.to_string(), seq);
        let mut moments = locked(&self.moments);
        match moments.read(&key) {
            Some((roots, made)) if made.elapsed() < self.ttl => Some(Arc::clone(roots)),
            Some(_) => {
                moments.forget(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps `roots` as the moment at `seq` (`bytes` of memory), forgetting the least
    /// recently read past the budget; a moment larger than the budget is not kept.
    pub fn put(&self, picture: &str, seq: i64, roots: Arc<Roots>, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        let mut moments = locked(&self.moments);
        let ttl = self.ttl;
        moments.forget_where(|_, (_, made)| made.elapsed() >= ttl);
        moments.keep((picture.to_string(), seq), (roots, Instant::now()), bytes);
        moments.fit(self.budget);
    }

    /// Forgets every moment of `picture` (it was deleted).
    pub fn forget_picture(&self, picture: &str) {
        locked(&self.moments).forget_where(|(p, _), _| p == picture);
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        locked(&self.moments).bytes
    }
}

/// About the memory `roots` holds: what its strings and numbers take, and each map's and
/// array's entries (an estimate for the budget, within a small factor).
pub fn roots_bytes(roots: &Roots) -> usize {
    fn size(any: &Any) -> usize {
        const SLOT: usize = std::mem::size_of::<Any>();
        SLOT + match any {
            Any::String(s) => s.len(),
            Any::Buffer(b) => b.len(),
            Any::Array(items) => items.iter().map(size).sum(),
            Any::Map(fields) => fields.iter().map(|(k, v)| 24 + k.len() + size(v)).sum(),
            _ => 0,
        }
    }
    size(&roots.0) + size(&roots.1)
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

    fn roots(n: usize) -> Arc<Roots> {
        let shapes: HashMap<String, Any> = (0..n)
            .map(|i| (format!("shape-{i}"), Any::from(i as f64)))
            .collect();
        Arc::new((Any::from(shapes), Any::from(HashMap::<String, Any>::new())))
    }

    #[test]
    fn a_moment_is_kept_for_its_ttl_within_the_budget() {
        let moments = MomentCache::new(1000, Duration::from_millis(200));
        moments.put("p", 5, roots(1), 400);
        moments.put("p", 6, roots(2), 400);
        let kept = moments.get("p", 5).expect("seq 5 kept");
        assert_eq!(kept, roots(1));
        assert!(moments.get("q", 5).is_none(), "another picture's moment");
        assert!(moments.get("p", 7).is_none(), "another seq");
        // 6 is now the least recently read: a third moment pushes it out.
        moments.put("p", 8, roots(3), 400);
        assert!(moments.get("p", 6).is_none());
        assert!(moments.get("p", 5).is_some() && moments.get("p", 8).is_some());
        assert_eq!(moments.bytes(), 800);
        // Past the budget alone: not kept.
        moments.put("p", 9, roots(4), 1001);
        assert!(moments.get("p", 9).is_none());
        // Past its TTL, a moment is gone and its bytes with it.
        std::thread::sleep(Duration::from_millis(250));
        assert!(moments.get("p", 5).is_none());
        moments.put("p", 10, roots(1), 100);
        assert_eq!(moments.bytes(), 100, "stale moments go when another comes");
        moments.forget_picture("p");
        assert_eq!(moments.bytes(), 0);
        assert!(moments.get("p", 10).is_none());
        let none = MomentCache::new(0, MOMENT_TTL);
        none.put("p", 1, roots(1), 1);
        assert!(none.get("p", 1).is_none(), "a zero budget keeps nothing");
    }

    #[test]
    fn roots_bytes_grow_with_what_they_hold() {
        let small = roots_bytes(&roots(10));
        let large = roots_bytes(&roots(1000));
        assert!(small > 10 * 24, "{small}");
        assert!(large > 90 * small, "{large} vs {small}");
        let text = |s: &str| Arc::new((Any::from(s), Any::Null));
        assert_eq!(
            roots_bytes(&text(&"x".repeat(1000))) - roots_bytes(&text("")),
            1000
        );
    }
}
