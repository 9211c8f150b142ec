//! One tiling run: decode on the calling thread, build the pyramid strip by strip, and
//! encode + store tiles on a pool of threads, so decoding overlaps encoding. A bounded
//! queue keeps the decoder at most about one strip ahead of the encoders.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver};

use crate::decode::{self, RowSource};
use crate::encode::shared::{TableBook, TilePlace};
use crate::encode::{HuffmanMode, PixelRect, RowEncoder, TileEncoder, TileFormat};
use crate::error::TileError;
use crate::pyramid::layout::{dzi, iiif, thumbnail_key, Layout, TileKey};
use crate::pyramid::{
    Limits, Output, PooledPixels, Pyramid, PyramidPlan, RowResizer, WHOLE_MAX_SIDE,
};
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
    /// Which Huffman tables JPEG tiles get.
    pub huffman: HuffmanMode,
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
            huffman: HuffmanMode::Shared,
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
    strip: Arc<PooledPixels>,
    offset: usize,
    stride: usize,
    width: u32,
    height: u32,
    channels: usize,
    place: TilePlace,
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

/// Row buffers circulating between the decoder and the pyramid thread.
const READ_BUFFERS: usize = 3;

/// Strips of one level the encoders may have queued or in hand: enough that they never
/// run dry while the next strip fills, few enough that memory stays a few strips.
fn in_flight(plan: &PyramidPlan, level: u32) -> usize {
    if level == plan.max_level {
        2
    } else {
        1
    }
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
    // Strips (filling and with the encoders), shrink sums, the read buffers, and the
    // whole images that are held whole (WebP's).
    let needed = Pyramid::planned_memory(&plan, channels, |level| in_flight(&plan, level))
        + (READ_BUFFERS * chunk_rows * row_bytes) as u64
        + held_whole(&plan, options, format, channels);
    limits.check_buffer(&format!("tiling a picture {width} pixels wide"), needed)?;

    let separate_iiif = options.layout.iiif && (!options.layout.dzi || options.overlap > 0);
    let files_per_grid = u64::from(options.layout.dzi) + u64::from(options.layout.iiif);
    let tiles_total = plan.tile_count() * files_per_grid;
    let rows_total = u64::from(height);
    let encoder = TileEncoder {
        format,
        quality: options.quality,
        huffman: options.huffman,
    };
    let book = (format == TileFormat::Jpeg && options.huffman == HuffmanMode::Shared)
        .then(TableBook::new)
        .transpose()?;
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let shared = Shared::default();
    let (sender, receiver) =
        bounded::<TileJob>(tiles_across as usize * files_per_grid as usize + threads);

    let (pyramid, whole_images) = std::thread::scope(|scope| -> Result<_, TileError> {
        let encoders: Vec<_> = (0..threads)
            .map(|_| {
                let receiver = receiver.clone();
                let shared = &shared;
                let book = book.as_ref();
                scope.spawn(move || {
                    encode_jobs(receiver, encoder, book, sink, options.skip_existing, shared)
                })
            })
            .collect();
        drop(receiver);
        // The pyramid (shrinking, cutting) runs on its own thread so the decoder, the
        // one part that cannot be split, never waits for it. Row buffers go round in a
        // loop between the two.
        let (rows_tx, rows_rx) = bounded::<Vec<u8>>(READ_BUFFERS);
        let (free_tx, free_rx) = bounded::<Vec<u8>>(READ_BUFFERS + 1);
        let builder = {
            let shared = &shared;
            let plan = &plan;
            scope.spawn(move || -> Result<(Pyramid, Vec<EncodedImage>), TileError> {
                let mut pyramid = Pyramid::bounded(plan, channels, |level| in_flight(plan, level));
                let mut wholes = WholeImages::plan(plan, options, &encoder, channels)?;
                let mut emit = |output: Output<'_>| match output {
                    Output::Strip(strip) => {
                        for job in cut_strip(
                            plan,
                            &strip,
                            options.layout.dzi,
                            separate_iiif,
                            options.layout.iiif,
                            extension,
                        ) {
                            if shared.failed.load(Ordering::Relaxed) || sender.send(job).is_err() {
                                return;
                            }
                        }
                    }
                    Output::Row { level, row, .. } => {
                        if let Err(e) = wholes.push_row(level, row) {
                            shared.fail(e);
                        }
                    }
                };
                for chunk in rows_rx {
                    pyramid.push_rows(&chunk, &mut emit);
                    // The decoder may have stopped already; a lost buffer is fine then.
                    let _ = free_tx.try_send(chunk);
                }
                let finished = if pyramid.is_complete() {
                    wholes.finish()?
                } else {
                    Vec::new()
                };
                Ok((pyramid, finished))
            })
        };
        let mut rows_done = 0u64;
        let mut buffers = 0;
        let result = (|| {
            while rows_done < rows_total {
                if shared.failed.load(Ordering::Relaxed) {
                    break;
                }
                let rows = (rows_total - rows_done).min(chunk_rows as u64) as usize;
                let mut chunk = match free_rx.try_recv() {
                    Ok(chunk) => chunk,
                    Err(_) if buffers < READ_BUFFERS => {
                        buffers += 1;
                        Vec::with_capacity(chunk_rows * row_bytes)
                    }
                    Err(_) => free_rx
                        .recv()
                        .map_err(|_| TileError::Encode("the pyramid thread stopped".into()))?,
                };
                chunk.resize(rows * row_bytes, 0);
                source.read_rows(&mut chunk)?;
                if rows_tx.send(chunk).is_err() {
                    break;
                }
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
        drop(rows_tx);
        if let Err(e) = result {
            shared.fail(e);
        }
        let built = builder
            .join()
            .map_err(|_| TileError::Encode("the pyramid thread panicked".into()))?;
        // Encoders drain the queue; report their progress until they are done, and once
        // after (what is left then is storing: uploads landing, whole images, descriptors).
        loop {
            let finished = encoders.iter().all(|e| e.is_finished());
            progress(&Progress {
                rows_done,
                rows_total,
                tiles_done: shared.tiles.load(Ordering::Relaxed),
                tiles_total,
            });
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        built
    })?;
    if let Ok(mut slot) = shared.error.lock() {
        if let Some(error) = slot.take() {
            return Err(error);
        }
    }
    if !pyramid.is_complete() {
        return Err(TileError::Truncated(
            "the decoder delivered fewer rows than the picture has".into(),
        ));
    }

    let mut extra_bytes = 0u64;
    // The same input gives the same bytes, so a resumed run keeps what is stored.
    let mut put = |key: &str, bytes: &[u8], content_type: &str| -> Result<(), TileError> {
        if options.skip_existing && sink.exists(key)? {
            return Ok(());
        }
        sink.put(key, bytes, content_type)?;
        extra_bytes += bytes.len() as u64;
        Ok(())
    };
    for (keys, bytes) in &whole_images {
        for key in keys {
            put(key, bytes, format.content_type())?;
        }
    }
    if options.layout.iiif {
        let sizes: Vec<(u32, u32)> = whole_levels(&plan).map(|l| plan.level_size(l)).collect();
        let info = iiif::info_json(&plan, &options.iiif_id, &sizes, extension);
        let text =
            serde_json::to_vec_pretty(&info).map_err(|e| TileError::Encode(e.to_string()))?;
        put(iiif::INFO_KEY, &text, "application/json")?;
    }
    // The descriptor goes last: once it exists, every tile it promises does too.
    sink.flush()?;
    if options.layout.dzi {
        put(
            dzi::DESCRIPTOR_KEY,
            dzi::descriptor(&plan, extension).as_bytes(),
            "application/xml",
        )?;
    }
    sink.flush()?;
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
    strip: &crate::pyramid::Strip,
    dzi_on: bool,
    separate_iiif: bool,
    iiif_on: bool,
    extension: &str,
) -> Vec<TileJob> {
    let (cols, _) = plan.grid(strip.level);
    let stride = strip.width as usize * strip.channels;
    let mut jobs = Vec::with_capacity(cols as usize * 2);
    let mut push = |rect: crate::pyramid::Rect, place: TilePlace, keys: Vec<TileKey>| {
        jobs.push(TileJob {
            strip: Arc::clone(&strip.pixels),
            offset: (rect.y - strip.top) as usize * stride + rect.x as usize * strip.channels,
            stride,
            width: rect.width,
            height: rect.height,
            channels: strip.channels,
            place,
            keys,
        });
    };
    for col in 0..cols {
        let (level, row) = (strip.level, strip.tile_row);
        let place = |grid| TilePlace {
            grid,
            level,
            col,
            row,
            cols,
        };
        if dzi_on {
            let mut keys = vec![dzi::tile_key(level, col, row, extension)];
            if iiif_on && !separate_iiif {
                keys.push(iiif::tile_key(plan, level, col, row, extension));
            }
            push(
                plan.tile_rect(level, col, row, plan.overlap),
                place(0),
                keys,
            );
        }
        if separate_iiif {
            let keys = vec![iiif::tile_key(plan, level, col, row, extension)];
            push(plan.tile_rect(level, col, row, 0), place(1), keys);
        }
    }
    jobs
}

/// An encoder thread: encode, store, count, until the queue closes or a run fails.
fn encode_jobs(
    receiver: Receiver<TileJob>,
    encoder: TileEncoder,
    book: Option<&TableBook>,
    sink: &dyn TileSink,
    skip_existing: bool,
    shared: &Shared,
) {
    for job in receiver {
        if shared.failed.load(Ordering::Relaxed) {
            continue; // drain without work so the producer never blocks
        }
        let result = (|| -> Result<(), TileError> {
            // A resumed run stores only the keys still missing (one job can carry a
            // DeepZoom and an IIIF key, and a run can stop between the two).
            let mut missing = Vec::with_capacity(job.keys.len());
            for key in &job.keys {
                if skip_existing && sink.exists(key)? {
                    shared.skipped.fetch_add(1, Ordering::Relaxed);
                    shared.tiles.fetch_add(1, Ordering::Relaxed);
                } else {
                    missing.push(key);
                }
            }
            // A sample tile is encoded even when stored: later tiles' tables learn from it.
            let sample = book.is_some() && job.place.is_sample();
            if missing.is_empty() && !sample {
                return Ok(());
            }
            let rect = PixelRect {
                pixels: &job.strip[job.offset..],
                stride: job.stride,
                width: job.width,
                height: job.height,
                channels: job.channels,
            };
            let bytes = match book {
                Some(book) => book.encode(&encoder, rect, job.place, &shared.failed)?,
                None => encoder.encode(rect)?,
            };
            for key in missing {
                sink.put(key, &bytes, encoder.format.content_type())?;
                shared
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                shared.tiles.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })();
        if let Err(e) = result {
            shared.fail(e);
        }
    }
}

/// Levels offered whole (long side ≤ `WHOLE_MAX_SIDE`), smallest first.
fn whole_levels(plan: &PyramidPlan) -> impl Iterator<Item = u32> + '_ {
    (0..=plan.max_level).filter(|&l| {
        let (w, h) = plan.level_size(l);
        w.max(h) <= WHOLE_MAX_SIDE
    })
}

/// Bytes of the whole-picture images an encoder holds whole until their last row: all of
/// them for WebP (libwebp takes a picture at once), none for the streaming formats.
fn held_whole(
    plan: &PyramidPlan,
    options: &TileOptions,
    format: TileFormat,
    channels: usize,
) -> u64 {
    if format != TileFormat::Webp {
        return 0;
    }
    let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
    let sizes = if options.layout.iiif {
        whole_levels(plan).map(|l| area(plan.level_size(l))).sum()
    } else {
        0
    };
    let thumbnails: u64 = options.thumbnails.iter().map(|&s| area((s, s))).sum();
    (sizes + thumbnails) * channels as u64
}

/// A finished whole-picture image: the keys it is stored under and its bytes.
type EncodedImage = (Vec<TileKey>, Vec<u8>);

/// One whole-picture image (an IIIF size, `full/max`, a thumbnail) encoded as its
/// level's rows stream past, optionally resized on the way.
struct WholeImage {
    level: u32,
    keys: Vec<TileKey>,
    resizer: Option<RowResizer>,
    encoder: RowEncoder,
}

/// The whole-picture images of one run: memory is a few rows each, whatever the picture.
struct WholeImages(Vec<WholeImage>);

impl WholeImages {
    fn plan(
        plan: &PyramidPlan,
        options: &TileOptions,
        encoder: &TileEncoder,
        channels: usize,
    ) -> Result<Self, TileError> {
        let extension = encoder.format.extension();
        let levels: Vec<u32> = whole_levels(plan).collect();
        let mut images: Vec<WholeImage> = Vec::new();
        let plain = |level: u32, keys: Vec<TileKey>| -> Result<WholeImage, TileError> {
            let (w, h) = plan.level_size(level);
            Ok(WholeImage {
                level,
                keys,
                resizer: None,
                encoder: encoder.row_encoder(w, h, channels)?,
            })
        };
        if options.layout.iiif {
            for &level in &levels {
                let (w, h) = plan.level_size(level);
                let mut keys = vec![iiif::full_size_key(w, h, extension)];
                if Some(&level) == levels.last() {
                    keys.push(iiif::full_max_key(extension));
                }
                images.push(plain(level, keys)?);
            }
        }
        for &size in &options.thumbnails {
            let key = thumbnail_key(size, extension);
            let source = levels
                .iter()
                .copied()
                .find(|&l| {
                    let (w, h) = plan.level_size(l);
                    w.max(h) >= size
                })
                .or(levels.last().copied());
            let Some(level) = source else { continue };
            let (w, h) = plan.level_size(level);
            let long = w.max(h);
            if long <= size {
                // The level itself is the thumbnail; share its encoding when there is one.
                match images
                    .iter_mut()
                    .find(|i| i.level == level && i.resizer.is_none())
                {
                    Some(image) => image.keys.push(key),
                    None => images.push(plain(level, vec![key])?),
                }
                continue;
            }
            let scale =
                |v: u32| ((u64::from(v) * u64::from(size)).div_ceil(u64::from(long))).max(1) as u32;
            let resizer = RowResizer::new(w, h, scale(w), scale(h), channels);
            let (tw, th) = resizer.output_size();
            images.push(WholeImage {
                level,
                keys: vec![key],
                resizer: Some(resizer),
                encoder: encoder.row_encoder(tw, th, channels)?,
            });
        }
        Ok(WholeImages(images))
    }

    fn push_row(&mut self, level: u32, row: &[u8]) -> Result<(), TileError> {
        for image in self.0.iter_mut().filter(|i| i.level == level) {
            match &mut image.resizer {
                Some(resizer) => {
                    let mut result = Ok(());
                    resizer.push_row(row, &mut |r| {
                        if result.is_ok() {
                            result = image.encoder.push_row(r);
                        }
                    });
                    result?;
                }
                None => image.encoder.push_row(row)?,
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<EncodedImage>, TileError> {
        self.0
            .into_iter()
            .map(|image| Ok((image.keys, image.encoder.finish()?)))
            .collect()
    }
}
