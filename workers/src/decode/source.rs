//! The `RowSource` trait every decoder implements, format sniffing, and `open`, which
//! picks the decoder and applies EXIF orientation.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::orient::{Orientation, Oriented};
use crate::error::TileError;
use crate::pyramid::Limits;

/// A picture decoded top to bottom, a few rows at a time.
pub trait RowSource {
    /// Width in pixels, after orientation.
    fn width(&self) -> u32;
    /// Height in pixels, after orientation.
    fn height(&self) -> u32;
    /// 3 (RGB8) or 4 (RGBA8, straight alpha).
    fn channels(&self) -> usize;
    /// Fills `out` with the next `out.len() / (width × channels)` rows.
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError>;
    /// The embedded ICC profile, if any.
    fn icc_profile(&self) -> Option<Vec<u8>> {
        None
    }
}

/// Picture formats we can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG, baseline or progressive.
    Jpeg,
    /// PNG, any bit depth and colour type.
    Png,
    /// TIFF or BigTIFF.
    Tiff,
    /// WebP, lossy or lossless.
    Webp,
}

/// Names the format from the first bytes of a file, or says what it seems to be.
pub fn sniff(head: &[u8]) -> Result<Format, TileError> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Ok(Format::Png)
    } else if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
        Ok(Format::Tiff)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Ok(Format::Webp)
    } else {
        let guess = if starts(b"GIF8") {
            "GIF"
        } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
            "HEIF/AVIF"
        } else if starts(b"BM") {
            "BMP"
        } else if starts(b"%PDF") {
            "PDF"
        } else if head.is_empty() {
            "an empty file"
        } else {
            "not a picture we recognise"
        };
        Err(TileError::Unsupported(format!(
            "{guess}; HUGEpic reads JPEG, PNG, TIFF/BigTIFF and WebP"
        )))
    }
}

/// Opens a picture file for row-by-row decoding, in sRGB (an embedded ICC profile is
/// applied) and upright (EXIF orientation applied).
pub fn open(path: &Path, limits: &Limits) -> Result<Box<dyn RowSource>, TileError> {
    let mut head = [0u8; 16];
    let mut file = File::open(path)?;
    let n = read_up_to(&mut file, &mut head)?;
    let format = sniff(&head[..n])?;
    let (source, orientation): (Box<dyn RowSource>, Orientation) = match format {
        Format::Jpeg => super::jpeg::open(path, limits)?,
        Format::Png => super::png::open(path, limits)?,
        Format::Tiff => super::tiff::open(path, limits)?,
        Format::Webp => super::webp::open(path, limits)?,
    };
    let icc = source.icc_profile();
    Oriented::wrap(super::color::to_srgb(source, icc)?, orientation, limits)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest").ok(), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").ok(), Some(Format::Png));
        assert_eq!(sniff(b"II*\0....").ok(), Some(Format::Tiff));
        assert_eq!(sniff(b"MM\0+....").ok(), Some(Format::Tiff));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").ok(), Some(Format::Webp));
        let err = sniff(b"GIF89a").unwrap_err().to_string();
        assert!(err.contains("GIF"), "{err}");
        assert!(sniff(b"hello world").is_err());
    }
}
