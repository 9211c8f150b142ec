//! A document replayed from the log, one update at a time, telling what each update did
//! to shapes and comments (for the activity and the per-shape history), and reading the
//! document back as JSON in DESIGN.md's shape.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use yrs::types::{Change, EntryChange, Event, PathSegment, ToJson};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, DeepObservable, Doc, Map, MapRef, Out, ReadTxn, Snapshot, StateVector, Transact, Update,
};

/// What one update did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// Shapes that appeared.
    pub added: BTreeSet<String>,
    /// Shapes whose fields changed (and did not appear in the same update).
    pub changed: BTreeSet<String>,
    /// Shapes that went away.
    pub deleted: BTreeSet<String>,
    /// Comment messages posted or taken away (a deleted thread counts its messages).
    pub comments: i64,
}

impl Effects {
    /// Every shape the update touched.
    pub fn shapes(&self) -> impl Iterator<Item = &String> {
        self.added
            .iter()
            .chain(self.changed.iter())
            .chain(self.deleted.iter().filter(|id| !self.added.contains(*id)))
    }
}

/// What a replayed document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// The index: what each update did is observed (`Effects`), and deleted content is
    /// collected as it goes (checkpoints are encoded from this document).
    Index,
    /// Read, then dropped (a moment's JSON, a restore's target): nothing observed, and
    /// deleted content is kept instead of collected after every update. Collecting is
    /// most of what replaying a mass delete or a restore costs (a third of reading a
    /// moment just after a few restores of 2,000 shapes); such a document is never
    /// encoded for keeping.
    Read,
    /// Encoded for keeping (a named version's checkpoint): nothing observed, deleted
    /// content collected.
    Pack,
}

/// A document rebuilt from a checkpoint and logged updates.
pub struct Replay {
    doc: Doc,
    shapes: MapRef,
    comments: MapRef,
    effects: Option<Arc<Mutex<Effects>>>,
}

impl Replay {
    /// An empty document for `purpose` (observing each update's `Effects` costs a
    /// little).
    pub fn new(purpose: Use) -> Replay {
        let doc = Doc::with_options(yrs::Options {
            skip_gc: purpose == Use::Read,
            ..yrs::Options::default()
        });
        let shapes = doc.get_or_insert_map("shapes");
        let comments = doc.get_or_insert_map("comments");
        let effects = (purpose == Use::Index).then(|| {
            let effects = Arc::new(Mutex::new(Effects::default()));
            let sink = Arc::clone(&effects);
            shapes.observe_deep("history", move |txn, events| {
                let mut e = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for event in events.iter() {
                    let path = event.path();
                    match (event, path.front()) {
                        (Event::Map(map), None) => {
                            for (key, change) in map.keys(txn) {
                                let key = key.to_string();
                                match change {
                                    EntryChange::Inserted(_) => e.added.insert(key),
                                    EntryChange::Updated(_, _) => e.changed.insert(key),
                                    EntryChange::Removed(_) => e.deleted.insert(key),
                                };
                            }
                        }
                        (_, Some(PathSegment::Key(id))) => {
                            e.changed.insert(id.to_string());
                        }
                        _ => {}
                    }
                }
                let added = e.added.clone();
                e.changed.retain(|id| !added.contains(id));
            });
            let sink = Arc::clone(&effects);
            comments.observe_deep("history", move |txn, events| {
                let mut e = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for event in events.iter() {
                    match event {
                        Event::Map(map) if event.path().is_empty() => {
                            for change in map.keys(txn).values() {
                                e.comments += match change {
                                    EntryChange::Inserted(thread) => messages_in(thread, txn),
                                    EntryChange::Updated(old, thread) => {
                                        messages_in(old, txn) + messages_in(thread, txn)
                                    }
                                    EntryChange::Removed(old) => messages_in(old, txn),
                                };
                            }
                        }
                        Event::Array(array) => {
                            for change in array.delta(txn) {
                                e.comments += match change {
                                    Change::Added(items) => items.len() as i64,
                                    Change::Removed(n) => i64::from(*n),
                                    Change::Retain(_) => 0,
                                };
                            }
                        }
                        _ => {}
                    }
                }
            });
            effects
        });
        Replay {
            doc,
            shapes,
            comments,
            effects,
        }
    }

    /// The document of a checkpoint's state (a v1 update).
    pub fn from_state(state: &[u8], purpose: Use) -> Result<Replay, yrs::encoding::read::Error> {
        let replay = Replay::new(purpose);
        replay.apply(state)?;
        Ok(replay)
    }

    /// The document of a checkpoint's state as a v2 update.
    pub fn from_state_v2(state: &[u8], purpose: Use) -> Result<Replay, yrs::encoding::read::Error> {
        let replay = Replay::new(purpose);
        replay.apply_v2(state)?;
        Ok(replay)
    }

    /// Applies a checkpoint's delta (a v2 update), observing nothing.
    pub fn apply_v2(&self, update: &[u8]) -> Result<(), yrs::encoding::read::Error> {
        self.integrate(Update::decode_v2(update)?);
        self.take_effects();
        Ok(())
    }

