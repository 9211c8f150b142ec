//! One tiling run: decode on the calling thread, build the pyramid strip by strip, and
//! encode + store tiles on a pool of threads, so decoding overlaps encoding. A bounded
//! queue keeps the decoder at most about one strip ahead of the encoders.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver};

use crate::decode::{self, RowSource};
use crate::encode::{PixelRect, TileEncoder, TileFormat};
use crate::error::TileError;
use crate::pyramid::layout::{dzi, iiif, thumbnail_key, Layout, TileKey};
use crate::pyramid::{resize_area, Limits, Pyramid, PyramidPlan, Strip};
use crate::storage::TileSink;

/// How to tile.
#[derive(Debug, Clone)]
pub struct TileOptions {
    /// Tile side, default 256.
    pub tile_size: u32,
    /// DeepZoom overlap, default 0.
    pub overlap: u32,
    /// JPEG quality, default 85.
    pub quality: u8,
    /// Force a format; `None` picks JPEG for opaque pictures and PNG for alpha.
    pub format: Option<TileFormat>,
    /// Layouts to write.
    pub layout: Layout,
    /// The `id` written into IIIF info.json (servers rewrite it per request).
    pub iiif_id: String,
    /// Long sides of the thumbnails to write.
    pub thumbnails: Vec<u32>,
    /// Encoder threads; 0 means one per core.
    pub threads: usize,
    /// Skip tiles the sink already has (a resumed job).
    pub skip_existing: bool,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions {
            tile_size: 256,
            overlap: 0,
            quality: 85,
            format: None,
            layout: Layout {
                dzi: true,
                iiif: false,
            },
            iiif_id: "https://example.com/iiif/image".into(),
            thumbnails: vec![256, 1024],
            threads: 0,
            skip_existing: false,
        }
    }
}

/// Where a run is, for progress bars and events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Full-resolution rows decoded.
    pub rows_done: u64,
    /// Rows in the picture.
    pub rows_total: u64,
    /// Tile files stored (or found stored, when resuming).
    pub tiles_done: u64,
    /// Tile files the run will store.
    pub tiles_total: u64,
}

/// What a finished run made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileSummary {
    /// Picture width, upright.
    pub width: u32,
    /// Picture height, upright.
    pub height: u32,
    /// Number of levels (max level + 1).
    pub levels: u32,
    /// Tile files stored, all layouts.
    pub tiles: u64,
    /// Tiles skipped because the sink had them.
    pub tiles_skipped: u64,
    /// Bytes of the tile files stored.
    pub tile_bytes: u64,
    /// Tile format used.
    pub format: TileFormat,
}

/// One tile to encode: a rectangle of a shared strip and the keys it is stored under.
struct TileJob {
    strip: Arc<Vec<u8>>,
    offset: usize,
    stride: usize,
    width: u32,
    height: u32,
    channels: usize,
    keys: Vec<TileKey>,
}

/// Counters and the first error, shared by the encoder threads.
#[derive(Default)]
struct Shared {
    tiles: AtomicU64,
    skipped: AtomicU64,
    bytes: AtomicU64,
    failed: AtomicBool,
    error: Mutex<Option<TileError>>,
}

impl Shared {
    fn fail(&self, error: TileError) {
        self.failed.store(true, Ordering::SeqCst);
        if let Ok(mut slot) = self.error.lock() {
            slot.get_or_insert(error);
        }
    }
}

/// Decodes `path` (any supported format) and writes its pyramid to `sink`.
pub fn tile_file(
    path: &Path,
    sink: &dyn TileSink,
    options: &TileOptions,
    limits: &Limits,
    progress: &dyn Fn(&Progress),
) -> Result<TileSummary, TileError> {
    let mut source = decode::open(path, limits)?;
    tile_source(source.as_mut(), sink, options, limits, progress)
}

/// Rows read from the decoder per call: enough to amortise the call, small next to a strip.
fn rows_per_read(row_bytes: usize) -> usize {
    ((1 << 20) / row_bytes.max(1)).clamp(1, 64)
}

