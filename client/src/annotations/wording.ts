// What the page says of shapes and times, in one place: the name of each kind of shape,
// the sentence about a selected shape, and how long ago something happened. Pure.
import type { Shape, ShapeType } from '../sync/shapes';

/** What a person calls each kind of shape. */
export const SHAPE_NAMES: Record<ShapeType, string> = {
  polyline: 'Line',
  polygon: 'Polygon',
  rectangle: 'Rectangle',
  circle: 'Circle',
  marker: 'Marker',
  freehand: 'Freehand line',
  text: 'Label',
};

/** "just now", "5 min ago", "3 h ago", or the date. */
export function relativeTime(at: number, now = Date.now()): string {
  const s = Math.round((now - at) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(at).toLocaleDateString();
}

/** "Rectangle selected · drawn by Ada, 5 min ago": who drew it and when, as far as the shape says. */
export function selectionSentence(shape: Shape, now = Date.now()): string {
  const by = shape.author ? ` by ${shape.author.slice(0, 40)}` : '';
  const when = shape.created > 0 ? `, ${relativeTime(shape.created, now)}` : '';
  const what = `${SHAPE_NAMES[shape.type]} selected`;
  return by || when ? `${what} · drawn${by}${when}` : what;
}
