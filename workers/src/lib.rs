//! HUGEpic workers: the pyramid engine and where its tiles go.
//!
//! Layout:
//! - `decode/`: picture files in (JPEG, PNG, TIFF/BigTIFF, WebP, by magic bytes), upright
//!   RGB8/RGBA8 rows out, a few at a time.
//! - `pyramid/`: IO-free engine: level plan, strips that slide down each level, 2×2
//!   shrink, tile naming for DeepZoom and IIIF (`layout/`), and resource `Limits`.
//! - `encode/`: JPEG and PNG tiles, Huffman tables shared between tiles (`huffman`).
//! - `jpeglib`: libjpeg's C API: error plumbing, the JPEG compressor.
//! - `storage/`: the `TileSink` trait and its implementations (folder, S3, memory).
//! - `tiler`: one run: decode → pyramid → encoder threads → sink, with progress.
//! - `error`: `TileError`.

pub mod decode;
pub mod encode;
pub mod error;
mod jpeglib;
pub mod pyramid;
pub mod storage;
pub mod tiler;

pub use encode::{HuffmanMode, TileFormat};
pub use error::TileError;
pub use pyramid::{Layout, Limits};
pub use storage::{FsSink, MemorySink, S3Settings, S3Sink, StorageError, TileSink, UploadCounts};
pub use tiler::{tile_file, tile_source, Progress, TileOptions, TileSummary};
