//! Every input kind, generated here, tiled, and its tiles at several levels compared with
//! an area-average downscale of an independent decode (PSNR ≥ 40 dB).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use hugepic_workers::pyramid::layout::dzi;
use hugepic_workers::pyramid::PyramidPlan;
use hugepic_workers::{tile_file, Layout, Limits, MemorySink, TileFormat, TileOptions};
use image::ImageEncoder;
use tiff::encoder::{colortype, Compression, DeflateLevel, TiffEncoder};

const W: u32 = 301;
const H: u32 = 203;

/// Tiles `bytes` (PNG tiles, so comparisons see the engine, not the tile codec) and checks
/// levels max, max-1 and max-3 against `reference` (`channels` per pixel).
fn assert_pyramid_matches(
    name: &str,
    bytes: &[u8],
    reference: &[u8],
    channels: usize,
    min_psnr: f64,
) {
    assert_tiles_match(name, bytes, reference, channels, min_psnr, TileFormat::Png);
}

/// Tiles `bytes` into `format` tiles and checks levels max, max-1 and max-3 against
/// `reference` (`channels` per pixel); returns every object written.
fn assert_tiles_match(
    name: &str,
    bytes: &[u8],
    reference: &[u8],
    channels: usize,
    min_psnr: f64,
    format: TileFormat,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let dir = scratch();
    let path = write(dir.path(), name, bytes);
    let sink = MemorySink::default();
    let options = TileOptions {
        tile_size: 128,
        format: Some(format),
        layout: Layout::ALL,
        ..TileOptions::default()
    };
    let summary = tile_file(&path, &sink, &options, &Limits::default(), &|_| {})
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!((summary.width, summary.height), (W, H), "{name}");
    let objects = sink.objects();
    let plan = PyramidPlan::new(W, H, 128, 0).unwrap();
    for shift in [0u32, 1, 3] {
        let level = plan.max_level - shift;
        let (lw, _, expected) = reference_level(reference, W, H, channels, shift);
        let (cols, rows) = plan.grid(level);
        for row in 0..rows {
            for col in 0..cols {
                let key = dzi::tile_key(level, col, row, format.extension());
                let tile = objects
                    .get(&key)
                    .unwrap_or_else(|| panic!("{name}: missing {key}"));
                let (tw, th, px) = decode_tile(tile, channels);
                let rect = plan.tile_rect(level, col, row, 0);
                assert_eq!((tw, th), (rect.width, rect.height), "{name} {key}");
                let want = crop(
                    &expected,
                    lw,
                    channels,
                    rect.x,
                    rect.y,
                    rect.width,
                    rect.height,
                );
                let db = psnr(&px, &want);
                assert!(db >= min_psnr, "{name} {key}: PSNR {db:.1} dB < {min_psnr}");
            }
        }
    }
    objects
}

fn rgb_to_gray(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3).map(luma).collect()
}

fn gray_to_rgb(gray: &[u8]) -> Vec<u8> {
    gray.iter().flat_map(|&g| [g, g, g]).collect()
}

#[test]
fn jpeg_baseline_progressive_gray_cmyk_ycck() {
    let rgb = photo(W, H, 3);
    for (name, kind) in [
        ("baseline.jpg", JpegKind::default()),
        (
            "progressive.jpg",
            JpegKind {
                progressive: true,
                ..JpegKind::default()
            },
        ),
        (
            "gray.jpg",
            JpegKind {
                components: 1,
                ..JpegKind::default()
            },
        ),
    ] {
        let bytes = jpeg(W, H, &rgb, kind);
        let (_, _, reference) = decode_reference(&bytes, 3);
        assert_pyramid_matches(name, &bytes, &reference, 3, 40.0);
    }
    // CMYK and YCCK were made from the RGB pixels exactly (inverted CMYK, K = 0), so the
    // original is the reference; the margin is the JPEG loss of four channels.
    for (name, components) in [("cmyk.jpg", 4u8), ("ycck.jpg", 5u8)] {
        let bytes = jpeg(
            W,
            H,
            &rgb,
            JpegKind {
                components,
                quality: 98,
                ..JpegKind::default()
            },
        );
        assert_pyramid_matches(name, &bytes, &rgb, 3, 38.0);
    }
}

