//! What makes tile serving cheap: which pictures may be served, known without a
//! database round trip per tile; and the hot tiles kept in memory, bounded, with their
//! headers made once.
//!
//! A deleted picture stops being served at once on the node that deleted it (its entry
//! is marked gone and its tiles dropped) and, on other nodes, when its entry expires
//! (`--tile-servable-ttl-ms`, half a second by default). The hot-tile cache is only
//! read after that check, so it never serves a deleted picture's tile.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};

/// Pictures remembered at most (a flood of made-up ids cannot grow the table past it).
const MOST_REMEMBERED: usize = 100_000;

/// Whether pictures exist, as last read from the store.
#[derive(Debug)]
pub struct Servable {
    ttl: Duration,
    known: Mutex<HashMap<String, (bool, Instant)>>,
}

impl Servable {
    /// Answers are trusted for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Servable {
            ttl,
            known: Mutex::default(),
        }
    }

    /// What is known of `id` and still fresh at `now`.
    pub fn cached(&self, id: &str, now: Instant) -> Option<bool> {
        let known = self.known.lock().ok()?;
        let (servable, at) = known.get(id)?;
        (now.duration_since(*at) < self.ttl).then_some(*servable)
    }

    /// Notes what the store said of `id` at `now`.
    pub fn remember(&self, id: &str, servable: bool, now: Instant) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= MOST_REMEMBERED && !known.contains_key(id) {
                let ttl = self.ttl;
                known.retain(|_, (_, at)| now.duration_since(*at) < ttl);
                if known.len() >= MOST_REMEMBERED {
                    known.clear();
                }
            }
            known.insert(id.to_string(), (servable, now));
        }
    }

    /// `id` was deleted here: not servable, from now.
    pub fn gone(&self, id: &str) {
        self.remember(id, false, Instant::now());
    }
}

/// One cached object, its headers ready.
#[derive(Debug)]
pub struct Cached {
    pub bytes: Bytes,
    pub etag: HeaderValue,
    /// Every header of a full answer, made once (copied per answer, never rebuilt).
    pub headers: HeaderMap,
    /// Read since the clock hand last passed (second-chance eviction).
    referenced: AtomicBool,
}

impl Cached {
    pub fn new(bytes: Bytes, etag: HeaderValue, headers: HeaderMap) -> Self {
        Cached {
            bytes,
            etag,
            headers,
            referenced: AtomicBool::new(false),
        }
    }
}

#[derive(Debug, Default)]
struct Held {
    entries: HashMap<String, Arc<Cached>>,
    /// Keys in the order the clock hand visits them.
    order: VecDeque<String>,
    bytes: usize,
}

