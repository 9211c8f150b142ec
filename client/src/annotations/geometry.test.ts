import { describe, expect, it } from 'vitest';

import { EVERY_KIND as every } from '../sync/shapeSamples';
import { bounds, fromMapGeometry, thin, toMapGeometry } from './geometry';

describe('image pixels ⇄ map', () => {
  it('round-trips every kind at odd levels', () => {
    for (const level of [0, 9, 16, 17]) {
      for (const [type, geometry] of every) {
        const map = toMapGeometry(type, geometry, level);
        expect(fromMapGeometry(type, map, level)).toEqual(geometry);
      }
    }
  });

  it('puts pixels where the viewer puts them, and circles in map units on both axes', () => {
    const map = toMapGeometry('circle', { cx: 512, cy: 256, r: 128 }, 9);
    expect(map).toEqual({ kind: 'circle', center: { lat: -0.5, lng: 1 }, radius: 0.25 });
    const rect = toMapGeometry('rectangle', { x: 0, y: 0, width: 512, height: 512 }, 9);
    expect(rect).toEqual({ kind: 'rectangle', corners: [{ lat: -0, lng: 0 }, { lat: -1, lng: 1 }] });
    // A rectangle dragged from its bottom-right corner still reads top-left first.
    const flipped = fromMapGeometry('rectangle', { kind: 'rectangle', corners: [{ lat: -1, lng: 1 }, { lat: 0, lng: 0 }] }, 9);
    expect(flipped).toEqual({ x: 0, y: 0, width: 512, height: 512 });
    expect(fromMapGeometry('circle', { kind: 'point', latlng: { lat: 0, lng: 0 } }, 9)).toBeNull();
  });

  it('bounds and thinning', () => {
    expect(bounds('circle', { cx: 10, cy: 10, r: 5 })).toEqual({ x: 5, y: 5, width: 10, height: 10 });
    expect(bounds('polyline', [[3, 9], [1, 4], [7, 2]])).toEqual({ x: 1, y: 2, width: 6, height: 7 });
    const wiggle: [number, number][] = Array.from({ length: 100 }, (_, i) => [i * 0.1, 0]);
    const thinned = thin(wiggle, 2);
    expect(thinned[0]).toEqual([0, 0]);
    expect(thinned[thinned.length - 1]).toEqual([9.9, 0]);
    expect(thinned.length).toBeLessThan(10);
  });
});
