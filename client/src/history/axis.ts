// The timeline's horizontal axis: where each moment of the history sits on the bar, and
// which moment a point of the bar is. Time runs left to right, but an idle gap (a night,
// a week) takes no more room than IDLE_SHOWN_MS of work, so a burst of an hour is not a
// pixel wide beside the week around it. Also the coloured activity ticks drawn on it.
// Pure: positions and times in, fractions (0 = left end, 1 = right end) out.

/** Gaps between updates longer than this are idle time on the axis. */
export const IDLE_GAP_MS = 30_000;
/** The room an idle gap takes on the axis, as if this much work happened in it. */
export const IDLE_SHOWN_MS = 10_000;

/** Cumulative offsets of `times` (ms, non-decreasing) where gaps longer than `idleMs`
 *  count as `idleShownMs`; element 0 is 0. */
export function compressedOffsets(times: readonly number[], idleMs: number, idleShownMs: number): Float64Array {
  const offsets = new Float64Array(times.length);
  for (let i = 1; i < times.length; i += 1) {
    const gap = Math.max(0, times[i] - times[i - 1]);
    offsets[i] = offsets[i - 1] + (gap > idleMs ? idleShownMs : gap);
  }
  return offsets;
}

/** Positions of a history ⇄ places on the bar (0..1). */
export class TimelineAxis {
  /** Offset of each position 0..n; position 0 (before any update) sits an idle gap
   *  before the first update. */
  private readonly offsets: Float64Array;

  /** `times`: the time of each update, position 1..n. */
  constructor(times: readonly number[]) {
    const updates = compressedOffsets(times, IDLE_GAP_MS, IDLE_SHOWN_MS);
    this.offsets = new Float64Array(times.length + 1);
    for (let i = 0; i < updates.length; i += 1) this.offsets[i + 1] = IDLE_SHOWN_MS + updates[i];
  }

  /** The last position. */
  get length(): number {
    return this.offsets.length - 1;
  }

  /** Where position `p` sits. */
  fraction(p: number): number {
    const total = this.offsets[this.length];
    if (total <= 0) return p > 0 ? 1 : 0;
    return this.offsets[Math.max(0, Math.min(p, this.length))] / total;
  }

  /** The position nearest to `fraction` (ties go to the later one). */
  position(fraction: number): number {
    const total = this.offsets[this.length];
    if (this.length === 0) return 0;
    const wanted = Math.max(0, Math.min(1, fraction)) * total;
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.offsets[mid] <= wanted) lo = mid;
      else hi = mid - 1;
    }
    // `lo` is the last at or before; its next neighbour may be nearer. Positions at the
    // same offset (a burst within one millisecond) all go to the last of them.
    while (lo < this.length && this.offsets[lo + 1] === this.offsets[lo]) lo += 1;
    if (lo < this.length && this.offsets[lo + 1] - wanted <= wanted - this.offsets[lo]) {
      lo += 1;
      while (lo < this.length && this.offsets[lo + 1] === this.offsets[lo]) lo += 1;
    }
    return lo;
  }
}

/** One mark of activity on the bar. */
export interface Tick {
  /** Left edge, 0..1. */
  fraction: number;
  /** The author (an index into the caller's list) with the most updates there. */
  author: number;
  /** Updates there. */
  count: number;
}

/** Ticks for `positions` (each with its author index), grouped into at most `buckets`
 *  slots of the bar so a long history draws a bounded number of marks. */
export function ticks(axis: TimelineAxis, positions: readonly number[], authorOf: (p: number) => number, buckets = 240): Tick[] {
  const slots = new Map<number, Map<number, number>>();
  for (const p of positions) {
    const slot = Math.min(buckets - 1, Math.floor(axis.fraction(p) * buckets));
    const counts = slots.get(slot) ?? new Map<number, number>();
    const author = authorOf(p);
    counts.set(author, (counts.get(author) ?? 0) + 1);
    slots.set(slot, counts);
  }
  return [...slots.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([slot, counts]) => {
      let best = -1;
      let most = 0;
      let count = 0;
      for (const [author, n] of counts) {
        count += n;
        if (n > most) [best, most] = [author, n];
      }
      return { fraction: slot / buckets, author: best, count };
    });
}
