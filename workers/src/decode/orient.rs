//! EXIF orientation. Mirroring left–right works row by row; every other orientation needs
//! rows from the far end of the picture, so the picture is first spilled to a temporary
//! file in square tiles, then read back one tile row or tile column per output band.
//! Memory stays one band of the output's width.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use super::RowSource;
use crate::error::TileError;
use crate::pyramid::Limits;

/// The eight EXIF orientations, as the transform that makes the picture upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// 1: already upright.
    Upright,
    /// 2: mirrored left–right.
    MirrorHorizontal,
    /// 3: upside down.
    Rotate180,
    /// 4: mirrored top–bottom.
    MirrorVertical,
    /// 5: mirrored along the main diagonal.
    Transpose,
    /// 6: needs a quarter turn clockwise.
    Rotate90,
    /// 7: mirrored along the anti-diagonal.
    Transverse,
    /// 8: needs a quarter turn counter-clockwise.
    Rotate270,
}

impl Orientation {
    /// From the EXIF/TIFF tag value; unknown values mean upright.
    pub fn from_exif(value: u16) -> Self {
        match value {
            2 => Orientation::MirrorHorizontal,
            3 => Orientation::Rotate180,
            4 => Orientation::MirrorVertical,
            5 => Orientation::Transpose,
            6 => Orientation::Rotate90,
            7 => Orientation::Transverse,
            8 => Orientation::Rotate270,
            _ => Orientation::Upright,
        }
    }

    fn swaps_axes(self) -> bool {
        matches!(
            self,
            Orientation::Transpose
                | Orientation::Rotate90
                | Orientation::Transverse
                | Orientation::Rotate270
        )
    }

    /// Where source pixel (sx, sy) of a `w`×`h` source lands in the upright picture.
    fn map(self, sx: u32, sy: u32, w: u32, h: u32) -> (u32, u32) {
        match self {
            Orientation::Upright => (sx, sy),
            Orientation::MirrorHorizontal => (w - 1 - sx, sy),
            Orientation::Rotate180 => (w - 1 - sx, h - 1 - sy),
            Orientation::MirrorVertical => (sx, h - 1 - sy),
            Orientation::Transpose => (sy, sx),
            Orientation::Rotate90 => (h - 1 - sy, sx),
            Orientation::Transverse => (h - 1 - sy, w - 1 - sx),
            Orientation::Rotate270 => (sy, w - 1 - sx),
        }
    }
}

/// Side of the square tiles in the spill file.
const SPILL_TILE: u32 = 256;

/// A source with its orientation applied.
pub struct Oriented {
    inner: Box<dyn RowSource>,
    orientation: Orientation,
    spill: Option<Spill>,
    /// The current output band and how many of its rows were handed out.
    band: Vec<u8>,
    band_rows: u32,
    band_next: u32,
    next_band: u32,
    /// First output row of the current band.
    band_start: u32,
}

struct Spill {
    file: File,
    across: u32,
    down: u32,
}

impl Oriented {
    /// Wraps `inner` so it reads upright; upright sources are returned unchanged.
    pub fn wrap(
        inner: Box<dyn RowSource>,
        orientation: Orientation,
        limits: &Limits,
    ) -> Result<Box<dyn RowSource>, TileError> {
        if orientation == Orientation::Upright {
            return Ok(inner);
        }
        let (w, h, c) = (inner.width(), inner.height(), inner.channels() as u64);
        let out_width = if orientation.swaps_axes() { h } else { w };
        limits.check_buffer(
            "turning this picture upright (EXIF orientation), per band",
            2 * u64::from(SPILL_TILE) * u64::from(w.max(out_width)) * c,
        )?;
        Ok(Box::new(Oriented {
            inner,
            orientation,
            spill: None,
            band: Vec::new(),
            band_rows: 0,
            band_next: 0,
            next_band: 0,
            band_start: 0,
        }))
    }

    fn tile_bytes(&self) -> u64 {
        u64::from(SPILL_TILE) * u64::from(SPILL_TILE) * self.inner.channels() as u64
    }

    /// Reads the whole source once, writing it as tiles to a temporary file.
    fn spill(&mut self) -> Result<Spill, TileError> {
        let (w, h, c) = (
            self.inner.width(),
            self.inner.height(),
            self.inner.channels(),
        );
        let across = w.div_ceil(SPILL_TILE);
        let down = h.div_ceil(SPILL_TILE);
        let mut file = tempfile::tempfile()?;
        let t = SPILL_TILE as usize;
        let mut band = vec![0u8; t * w as usize * c];
        let mut tile = vec![0u8; t * t * c];
        for ty in 0..down {
            let rows = SPILL_TILE.min(h - ty * SPILL_TILE) as usize;
            self.inner.read_rows(&mut band[..rows * w as usize * c])?;
            for tx in 0..across {
                let x0 = (tx * SPILL_TILE) as usize;
                let cols = t.min(w as usize - x0);
                for r in 0..rows {
                    let src = &band[(r * w as usize + x0) * c..(r * w as usize + x0 + cols) * c];
                    tile[r * t * c..r * t * c + cols * c].copy_from_slice(src);
                }
                file.write_all(&tile)?;
            }
        }
        file.flush()?;
        Ok(Spill { file, across, down })
    }

