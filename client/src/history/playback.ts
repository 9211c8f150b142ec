// Playing the history: when each step is due after pressing play. At 1×, 10× or 100×
// the real time between updates is scaled; in time-lapse, every gap longer than a few
// seconds counts as a fraction of a second, and a history longer than a minute at 1× is
// squeezed to a minute (a week of work plays in about one). Pure: the caller owns the
// clock (requestAnimationFrame in the page, numbers in the tests).
import { compressedOffsets } from './axis';

/** The speeds offered: real time scaled by these. */
export const SPEEDS = [1, 10, 100] as const;

/** Time-lapse: gaps longer than IDLE_MS play as IDLE_PLAYED_MS… */
export const TIMELAPSE_IDLE_MS = 3_000;
export const TIMELAPSE_IDLE_PLAYED_MS = 300;
/** …and the whole history plays in at most this long at 1×. */
export const TIMELAPSE_LONGEST_MS = 60_000;

/** How to play: speed, and whether idle time is skipped. */
export interface PlayMode {
  speed: number;
  timelapse: boolean;
}

/** When each step plays (ms after the first, at this mode's speed). */
export function playbackOffsets(times: readonly number[], mode: PlayMode): Float64Array {
  const speed = mode.speed > 0 ? mode.speed : 1;
  const offsets = mode.timelapse
    ? compressedOffsets(times, TIMELAPSE_IDLE_MS, TIMELAPSE_IDLE_PLAYED_MS)
    : compressedOffsets(times, Infinity, 0);
  const total = offsets.length ? offsets[offsets.length - 1] : 0;
  const squeeze = mode.timelapse && total > TIMELAPSE_LONGEST_MS ? TIMELAPSE_LONGEST_MS / total : 1;
  for (let i = 0; i < offsets.length; i += 1) offsets[i] = (offsets[i] * squeeze) / speed;
  return offsets;
}

/** One run of play: which step is due how long after it started. */
export class Playback {
  private readonly offsets: Float64Array;
  private readonly start: number;

  /** `times`: the steps' times; `from`: the step shown when play was pressed (-1: none,
   *  the first step plays at once). */
  constructor(times: readonly number[], mode: PlayMode, from: number) {
    this.offsets = playbackOffsets(times, mode);
    this.start = from >= 0 && from < times.length ? this.offsets[from] : times.length ? this.offsets[0] : 0;
  }

  /** The last step due `elapsedMs` after play was pressed. */
  due(elapsedMs: number): number {
    const wanted = this.start + elapsedMs;
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid] <= wanted) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** How long the run lasts from where it started. */
  get duration(): number {
    return this.offsets.length ? this.offsets[this.offsets.length - 1] - this.start : 0;
  }
}
