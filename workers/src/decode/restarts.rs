//! Sequential JPEG files with restart markers, decoded in bands on several threads.
//!
//! A restart marker resets the entropy decoder (the DC predictions start again), so the
//! data from one restart to the next decodes on its own. Scanners and many cameras write
//! them. When restarts fall at the start of MCU rows (every `unit` MCU rows, for a small
//! `unit`), the picture is cut into bands of whole units, and each band becomes a small
//! JPEG of its own: the file's header with the band's height, the band's data with its
//! restart markers renumbered from 0, an end marker. libjpeg decodes the bands on the
//! threads of [`ParallelBands`]; one scan of the file finds the markers first.
//!
//! The pixels are exactly those of one whole decode. libjpeg's "fancy" chroma upsampling
//! (4:2:0, 4:4:0) reads the chroma rows above and below each output row, so a piece
//! decoded alone differs in its first and last rows. With vertical subsampling each band
//! is therefore decoded with one unit more below it, and the bands hand out rows shifted
//! by one: band k gives rows [top_k + 1, top_{k+1} + 1), every one of them with its
//! neighbours present (the first band starts at row 0 and the last ends at the picture's
//! end, where a whole decode replicates the edge as well).

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use mozjpeg::Decompress;

use super::bands::ParallelBands;
use super::jpeg::{error_manager, guarded, Header};
use super::RowSource;
use crate::error::TileError;
use crate::pyramid::Limits;

/// Bands are about this many rows (whole units), fewer on wide pictures: see `band_units`.
const BAND_ROWS: u64 = 128;
/// Restarts further apart than this many rows leave too few bands: decoded on one thread.
const LONGEST_UNIT_ROWS: u64 = 256;

/// How the picture is cut: units of whole MCU rows between restarts, bands of units.
#[derive(Debug)]
struct Cut {
    width: u32,
    height: u32,
    /// Pixel rows per unit, units in the picture, units per band.
    unit_rows: u32,
    units: u32,
    band_units: u32,
    /// Decode one unit more below each band (vertical chroma subsampling).
    context: bool,
    /// The file's bytes before the scan's data, and where the frame's height is in them.
    header: Vec<u8>,
    height_at: usize,
    /// Per unit: where its data starts in the file, and where it ends (the restart marker
    /// before the next unit, or the end of the scan).
    starts: Vec<u64>,
    ends: Vec<u64>,
}

impl Cut {
    /// Where band `k` starts handing out rows (see the top of this file).
    fn start_row(&self, k: u32) -> u32 {
        if k == 0 {
            0
        } else {
            (k * self.band_units * self.unit_rows + u32::from(self.context)).min(self.height)
        }
    }

    /// Bands to decode: a last unit of one row is handed out by the band before it.
    fn bands(&self) -> u32 {
        let n = self.units.div_ceil(self.band_units);
        if n > 1 && self.start_row(n - 1) >= self.height {
            n - 1
        } else {
            n
        }
    }

    /// Band `k`: its first unit, the units decoded (end, exclusive), the rows it hands out
    /// (first, end exclusive).
    fn band(&self, k: u32) -> (u32, u32, u32, u32) {
        let first_unit = k * self.band_units;
        if k + 1 >= self.bands() {
            return (first_unit, self.units, self.start_row(k), self.height);
        }
        let decoded_to = ((k + 1) * self.band_units + u32::from(self.context)).min(self.units);
        (
            first_unit,
            decoded_to,
            self.start_row(k),
            self.start_row(k + 1),
        )
    }

    /// Rows handed out by band `k`.
    fn rows(&self, k: u32) -> u32 {
        let (_, _, first, end) = self.band(k);
        end - first
    }

