// Live annotation on a picture: the picture's Y.Doc over the hub's WebSocket (stock
// y-websocket provider), its shapes drawn on the map, drawing tools for links that may
// draw, people's cursors, and the connection state. Edits made while offline stay in
// the document and go out when the connection is back (the provider resyncs).
import L from 'leaflet';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

import type { Picture } from '../api';
import { h } from '../dom';
import { latLngToPixel, pixelToLatLng, visibleRect } from '../view';
import type { Viewer } from '../viewer';
import { thin } from './geometry';
import { ShapeLayers } from './layers';
import { sidePanel, type Panel } from './panel';
import { bindShapes, DEFAULT_STYLE, ShapeEditor, type Geometry, type ShapeType, type Style } from './shapes';

export interface User {
  name: string;
  color: string;
}

const PALETTE = ['#e91e63', '#3f51b5', '#009688', '#ff9800', '#9c27b0', '#4caf50', '#795548', '#00bcd4'];
const NAMES = ['Otter', 'Heron', 'Lynx', 'Marten', 'Ibis', 'Puffin', 'Stoat', 'Wren', 'Badger', 'Kestrel'];

/** The person's name and colour, remembered in this browser; a friendly default. */
export function loadUser(): User {
  try {
    const saved = JSON.parse(localStorage.getItem('hugepic:user') ?? 'null') as Partial<User> | null;
    if (saved && typeof saved.name === 'string' && typeof saved.color === 'string') return { name: saved.name, color: saved.color };
  } catch {
    // a broken entry: make a new one
  }
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
  const user = { name: `${pick(NAMES)} ${Math.floor(Math.random() * 90 + 10)}`, color: pick(PALETTE) };
  localStorage.setItem('hugepic:user', JSON.stringify(user));
  return user;
}

export type Role = 'owner' | 'edit' | 'comment' | 'view';

export interface AnnotationOptions {
  picture: Picture;
  viewer: Viewer;
  token: string | null;
  role: Role;
  /** Embeds: shapes shown, nothing sent but presence-free reading. */
  readOnly: boolean;
  /** Where the connection state is written. */
  status?: HTMLElement;
  /** Where the side panel (comments, people) goes; none in embeds. */
  panelHost?: HTMLElement;
}

export interface Annotations {
  doc: Y.Doc;
  provider: WebsocketProvider;
  layers: ShapeLayers;
  editor: ShapeEditor | null;
  destroy(): void;
}

const DRAW_MODES: Partial<Record<ShapeType, string>> = {
  polyline: 'Line',
  polygon: 'Polygon',
  rectangle: 'Rectangle',
  circle: 'Circle',
  marker: 'Marker',
};

const TOOLS: [ShapeType | 'edit' | 'drag' | 'delete', string][] = [
  ['edit', 'Reshape'],
  ['drag', 'Move'],
  ['polyline', 'Line'],
  ['polygon', 'Polygon'],
  ['rectangle', 'Rectangle'],
  ['circle', 'Circle'],
  ['marker', 'Marker'],
  ['freehand', 'Freehand'],
  ['text', 'Text'],
  ['delete', 'Delete'],
];