#[test]
fn png_every_colour_type_depth_and_interlace() {
    let rgb = photo(W, H, 3);
    let rgba = photo(W, H, 4);
    let gray = rgb_to_gray(&rgb);
    let gray_alpha: Vec<u8> = gray
        .iter()
        .zip(rgba.chunks_exact(4))
        .flat_map(|(&g, p)| [g, p[3]])
        .collect();
    let gray_alpha_rgba: Vec<u8> = gray_alpha
        .chunks_exact(2)
        .flat_map(|p| [p[0], p[0], p[0], p[1]])
        .collect();
    assert_pyramid_matches(
        "rgb8.png",
        &png(W, H, 2, 8, &rgb, false, None),
        &rgb,
        3,
        40.0,
    );
    assert_pyramid_matches(
        "rgb16.png",
        &png(W, H, 2, 16, &rgb, false, None),
        &rgb,
        3,
        40.0,
    );
    assert_pyramid_matches(
        "rgba8.png",
        &png(W, H, 6, 8, &rgba, false, None),
        &rgba,
        4,
        40.0,
    );
    assert_pyramid_matches(
        "rgba16.png",
        &png(W, H, 6, 16, &rgba, false, None),
        &rgba,
        4,
        40.0,
    );
    assert_pyramid_matches(
        "gray8.png",
        &png(W, H, 0, 8, &gray, false, None),
        &gray_to_rgb(&gray),
        3,
        40.0,
    );
    assert_pyramid_matches(
        "gray16.png",
        &png(W, H, 0, 16, &gray, false, None),
        &gray_to_rgb(&gray),
        3,
        40.0,
    );
    assert_pyramid_matches(
        "graya.png",
        &png(W, H, 4, 8, &gray_alpha, false, None),
        &gray_alpha_rgba,
        4,
        40.0,
    );
    assert_pyramid_matches(
        "interlaced.png",
        &png(W, H, 2, 8, &rgb, true, None),
        &rgb,
        3,
        40.0,
    );
    assert_pyramid_matches(
        "interlaced16a.png",
        &png(W, H, 6, 16, &rgba, true, None),
        &rgba,
        4,
        40.0,
    );
    // Palette: 256 colours along a ramp, indices from the luma.
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
    let palette_rgb: Vec<u8> = gray.iter().flat_map(|&i| [i, 255 - i, i / 2]).collect();
    assert_pyramid_matches(
        "palette.png",
        &png(W, H, 3, 8, &gray, false, Some(&palette)),
        &palette_rgb,
        3,
        40.0,
    );
}

fn tiff_with<C: colortype::ColorType>(
    big: bool,
    compression: Compression,
    data: &[C::Inner],
    rows_per_strip: Option<u32>,
) -> Vec<u8>
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut out = std::io::Cursor::new(Vec::new());
    if big {
        let mut enc = TiffEncoder::new_big(&mut out)
            .unwrap()
            .with_compression(compression);
        let mut image = enc.new_image::<C>(W, H).unwrap();
        if let Some(r) = rows_per_strip {
            image.rows_per_strip(r).unwrap();
        }
        image.write_data(data).unwrap();
    } else {
        let mut enc = TiffEncoder::new(&mut out)
            .unwrap()
            .with_compression(compression);
        let mut image = enc.new_image::<C>(W, H).unwrap();
        if let Some(r) = rows_per_strip {
            image.rows_per_strip(r).unwrap();
        }
        image.write_data(data).unwrap();
    }
    out.into_inner()
}

