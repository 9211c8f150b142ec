//! IIIF Image API 3.0, level 0: a static `info.json` plus pre-cut images at exactly the
//! URLs it declares: tiles as `{x},{y},{w},{h}/{w'},{h'}/0/default.{ext}` (region in
//! full-resolution pixels), whole small levels as `full/{w},{h}/…` (the `sizes`), and
//! `full/max/…`, capped by `maxWidth`/`maxHeight` for big pictures.

use serde_json::{json, Value};

use super::TileKey;
use crate::pyramid::PyramidPlan;

/// Folder of the IIIF layout under the picture's root.
pub const PREFIX: &str = "iiif";
/// Key of the image information document.
pub const INFO_KEY: &str = "iiif/info.json";

/// Full-resolution region of tile (`col`, `row`) on `level`: x, y, width, height.
pub fn tile_region(plan: &PyramidPlan, level: u32, col: u32, row: u32) -> (u64, u64, u64, u64) {
    let scale = plan.scale_factor(level);
    let span = u64::from(plan.tile_size) * scale;
    let x = u64::from(col) * span;
    let y = u64::from(row) * span;
    let w = span.min(u64::from(plan.width) - x);
    let h = span.min(u64::from(plan.height) - y);
    (x, y, w, h)
}

/// Key of tile (`col`, `row`) on `level` (a tile never has overlap in IIIF).
pub fn tile_key(plan: &PyramidPlan, level: u32, col: u32, row: u32, extension: &str) -> TileKey {
    let (x, y, w, h) = tile_region(plan, level, col, row);
    let rect = plan.tile_rect(level, col, row, 0);
    format!(
        "{PREFIX}/{x},{y},{w},{h}/{},{}/0/default.{extension}",
        rect.width, rect.height
    )
}

/// Key of the whole picture at `width`×`height`.
pub fn full_size_key(width: u32, height: u32, extension: &str) -> TileKey {
    format!("{PREFIX}/full/{width},{height}/0/default.{extension}")
}

/// Key of the whole picture at its largest offered size.
pub fn full_max_key(extension: &str) -> TileKey {
    format!("{PREFIX}/full/max/0/default.{extension}")
}

/// The info.json. `id` is the image's base URI (servers rewrite it per request);
/// `sizes` the whole-picture sizes stored, smallest first, the last one being `max`.
pub fn info_json(plan: &PyramidPlan, id: &str, sizes: &[(u32, u32)], extension: &str) -> Value {
    let scale_factors: Vec<u64> = (0..=plan.max_level).map(|l| 1u64 << l).collect();
    let mut info = json!({
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": plan.width,
        "height": plan.height,
        "tiles": [{
            "width": plan.tile_size,
            "height": plan.tile_size,
            "scaleFactors": scale_factors,
        }],
        "sizes": sizes.iter().map(|&(w, h)| json!({"width": w, "height": h})).collect::<Vec<_>>(),
    });
    if let Some(&(max_w, max_h)) = sizes.last() {
        if (max_w, max_h) != (plan.width, plan.height) {
            info["maxWidth"] = json!(max_w);
            info["maxHeight"] = json!(max_h);
        }
    }
    if extension != "jpg" {
        info["preferredFormats"] = json!([extension]);
        info["extraFormats"] = json!([extension]);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_urls_use_full_resolution_regions() {
        let plan = PyramidPlan::new(1000, 600, 256, 0).unwrap();
        // Level max-1 is 500×300; its tile (1,1) covers 512..1000 × 512..600 of the original.
        let level = plan.max_level - 1;
        assert_eq!(
            tile_key(&plan, level, 1, 1, "jpg"),
            "iiif/512,512,488,88/244,44/0/default.jpg"
        );
        assert_eq!(
            tile_key(&plan, plan.max_level, 3, 2, "jpg"),
            "iiif/768,512,232,88/232,88/0/default.jpg"
        );
    }

    #[test]
    fn info_declares_tiles_sizes_and_max() {
        let plan = PyramidPlan::new(5000, 3000, 256, 0).unwrap();
        let info = info_json(&plan, "https://h/iiif/p1", &[(79, 47), (1250, 750)], "jpg");
        assert_eq!(info["type"], "ImageService3");
        assert_eq!(info["profile"], "level0");
        assert_eq!(info["width"], 5000);
        assert_eq!(info["tiles"][0]["width"], 256);
        assert_eq!(
            info["tiles"][0]["scaleFactors"].as_array().unwrap().len(),
            14
        );
        assert_eq!(info["sizes"][1]["width"], 1250);
        assert_eq!(info["maxWidth"], 1250);
        assert!(info.get("extraFormats").is_none());
    }
}
