// The history's replay on the map: every shape of the moment shown, drawn on one canvas
// straight from its image-pixel geometry, with no Leaflet layer per shape. Playback at
// 100× changes thousands of shapes a second, and a restore moment takes ~2,000 away or
// brings them back at once. As Leaflet layers, each change projected and clipped the
// layer's points into new objects, after our conversion to map coordinates made its own:
// about half of what a 100× playback allocated, and the frames it lost were the
// collections of that garbage (the bench's CPU and allocation profiles). Here a change is
// a Map entry, and a redraw projects each point with a multiplication and an addition as
// it draws it.
//
// Clicks find the shape under the pointer here (of shapes that overlap, the one drawn
// last); the map still gets its own events, forwarded by the canvas as Leaflet's does.
//
// Without a GPU, Chromium rasterises a canvas's paths on the page's main thread when the
// frame is committed: about 2,000 shapes take 30-50 ms. While playing (progressive mode)
// a redraw therefore goes to a back canvas a slice at a time, each slice rasterised within
// the frame's budget, and the finished picture is copied to the visible canvas in one
// step: the page keeps its frame rate, and each moment appears whole, a few frames later.
// Views that change (pan, zoom, resize) and redraws outside the mode draw at once. While
// held (the shapes are being changed over several frames), a progressive redraw waits: a
// half-changed picture is never drawn.
import L from 'leaflet';

import { drawLabel, LABEL_FONT_SIZE, LABEL_HALO, labelWidth } from '../map/canvasLabel';
import { fillOpacity, filled } from '../map/shapeDrawing';
import { drawnAlike, type CircleGeometry, type Point, type PointGeometry, type Rect, type Shape, type ShapeView } from '../sync/shapes';
import { pixelToLatLng } from '../view';

/** How long a frame may spend drawing a slice (ms, rasterisation included). */
const SLICE_BUDGET_MS = 7;
/** Shapes in the first slice of a redraw; later slices follow the measured cost. */
const FIRST_SLICE = 150;
/** A marker is a dot: its radius and its white ring (px). */
const DOT_RADIUS = 7;
const DOT_RING = 2;
/** How far beyond half its stroke a click still hits a shape (px). */
const CLICK_TOLERANCE = 3;
/** A line's points closer than this to the last one drawn are skipped (px). */
const MIN_STEP = 1;
/** How far past its geometry a shape may paint, besides its stroke (px): a dot, a label's height. */
const MARGIN = Math.max(DOT_RADIUS + DOT_RING, LABEL_FONT_SIZE / 2 + LABEL_HALO);
const SELECTED_DASH = [10, 6];
const NO_DASH: number[] = [];
/** The image-pixel span over which the projection is measured. */
const UNIT = 1024;

type Context = CanvasRenderingContext2D;

/** A shape's box in image pixels, and a label's width in screen pixels. */
interface Extent {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  label: number;
}

/** Labels' widths by text (measuring is slow; a playback shows the same texts again). */
const labelWidths = new Map<string, number>();

function labelWidthOf(text: string): number {
  let width = labelWidths.get(text);
  if (width === undefined) {
    if (labelWidths.size >= 10_000) labelWidths.clear();
    width = labelWidth(text);
    labelWidths.set(text, width);
  }
  return width;
}

/** Writes `shape`'s extent into `out` (no object made: this runs for every shape of
 *  every redraw, and objects kept per shape value made the collector's work grow). */
function extentOf(shape: Shape, out: Extent): Extent {
  out.label = 0;
  switch (shape.type) {
    case 'rectangle': {
      const r = shape.geometry as Rect;
      out.x0 = Math.min(r.x, r.x + r.width);
      out.x1 = Math.max(r.x, r.x + r.width);
      out.y0 = Math.min(r.y, r.y + r.height);
      out.y1 = Math.max(r.y, r.y + r.height);
      return out;
    }
    case 'circle': {
      const c = shape.geometry as CircleGeometry;
      out.x0 = c.cx - c.r;
      out.x1 = c.cx + c.r;
      out.y0 = c.cy - c.r;
      out.y1 = c.cy + c.r;
      return out;
    }
    case 'marker':
    case 'text': {
      const p = shape.geometry as PointGeometry;
      out.x0 = out.x1 = p.x;
      out.y0 = out.y1 = p.y;
      if (shape.type === 'text') out.label = labelWidthOf(shape.text || '…');
      return out;
    }
    default: {
      out.x0 = out.y0 = Infinity;
      out.x1 = out.y1 = -Infinity;
      const points = shape.geometry as Point[];
      for (let i = 0; i < points.length; i += 1) {
        const x = points[i][0];
        const y = points[i][1];
        out.x0 = Math.min(out.x0, x);
        out.x1 = Math.max(out.x1, x);
        out.y0 = Math.min(out.y0, y);
        out.y1 = Math.max(out.y1, y);
      }
      return out;
    }
  }
}

