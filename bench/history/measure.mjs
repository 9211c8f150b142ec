// Timing and accounting the history benchmark shares: percentiles, the median of runs,
// a timed GET read to its last byte, and a process's CPU seconds from /proc.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values) {
  return percentile(values, 50);
}

/** Milliseconds from sending a GET to having its whole body; throws on a non-2xx answer. */
export async function timedGet(url, headers = {}) {
  const started = performance.now();
  const response = await fetch(url, { headers });
  const body = await response.arrayBuffer();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${Buffer.from(body).toString().slice(0, 300)}`);
  return { ms, bytes: body.byteLength, headers: response.headers };
}

/** Runs `sample()` (→ ms) `count` times per run for `runs` runs; the median over runs of
 *  each run's p50 and p99, and every run's pair. */
export async function latency(sample, { count, runs = 3 }) {
  const perRun = [];
  for (let run = 0; run < runs; run++) {
    const values = [];
    for (let i = 0; i < count; i++) values.push(await sample(i, run));
    perRun.push({ p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) });
  }
  return {
    p50: median(perRun.map((r) => r.p50)),
    p99: median(perRun.map((r) => r.p99)),
    runs: perRun,
  };
}

const TICKS = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** User + system CPU seconds process `pid` has used so far. */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Runs `phase()` and returns its result with the server's CPU seconds and the wall time. */
export async function accounted(pid, phase) {
  const cpu = cpuSeconds(pid);
  const started = performance.now();
  const result = await phase();
  return { result, cpu_s: cpuSeconds(pid) - cpu, wall_s: (performance.now() - started) / 1000 };
}

/** JSON with sorted keys, so two documents compare whatever their map order. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A deterministic pseudo-random source (so every run builds the same document). */
export function randomSource(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

export const log = (...args) => console.error(`[bench-history ${new Date().toISOString().slice(11, 19)}]`, ...args);
