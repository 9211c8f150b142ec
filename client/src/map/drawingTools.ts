// The drawing toolbar for links that may draw: geoman's draw, edit, drag and removal
// modes, freehand and text of our own, colour and width (of the pen, or of the selected
// shape: restyling writes to the document and is undoable), undo and redo, keys. The
// bar starts folded to one "Draw" button (open on demand, remembered per browser) and,
// on small maps, folds after each choice so it never covers the minimap.
import L from 'leaflet';

import { thin } from '../annotations/geometry';
import { selectionSentence } from '../annotations/wording';
import { DEFAULT_STYLE, type Geometry, type Shape, type ShapeEditor, type ShapeType, type Style } from '../sync/shapes';
import { h } from '../ui/dom';
import { latLngToPixel } from '../view';
import { editLabel, type LabelEditor } from './labelEditor';
import type { ShapeLayers } from './shapeLayers';

const DRAW_MODES: Partial<Record<ShapeType, string>> = {
  polyline: 'Line',
  polygon: 'Polygon',
  rectangle: 'Rectangle',
  circle: 'Circle',
  marker: 'Marker',
};

type Tool = ShapeType | 'edit' | 'drag' | 'delete';

const TOOLS: [Tool, string][] = [
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

const WIDTHS = [1, 3, 6, 12];

/** Where the browser remembers whether the person left the drawing tools open. */
const OPEN_KEY = 'hugepic:tools-open';

function openBefore(): boolean {
  try {
    return localStorage.getItem(OPEN_KEY) === '1';
  } catch {
    return false; // storage refused: folded, as for a first visit
  }
}

function rememberOpen(open: boolean): void {
  try {
    localStorage.setItem(OPEN_KEY, open ? '1' : '0');
  } catch {
    // storage refused: the choice lasts for this page only
  }
}

/** Below this map size (CSS pixels) the bar starts folded and folds after each choice. */
const SMALL_MAP = { width: 600, height: 420 };


export interface DrawingTools {
  /** Selects shape `id` (null: none) unless a drawing tool is in use. */
  select(id: string | null): void;
  /** Opens the inline editor on text label `id`. */
  editText(id: string): void;
  /** The tool in use, if any (a click on a shape then belongs to it). */
  active(): string | null;
  /** Puts down the tool in use and closes the label editor. */
  idle(): void;
  dispose(): void;
}

const round2 = (n: number) => Math.round(n * 100) / 100;


export function drawingTools(map: L.Map, top: number, editor: ShapeEditor, layers: ShapeLayers): DrawingTools {
  let pen: Style = { ...DEFAULT_STYLE };
  let active: Tool | null = null;
  let label: LabelEditor | null = null;
  const pm = map.pm;
  const container = map.getContainer();
  pm.setGlobalOptions({ snappable: false, pathOptions: { color: pen.color, weight: pen.weight } } as L.PM.GlobalOptions);
  const buttons = new Map<Tool, HTMLButtonElement>();
  let stopCustom: (() => void) | null = null;
  const small = () => {
    const size = map.getSize();
    return size.x < SMALL_MAP.width || size.y < SMALL_MAP.height;
  };

  const stop = () => {
    pm.disableDraw();
    if (pm.globalEditModeEnabled()) pm.disableGlobalEditMode();
    if (pm.globalDragModeEnabled()) pm.disableGlobalDragMode();
    if (pm.globalRemovalModeEnabled()) pm.disableGlobalRemovalMode();
    stopCustom?.();
    stopCustom = null;
    active = null;
    for (const b of buttons.values()) b.setAttribute('aria-pressed', 'false');
    renderToggle();
  };

  // Freehand on pointer events, so a finger draws as a mouse does. While it is on, the
  // map neither pans nor pinches, and the browser does not scroll on touch.
  const freehand = () => {
    map.dragging.disable();
    map.touchZoom.disable();
    container.classList.add('hugepic-freehand');
    let pointer: number | null = null;
    let points: [number, number][] = [];
    let trail: L.Polyline | null = null;
    const at = (e: PointerEvent) => map.mouseEventToLatLng(e as unknown as MouseEvent);
    const down = (e: PointerEvent) => {
      if (pointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
      if ((e.target as Element | null)?.closest('.leaflet-control')) return;
      e.preventDefault();
      pointer = e.pointerId;
      container.setPointerCapture?.(e.pointerId);
      const ll = at(e);
      const p = latLngToPixel(ll, top);
      points = [[p.x, p.y]];
      trail = L.polyline([ll], { color: pen.color, weight: pen.weight, interactive: false, pmIgnore: true } as L.PolylineOptions).addTo(map);
    };
    const move = (e: PointerEvent) => {
      if (e.pointerId !== pointer || !trail) return;
      for (const event of e.getCoalescedEvents?.() ?? [e]) {
        const ll = at(event);
        const p = latLngToPixel(ll, top);
        points.push([p.x, p.y]);
        trail.addLatLng(ll);
      }
    };
    const finish = (keep: boolean) => (e: PointerEvent) => {
      if (e.pointerId !== pointer) return;
      pointer = null;
      if (keep && points.length >= 2) {
        // Points closer than two screen pixels add nothing.
        const tolerance = 2 * 2 ** (top - map.getZoom());
        editor.add('freehand', thin(points, tolerance).map(([x, y]) => [round2(x), round2(y)]), pen);
      }
      trail?.remove();
      trail = null;
      points = [];
    };
    const up = finish(true);
    const cancel = finish(false);
    container.addEventListener('pointerdown', down);
    container.addEventListener('pointermove', move);
    container.addEventListener('pointerup', up);
    container.addEventListener('pointercancel', cancel);
    stopCustom = () => {
      container.removeEventListener('pointerdown', down);
      container.removeEventListener('pointermove', move);
      container.removeEventListener('pointerup', up);
      container.removeEventListener('pointercancel', cancel);
      container.classList.remove('hugepic-freehand');
      trail?.remove();
      map.dragging.enable();
      map.touchZoom.enable();
    };
  };

  // Text: the next click places the inline editor there.
  const text = () => {
    container.classList.add('hugepic-placing');
    const click = (e: L.LeafletMouseEvent) => {
      stop();
      const p = latLngToPixel(e.latlng, top);
      const style = pen;
      label?.cancel();
      label = editLabel(map, e.latlng, {
        color: style.color,
        save: (value) => editor.add('text', { x: Math.round(p.x), y: Math.round(p.y) }, style, value),
        closed: () => (label = null),
      });
    };
    map.once('click', click);
    stopCustom = () => {
      container.classList.remove('hugepic-placing');
      map.off('click', click);
    };
  };

  const editText = (id: string) => {
    const shape = layers.shape(id);
    const layer = layers.layer(id);
    if (!shape || shape.type !== 'text' || !(layer instanceof L.Marker)) return;
    stop();
    label?.cancel();
    const shown = layer.getElement();
    shown?.classList.add('hugepic-editing');
    label = editLabel(map, layer.getLatLng(), {
      initial: shape.text,
      color: shape.style.color,
      save: (value) => editor.setText(id, value),
      closed: () => {
        shown?.classList.remove('hugepic-editing');
        label = null;
      },
    });
  };

  const choose = (tool: Tool) => {
    const again = active === tool;
    stop();
    label?.cancel();
    if (again) return;
    if (tool !== 'edit' && tool !== 'drag') layers.select(null);
    active = tool;
    buttons.get(tool)?.setAttribute('aria-pressed', 'true');
    const mode = DRAW_MODES[tool as ShapeType];
    if (mode) pm.enableDraw(mode, { pathOptions: { color: pen.color, weight: pen.weight } } as L.PM.DrawModeOptions);
    else if (tool === 'edit') pm.enableGlobalEditMode();
    else if (tool === 'drag') pm.enableGlobalDragMode();
    else if (tool === 'delete') pm.enableGlobalRemovalMode();
    else if (tool === 'freehand') freehand();
    else if (tool === 'text') text();
    if (small()) setOpen(false);
    renderToggle();
  };

  const onCreate = (e: { shape: string; layer: L.Layer }) => {
    const type = (Object.entries(DRAW_MODES).find(([, mode]) => mode === e.shape)?.[0] ?? null) as ShapeType | null;
    e.layer.remove();
    if (!type) return;
    const geometry: Geometry | null = layers.geometryOf(type, e.layer);
    if (geometry) {
      try {
        editor.add(type, geometry, pen);
      } catch {
        // too small to be a shape (a polygon of two points): nothing to keep
      }
    }
    stop();
  };
  map.on('pm:create', onCreate as unknown as L.LeafletEventHandlerFn);

  // Colour and width: the selected shape's while one is selected, else the pen's.
  const color = h('input', { type: 'color', 'aria-label': 'Colour', title: 'Colour' });
  const weight = h('select', { 'aria-label': 'Line width', title: 'Line width' });
  for (const w of WIDTHS) weight.append(h('option', { value: String(w) }, `${w} px`));
  const selection = h('p', { class: 'selection', 'aria-live': 'polite' });
  const editTextButton = h('button', { type: 'button', hidden: true, title: 'Change the text of the selected label' }, 'Edit text');
  const showStyle = (style: Style) => {
    color.value = style.color.length === 7 ? style.color : DEFAULT_STYLE.color;
    const w = String(style.weight);
    if (![...weight.options].some((o) => o.value === w)) weight.append(h('option', { value: w }, `${w} px`));
    weight.value = w;
  };
  showStyle(pen);
  const restyle = (change: Partial<Style>) => {
    const id = layers.selectedId();
    const shape = id ? layers.shape(id) : null;
    if (id && shape) editor.setStyle(id, { ...shape.style, ...change });
    else {
      pen = { ...pen, ...change };
      pm.setGlobalOptions({ pathOptions: { color: pen.color, weight: pen.weight } } as L.PM.GlobalOptions);
    }
  };
  // `change`, not `input`: one undo step per colour picked, not one per drag of the picker.
  color.addEventListener('change', () => restyle({ color: color.value }));
  weight.addEventListener('change', () => restyle({ weight: Number(weight.value) }));
  layers.onSelected = (shape: Shape | null) => {
    showStyle(shape ? shape.style : pen);
    selection.textContent = shape ? selectionSentence(shape) : '';
    if (shape) selection.title = shape.created ? new Date(shape.created).toLocaleString() : '';
    selection.hidden = !shape;
    editTextButton.hidden = shape?.type !== 'text';
    color.title = shape ? 'Colour of the selected shape' : 'Colour';
    weight.title = shape ? 'Line width of the selected shape' : 'Line width';
  };
  layers.onSelected(null);
  editTextButton.addEventListener('click', () => {
    const id = layers.selectedId();
    if (id) editText(id);
  });

  const tool = (name: Tool, text: string) => {
    const b = h('button', { type: 'button', 'aria-pressed': 'false', 'data-tool': name, onclick: () => choose(name) }, text);
    buttons.set(name, b);
    return b;
  };
  const list = h(
    'div',
    { class: 'tool-list', id: `hugepic-tools-${Math.random().toString(36).slice(2, 8)}` },
    ...TOOLS.map(([name, text]) => tool(name, text)),
    color,
    weight,
    selection,
    editTextButton,
  );
  const toggle = h('button', { type: 'button', class: 'toggle', 'aria-controls': list.id, title: 'Show or hide the drawing tools' });
  const renderToggle = () => {
    const name = TOOLS.find(([t]) => t === active)?.[1];
    toggle.textContent = name ? `✎ ${name}` : '✎ Draw';
  };
  const setOpen = (open: boolean) => {
    list.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    fit();
  };
  toggle.addEventListener('click', () => {
    const open = list.hidden === true;
    setOpen(open);
    rememberOpen(open);
  });
  // Undo and redo sit beside the toggle: reachable folded or open, on any screen.
  const undoRedo = h(
    'div',
    { class: 'undo-redo' },
    h('button', { type: 'button', title: 'Undo (Ctrl+Z)', 'aria-label': 'Undo', onclick: () => editor.undo() }, '↶'),
    h('button', { type: 'button', title: 'Redo (Ctrl+Shift+Z)', 'aria-label': 'Redo', onclick: () => editor.redo() }, '↷'),
  );
  const head = h('div', { class: 'tools-head' }, toggle, undoRedo);
  const bar = h('div', { class: 'hugepic-tools leaflet-bar', role: 'toolbar', 'aria-label': 'Drawing tools' }, head, list);
  const Control = L.Control.extend({
    onAdd: () => {
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.disableScrollPropagation(bar);
      return bar;
    },
  });
  const control = new Control({ position: 'topright' }).addTo(map);
  // The open list scrolls rather than reach down to the minimap in the other corner.
  const fit = () => {
    if (list.hidden) return;
    const minimap = container.querySelector('.hugepic-minimap');
    const bottom = minimap ? minimap.getBoundingClientRect().top : container.getBoundingClientRect().bottom;
    list.style.maxHeight = `${Math.max(96, bottom - 10 - list.getBoundingClientRect().top)}px`;
  };
  map.on('resize', fit);
  // Folded until someone opens it (it covers a corner of the picture); then as they left it.
  setOpen(openBefore() && !small());
  renderToggle();

  // A click on the picture (not on a shape) clears the selection.
  const onMapClick = (e: L.LeafletMouseEvent) => {
    if (!layers.hitShape(e.originalEvent)) layers.select(null);
  };
  map.on('click', onMapClick);

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
      layers.select(null);
    } else if ((e.key === 'Delete' || e.key === 'Backspace') && layers.selectedId() && target?.closest('.side-panel') == null) {
      e.preventDefault();
      editor.remove(layers.selectedId() ?? '');
    }
  };
  document.addEventListener('keydown', keys);

  return {
    select(id) {
      if (active && active !== 'edit' && active !== 'drag') return;
      layers.select(id);
    },
    editText,
    active: () => active,
    idle() {
      stop();
      label?.cancel();
    },
    dispose() {
      stop();
      label?.cancel();
      layers.onSelected = null;
      map.off('pm:create', onCreate as unknown as L.LeafletEventHandlerFn);
      map.off('click', onMapClick);
      map.off('resize', fit);
      document.removeEventListener('keydown', keys);
      control.remove();
    },
  };
}
