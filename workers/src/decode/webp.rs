//! WebP through `image-webp`. Its decoder produces the whole picture at once, so a WebP
//! is accepted only when its pixels fit the memory budget (WebP is at most 16383 px a
//! side, about 1 GiB of RGBA).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use image_webp::{DecodingError, WebPDecoder};

use super::orient::Orientation;
use super::{orientation_from_exif, RowSource};
use crate::error::TileError;
use crate::pyramid::Limits;

struct WebpSource {
    pixels: Vec<u8>,
    next: usize,
    width: u32,
    height: u32,
    channels: usize,
    icc: Option<Vec<u8>>,
}

fn decoding_error(e: DecodingError) -> TileError {
    match e {
        DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            TileError::Truncated("the WebP file ends early".into())
        }
        DecodingError::IoError(io) => TileError::Io(io),
        other => TileError::Corrupt(format!("WebP: {other}")),
    }
}

/// Decodes a WebP within the budget; returns the source and its EXIF orientation.
pub fn open(path: &Path, limits: &Limits) -> Result<(Box<dyn RowSource>, Orientation), TileError> {
    let file = BufReader::new(File::open(path)?);
    let mut decoder = WebPDecoder::new(file).map_err(decoding_error)?;
    let (width, height) = decoder.dimensions();
    limits.check_dimensions(u64::from(width), u64::from(height))?;
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| TileError::Corrupt("WebP dimensions overflow".into()))?;
    limits.check_buffer("decoding this WebP (it cannot stream)", size as u64)?;
    let orientation = decoder
        .exif_metadata()
        .ok()
        .flatten()
        .as_deref()
        .and_then(orientation_from_exif)
        .unwrap_or(1);
    let icc = decoder.icc_profile().ok().flatten();
    let mut pixels = vec![0u8; size];
    decoder.read_image(&mut pixels).map_err(decoding_error)?;
    let source = WebpSource {
        pixels,
        next: 0,
        width,
        height,
        channels,
        icc,
    };
    Ok((Box::new(source), Orientation::from_exif(orientation)))
}

impl RowSource for WebpSource {
    fn width(&self) -> u32 {
        self.width
    }
    fn height(&self) -> u32 {
        self.height
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn icc_profile(&self) -> Option<Vec<u8>> {
        self.icc.clone()
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        let src = self
            .pixels
            .get(self.next..self.next + out.len())
            .ok_or_else(|| TileError::Corrupt("read past the last WebP row".into()))?;
        out.copy_from_slice(src);
        self.next += out.len();
        Ok(())
    }
}
