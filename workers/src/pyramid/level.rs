//! One level of the pyramid: a strip of rows that slides down the picture. When the rows
//! of a tile row are all in, the strip is handed out whole (no copy) and only the overlap
//! rows are carried into the next strip. Every row is also folded into the 2×2 shrink
//! that feeds the level below.

use std::sync::Arc;

use super::plan::PyramidPlan;
use super::pool::{PooledPixels, StripBuffers};
use super::shrink::Accumulator;

/// The rows of one tile row of one level, with overlap; tiles are cut from it.
#[derive(Debug, Clone)]
pub struct Strip {
    /// Level number.
    pub level: u32,
    /// Tile row number.
    pub tile_row: u32,
    /// First row of the level held, in level pixels.
    pub top: u32,
    /// Rows held.
    pub rows: u32,
    /// Level width.
    pub width: u32,
    /// 3 or 4.
    pub channels: usize,
    /// `rows × width × channels` bytes.
    pub pixels: Arc<PooledPixels>,
}

/// What the pyramid hands out as it fills.
#[derive(Debug)]
pub enum Output<'a> {
    /// A tile row's strip, ready to be cut into tiles.
    Strip(Strip),
    /// Row `y` of a level small enough to be offered whole (IIIF sizes, thumbnails).
    Row {
        /// Level number.
        level: u32,
        /// Row number in the level.
        y: u32,
        /// The row's pixels.
        row: &'a [u8],
    },
}

/// One level being filled.
pub struct Level {
    plan: PyramidPlan,
    index: u32,
    width: u32,
    height: u32,
    channels: usize,
    tile_rows: u32,
    strip: Vec<u8>,
    strip_top: u32,
    rows_seen: u32,
    next_tile_row: u32,
    /// Sums for the level below; none on level 0.
    shrink: Option<Accumulator>,
    shrunk: Vec<u8>,
    /// Small enough to be offered whole: every row is also handed out as it arrives.
    whole: bool,
    buffers: Arc<StripBuffers>,
}

impl Level {
    /// An empty level `index` of `plan`; its rows are handed out one by one too when its
    /// long side ≤ `whole_max_side`.
    pub fn new(
        plan: &PyramidPlan,
        index: u32,
        channels: usize,
        whole_max_side: u32,
        buffers: Arc<StripBuffers>,
    ) -> Self {
        let (width, height) = plan.level_size(index);
        let (_, tile_rows) = plan.grid(index);
        let (below_width, _) = if index > 0 {
            plan.level_size(index - 1)
        } else {
            (0, 0)
        };
        Level {
            plan: plan.clone(),
            index,
            width,
            height,
            channels,
            tile_rows,
            strip: buffers.take(),
            strip_top: 0,
            rows_seen: 0,
            next_tile_row: 0,
            shrink: (index > 0).then(|| Accumulator::new(below_width as usize, channels)),
            shrunk: vec![0; below_width as usize * channels],
            whole: width.max(height) <= whole_max_side,
            buffers,
        }
    }

    /// Bytes of one strip of a level `width` pixels wide.
    pub fn strip_capacity(plan: &PyramidPlan, width: u32, channels: usize) -> usize {
        (plan.tile_size + 2 * plan.overlap) as usize * width as usize * channels
    }

    /// Bytes of the shrink sums and row; strips are counted by their buffers.
    pub fn planned_memory(plan: &PyramidPlan, index: u32, channels: usize) -> u64 {
        let (width, _) = plan.level_size(index);
        u64::from(width.div_ceil(2)) * channels as u64 * 5
    }

    /// Level number.
    pub fn index(&self) -> u32 {
        self.index
    }
    /// Level width.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Level height.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// All rows received.
    pub fn is_complete(&self) -> bool {
        self.rows_seen == self.height
    }
    /// The row most recently produced for the level below.
    pub fn shrunk_row(&self) -> &[u8] {
        &self.shrunk
    }

    /// Takes the next row of this level. Returns true when a row for the level below is
    /// ready in `shrunk_row`.
    pub fn push_row(&mut self, row: &[u8], emit: &mut impl FnMut(Output<'_>)) -> bool {
        if self.rows_seen >= self.height {
            return false; // a decoder that over-delivers must not corrupt the pyramid
        }
        if self.whole {
            emit(Output::Row {
                level: self.index,
                y: self.rows_seen,
                row,
            });
        }
        self.rows_seen += 1;
        self.strip.extend_from_slice(row);
        // With overlap, the last two tile rows can both end at the bottom edge.
        while self.next_tile_row < self.tile_rows {
            let (start, end) = self.plan.strip_rows(self.index, self.next_tile_row);
            if self.rows_seen != end {
                break;
            }
            self.hand_out(start, end, emit);
        }
        match &mut self.shrink {
            Some(acc) => {
                acc.add_row(row);
                if acc.rows() == 2 || self.rows_seen == self.height {
                    acc.finish(&mut self.shrunk);
                    return true;
                }
                false
            }
            None => false,
        }
    }

    fn hand_out(&mut self, start: u32, end: u32, emit: &mut impl FnMut(Output<'_>)) {
        let row_bytes = self.width as usize * self.channels;
        let next_start = if self.next_tile_row + 1 < self.tile_rows {
            self.plan.strip_rows(self.index, self.next_tile_row + 1).0
        } else {
            end
        };
        let mut next = self.buffers.take();
        next.extend_from_slice(&self.strip[(next_start - self.strip_top) as usize * row_bytes..]);
        let pixels = std::mem::replace(&mut self.strip, next);
        debug_assert_eq!(start, self.strip_top);
        emit(Output::Strip(Strip {
            level: self.index,
            tile_row: self.next_tile_row,
            top: start,
            rows: end - start,
            width: self.width,
            channels: self.channels,
            pixels: Arc::new(self.buffers.lend(pixels)),
        }));
        self.strip_top = next_start;
        self.next_tile_row += 1;
    }
}
