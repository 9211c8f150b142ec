//! Tiles out: JPEG through libjpeg-turbo (standard quantisation tables, optimised Huffman
//! tables: mozjpeg-class size at libjpeg-turbo speed), PNG through oxipng for pictures
//! with alpha.

use std::panic::{self, AssertUnwindSafe};

use mozjpeg::{ColorSpace, Compress};

use crate::error::TileError;

/// Tile file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    /// Opaque pictures.
    Jpeg,
    /// Pictures with alpha.
    Png,
}

impl TileFormat {
    /// File extension, as DeepZoom's `Format` and IIIF's format name.
    pub fn extension(self) -> &'static str {
        match self {
            TileFormat::Jpeg => "jpg",
            TileFormat::Png => "png",
        }
    }

    /// MIME type for storage and HTTP.
    pub fn content_type(self) -> &'static str {
        match self {
            TileFormat::Jpeg => "image/jpeg",
            TileFormat::Png => "image/png",
        }
    }
}

/// Encodes rectangles of pixels as tiles.
#[derive(Debug, Clone, Copy)]
pub struct TileEncoder {
    /// Output format.
    pub format: TileFormat,
    /// JPEG quality 1–100.
    pub quality: u8,
}

/// A rectangle inside a larger row-major buffer.
#[derive(Debug, Clone, Copy)]
pub struct PixelRect<'a> {
    /// Buffer starting at the rectangle's top-left pixel.
    pub pixels: &'a [u8],
    /// Bytes from one row of the buffer to the next.
    pub stride: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 3 or 4.
    pub channels: usize,
}

impl PixelRect<'_> {
    fn row(&self, y: usize) -> &[u8] {
        let start = y * self.stride;
        &self.pixels[start..start + self.width as usize * self.channels]
    }
}

impl TileEncoder {
    /// Encodes one tile.
    pub fn encode(&self, rect: PixelRect<'_>) -> Result<Vec<u8>, TileError> {
        match self.format {
            TileFormat::Jpeg => self.encode_jpeg(rect),
            TileFormat::Png => encode_png(rect),
        }
    }

    fn encode_jpeg(&self, rect: PixelRect<'_>) -> Result<Vec<u8>, TileError> {
        let quality = self.quality;
        let result = panic::catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
            let mut compress = Compress::new(ColorSpace::JCS_RGB);
            compress.set_fastest_defaults();
            compress.set_size(rect.width as usize, rect.height as usize);
            compress.set_quality(f32::from(quality));
            compress.set_optimize_coding(true);
            let capacity = rect.width as usize * rect.height as usize / 2 + 1024;
            let mut started = compress.start_compress(Vec::with_capacity(capacity))?;
            let mut flattened = Vec::new();
            for y in 0..rect.height as usize {
                let row = rect.row(y);
                if rect.channels == 4 {
                    flatten_on_white(row, &mut flattened);
                    started.write_scanlines(&flattened)?;
                } else {
                    started.write_scanlines(row)?;
                }
            }
            started.finish()
        }));
        match result {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) => Err(TileError::Encode(e.to_string())),
            Err(payload) => Err(TileError::Encode(
                payload
                    .downcast::<String>()
                    .map(|s| *s)
                    .unwrap_or_else(|_| "libjpeg failed".into()),
            )),
        }
    }
}

/// RGBA over a white background, as RGB.
fn flatten_on_white(row: &[u8], out: &mut Vec<u8>) {
    out.clear();
    for p in row.chunks_exact(4) {
        let a = u32::from(p[3]);
        for &v in &p[..3] {
            out.push(((u32::from(v) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
}

fn encode_png(rect: PixelRect<'_>) -> Result<Vec<u8>, TileError> {
    let mut data = Vec::with_capacity(rect.width as usize * rect.height as usize * rect.channels);
    for y in 0..rect.height as usize {
        data.extend_from_slice(rect.row(y));
    }
    let color = if rect.channels == 4 {
        oxipng::ColorType::RGBA
    } else {
        oxipng::ColorType::RGB {
            transparent_color: None,
        }
    };
    let image = oxipng::RawImage::new(rect.width, rect.height, color, oxipng::BitDepth::Eight, data)
        .map_err(|e| TileError::Encode(e.to_string()))?;
    // Preset 1: a couple of filters, fast libdeflate. Higher presets cost far more time
    // than the bytes they save on photographic tiles.
    image
        .create_optimized_png(&oxipng::Options::from_preset(1))
        .map_err(|e| TileError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_tile_from_inside_a_wider_buffer() {
        let (w, h) = (40u32, 20u32);
        let buffer: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        let rect = PixelRect {
            pixels: &buffer[(5 * w as usize + 10) * 3..],
            stride: w as usize * 3,
            width: 17,
            height: 9,
            channels: 3,
        };
        let jpeg = TileEncoder {
            format: TileFormat::Jpeg,
            quality: 85,
        }
        .encode(rect)
        .unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        let png = encode_png(rect).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn transparent_flattens_to_white() {
        let mut out = Vec::new();
        flatten_on_white(&[0, 0, 0, 0, 10, 20, 30, 255], &mut out);
        assert_eq!(out, [255, 255, 255, 10, 20, 30]);
    }
}
