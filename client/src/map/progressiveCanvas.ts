// A Leaflet canvas renderer that can spread a redraw over several frames (the history's
// playback). Without a GPU, Chromium rasterises a canvas's paths on the page's main
// thread when the frame is committed: about 2,000 shapes take 30-50 ms, so each new
// moment shown by a playback cost two or three frames. In progressive mode a redraw
// goes to a back canvas a slice at a time, each slice rasterised within the frame's
// budget, and the finished picture is copied to the visible canvas in one step: the page
// keeps its frame rate, and each moment appears whole, a few frames later. Views that
// change (pan, zoom, resize) and redraws outside the mode draw at once, as L.Canvas does.
// While held (the layers are being changed over several frames), a progressive redraw
// waits: a half-changed picture is never drawn.
import L from 'leaflet';

/** How long a frame may spend drawing a slice (ms, rasterisation included). */
const SLICE_BUDGET_MS = 7;
/** Shapes in the first slice of a redraw; later slices follow the measured cost. */
const FIRST_SLICE = 150;

/** Leaflet's canvas internals used here (not in its type definitions). */
interface Order {
  layer: { _updatePath(): void };
  next: Order | null;
}
interface CanvasInternals {
  _map: L.Map | null;
  _ctx: CanvasRenderingContext2D;
  _container: HTMLCanvasElement;
  _bounds: L.Bounds;
  _drawing: boolean;
  _drawFirst: Order | null;
  _redrawBounds: L.Bounds | null;
  _redrawRequest: number | null;
  _redraw(): void;
  _updatePaths(): void;
  _extendRedrawBounds(layer: unknown): void;
}

/** A redraw under way: the back canvas and the next layer to draw on it. */
interface Job {
  canvas: OffscreenCanvas;
  ctx: OffscreenCanvasRenderingContext2D;
  next: Order | null;
  frame: number;
}

export class ProgressiveCanvas extends L.Canvas {
  private progressive = false;
  private job: Job | null = null;
  /** The back canvas, kept for the next redraw. */
  private spare: OffscreenCanvas | null = null;
  private slice = FIRST_SLICE;
  /** Set while Leaflet redraws for a changed view (drawn at once). */
  private viewChange = false;
  /** Set while held: redraws wait for the release. */
  private held = false;
  /** A redraw asked for while held. */
  private deferred = false;
  /** Pictures shown: progressive redraws finished, and redraws made at once. */
  shown = 0;

  /** Turns progressive redraws on or off; off finishes a redraw under way at once. */
  setProgressive(on: boolean): void {
    this.progressive = on;
    if (!on) this.held = false;
    if (!on && (this.job || this.deferred)) {
      this.deferred = false;
      this.cancelJob();
      this.internals()._redraw();
    }
  }

  /** Holds progressive redraws back (on), or lets the one asked for meanwhile start
   *  (off), at the next frame: the frame that released it has done its share of work. */
  hold(on: boolean): void {
    this.held = on;
    if (!on && this.deferred) {
      this.deferred = false;
      const self = this.internals();
      self._redrawRequest ??= requestAnimationFrame(() => this._redraw());
    }
  }

  /** Whether a redraw is waiting or under way (the picture shown is not the latest). */
  busy(): boolean {
    const self = this.internals();
    return this.job !== null || this.deferred || self._redrawRequest != null;
  }

  private internals(): CanvasInternals {
    return this as unknown as CanvasInternals;
  }

  _updatePaths(): void {
    this.viewChange = true;
    this.cancelJob();
    try {
      (L.Canvas.prototype as unknown as CanvasInternals)._updatePaths.call(this);
    } finally {
      this.viewChange = false;
    }
  }

  /** Leaflet works out the area each changed layer dirties (three times per change,
   *  four new points each time: 15% of the bytes a 100× playback allocated, by the
   *  bench's allocation profile). A progressive redraw draws everything on a cleared back
   *  canvas, so in that mode the area is not worked out: no bounds mean a whole redraw,
   *  in L.Canvas too. */
  _extendRedrawBounds(layer: unknown): void {
    if (this.progressive) return;
    (L.Canvas.prototype as unknown as CanvasInternals)._extendRedrawBounds.call(this, layer);
  }

  _redraw(): void {
    const self = this.internals();
    if (!this.progressive || this.viewChange || typeof OffscreenCanvas === 'undefined' || !self._map) {
      this.cancelJob();
      (L.Canvas.prototype as unknown as CanvasInternals)._redraw.call(this);
      this.shown += 1;
      return;
    }
    self._redrawRequest = null;
    self._redrawBounds = null;
    if (this.held) {
      this.deferred = true;
      return;
    }
    this.startJob();
  }

  onRemove(map: L.Map): this {
    this.cancelJob();
    return super.onRemove(map);
  }

  private startJob(): void {
    const self = this.internals();
    const { width, height } = self._container;
    const spare = this.job?.canvas ?? this.spare;
    this.cancelJob();
    const canvas = spare && spare.width === width && spare.height === height ? spare : new OffscreenCanvas(width, height);
    this.spare = canvas;
    const ctx = width && height ? canvas.getContext('2d') : null;
    if (!ctx) {
      (L.Canvas.prototype as unknown as CanvasInternals)._redraw.call(this);
      return;
    }
    // The back canvas shares the visible one's transform: layer points, not pixels.
    ctx.setTransform(self._ctx.getTransform());
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.restore();
    this.job = { canvas, ctx, next: self._drawFirst, frame: 0 };
    this.step();
  }

  private cancelJob(): void {
    if (this.job?.frame) cancelAnimationFrame(this.job.frame);
    this.job = null;
  }

  /** Draws one slice on the back canvas; the last one shows the picture. */
  private step(): void {
    const job = this.job;
    const self = this.internals();
    if (!job) return;
    job.frame = 0;
    const visible = self._ctx;
    const began = performance.now();
    self._ctx = job.ctx as unknown as CanvasRenderingContext2D;
    self._drawing = true;
    let drawn = 0;
    try {
      while (job.next && drawn < this.slice) {
        job.next.layer._updatePath();
        job.next = job.next.next;
        drawn += 1;
      }
    } catch (e) {
      // Never left half done (playback waits for it): the next redraw starts afresh.
      this.job = null;
      throw e;
    } finally {
      self._drawing = false;
      self._ctx = visible;
    }
    // Reading a pixel rasterises what was just drawn, now rather than when it is shown.
    job.ctx.getImageData(0, 0, 1, 1);
    const spent = performance.now() - began;
    if (drawn) this.slice = Math.max(20, Math.min(4000, Math.round((drawn * SLICE_BUDGET_MS) / Math.max(spent, 0.5))));
    if (job.next) {
      job.frame = requestAnimationFrame(() => this.step());
      return;
    }
    this.job = null;
    visible.save();
    visible.setTransform(1, 0, 0, 1, 0, 0);
    visible.clearRect(0, 0, self._container.width, self._container.height);
    visible.drawImage(job.canvas, 0, 0);
    visible.restore();
    this.shown += 1;
  }
}