/** Distance from point p to the segment a-b, squared. */
function segmentDistance2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t = length2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2)) : 0;
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

/** Leaflet's canvas internals used here (not in its type definitions). */
interface CanvasInternals {
  _map: (L.Map & { _animatingZoom?: boolean; _draggableMoved(obj: unknown): boolean }) | null;
  _ctx: Context | undefined;
  _container: HTMLCanvasElement;
  _bounds: L.Bounds;
  _postponeUpdatePaths?: boolean;
  _redrawRequest: number | null;
  _fireEvent(layers: L.Layer[] | false, e: Event, type?: string): void;
}

/** A redraw under way: the back canvas and the shapes still to draw on it. */
interface Job {
  canvas: OffscreenCanvas;
  ctx: Context;
  next: Iterator<Shape>;
  frame: number;
}

/** The drawn box of a shape, in page pixels (the outline without its stroke; a
 *  marker's or label's point). */
export interface DrawnBox {
  id: string;
  left: number;
  top: number;
  right: number;
  bottom: number;
  selected: boolean;
}

export class ReplayCanvas extends L.Canvas {
  /** The shapes shown, in drawing order. */
  private readonly shapes = new Map<string, Shape>();
  private selected: string | null = null;
  /** The DOM event of the last click on a shape, so the map's click can tell it apart. */
  private lastShapeClick: Event | null = null;
  /** When the pointer was last looked under (a mousemove's timeStamp). */
  private hoverCheck = 0;
  /** Image pixels → layer points, for the view last drawn. */
  private readonly projection: Projection = { kx: 1, ky: 1, ox: 0, oy: 0 };
  /** Scratch for each shape's extent as it is drawn. */
  private readonly extent: Extent = { x0: 0, y0: 0, x1: 0, y1: 0, label: 0 };
  /** The canvas's extent in layer points (shapes wholly outside are not drawn). */
  private minX = -Infinity;
  private minY = -Infinity;
  private maxX = Infinity;
  private maxY = Infinity;
  private progressive = false;
  private job: Job | null = null;
  /** The back canvas, kept for the next redraw. */
  private spare: OffscreenCanvas | null = null;
  private slice = FIRST_SLICE;
  /** Set while held: redraws wait for the release. */
  private held = false;
  /** A redraw asked for while held. */
  private deferred = false;
  /** Whether the dash is on in the context being drawn (null: not known). */
  private dashed: boolean | null = null;
  /** Pictures shown: progressive redraws finished, and redraws made at once. */
  shown = 0;

  /** `top`: the picture's full-size zoom level; `open`: runs on a click on a shape. */
  constructor(
    private readonly top: number,
    private readonly open: (id: string) => void,
  ) {
    super({ padding: 0.1 });
  }

  private internals(): CanvasInternals {
    return this as unknown as CanvasInternals;
  }

  /** The view of the replay: the shapes it shows (drawing order: insertion; a shape
   *  changed in place keeps its place). */
  readonly view: ShapeView = {
    add: (shape) => {
      this.shapes.set(shape.id, shape);
      this.requestRedraw();
    },
    update: (shape) => {
      const old = this.shapes.get(shape.id);
      this.shapes.set(shape.id, shape);
      if (!old || !drawnAlike(old, shape)) this.requestRedraw();
    },
    remove: (id) => {
      if (!this.shapes.delete(id)) return;
      if (id === this.selected) this.selected = null;
      this.requestRedraw();
    },
  };

  /** Selects a shape (null: none); the selected one is drawn dashed. */
  select(id: string | null): void {
    if (id !== null && !this.shapes.has(id)) id = null;
    if (id === this.selected) return;
    this.selected = id;
    this.requestRedraw();
  }

  selectedId(): string | null {
    return this.selected;
  }

  /** Whether a map click event is the one that just hit a shape. */
  hitShape(event: Event | undefined): boolean {
    return !!event && event === this.lastShapeClick;
  }

