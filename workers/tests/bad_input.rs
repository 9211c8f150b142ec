//! Hostile and broken inputs: each ends in the right error with a reason a person can
//! read, before any large allocation where the header already tells, and never leaves a
//! half-written tile or a descriptor promising tiles that are not there.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use hugepic_workers::{tile_file, FsSink, Limits, MemorySink, TileError, TileOptions};

fn tile_bytes(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<hugepic_workers::TileSummary, TileError> {
    let dir = scratch();
    let path = write(dir.path(), name, bytes);
    tile_file(
        &path,
        &MemorySink::default(),
        &TileOptions::default(),
        limits,
        &|_| {},
    )
}

#[test]
fn not_a_picture() {
    for (name, bytes, hint) in [
        (
            "notes.txt",
            b"hello, this is text".to_vec(),
            "not a picture",
        ),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00".to_vec(), "GIF"),
        ("empty.jpg", Vec::new(), "empty"),
        ("doc.pdf", b"%PDF-1.7 ...".to_vec(), "PDF"),
    ] {
        let err = tile_bytes(name, &bytes, &Limits::default()).unwrap_err();
        assert!(matches!(err, TileError::Unsupported(_)), "{name}: {err}");
        assert!(err.to_string().contains(hint), "{name}: {err}");
        assert!(err.is_input_error());
    }
}

#[test]
fn truncated_files() {
    let (w, h) = (200, 150);
    let px = photo(w, h, 3);
    let jpeg_bytes = jpeg(w, h, &px, JpegKind::default());
    let png_bytes = png(w, h, 2, 8, &px, false, None);
    let progressive = jpeg(
        w,
        h,
        &px,
        JpegKind {
            progressive: true,
            ..JpegKind::default()
        },
    );
    let tiff_bytes = {
        let raw = |c: &[u8], _: u32, _: u32| c.to_vec();
        tiff_by_hand(
            &TiffSpec {
                width: w,
                height: h,
                channels: 3,
                samples: &px,
                chunks: Chunks::Strips { rows: 10 },
                compression: 1,
                photometric: 2,
                orientation: None,
            },
            &raw,
        )
    };
    for (name, bytes) in [
        ("cut.jpg", &jpeg_bytes),
        ("cut-progressive.jpg", &progressive),
        ("cut.png", &png_bytes),
    ] {
        for keep in [bytes.len() * 2 / 3, 300, 40] {
            let err = tile_bytes(name, &bytes[..keep], &Limits::default()).unwrap_err();
            assert!(
                matches!(err, TileError::Truncated(_) | TileError::Corrupt(_)),
                "{name} cut at {keep}: {err}"
            );
            assert!(err.is_input_error(), "{name}: {err}");
        }
    }
    // A TIFF whose strips run past the end of the file.
    let err = tile_bytes(
        "cut.tif",
        &tiff_bytes[..tiff_bytes.len() / 2],
        &Limits::default(),
    )
    .unwrap_err();
    assert!(err.is_input_error(), "{err}");
}

#[test]
fn corrupt_files() {
    let (w, h) = (64, 64);
    let px = photo(w, h, 3);
    let mut bad_crc = png(w, h, 2, 8, &px, false, None);
    let idat = bad_crc.windows(4).position(|win| win == b"IDAT").unwrap();
    bad_crc[idat + 10] ^= 0xFF;
    let err = tile_bytes("crc.png", &bad_crc, &Limits::default()).unwrap_err();
    assert!(matches!(err, TileError::Corrupt(_)), "{err}");

    // A JPEG whose Huffman tables are garbage.
    let mut jpeg_bytes = jpeg(w, h, &px, JpegKind::default());
    let dht = jpeg_bytes
        .windows(2)
        .position(|win| win == [0xFF, 0xC4])
        .unwrap();
    for b in &mut jpeg_bytes[dht + 5..dht + 21] {
        *b = 0xFF;
    }
    let err = tile_bytes("tables.jpg", &jpeg_bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, TileError::Corrupt(_)), "{err}");
    assert!(err.to_string().to_lowercase().contains("huffman"), "{err}");

    // Valid magic bytes, nothing else.
    for (name, bytes) in [
        ("magic.jpg", b"\xFF\xD8\xFF\xE0\x00\x10JFIF".to_vec()),
        ("magic.tif", b"II*\0\x08\0\0\0\x00\x00".to_vec()),
        ("magic.webp", b"RIFF\x10\0\0\0WEBPVP8 ".to_vec()),
    ] {
        let err = tile_bytes(name, &bytes, &Limits::default()).unwrap_err();
        assert!(err.is_input_error(), "{name}: {err}");
    }
}

