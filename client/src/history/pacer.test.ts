import { describe, expect, it } from 'vitest';

import { Pacer } from './playback';

describe('Pacer', () => {
  it('plays a burst over several frames, smaller strides after slow frames, larger after quick ones', () => {
    const pacer = new Pacer(2_000);
    let at = 0;
    let now = 0;
    const due = 1_000;
    const shown: number[] = [];
    // Frames that take 40 ms while more than 50 updates are applied in one.
    while (at < due) {
      const next = pacer.next(now, at, due);
      expect(next).toBeGreaterThan(at);
      expect(next).toBeLessThanOrEqual(due);
      now += next - at > 50 ? 40 : 16;
      at = next;
      shown.push(at);
    }
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.at(-1)).toBe(due);
    // Settled near what fits a frame.
    expect(pacer.perFrame).toBeLessThan(120);
  });

  it('grows the stride while frames keep up, and never moves back or past the moment due', () => {
    const pacer = new Pacer(100_000);
    let at = 0;
    for (let frame = 0; frame < 30; frame += 1) {
      const next = pacer.next(frame * 16, at, 50_000);
      expect(next).toBeGreaterThanOrEqual(at);
      at = next;
    }
    expect(pacer.perFrame).toBeGreaterThan(1_000);
    expect(pacer.next(1_000, 10, 5)).toBe(5);
  });

  it('crosses a lag longer than its jump at once', () => {
    const pacer = new Pacer(500);
    expect(pacer.next(0, 0, 400)).toBe(64);
    expect(pacer.next(16, 0, 5_000)).toBe(5_000);
  });
});