/// Hot tiles in memory, at most `limit` bytes of them (second-chance eviction, which
/// keeps the tiles that are read again).
#[derive(Debug)]
pub struct TileCache {
    limit: usize,
    held: Mutex<Held>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The cache key of `key` of picture `id`.
fn cache_key(id: &str, key: &str) -> String {
    let mut k = String::with_capacity(id.len() + key.len() + 1);
    k.push_str(id);
    k.push('/');
    k.push_str(key);
    k
}

impl TileCache {
    /// A cache of at most `limit` bytes (0: nothing is cached).
    pub fn new(limit: usize) -> Self {
        TileCache {
            limit,
            held: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Largest object cached: an eighth of the cache, and 1 MiB at most.
    fn largest(&self) -> usize {
        (self.limit / 8).min(1 << 20)
    }

    /// The cached `key` of picture `id`.
    pub fn get(&self, id: &str, key: &str) -> Option<Arc<Cached>> {
        if self.limit == 0 {
            return None;
        }
        let found = self.get_path(&cache_key(id, key));
        if found.is_none() {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// The cached object at `path`, `{id}/{key}` as in a tile's URL. A hit is counted,
    /// a miss is not (the caller that then reads the object counts it).
    pub fn get_path(&self, path: &str) -> Option<Arc<Cached>> {
        if self.limit == 0 {
            return None;
        }
        let found = self
            .held
            .lock()
            .ok()
            .and_then(|held| held.entries.get(path).cloned())?;
        found.referenced.store(true, Ordering::Relaxed);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(found)
    }

    /// Keeps `cached` as `key` of picture `id`, making room by evicting the least
    /// recently read; objects too big for the cache are not kept.
    pub fn insert(&self, id: &str, key: &str, cached: Arc<Cached>) {
        let size = cached.bytes.len();
        if size == 0 || size > self.largest() {
            return;
        }
        let Ok(mut held) = self.held.lock() else {
            return;
        };
        let k = cache_key(id, key);
        if held.entries.contains_key(&k) {
            return;
        }
        while held.bytes + size > self.limit {
            let Some(victim) = held.order.pop_front() else {
                break;
            };
            let second_chance = held
                .entries
                .get(&victim)
                .is_some_and(|c| c.referenced.swap(false, Ordering::Relaxed));
            if second_chance {
                held.order.push_back(victim);
            } else if let Some(evicted) = held.entries.remove(&victim) {
                held.bytes -= evicted.bytes.len();
            }
        }
        held.bytes += size;
        held.order.push_back(k.clone());
        held.entries.insert(k, cached);
    }

    /// Drops every cached object of picture `id`.
    pub fn forget_picture(&self, id: &str) {
        let prefix = cache_key(id, "");
        if let Ok(mut held) = self.held.lock() {
            let Held {
                entries,
                order,
                bytes,
            } = &mut *held;
            entries.retain(|k, c| {
                let keep = !k.starts_with(&prefix);
                if !keep {
                    *bytes -= c.bytes.len();
                }
                keep
            });
            order.retain(|k| !k.starts_with(&prefix));
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.held.lock().map_or(0, |held| held.bytes)
    }

    /// The limit, bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Reads answered from memory, and reads that were not.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(n: usize) -> Arc<Cached> {
        Arc::new(Cached::new(
            Bytes::from(vec![7u8; n]),
            HeaderValue::from_static("\"e\""),
            HeaderMap::new(),
        ))
    }

    #[test]
    fn never_grows_past_its_limit_and_keeps_what_is_read_again() {
        let cache = TileCache::new(8_000);
        for i in 0..100 {
            cache.insert("p", &format!("t{i}"), object(900));
            assert!(cache.bytes() <= 8_000, "{} bytes held", cache.bytes());
            // t0 is read after every insert: it must survive.
            assert!(
                cache.get("p", "t0").is_some(),
                "the hot tile was evicted at {i}"
            );
        }
        assert!(cache.get("p", "t99").is_some());
        assert!(
            cache.get_path("p/t99").is_some(),
            "the same object by its path"
        );
        assert!(cache.get("p", "t50").is_none());
        cache.insert("p", "big", object(1_001)); // over an eighth of the cache
        assert!(cache.get("p", "big").is_none());
        let (hits, misses) = cache.hits_and_misses();
        assert!(hits >= 100 && misses >= 2);
    }

    #[test]
    fn a_deleted_pictures_tiles_go() {
        let cache = TileCache::new(1 << 20);
        cache.insert("p", "a", object(10));
        cache.insert("p2", "a", object(10));
        cache.insert("q", "a", object(10));
        cache.forget_picture("p");
        assert!(cache.get("p", "a").is_none());
        assert!(
            cache.get("p2", "a").is_some(),
            "another picture whose id starts alike"
        );
        assert_eq!(cache.bytes(), 20);
        assert!(TileCache::new(0).get("q", "a").is_none());
    }

    #[test]
    fn servable_answers_expire_and_deletion_is_at_once() {
        let servable = Servable::new(Duration::from_millis(500));
        let now = Instant::now();
        servable.remember("p", true, now);
        assert_eq!(servable.cached("p", now), Some(true));
        assert_eq!(servable.cached("p", now + Duration::from_millis(600)), None);
        servable.gone("p");
        assert_eq!(servable.cached("p", Instant::now()), Some(false));
        assert_eq!(servable.cached("unknown", now), None);
    }
}
