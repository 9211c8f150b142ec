//! Test pictures made in the test: synthetic photo-like pixels and writers for every
//! input kind the engine reads, plus helpers to decode and compare tiles.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use mozjpeg::{ColorSpace, Compress};

/// Smooth, photo-like content: gradients and low-frequency waves, distinct per channel,
/// so downscales and lossy codecs behave as on photographs.
pub fn photo(width: u32, height: u32, channels: usize) -> Vec<u8> {
    let mut px = Vec::with_capacity(width as usize * height as usize * channels);
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32, y as f32);
            let r = 128.0 + 90.0 * (fx / 37.0).sin() * (fy / 53.0).cos();
            let g = 255.0 * fx / width.max(2) as f32 * 0.7 + 40.0 * (fy / 21.0).sin();
            let b = 255.0 * fy / height.max(2) as f32 * 0.8 + 30.0 * ((fx + fy) / 17.0).cos();
            px.push(r.clamp(0.0, 255.0) as u8);
            px.push(g.clamp(0.0, 255.0) as u8);
            px.push(b.clamp(0.0, 255.0) as u8);
            if channels == 4 {
                let a = 255.0 * (0.5 + 0.5 * (fx / 29.0).cos() * (fy / 31.0).sin());
                px.push(a.clamp(0.0, 255.0) as u8);
            }
        }
    }
    px
}

/// Compares `current` with the golden file `tests/golden/{name}`; with
/// `HUGEPIC_UPDATE_GOLDEN=1` set, rewrites the file first (after an intended change).
pub fn check_golden(name: &str, current: &str, what_changed: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("HUGEPIC_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, current).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("golden/{name} exists"));
    assert_eq!(
        current, golden,
        "{what_changed} changed; if intended, rerun with HUGEPIC_UPDATE_GOLDEN=1"
    );
}

/// A scratch directory for one test.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test picture");
    path
}

/// JPEG options for `jpeg`.
#[derive(Clone, Copy)]
pub struct JpegKind {
    pub progressive: bool,
    /// 1 gray, 3 RGB, 4 CMYK (Adobe, inverted), 5 YCCK.
    pub components: u8,
    pub orientation: Option<u16>,
    pub quality: u8,
}

impl Default for JpegKind {
    fn default() -> Self {
        JpegKind {
            progressive: false,
            components: 3,
            orientation: None,
            quality: 95,
        }
    }
}

/// Encodes RGB pixels as a JPEG of the given kind (converting to gray or CMYK first).
pub fn jpeg(width: u32, height: u32, rgb: &[u8], kind: JpegKind) -> Vec<u8> {
    let (input_space, pixels): (ColorSpace, Vec<u8>) = match kind.components {
        1 => (
            ColorSpace::JCS_GRAYSCALE,
            rgb.chunks_exact(3).map(luma).collect(),
        ),
        4 | 5 => (
            ColorSpace::JCS_CMYK,
            rgb.chunks_exact(3)
                .flat_map(|p| {
                    // Inverted (Adobe) CMYK with K = 0: stored C = R, M = G, Y = B, K = 255.
                    [p[0], p[1], p[2], 255]
                })
                .collect(),
        ),
        _ => (ColorSpace::JCS_RGB, rgb.to_vec()),
    };
    let mut c = Compress::new(input_space);
    c.set_fastest_defaults();
    if kind.components == 5 {
        c.set_color_space(ColorSpace::JCS_YCCK);
    }
    c.set_size(width as usize, height as usize);
    c.set_quality(f32::from(kind.quality));
    if kind.progressive {
        c.set_progressive_mode();
    }
    let mut started = c.start_compress(Vec::new()).expect("start");
    if let Some(o) = kind.orientation {
        started.write_marker(mozjpeg::Marker::APP(1), &exif_orientation(o));
    }
    started.write_scanlines(&pixels).expect("scanlines");
    started.finish().expect("finish")
}

pub fn luma(p: &[u8]) -> u8 {
    ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000) as u8
}

/// An APP1 EXIF body carrying only an orientation.
pub fn exif_orientation(orientation: u16) -> Vec<u8> {
    let mut v = b"Exif\0\0II*\0".to_vec();
    v.extend_from_slice(&8u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&0x0112u16.to_le_bytes());
    v.extend_from_slice(&3u16.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&orientation.to_le_bytes());
    v.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    v
}