export function startAnnotations(options: AnnotationOptions): Annotations {
  const { picture, viewer, token, role } = options;
  const { map, top } = viewer;
  const doc = new Y.Doc();
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const provider = new WebsocketProvider(`${scheme}://${location.host}/ws/pictures`, picture.id, doc, {
    params: token ? { token } : {},
  });
  const user = loadUser();
  const awareness = provider.awareness;
  if (!options.readOnly) awareness.setLocalStateField('user', user);
  else awareness.setLocalState(null);
  const canDraw = !options.readOnly && (role === 'owner' || role === 'edit');
  const canComment = !options.readOnly && role !== 'view';
  const editor = canDraw ? new ShapeEditor(doc, () => user.name) : null;
  let panel: Panel | null = null;
  if (options.panelHost) {
    panel = sidePanel({ doc, awareness, map, top, me: () => user, canComment });
    options.panelHost.append(panel.element);
  }
  const layers = new ShapeLayers(map, top, editor, (id) => panel?.openShape(id));
  const unbind = bindShapes(doc, layers);
  if (options.panelHost) options.panelHost.prepend(visibilityControls(layers));
  const cleanups: (() => void)[] = [unbind, () => panel?.destroy()];
  if (canComment && panel) cleanups.push(commentTool(map, top, panel));

  // Connection state.
  if (options.status) {
    const status = options.status;
    const show = (state: string) => {
      status.dataset.state = state;
      status.textContent = state === 'connected' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline, retrying…';
    };
    show('connecting');
    provider.on('status', ({ status: state }: { status: string }) => show(state));
  }

  // Presence: my cursor and view, at most ten times a second.
  const toPixel = (latlng: L.LatLng) => latLngToPixel(latlng, top);
  if (!options.readOnly) {
    let last = 0;
    let pending: ReturnType<typeof setTimeout> | null = null;
    const sendCursor = (cursor: { x: number; y: number } | null) => {
      const now = performance.now();
      if (pending) clearTimeout(pending);
      const send = () => {
        last = performance.now();
        pending = null;
        awareness.setLocalStateField('cursor', cursor && { x: Math.round(cursor.x), y: Math.round(cursor.y) });
      };
      if (now - last >= 100 || cursor === null) send();
      else pending = setTimeout(send, 100 - (now - last));
    };
    const sendView = () => {
      const b = map.getBounds();
      awareness.setLocalStateField('viewport', visibleRect(toPixel(b.getNorthWest()), toPixel(b.getSouthEast()), viewer.dzi.width, viewer.dzi.height));
    };
    const onMove = (e: L.LeafletMouseEvent) => sendCursor(toPixel(e.latlng));
    const onOut = () => sendCursor(null);
    map.on('mousemove', onMove);
    map.on('mouseout', onOut);
    map.on('moveend', sendView);
    sendView();
    cleanups.push(() => {
      map.off('mousemove', onMove);
      map.off('mouseout', onOut);
      map.off('moveend', sendView);
    });
  }

  // Other people's cursors.
  const cursors = new Map<number, L.Marker>();
  const drawCursors = () => {
    const seen = new Set<number>();
    awareness.getStates().forEach((state, clientId) => {
      if (clientId === doc.clientID) return;
      const cursor = state.cursor as { x: number; y: number } | null | undefined;
      const who = state.user as User | undefined;
      if (!cursor || !who) return;
      seen.add(clientId);
      const p = pixelToLatLng(cursor.x, cursor.y, top);
      let marker = cursors.get(clientId);
      if (!marker) {
        marker = L.marker([p.lat, p.lng], { interactive: false, keyboard: false, pmIgnore: true } as L.MarkerOptions);
        cursors.set(clientId, marker.addTo(map));
      } else {
        marker.setLatLng([p.lat, p.lng]);
      }
      const name = String(who.name).slice(0, 40);
      const color = /^#[0-9a-fA-F]{3,8}$/.test(who.color) ? who.color : '#555';
      const key = `${name}|${color}`;
      if ((marker as L.Marker & { hugepicKey?: string }).hugepicKey !== key) {
        (marker as L.Marker & { hugepicKey?: string }).hugepicKey = key;
        const label = document.createElement('span');
        label.textContent = name;
        marker.setIcon(
          L.divIcon({
            className: 'hugepic-cursor',
            html: `<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path d="M1 1l5 14 2-6 6-2z" fill="${color}" stroke="#fff"/></svg><span style="background:${color}">${label.innerHTML}</span>`,
            iconSize: [0, 0],
          }),
        );
      }
    });
    for (const [id, marker] of cursors) {
      if (!seen.has(id)) {
        marker.remove();
        cursors.delete(id);
      }
    }
  };
  awareness.on('change', drawCursors);
  cleanups.push(() => awareness.off('change', drawCursors));

  if (editor) cleanups.push(drawingTools(map, top, editor, layers));

  // For tests and the curious: the document as JSON.
  (window as unknown as { hugepicAnnotations?: unknown }).hugepicAnnotations = {
    shapes: () => doc.getMap('shapes').toJSON(),
    people: () => Array.from(awareness.getStates().entries()).filter(([id]) => id !== doc.clientID).map(([, s]) => s),
    status: () => (provider.wsconnected ? 'connected' : 'disconnected'),
  };

  return {
    doc,
    provider,
    layers,
    editor,
    destroy() {
      for (const cleanup of cleanups) cleanup();
      provider.destroy();
      doc.destroy();
    },
  };
}

