//! Decoders: a picture file in, full-resolution rows of RGB8 or RGBA8 out, a few rows at
//! a time. Formats are detected by magic bytes, never by file name.

mod bands;
mod color;
mod exif;
mod jpeg;
mod orient;
mod pixel;
mod png;
mod restarts;
mod source;
mod tiff;
mod webp;

pub use exif::orientation_from_exif;
pub use orient::Orientation;
pub use source::{open, sniff, Format, RowSource};
