//! Exact tile counts, edge-tile sizes for odd dimensions, the DZI descriptor and the IIIF
//! info.json with every URL it promises actually stored.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use common::*;
use hugepic_workers::pyramid::layout::{dzi, iiif};
use hugepic_workers::pyramid::PyramidPlan;
use hugepic_workers::{tile_file, Layout, Limits, MemorySink, TileOptions};

fn tile_png(w: u32, h: u32, options: &TileOptions) -> (MemorySink, hugepic_workers::TileSummary) {
    let dir = scratch();
    let px = photo(w, h, 3);
    let path = write(dir.path(), "in.png", &png(w, h, 2, 8, &px, false, None));
    let sink = MemorySink::default();
    let summary = tile_file(&path, &sink, options, &Limits::default(), &|_| {}).expect("tiles");
    (sink, summary)
}

#[test]
fn counts_and_edge_sizes_for_odd_dimensions() {
    for (w, h, tile, overlap) in [
        (1, 1, 256, 0),
        (257, 255, 256, 0),
        (4097, 3, 256, 0),
        (600, 300, 254, 1),
        (513, 769, 128, 2),
    ] {
        let options = TileOptions {
            tile_size: tile,
            overlap,
            layout: Layout::ALL,
            ..TileOptions::default()
        };
        let (sink, summary) = tile_png(w, h, &options);
        let plan = PyramidPlan::new(w, h, tile, overlap).unwrap();
        let objects = sink.objects();
        let dzi_tiles = objects
            .keys()
            .filter(|k| k.starts_with("image_files/"))
            .count() as u64;
        // Counted independently of the engine: per level, ceil(size / tile) in each direction.
        let mut expected = 0u64;
        let levels = (f64::from(w.max(h))).log2().ceil() as u32 + 1;
        for level in 0..levels {
            let scale = 1u64 << (levels - 1 - level);
            let lw = u64::from(w).div_ceil(scale);
            let lh = u64::from(h).div_ceil(scale);
            expected += lw.div_ceil(u64::from(tile)) * lh.div_ceil(u64::from(tile));
        }
        assert_eq!(summary.levels, levels, "{w}×{h}");
        assert_eq!(dzi_tiles, expected, "{w}×{h} DZI tile count");
        let iiif_tiles: std::collections::BTreeSet<String> = objects
            .keys()
            .filter(|k| {
                k.starts_with("iiif/") && !k.starts_with("iiif/full") && !k.ends_with(".json")
            })
            .cloned()
            .collect();
        // The IIIF URLs a client derives from scale factors; on thin edges two levels can
        // ask for the very same region and size, which is one URL.
        let mut want = std::collections::BTreeSet::new();
        for level in 0..levels {
            let s = 1u64 << (levels - 1 - level);
            let span = u64::from(tile) * s;
            for y in (0..u64::from(h)).step_by(span as usize) {
                for x in (0..u64::from(w)).step_by(span as usize) {
                    let rw = span.min(u64::from(w) - x);
                    let rh = span.min(u64::from(h) - y);
                    want.insert(format!(
                        "iiif/{x},{y},{rw},{rh}/{},{}/0/default.jpg",
                        rw.div_ceil(s),
                        rh.div_ceil(s)
                    ));
                }
            }
        }
        assert_eq!(iiif_tiles, want, "{w}×{h} IIIF tiles");
        assert_eq!(summary.tiles, 2 * expected);
        // Every edge tile has exactly the size the grid gives it.
        let max = plan.max_level;
        let (cols, rows) = plan.grid(max);
        for (col, row) in [(cols - 1, 0), (0, rows - 1), (cols - 1, rows - 1)] {
            let key = dzi::tile_key(max, col, row, "jpg");
            let (tw, th, _) = decode_tile(&objects[&key], 3);
            let x0 = (col * tile).saturating_sub(overlap);
            let y0 = (row * tile).saturating_sub(overlap);
            let x1 = ((col + 1) * tile + overlap).min(w);
            let y1 = ((row + 1) * tile + overlap).min(h);
            assert_eq!((tw, th), (x1 - x0, y1 - y0), "{w}×{h} {key}");
        }
        let (tw, th, _) = decode_tile(&objects[&dzi::tile_key(0, 0, 0, "jpg")], 3);
        assert_eq!((tw, th), (1, 1), "level 0 is one pixel");
    }
}

