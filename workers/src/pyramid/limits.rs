//! Caps that keep one picture from taking the machine down: pixel count (decompression
//! bombs are refused from the header) and the memory the engine may plan to use.

use crate::error::TileError;

/// Default cap on width × height: 16 gigapixels, e.g. 128k × 128k.
pub const DEFAULT_MAX_PIXELS: u64 = 16_000_000_000;
/// Default memory budget for one tiling run: 512 MiB.
pub const DEFAULT_MEMORY_BUDGET_BYTES: u64 = 512 << 20;

/// Resource limits for decoding and tiling one picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest width × height accepted.
    pub max_pixels: u64,
    /// Largest amount of memory the engine plans to hold at once (strips, decode
    /// buffers, queued tiles). Inputs that cannot stream within it are refused.
    pub memory_budget_bytes: u64,
    /// Threads that may decode at once where the file is cut into independent pieces
    /// (compressed TIFF strips or tiles, JPEG restart bands); 0: one per core, at most
    /// four (JPEG restart bands: one thread up to two cores, see `jpeg_band_decoders`).
    /// 1: one thread.
    pub decode_threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: DEFAULT_MAX_PIXELS,
            memory_budget_bytes: DEFAULT_MEMORY_BUDGET_BYTES,
            decode_threads: 0,
        }
    }
}

/// The cores this process may run on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Limits {
    /// Refuses a picture whose declared size is over `max_pixels`, or empty.
    pub fn check_dimensions(&self, width: u64, height: u64) -> Result<(), TileError> {
        if width == 0 || height == 0 {
            return Err(TileError::Corrupt(format!(
                "the header declares an empty picture ({width}×{height})"
            )));
        }
        let pixels = width.saturating_mul(height);
        if pixels > self.max_pixels {
            return Err(TileError::TooManyPixels {
                width,
                height,
                pixels,
                limit: self.max_pixels,
            });
        }
        Ok(())
    }

    /// How many threads may decode at once (`decode_threads`, 0 read as one per core up
    /// to four).
    pub fn decoders(&self) -> usize {
        match self.decode_threads {
            0 => cores().min(4),
            n => n,
        }
    }

    /// How many threads may decode a JPEG's restart bands at once: as `decoders`, but
    /// with `decode_threads` 0 one thread up to two cores. Bands cost more CPU than one
    /// decode (a first pass finds the markers, and 4:2:0 bands decode a unit more for
    /// their chroma context): on two cores, where the encoders already use both, a
    /// 20480 × 12800 photo took 3.65 s on two decoders and 3.18 s on one
    /// (`scripts/bench-tile 20480 12800 --restarts`). With more cores (not measured)
    /// one decoder is expected to become what the encoders wait for.
    pub fn jpeg_band_decoders(&self) -> usize {
        match self.decode_threads {
            0 if cores() <= 2 => 1,
            _ => self.decoders(),
        }
    }

    /// Refuses a buffer of `bytes` for `what` when it alone is over the budget.
    pub fn check_buffer(&self, what: &str, bytes: u64) -> Result<(), TileError> {
        if bytes > self.memory_budget_bytes {
            return Err(TileError::over_budget(
                what,
                bytes,
                self.memory_budget_bytes,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bombs_are_refused_by_pixel_count() {
        let limits = Limits {
            max_pixels: 1000,
            ..Limits::default()
        };
        assert!(limits.check_dimensions(10, 100).is_ok());
        let err = limits.check_dimensions(100, 11).unwrap_err();
        assert!(matches!(err, TileError::TooManyPixels { pixels: 1100, .. }));
        assert!(limits.check_dimensions(0, 5).is_err());
    }
}
