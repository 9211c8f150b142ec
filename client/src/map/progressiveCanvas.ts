// A Leaflet canvas renderer that can spread a redraw over several frames (the history's
// playback). Without a GPU, Chromium rasterises a canvas's paths on the page's main
// thread when the frame is committed: about 2,000 shapes take 30-50 ms, so each new
// moment shown by a playback cost two or three frames. In progressive mode a redraw
// first records what every layer draws (a list of canvas calls, a few milliseconds),
// then plays the recording onto a back canvas a slice at a time, each slice rasterised
// within the frame's budget, and copies the finished picture to the visible canvas in
// one step. The layers may change meanwhile (the player moves on every frame): the
// picture under way is the moment it recorded, and the next redraw starts when it is
// shown. Views that change (pan, zoom, resize) and redraws outside the mode draw at
// once, as L.Canvas does.
import L from 'leaflet';

/** How long a frame may spend drawing a slice (ms, rasterisation included). */
const SLICE_BUDGET_MS = 6;
/** Calls in the first slice of a redraw; later slices follow the measured cost. */
const FIRST_SLICE = 1500;

/** Leaflet's canvas internals used here (not in its type definitions). */
interface Order {
  layer: { _updatePath(): void };
  next: Order | null;
}
interface CanvasInternals {
  _map: L.Map | null;
  _ctx: CanvasRenderingContext2D;
  _container: HTMLCanvasElement;
  _drawing: boolean;
  _drawFirst: Order | null;
  _redrawBounds: L.Bounds | null;
  _redrawRequest: number | null;
  _redraw(): void;
  _updatePaths(): void;
}

/** The calls a recording keeps, by code. */
const enum Op {
  BeginPath,
  MoveTo,
  LineTo,
  ClosePath,
  Arc,
  Fill,
  Stroke,
  Save,
  Restore,
  Scale,
  SetLineDash,
  FillText,
  StrokeText,
  GlobalAlpha,
  FillStyle,
  StrokeStyle,
  LineWidth,
  LineCap,
  LineJoin,
  Font,
  TextBaseline,
}

/** The canvas calls Leaflet's paths (`_updatePoly`, `_updateCircle`, `_fillStroke`) and
 *  the history's labels make, kept as a flat list (a code, then its arguments) to be
 *  played onto a canvas later, in slices. */
export class Recording {
  readonly ops: unknown[] = [];
  /** Recorded calls (not list entries): what the slices are measured in. */
  calls = 0;

  private push(...entry: unknown[]): void {
    for (const value of entry) this.ops.push(value);
    this.calls += 1;
  }

  beginPath(): void {
    this.push(Op.BeginPath);
  }
  moveTo(x: number, y: number): void {
    this.push(Op.MoveTo, x, y);
  }
  lineTo(x: number, y: number): void {
    this.push(Op.LineTo, x, y);
  }
  closePath(): void {
    this.push(Op.ClosePath);
  }
  arc(x: number, y: number, r: number, from: number, to: number, counter = false): void {
    this.push(Op.Arc, x, y, r, from, to, counter);
  }
  fill(rule: CanvasFillRule = 'nonzero'): void {
    this.push(Op.Fill, rule);
  }
  stroke(): void {
    this.push(Op.Stroke);
  }
  save(): void {
    this.push(Op.Save);
  }
  restore(): void {
    this.push(Op.Restore);
  }
  scale(x: number, y: number): void {
    this.push(Op.Scale, x, y);
  }
  setLineDash(dashes: number[]): void {
    this.push(Op.SetLineDash, [...dashes]);
  }
  fillText(text: string, x: number, y: number): void {
    this.push(Op.FillText, text, x, y);
  }
  strokeText(text: string, x: number, y: number): void {
    this.push(Op.StrokeText, text, x, y);
  }
  set globalAlpha(v: number) {
    this.push(Op.GlobalAlpha, v);
  }
  set fillStyle(v: string) {
    this.push(Op.FillStyle, v);
  }
  set strokeStyle(v: string) {
    this.push(Op.StrokeStyle, v);
  }
  set lineWidth(v: number) {
    this.push(Op.LineWidth, v);
  }
  set lineCap(v: CanvasLineCap) {
    this.push(Op.LineCap, v);
  }
  set lineJoin(v: CanvasLineJoin) {
    this.push(Op.LineJoin, v);
  }
  set font(v: string) {
    this.push(Op.Font, v);
  }
  set textBaseline(v: CanvasTextBaseline) {
    this.push(Op.TextBaseline, v);
  }