#[test]
fn decompression_bombs_refused_from_the_header() {
    // 200,000 × 200,000 PNG of a few hundred bytes: refused before any pixel buffer.
    let idat = {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 16]).unwrap();
        z.finish().unwrap()
    };
    let bomb = png_from_parts(200_000, 200_000, 8, 2, false, None, &idat);
    let err = tile_bytes("bomb.png", &bomb, &Limits::default()).unwrap_err();
    match &err {
        TileError::TooManyPixels {
            width,
            height,
            limit,
            ..
        } => {
            assert_eq!((*width, *height), (200_000, 200_000));
            assert_eq!(*limit, Limits::default().max_pixels);
        }
        other => panic!("expected TooManyPixels, got {other}"),
    }
    assert!(err.to_string().contains("over the limit"), "{err}");

    // A JPEG and a TIFF claiming more pixels than a tight limit allows.
    let small = Limits {
        max_pixels: 10_000,
        ..Limits::default()
    };
    let px = photo(200, 100, 3);
    let jpeg_bytes = jpeg(200, 100, &px, JpegKind::default());
    assert!(matches!(
        tile_bytes("big.jpg", &jpeg_bytes, &small),
        Err(TileError::TooManyPixels { .. })
    ));
    let raw = |c: &[u8], _: u32, _: u32| c.to_vec();
    let tiff_bytes = tiff_by_hand(
        &TiffSpec {
            width: 200,
            height: 100,
            channels: 3,
            samples: &px,
            chunks: Chunks::Strips { rows: 10 },
            compression: 1,
            photometric: 2,
            orientation: None,
        },
        &raw,
    );
    assert!(matches!(
        tile_bytes("big.tif", &tiff_bytes, &small),
        Err(TileError::TooManyPixels { .. })
    ));
}

#[test]
fn inputs_that_cannot_stream_within_the_budget_say_so() {
    let tight = Limits {
        memory_budget_bytes: 1 << 20,
        ..Limits::default()
    };
    let (w, h) = (1200, 1000);
    let px = photo(w, h, 3);
    let progressive = jpeg(
        w,
        h,
        &px,
        JpegKind {
            progressive: true,
            ..JpegKind::default()
        },
    );
    let err = tile_bytes("p.jpg", &progressive, &tight).unwrap_err();
    assert!(matches!(err, TileError::OverBudget { .. }), "{err}");
    assert!(err.to_string().contains("progressive JPEG"), "{err}");
    assert!(err.to_string().contains("memory budget of 1 MiB"), "{err}");

    let interlaced = png(w, h, 2, 8, &px, true, None);
    let err = tile_bytes("i.png", &interlaced, &tight).unwrap_err();
    assert!(err.to_string().contains("Adam7"), "{err}");

    // Too wide for the strips themselves.
    let wide = png(8000, 4, 2, 8, &photo(8000, 4, 3), false, None);
    let err = tile_bytes("wide.png", &wide, &tight).unwrap_err();
    assert!(err.to_string().contains("8000 pixels wide"), "{err}");

    // The same files go through with the default budget.
    assert!(tile_bytes("p.jpg", &progressive, &Limits::default()).is_ok());
    assert!(tile_bytes("i.png", &interlaced, &Limits::default()).is_ok());
}

#[test]
fn a_failed_run_leaves_only_whole_tiles_and_no_descriptor() {
    let (w, h) = (1500, 1200);
    let px = photo(w, h, 3);
    let bytes = jpeg(w, h, &px, JpegKind::default());
    let dir = scratch();
    let path = write(dir.path(), "cut.jpg", &bytes[..bytes.len() * 3 / 4]);
    let out = dir.path().join("out");
    let err = tile_file(
        &path,
        &FsSink::new(&out),
        &TileOptions::default(),
        &Limits::default(),
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(err, TileError::Truncated(_)), "{err}");
    assert!(
        !out.join("image.dzi").exists(),
        "no descriptor for a failed run"
    );
    let mut tiles = 0;
    for entry in walk(&out) {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            !name.starts_with(".partial-"),
            "temporary file left: {}",
            entry.display()
        );
        let data = std::fs::read(&entry).unwrap();
        image::load_from_memory(&data).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
        tiles += 1;
    }
    assert!(tiles > 0, "the rows before the cut were tiled");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
