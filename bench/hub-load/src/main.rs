//! `hub-load`: a load generator for collaboration servers speaking the y-websocket
//! protocol (HUGEpic's hub) or Hocuspocus' dialect of it.
//!
//! N clients spread over M rooms (and round-robin over one or more servers) connect at a
//! steady rate, sync a real `yrs` document each, move a cursor through awareness at a
//! fixed rate and edit a shape every few seconds (`--movers` limits the cursor movers per
//! room, `--edit-every 0` turns edits off). Every cursor move and edit carries its send
//! time; every other client in the room times its arrival. After the ramp and a warm-up,
//! one window is measured: delivery latency quantiles, messages per second, the CPU and
//! memory of the server processes named by `--server-pid`, and their CPU time per
//! cursor state delivered.
//!
//! Layout: `protocol` (both dialects as bytes), `client` (one simulated person), `stats`
//! (records and quantiles), `process` (`/proc` readings), `report` (text and JSON).

mod client;
mod process;
mod protocol;
mod report;
mod stats;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use tokio::time::Instant;

use client::{ClientPlan, Window};
use protocol::{Codec, Dialect};
use report::{Report, ServerUsage};
use stats::{Quantiles, Totals};

/// Load generator for the collaboration hub (and Hocuspocus, for comparison).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Wire dialect.
    #[arg(long, value_enum, default_value = "y-websocket")]
    protocol: Dialect,
    /// Server base URL, repeatable: `ws://HOST:PORT`. A room's clients alternate between
    /// servers, so with two servers every room spans both.
    #[arg(long = "server", required = true)]
    servers: Vec<String>,
    /// Server process id (CPU and memory are read from /proc), repeatable.
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Rooms (documents); client i joins room i mod M.
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// File with one room per line: `NAME TOKEN` (HUGEpic: picture id and edit token).
    /// Without it rooms are named `room-0`, `room-1`, … and use `--token`.
    #[arg(long)]
    room_list: Option<PathBuf>,
    /// Token for rooms without one.
    #[arg(long, default_value = "bench")]
    token: String,
    /// Path under the server URL for y-websocket rooms: URL = SERVER/PATH/NAME?token=TOKEN.
    #[arg(long, default_value = "ws/pictures")]
    path: String,
    /// Measured seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds between the last connection attempt and the measured window.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Connections opened per second while ramping up.
    #[arg(long, default_value_t = 200)]
    ramp_per_sec: u32,
    /// Cursor moves (awareness updates) per second and mover.
    #[arg(long, default_value_t = 10.0)]
    cursor_hz: f64,
    /// Cursor movers per room: the room's first N clients (by join order) move their
    /// cursor; the others only renew their presence as stock clients do. Default: every
    /// client moves.
    #[arg(long)]
    movers: Option<usize>,
    /// Time between a client's shape edits, e.g. `3s` or `500ms`; `0` for no edits.
    #[arg(long, default_value = "3s", value_parser = parse_edit_every)]
    edit_every: EditEvery,
    /// Longest wait for one client to connect and sync, seconds.
    #[arg(long, default_value_t = 15)]
    connect_timeout: u64,
    /// Only print the JSON line.
    #[arg(long)]
    json: bool,
}

/// How often a client edits: `None` is never. (A named type, so clap does not read
/// `Option` as "the flag may be left out".)
#[derive(Debug, Clone, Copy)]
struct EditEvery(Option<Duration>);

