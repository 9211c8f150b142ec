//! Huffman tables shared along a level's grid of JPEG tiles, the same whatever the
//! thread timing or strip height, so a picture always gives the same bytes (a resumed run
//! keeps what is stored; golden checksums hold).
//!
//! The rule: every tile of a grid's first row, and in later rows every `SAMPLE_EVERY`th
//! tile (staggered from row to row), is a sample: encoded with its own optimal tables
//! and its symbols counted. Every other tile of row `r` is encoded in one pass with
//! tables built from the samples of rows `0..r` of its activity class (how busy its
//! pixels are; the samples of all classes pooled while its own has none). An encoder that reaches row `r` before
//! the samples above it are counted waits for them; they were queued before it, so the
//! wait is at most the tile another thread has in hand.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::huffman::{SharedTables, SymbolCounts};
use super::{Huffman, PixelRect, TileEncoder};
use crate::error::TileError;

/// One sample tile per this many in a row (after the first row, where all are samples).
pub const SAMPLE_EVERY: u32 = 8;

/// What the counts of the rows above weigh each time a row is added: recent rows count
/// most, so the tables follow a picture whose content changes down the page.
const DECAY: (u64, u64) = (3, 4);

/// Where a tile sits in its grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TilePlace {
    /// Which grid of the level: tiles of different sizes (DeepZoom with overlap, IIIF
    /// without) learn their tables apart.
    pub grid: u32,
    /// Pyramid level.
    pub level: u32,
    /// Column in the level's grid.
    pub col: u32,
    /// Row in the level's grid.
    pub row: u32,
    /// Columns in the level's grid.
    pub cols: u32,
}

impl TilePlace {
    /// Whether this tile is encoded with its own tables and counted.
    pub fn is_sample(&self) -> bool {
        self.row == 0 || self.col % SAMPLE_EVERY == sample_column(self.row, self.cols)
    }
}

/// The column (mod `SAMPLE_EVERY`) sampled in `row`: staggered so that a picture's
/// columns take turns.
fn sample_column(row: u32, cols: u32) -> u32 {
    (row.wrapping_mul(5) % SAMPLE_EVERY) % cols.clamp(1, SAMPLE_EVERY)
}

fn samples_in_row(row: u32, cols: u32) -> usize {
    (0..cols)
        .filter(|&col| {
            TilePlace {
                grid: 0,
                level: 0,
                col,
                row,
                cols,
            }
            .is_sample()
        })
        .count()
}

/// Tiles are sorted by how busy they are (`activity_class`) and each class learns its
/// own tables: a page of text and a patch of sky want different codes.
pub const CLASSES: usize = 6;

/// How busy a tile is, 0 (flat) to `CLASSES - 1`: the mean difference between
/// neighbouring pixels (green, every fourth row), on a doubling scale.
pub fn activity_class(rect: &PixelRect<'_>) -> usize {
    let (mut sum, mut n) = (0u64, 0u64);
    let width = rect.width as usize;
    for y in (0..rect.height as usize).step_by(4) {
        let row = &rect.pixels[y * rect.stride..];
        let mut previous = row.get(1).copied().unwrap_or(0);
        for x in 1..width {
            let g = row[x * rect.channels + 1];
            sum += u64::from(g.abs_diff(previous));
            previous = g;
        }
        n += width.saturating_sub(1) as u64;
    }
    // Mean difference (in 1/4 steps): below 1, 2, 4, 8, 16, above.
    let mean4 = (sum * 4) / n.max(1);
    let class = (64 - mean4.leading_zeros()).saturating_sub(2) as usize;
    class.min(CLASSES - 1)
}

/// Counts by activity class, and all classes pooled.
#[derive(Default, Clone)]
struct ClassCounts {
    classes: [SymbolCounts; CLASSES],
    pooled: SymbolCounts,
}

/// Tables by activity class (`None`: the class has no samples yet; the pooled tables serve).
#[derive(Clone)]
struct ClassTables {
    classes: [Option<Arc<SharedTables>>; CLASSES],
    pooled: Arc<SharedTables>,
}

/// What one grid has learnt.
#[derive(Default)]
struct Grid {
    /// Samples still to be counted, by row (rows not yet seen: all of theirs).
    pending: BTreeMap<u32, usize>,
    /// Counts of rows at or after `folded_below`, by row.
    counts: BTreeMap<u32, ClassCounts>,
    /// The counts of every row before `folded_below`.
    folded: ClassCounts,
    folded_below: u32,
    /// Tables for the rows up to `folded_below`.
    tables: BTreeMap<u32, ClassTables>,
}

impl Grid {
    fn remaining(&mut self, row: u32, cols: u32) -> &mut usize {
        self.pending
            .entry(row)
            .or_insert_with(|| samples_in_row(row, cols))
    }

