// The history's place on the map: the History button (a map control, so pages and
// embeds have it alike), and flying to the shapes an activity entry touched. The
// replay's shapes are drawn by ./replayCanvas.
import L from 'leaflet';
import { bounds } from '../annotations/geometry';
import type { Shape } from '../sync/shapes';
import { pixelToLatLng } from '../view';

const CLOCK = '<path d="M12 7v5l3 2"/><path d="M3.5 12a8.5 8.5 0 1 0 2.5-6"/><path d="M3 3v4h4"/>';

/** The History button; `toggle` runs on each press. Returns the control, a way to show
 *  whether the history is open, and the button itself (to give it focus back). */
export function historyButton(map: L.Map, toggle: () => void): { control: L.Control; pressed(on: boolean): void; element(): HTMLElement | null } {
  let anchor: HTMLAnchorElement | null = null;
  const Control = L.Control.extend({
    onAdd: () => {
      const bar = L.DomUtil.create('div', 'leaflet-bar');
      const a = L.DomUtil.create('a', 'hugepic-button', bar) as HTMLAnchorElement;
      a.href = '#';
      a.role = 'button';
      a.title = 'History of the annotations';
      a.setAttribute('aria-label', 'History of the annotations');
      a.setAttribute('aria-pressed', 'false');
      a.dataset.test = 'history-open';
      a.innerHTML = `<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${CLOCK}</svg>`;
      L.DomEvent.on(a, 'click', (e) => {
        L.DomEvent.preventDefault(e);
        toggle();
      });
      L.DomEvent.disableClickPropagation(bar);
      anchor = a;
      return bar;
    },
  });
  const control = new Control({ position: 'topleft' }).addTo(map);
  return { control, pressed: (on) => anchor?.setAttribute('aria-pressed', String(on)), element: () => anchor };
}

/** The bounding box (image pixels) of the shapes `ids`, looked up in `moments` in order. */
export function shapesBox(ids: readonly string[], moments: ((id: string) => Shape | null)[]): { x: number; y: number; width: number; height: number } | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const id of ids) {
    for (const at of moments) {
      const shape = at(id);
      if (!shape) continue;
      const b = bounds(shape.type, shape.geometry);
      x0 = Math.min(x0, b.x);
      y0 = Math.min(y0, b.y);
      x1 = Math.max(x1, b.x + b.width);
      y1 = Math.max(y1, b.y + b.height);
      break;
    }
  }
  return Number.isFinite(x0) ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : null;
}

/** Flies the map to a box of image pixels (a point: close in, but not past full size). */
export function flyToBox(map: L.Map, top: number, box: { x: number; y: number; width: number; height: number }): void {
  const a = pixelToLatLng(box.x, box.y, top);
  const b = pixelToLatLng(box.x + box.width, box.y + box.height, top);
  const area = L.latLngBounds([a.lat, a.lng], [b.lat, b.lng]);
  if (box.width > 0 || box.height > 0) map.flyToBounds(area.pad(0.3), { maxZoom: top, duration: 0.6 });
  else map.flyTo(area.getCenter(), Math.max(map.getZoom(), top - 2), { duration: 0.6 });
}