  /** Plays calls from list entry `at` onto `ctx` until `calls` calls are made or the
   *  list ends; the entry to go on from (the list's length when done). */
  play(ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D, at: number, calls: number): number {
    const o = this.ops;
    let i = at;
    for (let n = 0; n < calls && i < o.length; n += 1) {
      const op = o[i] as Op;
      const a = o[i + 1] as number;
      const b = o[i + 2] as number;
      switch (op) {
        case Op.BeginPath:
          ctx.beginPath();
          i += 1;
          break;
        case Op.MoveTo:
          ctx.moveTo(a, b);
          i += 3;
          break;
        case Op.LineTo:
          ctx.lineTo(a, b);
          i += 3;
          break;
        case Op.ClosePath:
          ctx.closePath();
          i += 1;
          break;
        case Op.Arc:
          ctx.arc(a, b, o[i + 3] as number, o[i + 4] as number, o[i + 5] as number, o[i + 6] as boolean);
          i += 7;
          break;
        case Op.Fill:
          ctx.fill(o[i + 1] as CanvasFillRule);
          i += 2;
          break;
        case Op.Stroke:
          ctx.stroke();
          i += 1;
          break;
        case Op.Save:
          ctx.save();
          i += 1;
          break;
        case Op.Restore:
          ctx.restore();
          i += 1;
          break;
        case Op.Scale:
          ctx.scale(a, b);
          i += 3;
          break;
        case Op.SetLineDash:
          ctx.setLineDash(o[i + 1] as number[]);
          i += 2;
          break;
        case Op.FillText:
          ctx.fillText(o[i + 1] as string, b, o[i + 3] as number);
          i += 4;
          break;
        case Op.StrokeText:
          ctx.strokeText(o[i + 1] as string, b, o[i + 3] as number);
          i += 4;
          break;
        case Op.GlobalAlpha:
          ctx.globalAlpha = a;
          i += 2;
          break;
        case Op.FillStyle:
          ctx.fillStyle = o[i + 1] as string;
          i += 2;
          break;
        case Op.StrokeStyle:
          ctx.strokeStyle = o[i + 1] as string;
          i += 2;
          break;
        case Op.LineWidth:
          ctx.lineWidth = a;
          i += 2;
          break;
        case Op.LineCap:
          ctx.lineCap = o[i + 1] as CanvasLineCap;
          i += 2;
          break;
        case Op.LineJoin:
          ctx.lineJoin = o[i + 1] as CanvasLineJoin;
          i += 2;
          break;
        case Op.Font:
          ctx.font = o[i + 1] as string;
          i += 2;
          break;
        case Op.TextBaseline:
          ctx.textBaseline = o[i + 1] as CanvasTextBaseline;
          i += 2;
          break;
        default:
          throw new Error(`unknown canvas call ${String(op)} in a recording`);
      }
    }
    return i;
  }
}

/** A redraw under way: the recording, the back canvas it is played onto, and where. */
interface Job {
  recording: Recording;
  canvas: OffscreenCanvas;
  ctx: OffscreenCanvasRenderingContext2D;
  at: number;
  frame: number;
}

