//! DeepZoom (DZI): `image.dzi` describes the pyramid, `image_files/{level}/{col}_{row}.{ext}`
//! holds the tiles, level 0 being 1×1.

use super::TileKey;
use crate::pyramid::PyramidPlan;

/// Key of the descriptor.
pub const DESCRIPTOR_KEY: &str = "image.dzi";

/// Key of one tile.
pub fn tile_key(level: u32, col: u32, row: u32, extension: &str) -> TileKey {
    format!("image_files/{level}/{col}_{row}.{extension}")
}

/// The DZI XML for `plan` with tiles in `extension` (jpg or png).
pub fn descriptor(plan: &PyramidPlan, extension: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"{extension}\" \
         Overlap=\"{}\" TileSize=\"{}\">\n  <Size Width=\"{}\" Height=\"{}\"/>\n</Image>\n",
        plan.overlap, plan.tile_size, plan.width, plan.height
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_fields() {
        let plan = PyramidPlan::new(4097, 3, 254, 1).unwrap();
        let xml = descriptor(&plan, "jpg");
        assert!(xml.contains("Format=\"jpg\""));
        assert!(xml.contains("Overlap=\"1\""));
        assert!(xml.contains("TileSize=\"254\""));
        assert!(xml.contains("<Size Width=\"4097\" Height=\"3\"/>"));
        assert_eq!(tile_key(13, 16, 0, "png"), "image_files/13/16_0.png");
    }
}
