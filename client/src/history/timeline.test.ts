import { describe, expect, it } from 'vitest';

import { IDLE_SHOWN_MS, TimelineAxis, ticks } from './axis';
import { Playback, playbackOffsets, TIMELAPSE_IDLE_PLAYED_MS } from './playback';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A week of work: each day, an hour of updates every 2 s; nights and the weekend idle. */
function week(): number[] {
  const times: number[] = [];
  for (let day = 0; day < 5; day += 1) {
    for (let t = 0; t < HOUR; t += 2_000) times.push(day * DAY + 9 * HOUR + t);
  }
  return times;
}

describe('the timeline axis', () => {
  it('keeps order, ends at 0 and 1, and shrinks idle gaps', () => {
    const times = [0, 1_000, 2_000, 10 * DAY, 10 * DAY + 1_000];
    const axis = new TimelineAxis(times);
    expect(axis.length).toBe(5);
    expect(axis.fraction(0)).toBe(0);
    expect(axis.fraction(5)).toBe(1);
    const fractions = [0, 1, 2, 3, 4, 5].map((p) => axis.fraction(p));
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    // Ten idle days take the room of IDLE_SHOWN_MS (as does the lead before the first update).
    expect(axis.fraction(4) - axis.fraction(3)).toBeCloseTo(IDLE_SHOWN_MS / (2 * IDLE_SHOWN_MS + 3_000), 6);
  });

  it('maps a point of the bar back to the nearest position', () => {
    const axis = new TimelineAxis(week());
    for (const p of [0, 1, 2, 900, 1_799, 1_800, 1_801, axis.length]) {
      expect(axis.position(axis.fraction(p))).toBe(p);
    }
    expect(axis.position(-1)).toBe(0);
    expect(axis.position(2)).toBe(axis.length);
    expect(new TimelineAxis([]).position(0.5)).toBe(0);
    // Updates in the same millisecond are one point: the later one wins.
    expect(new TimelineAxis([5, 5, 5]).position(1)).toBe(3);
  });

  it('draws a bounded number of ticks, each in its main author\'s colour', () => {
    const times = week();
    const axis = new TimelineAxis(times);
    const positions = times.map((_, i) => i + 1);
    const drawn = ticks(axis, positions, (p) => (p % 3 === 0 ? 1 : 0), 100);
    expect(drawn.length).toBeLessThanOrEqual(100);
    expect(drawn.reduce((n, t) => n + t.count, 0)).toBe(times.length);
    expect(drawn.every((t) => t.author === 0)).toBe(true);
    expect(ticks(axis, positions.filter((p) => p % 3 === 0), () => 1, 100).every((t) => t.author === 1)).toBe(true);
  });
});

describe('playback', () => {
  it('plays real time scaled by the speed', () => {
    const times = [0, 1_000, 3_000, 63_000];
    expect([...playbackOffsets(times, { speed: 1, timelapse: false })]).toEqual([0, 1_000, 3_000, 63_000]);
    expect([...playbackOffsets(times, { speed: 10, timelapse: false })]).toEqual([0, 100, 300, 6_300]);
    expect([...playbackOffsets(times, { speed: 100, timelapse: false })]).toEqual([0, 10, 30, 630]);
  });

  it('time-lapse: idle gaps take a fraction of a second, and a week plays in about a minute', () => {
    const gaps = playbackOffsets([0, 1_000, DAY, DAY + 500], { speed: 1, timelapse: true });
    expect([...gaps]).toEqual([0, 1_000, 1_000 + TIMELAPSE_IDLE_PLAYED_MS, 1_500 + TIMELAPSE_IDLE_PLAYED_MS]);
    const times = week();
    const offsets = playbackOffsets(times, { speed: 1, timelapse: true });
    const total = offsets[offsets.length - 1];
    expect(total).toBeGreaterThan(50_000);
    expect(total).toBeLessThanOrEqual(60_000);
    expect(playbackOffsets(times, { speed: 10, timelapse: true }).at(-1)).toBeCloseTo(total / 10, 6);
  });

  it('says which step is due, from where play was pressed', () => {
    const times = [0, 1_000, 2_000, 10_000];
    const fromStart = new Playback(times, { speed: 1, timelapse: false }, -1);
    expect([0, 999, 1_000, 9_999, 10_000, 99_999].map((t) => fromStart.due(t))).toEqual([0, 0, 1, 2, 3, 3]);
    const fromSecond = new Playback(times, { speed: 10, timelapse: false }, 1);
    expect(fromSecond.due(0)).toBe(1);
    expect(fromSecond.due(100)).toBe(2);
    expect(fromSecond.due(900)).toBe(3);
    expect(fromSecond.duration).toBe(900);
  });
});
