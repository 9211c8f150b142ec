//! JPEG tiles with Huffman tables shared along each level (`encode::shared`): the bytes
//! depend on the picture alone (not on threads, chunking or a resumed run), match the
//! golden checksum in `golden/tiles.txt` (`HUGEPIC_UPDATE_GOLDEN=1` rewrites it after an
//! intended change), decode to exactly the pixels of per-tile tables, and stay close to
//! their size.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use std::collections::BTreeMap;

use common::{decode_tile, photo};
use hugepic_workers::decode::RowSource;
use hugepic_workers::{
    tile_source, HuffmanMode, Layout, Limits, MemorySink, TileError, TileOptions, TileSink,
};

/// Rows from memory, `chunk` at most per read as the engine asks.
struct Rows {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    at: usize,
}

impl RowSource for Rows {
    fn width(&self) -> u32 {
        self.width
    }
    fn height(&self) -> u32 {
        self.height
    }
    fn channels(&self) -> usize {
        3
    }
    fn read_rows(&mut self, out: &mut [u8]) -> Result<(), TileError> {
        out.copy_from_slice(&self.pixels[self.at..self.at + out.len()]);
        self.at += out.len();
        Ok(())
    }
}

const W: u32 = 2300;
const H: u32 = 1500;

fn tile(
    pixels: &[u8],
    huffman: HuffmanMode,
    threads: usize,
    overlap: u32,
    sink: &MemorySink,
    resume: bool,
) -> BTreeMap<String, Vec<u8>> {
    let mut source = Rows {
        width: W,
        height: H,
        pixels: pixels.to_vec(),
        at: 0,
    };
    let options = TileOptions {
        overlap,
        layout: Layout::ALL,
        threads,
        huffman,
        skip_existing: resume,
        thumbnails: vec![],
        ..TileOptions::default()
    };
    tile_source(&mut source, sink, &options, &Limits::default(), &|_| {}).unwrap();
    sink.objects()
        .into_iter()
        .filter(|(key, _)| key.ends_with(".jpg"))
        .collect()
}

/// A photo with a busier lower half, so later rows need symbols the first row lacks.
fn picture() -> Vec<u8> {
    let mut px = photo(W, H, 3);
    let mut state = 0x2545_f491u32;
    for (i, p) in px.iter_mut().enumerate().skip((W * H * 3 / 2) as usize) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        if i % 7 == 0 {
            *p = p.wrapping_add((state % 64) as u8);
        }
    }
    px
}

fn fnv(tiles: &BTreeMap<String, Vec<u8>>) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for (key, bytes) in tiles {
        for byte in key.as_bytes().iter().chain(bytes) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[test]
fn bytes_depend_on_the_picture_alone() {
    let px = picture();
    for overlap in [0, 1] {
        let one = tile(
            &px,
            HuffmanMode::Shared,
            1,
            overlap,
            &MemorySink::default(),
            false,
        );
        let four = tile(
            &px,
            HuffmanMode::Shared,
            4,
            overlap,
            &MemorySink::default(),
            false,
        );
        assert!(one.len() > 100, "{} tiles", one.len());
        assert_eq!(
            one.keys().collect::<Vec<_>>(),
            four.keys().collect::<Vec<_>>()
        );
        for (key, bytes) in &one {
            assert!(
                bytes == &four[key],
                "{key} differs between 1 and 4 threads (overlap {overlap})"
            );
        }
        // A resumed run (half the tiles already stored, samples among them) writes the
        // rest with the very same bytes.
        let sink = MemorySink::default();
        for (key, bytes) in one.iter().step_by(2) {
            sink.put(key, bytes, "image/jpeg").unwrap();
        }
        let resumed = tile(&px, HuffmanMode::Shared, 2, overlap, &sink, true);
        assert_eq!(resumed, one, "resumed run, overlap {overlap}");
    }
}

#[test]
fn golden_checksum() {
    let tiles = tile(
        &picture(),
        HuffmanMode::Shared,
        2,
        0,
        &MemorySink::default(),
        false,
    );
    let current = format!(
        "{W}x{H} shared tables, DeepZoom + IIIF {:016x}\n",
        fnv(&tiles)
    );
    common::check_golden("tiles.txt", &current, "tile bytes");
}

#[test]
fn same_pixels_as_per_tile_tables_and_close_in_size() {
    let total =
        |tiles: &BTreeMap<String, Vec<u8>>| tiles.values().map(Vec::len).sum::<usize>() as f64;
    for (name, px, within) in [
        ("smooth photo", photo(W, H, 3), 1.05),
        ("photo turning to noise", picture(), 1.10),
    ] {
        let shared = tile(
            &px,
            HuffmanMode::Shared,
            2,
            0,
            &MemorySink::default(),
            false,
        );
        let per_tile = tile(
            &px,
            HuffmanMode::PerTile,
            2,
            0,
            &MemorySink::default(),
            false,
        );
        let standard = tile(
            &px,
            HuffmanMode::Standard,
            2,
            0,
            &MemorySink::default(),
            false,
        );
        assert_eq!(shared.len(), per_tile.len());
        let mut one_pass = 0;
        for (key, bytes) in &shared {
            assert_eq!(
                decode_tile(bytes, 3),
                decode_tile(&per_tile[key], 3),
                "{name}: {key}"
            );
            one_pass += usize::from(bytes != &per_tile[key]);
        }
        // Most tiles took the one-pass road (the rest are the samples).
        assert!(
            one_pass * 2 > shared.len(),
            "{name}: {one_pass} of {} one-pass",
            shared.len()
        );
        let (s, p, d) = (total(&shared), total(&per_tile), total(&standard));
        assert!(s < p * within, "{name}: shared {s} vs per-tile {p}");
        assert!(s < d, "{name}: shared {s} vs standard {d}");
    }
}