#[test]
fn dzi_descriptor_and_iiif_info() {
    let (w, h) = (1000, 700);
    let options = TileOptions {
        layout: Layout::ALL,
        iiif_id: "https://pics.example/iiif/abc".into(),
        ..TileOptions::default()
    };
    let (sink, _) = tile_png(w, h, &options);
    let objects = sink.objects();
    let xml = String::from_utf8(objects["image.dzi"].clone()).unwrap();
    for needle in [
        "Format=\"jpg\"",
        "Overlap=\"0\"",
        "TileSize=\"256\"",
        "Width=\"1000\"",
        "Height=\"700\"",
        "http://schemas.microsoft.com/deepzoom/2008",
    ] {
        assert!(xml.contains(needle), "{needle} in {xml}");
    }
    let info: serde_json::Value = serde_json::from_slice(&objects[iiif::INFO_KEY]).unwrap();
    assert_eq!(info["@context"], "http://iiif.io/api/image/3/context.json");
    assert_eq!(info["id"], "https://pics.example/iiif/abc");
    assert_eq!(info["type"], "ImageService3");
    assert_eq!(info["profile"], "level0");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(1000), Some(700))
    );
    let tiles = &info["tiles"][0];
    assert_eq!(tiles["width"], 256);
    let factors: Vec<u64> = tiles["scaleFactors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    assert_eq!(factors, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    // Every size it lists is stored at full/{w},{h}, and full/max exists.
    for size in info["sizes"].as_array().unwrap() {
        let key = format!(
            "iiif/full/{},{}/0/default.jpg",
            size["width"], size["height"]
        );
        let (tw, th, _) = decode_tile(objects.get(&key).unwrap_or_else(|| panic!("{key}")), 3);
        assert_eq!(
            (u64::from(tw), u64::from(th)),
            (
                size["width"].as_u64().unwrap(),
                size["height"].as_u64().unwrap()
            )
        );
    }
    let (mw, mh, _) = decode_tile(&objects["iiif/full/max/0/default.jpg"], 3);
    assert_eq!(
        (mw, mh),
        (1000, 700),
        "a picture under the cap is offered whole"
    );
    // Every tile URL a IIIF client would compute from info.json is stored.
    for &s in &factors {
        let span = 256 * s;
        let mut y = 0;
        while y < u64::from(h) {
            let mut x = 0;
            while x < u64::from(w) {
                let rw = span.min(u64::from(w) - x);
                let rh = span.min(u64::from(h) - y);
                let key = format!(
                    "iiif/{x},{y},{rw},{rh}/{},{}/0/default.jpg",
                    rw.div_ceil(s),
                    rh.div_ceil(s)
                );
                assert!(objects.contains_key(&key), "missing {key}");
                x += span;
            }
            y += span;
        }
    }
    // Thumbnails: long side 256 and, the picture being smaller than 1024... 1000 wide.
    let (tw, th, _) = decode_tile(&objects["thumbnail-256.jpg"], 3);
    assert_eq!((tw, th), (256, 180));
    let (tw, th, _) = decode_tile(&objects["thumbnail-1024.jpg"], 3);
    assert_eq!((tw, th), (1000, 700));
}

#[test]
fn big_pictures_cap_full_max() {
    let (w, h) = (5000, 300);
    let options = TileOptions {
        layout: Layout::ALL,
        ..TileOptions::default()
    };
    let (sink, _) = tile_png(w, h, &options);
    let objects = sink.objects();
    let info: serde_json::Value = serde_json::from_slice(&objects[iiif::INFO_KEY]).unwrap();
    assert_eq!(info["maxWidth"], 1250);
    assert_eq!(info["maxHeight"], 75);
    let (mw, mh, _) = decode_tile(&objects["iiif/full/max/0/default.jpg"], 3);
    assert_eq!((mw, mh), (1250, 75));
    let (tw, th, _) = decode_tile(&objects["thumbnail-1024.jpg"], 3);
    assert_eq!((tw, th), (1024, 62));
}