  /** The shapes shown, each one's box in page pixels, and whether it is selected. */
  drawnBoxes(): DrawnBox[] {
    const map = this.internals()._map;
    if (!map) return [];
    const page = map.getContainer().getBoundingClientRect();
    const out: DrawnBox[] = [];
    for (const shape of this.shapes.values()) {
      const e = extentOf(shape, this.extent);
      const a = map.latLngToContainerPoint(pixelToLatLng(e.x0, e.y0, this.top));
      const b = map.latLngToContainerPoint(pixelToLatLng(e.x1, e.y1, this.top));
      out.push({ id: shape.id, left: page.left + a.x, top: page.top + a.y, right: page.left + b.x, bottom: page.top + b.y, selected: shape.id === this.selected });
    }
    return out;
  }

  /** The shape drawn on top at a layer point, if any. */
  shapeAt(point: L.Point): string | null {
    let top: string | null = null;
    for (const shape of this.shapes.values()) {
      if (hits(shape, point.x, point.y, this.projection)) top = shape.id;
    }
    return top;
  }

  // Playback's control of redraws.

  /** Turns progressive redraws on or off; off finishes a redraw under way at once. */
  setProgressive(on: boolean): void {
    this.progressive = on;
    if (!on) this.held = false;
    if (!on && (this.job || this.deferred)) {
      this.deferred = false;
      this.drawNow();
    }
  }

  /** Holds progressive redraws back (on), or lets the one asked for meanwhile start
   *  (off), at the next frame: the frame that released it has done its share of work. */
  hold(on: boolean): void {
    this.held = on;
    if (!on && this.deferred) {
      this.deferred = false;
      this.requestRedraw();
    }
  }

  /** Whether a redraw is waiting or under way (the picture shown is not the latest). */
  busy(): boolean {
    return this.job !== null || this.deferred || this.internals()._redrawRequest != null;
  }

  // Leaflet's renderer: the view changed, a redraw is due, the pointer.

  /** After the view changed (Leaflet has sized and placed the canvas): drawn at once. */
  _updatePaths(): void {
    if (this.internals()._postponeUpdatePaths) return;
    this.drawNow();
  }

  /** When added to the map. */
  _draw(): void {
    this.drawNow();
  }

  _redraw(): void {
    const self = this.internals();
    self._redrawRequest = null;
    if (!this.progressive || typeof OffscreenCanvas === 'undefined' || !self._map) {
      this.drawNow();
    } else if (this.held) {
      this.deferred = true;
    } else {
      this.startJob();
    }
  }

  private requestRedraw(): void {
    const self = this.internals();
    if (self._map) self._redrawRequest ??= requestAnimationFrame(() => this._redraw());
  }

  _onClick(e: MouseEvent): void {
    const self = this.internals();
    const map = self._map;
    if (!map) return;
    if (e.type === 'click' && !map._draggableMoved(this)) {
      const id = this.shapeAt(map.mouseEventToLayerPoint(e));
      if (id) {
        this.lastShapeClick = e;
        this.open(id);
      }
    }
    self._fireEvent(false, e);
  }

  _onMouseMove(e: MouseEvent): void {
    const self = this.internals();
    const map = self._map;
    if (!map || (map.dragging as L.Handler & { moving(): boolean }).moving() || map._animatingZoom) return;
    // Which shape is under the pointer (for the cursor) is looked at every 32 ms at most.
    if (e.timeStamp - this.hoverCheck >= 32) {
      this.hoverCheck = e.timeStamp;
      self._container.classList.toggle('leaflet-interactive', this.shapeAt(map.mouseEventToLayerPoint(e)) !== null);
    }
    self._fireEvent(false, e);
  }

  _handleMouseOut(): void {
    this.internals()._container.classList.remove('leaflet-interactive');
  }

  onRemove(map: L.Map): this {
    this.cancelJob();
    return super.onRemove(map);
  }

  // Drawing.

  /** Works out the projection of the view Leaflet last placed the canvas for. */
  private project(): void {
    const map = this.internals()._map;
    if (!map) return;
    const a = map.latLngToLayerPoint(pixelToLatLng(0, 0, this.top));
    const b = map.latLngToLayerPoint(pixelToLatLng(UNIT, UNIT, this.top));
    const projection = this.projection;
    projection.kx = (b.x - a.x) / UNIT;
    projection.ky = (b.y - a.y) / UNIT;
    projection.ox = a.x;
    projection.oy = a.y;
    const { min, max } = this.internals()._bounds;
    this.minX = min?.x ?? -Infinity;
    this.minY = min?.y ?? -Infinity;
    this.maxX = max?.x ?? Infinity;
    this.maxY = max?.y ?? Infinity;
  }

