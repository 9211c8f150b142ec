//! Tile naming: the only place storage keys of a pyramid are built. DeepZoom and IIIF
//! Image API 3.0 level 0 layouts, written side by side from the same pass.

pub mod dzi;
pub mod iiif;

/// Which layouts a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `image.dzi` and `image_files/`.
    pub dzi: bool,
    /// `iiif/info.json` and its tiles.
    pub iiif: bool,
}

impl Layout {
    /// Both layouts.
    pub const ALL: Layout = Layout {
        dzi: true,
        iiif: true,
    };
}

/// A storage key relative to the picture's root, e.g. `image_files/12/3_4.jpg`.
pub type TileKey = String;

/// Key of the thumbnail whose long side is `size`.
pub fn thumbnail_key(size: u32, extension: &str) -> TileKey {
    format!("thumbnail-{size}.{extension}")
}
