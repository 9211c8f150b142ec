// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';

import { DEFAULT_STYLE, type Geometry, type Shape, type ShapeType } from '../sync/shapes';
import { hits, type Projection } from './replayCanvas';

// jsdom has no canvas: labels are measured by their length (and nothing is logged).
HTMLCanvasElement.prototype.getContext = () => null;

const shape = (type: ShapeType, geometry: Geometry, weight = 4): Shape => ({
  id: `${type}-1`,
  type,
  geometry,
  style: { ...DEFAULT_STYLE, weight },
  author: 'Ada',
  authorId: 'ada0000000000001',
  created: 0,
  text: '',
});

// Image pixels at half size, the view 100 px right and 50 px down of the picture's corner.
const half: Projection = { kx: 0.5, ky: 0.5, ox: -100, oy: -50 };

describe('hits: what a click on the replay canvas lands on', () => {
  it('a rectangle, inside and within half its stroke and a little of its outline', () => {
    const rect = shape('rectangle', { x: 400, y: 200, width: 200, height: 100 }); // layer 100..200 × 50..100
    expect(hits(rect, 150, 75, half)).toBe(true);
    expect(hits(rect, 99, 75, half)).toBe(true);
    expect(hits(rect, 94, 75, half)).toBe(false);
    expect(hits(rect, 150, 106, half)).toBe(false);
  });

  it('a circle: its disc and its rim, not its bounding box corner', () => {
    const circle = shape('circle', { cx: 400, cy: 200, r: 100 }); // layer centre 100, 50; radius 50
    expect(hits(circle, 100, 50, half)).toBe(true);
    expect(hits(circle, 152, 50, half)).toBe(true);
    expect(hits(circle, 148, 96, half)).toBe(false);
  });

  it('a polygon by its inside (even-odd) and its outline; a line only near its segments', () => {
    const triangle: Geometry = [
      [200, 100],
      [600, 100],
      [200, 500],
    ]; // layer (0,0) (200,0) (0,200)
    expect(hits(shape('polygon', triangle), 40, 40, half)).toBe(true);
    expect(hits(shape('polygon', triangle), 150, 150, half)).toBe(false);
    // The polygon's closing edge is an edge; the open line's is not.
    expect(hits(shape('polygon', triangle), 0, 100, half)).toBe(true);
    expect(hits(shape('polyline', triangle), 0, 100, half)).toBe(false);
    expect(hits(shape('polyline', triangle), 40, 40, half)).toBe(false);
    expect(hits(shape('polyline', triangle), 100, 20, half)).toBe(false);
    expect(hits(shape('polyline', triangle), 100, 100, half)).toBe(true);
    expect(hits(shape('freehand', triangle), 100, 2, half)).toBe(true);
  });

  it('a marker is its dot, whatever the zoom', () => {
    const pin = shape('marker', { x: 400, y: 200 });
    expect(hits(pin, 108, 50, half)).toBe(true);
    expect(hits(pin, 110, 50, half)).toBe(false);
    expect(hits(pin, 108, 50, { ...half, kx: 2, ky: 2, ox: -700, oy: -350 })).toBe(true);
  });

  it('a label is the box of its text, starting at its point', () => {
    const label = { ...shape('text', { x: 400, y: 200 }), text: 'a label' };
    expect(hits(label, 101, 50, half)).toBe(true);
    expect(hits(label, 95, 50, half)).toBe(false);
    expect(hits(label, 101, 62, half)).toBe(false);
  });
});