#[test]
fn tiff_strips_compressions_depths_and_bigtiff() {
    let rgb = photo(W, H, 3);
    let rgba = photo(W, H, 4);
    let gray = rgb_to_gray(&rgb);
    let rgb16: Vec<u16> = rgb.iter().map(|&v| u16::from(v) * 257).collect();
    assert_pyramid_matches(
        "lzw.tif",
        &tiff_with::<colortype::RGB8>(false, Compression::Lzw, &rgb, Some(16)),
        &rgb,
        3,
        40.0,
    );
    assert_pyramid_matches(
        "deflate16.tif",
        &tiff_with::<colortype::RGB16>(
            false,
            Compression::Deflate(DeflateLevel::Fast),
            &rgb16,
            Some(7),
        ),
        &rgb,
        3,
        40.0,
    );
    assert_pyramid_matches(
        "packbits-gray.tif",
        &tiff_with::<colortype::Gray8>(false, Compression::Packbits, &gray, None),
        &gray_to_rgb(&gray),
        3,
        40.0,
    );
    // One uncompressed strip for the whole picture: read straight from the file.
    assert_pyramid_matches(
        "single-strip.tif",
        &tiff_with::<colortype::RGBA8>(false, Compression::Uncompressed, &rgba, Some(H)),
        &rgba,
        4,
        40.0,
    );
    assert_pyramid_matches(
        "uncompressed16.tif",
        &tiff_with::<colortype::RGB16>(false, Compression::Uncompressed, &rgb16, Some(5)),
        &rgb,
        3,
        40.0,
    );
    assert_pyramid_matches(
        "big-lzw.tif",
        &tiff_with::<colortype::RGB8>(true, Compression::Lzw, &rgb, Some(32)),
        &rgb,
        3,
        40.0,
    );
    let cmyk: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [255 - p[0], 255 - p[1], 255 - p[2], 0])
        .collect();
    assert_pyramid_matches(
        "cmyk.tif",
        &tiff_with::<colortype::CMYK8>(false, Compression::Lzw, &cmyk, None),
        &rgb,
        3,
        40.0,
    );
}

/// Reads every row of `bytes` through the decoder, as the tiler does (a few at a time).
fn decoded_rows(name: &str, bytes: &[u8]) -> Vec<u8> {
    let dir = scratch();
    let path = write(dir.path(), name, bytes);
    let mut source = hugepic_workers::decode::open(&path, &Limits::default()).unwrap();
    let row = source.width() as usize * source.channels();
    let mut out = vec![0u8; row * source.height() as usize];
    for rows in out.chunks_mut(row * 5) {
        source.read_rows(rows).unwrap();
    }
    out
}

/// Many compressed strips are decoded on several threads (one per core): the rows come
/// out exactly, in order, whatever order the strips finish in.
#[test]
fn tiff_bands_decoded_on_several_threads_come_out_exactly_in_order() {
    let rgb = photo(W, H, 3);
    for rows_per_strip in [1, 3, 16] {
        let tiff =
            tiff_with::<colortype::RGB8>(false, Compression::Lzw, &rgb, Some(rows_per_strip));
        let got = decoded_rows("strips.tif", &tiff);
        assert!(
            got == rgb,
            "LZW strips of {rows_per_strip} rows decode to other pixels"
        );
    }
    let deflate = tiff_with::<colortype::RGBA8>(
        false,
        Compression::Deflate(DeflateLevel::Fast),
        &photo(W, H, 4),
        Some(2),
    );
    assert!(decoded_rows("rgba.tif", &deflate) == photo(W, H, 4));
}

#[test]
fn tiff_tiles_and_jpeg_in_tiff() {
    let rgb = photo(W, H, 3);
    let raw = |chunk: &[u8], _: u32, _: u32| chunk.to_vec();
    let tiled = tiff_by_hand(
        &TiffSpec {
            width: W,
            height: H,
            channels: 3,
            samples: &rgb,
            chunks: Chunks::Tiles {
                width: 64,
                height: 48,
            },
            compression: 1,
            photometric: 2,
            orientation: None,
        },
        &raw,
    );
    assert_pyramid_matches("tiled.tif", &tiled, &rgb, 3, 40.0);
    let deflate = |chunk: &[u8], _: u32, _: u32| {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(chunk).unwrap();
        z.finish().unwrap()
    };
    let tiled_deflate = tiff_by_hand(
        &TiffSpec {
            width: W,
            height: H,
            channels: 3,
            samples: &rgb,
            chunks: Chunks::Tiles {
                width: 128,
                height: 128,
            },
            compression: 8,
            photometric: 2,
            orientation: None,
        },
        &deflate,
    );
    assert_pyramid_matches("tiled-deflate.tif", &tiled_deflate, &rgb, 3, 40.0);
    // JPEG-in-TIFF (compression 7), each strip a complete YCbCr JPEG.
    let jpeg_strip = |chunk: &[u8], w: u32, h: u32| {
        jpeg(
            w,
            h,
            chunk,
            JpegKind {
                quality: 98,
                ..JpegKind::default()
            },
        )
    };
    let jpeg_tiff = tiff_by_hand(
        &TiffSpec {
            width: W,
            height: H,
            channels: 3,
            samples: &rgb,
            chunks: Chunks::Strips { rows: 64 },
            compression: 7,
            photometric: 6,
            orientation: None,
        },
        &jpeg_strip,
    );
    assert_pyramid_matches("jpeg-in.tif", &jpeg_tiff, &rgb, 3, 38.0);
}

