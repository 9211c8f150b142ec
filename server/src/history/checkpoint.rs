//! How checkpoints are kept: a Yjs v2 state, deflated (v2 puts each field of the
//! document's items in a column of its own, so ids, keys and lengths compress well:
//! a third of a deflated v1 state; older checkpoints, `v1` and `v1+deflate`, still
//! read), and when the index writes one.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Snapshot, Update};

use super::replay::{Replay, Use};
use super::HistoryError;
use crate::store::{Checkpoint, IndexState};

/// The encoding of new checkpoints.
pub const DEFLATED_V2: &str = "v2+deflate";
const DEFLATED_V1: &str = "v1+deflate";

/// A whole-state checkpoint of `replay`'s document, which holds every update up to `seq`.
pub fn pack(seq: i64, replay: &Replay) -> Checkpoint {
    let state = replay.state_v2();
    match deflate(&state) {
        Some(bytes) => Checkpoint {
            seq,
            base: None,
            state: bytes,
            encoding: DEFLATED_V2.into(),
            at: None,
        },
        // Writing to memory does not fail; if it did, the state keeps as it is.
        None => Checkpoint {
            seq,
            base: None,
            state: replay.state(),
            encoding: "v1".into(),
            at: None,
        },
    }
}

/// A delta checkpoint at `seq`: what `replay`'s document holds beyond the checkpoint at
/// `base_seq`, whose document stood at `base`; and the same delta as a v1 update (what
/// `history/frames` sends). `now` is `replay.snapshot()`.
pub fn pack_delta(
    seq: i64,
    replay: &Replay,
    base_seq: i64,
    base: &Snapshot,
    now: &Snapshot,
) -> (Checkpoint, Vec<u8>) {
    let (v1, v2) = replay.delta(base, now);
    let checkpoint = Checkpoint {
        seq,
        base: Some(base_seq),
        state: deflate(&v2).unwrap_or_default(),
        encoding: DEFLATED_V2.into(),
        at: None,
    };
    (checkpoint, v1)
}

fn deflate(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder =
        DeflateEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .ok()
}

/// The document at the newest checkpoint of `chain` (as `HistoryStore::checkpoint_chain`
/// reads it: a whole state, then deltas), or `None` for an empty chain.
pub fn open(
    picture_id: &str,
    chain: &[Checkpoint],
    purpose: Use,
) -> Result<Option<Replay>, HistoryError> {
    let Some((first, deltas)) = chain.split_first() else {
        return Ok(None);
    };
    let corrupt = |seq| HistoryError::Corrupt {
        picture: picture_id.to_string(),
        seq,
    };
    if first.base.is_some() {
        return Err(corrupt(first.seq)); // its base is gone
    }
    let replay = unpack(picture_id, first)?
        .replay(purpose)
        .map_err(|_| corrupt(first.seq))?;
    for delta in deltas {
        let applied = match unpack(picture_id, delta)? {
            State::V2(bytes) => replay.apply_v2(&bytes).is_ok(),
            State::V1(bytes) => replay.apply(&bytes).is_ok(),
        };
        if !applied {
            return Err(corrupt(delta.seq));
        }
    }
    Ok(Some(replay))
}

/// A stored checkpoint's state, inflated.
pub enum State {
    /// A Yjs v1 update.
    V1(Vec<u8>),
    /// A Yjs v2 update.
    V2(Vec<u8>),
}

impl State {
    /// The document, to replay more updates on.
    pub fn replay(&self, purpose: Use) -> Result<Replay, yrs::encoding::read::Error> {
        match self {
            State::V1(bytes) => Replay::from_state(bytes, purpose),
            State::V2(bytes) => Replay::from_state_v2(bytes, purpose),
        }
    }

    /// The state as a v1 update (what the frames give clients).
    pub fn into_v1(self) -> Result<Vec<u8>, yrs::encoding::read::Error> {
        match self {
            State::V1(bytes) => Ok(bytes),
            State::V2(bytes) => Ok(Update::decode_v2(&bytes)?.encode_v1()),
        }
    }
}

/// The state of a stored checkpoint.
pub fn unpack(picture_id: &str, checkpoint: &Checkpoint) -> Result<State, HistoryError> {
    let corrupt = || HistoryError::Corrupt {
        picture: picture_id.to_string(),
        seq: checkpoint.seq,
    };
    let inflate = || {
        let mut state = Vec::with_capacity(checkpoint.state.len() * 4);
        DeflateDecoder::new(&checkpoint.state[..])
            .read_to_end(&mut state)
            .map(|_| state)
            .map_err(|_| corrupt())
    };
    match checkpoint.encoding.as_str() {
        "v1" => Ok(State::V1(checkpoint.state.clone())),
        DEFLATED_V1 => Ok(State::V1(inflate()?)),
        DEFLATED_V2 => Ok(State::V2(inflate()?)),
        _ => Err(corrupt()),
    }
}

