// A text label drawn on a canvas (the history's replay): the same look as the live map's
// label elements (bold 15 px text in the shape's colour with a white halo, starting at
// its point, centred on it vertically), but strokes of a canvas instead of an element.
// Hundreds of label elements moving at every frame of a playback made the browser lay
// out and composite each one; on the canvas they cost one redraw.

export const LABEL_FONT_SIZE = 15;
/** The white halo around the letters (px). */
export const LABEL_HALO = 3;

let measure: CanvasRenderingContext2D | null = null;
let font = '';

/** The font labels are drawn in: the page's, bold, 15 px. */
function labelFont(): string {
  if (!font) font = `600 ${LABEL_FONT_SIZE}px ${getComputedStyle(document.body).fontFamily || 'sans-serif'}`;
  return font;
}

/** The width in CSS pixels of `text` drawn as a label. */
export function labelWidth(text: string): number {
  measure ??= document.createElement('canvas').getContext('2d');
  if (!measure) return text.length * LABEL_FONT_SIZE * 0.6;
  measure.font = labelFont();
  return measure.measureText(text).width;
}

const SELECTED_DASH = [4, 3];

/** Draws `text` (`width` wide, by labelWidth) from point x, y, centred on it vertically;
 *  selected (drawn dashed, like the paths): with a dashed underline. */
export function drawLabel(ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D, x: number, y: number, text: string, color: string, width: number, selected: boolean): void {
  ctx.save();
  ctx.globalAlpha = 1;
  ctx.font = labelFont();
  ctx.textBaseline = 'middle';
  ctx.lineJoin = 'round';
  ctx.lineWidth = LABEL_HALO * 2;
  ctx.strokeStyle = '#ffffff';
  ctx.strokeText(text, x, y);
  ctx.fillStyle = color;
  ctx.fillText(text, x, y);
  if (selected) {
    ctx.setLineDash(SELECTED_DASH);
    ctx.lineWidth = 2;
    ctx.strokeStyle = color;
    ctx.beginPath();
    ctx.moveTo(x, y + LABEL_FONT_SIZE / 2 + 1);
    ctx.lineTo(x + width, y + LABEL_FONT_SIZE / 2 + 1);
    ctx.stroke();
  }
  ctx.restore();
}