    /// Applies one logged update; what it did (empty without observing).
    pub fn apply(&self, update: &[u8]) -> Result<Effects, yrs::encoding::read::Error> {
        self.integrate(Update::decode_v1(update)?);
        Ok(self.take_effects())
    }

    fn integrate(&self, update: Update) {
        let mut txn = self.doc.transact_mut();
        if let Err(e) = txn.apply_update(update) {
            // Logged updates applied on the live document; whatever yrs takes of one
            // here is what it took there.
            tracing::warn!(error = %e, "a logged update does not apply cleanly");
            crate::metrics::failed(crate::metrics::Failure::HistoryReplay);
        }
    }

    fn take_effects(&self) -> Effects {
        self.effects
            .as_ref()
            .map(|e| {
                std::mem::take(&mut *e.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
            })
            .unwrap_or_default()
    }

    /// The whole state as a v1 update (what clients apply).
    pub fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// The whole state as a v2 update, for a checkpoint: smaller, and it deflates better
    /// (each field in a column of its own).
    pub fn state_v2(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v2(&StateVector::default())
    }

    /// Where the document stands (state vector and delete set): the base of a delta.
    pub fn snapshot(&self) -> Snapshot {
        self.doc.transact().snapshot()
    }

    /// What the document holds beyond `base`, an earlier moment of the same history, as
    /// a v1 update and as a v2 one: the blocks past base's state vector and the deletions
    /// base lacked. Applied to the document at `base`, it gives this one. (A plain diff
    /// carries the whole delete set, which on a long history weighs more than the new
    /// blocks.) `now` is this document's `snapshot()` (the caller keeps it as the next base).
    pub fn delta(&self, base: &Snapshot, now: &Snapshot) -> (Vec<u8>, Vec<u8>) {
        let txn = self.doc.transact();
        let diff = txn.encode_diff_v1(&base.state_map);
        // A v1 diff is the blocks, then the delete set: swap in only the new deletions.
        let whole_ds = now.delete_set.encode_v1();
        if let Some(blocks) = diff.strip_suffix(whole_ds.as_slice()) {
            let mut update = blocks.to_vec();
            update.extend(now.delete_set.diff(&base.delete_set).encode_v1());
            if let Ok(decoded) = Update::decode_v1(&update) {
                let v2 = decoded.encode_v2();
                return (update, v2);
            }
        }
        // Not laid out as expected: the diff with its whole delete set is still right.
        let v2 = txn.encode_diff_v2(&base.state_map);
        (diff, v2)
    }

    /// One shape as JSON, if it exists.
    pub fn shape(&self, id: &str) -> Option<Value> {
        let txn = self.doc.transact();
        self.shapes
            .get(&txn, id)
            .map(|out| json(&out.to_json(&txn)))
    }

    /// The document as DESIGN.md gives it: `{shapes: {id: shape}, comments: {id: thread}}`.
    pub fn document(&self) -> Value {
        roots_document(&self.roots())
    }

    /// The shapes and comments as yrs values, for comparing with another document.
    pub fn roots(&self) -> (Any, Any) {
        let txn = self.doc.transact();
        (self.shapes.to_json(&txn), self.comments.to_json(&txn))
    }
}

/// Shapes and comments (`Replay::roots`) as DESIGN.md gives the document.
pub fn roots_document(roots: &(Any, Any)) -> Value {
    serde_json::json!({"shapes": json(&roots.0), "comments": json(&roots.1)})
}

/// A live document as DESIGN.md gives it: `{shapes: {id: shape}, comments: {id: thread}}`.
pub fn document_json(doc: &yrs::Doc) -> Value {
    let txn = doc.transact();
    let root = |name: &str| {
        txn.get_map(name)
            .map_or_else(|| serde_json::json!({}), |m| json(&m.to_json(&txn)))
    };
    serde_json::json!({"shapes": root("shapes"), "comments": root("comments")})
}

/// Messages in a thread that was just inserted.
fn messages_in<T: ReadTxn>(thread: &Out, txn: &T) -> i64 {
    match thread.to_json(txn) {
        Any::Map(fields) => match fields.get("messages") {
            Some(Any::Array(messages)) => messages.len() as i64,
            _ => 0,
        },
        _ => 0,
    }
}

/// A yrs value as JSON; whole numbers are written without a fraction (as JavaScript's
/// `JSON.stringify` would), so the same document reads the same from either side.
pub fn json(any: &Any) -> Value {
    match any {
        Any::Null | Any::Undefined => Value::Null,
        Any::Bool(b) => Value::Bool(*b),
        Any::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() < (1 << 53) => Value::from(i),
            _ => n.as_f64().map_or(Value::Null, |f| {
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }),
        },
        Any::String(s) => Value::String(s.to_string()),
        Any::Buffer(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
        Any::Array(items) => Value::Array(items.iter().map(json).collect()),
        Any::Map(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), json(v))).collect())
        }
    }
}