/// PNG of any colour type, 8 or 16 bits, optionally Adam7-interlaced. Written by hand so
/// interlacing and absurd headers are possible. `samples` are 8-bit values per channel of
/// `color` (0 gray, 2 RGB, 3 palette index, 4 gray+alpha, 6 RGBA); 16-bit repeats each byte.
pub fn png(
    width: u32,
    height: u32,
    color: u8,
    depth: u8,
    samples: &[u8],
    interlaced: bool,
    palette: Option<&[u8]>,
) -> Vec<u8> {
    let channels = match color {
        0 | 3 => 1,
        4 => 2,
        2 => 3,
        _ => 4,
    };
    let bpp = channels * usize::from(depth / 8);
    let mut raw = Vec::new();
    let mut emit_rows = |xs: Vec<u32>, ys: Vec<u32>| {
        if xs.is_empty() {
            return;
        }
        for &y in &ys {
            raw.push(0u8);
            for &x in &xs {
                let at = (y as usize * width as usize + x as usize) * channels;
                for &s in &samples[at..at + channels] {
                    raw.push(s);
                    if depth == 16 {
                        raw.push(s);
                    }
                }
            }
        }
    };
    if interlaced {
        const PASSES: [(u32, u32, u32, u32); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        for (x0, y0, dx, dy) in PASSES {
            let xs: Vec<u32> = (x0..width).step_by(dx as usize).collect();
            let ys: Vec<u32> = (y0..height).step_by(dy as usize).collect();
            emit_rows(xs, ys);
        }
    } else {
        emit_rows((0..width).collect(), (0..height).collect());
    }
    let _ = bpp;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&raw).expect("zlib");
    let idat = z.finish().expect("zlib");
    png_from_parts(width, height, depth, color, interlaced, palette, &idat)
}

/// Assembles PNG chunks: IHDR (as declared), optional PLTE, IDAT, IEND.
pub fn png_from_parts(
    width: u32,
    height: u32,
    depth: u8,
    color: u8,
    interlaced: bool,
    palette: Option<&[u8]>,
    idat: &[u8],
) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, color, 0, 0, u8::from(interlaced)]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(p) = palette {
        chunk(&mut out, b"PLTE", p);
    }
    chunk(&mut out, b"IDAT", idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, name: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(name);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// TIFF chunk layout for `tiff_by_hand`.
#[derive(Clone, Copy)]
pub enum Chunks {
    Strips { rows: u32 },
    Tiles { width: u32, height: u32 },
}

/// A little-endian TIFF written by hand: any chunk layout, compression code and
/// photometric, each chunk's bytes made by `compress` from its raw interleaved samples
/// (tiles padded to full size as the format requires). `samples` are 8-bit.
pub struct TiffSpec<'a> {
    pub width: u32,
    pub height: u32,
    pub channels: u16,
    pub samples: &'a [u8],
    pub chunks: Chunks,
    pub compression: u16,
    pub photometric: u16,
    pub orientation: Option<u16>,
}

/// Makes one chunk's stored bytes from its raw samples, width and height.
pub type ChunkCodec<'a> = &'a dyn Fn(&[u8], u32, u32) -> Vec<u8>;

pub fn tiff_by_hand(spec: &TiffSpec<'_>, compress: ChunkCodec<'_>) -> Vec<u8> {
    let TiffSpec {
        width,
        height,
        channels,
        samples,
        chunks,
        compression,
        photometric,
        orientation,
    } = *spec;
    let c = usize::from(channels);
    let (cw, ch, across, down) = match chunks {
        Chunks::Strips { rows } => (width, rows, 1, height.div_ceil(rows)),
        Chunks::Tiles {
            width: tw,
            height: th,
        } => (tw, th, width.div_ceil(tw), height.div_ceil(th)),
    };
    let tiled = matches!(chunks, Chunks::Tiles { .. });
    let mut data = Vec::new();
    let mut offsets = Vec::new();
    let mut counts = Vec::new();
    let mut out = b"II*\0\0\0\0\0".to_vec();
    for ty in 0..down {
        for tx in 0..across {
            let rows = if tiled { ch } else { ch.min(height - ty * ch) };
            let cols = cw;
            let mut raw = vec![0u8; (rows * cols) as usize * c];
            for r in 0..rows {
                let y = ty * ch + r;
                if y >= height {
                    continue;
                }
                for q in 0..cols {
                    let x = tx * cw + q;
                    if x >= width {
                        continue;
                    }
                    let src = (y as usize * width as usize + x as usize) * c;
                    let dst = (r as usize * cols as usize + q as usize) * c;
                    raw[dst..dst + c].copy_from_slice(&samples[src..src + c]);
                }
            }
            let bytes = compress(&raw, cols, rows);
            offsets.push(out.len() as u32 + data.len() as u32);
            counts.push(bytes.len() as u32);
            data.extend_from_slice(&bytes);
        }
    }
    out.extend_from_slice(&data);
    if out.len() % 2 == 1 {
        out.push(0);
    }
    // Out-of-line values.
    let mut extra = Vec::new();
    let base = out.len() as u32;
    let put_array = |values: &[u32], extra: &mut Vec<u8>| -> u32 {
        let at = base + extra.len() as u32;
        for v in values {
            extra.extend_from_slice(&v.to_le_bytes());
        }
        at
    };
    let bits: Vec<u32> = vec![8; c];
    let offsets_at = put_array(&offsets, &mut extra);
    let counts_at = put_array(&counts, &mut extra);
    let bits_at = {
        let at = base + extra.len() as u32;
        for _ in &bits {
            extra.extend_from_slice(&8u16.to_le_bytes());
        }
        if extra.len() % 2 == 1 {
            extra.push(0);
        }
        at
    };
    out.extend_from_slice(&extra);
    let ifd_at = out.len() as u32;
    out[4..8].copy_from_slice(&ifd_at.to_le_bytes());
    // (tag, type, count, value) with type 3 SHORT, 4 LONG.
    let n = offsets.len() as u32;
    let mut entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, width),
        (257, 4, 1, height),
        (
            258,
            3,
            u32::from(channels),
            if c == 1 {
                8
            } else if c == 2 {
                8 | (8 << 16)
            } else {
                bits_at
            },
        ),
        (259, 3, 1, u32::from(compression)),
        (262, 3, 1, u32::from(photometric)),
        (277, 3, 1, u32::from(channels)),
        (284, 3, 1, 1),
    ];
    if let Some(o) = orientation {
        entries.push((274, 3, 1, u32::from(o)));
    }
    if c == 4 && photometric == 2 {
        entries.push((338, 3, 1, 2)); // unassociated alpha
    }
    if c == 3 && photometric == 6 {
        entries.push((530, 3, 2, 1 | (1 << 16))); // YCbCr not subsampled
    }
    let value_or_offset = |values_at: u32, single: u32| if n == 1 { single } else { values_at };
    if tiled {
        entries.push((322, 4, 1, cw));
        entries.push((323, 4, 1, ch));
        entries.push((324, 4, n, value_or_offset(offsets_at, offsets[0])));
        entries.push((325, 4, n, value_or_offset(counts_at, counts[0])));
    } else {
        entries.push((273, 4, n, value_or_offset(offsets_at, offsets[0])));
        entries.push((278, 4, 1, ch));
        entries.push((279, 4, n, value_or_offset(counts_at, counts[0])));
    }
    entries.sort_by_key(|e| e.0);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if kind == 3 && count == 1 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// Decodes a tile (JPEG or PNG) to RGB or RGBA with an independent decoder.
