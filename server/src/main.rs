//! The `hugepic` binary. Subcommands:
//! - `serve`: HTTP server, with the job workers in-process.
//! - `worker`: job workers only (distributed mode).
//! - `migrate`: applies `migrations/` to the configured database.
//! - `tile INPUT OUTDIR`: the pyramid engine on the command line, like `vips dzsave`.

mod tile_command;

use clap::{Parser, Subcommand};
use hugepic::config::{Config, ServeArgs};
use hugepic::logging::LogFormat;

/// HUGEpic: massive pictures, deep zoom, live annotation.
#[derive(Parser)]
#[command(name = "hugepic", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text for people or as JSON objects for a collector.
    #[arg(long, global = true, value_enum, env = "HUGEPIC_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and API; with no configuration, everything runs in this process.
    Serve(ServeArgs),
    /// Run job workers only, against the configured database (distributed mode).
    Worker(ServeArgs),
    /// Apply the database migrations.
    Migrate(ServeArgs),
    /// Cut a picture into a deep-zoom tile pyramid (DeepZoom and/or IIIF level 0).
    Tile(tile_command::TileArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    hugepic::logging::init(cli.log_format);
    match cli.command {
        Command::Tile(args) => tile_command::run(args),
        Command::Serve(args) => {
            let config = Config::from_args(args)?;
            tokio::runtime::Runtime::new()?.block_on(hugepic::serve::serve(config))?;
            Ok(())
        }
        Command::Worker(args) => {
            let config = Config::from_args(args)?;
            tokio::runtime::Runtime::new()?.block_on(hugepic::serve::worker(config))?;
            Ok(())
        }
        Command::Migrate(args) => {
            let config = Config::from_args(args)?;
            let done =
                tokio::runtime::Runtime::new()?.block_on(hugepic::serve::migrate(&config))?;
            println!("{done}");
            Ok(())
        }
    }
}