    /// Folds in every finished row it can; the tables for `row` and `class` once the
    /// rows above are done.
    fn tables_for(
        &mut self,
        row: u32,
        cols: u32,
        class: usize,
        standard: &SharedTables,
    ) -> Option<Arc<SharedTables>> {
        while self.folded_below < row && *self.remaining(self.folded_below, cols) == 0 {
            let done = self.folded_below;
            let previous = self.tables.get(&done).cloned();
            let mut next = previous.clone().unwrap_or_else(|| ClassTables {
                classes: Default::default(),
                pooled: Arc::new(SharedTables::learnt(&SymbolCounts::default(), standard)),
            });
            if let Some(counts) = self.counts.remove(&done) {
                // Scaling keeps a class's proportions: only classes with new samples
                // need new tables.
                for (c, added) in counts.classes.iter().enumerate() {
                    self.folded.classes[c].scale(DECAY.0, DECAY.1);
                    if !added.is_empty() {
                        self.folded.classes[c].add(added);
                        next.classes[c] = Some(Arc::new(SharedTables::learnt(
                            &self.folded.classes[c],
                            standard,
                        )));
                    }
                }
                self.folded.pooled.scale(DECAY.0, DECAY.1);
                self.folded.pooled.add(&counts.pooled);
                next.pooled = Arc::new(SharedTables::learnt(&self.folded.pooled, standard));
            }
            self.pending.remove(&done);
            self.folded_below += 1;
            self.tables.insert(self.folded_below, next);
        }
        let tables = self.tables.get(&row)?;
        Some(
            tables.classes[class]
                .clone()
                .unwrap_or_else(|| tables.pooled.clone()),
        )
    }
}

/// Grids by (grid, level).
type Grids = HashMap<(u32, u32), Grid>;

/// The shared tables of one tiling run, for all its grids and levels.
pub struct TableBook {
    grids: Mutex<Grids>,
    counted: Condvar,
    standard: SharedTables,
}

impl TableBook {
    /// A book for one run.
    pub fn new() -> Result<TableBook, TileError> {
        Ok(TableBook {
            grids: Mutex::default(),
            counted: Condvar::new(),
            standard: crate::jpeglib::standard_tables()?,
        })
    }

    /// Encodes a JPEG tile at `place`: a sample with its own tables (and counted), any
    /// other with its row's shared tables, waiting for them if need be. `stop` ends a
    /// wait when the run has failed.
    pub fn encode(
        &self,
        encoder: &TileEncoder,
        rect: PixelRect<'_>,
        place: TilePlace,
        stop: &AtomicBool,
    ) -> Result<Vec<u8>, TileError> {
        if place.is_sample() {
            let jpeg = encoder.encode_with(rect, Huffman::Optimised)?;
            let class = activity_class(&rect);
            let mut counts = SymbolCounts::default();
            counts
                .count_jpeg(&jpeg)
                .map_err(|e| TileError::Encode(e.to_string()))?;
            let mut grids = self.lock()?;
            let grid = grids.entry((place.grid, place.level)).or_default();
            let row = grid.counts.entry(place.row).or_default();
            row.classes[class].add(&counts);
            row.pooled.add(&counts);
            let left = grid.remaining(place.row, place.cols);
            *left = left.saturating_sub(1);
            drop(grids);
            self.counted.notify_all();
            return Ok(jpeg);
        }
        let class = activity_class(&rect);
        let tables = {
            let mut grids = self.lock()?;
            loop {
                let grid = grids.entry((place.grid, place.level)).or_default();
                if let Some(tables) = grid.tables_for(place.row, place.cols, class, &self.standard)
                {
                    break tables;
                }
                if stop.load(Ordering::Relaxed) {
                    return Err(TileError::Encode("the run stopped".into()));
                }
                grids = self
                    .counted
                    .wait_timeout(grids, Duration::from_millis(50))
                    .map_err(|_| poisoned())?
                    .0;
            }
        };
        encoder.encode_with(rect, Huffman::Shared(&tables))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Grids>, TileError> {
        self.grids.lock().map_err(|_| poisoned())
    }
}

fn poisoned() -> TileError {
    TileError::Encode("an encoder thread panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_row_all_samples_then_one_in_eight_staggered() {
        assert_eq!(samples_in_row(0, 20), 20);
        assert_eq!(samples_in_row(1, 16), 2);
        assert_eq!(samples_in_row(1, 3), 1);
        let column = |row| {
            (0..16).find(|&col| {
                TilePlace {
                    grid: 0,
                    level: 0,
                    col,
                    row,
                    cols: 16,
                }
                .is_sample()
            })
        };
        assert_ne!(column(1), column(2));
    }

    #[test]
    fn a_row_waits_for_the_samples_above_it() {
        let standard = crate::jpeglib::standard_tables().unwrap();
        let mut grid = Grid::default();
        assert!(grid.tables_for(2, 4, 0, &standard).is_none());
        // Row 0: four samples; row 1: one.
        for _ in 0..4 {
            *grid.remaining(0, 4) -= 1;
        }
        assert!(grid.tables_for(1, 4, 0, &standard).is_some());
        assert!(grid.tables_for(2, 4, 0, &standard).is_none());
        *grid.remaining(1, 4) -= 1;
        assert!(grid.tables_for(2, 4, 0, &standard).is_some());
        // Row 1 still gets the tables of row 0 alone.
        assert_eq!(
            grid.tables_for(1, 4, 0, &standard),
            grid.tables.get(&1).map(|t| t.pooled.clone())
        );
    }

    #[test]
    fn busier_tiles_get_higher_classes() {
        let class = |step: u8| {
            let pixels: Vec<u8> = (0..64 * 64 * 3)
                .map(|i| (((i / 3) % 64) as u8).wrapping_mul(step))
                .collect();
            activity_class(&PixelRect {
                pixels: &pixels,
                stride: 64 * 3,
                width: 64,
                height: 64,
                channels: 3,
            })
        };
        assert_eq!(class(0), 0);
        assert!(class(1) < class(3));
        assert_eq!(class(200), CLASSES - 1);
    }
}