pub fn decode_tile(bytes: &[u8], channels: usize) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory(bytes).expect("tile decodes");
    let (w, h) = (img.width(), img.height());
    let px = if channels == 4 {
        img.to_rgba8().into_raw()
    } else {
        img.to_rgb8().into_raw()
    };
    (w, h, px)
}

/// Decodes a whole test picture with the `image` crate (the independent reference).
pub fn decode_reference(bytes: &[u8], channels: usize) -> (u32, u32, Vec<u8>) {
    let img = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .expect("format")
        .decode()
        .expect("reference decodes");
    let (w, h) = (img.width(), img.height());
    let px = if channels == 4 {
        img.to_rgba8().into_raw()
    } else {
        img.to_rgb8().into_raw()
    };
    (w, h, px)
}

/// Area-average reference of level `level` of a `max_level` pyramid: each output pixel
/// the mean of the source block it covers (alpha-weighted colour when `channels` is 4).
pub fn reference_level(
    px: &[u8],
    w: u32,
    h: u32,
    channels: usize,
    shift: u32,
) -> (u32, u32, Vec<u8>) {
    if shift == 0 {
        return (w, h, px.to_vec());
    }
    let s = 1u32 << shift;
    let (lw, lh) = (w.div_ceil(s), h.div_ceil(s));
    let mut out = vec![0u8; (lw * lh) as usize * channels];
    for ly in 0..lh {
        for lx in 0..lw {
            let mut sums = [0f64; 4];
            let mut n = 0f64;
            let mut alpha = 0f64;
            for y in ly * s..((ly + 1) * s).min(h) {
                for x in lx * s..((lx + 1) * s).min(w) {
                    let p = &px[(y as usize * w as usize + x as usize) * channels..][..channels];
                    let a = if channels == 4 { f64::from(p[3]) } else { 1.0 };
                    for i in 0..3 {
                        sums[i] += f64::from(p[i]) * a;
                    }
                    alpha += a;
                    n += 1.0;
                }
            }
            let o = &mut out[(ly as usize * lw as usize + lx as usize) * channels..][..channels];
            for i in 0..3 {
                o[i] = if alpha > 0.0 {
                    (sums[i] / alpha).round() as u8
                } else {
                    0
                };
            }
            if channels == 4 {
                o[3] = (alpha / n).round() as u8;
            }
        }
    }
    (lw, lh, out)
}

/// Peak signal-to-noise ratio in dB between two same-size buffers.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "buffers differ in size");
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// Crops a region out of an image buffer.
pub fn crop(px: &[u8], w: u32, channels: usize, x: u32, y: u32, cw: u32, ch: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((cw * ch) as usize * channels);
    for r in y..y + ch {
        let start = (r as usize * w as usize + x as usize) * channels;
        out.extend_from_slice(&px[start..start + cw as usize * channels]);
    }
    out
}
