//! TIFF and BigTIFF through the `tiff` crate, one strip or one row of tiles at a time, so
//! memory follows the width. Uncompressed chunky files are read straight from the strip
//! offsets, row by row, because scanners love one giant uncompressed strip.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use tiff::decoder::{ChunkType, Decoder, DecodingResult};
use tiff::tags::{CompressionMethod, PlanarConfiguration, Tag};
use tiff::{ColorType, TiffError, TiffFormatError};

use super::bands::ParallelBands;
use super::orient::Orientation;
use super::pixel::{cmyk_to_rgb, expand_gray, u16_to_u8};
use super::RowSource;
use crate::error::TileError;
use crate::pyramid::Limits;

/// How the decoded samples of one pixel turn into RGB(A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
    Cmyk,
    CmykAlpha,
    YCbCr,
}

impl Kind {
    fn samples(self) -> usize {
        match self {
            Kind::Gray => 1,
            Kind::GrayAlpha => 2,
            Kind::Rgb | Kind::YCbCr => 3,
            Kind::Rgba | Kind::Cmyk => 4,
            Kind::CmykAlpha => 5,
        }
    }
    fn out_channels(self) -> usize {
        match self {
            Kind::GrayAlpha | Kind::Rgba | Kind::CmykAlpha => 4,
            _ => 3,
        }
    }
}

fn tiff_error(e: TiffError) -> TileError {
    match e {
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            TileError::Truncated("the TIFF file ends before its last strip or tile".into())
        }
        TiffError::IoError(io) => TileError::Io(io),
        TiffError::UnsupportedError(u) => TileError::Unsupported(format!("TIFF: {u}")),
        TiffError::LimitsExceeded => TileError::OverBudget {
            what: "a TIFF strip or tile".into(),
            needed_mib: 0,
            budget_mib: 0,
        },
        TiffError::FormatError(TiffFormatError::InconsistentSizesEncountered) => {
            TileError::Truncated("a TIFF strip or tile is shorter than its size says".into())
        }
        other => TileError::Corrupt(format!("TIFF: {other}")),
    }
}

/// Where the rows come from.
enum Reading {
    /// Uncompressed chunky strips: read each row from its file offset.
    Raw {
        file: BufReader<File>,
        strip_offsets: Vec<u64>,
        rows_per_strip: u32,
        bytes_per_sample: usize,
        big_endian: bool,
    },
    /// Through the decoder, one band (a strip, or a row of tiles) at a time.
    Bands {
        decoder: Bands,
        geometry: Geometry,
        /// Decoded band in 8-bit samples, and its first row / row count.
        band: Vec<u8>,
        band_top: u32,
        band_rows: u32,
    },
}

/// Who decodes the bands: this thread, or several ([`ParallelBands`]).
enum Bands {
    Here(Box<Decoder<BufReader<File>>>),
    Threads(ParallelBands),
}

/// How a TIFF's image is cut into chunks, and a band's place in it.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    width: u32,
    height: u32,
    samples: usize,
    tiled: bool,
    planar: bool,
    /// Chunk size in pixels.
    chunk_width: u32,
    chunk_height: u32,
}

impl Geometry {
    fn bands(&self) -> u32 {
        self.height.div_ceil(self.chunk_height)
    }

    fn rows_of(&self, band: u32) -> u32 {
        self.chunk_height
            .min(self.height - band * self.chunk_height)
    }