    /// Fills `self.band` with the next output band: one source tile row (no axis swap)
    /// or one source tile column (axis swap), already transformed.
    fn load_band(&mut self) -> Result<(), TileError> {
        if self.spill.is_none() {
            self.spill = Some(self.spill()?);
        }
        let (w, h, c) = (
            self.inner.width(),
            self.inner.height(),
            self.inner.channels(),
        );
        let out_w = self.width() as usize;
        let tile_bytes = self.tile_bytes();
        let orientation = self.orientation;
        let Some(spill) = self.spill.as_mut() else {
            return Ok(());
        };
        let k = self.next_band;
        // The source tiles that make up output band k, and the output row it starts at.
        let (tiles, band_rows): (Vec<(u32, u32)>, u32) = if orientation.swaps_axes() {
            let (_, y_first) = orientation.map(0, 0, w, h);
            let col = if y_first == 0 {
                k
            } else {
                spill.across - 1 - k
            };
            let cols = SPILL_TILE.min(w - col * SPILL_TILE);
            ((0..spill.down).map(|ty| (col, ty)).collect(), cols)
        } else {
            let (_, y_first) = orientation.map(0, 0, w, h);
            let row = if y_first == 0 { k } else { spill.down - 1 - k };
            let rows = SPILL_TILE.min(h - row * SPILL_TILE);
            ((0..spill.across).map(|tx| (tx, row)).collect(), rows)
        };
        self.band.resize(band_rows as usize * out_w * c, 0);
        let t = SPILL_TILE as usize;
        let mut tile = vec![0u8; t * t * c];
        let band_start = self.band_start + self.band_rows;
        for &(tx, ty) in &tiles {
            spill.file.seek(SeekFrom::Start(
                u64::from(ty * spill.across + tx) * tile_bytes,
            ))?;
            spill.file.read_exact(&mut tile)?;
            let cols = SPILL_TILE.min(w - tx * SPILL_TILE);
            let rows = SPILL_TILE.min(h - ty * SPILL_TILE);
            for r in 0..rows {
                for q in 0..cols {
                    let (ox, oy) = orientation.map(tx * SPILL_TILE + q, ty * SPILL_TILE + r, w, h);
                    let oy = oy - band_start;
                    let src = (r as usize * t + q as usize) * c;
                    let dst = (oy as usize * out_w + ox as usize) * c;
                    self.band[dst..dst + c].copy_from_slice(&tile[src..src + c]);
                }
            }
        }
        self.band_start = band_start;
        self.band_rows = band_rows;
        self.band_next = 0;
        self.next_band += 1;
        Ok(())
    }
}

impl RowSource for Oriented {
    fn width(&self) -> u32 {
        if self.orientation.swaps_axes() {
            self.inner.height()
        } else {
            self.inner.width()
        }
    }
    fn height(&self) -> u32 {
        if self.orientation.swaps_axes() {
            self.inner.width()
        } else {
            self.inner.height()
        }
    }
    fn channels(&self) -> usize {
        self.inner.channels()
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        let c = self.channels();
        if self.orientation == Orientation::MirrorHorizontal {
            self.inner.read_rows(out)?;
            let row = self.width() as usize * c;
            for line in out.chunks_exact_mut(row) {
                line.reverse();
                // Reversing bytes reversed each pixel's channels too; put them back.
                for px in line.chunks_exact_mut(c) {
                    px.reverse();
                }
            }
            return Ok(());
        }
        let row = self.width() as usize * c;
        for dest in out.chunks_exact_mut(row) {
            if self.band_next >= self.band_rows {
                self.load_band()?;
            }
            let start = self.band_next as usize * row;
            dest.copy_from_slice(&self.band[start..start + row]);
            self.band_next += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic source whose pixel (x, y) is [x, y, 7].
    struct Coords {
        w: u32,
        h: u32,
        next: u32,
    }

    impl RowSource for Coords {
        fn width(&self) -> u32 {
            self.w
        }
        fn height(&self) -> u32 {
            self.h
        }
        fn channels(&self) -> usize {
            3
        }
        fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
            for line in out.chunks_exact_mut(self.w as usize * 3) {
                for (x, px) in line.chunks_exact_mut(3).enumerate() {
                    px.copy_from_slice(&[x as u8, self.next as u8, 7]);
                }
                self.next += 1;
            }
            Ok(())
        }
    }

    #[test]
    fn every_orientation_maps_every_pixel() {
        // Sizes over one spill tile so bands and partial tiles are exercised.
        let (w, h) = (300u32, 270u32);
        for value in 1..=8u16 {
            let orientation = Orientation::from_exif(value);
            let source = Box::new(Coords { w, h, next: 0 });
            let mut upright = Oriented::wrap(source, orientation, &Limits::default()).unwrap();
            let (ow, oh) = (upright.width(), upright.height());
            let mut all = vec![0u8; (ow * oh * 3) as usize];
            for chunk in all.chunks_mut(ow as usize * 3 * 7) {
                upright.read_rows(chunk).unwrap();
            }
            for sy in (0..h).step_by(13) {
                for sx in (0..w).step_by(11) {
                    let (ox, oy) = orientation.map(sx, sy, w, h);
                    let at = ((oy * ow + ox) * 3) as usize;
                    assert_eq!(
                        &all[at..at + 3],
                        &[sx as u8, sy as u8, 7],
                        "orientation {value} source ({sx},{sy})"
                    );
                }
            }
        }
    }

    #[test]
    fn rotation_6_turns_clockwise() {
        // Top-left of the upright picture is the source's bottom-left.
        assert_eq!(Orientation::Rotate90.map(0, 9, 4, 10), (0, 0));
        assert_eq!(Orientation::Rotate270.map(3, 0, 4, 10), (0, 0));
    }
}
