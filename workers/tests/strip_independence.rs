//! The pyramid must not depend on how rows arrive: feeding them one at a time, in odd
//! chunks or all at once gives identical strips on every level, equal to the golden
//! checksum recorded in `golden/pyramid.txt` (set `HUGEPIC_UPDATE_GOLDEN=1` to rewrite it
//! after an intended change).
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::photo;
use hugepic_workers::pyramid::{Output, Pyramid, PyramidPlan};

/// FNV-1a over every strip's position and pixels, in the order strips are emitted per level.
fn pyramid_checksum(
    w: u32,
    h: u32,
    channels: usize,
    tile: u32,
    overlap: u32,
    chunk_rows: usize,
) -> u64 {
    let plan = PyramidPlan::new(w, h, tile, overlap).unwrap();
    let px = photo(w, h, channels);
    let mut pyramid = Pyramid::new(&plan, channels);
    let mut per_level: Vec<Vec<u8>> = vec![Vec::new(); plan.max_level as usize + 1];
    let mut whole_rows: Vec<u8> = Vec::new();
    let mut emit = |output: Output<'_>| match output {
        Output::Strip(strip) => {
            let out = &mut per_level[strip.level as usize];
            out.extend_from_slice(&strip.tile_row.to_le_bytes());
            out.extend_from_slice(&strip.top.to_le_bytes());
            out.extend_from_slice(&strip.rows.to_le_bytes());
            out.extend_from_slice(&strip.pixels);
        }
        Output::Row { level, y, row } => {
            whole_rows.extend_from_slice(&level.to_le_bytes());
            whole_rows.extend_from_slice(&y.to_le_bytes());
            whole_rows.extend_from_slice(row);
        }
    };
    for chunk in px.chunks(chunk_rows * w as usize * channels) {
        pyramid.push_rows(chunk, &mut emit);
    }
    assert!(pyramid.is_complete());
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in per_level.iter().flatten().chain(&whole_rows) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const CASES: [(u32, u32, usize, u32, u32); 4] = [
    (257, 255, 3, 256, 0),
    (1000, 613, 3, 254, 1),
    (333, 517, 4, 128, 3),
    (4097, 3, 3, 256, 0),
];

#[test]
fn strips_do_not_depend_on_chunking() {
    for (w, h, c, tile, overlap) in CASES {
        let whole = pyramid_checksum(w, h, c, tile, overlap, h as usize);
        for chunk in [1, 2, 7, 64] {
            assert_eq!(
                pyramid_checksum(w, h, c, tile, overlap, chunk),
                whole,
                "{w}×{h}×{c} tile {tile} overlap {overlap}, chunks of {chunk} rows"
            );
        }
    }
}

#[test]
fn golden_checksums() {
    let lines: Vec<String> = CASES
        .iter()
        .map(|&(w, h, c, tile, overlap)| {
            format!(
                "{w}x{h}x{c} tile={tile} overlap={overlap} {:016x}",
                pyramid_checksum(w, h, c, tile, overlap, 16)
            )
        })
        .collect();
    common::check_golden("pyramid.txt", &(lines.join("\n") + "\n"), "pyramid pixels");
}
