//! Tiles out: JPEG through libjpeg-turbo (standard quantisation tables, optimised Huffman
//! tables: mozjpeg-class size at libjpeg-turbo speed, shared between tiles by `huffman`),
//! PNG through oxipng for pictures with alpha, WebP through libwebp when asked for.

pub mod huffman;
pub mod shared;
pub mod webp;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use crate::error::TileError;
use crate::jpeglib::Compressor;
pub use crate::jpeglib::Huffman;

/// Tile file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    /// Opaque pictures.
    Jpeg,
    /// Pictures with alpha.
    Png,
    /// Asked for: smaller than JPEG at equal quality, slower to encode; keeps alpha.
    Webp,
}

impl TileFormat {
    /// File extension, as DeepZoom's `Format` and IIIF's format name.
    pub fn extension(self) -> &'static str {
        match self {
            TileFormat::Jpeg => "jpg",
            TileFormat::Png => "png",
            TileFormat::Webp => "webp",
        }
    }

    /// MIME type for storage and HTTP.
    pub fn content_type(self) -> &'static str {
        match self {
            TileFormat::Jpeg => "image/jpeg",
            TileFormat::Png => "image/png",
            TileFormat::Webp => "image/webp",
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
    /// Which Huffman tables JPEG tiles get.
    pub huffman: HuffmanMode,
}

/// Which Huffman tables JPEG tiles get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuffmanMode {
    /// The JPEG spec's standard tables: one pass, the largest tiles.
    Standard,
    /// Each tile's own optimal tables: the smallest tiles, a second pass over each
    /// (about 40% more CPU).
    PerTile,
    /// Tables learnt from sample tiles and shared along each level (`shared`): one pass
    /// for most tiles, sizes close to per-tile tables. The tiler keeps the book of
    /// tables; a tile encoded without one gets its own tables, as with `PerTile`.
    Shared,
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
    /// Encodes one tile (JPEG: with the standard tables, or else its own optimal ones).
    pub fn encode(&self, rect: PixelRect<'_>) -> Result<Vec<u8>, TileError> {
        let huffman = match self.huffman {
            HuffmanMode::Standard => Huffman::Standard,
            HuffmanMode::PerTile | HuffmanMode::Shared => Huffman::Optimised,
        };
        self.encode_with(rect, huffman)
    }

    /// Encodes one tile; a JPEG gets the given Huffman tables.
    pub fn encode_with(
        &self,
        rect: PixelRect<'_>,
        huffman: Huffman<'_>,
    ) -> Result<Vec<u8>, TileError> {
        match self.format {
            TileFormat::Jpeg => {
                let mut jpeg = Compressor::start(rect.width, rect.height, self.quality, huffman)?;
                let (mut flat, mut row) = (Vec::new(), Vec::new());
                if rect.channels == 4 {
                    for y in 0..rect.height as usize {
                        flatten_on_white(rect.row(y), &mut row);
                        flat.extend_from_slice(&row);
                    }
                }
                let rows: Vec<&[u8]> = if rect.channels == 4 {
                    flat.chunks_exact(rect.width as usize * 3).collect()
                } else {
                    (0..rect.height as usize).map(|y| rect.row(y)).collect()
                };
                jpeg.write(&rows)?;
                jpeg.finish()
            }
            TileFormat::Png => encode_png(rect),
            TileFormat::Webp => webp::encode(
                rect.pixels,
                rect.stride,
                rect.width,
                rect.height,
                rect.channels,
                self.quality,
            ),
        }
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
            TileFormat::Jpeg => Ok(RowEncoder {
                kind: RowEncoderKind::Jpeg(Box::new(Compressor::start(
                    width,
                    height,
                    self.quality,
                    Huffman::Standard,
                )?)),
                channels,
                flattened: Vec::new(),
            }),
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
            // libwebp takes the whole picture at once: the rows are kept until the
            // end (these images are at most `WHOLE_MAX_SIDE` a side).
            TileFormat::Webp => Ok(RowEncoder {
                kind: RowEncoderKind::Webp {
                    width,
                    height,
                    quality: self.quality,
                },
                channels,
                flattened: Vec::with_capacity(width as usize * height as usize * channels),
            }),
        }
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
    Jpeg(Box<Compressor>),
    Png(Box<png::StreamWriter<'static, SharedBuffer>>, SharedBuffer),
    /// The rows gather in `RowEncoder::flattened`.
    Webp {
        width: u32,
        height: u32,
        quality: u8,
    },
}

/// A whole image being encoded row by row; see `TileEncoder::row_encoder`.
pub struct RowEncoder {
    kind: RowEncoderKind,
    channels: usize,
    /// JPEG: the current row over white; WebP: every row so far.
    flattened: Vec<u8>,
}

impl RowEncoder {
    /// Encodes the next row (width × channels bytes).
    pub fn push_row(&mut self, row: &[u8]) -> Result<(), TileError> {
        match &mut self.kind {
            RowEncoderKind::Jpeg(jpeg) => {
                let row = if self.channels == 4 {
                    flatten_on_white(row, &mut self.flattened);
                    &self.flattened[..]
                } else {
                    row
                };
                jpeg.write(&[row])
            }
            RowEncoderKind::Png(writer, _) => writer
                .write_all(row)
                .map_err(|e| TileError::Encode(e.to_string())),
            RowEncoderKind::Webp { .. } => {
                self.flattened.extend_from_slice(row);
                Ok(())
            }
        }
    }

