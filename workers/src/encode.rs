//! Tiles out: JPEG through libjpeg-turbo (standard quantisation tables, optimised Huffman
//! tables: mozjpeg-class size at libjpeg-turbo speed), PNG through oxipng for pictures
//! with alpha.

use std::cell::RefCell;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use mozjpeg::compress::CompressStarted;
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
    /// Optimised Huffman tables (JPEG).
    pub optimize_coding: bool,
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
        let mut encoder = self.start_jpeg(rect.width, rect.height, rect.channels)?;
        for y in 0..rect.height as usize {
            encoder.push_row(rect.row(y))?;
        }
        encoder.finish()
    }

    fn start_jpeg(
        &self,
        width: u32,
        height: u32,
        channels: usize,
    ) -> Result<RowEncoder, TileError> {
        let (quality, optimize) = (self.quality, self.optimize_coding);
        let started = jpeg_call(|| {
            let mut compress = Compress::new(ColorSpace::JCS_RGB);
            compress.set_fastest_defaults();
            compress.set_size(width as usize, height as usize);
            compress.set_quality(f32::from(quality));
            compress.set_optimize_coding(optimize);
            let capacity = (width as usize * height as usize / 2).clamp(1024, 1 << 20);
            compress.start_compress(Vec::with_capacity(capacity))
        })?;
        Ok(RowEncoder {
            kind: RowEncoderKind::Jpeg(Some(Box::new(started))),
            channels,
            flattened: Vec::new(),
        })
    }

    /// An encoder for a whole image fed one row at a time, for images too big to hold
    /// (the IIIF sizes and thumbnails of a gigapixel picture).
    pub fn row_encoder(
        &self,
        width: u32,
        height: u32,
        channels: usize,
    ) -> Result<RowEncoder, TileError> {
        match self.format {
            // Optimised Huffman tables would make libjpeg hold the whole image's
            // coefficients; these few files are not worth that memory.
            TileFormat::Jpeg => TileEncoder {
                optimize_coding: false,
                ..*self
            }
            .start_jpeg(width, height, channels),
            TileFormat::Png => {
                let buffer = SharedBuffer::default();
                let mut png = png::Encoder::new(buffer.clone(), width, height);
                png.set_color(if channels == 4 {
                    png::ColorType::Rgba
                } else {
                    png::ColorType::Rgb
                });
                png.set_depth(png::BitDepth::Eight);
                png.set_compression(png::Compression::Fast);
                let writer = png
                    .write_header()
                    .and_then(|w| w.into_stream_writer())
                    .map_err(|e| TileError::Encode(e.to_string()))?;
                Ok(RowEncoder {
                    kind: RowEncoderKind::Png(Box::new(writer), buffer),
                    channels,
                    flattened: Vec::new(),
                })
            }
        }
    }
}

/// Runs libjpeg code, turning its unwinding errors into `TileError::Encode`.
fn jpeg_call<T>(f: impl FnOnce() -> std::io::Result<T>) -> Result<T, TileError> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(TileError::Encode(e.to_string())),
        Err(payload) => Err(TileError::Encode(
            payload
                .downcast::<String>()
                .map(|s| *s)
                .unwrap_or_else(|_| "libjpeg failed".into()),
        )),
    }
}

/// A byte buffer the PNG stream writer owns a handle to while we keep another.
#[derive(Clone, Default)]
struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum RowEncoderKind {
    /// `None` once finished or failed.
    Jpeg(Option<Box<CompressStarted<Vec<u8>>>>),
    Png(Box<png::StreamWriter<'static, SharedBuffer>>, SharedBuffer),
}

/// A whole image being encoded row by row; see `TileEncoder::row_encoder`.
pub struct RowEncoder {
    kind: RowEncoderKind,
    channels: usize,
    flattened: Vec<u8>,
}

impl RowEncoder {
    /// Encodes the next row (width × channels bytes).
    pub fn push_row(&mut self, row: &[u8]) -> Result<(), TileError> {
        match &mut self.kind {
            RowEncoderKind::Jpeg(started) => {
                let Some(compress) = started.as_mut() else {
                    return Err(TileError::Encode("JPEG encoder already failed".into()));
                };
                let row = if self.channels == 4 {
                    flatten_on_white(row, &mut self.flattened);
                    &self.flattened[..]
                } else {
                    row
                };
                let result = jpeg_call(|| compress.write_scanlines(row));
                if result.is_err() {
                    *started = None;
                }
                result
            }
            RowEncoderKind::Png(writer, _) => writer
                .write_all(row)
                .map_err(|e| TileError::Encode(e.to_string())),
        }
    }

    /// Finishes the image and returns its bytes.
    pub fn finish(self) -> Result<Vec<u8>, TileError> {
        match self.kind {
            RowEncoderKind::Jpeg(started) => {
                let compress = started
                    .ok_or_else(|| TileError::Encode("JPEG encoder already failed".into()))?;
                jpeg_call(|| compress.finish())
            }
            RowEncoderKind::Png(writer, buffer) => {
                writer
                    .finish()
                    .map_err(|e| TileError::Encode(e.to_string()))?;
                Ok(buffer.0.take())
            }
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
    let image = oxipng::RawImage::new(
        rect.width,
        rect.height,
        color,
        oxipng::BitDepth::Eight,
        data,
    )
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
            optimize_coding: true,
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
