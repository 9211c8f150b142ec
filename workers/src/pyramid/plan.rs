//! The shape of a pyramid, fixed before any pixel arrives: level sizes (DeepZoom's
//! rule, `ceil(size / 2^k)`, so each level is exactly the 2×2 shrink of the one above),
//! tile grids and tile rectangles with overlap.

use crate::error::TileError;

/// A rectangle in one level's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Level sizes and tile grids for one picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyramidPlan {
    /// Full-resolution width.
    pub width: u32,
    /// Full-resolution height.
    pub height: u32,
    /// Tile side without overlap.
    pub tile_size: u32,
    /// Pixels each tile shares with its neighbours, per side (DeepZoom).
    pub overlap: u32,
    /// Number of the full-resolution level; level 0 is 1×1.
    pub max_level: u32,
}

impl PyramidPlan {
    /// Plans a pyramid; tile size 1..=8192, overlap below the tile size.
    pub fn new(width: u32, height: u32, tile_size: u32, overlap: u32) -> Result<Self, TileError> {
        if width == 0 || height == 0 {
            return Err(TileError::InvalidOptions("the picture is empty".into()));
        }
        if !(1..=8192).contains(&tile_size) {
            return Err(TileError::InvalidOptions(format!(
                "tile size {tile_size} is outside 1..=8192"
            )));
        }
        if overlap >= tile_size {
            return Err(TileError::InvalidOptions(format!(
                "overlap {overlap} must be smaller than the tile size {tile_size}"
            )));
        }
        let longest = width.max(height);
        let max_level = if longest <= 1 {
            0
        } else {
            u32::BITS - (longest - 1).leading_zeros()
        };
        Ok(PyramidPlan {
            width,
            height,
            tile_size,
            overlap,
            max_level,
        })
    }

    /// How many times full resolution is shrunk by 2 to reach `level`.
    pub fn scale_factor(&self, level: u32) -> u64 {
        1u64 << (self.max_level - level)
    }

    /// Width and height of `level`.
    pub fn level_size(&self, level: u32) -> (u32, u32) {
        let shift = self.max_level - level;
        let scale = |v: u32| ((u64::from(v) + (1u64 << shift) - 1) >> shift) as u32;
        (scale(self.width), scale(self.height))
    }

    /// Columns and rows of tiles on `level`.
    pub fn grid(&self, level: u32) -> (u32, u32) {
        let (w, h) = self.level_size(level);
        (w.div_ceil(self.tile_size), h.div_ceil(self.tile_size))
    }

    /// Tiles on all levels.
    pub fn tile_count(&self) -> u64 {
        (0..=self.max_level)
            .map(|l| {
                let (c, r) = self.grid(l);
                u64::from(c) * u64::from(r)
            })
            .sum()
    }

    /// The pixels of tile (`col`, `row`) on `level`, with `overlap` pixels borrowed from
    /// each neighbour that exists.
    pub fn tile_rect(&self, level: u32, col: u32, row: u32, overlap: u32) -> Rect {
        let (w, h) = self.level_size(level);
        let span = |i: u32, size: u32| {
            let start = (i * self.tile_size).saturating_sub(overlap);
            let end = ((i + 1) * self.tile_size + overlap).min(size);
            (start, end - start)
        };
        let (x, width) = span(col, w);
        let (y, height) = span(row, h);
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    /// Rows of `level` that tile row `row` needs (with overlap): start and end.
    pub fn strip_rows(&self, level: u32, row: u32) -> (u32, u32) {
        let rect = self.tile_rect(level, 0, row, self.overlap);
        (rect.y, rect.y + rect.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_deepzoom_ceil_rule() {
        let plan = PyramidPlan::new(257, 255, 256, 0).unwrap();
        assert_eq!(plan.max_level, 9);
        assert_eq!(plan.level_size(9), (257, 255));
        assert_eq!(plan.level_size(8), (129, 128));
        assert_eq!(plan.level_size(0), (1, 1));
        assert_eq!(plan.grid(9), (2, 1));
        assert_eq!(plan.tile_count(), 2 + 9);
    }

    #[test]
    fn one_pixel_has_one_level() {
        let plan = PyramidPlan::new(1, 1, 256, 0).unwrap();
        assert_eq!(plan.max_level, 0);
        assert_eq!(plan.tile_count(), 1);
    }

    #[test]
    fn wide_and_thin() {
        let plan = PyramidPlan::new(4097, 3, 256, 0).unwrap();
        assert_eq!(plan.max_level, 13);
        assert_eq!(plan.level_size(13), (4097, 3));
        assert_eq!(plan.level_size(12), (2049, 2));
        assert_eq!(plan.level_size(11), (1025, 1));
        assert_eq!(plan.grid(13), (17, 1));
        let last = plan.tile_rect(13, 16, 0, 0);
        assert_eq!((last.x, last.width, last.height), (4096, 1, 3));
    }

    #[test]
    fn overlap_borrows_from_existing_neighbours_only() {
        let plan = PyramidPlan::new(600, 300, 254, 1).unwrap();
        let first = plan.tile_rect(plan.max_level, 0, 0, 1);
        assert_eq!(
            (first.x, first.width, first.y, first.height),
            (0, 255, 0, 255)
        );
        let middle = plan.tile_rect(plan.max_level, 1, 1, 1);
        assert_eq!(
            (middle.x, middle.width, middle.y, middle.height),
            (253, 256, 253, 47)
        );
        let last = plan.tile_rect(plan.max_level, 2, 0, 1);
        assert_eq!((last.x, last.width), (507, 93));
    }

    #[test]
    fn bad_options_are_refused() {
        assert!(PyramidPlan::new(10, 10, 0, 0).is_err());
        assert!(PyramidPlan::new(10, 10, 16, 16).is_err());
        assert!(PyramidPlan::new(0, 10, 16, 0).is_err());
    }
}
