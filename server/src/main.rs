//! The `hugepic` binary. Subcommands:
//! - `serve`: HTTP server, with the job workers in-process.
//! - `worker`: job workers only (distributed mode).
//! - `migrate`: applies `migrations/` to the configured database.
//! - `tile INPUT OUTDIR`: the pyramid engine on the command line, like `vips dzsave`.

mod tile_command;

use clap::{Parser, Subcommand};
use hugepic::config::{Config, ServeArgs};

/// HUGEpic: massive pictures, deep zoom, live annotation.
#[derive(Parser)]
#[command(name = "hugepic", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUGEPIC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
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
