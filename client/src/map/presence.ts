// Presence: this person's cursor and view go into awareness (cursor at most ten times a
// second); other people's cursors are drawn on the map, and their views as boxes in
// their colours on the minimap. Returns the cleanup.
import L from 'leaflet';

import type { PixelPoint, SharedAwareness, Viewport } from '../sync/awareness';
import { latLngToPixel, pixelToLatLng, visibleRect } from '../view';
import type { Viewer } from './viewer';

const CURSOR_EVERY_MS = 100;

/** Whom a cursor or a view box stands for, as drawn. */
interface Person {
  name: string;
  color: string;
}

/** Sends this person's cursor and view. */
export function sharePresence(viewer: Viewer, awareness: SharedAwareness): () => void {
  const { map, top } = viewer;
  const toPixel = (latlng: L.LatLng) => latLngToPixel(latlng, top);
  let last = 0;
  let pending: ReturnType<typeof setTimeout> | null = null;
  const sendCursor = (cursor: PixelPoint | null) => {
    const now = performance.now();
    if (pending) clearTimeout(pending);
    const send = () => {
      last = performance.now();
      pending = null;
      awareness.setCursor(cursor && { x: Math.round(cursor.x), y: Math.round(cursor.y) });
    };
    if (now - last >= CURSOR_EVERY_MS || cursor === null) send();
    else pending = setTimeout(send, CURSOR_EVERY_MS - (now - last));
  };
  const sendView = () => {
    const b = map.getBounds();
    awareness.setViewport(visibleRect(toPixel(b.getNorthWest()), toPixel(b.getSouthEast()), viewer.dzi.width, viewer.dzi.height));
  };
  const onMove = (e: L.LeafletMouseEvent) => sendCursor(toPixel(e.latlng));
  const onOut = () => sendCursor(null);
  map.on('mousemove', onMove);
  map.on('mouseout', onOut);
  map.on('moveend', sendView);
  sendView();
  return () => {
    if (pending) clearTimeout(pending);
    map.off('mousemove', onMove);
    map.off('mouseout', onOut);
    map.off('moveend', sendView);
  };
}

/** Draws other people's cursors on the map and views on the minimap. */
export function showPresence(viewer: Viewer, awareness: SharedAwareness): () => void {
  const { map, top } = viewer;
  const cursors = new Map<number, { marker: L.Marker; key: string }>();
  const views = new Map<number, HTMLElement>();

  const drawCursor = (id: number, person: Person, cursor: PixelPoint) => {
    const p = pixelToLatLng(cursor.x, cursor.y, top);
    let entry = cursors.get(id);
    if (!entry) {
      const marker = L.marker([p.lat, p.lng], { interactive: false, keyboard: false, pmIgnore: true } as L.MarkerOptions).addTo(map);
      entry = { marker, key: '' };
      cursors.set(id, entry);
    } else entry.marker.setLatLng([p.lat, p.lng]);
    const key = `${person.name}|${person.color}`;
    if (entry.key !== key) {
      entry.key = key;
      const label = document.createElement('span');
      label.textContent = person.name;
      entry.marker.setIcon(
        L.divIcon({
          className: 'hugepic-cursor',
          html: `<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path d="M1 1l5 14 2-6 6-2z" fill="${person.color}" stroke="#fff"/></svg><span style="background:${person.color}">${label.innerHTML}</span>`,
          iconSize: [0, 0],
        }),
      );
    }
  };

  const drawView = (id: number, person: Person, v: Viewport) => {
    const minimap = viewer.minimap;
    if (!minimap) return false;
    let box = views.get(id);
    if (!box) {
      box = document.createElement('div');
      box.className = 'peer-view';
      box.dataset.client = String(id);
      // Under this person's own box, which stays on top.
      minimap.element.insertBefore(box, minimap.element.querySelector('.box'));
      views.set(id, box);
    }
    const s = minimap.scale;
    box.dataset.name = person.name;
    box.title = person.name;
    box.style.borderColor = person.color;
    box.style.left = `${v.x * s}px`;
    box.style.top = `${v.y * s}px`;
    box.style.width = `${Math.max(2, v.width * s)}px`;
    box.style.height = `${Math.max(2, v.height * s)}px`;
    return true;
  };

  const draw = () => {
    const cursorsSeen = new Set<number>();
    const viewsSeen = new Set<number>();
    for (const { clientID: id, user, cursor, viewport } of awareness.others()) {
      // Names and colours come from anyone: only what was read as safe is drawn.
      if (!user) continue;
      const person = { name: user.name, color: user.color ?? '#555' };
      if (cursor) {
        drawCursor(id, person, cursor);
        cursorsSeen.add(id);
      }
      if (viewport && drawView(id, person, viewport)) viewsSeen.add(id);
    }
    for (const [id, entry] of cursors) {
      if (!cursorsSeen.has(id)) {
        entry.marker.remove();
        cursors.delete(id);
      }
    }
    for (const [id, box] of views) {
      if (!viewsSeen.has(id)) {
        box.remove();
        views.delete(id);
      }
    }
  };
  const stopWatching = awareness.onChange(draw);
  draw();
  return () => {
    stopWatching();
    for (const { marker } of cursors.values()) marker.remove();
    for (const box of views.values()) box.remove();
  };
}
