//! EXIF orientations 1–8 (JPEG APP1, PNG eXIf-less TIFF tag): the tiles show the picture
//! upright, compared pixel by pixel with an independently rotated reference.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use hugepic_workers::pyramid::layout::dzi;
use hugepic_workers::{tile_file, Limits, MemorySink, TileFormat, TileOptions};

/// Applies EXIF orientation `o` to `px` (w×h RGB) the textbook way: upright(x', y').
fn upright(px: &[u8], w: u32, h: u32, o: u16) -> (u32, u32, Vec<u8>) {
    let swap = o >= 5;
    let (ow, oh) = if swap { (h, w) } else { (w, h) };
    let mut out = vec![0u8; px.len()];
    for oy in 0..oh {
        for ox in 0..ow {
            // Source pixel for output (ox, oy), from the EXIF definitions.
            let (sx, sy) = match o {
                1 => (ox, oy),
                2 => (w - 1 - ox, oy),
                3 => (w - 1 - ox, h - 1 - oy),
                4 => (ox, h - 1 - oy),
                5 => (oy, ox),
                6 => (oy, h - 1 - ox),
                7 => (w - 1 - oy, h - 1 - ox),
                _ => (w - 1 - oy, ox),
            };
            let s = ((sy * w + sx) * 3) as usize;
            let d = ((oy * ow + ox) * 3) as usize;
            out[d..d + 3].copy_from_slice(&px[s..s + 3]);
        }
    }
    (ow, oh, out)
}

fn top_tile(path: &std::path::Path, w: u32, h: u32) -> (u32, u32, Vec<u8>) {
    let sink = MemorySink::default();
    let options = TileOptions {
        tile_size: 512,
        format: Some(TileFormat::Png),
        ..TileOptions::default()
    };
    let summary = tile_file(path, &sink, &options, &Limits::default(), &|_| {}).expect("tiles");
    let key = dzi::tile_key(summary.levels - 1, 0, 0, "png");
    let _ = (w, h);
    decode_tile(&sink.objects()[&key], 3)
}

#[test]
fn jpeg_exif_orientations_1_to_8() {
    // Over 256 px so the spill file holds several tiles with partial edges.
    let (w, h) = (300u32, 270u32);
    let px = photo(w, h, 3);
    let dir = scratch();
    for o in 1..=8u16 {
        let bytes = jpeg(
            w,
            h,
            &px,
            JpegKind {
                orientation: Some(o),
                quality: 98,
                ..JpegKind::default()
            },
        );
        let (_, _, decoded) = decode_reference(&bytes, 3); // the image crate ignores EXIF here
        let (ew, eh, expected) = upright(&decoded, w, h, o);
        let path = write(dir.path(), &format!("o{o}.jpg"), &bytes);
        let (tw, th, got) = top_tile(&path, w, h);
        assert_eq!((tw, th), (ew, eh), "orientation {o}: size");
        let db = psnr(&got, &expected);
        assert!(db >= 40.0, "orientation {o}: PSNR {db:.1}");
        // And it is not merely similar to the unrotated picture.
        if o != 1 && (tw, th) == (w, h) {
            assert!(
                psnr(&got, &decoded) < 30.0,
                "orientation {o} left the picture as it was"
            );
        }
    }
}

#[test]
fn tiff_orientation_tag() {
    let (w, h) = (90u32, 60u32);
    let px = photo(w, h, 3);
    let dir = scratch();
    let raw = |chunk: &[u8], _: u32, _: u32| chunk.to_vec();
    for o in [3u16, 6, 8] {
        let bytes = tiff_by_hand(
            &TiffSpec {
                width: w,
                height: h,
                channels: 3,
                samples: &px,
                chunks: Chunks::Strips { rows: 16 },
                compression: 1,
                photometric: 2,
                orientation: Some(o),
            },
            &raw,
        );
        let path = write(dir.path(), &format!("o{o}.tif"), &bytes);
        let (ew, eh, expected) = upright(&px, w, h, o);
        let (tw, th, got) = top_tile(&path, w, h);
        assert_eq!((tw, th), (ew, eh), "orientation {o}");
        assert_eq!(
            got, expected,
            "orientation {o}: lossless input, exact pixels"
        );
    }
}