/** "Show annotations", and per author. */
function visibilityControls(layers: ShapeLayers): HTMLElement {
  const all = h('input', { type: 'checkbox', checked: true, 'aria-label': 'Show annotations' });
  all.addEventListener('change', () => layers.setVisible(all.checked));
  const authors = h('ul', { class: 'authors', 'aria-label': 'Shapes by author' });
  const render = () => {
    authors.replaceChildren(
      ...layers.authorNames().map((name) => {
        const box = h('input', { type: 'checkbox', 'aria-label': `Show shapes by ${name || 'someone'}` });
        box.checked = layers.authorVisible(name);
        box.addEventListener('change', () => layers.setAuthorVisible(name, box.checked));
        return h('li', {}, h('label', {}, box, ` ${name || 'someone'}`));
      }),
    );
  };
  layers.onAuthors = render;
  render();
  return h('section', { class: 'visibility' }, h('label', { class: 'show-all' }, all, ' Show annotations'), authors);
}

/** "Comment": the next click on the picture starts a thread there. */
function commentTool(map: L.Map, top: number, panel: Panel): () => void {
  const button = h('button', { type: 'button', 'aria-pressed': 'false', title: 'Comment on a point of the picture' }, 'Comment');
  const click = (e: L.LeafletMouseEvent) => {
    button.setAttribute('aria-pressed', 'false');
    panel.openPoint(latLngToPixel(e.latlng, top));
  };
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    if (on) map.once('click', click);
    else map.off('click', click);
  });
  const bar = h('div', { class: 'hugepic-tools leaflet-bar' }, button);
  const Control = L.Control.extend({
    onAdd: () => {
      L.DomEvent.disableClickPropagation(bar);
      return bar;
    },
  });
  const control = new Control({ position: 'topright' }).addTo(map);
  return () => {
    map.off('click', click);
    control.remove();
  };
}

/** The drawing toolbar (geoman's draw/edit modes plus freehand and text of our own),
 *  colour and width, undo/redo buttons and keys. Returns the cleanup. */