#[test]
fn webp_lossless_with_and_without_alpha() {
    for channels in [3usize, 4] {
        let px = photo(W, H, channels);
        let mut bytes = Vec::new();
        let color = if channels == 4 {
            image::ExtendedColorType::Rgba8
        } else {
            image::ExtendedColorType::Rgb8
        };
        image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
            .encode(&px, W, H, color)
            .unwrap();
        assert_pyramid_matches(
            &format!("lossless{channels}.webp"),
            &bytes,
            &px,
            channels,
            40.0,
        );
    }
}

#[test]
fn webp_lossy_with_and_without_alpha() {
    // Lossy WebP cannot be written by any pure-Rust encoder; these two small files were
    // made once with libvips from the benchmark mosaic. The reference is the `image`
    // crate's decode of the same file.
    for (name, channels) in [
        ("lossy-301x203.webp", 3usize),
        ("lossy-alpha-301x203.webp", 4),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let bytes = std::fs::read(&path).unwrap();
        let (w, h, reference) = decode_reference(&bytes, channels);
        assert_eq!((w, h), (W, H));
        assert_pyramid_matches(name, &bytes, &reference, channels, 40.0);
    }
}

#[test]
fn webp_tiles_with_and_without_alpha() {
    for channels in [3usize, 4] {
        let px = photo(W, H, channels);
        let mut png = Vec::new();
        let color = if channels == 4 {
            image::ExtendedColorType::Rgba8
        } else {
            image::ExtendedColorType::Rgb8
        };
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&px, W, H, color)
            .unwrap();
        let name = format!("photo{channels}.png");
        let objects = assert_tiles_match(&name, &png, &px, channels, 32.0, TileFormat::Webp);
        let descriptor = String::from_utf8(objects[dzi::DESCRIPTOR_KEY].clone()).unwrap();
        assert!(descriptor.contains("Format=\"webp\""), "{descriptor}");
        let info: serde_json::Value =
            serde_json::from_slice(&objects[hugepic_workers::pyramid::layout::iiif::INFO_KEY])
                .unwrap();
        assert_eq!(info["extraFormats"], serde_json::json!(["webp"]), "{info}");
        // Whole images (IIIF sizes, thumbnails) are WebP too, and hold the picture.
        let thumbnail = &objects["thumbnail-256.webp"];
        assert_eq!(&thumbnail[8..12], b"WEBP");
        let (tw, th, _) = decode_tile(thumbnail, channels);
        assert_eq!(tw.max(th), 256);
        let full = objects
            .iter()
            .find(|(k, _)| k.ends_with(&format!("full/{W},{H}/0/default.webp")))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no full-size WebP among {:?}", objects.keys()));
        let (fw, fh, full_px) = decode_tile(full, channels);
        assert_eq!((fw, fh), (W, H));
        let db = psnr(&full_px, &px);
        assert!(db >= 32.0, "{name} full size: PSNR {db:.1} dB");
        assert!(
            objects
                .keys()
                .all(|k| !k.ends_with(".jpg") && !k.ends_with(".png")),
            "every image is WebP: {:?}",
            objects.keys()
        );
    }
}
