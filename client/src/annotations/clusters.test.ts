import { describe, expect, it } from 'vitest';

import { cluster, CLUSTER_RADIUS_PX, spreadView } from './clusters';

const p = (id: string, x: number, y: number) => ({ id, x, y });

describe('screen-space clustering', () => {
  it('merges bubbles closer than the radius, keeps the others apart', () => {
    const groups = cluster([p('a', 0, 0), p('b', 30, 0), p('c', 200, 200)]);
    expect(groups.map((g) => g.ids)).toEqual([['a', 'b'], ['c']]);
    expect(groups[0]).toMatchObject({ x: 15, y: 0 });
    expect(groups[1]).toMatchObject({ x: 200, y: 200 });
  });

  it('exactly the radius apart is apart', () => {
    expect(cluster([p('a', 0, 0), p('b', CLUSTER_RADIUS_PX, 0)])).toHaveLength(2);
  });

  it('no two groups end up closer than the radius, even after centres move', () => {
    // A chain 25 px apart: merging pulls centres together, and merging goes on.
    const chain = Array.from({ length: 12 }, (_, i) => p(`n${i}`, i * 25, 0));
    const groups = cluster(chain);
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        expect(Math.hypot(groups[i].x - groups[j].x, groups[i].y - groups[j].y)).toBeGreaterThanOrEqual(CLUSTER_RADIUS_PX);
      }
    }
    expect(groups.flatMap((g) => g.ids).sort()).toEqual(chain.map((c) => c.id).sort());
  });

  it('gives the same groups whatever the order of the points', () => {
    const points = Array.from({ length: 60 }, (_, i) => p(`t${i}`, (i * 37) % 300, (i * 53) % 200));
    const shuffled = [...points].reverse();
    expect(cluster(shuffled)).toEqual(cluster(points));
  });

  it('never merges the selected bubble', () => {
    const groups = cluster([p('a', 0, 0), p('b', 5, 5), p('c', 10, 0)], 40, new Set(['b']));
    expect(groups.map((g) => g.ids)).toEqual([['a', 'c'], ['b']]);
  });

  it('zoomed in, everything spreads: one group per bubble', () => {
    const far = [p('a', 0, 0), p('b', 100, 0), p('c', 0, 100)];
    expect(cluster(far)).toHaveLength(3);
    expect(cluster([])).toEqual([]);
  });
});

describe('where a click on a cluster takes the map', () => {
  const top = 12;
  it('zooms in until the closest two are a radius apart, centred on their box', () => {
    // 10 image pixels apart: 40 CSS pixels at zoom top + 2.
    const view = spreadView([{ x: 100, y: 100 }, { x: 110, y: 100 }, { x: 400, y: 300 }], { top, current: 6, max: 14, fit: 16 });
    expect(view).toEqual({ zoom: top + 2, x: 250, y: 200 });
  });

  it('but not so far that some of them leave the screen', () => {
    const view = spreadView([{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 4000, y: 0 }], { top, current: 3, max: 14, fit: 5 });
    expect(view?.zoom).toBe(5);
  });

  it('at least one step in, at most the deepest zoom', () => {
    expect(spreadView([{ x: 0, y: 0 }, { x: 40000, y: 0 }], { top, current: 4, max: 14, fit: 8 })?.zoom).toBe(5);
    expect(spreadView([{ x: 0, y: 0 }, { x: 0, y: 0 }], { top, current: 4, max: 14, fit: 20 })?.zoom).toBe(14);
  });

  it('rounded up to the map’s zoom steps', () => {
    // 10 px apart need zoom top + 2.32 for 50 px; in quarter steps that is top + 2.5.
    const view = spreadView([{ x: 0, y: 0 }, { x: 10, y: 0 }], { radius: 50, top, current: 6, max: 16, fit: 16, snap: 0.25 });
    expect(view?.zoom).toBe(top + 2.5);
    expect(spreadView([{ x: 0, y: 0 }, { x: 10, y: 0 }], { radius: 40, top, current: 6, max: 16, fit: 16, snap: 0.25 })?.zoom).toBe(top + 2);
  });

  it('at the deepest zoom they can only be listed', () => {
    expect(spreadView([{ x: 0, y: 0 }, { x: 0, y: 0 }], { top, current: 14, max: 14, fit: 20 })).toBeNull();
  });
});