export class ProgressiveCanvas extends L.Canvas {
  private progressive = false;
  private job: Job | null = null;
  /** A redraw asked for while one was under way: it starts once that one is shown. */
  private pending = false;
  /** The frame that starts the pending redraw, once one has been shown. */
  private pendingFrame = 0;
  /** The back canvas, kept for the next redraw. */
  private spare: OffscreenCanvas | null = null;
  private slice = FIRST_SLICE;
  /** Set while Leaflet redraws for a changed view (drawn at once). */
  private viewChange = false;
  /** Pictures shown: progressive redraws finished, and whole redraws at once. */
  shown = 0;

  /** Turns progressive redraws on or off; off finishes a redraw under way at once. */
  setProgressive(on: boolean): void {
    this.progressive = on;
    if (!on && (this.job || this.pending)) {
      this.cancelJob();
      this.internals()._redraw();
    }
  }

  /** Whether the picture shown is not the layers' latest (a redraw waits or is under
   *  way). */
  busy(): boolean {
    return this.job !== null || this.pending || this.internals()._redrawRequest != null;
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
    if (this.job) this.pending = true;
    else this.startJob();
  }

  onRemove(map: L.Map): this {
    this.cancelJob();
    return super.onRemove(map);
  }

  /** Records every layer as it is now, then draws the recording over the next frames. */
  private startJob(): void {
    const self = this.internals();
    const { width, height } = self._container;
    this.pending = false;
    const spare = this.spare;
    const canvas = spare && spare.width === width && spare.height === height ? spare : new OffscreenCanvas(width, height);
    this.spare = canvas;
    const ctx = width && height ? canvas.getContext('2d') : null;
    if (!ctx) {
      (L.Canvas.prototype as unknown as CanvasInternals)._redraw.call(this);
      return;
    }
    const recording = new Recording();
    const visible = self._ctx;
    self._ctx = recording as unknown as CanvasRenderingContext2D;
    self._drawing = true;
    try {
      for (let order = self._drawFirst; order; order = order.next) order.layer._updatePath();
    } finally {
      self._drawing = false;
      self._ctx = visible;
    }
    // The back canvas shares the visible one's transform: layer points, not pixels.
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.setTransform(visible.getTransform());
    this.job = { recording, canvas, ctx, at: 0, frame: requestAnimationFrame(() => this.step()) };
  }

  private cancelJob(): void {
    if (this.job?.frame) cancelAnimationFrame(this.job.frame);
    if (this.pendingFrame) cancelAnimationFrame(this.pendingFrame);
    this.pendingFrame = 0;
    this.job = null;
    this.pending = false;
  }

  /** Plays one slice of the recording onto the back canvas; the last one shows it. */
  private step(): void {
    const job = this.job;
    if (!job) return;
    job.frame = 0;
    const began = performance.now();
    const at = job.at;
    try {
      job.at = job.recording.play(job.ctx, at, this.slice);
    } catch (e) {
      // Never left half done (playback may wait for it): the next redraw starts afresh.
      this.job = null;
      throw e;
    }
    // Reading a pixel rasterises what was just played, now rather than when it is shown.
    job.ctx.getImageData(0, 0, 1, 1);
    const spent = performance.now() - began;
    this.slice = Math.max(100, Math.min(100_000, Math.round((this.slice * SLICE_BUDGET_MS) / Math.max(spent, 0.5))));
    if (job.at < job.recording.ops.length) {
      job.frame = requestAnimationFrame(() => this.step());
      return;
    }
    this.job = null;
    const self = this.internals();
    const visible = self._ctx;
    visible.save();
    visible.setTransform(1, 0, 0, 1, 0, 0);
    visible.clearRect(0, 0, self._container.width, self._container.height);
    visible.drawImage(job.canvas, 0, 0);
    visible.restore();
    this.shown += 1;
    // The next moment is recorded in the next frame: this one has drawn enough.
    if (this.pending) {
      this.pendingFrame = requestAnimationFrame(() => {
        this.pendingFrame = 0;
        if (this.pending && !this.job) this.startJob();
      });
    }
  }
}
