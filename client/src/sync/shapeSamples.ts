/** One shape of every kind, with odd geometry: what the tests of the document model and
 * of the map geometry both run over. */
import type { Geometry, ShapeType } from './shapes';

export const EVERY_KIND: [ShapeType, Geometry][] = [
  ['polyline', [[10, 20], [30.5, 40], [50, 10]]],
  ['freehand', [[0, 0], [1, 1], [2, 3], [4, 4]]],
  ['polygon', [[100, 100], [200, 100], [150, 180]]],
  ['rectangle', { x: 12, y: 34, width: 560, height: 78 }],
  ['circle', { cx: 1000, cy: 700, r: 250 }],
  ['marker', { x: 49999, y: 3 }],
  ['text', { x: 5, y: 6 }],
];