    /// Decodes band `index` (a strip, or a row of tiles, every plane) into `band` as
    /// interleaved 8-bit samples.
    fn load(
        &self,
        decoder: &mut Decoder<BufReader<File>>,
        index: u32,
        band: &mut Vec<u8>,
    ) -> Result<(), TileError> {
        let samples = self.samples;
        let row_len = self.width as usize * samples;
        let rows = self.rows_of(index);
        band.clear();
        band.resize(rows as usize * row_len, 0);
        let across = if self.tiled {
            self.width.div_ceil(self.chunk_width)
        } else {
            1
        };
        let per_plane = across * self.bands();
        let planes = if self.planar { samples } else { 1 };
        for plane in 0..planes {
            for col in 0..across {
                let chunk = plane as u32 * per_plane + index * across + col;
                let data = to_u8(decoder.read_chunk(chunk).map_err(tiff_error)?)?;
                let (cw, _) = decoder.chunk_data_dimensions(chunk);
                let cw = cw as usize;
                let chunk_samples = if self.planar { 1 } else { samples };
                let x0 = (col * self.chunk_width) as usize;
                for r in 0..rows as usize {
                    let src = data
                        .get(r * cw * chunk_samples..(r + 1) * cw * chunk_samples)
                        .ok_or_else(|| {
                            TileError::Truncated("a TIFF strip or tile is short".into())
                        })?;
                    let dest_row = &mut band[r * row_len..(r + 1) * row_len];
                    if self.planar {
                        for (i, &v) in src.iter().enumerate() {
                            dest_row[(x0 + i) * samples + plane] = v;
                        }
                    } else {
                        dest_row[x0 * samples..x0 * samples + src.len()].copy_from_slice(src);
                    }
                }
            }
        }
        Ok(())
    }
}

struct TiffSource {
    reading: Reading,
    width: u32,
    height: u32,
    kind: Kind,
    white_is_zero: bool,
    next_row: u32,
    row_samples: Vec<u8>,
    row_raw: Vec<u8>,
    icc: Option<Vec<u8>>,
}

/// Opens a TIFF's first image; returns the source and its orientation tag.
pub fn open(path: &Path, limits: &Limits) -> Result<(Box<dyn RowSource>, Orientation), TileError> {
    let mut decoder = open_decoder(path, limits.memory_budget_bytes)?;
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    limits.check_dimensions(u64::from(width), u64::from(height))?;
    let color = decoder.colortype().map_err(tiff_error)?;
    let (kind, bits) = match color {
        ColorType::Gray(b) => (Kind::Gray, b),
        ColorType::GrayA(b) => (Kind::GrayAlpha, b),
        ColorType::RGB(b) => (Kind::Rgb, b),
        ColorType::RGBA(b) => (Kind::Rgba, b),
        ColorType::CMYK(b) => (Kind::Cmyk, b),
        ColorType::CMYKA(b) => (Kind::CmykAlpha, b),
        ColorType::YCbCr(b) => (Kind::YCbCr, b),
        other => {
            return Err(TileError::Unsupported(format!(
                "TIFF colour type {other:?}; HUGEpic reads gray, RGB, CMYK and YCbCr, with or without alpha"
            )))
        }
    };
    if bits != 8 && bits != 16 {
        return Err(TileError::Unsupported(format!(
            "TIFF with {bits} bits per sample; HUGEpic reads 8 and 16"
        )));
    }
    let icc = decoder
        .get_tag_u8_vec(Tag::IccProfile)
        .ok()
        .filter(|p| !p.is_empty());
    let orientation = decoder
        .find_tag_unsigned::<u16>(Tag::Orientation)
        .ok()
        .flatten()
        .unwrap_or(1);
    let photometric = decoder
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .ok()
        .flatten();
    let compression = decoder
        .find_tag_unsigned::<u16>(Tag::Compression)
        .ok()
        .flatten()
        .unwrap_or(1);
    let planar = decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .ok()
        .flatten()
        == Some(PlanarConfiguration::Planar.to_u16());
    let predictor = decoder
        .find_tag_unsigned::<u16>(Tag::Predictor)
        .ok()
        .flatten()
        .unwrap_or(1);
    let mut magic = [0u8; 2];
    File::open(path)?.read_exact(&mut magic)?;
    let big_endian = &magic == b"MM";
    let bytes_per_sample = usize::from(bits / 8);
    let tiled = decoder.get_chunk_type() == ChunkType::Tile;
    let (chunk_width, chunk_height) = decoder.chunk_dimensions();

    let uncompressed = compression == CompressionMethod::None.to_u16();
    let reading = if uncompressed && !tiled && !planar && predictor == 1 && kind != Kind::YCbCr {
        let strip_offsets = decoder
            .get_tag_u64_vec(Tag::StripOffsets)
            .map_err(tiff_error)?;
        let rows_per_strip = decoder
            .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
            .ok()
            .flatten()
            .unwrap_or(height)
            .clamp(1, height);
        if (strip_offsets.len() as u64) < u64::from(height.div_ceil(rows_per_strip)) {
            return Err(TileError::Corrupt(
                "TIFF has fewer strips than rows need".into(),
            ));
        }
        Reading::Raw {
            file: BufReader::with_capacity(1 << 16, File::open(path)?),
            strip_offsets,
            rows_per_strip,
            bytes_per_sample,
            big_endian,
        }
    } else {
        let band_bytes = u64::from(chunk_height) * u64::from(width) * kind.samples() as u64;
        // What one band costs: the decoded chunks at their own depth, and the band.
        let one_band = band_bytes * bytes_per_sample as u64 + band_bytes;
        limits.check_buffer(
            "one TIFF strip or row of tiles (re-save with smaller strips or tiles)",
            one_band,
        )?;
        let geometry = Geometry {
            width,
            height,
            samples: kind.samples(),
            tiled,
            planar,
            chunk_width,
            chunk_height,
        };
        Reading::Bands {
            decoder: band_decoder(path, decoder, geometry, one_band, band_bytes, limits),
            geometry,
            band: Vec::new(),
            band_top: 0,
            band_rows: 0,
        }
    };
    let source = TiffSource {
        reading,
        width,
        height,
        kind,
        white_is_zero: photometric == Some(0),
        next_row: 0,
        row_samples: Vec::new(),
        row_raw: Vec::new(),
        icc: icc.filter(|_| matches!(kind, Kind::Rgb | Kind::Rgba | Kind::YCbCr)),
    };
    Ok((Box::new(source), Orientation::from_exif(orientation)))
}

