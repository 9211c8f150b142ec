//! PNG through the `png` crate's row reader: 16-bit stripped to 8, palette and tRNS
//! expanded. Non-interlaced files stream one row at a time; Adam7 files arrive as seven
//! passes, so they are de-interlaced into a whole-image buffer that must fit the budget.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use png::{ColorType, Decoder, Reader, Transformations};

use super::orient::Orientation;
use super::pixel::expand_gray;
use super::{orientation_from_exif, RowSource};
use crate::error::TileError;
use crate::pyramid::Limits;

enum Rows {
    Streaming(Box<Reader<BufReader<File>>>),
    /// De-interlaced whole image and the next row to hand out.
    Buffered(Vec<u8>, usize),
}

struct PngSource {
    rows: Rows,
    width: u32,
    height: u32,
    /// Channels the decoder produces (1 gray, 2 gray+alpha, 3, 4).
    decoded_channels: usize,
    icc: Option<Vec<u8>>,
}

fn decoding_error(e: png::DecodingError) -> TileError {
    match e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            TileError::Truncated("the PNG file ends before its last row".into())
        }
        png::DecodingError::IoError(io) => TileError::Io(io),
        png::DecodingError::Format(f) => TileError::Corrupt(format!("PNG: {f}")),
        other => TileError::Corrupt(format!("PNG: {other}")),
    }
}

/// Opens a PNG; returns the source and its EXIF orientation (eXIf chunk).
pub fn open(path: &Path, limits: &Limits) -> Result<(Box<dyn RowSource>, Orientation), TileError> {
    let file = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut decoder = Decoder::new_with_limits(
        file,
        png::Limits {
            bytes: usize::try_from(limits.memory_budget_bytes).unwrap_or(usize::MAX),
        },
    );
    decoder.set_transformations(Transformations::normalize_to_color8());
    let info = decoder.read_header_info().map_err(decoding_error)?;
    let (width, height) = (info.width, info.height);
    limits.check_dimensions(u64::from(width), u64::from(height))?;
    let reader = decoder.read_info().map_err(decoding_error)?;
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .and_then(orientation_from_exif)
        .unwrap_or(1);
    let interlaced = reader.info().interlaced;
    let icc = reader.info().icc_profile.as_ref().map(|p| p.to_vec());
    let (color, _) = reader.output_color_type();
    let decoded_channels = match color {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Indexed => {
            return Err(TileError::Corrupt(
                "PNG palette could not be expanded".into(),
            ))
        }
    };
    let rows = if interlaced {
        let bytes = u64::from(width) * u64::from(height) * decoded_channels as u64;
        limits.check_buffer("de-interlacing this Adam7 PNG (it cannot stream)", bytes)?;
        let mut reader = reader;
        let mut buffer = vec![0u8; bytes as usize];
        reader.next_frame(&mut buffer).map_err(decoding_error)?;
        Rows::Buffered(buffer, 0)
    } else {
        Rows::Streaming(Box::new(reader))
    };
    let source = PngSource {
        rows,
        width,
        height,
        decoded_channels,
        icc,
    };
    Ok((Box::new(source), Orientation::from_exif(orientation)))
}

impl RowSource for PngSource {
    fn width(&self) -> u32 {
        self.width
    }
    fn height(&self) -> u32 {
        self.height
    }
    fn channels(&self) -> usize {
        if self.decoded_channels.is_multiple_of(2) {
            4
        } else {
            3
        }
    }
    fn icc_profile(&self) -> Option<Vec<u8>> {
        self.icc.clone()
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        let out_row = self.width as usize * self.channels();
        let in_row = self.width as usize * self.decoded_channels;
        for dest in out.chunks_exact_mut(out_row) {
            let src: &[u8] = match &mut self.rows {
                Rows::Streaming(reader) => reader
                    .next_row()
                    .map_err(decoding_error)?
                    .ok_or_else(|| {
                        TileError::Truncated("the PNG has fewer rows than its header says".into())
                    })?
                    .data(),
                Rows::Buffered(buffer, next) => {
                    let start = *next * in_row;
                    *next += 1;
                    buffer
                        .get(start..start + in_row)
                        .ok_or_else(|| TileError::Corrupt("read past the last PNG row".into()))?
                }
            };
            if self.decoded_channels <= 2 {
                expand_gray(src, self.decoded_channels, dest);
            } else {
                dest.copy_from_slice(src.get(..out_row).unwrap_or(src));
            }
        }
        Ok(())
    }
}