/// When the index writes checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// A checkpoint every this many updates: reading any moment costs one checkpoint and
    /// at most this many updates.
    pub every: i64,
    /// Past `every` updates, wait until the updates since the last checkpoint weigh as
    /// much as it did: checkpoints never take more room than the log (with the log, at
    /// most twice the update bytes), but for a document whose checkpoints outweigh
    /// `every` updates a moment costs about one checkpoint's weight of updates instead.
    pub by_weight: bool,
    /// Checkpoints between whole states are deltas on the previous one (what changed
    /// since), until the deltas since the last whole state weigh this many times as much
    /// as it did; then a whole state again. Reading a moment so costs one whole state,
    /// deltas that together weigh at most this many whole states, and at most `every`
    /// updates. 0: every checkpoint is a whole state.
    pub chain_weight: i64,
}

impl CheckpointPolicy {
    /// A checkpoint every `every` updates.
    pub fn every(every: u32) -> CheckpointPolicy {
        CheckpointPolicy {
            every: i64::from(every.max(1)),
            by_weight: false,
            chain_weight: DEFAULT_CHAIN_WEIGHT,
        }
    }
}

/// Deltas since a whole state may weigh this many times as much as it (the default of
/// `--history-checkpoint-chain-weight`).
pub const DEFAULT_CHAIN_WEIGHT: i64 = 2;

/// Whether the checkpoint now due may be a delta on the previous one.
pub fn as_delta(state: &IndexState, policy: CheckpointPolicy) -> bool {
    state.checkpoint_bytes > 0 && state.chain_bytes < state.checkpoint_bytes * policy.chain_weight
}

/// Updates since the last checkpoint that weigh at least this much, and as much as the
/// last whole state, bring a checkpoint before `every` updates (see `due`).
pub const HEAVY_TAIL: i64 = 256 * 1024;

