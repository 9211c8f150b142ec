//! Tests of the restart bands: exact pixels against one whole decode, and the files left
//! to one thread.

use super::*;

#[test]
fn renumbers_restarts_and_leaves_stuffed_bytes_alone() {
    let mut data = vec![
        1, 0xFF, 0x00, 2, 0xFF, 0xD5, 3, 0xFF, 0xFF, 0xD6, 4, 0xFF, 0x00, 0xFF, 0xD7, 5,
    ];
    renumber_restarts(&mut data);
    assert_eq!(
        data,
        vec![1, 0xFF, 0x00, 2, 0xFF, 0xD0, 3, 0xFF, 0xFF, 0xD1, 4, 0xFF, 0x00, 0xFF, 0xD2, 5]
    );
}

#[test]
fn bands_hand_out_every_row_once() {
    for (height, unit_rows, band_units, context) in [
        (203u32, 16u32, 2u32, true),
        (203, 16, 3, false),
        (64, 16, 1, true),
        (17, 8, 1, true),
    ] {
        let units = height.div_ceil(unit_rows);
        let cut = Cut {
            width: 10,
            height,
            unit_rows,
            units,
            band_units,
            context,
            header: Vec::new(),
            height_at: 0,
            starts: Vec::new(),
            ends: Vec::new(),
        };
        let mut next = 0;
        for k in 0..cut.bands() {
            let (first_unit, decoded_to, first, end) = cut.band(k);
            assert_eq!(
                first, next,
                "band {k} of {height} rows starts where the last ended"
            );
            assert!(end > first);
            // Every row handed out was decoded with its neighbours (or is a picture edge).
            let (top, bottom) = (first_unit * unit_rows, (decoded_to * unit_rows).min(height));
            assert!(first >= top && end <= bottom);
            if context {
                assert!(
                    first == 0 || first > top,
                    "band {k}: first row without the row above"
                );
                assert!(
                    end == height || end < bottom,
                    "band {k}: last row without the row below"
                );
            }
            next = end;
        }
        assert_eq!(next, height);
    }
}

/// A textured picture (gradients and noise), RGB.
fn picture(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 12_345u32;
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let noise = (seed >> 24) as i32 / 8;
            let r = (x * 255 / width) as i32 + noise;
            let g = (y * 255 / height) as i32 - noise;
            let b = (((x / 7 + y / 5) % 2) * 200) as i32 + noise;
            out.extend([r, g, b].map(|v| v.clamp(0, 255) as u8));
        }
    }
    out
}

fn jpeg_file(dir: &Path, name: &str, width: u32, height: u32, interval: u32) -> std::path::PathBuf {
    let pixels = picture(width, height);
    let row = width as usize * 3;
    let mut compressor = crate::jpeglib::Compressor::start_with(
        width,
        height,
        85,
        crate::jpeglib::Huffman::Standard,
        interval,
    )
    .expect("compressor");
    let rows: Vec<&[u8]> = pixels.chunks_exact(row).collect();
    compressor.write(&rows).expect("rows");
    let path = dir.join(name);
    std::fs::write(&path, compressor.finish().expect("finish")).expect("write");
    path
}

fn all_rows(source: &mut dyn RowSource) -> Vec<u8> {
    let row = source.width() as usize * source.channels();
    let mut out = vec![0u8; row * source.height() as usize];
    // Odd reads: several per band, some across two bands.
    for rows in out.chunks_mut(row * 7) {
        source.read_rows(rows).expect("rows");
    }
    out
}

fn threads(n: usize) -> Limits {
    Limits {
        decode_threads: n,
        ..Limits::default()
    }
}

#[test]
fn bands_decode_to_exactly_the_pixels_of_one_decode() {
    let dir = tempfile::tempdir().expect("dir");
    // 301 px: 19 MCUs of 16 a row (4:2:0). Restarts every row, every two rows, and
    // every 3 MCUs (units of 3 rows, where restarts and rows meet).
    for interval in [19, 38, 3] {
        let path = jpeg_file(dir.path(), "r.jpg", 301, 1203, interval);
        let header = super::super::jpeg::read_header(&path).expect("header");
        assert_eq!(u32::from(header.restart_interval), interval);
        let mut bands = open(&path, &header, &threads(3), None)
            .expect("open")
            .expect("a file with restarts is decoded in bands");
        let mut one = super::super::jpeg::open(&path, &threads(1))
            .expect("open")
            .0;
        let (got, want) = (all_rows(bands.as_mut()), all_rows(one.as_mut()));
        assert_eq!(got.len(), want.len());
        let first_difference = got.iter().zip(&want).position(|(a, b)| a != b);
        assert_eq!(
            first_difference, None,
            "restart interval {interval}: rows differ"
        );
    }
}

#[test]
fn files_without_usable_restarts_are_decoded_on_one_thread() {
    let dir = tempfile::tempdir().expect("dir");
    let none = jpeg_file(dir.path(), "none.jpg", 301, 400, 0);
    let header = super::super::jpeg::read_header(&none).expect("header");
    assert!(open(&none, &header, &threads(3), None)
        .expect("open")
        .is_none());
    // Markers out of order: left to the one-thread decoder (which copes as libjpeg does).
    let path = jpeg_file(dir.path(), "bad.jpg", 301, 400, 19);
    let mut bytes = std::fs::read(&path).expect("read");
    let header = super::super::jpeg::read_header(&path).expect("header");
    let start = header.data_start as usize;
    let at = start
        + bytes[start..]
            .windows(2)
            .position(|w| w == [0xFF, 0xD2])
            .expect("a third restart marker");
    bytes[at + 1] = 0xD5;
    std::fs::write(&path, &bytes).expect("write");
    assert!(open(&path, &header, &threads(3), None)
        .expect("open")
        .is_none());
    // One thread only: nothing to gain from bands.
    let good = jpeg_file(dir.path(), "good.jpg", 301, 400, 19);
    let header = super::super::jpeg::read_header(&good).expect("header");
    assert!(open(&good, &header, &threads(1), None)
        .expect("open")
        .is_none());
}