/// A decoder on `path`'s first image, its buffers held to `budget` bytes.
fn open_decoder(path: &Path, budget: u64) -> Result<Decoder<BufReader<File>>, TileError> {
    let file = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = usize::try_from(budget).unwrap_or(usize::MAX);
    tiff_limits.intermediate_buffer_size = tiff_limits.decoding_buffer_size;
    Ok(Decoder::new(file)
        .map_err(tiff_error)?
        .with_limits(tiff_limits))
}

/// Compressed strips and tiles are decoded on `limits.decoders()` threads when there are bands
/// enough and the memory budget holds them: a band per thread and one more (the one being
/// read) in circulation, and each thread's chunks at their own depth.
fn band_decoder(
    path: &Path,
    decoder: Decoder<BufReader<File>>,
    geometry: Geometry,
    one_band: u64,
    band_bytes: u64,
    limits: &Limits,
) -> Bands {
    let threads = limits.decoders();
    let buffers = threads + 1;
    let needed = threads as u64 * one_band + buffers as u64 * band_bytes;
    if threads < 2
        || geometry.bands() < 2 * threads as u32
        || needed > limits.memory_budget_bytes / 2
    {
        return Bands::Here(Box::new(decoder));
    }
    drop(decoder);
    let (path, budget) = (path.to_path_buf(), limits.memory_budget_bytes);
    Bands::Threads(ParallelBands::start(
        geometry.bands() as usize,
        threads,
        buffers,
        move || open_decoder(&path, budget),
        move |decoder, index, band| geometry.load(decoder, index as u32, band),
    ))
}

/// Converts one decoded chunk to 8-bit samples.
fn to_u8(result: DecodingResult) -> Result<Vec<u8>, TileError> {
    match result {
        DecodingResult::U8(v) => Ok(v),
        DecodingResult::U16(v) => {
            let mut out = vec![0u8; v.len()];
            u16_to_u8(&v, &mut out);
            Ok(out)
        }
        _ => Err(TileError::Unsupported(
            "TIFF with floating-point or 32-bit samples".into(),
        )),
    }
}

