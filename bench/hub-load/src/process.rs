//! CPU time and memory of a process (a server under load, or the loader itself), read
//! from `/proc`.

use std::time::Instant;

/// Clock ticks per second of `/proc/PID/stat` times: Linux reports them in USER_HZ,
/// which is 100 on every architecture it exports to user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// Why a process could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// `/proc/PID/...` could not be read (the process is gone, or never was).
    #[error("cannot read /proc/{pid}/{file}: {source}")]
    Read {
        /// The process.
        pid: u32,
        /// The file under `/proc/PID`.
        file: &'static str,
        /// What the read said.
        source: std::io::Error,
    },
    /// The file does not have the expected shape.
    #[error("/proc/{pid}/{file} is not in the expected format")]
    Format {
        /// The process.
        pid: u32,
        /// The file under `/proc/PID`.
        file: &'static str,
    },
}

/// A process' CPU time at one moment.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    ticks: u64,
    /// Of `ticks`, those spent in the kernel (system time; with irq and softirq for the
    /// machine).
    system_ticks: u64,
}

/// User plus system CPU time of `pid` (all its threads) now.
pub fn cpu_sample(pid: u32) -> Result<CpuSample, ProcError> {
    let stat = read(pid, "stat")?;
    // The command name (field 2) is in parentheses and may contain spaces: count from
    // the last ')'. utime and stime are fields 14 and 15.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or(ProcError::Format { pid, file: "stat" })?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, ProcError> {
        // `rest` starts at field 3.
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or(ProcError::Format { pid, file: "stat" })
    };
    Ok(CpuSample {
        at: Instant::now(),
        ticks: field(14)? + field(15)?,
        system_ticks: field(15)?,
    })
}

/// CPU time all processes on the machine have used (user, nice, system, irq, softirq,
/// steal), from `/proc/stat`. Niced work counts too: it yields CPU time to the benchmark,
/// but a server waking up may still wait for its time slice to end.
pub fn machine_cpu_sample() -> Result<CpuSample, ProcError> {
    let stat = std::fs::read_to_string("/proc/stat").map_err(|source| ProcError::Read {
        pid: 0,
        file: "../stat",
        source,
    })?;
    let format = || ProcError::Format {
        pid: 0,
        file: "../stat",
    };
    let line = stat.lines().next().ok_or_else(format)?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().map_err(|_| format()))
        .collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal …
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .map(|&i| fields.get(i).copied().ok_or_else(format))
        .sum::<Result<u64, _>>()?;
    let system = [2, 5, 6]
        .iter()
        .map(|&i| fields.get(i).copied().ok_or_else(format))
        .sum::<Result<u64, _>>()?;
    Ok(CpuSample {
        at: Instant::now(),
        ticks: busy,
        system_ticks: system,
    })
}

/// CPU used between two samples, as a percentage of one core.
pub fn cpu_percent(from: CpuSample, to: CpuSample) -> f64 {
    let wall = to.at.duration_since(from.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    cpu_seconds(from, to) / wall * 100.0
}

/// CPU seconds used between two samples (in steps of one clock tick, 10 ms).
pub fn cpu_seconds(from: CpuSample, to: CpuSample) -> f64 {
    to.ticks.saturating_sub(from.ticks) as f64 / TICKS_PER_SECOND
}

/// Of `cpu_seconds`, those spent in the kernel.
pub fn system_seconds(from: CpuSample, to: CpuSample) -> f64 {
    to.system_ticks.saturating_sub(from.system_ticks) as f64 / TICKS_PER_SECOND
}

/// Resident memory of a process, MiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// Resident now (VmRSS).
    pub rss_mib: f64,
    /// Highest resident so far (VmHWM).
    pub peak_rss_mib: f64,
}

/// VmRSS and VmHWM of `pid`.
pub fn memory(pid: u32) -> Result<Memory, ProcError> {
    let status = read(pid, "status")?;
    let kib = |key: &str| -> Result<f64, ProcError> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .ok_or(ProcError::Format {
                pid,
                file: "status",
            })
    };
    Ok(Memory {
        rss_mib: kib("VmRSS:")? / 1024.0,
        peak_rss_mib: kib("VmHWM:")? / 1024.0,
    })
}

fn read(pid: u32, file: &'static str) -> Result<String, ProcError> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).map_err(|source| ProcError::Read {
        pid,
        file,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        let before = cpu_sample(me).expect("own stat");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = cpu_sample(me).expect("own stat");
        assert!(cpu_percent(before, after) >= 0.0);
        assert!(cpu_seconds(before, after) >= 0.0);
        assert!(system_seconds(before, after) <= cpu_seconds(before, after));
        let machine = machine_cpu_sample().expect("/proc/stat");
        assert!(machine.ticks >= after.ticks);
        let memory = memory(me).expect("own status");
        assert!(memory.rss_mib > 0.0 && memory.peak_rss_mib >= memory.rss_mib);
    }
}
