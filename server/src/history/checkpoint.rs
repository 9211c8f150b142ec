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
use yrs::Update;

use super::replay::Replay;
use super::HistoryError;
use crate::store::{Checkpoint, IndexState};

/// The encoding of new checkpoints.
pub const DEFLATED_V2: &str = "v2+deflate";
const DEFLATED_V1: &str = "v1+deflate";

/// A checkpoint of `replay`'s document, which holds every update up to `seq`.
pub fn pack(seq: i64, replay: &Replay) -> Checkpoint {
    let state = replay.state_v2();
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(state.len() / 3), Compression::fast());
    match encoder.write_all(&state).and_then(|()| encoder.finish()) {
        Ok(bytes) => Checkpoint {
            seq,
            state: bytes,
            encoding: DEFLATED_V2.into(),
        },
        // Writing to memory does not fail; if it did, the state keeps as it is.
        Err(_) => Checkpoint {
            seq,
            state: replay.state(),
            encoding: "v1".into(),
        },
    }
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
    pub fn replay(&self, observe: bool) -> Result<Replay, yrs::encoding::read::Error> {
        match self {
            State::V1(bytes) => Replay::from_state(bytes, observe),
            State::V2(bytes) => Replay::from_state_v2(bytes, observe),
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
}

impl CheckpointPolicy {
    /// A checkpoint every `every` updates.
    pub fn every(every: u32) -> CheckpointPolicy {
        CheckpointPolicy {
            every: i64::from(every.max(1)),
            by_weight: false,
        }
    }
}

/// Whether the index writes a checkpoint after an update, standing at `state`.
pub fn due(state: &IndexState, policy: CheckpointPolicy) -> bool {
    state.since_checkpoint >= policy.every
        && (!policy.by_weight || state.bytes_since >= state.checkpoint_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_keep_the_document_and_read_back_in_both_encodings() {
        let replay = Replay::new(false);
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
        assert_eq!(state.replay(false).unwrap().document(), replay.document());
        let v1 = unpack("p", &packed).unwrap().into_v1().unwrap();
        assert_eq!(
            Replay::from_state(&v1, false).unwrap().document(),
            replay.document()
        );
        // Older checkpoints still read.
        let old = Checkpoint {
            seq: 7,
            state: replay.state(),
            encoding: "v1".into(),
        };
        assert_eq!(
            unpack("p", &old).unwrap().replay(false).unwrap().document(),
            replay.document()
        );
        let broken = Checkpoint {
            state: vec![1, 2, 3],
            ..packed
        };
        assert!(unpack("p", &broken).is_err());
    }

    #[test]
    fn checkpoints_come_every_k_updates_or_by_weight() {
        let at = |since, bytes_since, checkpoint_bytes| IndexState {
            indexed_seq: 1,
            since_checkpoint: since,
            bytes_since,
            checkpoint_bytes,
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
    }
}
