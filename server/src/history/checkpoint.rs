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

/// Whether the index writes a checkpoint after an update, standing at `state`: every
/// `every` updates, and not before the updates since the last one weigh as much as it
/// did. So checkpoints never take more room than the log (with the log, at most twice
/// the update bytes), and reading a moment costs one checkpoint and at most `every`
/// updates, or, for a document whose checkpoints outweigh `every` updates, about one
/// checkpoint's weight of updates.
pub fn due(state: &IndexState, every: i64) -> bool {
    state.since_checkpoint >= every && state.bytes_since >= state.checkpoint_bytes
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
    fn checkpoints_wait_for_as_many_update_bytes_as_the_last_one_weighs() {
        let at = |since, bytes_since, checkpoint_bytes| IndexState {
            indexed_seq: 1,
            since_checkpoint: since,
            bytes_since,
            checkpoint_bytes,
        };
        assert!(!due(&at(499, 90_000, 1_000), 500));
        assert!(due(&at(500, 90_000, 1_000), 500));
        assert!(
            !due(&at(500, 90_000, 200_000), 500),
            "a heavy document waits"
        );
        assert!(due(&at(2_000, 200_000, 200_000), 500));
    }
}
