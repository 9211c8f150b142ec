// How one shape looks as a Leaflet layer (for ./shapeLayers, on the live map and in the
// history's replay): its path style, its marker or label icon, what a screen reader
// says of it, and a drawn layer's geometry read back in map terms.
import L from 'leaflet';

import type { MapGeometry } from '../annotations/geometry';
import { SHAPE_NAMES } from '../annotations/wording';
import type { Shape } from '../sync/shapes';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The stroke and fill of a path: closed shapes always have a fill, faint unless the
 *  style asks for one. */
export function pathStyle(shape: Shape): L.PathOptions {
  return { color: shape.style.color, weight: shape.style.weight, fill: filled(shape), fillOpacity: fillOpacity(shape) };
}

/** Whether a shape's path is filled: closed shapes always, lines when their style says. */
export function filled(shape: Shape): boolean {
  return shape.type === 'polygon' || shape.type === 'rectangle' || shape.type === 'circle' || shape.style.fill;
}

/** How opaque a shape's fill is: faint unless the style asks for one. */
export function fillOpacity(shape: Shape): number {
  return shape.style.fill ? 0.35 : 0.08;
}

/** A Leaflet LatLng from anything with `lat` and `lng`. */
export const ll = (p: { lat: number; lng: number }) => L.latLng(p.lat, p.lng);

/** What a screen reader says of a shape: "Rectangle by Ada, 2 comments". */
export function shapeLabel(shape: Shape, comments: number): string {
  const kind = shape.type === 'text' ? `Label “${shape.text.slice(0, 60)}”` : SHAPE_NAMES[shape.type];
  const by = shape.author ? ` by ${shape.author.slice(0, 40)}` : '';
  const talk = comments === 1 ? ', 1 comment' : comments > 1 ? `, ${comments} comments` : '';
  return `${kind}${by}${talk}`;
}

/** What a layer's geometry is now, in map terms. */
export function mapGeometryOf(layer: L.Layer): MapGeometry | null {
  if (layer instanceof L.Circle) {
    return { kind: 'circle', center: layer.getLatLng(), radius: layer.getRadius() };
  }
  if (layer instanceof L.Rectangle) {
    const b = layer.getBounds();
    return { kind: 'rectangle', corners: [b.getNorthWest(), b.getSouthEast()] };
  }
  if (layer instanceof L.Polygon) {
    const rings = layer.getLatLngs() as L.LatLng[][];
    return { kind: 'polygon', latlngs: rings[0] ?? [] };
  }
  if (layer instanceof L.Polyline) {
    return { kind: 'line', latlngs: layer.getLatLngs() as L.LatLng[] };
  }
  if (layer instanceof L.Marker) {
    return { kind: 'point', latlng: layer.getLatLng() };
  }
  return null;
}

/** A marker's icon, or a text label's. */
export function markerIcon(shape: Shape): L.DivIcon {
  if (shape.type === 'text') {
    return L.divIcon({
      className: 'hugepic-text',
      html: `<span style="color:${shape.style.color}">${escape(shape.text || '…')}</span>`,
      iconSize: undefined,
    });
  }
  return L.divIcon({
    className: 'hugepic-marker',
    html: `<span style="background:${shape.style.color}"></span>`,
    iconSize: [18, 18],
    iconAnchor: [9, 18],
  });
}