    /// The stand-alone JPEG of band `k` into `out`.
    fn stream(&self, file: &File, k: u32, out: &mut Vec<u8>) -> Result<(), TileError> {
        let (first_unit, decoded_to, _, _) = self.band(k);
        let top = first_unit * self.unit_rows;
        let rows = (decoded_to * self.unit_rows).min(self.height) - top;
        let (from, to) = (
            self.starts[first_unit as usize],
            self.ends[decoded_to as usize - 1],
        );
        out.clear();
        out.extend_from_slice(&self.header);
        out[self.height_at..self.height_at + 2].copy_from_slice(&(rows as u16).to_be_bytes());
        let data = out.len();
        out.resize(data + (to - from) as usize, 0);
        file.read_exact_at(&mut out[data..], from)?;
        renumber_restarts(&mut out[data..]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        Ok(())
    }
}

/// Renumbers the restart markers of entropy-coded `data` RST0, RST1, … in order.
fn renumber_restarts(data: &mut [u8]) {
    let mut next = 0u8;
    let mut i = 0;
    while let Some(k) = memchr::memchr(0xFF, &data[i..]) {
        let at = i + k;
        let Some(&b) = data.get(at + 1) else { break };
        if (0xD0..=0xD7).contains(&b) {
            data[at + 1] = 0xD0 + next;
            next = (next + 1) % 8;
        }
        // A fill byte (0xFF) may start the marker itself: look again from it.
        i = if b == 0xFF { at + 1 } else { at + 2 };
    }
}

/// Per unit: where its data starts in the file, and where it ends.
struct Units {
    starts: Vec<u64>,
    ends: Vec<u64>,
}

/// Finds where each unit's data starts and ends: after every `per_unit`-th restart
/// marker. `None` when the markers are not what the header promises (missing, out of
/// order, or the scan ends early): such a file is left to the one-thread decoder, which
/// says what is wrong with it, or copes as libjpeg does.
fn find_units(
    path: &Path,
    data_start: u64,
    per_unit: u64,
    markers: u64,
) -> Result<Option<Units>, TileError> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(data_start))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (mut starts, mut ends) = (vec![data_start], Vec::new());
    let mut at = data_start;
    let mut seen = 0u64;
    let mut after_ff = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let n = buf.len();
        let mut i = 0;
        while i < n {
            if !after_ff {
                match memchr::memchr(0xFF, &buf[i..]) {
                    Some(k) => {
                        i += k + 1;
                        after_ff = true;
                    }
                    None => i = n,
                }
                continue;
            }
            after_ff = false;
            let b = buf[i];
            // Where the marker starts: the 0xFF just before `b`.
            let marker = at + i as u64 - 1;
            i += 1;
            match b {
                0x00 => {}
                0xFF => after_ff = true,
                0xD0..=0xD7 => {
                    if u64::from(b - 0xD0) != seen % 8 {
                        return Ok(None);
                    }
                    seen += 1;
                    if seen.is_multiple_of(per_unit) {
                        ends.push(marker);
                        starts.push(marker + 2);
                    }
                }
                _ => {
                    // The scan's end (EOI, or another marker).
                    if seen != markers {
                        return Ok(None);
                    }
                    ends.push(marker);
                    return Ok(Some(Units { starts, ends }));
                }
            }
        }
        reader.consume(n);
        at += n as u64;
    }
}

/// Bands of about `BAND_ROWS` rows, and no more than the memory budget takes.
fn band_units(unit_rows: u64, row_bytes: u64, buffers: u64, limits: &Limits) -> u64 {
    let by_rows = (BAND_ROWS / unit_rows).max(1);
    let by_memory = (limits.memory_budget_bytes / 4) / (buffers * unit_rows * row_bytes).max(1);
    by_rows.min(by_memory)
}

