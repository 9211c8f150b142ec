//! How checkpoints are kept: a Yjs v1 state, deflated (a state compresses about five to
//! one: the keys and ids repeat), and when the index writes one.

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use super::HistoryError;
use crate::store::{Checkpoint, IndexState};

/// The encoding of new checkpoints.
pub const DEFLATED: &str = "v1+deflate";

/// A checkpoint of `state` (a v1 state) at `seq`, as stored.
pub fn pack(seq: i64, state: &[u8]) -> Checkpoint {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(state.len() / 4), Compression::fast());
    let packed = encoder.write_all(state).and_then(|()| encoder.finish());
    match packed {
        Ok(bytes) => Checkpoint {
            seq,
            state: bytes,
            encoding: DEFLATED.into(),
        },
        // Writing to memory does not fail; if it did, the state keeps as it is.
        Err(_) => Checkpoint {
            seq,
            state: state.to_vec(),
            encoding: "v1".into(),
        },
    }
}

/// The v1 state of a stored checkpoint.
pub fn unpack(picture_id: &str, checkpoint: &Checkpoint) -> Result<Vec<u8>, HistoryError> {
    let corrupt = || HistoryError::Corrupt {
        picture: picture_id.to_string(),
        seq: checkpoint.seq,
    };
    match checkpoint.encoding.as_str() {
        "v1" => Ok(checkpoint.state.clone()),
        DEFLATED => {
            let mut state = Vec::with_capacity(checkpoint.state.len() * 5);
            DeflateDecoder::new(&checkpoint.state[..])
                .read_to_end(&mut state)
                .map_err(|_| corrupt())?;
            Ok(state)
        }
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
    fn states_pack_and_unpack_to_the_same_bytes() {
        let state: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let packed = pack(7, &state);
        assert_eq!(packed.encoding, DEFLATED);
        assert!(packed.state.len() < state.len() / 4);
        assert_eq!(unpack("p", &packed).unwrap(), state);
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