/// Whether the index writes a checkpoint after an update, standing at `state`: every
/// `policy.every` updates (for `by_weight`, once they also weigh as much as the last
/// whole state), and sooner when a few large updates (restores of a whole document,
/// imports) already weigh as much as the last whole state and at least `HEAVY_TAIL`:
/// replaying them would cost more than opening a checkpoint. Such a checkpoint weighs
/// about what the updates it follows hold or less, so checkpoints still do not outweigh
/// the log.
pub fn due(state: &IndexState, policy: CheckpointPolicy) -> bool {
    let heavy = state.bytes_since >= state.checkpoint_bytes;
    (state.since_checkpoint >= policy.every && (!policy.by_weight || heavy))
        || (state.since_checkpoint >= 1 && heavy && state.bytes_since >= HEAVY_TAIL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_keep_the_document_and_read_back_in_both_encodings() {
        let replay = Replay::new(Use::Pack);
        let doc = yrs::Doc::new();
        let shapes = yrs::Map::insert(
            &doc.get_or_insert_map("shapes"),
            &mut yrs::Transact::transact_mut(&doc),
            "s1",
            yrs::MapPrelim::default(),
        );
        {
            let mut txn = yrs::Transact::transact_mut(&doc);
            for i in 0..200 {
                yrs::Map::insert(&shapes, &mut txn, format!("k{i}"), i64::from(i));
            }
        }
        let update = yrs::ReadTxn::encode_state_as_update_v1(
            &yrs::Transact::transact(&doc),
            &yrs::StateVector::default(),
        );
        replay.apply(&update).unwrap();
        let packed = pack(7, &replay);
        assert_eq!(packed.encoding, DEFLATED_V2);
        assert!(packed.state.len() < replay.state().len(), "smaller than v1");
        let state = unpack("p", &packed).unwrap();
        assert_eq!(
            state.replay(Use::Read).unwrap().document(),
            replay.document()
        );
        let v1 = unpack("p", &packed).unwrap().into_v1().unwrap();
        assert_eq!(
            Replay::from_state(&v1, Use::Read).unwrap().document(),
            replay.document()
        );
        // Older checkpoints still read.
        let old = Checkpoint {
            seq: 7,
            base: None,
            state: replay.state(),
            encoding: "v1".into(),
            at: None,
        };
        assert_eq!(
            unpack("p", &old)
                .unwrap()
                .replay(Use::Read)
                .unwrap()
                .document(),
            replay.document()
        );
        let broken = Checkpoint {
            state: vec![1, 2, 3],
            ..packed
        };
        assert!(unpack("p", &broken).is_err());
    }

    #[test]
    fn a_chain_of_deltas_reads_back_each_moment_and_weighs_less_than_whole_states() {
        use yrs::{Array, ArrayPrelim, Map, MapPrelim, Transact};
        // A client edits; the replay follows its updates. A whole state at the first
        // checkpoint, then deltas: each moment opens equal to the replay there, and
        // later updates apply to it as to the replay.
        let client = yrs::Doc::new();
        let shapes = client.get_or_insert_map("shapes");
        let notes = client.get_or_insert_array("notes");
        let replay = Replay::new(Use::Pack);
        let mut chain: Vec<Checkpoint> = Vec::new();
        let mut base: Option<(i64, yrs::Snapshot)> = None;
        let mut moments = Vec::new();
        let mut logged = Vec::new();
        for step in 0..1200i64 {
            let update = {
                let mut txn = client.transact_mut();
                let id = format!("s{}", step % 300);
                match step % 5 {
                    0 | 1 => {
                        let shape = shapes.insert(&mut txn, id, MapPrelim::default());
                        shape.insert(&mut txn, "x", step);
                        shape.insert(&mut txn, "label", format!("shape {step}"));
                    }
                    2 => {
                        if let Some(yrs::Out::YMap(shape)) = shapes.get(&txn, &id) {
                            shape.insert(&mut txn, "x", step as f64 + 0.5);
                        }
                    }
                    3 => {
                        shapes.remove(&mut txn, &id);
                        notes.push_back(&mut txn, ArrayPrelim::from([step]));
                    }
                    _ => {
                        if notes.len(&txn) > 3 {
                            notes.remove_range(&mut txn, 1, 2);
                        }
                    }
                }
                txn.encode_update_v1()
            };
            replay.apply(&update).unwrap();
            logged.push(update);
            if step % 100 == 99 {
                let packed = match &base {
                    Some((seq, snapshot)) => {
                        pack_delta(step, &replay, *seq, snapshot, &replay.snapshot()).0
                    }
                    None => pack(step, &replay),
                };
                base = Some((step, replay.snapshot()));
                chain.push(packed);
                moments.push((chain.len(), step, replay.document()));
            }
        }
        assert!(chain[1..].iter().all(|c| c.base.is_some()));
        let deltas: usize = chain[1..].iter().map(|c| c.state.len()).sum();
        let wholes = chain.len() * pack(0, &replay).state.len();
        assert!(
            deltas * 3 < wholes,
            "deltas {deltas} B against whole states {wholes} B"
        );
        for (len, step, document) in &moments {
            let opened = open("p", &chain[..*len], Use::Read).unwrap().unwrap();
            assert_eq!(&opened.document(), document, "the moment after step {step}");
            for update in &logged[*step as usize + 1..] {
                opened.apply(update).unwrap();
            }
            assert_eq!(
                opened.document(),
                replay.document(),
                "caught up from {step}"
            );
            // Each checkpoint as a v1 update, applied in order, as the frames give them.
            let applied = Replay::new(Use::Read);
            for c in &chain[..*len] {
                applied
                    .apply(&unpack("p", c).unwrap().into_v1().unwrap())
                    .unwrap();
            }
            assert_eq!(&applied.document(), document);
        }
        // The delta carries only the deletions its base lacked, not the whole delete set.
        let (_, last_base) = base.as_ref().unwrap();
        let plain = yrs::ReadTxn::encode_diff_v2(&client.transact(), &last_base.state_map);
        assert!(replay.delta(last_base, &replay.snapshot()).1.len() < plain.len());
        // A delta whose whole state is missing does not open.
        assert!(open("p", &chain[1..], Use::Read).is_err());
    }

    #[test]
    fn checkpoints_come_every_k_updates_or_by_weight() {
        let at = |since, bytes_since, checkpoint_bytes| IndexState {
            indexed_seq: 1,
            since_checkpoint: since,
            bytes_since,
            checkpoint_bytes,
            chain_bytes: 0,
        };
        let every = CheckpointPolicy::every(500);
        let weight = CheckpointPolicy {
            by_weight: true,
            ..every
        };
        assert!(!due(&at(499, 90_000, 1_000), every));
        assert!(
            due(&at(500, 90_000, 200_000), every),
            "every K, whatever it weighs"
        );
        assert!(due(&at(500, 90_000, 1_000), weight));
        assert!(
            !due(&at(500, 90_000, 200_000), weight),
            "a heavy document waits"
        );
        assert!(due(&at(2_000, 200_000, 200_000), weight));
        // A few large updates (a restore of 2,000 shapes weighs over 1 MiB).
        for policy in [every, weight] {
            assert!(due(&at(1, 1_300_000, 475_000), policy), "one restore");
            assert!(
                !due(&at(3, 300_000, 475_000), policy),
                "lighter than the whole state"
            );
            assert!(
                !due(&at(3, 200_000, 20_000), policy),
                "heavier than a small document's state, but light"
            );
            assert!(due(&at(3, HEAVY_TAIL, 20_000), policy));
            assert!(!due(&at(0, HEAVY_TAIL, 20_000), policy), "nothing since");
        }
    }
}