/// Writes the pyramid of `source` to `sink`.
pub fn tile_source(
    source: &mut dyn RowSource,
    sink: &dyn TileSink,
    options: &TileOptions,
    limits: &Limits,
    progress: &dyn Fn(&Progress),
) -> Result<TileSummary, TileError> {
    if !(1..=100).contains(&options.quality) {
        return Err(TileError::InvalidOptions(format!(
            "quality {} is outside 1..=100",
            options.quality
        )));
    }
    if !options.layout.dzi && !options.layout.iiif {
        return Err(TileError::InvalidOptions("no layout selected".into()));
    }
    let (width, height, channels) = (source.width(), source.height(), source.channels());
    let plan = PyramidPlan::new(width, height, options.tile_size, options.overlap)?;
    let format = options.format.unwrap_or(if channels == 4 {
        TileFormat::Png
    } else {
        TileFormat::Jpeg
    });
    let extension = format.extension();
    let row_bytes = width as usize * channels;
    let chunk_rows = rows_per_read(row_bytes);
    let (tiles_across, _) = plan.grid(plan.max_level);
    let strip_bytes = (options.tile_size + 2 * options.overlap) as u64 * row_bytes as u64;
    // Strips being filled, one strip queued and one being encoded, and the read buffer.
    let needed = Pyramid::planned_memory(&plan, channels) + 2 * strip_bytes + (chunk_rows * row_bytes) as u64;
    limits.check_buffer(&format!("tiling a picture {width} pixels wide"), needed)?;

    let separate_iiif = options.layout.iiif && (!options.layout.dzi || options.overlap > 0);
    let files_per_grid = u64::from(options.layout.dzi) + u64::from(options.layout.iiif);
    let tiles_total = plan.tile_count() * files_per_grid;
    let rows_total = u64::from(height);
    let encoder = TileEncoder {
        format,
        quality: options.quality,
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let shared = Shared::default();
    let (sender, receiver) = bounded::<TileJob>(tiles_across as usize * files_per_grid as usize + threads);
    let mut pyramid = Pyramid::new(&plan, channels);

    std::thread::scope(|scope| -> Result<(), TileError> {
        let encoders: Vec<_> = (0..threads)
            .map(|_| {
                let receiver = receiver.clone();
                let shared = &shared;
                scope.spawn(move || encode_jobs(receiver, encoder, sink, options.skip_existing, shared))
            })
            .collect();
        drop(receiver);
        let mut buffer = vec![0u8; chunk_rows * row_bytes];
        let mut rows_done = 0u64;
        let mut emit = |strip: Strip| {
            for job in cut_strip(&plan, &strip, options.layout.dzi, separate_iiif, options.layout.iiif, extension) {
                if shared.failed.load(Ordering::Relaxed) || sender.send(job).is_err() {
                    return;
                }
            }
        };
        let result = (|| {
            while rows_done < rows_total {
                if shared.failed.load(Ordering::Relaxed) {
                    break;
                }
                let rows = (rows_total - rows_done).min(chunk_rows as u64) as usize;
                let chunk = &mut buffer[..rows * row_bytes];
                source.read_rows(chunk)?;
                pyramid.push_rows(chunk, &mut emit);
                rows_done += rows as u64;
                progress(&Progress {
                    rows_done,
                    rows_total,
                    tiles_done: shared.tiles.load(Ordering::Relaxed),
                    tiles_total,
                });
            }
            Ok(())
        })();
        drop(sender);
        if let Err(e) = result {
            shared.fail(e);
        }
        // Encoders drain the queue; report their progress until they are done.
        while !encoders.iter().all(|e| e.is_finished()) {
            progress(&Progress {
                rows_done,
                rows_total,
                tiles_done: shared.tiles.load(Ordering::Relaxed),
                tiles_total,
            });
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    })?;
    if let Ok(mut slot) = shared.error.lock() {
        if let Some(error) = slot.take() {
            return Err(error);
        }
    }
    if !pyramid.is_complete() {
        return Err(TileError::Truncated("the decoder delivered fewer rows than the picture has".into()));
    }

    let mut extra_bytes = 0u64;
    let mut put = |key: &str, bytes: &[u8], content_type: &str| -> Result<(), TileError> {
        sink.put(key, bytes, content_type)?;
        extra_bytes += bytes.len() as u64;
        Ok(())
    };
    let kept = pyramid.kept_levels();
    let encode_whole = |w: u32, h: u32, px: &[u8]| {
        encoder.encode(PixelRect {
            pixels: px,
            stride: w as usize * channels,
            width: w,
            height: h,
            channels,
        })
    };
    for &size in &options.thumbnails {
        let source_level = kept
            .iter()
            .find(|(_, w, h, _)| (*w).max(*h) >= size)
            .or(kept.last());
        if let Some(&(_, w, h, px)) = source_level {
            let long = w.max(h);
            let bytes = if long > size {
                let (tw, th) = (
                    ((u64::from(w) * u64::from(size)).div_ceil(u64::from(long))) as u32,
                    ((u64::from(h) * u64::from(size)).div_ceil(u64::from(long))) as u32,
                );
                encode_whole(tw, th, &resize_area(px, w, h, channels, tw, th))?
            } else {
                encode_whole(w, h, px)?
            };
            put(&thumbnail_key(size, extension), &bytes, format.content_type())?;
        }
    }
    if options.layout.iiif {
        let mut sizes = Vec::new();
        for &(_, w, h, px) in &kept {
            let bytes = encode_whole(w, h, px)?;
            put(&iiif::full_size_key(w, h, extension), &bytes, format.content_type())?;
            sizes.push((w, h));
            if Some(&(w, h)) == kept.last().map(|(_, w, h, _)| (*w, *h)).as_ref() {
                put(&iiif::full_max_key(extension), &bytes, format.content_type())?;
            }
        }
        let info = iiif::info_json(&plan, &options.iiif_id, &sizes, extension);
        let text = serde_json::to_vec_pretty(&info).map_err(|e| TileError::Encode(e.to_string()))?;
        put(iiif::INFO_KEY, &text, "application/json")?;
    }
    // The descriptor goes last: once it exists, every tile it promises does too.
    if options.layout.dzi {
        put(dzi::DESCRIPTOR_KEY, dzi::descriptor(&plan, extension).as_bytes(), "application/xml")?;
    }
    let tiles = shared.tiles.load(Ordering::Relaxed);
    let tiles_skipped = shared.skipped.load(Ordering::Relaxed);
    progress(&Progress {
        rows_done: rows_total,
        rows_total,
        tiles_done: tiles,
        tiles_total,
    });
    Ok(TileSummary {
        width,
        height,
        levels: plan.max_level + 1,
        tiles,
        tiles_skipped,
        tile_bytes: shared.bytes.load(Ordering::Relaxed) + extra_bytes,
        format,
    })
}

/// The tile jobs of one strip: DeepZoom tiles (with overlap), and IIIF tiles (never
/// overlapped) as separate jobs only when they differ; otherwise one job, two keys.
fn cut_strip(
    plan: &PyramidPlan,
    strip: &Strip,
    dzi_on: bool,
    separate_iiif: bool,
    iiif_on: bool,
    extension: &str,
) -> Vec<TileJob> {
    let (cols, _) = plan.grid(strip.level);
    let stride = strip.width as usize * strip.channels;
    let mut jobs = Vec::with_capacity(cols as usize * 2);
    let mut push = |rect: crate::pyramid::Rect, keys: Vec<TileKey>| {
        jobs.push(TileJob {
            strip: Arc::clone(&strip.pixels),
            offset: (rect.y - strip.top) as usize * stride + rect.x as usize * strip.channels,
            stride,
            width: rect.width,
            height: rect.height,
            channels: strip.channels,
            keys,
        });
    };
    for col in 0..cols {
        let (level, row) = (strip.level, strip.tile_row);
        if dzi_on {
            let mut keys = vec![dzi::tile_key(level, col, row, extension)];
            if iiif_on && !separate_iiif {
                keys.push(iiif::tile_key(plan, level, col, row, extension));
            }
            push(plan.tile_rect(level, col, row, plan.overlap), keys);
        }
        if separate_iiif {
            let keys = vec![iiif::tile_key(plan, level, col, row, extension)];
            push(plan.tile_rect(level, col, row, 0), keys);
        }
    }
    jobs
}

/// An encoder thread: encode, store, count, until the queue closes or a run fails.
fn encode_jobs(
    receiver: Receiver<TileJob>,
    encoder: TileEncoder,
    sink: &dyn TileSink,
    skip_existing: bool,
    shared: &Shared,
) {
    for job in receiver {
        if shared.failed.load(Ordering::Relaxed) {
            continue; // drain without work so the producer never blocks
        }
        let result = (|| -> Result<(), TileError> {
            if skip_existing {
                let mut all = true;
                for key in &job.keys {
                    all &= sink.exists(key)?;
                }
                if all {
                    shared.skipped.fetch_add(job.keys.len() as u64, Ordering::Relaxed);
                    shared.tiles.fetch_add(job.keys.len() as u64, Ordering::Relaxed);
                    return Ok(());
                }
            }
            let bytes = encoder.encode(PixelRect {
                pixels: &job.strip[job.offset..],
                stride: job.stride,
                width: job.width,
                height: job.height,
                channels: job.channels,
            })?;
            for key in &job.keys {
                sink.put(key, &bytes, encoder.format.content_type())?;
                shared.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                shared.tiles.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })();
        if let Err(e) = result {
            shared.fail(e);
        }
    }
}
