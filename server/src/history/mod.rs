//! The annotation history: replaying how a picture's annotations grew, from the update
//! log the hub writes.
//!
//! Layout:
//! - `replay`: a document rebuilt from a checkpoint and logged updates, and what each
//!   update did to shapes and comments.
//! - `historian`: `Historian`, which indexes each log once (checkpoints every K updates,
//!   the activity grouped by author and time, every change to each shape).
//! - `checkpoint`: how checkpoints are stored (deflated) and when one is due.
//! - `restore`: the plan that turns the live document into an earlier one.
//! - `cpu`: where replays and indexing run (off the async runtime).
//! - `cache`: the frames' checkpoint lines, made once and kept in memory.
//!
//! The HTTP side is `routes::history`; storage is `store::HistoryStore`.

pub mod cache;
pub mod checkpoint;
pub mod cpu;
mod historian;
pub mod replay;
pub mod restore;

pub use historian::{author_key, Historian, HistoryMetrics, GROUP_GAP_MICROS};

use crate::store::StoreError;

/// Why the history could not answer.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thread doing the work stopped (it panicked, or the process is ending).
    #[error("the history's worker stopped before answering")]
    Stopped,
    /// A stored update or checkpoint does not decode.
    #[error("the stored history of picture {picture} does not decode at seq {seq}")]
    Corrupt {
        /// The picture.
        picture: String,
        /// Where.
        seq: i64,
    },
}

/// A moment of a picture's history, as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// After the update with this seq (or the last one before it).
    Seq(i64),
    /// After every update logged at or before this time (µs since 1970).
    At(i64),
    /// Now.
    Latest,
}

#[cfg(test)]
mod tests;