  /** Draws every shape on the visible canvas now. */
  private drawNow(): void {
    const self = this.internals();
    this.cancelJob();
    const ctx = self._ctx;
    if (!self._map || !ctx) return;
    clear(ctx);
    this.project();
    this.beginDrawing(ctx);
    for (const shape of this.shapes.values()) this.drawShape(ctx, shape);
    this.shown += 1;
  }

  private startJob(): void {
    const self = this.internals();
    const { width, height } = self._container;
    const spare = this.job?.canvas ?? this.spare;
    this.cancelJob();
    const canvas = spare && spare.width === width && spare.height === height ? spare : new OffscreenCanvas(width, height);
    this.spare = canvas;
    const ctx = width && height && self._ctx ? (canvas.getContext('2d') as unknown as Context | null) : null;
    if (!ctx || !self._ctx) {
      this.drawNow();
      return;
    }
    // The back canvas shares the visible one's transform: layer points, not pixels.
    ctx.setTransform(self._ctx.getTransform());
    clear(ctx);
    this.project();
    this.beginDrawing(ctx);
    this.job = { canvas, ctx, next: this.shapes.values(), frame: 0 };
    this.step();
  }

  private cancelJob(): void {
    if (this.job?.frame) cancelAnimationFrame(this.job.frame);
    this.job = null;
  }

  /** Draws one slice on the back canvas; the last one shows the picture. */
  private step(): void {
    const job = this.job;
    const visible = this.internals()._ctx;
    if (!job || !visible) return;
    job.frame = 0;
    const began = performance.now();
    let drawn = 0;
    let done = false;
    while (drawn < this.slice) {
      const next = job.next.next();
      if (next.done) {
        done = true;
        break;
      }
      this.drawShape(job.ctx, next.value);
      drawn += 1;
    }
    // Reading a pixel rasterises what was just drawn, now rather than when it is shown.
    job.ctx.getImageData(0, 0, 1, 1);
    const spent = performance.now() - began;
    if (drawn) this.slice = Math.max(20, Math.min(4000, Math.round((drawn * SLICE_BUDGET_MS) / Math.max(spent, 0.5))));
    if (!done) {
      job.frame = requestAnimationFrame(() => this.step());
      return;
    }
    this.job = null;
    visible.save();
    visible.setTransform(1, 0, 0, 1, 0, 0);
    visible.clearRect(0, 0, visible.canvas.width, visible.canvas.height);
    visible.drawImage(job.canvas, 0, 0);
    visible.restore();
    this.shown += 1;
  }

  private beginDrawing(ctx: Context): void {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    this.dashed = null;
  }

  private dash(ctx: Context, on: boolean): void {
    if (this.dashed === on) return;
    ctx.setLineDash(on ? SELECTED_DASH : NO_DASH);
    this.dashed = on;
  }

