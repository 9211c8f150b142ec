//! Errors of the pyramid engine, by who is at fault: the picture (`Input*`), the
//! configured limits, or this machine (`Io`, `Storage`).

use std::io;

/// Why a picture could not be tiled.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    /// The bytes are not a format we read (detected by magic bytes, never by name).
    #[error("unsupported picture format: {0}")]
    Unsupported(String),
    /// The file claims to be a picture but its data is broken.
    #[error("the picture is corrupt: {0}")]
    Corrupt(String),
    /// The file ends before the picture does.
    #[error("the picture is truncated: {0}")]
    Truncated(String),
    /// Refused from the header alone, before any large allocation.
    #[error("the picture is {width}×{height} = {pixels} pixels, over the limit of {limit} pixels")]
    TooManyPixels {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// width × height.
        pixels: u64,
        /// The configured `max_pixels`.
        limit: u64,
    },
    /// Decoding this picture this way would need more memory than the budget allows.
    #[error("{what} needs {needed_mib} MiB, over the memory budget of {budget_mib} MiB")]
    OverBudget {
        /// What needs the memory, in words a person understands.
        what: String,
        /// Memory needed, MiB.
        needed_mib: u64,
        /// The configured memory budget, MiB.
        budget_mib: u64,
    },
    /// Options that cannot work together (tile size 0, quality 200, …).
    #[error("invalid tiling options: {0}")]
    InvalidOptions(String),
    /// Reading the input or a temporary file failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// Writing tiles to storage failed.
    #[error("storage error: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// A tile could not be encoded.
    #[error("encoding a tile failed: {0}")]
    Encode(String),
}

impl TileError {
    /// True when the picture itself is at fault (the user must change the file), as
    /// opposed to this machine or its storage; jobs do not retry these.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            TileError::Unsupported(_)
                | TileError::Corrupt(_)
                | TileError::Truncated(_)
                | TileError::TooManyPixels { .. }
                | TileError::OverBudget { .. }
        )
    }

    pub(crate) fn over_budget(what: impl Into<String>, needed: u64, budget: u64) -> Self {
        TileError::OverBudget {
            what: what.into(),
            needed_mib: needed.div_ceil(1 << 20),
            budget_mib: budget >> 20,
        }
    }
}