/// The rows of `header`'s picture from bands decoded on several threads, or `None` when
/// the file has no usable restart markers or there is no second thread to use.
pub(super) fn open(
    path: &Path,
    header: &Header,
    limits: &Limits,
    icc: Option<Vec<u8>>,
) -> Result<Option<Box<dyn RowSource>>, TileError> {
    let threads = limits.jpeg_band_decoders();
    let components = header.sampling.len();
    if threads < 2
        || header.restart_interval == 0
        || !header.sequential_huffman
        || !(components == 1 || components == 3)
        || header.scan_components != components
    {
        return Ok(None);
    }
    // An interleaved scan's MCU covers the largest sampling factors; a one-component
    // scan's MCU is one 8×8 block.
    let (max_h, max_v) = if components == 1 {
        (1, 1)
    } else {
        header
            .sampling
            .iter()
            .fold((1u64, 1u64), |(h, v), &(sh, sv)| {
                (h.max(u64::from(sh)), v.max(u64::from(sv)))
            })
    };
    let mcus_per_row = header.width.div_ceil(8 * max_h);
    let mcu_rows = header.height.div_ceil(8 * max_v);
    let interval = u64::from(header.restart_interval);
    // Units start where a restart and an MCU row start together.
    let lcm = interval / gcd(interval, mcus_per_row) * mcus_per_row;
    let unit_rows = lcm / mcus_per_row * 8 * max_v;
    if unit_rows > LONGEST_UNIT_ROWS {
        return Ok(None);
    }
    let units = header.height.div_ceil(unit_rows);
    let segments = (mcus_per_row * mcu_rows).div_ceil(interval);
    let buffers = threads + 1;
    let row_bytes = header.width * 3;
    let band_units = band_units(unit_rows, row_bytes, buffers as u64, limits);
    if units < 2 * threads as u64 || band_units == 0 {
        return Ok(None);
    }
    let Some(Units { starts, ends }) =
        find_units(path, header.data_start, lcm / interval, segments - 1)?
    else {
        return Ok(None);
    };
    if starts.len() as u64 != units || header.height_at + 2 > header.data_start {
        return Ok(None);
    }
    let mut head = vec![0u8; header.data_start as usize];
    File::open(path)?.read_exact_at(&mut head, 0)?;
    let context = components == 3 && header.sampling.iter().any(|&(_, v)| u64::from(v) < max_v);
    let cut = Arc::new(Cut {
        width: header.width as u32,
        height: header.height as u32,
        unit_rows: unit_rows as u32,
        units: units as u32,
        band_units: band_units as u32,
        context,
        header: head,
        height_at: header.height_at as usize,
        starts,
        ends,
    });
    let path = path.to_path_buf();
    let decode_cut = Arc::clone(&cut);
    let bands = ParallelBands::start(
        cut.bands() as usize,
        threads,
        buffers,
        move || -> Result<(File, Vec<u8>, Vec<u8>), TileError> {
            Ok((File::open(&path)?, Vec::new(), Vec::new()))
        },
        move |(file, stream, skipped), k, band| {
            decode_band(&decode_cut, file, k as u32, stream, skipped, band)
        },
    );
    Ok(Some(Box::new(RestartSource {
        cut,
        bands,
        icc,
        band: Vec::new(),
        band_index: 0,
        offset: 0,
    })))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Decodes band `k` of `cut` into `band` (its rows, RGB).
fn decode_band(
    cut: &Cut,
    file: &File,
    k: u32,
    stream: &mut Vec<u8>,
    skipped: &mut Vec<u8>,
    band: &mut Vec<u8>,
) -> Result<(), TileError> {
    cut.stream(file, k, stream)?;
    let (first_unit, _, first_row, _) = cut.band(k);
    let row_bytes = cut.width as usize * 3;
    let skip = (first_row - first_unit * cut.unit_rows) as usize;
    band.resize(cut.rows(k) as usize * row_bytes, 0);
    skipped.resize(skip * row_bytes, 0);
    guarded(|| {
        let mut decoder = Decompress::with_err(error_manager())
            .from_reader(Cursor::new(&stream[..]))?
            .rgb()?;
        if skip > 0 {
            decoder.read_scanlines_into(&mut skipped[..])?;
        }
        decoder.read_scanlines_into(&mut band[..])?;
        Ok(())
    })
    .map_err(|e| match e {
        TileError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            TileError::Truncated("the JPEG data ends before the last row".into())
        }
        other => other,
    })
}

/// Rows from the bands, in order.
struct RestartSource {
    cut: Arc<Cut>,
    bands: ParallelBands,
    icc: Option<Vec<u8>>,
    /// The band being read, its number, and how much of it is read.
    band: Vec<u8>,
    band_index: u32,
    offset: usize,
}

impl RowSource for RestartSource {
    fn width(&self) -> u32 {
        self.cut.width
    }
    fn height(&self) -> u32 {
        self.cut.height
    }
    fn channels(&self) -> usize {
        3
    }
    fn icc_profile(&self) -> Option<Vec<u8>> {
        self.icc.clone()
    }
    fn read_rows(&mut self, mut out: &mut [u8]) -> Result<(), TileError> {
        while !out.is_empty() {
            if self.offset >= self.band.len() {
                if self.band_index >= self.cut.bands() {
                    return Err(TileError::Corrupt("read past the last JPEG row".into()));
                }
                self.bands.recycle(std::mem::take(&mut self.band));
                self.band = self.bands.next()?;
                self.band_index += 1;
                self.offset = 0;
            }
            let n = out.len().min(self.band.len() - self.offset);
            let rest = std::mem::take(&mut out);
            rest[..n].copy_from_slice(&self.band[self.offset..self.offset + n]);
            self.offset += n;
            out = &mut rest[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "restarts_tests.rs"]
mod tests;
