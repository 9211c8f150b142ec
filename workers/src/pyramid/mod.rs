//! The IO-free pyramid engine: rows in, tile strips out. `plan` fixes every level's size
//! and tile grid before any pixel arrives, `level` holds one strip per level and shrinks
//! 2×2 into the level below, and `layout` names the tiles (DeepZoom, IIIF).

pub mod layout;
mod level;
mod limits;
mod plan;
mod pool;
mod resample;
mod shrink;

pub use layout::{Layout, TileKey};
pub use level::{Level, Output, Strip};
pub use limits::{Limits, DEFAULT_MAX_PIXELS, DEFAULT_MEMORY_BUDGET_BYTES};
pub use plan::{PyramidPlan, Rect};
pub use pool::{PooledPixels, StripBuffers};
pub use resample::{resize_area, RowResizer};

/// Levels whose long side is at most this are also offered whole, row by row, for the
/// IIIF `sizes`/`full/max` images and the thumbnails.
pub const WHOLE_MAX_SIDE: u32 = 2048;

/// All levels of one picture, fed top to bottom with full-resolution rows.
pub struct Pyramid {
    /// Indexed by level number; the last one is full resolution.
    levels: Vec<Level>,
    row_bytes: usize,
}

impl Pyramid {
    /// Builds every level for `plan`, with `channels` 3 (RGB) or 4 (RGBA); strip buffers
    /// are allocated as needed, however long the consumer keeps strips.
    pub fn new(plan: &PyramidPlan, channels: usize) -> Self {
        Self::with_buffers(plan, channels, |l| {
            StripBuffers::unbounded(Self::strip_bytes(plan, l, channels))
        })
    }

    /// Like `new`, but each level has `1 + in_flight(level)` strip buffers, allocated now;
    /// a level waits for the consumer to drop an old strip before handing out another.
    pub fn bounded(plan: &PyramidPlan, channels: usize, in_flight: impl Fn(u32) -> usize) -> Self {
        Self::with_buffers(plan, channels, |l| {
            StripBuffers::bounded(Self::strip_bytes(plan, l, channels), 1 + in_flight(l))
        })
    }

    fn with_buffers(
        plan: &PyramidPlan,
        channels: usize,
        buffers: impl Fn(u32) -> std::sync::Arc<StripBuffers>,
    ) -> Self {
        let levels = (0..=plan.max_level)
            .map(|l| Level::new(plan, l, channels, WHOLE_MAX_SIDE, buffers(l)))
            .collect();
        Pyramid {
            levels,
            row_bytes: plan.width as usize * channels,
        }
    }

    /// Pushes whole full-resolution rows; every strip that completes on any level, and
    /// every row of the small levels, is handed to `emit` as soon as it exists.
    pub fn push_rows(&mut self, rows: &[u8], emit: &mut impl FnMut(Output<'_>)) {
        for row in rows.chunks_exact(self.row_bytes) {
            let mut level = self.levels.len() - 1;
            let mut ready = self.levels[level].push_row(row, emit);
            while ready && level > 0 {
                // Each level hands its shrunk row to the one below it; split the borrow.
                let (lower, upper) = self.levels.split_at_mut(level);
                ready = lower[level - 1].push_row(upper[0].shrunk_row(), emit);
                level -= 1;
            }
        }
    }

    /// True once every level has received all its rows.
    pub fn is_complete(&self) -> bool {
        self.levels.iter().all(Level::is_complete)
    }

    /// Bytes of one strip of `level`.
    pub fn strip_bytes(plan: &PyramidPlan, level: u32, channels: usize) -> usize {
        Level::strip_capacity(plan, plan.level_size(level).0, channels)
    }

    /// Bytes a `bounded` pyramid holds: strips and row buffers, all set by the width.
    pub fn planned_memory(
        plan: &PyramidPlan,
        channels: usize,
        in_flight: impl Fn(u32) -> usize,
    ) -> u64 {
        (0..=plan.max_level)
            .map(|l| {
                Level::planned_memory(plan, l, channels)
                    + (1 + in_flight(l)) as u64 * Self::strip_bytes(plan, l, channels) as u64
            })
            .sum()
    }
}
