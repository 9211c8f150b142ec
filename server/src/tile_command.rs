//! `hugepic tile INPUT OUTDIR`: a progress bar while it runs (rows decoded, tiles
//! written, ETA) and one summary line at the end.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use hugepic_workers::{
    tile_file, FsSink, HuffmanMode, Layout, Limits, Progress, TileFormat, TileOptions,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Arguments of `hugepic tile`.
#[derive(Args)]
pub struct TileArgs {
    /// The picture: JPEG, PNG, TIFF/BigTIFF or WebP (detected from its bytes).
    input: PathBuf,
    /// Folder to write the pyramid into (created if missing).
    outdir: PathBuf,
    /// Which layouts to write.
    #[arg(long, value_enum, default_value_t = LayoutArg::Dzi)]
    layout: LayoutArg,
    /// Tile side in pixels.
    #[arg(long, default_value_t = 256)]
    tile_size: u32,
    /// DeepZoom tile overlap in pixels.
    #[arg(long, default_value_t = 0)]
    overlap: u32,
    /// JPEG or WebP quality, 1–100.
    #[arg(long, default_value_t = 85)]
    quality: u8,
    /// Tile format; default: jpg for opaque pictures, png for pictures with alpha.
    /// webp: smaller tiles at the same quality, several times the encoding time
    /// (alpha kept).
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// The `id` written into IIIF info.json.
    #[arg(long, default_value = "https://example.com/iiif/image")]
    iiif_id: String,
    /// Largest picture accepted, in pixels (width × height).
    #[arg(long, env = "HUGEPIC_MAX_PIXELS", default_value_t = hugepic_workers::pyramid::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Memory the engine may plan to use, in MiB.
    #[arg(long, env = "HUGEPIC_MEMORY_BUDGET_MIB", default_value_t = hugepic_workers::pyramid::DEFAULT_MEMORY_BUDGET_BYTES >> 20)]
    memory_budget_mib: u64,
    /// Encoder threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Decoder threads where the file allows it (compressed TIFF strips or tiles, JPEG
    /// with restart markers; 0: one per core, at most four; for JPEG one thread up to
    /// two cores, where bands measured slower).
    #[arg(long, default_value_t = 0)]
    decode_threads: usize,
    /// Keep tiles already in OUTDIR instead of encoding them again.
    #[arg(long)]
    resume: bool,
    /// JPEG Huffman tables: `shared` (learnt from sample tiles, one pass for most
    /// tiles), `per-tile` (each tile's own: a second pass), `standard` (the spec's).
    #[arg(long, value_enum, default_value_t = HuffmanArg::Shared)]
    huffman: HuffmanArg,
    /// The same as `--huffman standard`: fastest, about 10% larger tiles.
    #[arg(long)]
    no_optimize: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum HuffmanArg {
    Shared,
    PerTile,
    Standard,
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    Dzi,
    Iiif,
    All,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Jpg,
    Png,
    Webp,
}

/// Runs the command.
pub fn run(args: TileArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let options = TileOptions {
        tile_size: args.tile_size,
        overlap: args.overlap,
        quality: args.quality,
        format: args.format.map(|f| match f {
            FormatArg::Jpg => TileFormat::Jpeg,
            FormatArg::Png => TileFormat::Png,
            FormatArg::Webp => TileFormat::Webp,
        }),
        layout: match args.layout {
            LayoutArg::Dzi => Layout {
                dzi: true,
                iiif: false,
            },
            LayoutArg::Iiif => Layout {
                dzi: false,
                iiif: true,
            },
            LayoutArg::All => Layout::ALL,
        },
        iiif_id: args.iiif_id,
        threads: args.threads,
        skip_existing: args.resume,
        huffman: match (args.no_optimize, args.huffman) {
            (true, _) | (_, HuffmanArg::Standard) => HuffmanMode::Standard,
            (false, HuffmanArg::PerTile) => HuffmanMode::PerTile,
            (false, HuffmanArg::Shared) => HuffmanMode::Shared,
        },
        ..TileOptions::default()
    };
    let limits = Limits {
        max_pixels: args.max_pixels,
        memory_budget_bytes: args.memory_budget_mib << 20,
        decode_threads: args.decode_threads,
    };
    let sink = FsSink::new(&args.outdir);
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} ETA {eta}",
        )
        .context("progress bar template")?,
    );
    let report = |p: &Progress| {
        // Decoding and encoding run together; the bar follows the slower of the two.
        let rows = p.rows_done as f64 / p.rows_total.max(1) as f64;
        let tiles = p.tiles_done as f64 / p.tiles_total.max(1) as f64;
        bar.set_length(1000);
        bar.set_position((rows.min(tiles) * 1000.0) as u64);
        bar.set_message(format!(
            "rows {}/{} tiles {}/{}",
            p.rows_done, p.rows_total, p.tiles_done, p.tiles_total
        ));
    };
    let result = tile_file(&args.input, &sink, &options, &limits, &report);
    bar.finish_and_clear();
    let summary = result.with_context(|| format!("tiling {}", args.input.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {}×{} px, {} levels, {} tiles ({} kept from before), {:.1} MiB {}, {:.2} s, peak memory {} MiB",
        args.input.display(),
        summary.width,
        summary.height,
        summary.levels,
        summary.tiles,
        summary.tiles_skipped,
        summary.tile_bytes as f64 / f64::from(1 << 20),
        summary.format.extension(),
        seconds,
        peak_rss_mib().map_or_else(|| "?".to_string(), |m| m.to_string()),
    );
    Ok(())
}

/// Peak resident memory of this process (Linux `VmHWM`), MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
