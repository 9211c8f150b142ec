import { describe, expect, it } from 'vitest';

import {
  hashExtras,
  hashToView,
  latLngToPixel,
  levelSize,
  maxLevel,
  niceLength,
  pixelToLatLng,
  tileBox,
  tileExists,
  viewToHash,
  visibleRect,
} from './view';

describe('levels', () => {
  it('follows DeepZoom: ceil(log2(longest side))', () => {
    expect(maxLevel(1, 1)).toBe(0);
    expect(maxLevel(2, 1)).toBe(1);
    expect(maxLevel(257, 255)).toBe(9);
    expect(maxLevel(256, 256)).toBe(8);
    expect(maxLevel(50000, 3)).toBe(16);
  });

  it('sizes levels with ceil, as the engine does', () => {
    expect(levelSize(4097, 3, 13, 13)).toEqual({ width: 4097, height: 3 });
    expect(levelSize(4097, 3, 12, 13)).toEqual({ width: 2049, height: 2 });
    expect(levelSize(4097, 3, 0, 13)).toEqual({ width: 1, height: 1 });
    expect(levelSize(513, 769, 8, 10)).toEqual({ width: 129, height: 193 });
  });

  it('knows which tiles exist on odd sizes', () => {
    // 4097×3: level 13 has 17 columns (the last one 1 pixel wide) and one row.
    expect(tileExists(4097, 3, 13, 13, 16, 0, 256)).toBe(true);
    expect(tileExists(4097, 3, 13, 13, 17, 0, 256)).toBe(false);
    expect(tileExists(4097, 3, 13, 13, 0, 1, 256)).toBe(false);
    expect(tileExists(4097, 3, 14, 13, 0, 0, 256)).toBe(false);
    expect(tileExists(4097, 3, 13, 13, -1, 0, 256)).toBe(false);
    // 512×512 at level 9 is exactly two tiles wide: no third.
    expect(tileExists(512, 512, 9, 9, 1, 1, 256)).toBe(true);
    expect(tileExists(512, 512, 9, 9, 2, 0, 256)).toBe(false);
  });
});

describe('pixels ⇄ map coordinates', () => {
  it('maps the corners of a picture with many levels', () => {
    const level = maxLevel(50001, 30001);
    expect(level).toBe(16);
    expect(pixelToLatLng(0, 0, level)).toEqual({ lat: -0, lng: 0 });
    const corner = pixelToLatLng(50001, 30001, level);
    expect(corner.lng).toBeCloseTo(50001 / 65536, 12);
    expect(corner.lat).toBeCloseTo(-30001 / 65536, 12);
  });

  it('round-trips odd pixels exactly enough', () => {
    for (const [w, h] of [
      [1, 1],
      [257, 255],
      [4097, 3],
      [123457, 98765],
    ]) {
      const level = maxLevel(w, h);
      for (const [x, y] of [
        [0, 0],
        [w, h],
        [w / 3, h / 7],
        [0.5, h - 0.5],
      ]) {
        const back = latLngToPixel(pixelToLatLng(x, y, level), level);
        expect(back.x).toBeCloseTo(x, 6);
        expect(back.y).toBeCloseTo(y, 6);
      }
    }
  });
});

describe('view ⇄ hash', () => {
  it('writes zoom with two decimals and whole pixels', () => {
    expect(viewToHash({ zoom: 3.14159, x: 1000.4, y: 20.6 })).toBe('#3.14/1000/21');
    expect(viewToHash({ zoom: 12, x: 0, y: 0 })).toBe('#12/0/0');
  });

  it('reads what it writes', () => {
    const view = hashToView(viewToHash({ zoom: 10.5, x: 4000, y: 3000 }), 8000, 6000);
    expect(view).toEqual({ zoom: 10.5, x: 4000, y: 3000 });
  });

  it('clamps to the picture and refuses what is not a view', () => {
    expect(hashToView('#5/99999/-3', 800, 600)).toEqual({ zoom: 5, x: 800, y: 0 });
    expect(hashToView('', 800, 600)).toBeNull();
    expect(hashToView('#comments', 800, 600)).toBeNull();
    expect(hashToView('#1/2', 800, 600)).toBeNull();
    expect(hashToView('#a/b/c', 800, 600)).toBeNull();
  });

  it('reads the view before the history moment, and keeps what follows it', () => {
    expect(hashToView('#5/100/200&t=42', 800, 600)).toEqual({ zoom: 5, x: 100, y: 200 });
    expect(hashExtras('#5/100/200&t=2026-03-14T10:42:00Z')).toBe('&t=2026-03-14T10:42:00Z');
    expect(hashExtras('#5/100/200')).toBe('');
  });
});

describe('scale and visible rectangle', () => {
  it('picks 1-2-5 lengths', () => {
    expect(niceLength(130)).toBe(100);
    expect(niceLength(260)).toBe(200);
    expect(niceLength(999)).toBe(500);
    expect(niceLength(1)).toBe(1);
    expect(niceLength(0)).toBe(0);
  });

  it('clips the view to the picture', () => {
    expect(visibleRect({ x: -50, y: 10 }, { x: 500, y: 900 }, 400, 300)).toEqual({
      x: 0,
      y: 10,
      width: 400,
      height: 290,
    });
  });
});

describe('tile boxes', () => {
  // 1000×600 picture, top level 10; level 10 has 4×3 tiles of 256 (edge: 232×88).
  it('reach one pixel into the neighbours, edge tiles at their own size', () => {
    expect(tileBox(1000, 600, 10, 10, 0, 0, 256, 0)).toEqual({ width: 257, height: 257, fit: 'fill', dx: 0, dy: 0 });
    expect(tileBox(1000, 600, 10, 10, 3, 2, 256, 0)).toEqual({ width: 233, height: 89, fit: 'fill', dx: 0, dy: 0 });
    // level 9: 500×300.
    expect(tileBox(1000, 600, 9, 10, 1, 1, 256, 0)).toEqual({ width: 245, height: 45, fit: 'fill', dx: 0, dy: 0 });
  });
  it('use the overlap pixels when the pyramid has them', () => {
    expect(tileBox(1000, 600, 10, 10, 1, 0, 254, 1)).toEqual({ width: 255, height: 255, fit: 'none', dx: -1, dy: 0 });
    expect(tileBox(1000, 600, 10, 10, 0, 1, 254, 1)).toEqual({ width: 255, height: 255, fit: 'none', dx: 0, dy: -1 });
  });
});