  /** Draws one shape, unless it lies wholly outside the canvas. */
  private drawShape(ctx: Context, shape: Shape): void {
    const { kx, ky, ox, oy } = this.projection;
    const e = extentOf(shape, this.extent);
    const margin = MARGIN + shape.style.weight;
    const left = Math.min(e.x0 * kx, e.x1 * kx) + ox - margin;
    const right = Math.max(e.x0 * kx, e.x1 * kx) + ox + margin + e.label;
    const top = Math.min(e.y0 * ky, e.y1 * ky) + oy - margin;
    const bottom = Math.max(e.y0 * ky, e.y1 * ky) + oy + margin;
    if (right < this.minX || left > this.maxX || bottom < this.minY || top > this.maxY) return;
    const selected = shape.id === this.selected;
    const color = shape.style.color;
    switch (shape.type) {
      case 'rectangle': {
        const r = shape.geometry as Rect;
        ctx.beginPath();
        ctx.rect(r.x * kx + ox, r.y * ky + oy, r.width * kx, r.height * ky);
        break;
      }
      case 'circle': {
        const c = shape.geometry as CircleGeometry;
        ctx.beginPath();
        ctx.arc(c.cx * kx + ox, c.cy * ky + oy, Math.abs(c.r * kx), 0, 2 * Math.PI);
        break;
      }
      case 'marker': {
        const p = shape.geometry as PointGeometry;
        ctx.beginPath();
        ctx.arc(p.x * kx + ox, p.y * ky + oy, DOT_RADIUS, 0, 2 * Math.PI);
        ctx.globalAlpha = 1;
        ctx.fillStyle = color;
        ctx.fill();
        this.dash(ctx, selected);
        ctx.lineWidth = DOT_RING;
        ctx.strokeStyle = '#ffffff';
        ctx.stroke();
        return;
      }
      case 'text': {
        const p = shape.geometry as PointGeometry;
        drawLabel(ctx, p.x * kx + ox, p.y * ky + oy, shape.text || '…', color, e.label, selected);
        // drawLabel restores the context as it found it.
        return;
      }
      default: {
        const points = shape.geometry as Point[];
        if (!points.length) return;
        ctx.beginPath();
        let lx = points[0][0] * kx + ox;
        let ly = points[0][1] * ky + oy;
        ctx.moveTo(lx, ly);
        const last = points.length - 1;
        for (let i = 1; i <= last; i += 1) {
          const x = points[i][0] * kx + ox;
          const y = points[i][1] * ky + oy;
          if (i < last && Math.abs(x - lx) < MIN_STEP && Math.abs(y - ly) < MIN_STEP) continue;
          ctx.lineTo(x, y);
          lx = x;
          ly = y;
        }
        if (shape.type === 'polygon') ctx.closePath();
      }
    }
    if (filled(shape)) {
      ctx.globalAlpha = fillOpacity(shape);
      ctx.fillStyle = color;
      ctx.fill('evenodd');
    }
    if (shape.style.weight > 0) {
      this.dash(ctx, selected);
      ctx.globalAlpha = 1;
      ctx.lineWidth = shape.style.weight;
      ctx.strokeStyle = color;
      ctx.stroke();
    }
  }
}

/** Image pixels → layer points: x·kx + ox, y·ky + oy. */
export interface Projection {
  kx: number;
  ky: number;
  ox: number;
  oy: number;
}

/** Whether layer point px, py is on `shape` as drawn with `projection`: its fill, its
 *  stroke, near a line (a marker's dot, a label's text). */
export function hits(shape: Shape, px: number, py: number, projection: Projection): boolean {
  const { kx, ky, ox, oy } = projection;
  const reach = shape.style.weight / 2 + CLICK_TOLERANCE;
  switch (shape.type) {
    case 'marker': {
      const p = shape.geometry as PointGeometry;
      return Math.hypot(p.x * kx + ox - px, p.y * ky + oy - py) <= DOT_RADIUS + DOT_RING;
    }
    case 'text': {
      const p = shape.geometry as PointGeometry;
      const x = p.x * kx + ox;
      const y = p.y * ky + oy;
      return px >= x - LABEL_HALO && px <= x + labelWidthOf(shape.text || '…') + LABEL_HALO && Math.abs(py - y) <= LABEL_FONT_SIZE / 2 + LABEL_HALO;
    }
    case 'circle': {
      const c = shape.geometry as CircleGeometry;
      return Math.hypot(c.cx * kx + ox - px, c.cy * ky + oy - py) <= Math.abs(c.r * kx) + reach;
    }
    case 'rectangle': {
      const r = shape.geometry as Rect;
      const x0 = Math.min(r.x * kx, (r.x + r.width) * kx) + ox;
      const x1 = Math.max(r.x * kx, (r.x + r.width) * kx) + ox;
      const y0 = Math.min(r.y * ky, (r.y + r.height) * ky) + oy;
      const y1 = Math.max(r.y * ky, (r.y + r.height) * ky) + oy;
      return px >= x0 - reach && px <= x1 + reach && py >= y0 - reach && py <= y1 + reach;
    }
    default: {
      const points = shape.geometry as Point[];
      const closed = shape.type === 'polygon';
      let inside = false;
      const n = points.length;
      for (let i = 0, j = n - 1; i < n; j = i, i += 1) {
        const ax = points[i][0] * kx + ox;
        const ay = points[i][1] * ky + oy;
        const bx = points[j][0] * kx + ox;
        const by = points[j][1] * ky + oy;
        if ((i > 0 || closed) && segmentDistance2(px, py, ax, ay, bx, by) <= reach * reach) return true;
        if (closed && ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
      }
      if (n === 1) return Math.hypot(points[0][0] * kx + ox - px, points[0][1] * ky + oy - py) <= reach;
      return inside;
    }
  }
}

/** Clears a whole canvas, whatever its transform. */
function clear(ctx: Context): void {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.restore();
}
