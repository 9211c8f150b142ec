// Shape geometry between image pixels (what the document stores) and the map's
// coordinates (Leaflet CRS.Simple, see ../view.ts). A circle's radius is in map units,
// the same on both axes, so a circle stays a circle at every zoom.
import type { CircleGeometry, Geometry, Point, PointGeometry, Rect, ShapeType } from '../sync/shapes';
import { latLngToPixel, pixelToLatLng, type LatLngLike } from '../view';

export type MapGeometry =
  | { kind: 'line'; latlngs: LatLngLike[] }
  | { kind: 'polygon'; latlngs: LatLngLike[] }
  | { kind: 'rectangle'; corners: [LatLngLike, LatLngLike] }
  | { kind: 'circle'; center: LatLngLike; radius: number }
  | { kind: 'point'; latlng: LatLngLike };

const toMap = (p: Point, level: number) => pixelToLatLng(p[0], p[1], level);
const fromMap = (ll: LatLngLike, level: number): Point => {
  const { x, y } = latLngToPixel(ll, level);
  return [round(x), round(y)];
};
/** Pixels are kept to a hundredth: enough below one screen pixel at any over-zoom. */
const round = (n: number) => Math.round(n * 100) / 100 + 0; // (+ 0 turns -0 into 0)

/** Image-pixel geometry → map geometry. */
export function toMapGeometry(type: ShapeType, geometry: Geometry, level: number): MapGeometry {
  switch (type) {
    case 'polyline':
    case 'freehand':
      return { kind: 'line', latlngs: (geometry as Point[]).map((p) => toMap(p, level)) };
    case 'polygon':
      return { kind: 'polygon', latlngs: (geometry as Point[]).map((p) => toMap(p, level)) };
    case 'rectangle': {
      const r = geometry as Rect;
      return { kind: 'rectangle', corners: [toMap([r.x, r.y], level), toMap([r.x + r.width, r.y + r.height], level)] };
    }
    case 'circle': {
      const c = geometry as CircleGeometry;
      return { kind: 'circle', center: toMap([c.cx, c.cy], level), radius: c.r / 2 ** level };
    }
    case 'marker':
    case 'text': {
      const p = geometry as PointGeometry;
      return { kind: 'point', latlng: toMap([p.x, p.y], level) };
    }
  }
}

/** Map geometry → image-pixel geometry for a shape of `type`. */
export function fromMapGeometry(type: ShapeType, map: MapGeometry, level: number): Geometry | null {
  switch (map.kind) {
    case 'line':
    case 'polygon': {
      if (!['polyline', 'freehand', 'polygon'].includes(type)) return null;
      return map.latlngs.map((ll) => fromMap(ll, level));
    }
    case 'rectangle': {
      if (type !== 'rectangle') return null;
      const [a, b] = map.corners.map((ll) => fromMap(ll, level));
      const x = Math.min(a[0], b[0]);
      const y = Math.min(a[1], b[1]);
      return { x, y, width: round(Math.abs(b[0] - a[0])), height: round(Math.abs(b[1] - a[1])) };
    }
    case 'circle': {
      if (type !== 'circle') return null;
      const [cx, cy] = fromMap(map.center, level);
      return { cx, cy, r: round(map.radius * 2 ** level) };
    }
    case 'point': {
      if (type !== 'marker' && type !== 'text') return null;
      const [x, y] = fromMap(map.latlng, level);
      return { x, y };
    }
  }
}

/** The bounding box of a shape, in image pixels (to fly the map to it). */
export function bounds(type: ShapeType, geometry: Geometry): Rect {
  switch (type) {
    case 'rectangle':
      return { ...(geometry as Rect) };
    case 'circle': {
      const c = geometry as CircleGeometry;
      return { x: c.cx - c.r, y: c.cy - c.r, width: 2 * c.r, height: 2 * c.r };
    }
    case 'marker':
    case 'text': {
      const p = geometry as PointGeometry;
      return { x: p.x, y: p.y, width: 0, height: 0 };
    }
    default: {
      const points = geometry as Point[];
      const xs = points.map((p) => p[0]);
      const ys = points.map((p) => p[1]);
      const x = Math.min(...xs);
      const y = Math.min(...ys);
      return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
    }
  }
}

/** Drops freehand points closer than `tolerance` pixels to the last kept one. */
export function thin(points: Point[], tolerance: number): Point[] {
  if (points.length <= 2) return points;
  const kept: Point[] = [points[0]];
  for (const p of points.slice(1, -1)) {
    const last = kept[kept.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= tolerance) kept.push(p);
  }
  kept.push(points[points.length - 1]);
  return kept;
}