impl TiffSource {
    /// Puts the samples of row `y` (8-bit, interleaved) into `row_samples`.
    fn load_row(&mut self, y: u32) -> Result<(), TileError> {
        let samples = self.kind.samples();
        let row_len = self.width as usize * samples;
        match &mut self.reading {
            Reading::Raw {
                file,
                strip_offsets,
                rows_per_strip,
                bytes_per_sample,
                big_endian,
            } => {
                let strip = (y / *rows_per_strip) as usize;
                let offset = strip_offsets[strip]
                    + u64::from(y % *rows_per_strip) * (row_len * *bytes_per_sample) as u64;
                self.row_raw.resize(row_len * *bytes_per_sample, 0);
                file.seek(SeekFrom::Start(offset))?;
                file.read_exact(&mut self.row_raw).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        TileError::Truncated(format!("the TIFF file ends at row {y}"))
                    } else {
                        TileError::Io(e)
                    }
                })?;
                self.row_samples.resize(row_len, 0);
                if *bytes_per_sample == 1 {
                    self.row_samples.copy_from_slice(&self.row_raw);
                } else {
                    let wide: Vec<u16> = self
                        .row_raw
                        .chunks_exact(2)
                        .map(|b| {
                            if *big_endian {
                                u16::from_be_bytes([b[0], b[1]])
                            } else {
                                u16::from_le_bytes([b[0], b[1]])
                            }
                        })
                        .collect();
                    u16_to_u8(&wide, &mut self.row_samples);
                }
            }
            Reading::Bands {
                decoder,
                geometry,
                band,
                band_top,
                band_rows,
            } => {
                if y >= *band_top + *band_rows || band.is_empty() {
                    let index = y / geometry.chunk_height;
                    match decoder {
                        Bands::Here(decoder) => geometry.load(decoder, index, band)?,
                        Bands::Threads(bands) => {
                            // Bands are read in order, each once: `index` is the next.
                            bands.recycle(std::mem::take(band));
                            *band = bands.next()?;
                        }
                    }
                    *band_top = index * geometry.chunk_height;
                    *band_rows = geometry.rows_of(index);
                }
                let start = (y - *band_top) as usize * row_len;
                self.row_samples.clear();
                self.row_samples
                    .extend_from_slice(&band[start..start + row_len]);
            }
        }
        if self.white_is_zero && matches!(self.kind, Kind::Gray | Kind::GrayAlpha) {
            for v in self.row_samples.iter_mut().step_by(samples) {
                *v = 255 - *v;
            }
        }
        Ok(())
    }
}

impl RowSource for TiffSource {
    fn width(&self) -> u32 {
        self.width
    }
    fn height(&self) -> u32 {
        self.height
    }
    fn channels(&self) -> usize {
        self.kind.out_channels()
    }
    fn icc_profile(&self) -> Option<Vec<u8>> {
        self.icc.clone()
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        let out_row = self.width as usize * self.channels();
        for dest in out.chunks_exact_mut(out_row) {
            if self.next_row >= self.height {
                return Err(TileError::Corrupt("read past the last TIFF row".into()));
            }
            self.load_row(self.next_row)?;
            self.next_row += 1;
            let src = &self.row_samples;
            match self.kind {
                Kind::Gray => expand_gray(src, 1, dest),
                Kind::GrayAlpha => expand_gray(src, 2, dest),
                Kind::Rgb | Kind::Rgba => dest.copy_from_slice(src),
                Kind::Cmyk => cmyk_to_rgb(src, 4, false, dest),
                Kind::CmykAlpha => cmyk_to_rgb(src, 5, false, dest),
                Kind::YCbCr => ycbcr_to_rgb(src, dest),
            }
        }
        Ok(())
    }
}

/// JFIF full-range YCbCr to RGB.
fn ycbcr_to_rgb(src: &[u8], out: &mut [u8]) {
    for (o, p) in out.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
        let y = f32::from(p[0]);
        let cb = f32::from(p[1]) - 128.0;
        let cr = f32::from(p[2]) - 128.0;
        o[0] = (y + 1.402 * cr).round().clamp(0.0, 255.0) as u8;
        o[1] = (y - 0.344_136 * cb - 0.714_136 * cr)
            .round()
            .clamp(0.0, 255.0) as u8;
        o[2] = (y + 1.772 * cb).round().clamp(0.0, 255.0) as u8;
    }
}