fn parse_edit_every(text: &str) -> Result<EditEvery, String> {
    if text.trim_end_matches(['s', 'm']) == "0" {
        return Ok(EditEvery(None));
    }
    parse_duration(text).map(|every| EditEvery(Some(every)))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |i| text.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 3s or 500ms"))?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1000.0,
        _ => return Err(format!("`{text}`: the unit must be s or ms")),
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!("`{text}` must be positive"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A room's name and token.
#[derive(Debug, Clone)]
struct Room {
    name: String,
    token: String,
}

fn rooms(args: &Args) -> anyhow::Result<Vec<Room>> {
    if args.rooms == 0 {
        bail!("--rooms must be at least 1");
    }
    let Some(path) = &args.room_list else {
        return Ok((0..args.rooms)
            .map(|i| Room {
                name: format!("room-{i}"),
                token: args.token.clone(),
            })
            .collect());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the room list {}", path.display()))?;
    let listed: Vec<Room> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut parts = line.split_whitespace();
            Room {
                name: parts.next().unwrap_or_default().to_string(),
                token: parts.next().unwrap_or(&args.token).to_string(),
            }
        })
        .collect();
    if listed.len() < args.rooms {
        bail!(
            "{} lists {} rooms; --rooms asks for {}",
            path.display(),
            listed.len(),
            args.rooms
        );
    }
    Ok(listed.into_iter().take(args.rooms).collect())
}

/// The plan of client `index`: its room is `index mod M`, its place in the room
/// `index div M` (which decides whether it moves a cursor), and its server alternates
/// within the room (`index div M mod S`), so with two servers every room spans both.
fn plan(args: &Args, rooms: &[Room], index: usize, window: Window) -> ClientPlan {
    let room = &rooms[index % rooms.len()];
    let place = index / rooms.len();
    let server = args.servers[place % args.servers.len()].trim_end_matches('/');
    let url = match args.protocol {
        Dialect::YWebsocket => format!(
            "{server}/{}/{}?token={}",
            args.path.trim_matches('/'),
            room.name,
            room.token
        ),
        Dialect::Hocuspocus => server.to_string(),
    };
    ClientPlan {
        index,
        url,
        codec: Codec::new(args.protocol, &room.name),
        token: room.token.clone(),
        cursor_every: Duration::from_secs_f64(1.0 / args.cursor_hz),
        moves_cursor: args.movers.is_none_or(|movers| place < movers),
        edit_every: args.edit_every.0,
        window,
        connect_timeout: Duration::from_secs(args.connect_timeout),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.cursor_hz > 0.0 && args.cursor_hz <= 1000.0) {
        bail!("--cursor-hz must be in (0, 1000]");
    }
    if args.ramp_per_sec == 0 || args.seconds == 0 {
        bail!("--ramp-per-sec and --seconds must be positive");
    }
    if args.movers == Some(0) {
        bail!("--movers must be at least 1 (leave it out for every client)");
    }
    // One worker per core this process may use (`taskset` narrows it).
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = runtime.block_on(load(&args))?;
    let mut out = std::io::stdout().lock();
    if !args.json {
        out.write_all(report.text().as_bytes())?;
    }
    writeln!(out, "{}", report.json()?)?;
    Ok(())
}

async fn load(args: &Args) -> anyhow::Result<Report> {
    let rooms = rooms(args)?;
    let ramp = Duration::from_secs_f64(args.clients as f64 / f64::from(args.ramp_per_sec));
    let began = Instant::now();
    let start = began + ramp + Duration::from_secs(args.warmup);
    let window = Window {
        start,
        end: start + Duration::from_secs(args.seconds),
    };
    let every = Duration::from_secs_f64(1.0 / f64::from(args.ramp_per_sec));
    let mut tasks = Vec::with_capacity(args.clients);
    for index in 0..args.clients {
        tokio::time::sleep_until(began + every * index as u32).await;
        tasks.push(tokio::spawn(client::run(plan(args, &rooms, index, window))));
    }

    tokio::time::sleep_until(window.start).await;
    let me = std::process::id();
    let machine_from = process::machine_cpu_sample()?;
    let loader_from = process::cpu_sample(me)?;
    let servers_from = args
        .server_pids
        .iter()
        .map(|pid| process::cpu_sample(*pid))
        .collect::<Result<Vec<_>, _>>()?;
    tokio::time::sleep_until(window.end).await;
    let loader_cpu = process::cpu_percent(loader_from, process::cpu_sample(me)?);
    let machine_cpu = process::cpu_percent(machine_from, process::machine_cpu_sample()?);
    let mut servers = Vec::new();
    for (pid, from) in args.server_pids.iter().zip(servers_from) {
        let to = process::cpu_sample(*pid)?;
        servers.push(ServerUsage {
            pid: *pid,
            cpu_percent: process::cpu_percent(from, to),
            cpu_seconds: process::cpu_seconds(from, to),
            system_seconds: process::system_seconds(from, to),
            memory: process::memory(*pid)?,
        });
    }

    // Room r holds the clients i with i mod M = r.
    let room_size = |index: usize| {
        let m = rooms.len();
        (args.clients / m + usize::from(index % m < args.clients % m)) as u64
    };
    let mut totals = Totals::default();
    for (index, task) in tasks.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(record)) => totals.add(record, room_size(index).saturating_sub(1)),
            Ok(Err(e)) => *totals.failed.entry(format!("task: {e}")).or_default() += 1,
            Err(_) => *totals.failed.entry("did not stop".into()).or_default() += 1,
        }
    }
    let seconds = window.end.duration_since(window.start).as_secs_f64();
    let states = totals.awareness_us.len();
    let server_cpu_us_per_state = (states > 0 && !servers.is_empty())
        .then(|| servers.iter().map(|s| s.cpu_seconds).sum::<f64>() * 1e6 / states as f64);
    let server_system_us_per_state = (states > 0 && !servers.is_empty())
        .then(|| servers.iter().map(|s| s.system_seconds).sum::<f64>() * 1e6 / states as f64);
    Ok(Report {
        protocol: args.protocol,
        servers: args.servers.clone(),
        clients: args.clients,
        rooms: rooms.len(),
        seconds,
        cursor_hz: args.cursor_hz,
        movers: args.movers,
        edit_every_s: args.edit_every.0.map_or(0.0, |every| every.as_secs_f64()),
        held: totals.held,
        failed: totals.failed_count(),
        closed: totals.closed_count(),
        failures: totals.failed.clone(),
        closes: totals.closed.clone(),
        awareness_delivered: totals.awareness_delivered(),
        edits_delivered: totals.edits_delivered(),
        awareness: Quantiles::of(&mut totals.awareness_us),
        edits: Quantiles::of(&mut totals.edit_us),
        sync: Quantiles::of(&mut totals.sync_us),
        received_per_s: totals.frames_in as f64 / seconds,
        sent_per_s: totals.frames_out as f64 / seconds,
        edits_sent: totals.edits_out,
        awareness_sent: totals.awareness_out,
        server_cpu_us_per_state,
        server_system_us_per_state,
        loader_cpu_percent: loader_cpu,
        loader_cores: std::thread::available_parallelism().map_or(1, usize::from),
        other_cpu_percent: (machine_cpu
            - loader_cpu
            - servers.iter().map(|s| s.cpu_percent).sum::<f64>())
        .max(0.0),
        server_usage: servers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_turn_off_with_zero() {
        for off in ["0", "0s", "0ms"] {
            assert!(parse_edit_every(off).expect("parses").0.is_none(), "{off}");
        }
        let every = parse_edit_every("500ms").expect("parses").0;
        assert_eq!(every, Some(Duration::from_millis(500)));
        assert!(parse_edit_every("-1s").is_err());
    }
}