    /// Finishes the image and returns its bytes.
    pub fn finish(self) -> Result<Vec<u8>, TileError> {
        match self.kind {
            RowEncoderKind::Jpeg(jpeg) => jpeg.finish(),
            RowEncoderKind::Png(writer, buffer) => {
                writer
                    .finish()
                    .map_err(|e| TileError::Encode(e.to_string()))?;
                Ok(buffer.0.take())
            }
            RowEncoderKind::Webp {
                width,
                height,
                quality,
            } => webp::encode(
                &self.flattened,
                width as usize * self.channels,
                width,
                height,
                self.channels,
                quality,
            ),
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
    use super::huffman::{optimal_table, SharedTables, SymbolCounts};
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
            huffman: HuffmanMode::PerTile,
        }
        .encode(rect)
        .unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        let png = encode_png(rect).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    /// A photo-like tile: smooth gradients, edges and noise (deterministic).
    fn photo(width: u32, height: u32, seed: u32) -> Vec<u8> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        let mut out = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let noise = (state % 23) as i32 - 11;
                let edge = if (x / 37 + y / 29 + seed).is_multiple_of(3) {
                    60
                } else {
                    0
                };
                for c in 0..3 {
                    let v = (x * (c + 1) + y * (3 - c) + seed * 7) % 200;
                    out.push((v as i32 + edge + noise).clamp(0, 255) as u8);
                }
            }
        }
        out
    }

    fn rect(pixels: &[u8], width: u32, height: u32) -> PixelRect<'_> {
        PixelRect {
            pixels,
            stride: width as usize * 3,
            width,
            height,
            channels: 3,
        }
    }

    /// The DHT tables of a JPEG: (class, id) → (bits, values).
    fn dht_tables(jpeg: &[u8]) -> Vec<(u8, [u8; 17], Vec<u8>)> {
        let mut tables = Vec::new();
        let mut at = 2;
        while jpeg[at + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if jpeg[at + 1] == 0xC4 {
                let mut rest = &jpeg[at + 4..at + 2 + len];
                while !rest.is_empty() {
                    let mut bits = [0u8; 17];
                    bits[1..].copy_from_slice(&rest[1..17]);
                    let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
                    tables.push((rest[0], bits, rest[17..17 + n].to_vec()));
                    rest = &rest[17 + n..];
                }
            }
            at += 2 + len;
        }
        tables
    }

    fn encoder() -> TileEncoder {
        TileEncoder {
            format: TileFormat::Jpeg,
            quality: 85,
            huffman: HuffmanMode::PerTile,
        }
    }

    #[test]
    fn counted_symbols_give_back_libjpegs_own_tables_and_bytes() {
        let (w, h) = (256, 200);
        let pixels = photo(w, h, 1);
        let optimised = encoder()
            .encode_with(rect(&pixels, w, h), Huffman::Optimised)
            .unwrap();
        let mut counts = SymbolCounts::default();
        counts.count_jpeg(&optimised).unwrap();
        let tables = SharedTables {
            dc: [0, 1].map(|t| optimal_table(&counts.dc[t])),
            ac: [0, 1].map(|t| optimal_table(&counts.ac[t])),
        };
        for (class_id, bits, values) in dht_tables(&optimised) {
            let ours = match class_id {
                0x00 => &tables.dc[0],
                0x01 => &tables.dc[1],
                0x10 => &tables.ac[0],
                _ => &tables.ac[1],
            };
            assert_eq!(
                (ours.bits, &ours.values),
                (bits, &values),
                "table {class_id:#04x}"
            );
        }
        // The same tables given up front: one pass, the very same file.
        let one_pass = encoder()
            .encode_with(rect(&pixels, w, h), Huffman::Shared(&tables))
            .unwrap();
        assert_eq!(one_pass, optimised);
    }

    #[test]
    fn shared_tables_encode_other_tiles_to_the_same_pixels() {
        let (w, h) = (256, 256);
        let mut counts = SymbolCounts::default();
        for seed in 1..4 {
            let jpeg = encoder()
                .encode_with(rect(&photo(w, h, seed), w, h), Huffman::Optimised)
                .unwrap();
            counts.count_jpeg(&jpeg).unwrap();
        }
        let tables = SharedTables::learnt(&counts, &crate::jpeglib::standard_tables().unwrap());
        // A tile unlike the samples: flat, then pure noise (symbols they never had).
        let mut other = photo(w, h, 9);
        for (i, p) in other.iter_mut().enumerate().take((w * h * 3 / 2) as usize) {
            *p = if i % 2 == 0 { 0 } else { 255 };
        }
        // Each tile with its own tables and with the shared ones.
        let both = |pixels: &[u8]| {
            let encode = |huffman| encoder().encode_with(rect(pixels, w, h), huffman).unwrap();
            (encode(Huffman::Optimised), encode(Huffman::Shared(&tables)))
        };
        let decode = |jpeg: &[u8]| image::load_from_memory(jpeg).unwrap().to_rgb8().into_raw();
        let (own, shared) = both(&other);
        assert_eq!(decode(&shared), decode(&own));
        // A tile like the samples costs a little more with their tables, never much.
        let (own, shared) = both(&photo(w, h, 5));
        assert_eq!(decode(&shared), decode(&own));
        assert!(
            shared.len() < own.len() * 21 / 20,
            "{} vs {}",
            shared.len(),
            own.len()
        );
    }

    #[test]
    fn transparent_flattens_to_white() {
        let mut out = Vec::new();
        flatten_on_white(&[0, 0, 0, 0, 10, 20, 30, 255], &mut out);
        assert_eq!(out, [255, 255, 255, 10, 20, 30]);
    }
}
