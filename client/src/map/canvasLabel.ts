// A text label drawn on a canvas renderer (the history's replay): the same look as the
// live map's label elements (bold 15 px text in the shape's colour with a white halo,
// starting at its point, centred on it vertically), but a stroke of the canvas instead
// of an element. Hundreds of label elements moving at every frame of a playback made
// the browser lay out and composite each one; on the canvas they cost one redraw.
// Built on Leaflet's circle marker (its point, projection and hit testing); the label
// replaces its drawing and its bounds.
import L from 'leaflet';

const FONT_SIZE = 15;
const HALO = 3;

let measure: CanvasRenderingContext2D | null = null;
let font = '';

/** The font labels are drawn in: the page's, bold, 15 px. */
function labelFont(): string {
  if (!font) font = `600 ${FONT_SIZE}px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
  return font;
}

/** The width in CSS pixels of `text` drawn as a label. */
function textWidth(text: string): number {
  measure ??= document.createElement('canvas').getContext('2d');
  if (!measure) return text.length * FONT_SIZE * 0.6;
  measure.font = labelFont();
  return measure.measureText(text).width;
}

/** Leaflet's internals a canvas path works with (not in its type definitions). */
interface CanvasInternals {
  _point: L.Point;
  _pxBounds: L.Bounds;
  _renderer: { _drawing: boolean; _ctx: CanvasRenderingContext2D };
  _empty(): boolean;
}

export interface CanvasLabelOptions extends L.CircleMarkerOptions {
  text: string;
  textColor: string;
}

/** A label on a canvas renderer: `options.renderer` must be an `L.Canvas`. */
export class CanvasLabel extends L.CircleMarker {
  declare options: CanvasLabelOptions;
  private width = 0;

  constructor(latlng: L.LatLngExpression, options: CanvasLabelOptions) {
    // A radius of 1 keeps Leaflet's "is it on screen" test (which a radius of 0 skips).
    super(latlng, { ...options, radius: 1, stroke: false, fill: false });
    this.width = textWidth(options.text);
  }

  /** Changes the text and its colour, and redraws. */
  setText(text: string, color: string): this {
    this.options.text = text;
    this.options.textColor = color;
    this.width = textWidth(text);
    return this.redraw();
  }

  _updateBounds(): void {
    const self = this as unknown as CanvasInternals;
    const half = FONT_SIZE / 2 + HALO;
    self._pxBounds = L.bounds(self._point.subtract([HALO, half]), self._point.add([this.width + HALO, half]));
  }

  _updatePath(): void {
    const self = this as unknown as CanvasInternals;
    const renderer = self._renderer;
    if (!renderer._drawing || self._empty()) return;
    const ctx = renderer._ctx;
    const { x, y } = self._point;
    ctx.save();
    ctx.globalAlpha = 1;
    ctx.font = labelFont();
    ctx.textBaseline = 'middle';
    ctx.lineJoin = 'round';
    ctx.lineWidth = HALO * 2;
    ctx.strokeStyle = '#ffffff';
    ctx.strokeText(this.options.text, x, y);
    ctx.fillStyle = this.options.textColor;
    ctx.fillText(this.options.text, x, y);
    // Selected (drawn dashed, like the paths): a dashed underline.
    if (this.options.dashArray) {
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = this.options.textColor;
      ctx.beginPath();
      ctx.moveTo(x, y + FONT_SIZE / 2 + 1);
      ctx.lineTo(x + this.width, y + FONT_SIZE / 2 + 1);
      ctx.stroke();
    }
    ctx.restore();
  }

  _containsPoint(p: L.Point): boolean {
    return (this as unknown as CanvasInternals)._pxBounds.contains(p);
  }
}