function drawingTools(map: L.Map, top: number, editor: ShapeEditor, layers: ShapeLayers): () => void {
  let style: Style = { ...DEFAULT_STYLE };
  let active: string | null = null;
  const pm = map.pm;
  pm.setGlobalOptions({ snappable: false, pathOptions: { color: style.color, weight: style.weight } } as L.PM.GlobalOptions);
  const buttons = new Map<string, HTMLButtonElement>();
  let stopCustom: (() => void) | null = null;

  const stop = () => {
    pm.disableDraw();
    if (pm.globalEditModeEnabled()) pm.disableGlobalEditMode();
    if (pm.globalDragModeEnabled()) pm.disableGlobalDragMode();
    if (pm.globalRemovalModeEnabled()) pm.disableGlobalRemovalMode();
    stopCustom?.();
    stopCustom = null;
    active = null;
    for (const b of buttons.values()) b.setAttribute('aria-pressed', 'false');
  };

  const freehand = () => {
    map.dragging.disable();
    let points: [number, number][] | null = null;
    let trail: L.Polyline | null = null;
    const down = (e: L.LeafletMouseEvent) => {
      const p = latLngToPixel(e.latlng, top);
      points = [[p.x, p.y]];
      trail = L.polyline([e.latlng], { color: style.color, weight: style.weight, pmIgnore: true } as L.PolylineOptions).addTo(map);
    };
    const move = (e: L.LeafletMouseEvent) => {
      if (!points || !trail) return;
      const p = latLngToPixel(e.latlng, top);
      points.push([p.x, p.y]);
      trail.addLatLng(e.latlng);
    };
    const up = () => {
      if (points && points.length >= 2) {
        // Points closer than two screen pixels add nothing.
        const tolerance = 2 * 2 ** (top - map.getZoom());
        editor.add('freehand', thin(points, tolerance).map(([x, y]) => [Math.round(x * 100) / 100, Math.round(y * 100) / 100]), style);
      }
      trail?.remove();
      points = null;
      trail = null;
    };
    map.on('mousedown', down);
    map.on('mousemove', move);
    map.on('mouseup', up);
    stopCustom = () => {
      map.off('mousedown', down);
      map.off('mousemove', move);
      map.off('mouseup', up);
      trail?.remove();
      map.dragging.enable();
    };
  };

  const text = () => {
    const click = (e: L.LeafletMouseEvent) => {
      const label = prompt('Text of the label');
      if (label && label.trim()) {
        const p = latLngToPixel(e.latlng, top);
        editor.add('text', { x: Math.round(p.x), y: Math.round(p.y) }, style, label.trim().slice(0, 500));
      }
      stop();
    };
    map.once('click', click);
    stopCustom = () => map.off('click', click);
  };

  const choose = (tool: string) => {
    const again = active === tool;
    stop();
    if (again) return;
    active = tool;
    buttons.get(tool)?.setAttribute('aria-pressed', 'true');
    const mode = DRAW_MODES[tool as ShapeType];
    if (mode) pm.enableDraw(mode, { pathOptions: { color: style.color, weight: style.weight } } as L.PM.DrawModeOptions);
    else if (tool === 'edit') pm.enableGlobalEditMode();
    else if (tool === 'drag') pm.enableGlobalDragMode();
    else if (tool === 'delete') pm.enableGlobalRemovalMode();
    else if (tool === 'freehand') freehand();
    else if (tool === 'text') text();
  };

  const onCreate = (e: { shape: string; layer: L.Layer }) => {
    const type = (Object.entries(DRAW_MODES).find(([, mode]) => mode === e.shape)?.[0] ?? null) as ShapeType | null;
    e.layer.remove();
    if (!type) return;
    const geometry: Geometry | null = layers.geometryOf(type, e.layer);
    if (geometry) {
      try {
        editor.add(type, geometry, style);
      } catch {
        // too small to be a shape (a polygon of two points): nothing to keep
      }
    }
    stop();
  };
  map.on('pm:create', onCreate as unknown as L.LeafletEventHandlerFn);

  const color = h('input', { type: 'color', 'aria-label': 'Colour', title: 'Colour' });
  color.value = style.color;
  color.addEventListener('input', () => {
    style = { ...style, color: color.value };
  });
  const weight = h('select', { 'aria-label': 'Line width', title: 'Line width' });
  for (const w of [1, 3, 6, 12]) weight.append(h('option', { value: String(w) }, `${w} px`));
  weight.value = String(style.weight);
  weight.addEventListener('change', () => {
    style = { ...style, weight: Number(weight.value) };
  });
  const tool = (name: string, label: string) => {
    const b = h('button', { type: 'button', 'aria-pressed': 'false', 'data-tool': name, onclick: () => choose(name) }, label);
    buttons.set(name, b);
    return b;
  };
  const bar = h(
    'div',
    { class: 'hugepic-tools leaflet-bar', role: 'toolbar', 'aria-label': 'Drawing tools' },
    ...TOOLS.map(([name, label]) => tool(name, label)),
    color,
    weight,
    h('button', { type: 'button', title: 'Undo (Ctrl+Z)', onclick: () => editor.undo() }, 'Undo'),
    h('button', { type: 'button', title: 'Redo (Ctrl+Shift+Z)', onclick: () => editor.redo() }, 'Redo'),
  );
  const Control = L.Control.extend({
    onAdd: () => {
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.disableScrollPropagation(bar);
      return bar;
    },
  });
  const control = new Control({ position: 'topright' }).addTo(map);

  const keys = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement | null;
    if (target && ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key.toLowerCase() === 'z') {
      e.preventDefault();
      if (e.shiftKey) editor.redo();
      else editor.undo();
    } else if (mod && e.key.toLowerCase() === 'y') {
      e.preventDefault();
      editor.redo();
    } else if (e.key === 'Escape') {
      stop();
    }
  };
  document.addEventListener('keydown', keys);
  return () => {
    stop();
    map.off('pm:create', onCreate as unknown as L.LeafletEventHandlerFn);
    document.removeEventListener('keydown', keys);
    control.remove();
  };
}
