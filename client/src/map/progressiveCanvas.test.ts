// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { Recording } from './progressiveCanvas';

/** A 2D context that writes down every call and property set, in order. */
function logContext(): { ctx: CanvasRenderingContext2D; log: unknown[][] } {
  const log: unknown[][] = [];
  const ctx = new Proxy(
    {},
    {
      get: (_target, name) => (...args: unknown[]) => log.push([name, ...args]),
      set: (_target, name, value) => {
        log.push([`=${String(name)}`, value]);
        return true;
      },
    },
  ) as CanvasRenderingContext2D;
  return { ctx, log };
}

/** What Leaflet's canvas draws for a filled, dashed polygon and a squashed circle, and
 *  what the history's labels draw: every kind of call a recording keeps. */
function draw(ctx: CanvasRenderingContext2D): void {
  ctx.beginPath();
  ctx.moveTo(1, 2);
  ctx.lineTo(3, 4);
  ctx.lineTo(5, 1);
  ctx.closePath();
  ctx.globalAlpha = 0.2;
  ctx.fillStyle = '#e53935';
  ctx.fill('evenodd');
  ctx.setLineDash([4, 3]);
  ctx.globalAlpha = 1;
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#e53935';
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.stroke();
  ctx.save();
  ctx.scale(1, 0.5);
  ctx.beginPath();
  ctx.arc(10, 20, 7, 0, Math.PI * 2, false);
  ctx.restore();
  ctx.fill('nonzero');
  ctx.save();
  ctx.font = '600 15px sans-serif';
  ctx.textBaseline = 'middle';
  ctx.strokeText('a label', 30, 40);
  ctx.fillText('a label', 30, 40);
  ctx.restore();
}

describe('a recording of canvas calls', () => {
  it('plays back exactly the calls made, in order', () => {
    const recording = new Recording();
    draw(recording as unknown as CanvasRenderingContext2D);
    const direct = logContext();
    draw(direct.ctx);
    const played = logContext();
    const end = recording.play(played.ctx, 0, Infinity);
    expect(end).toBe(recording.ops.length);
    expect(played.log).toEqual(direct.log);
    expect(recording.calls).toBe(direct.log.length);
  });

  it('played in slices of any size, makes the same calls as in one go', () => {
    const recording = new Recording();
    for (let i = 0; i < 5; i++) draw(recording as unknown as CanvasRenderingContext2D);
    const whole = logContext();
    recording.play(whole.ctx, 0, Infinity);
    for (const slice of [1, 2, 7, 31]) {
      const sliced = logContext();
      let at = 0;
      let slices = 0;
      while (at < recording.ops.length) {
        at = recording.play(sliced.ctx, at, slice);
        slices += 1;
      }
      expect(sliced.log).toEqual(whole.log);
      expect(slices).toBe(Math.ceil(recording.calls / slice));
    }
  });

  it('keeps a dash pattern as it was when recorded', () => {
    const recording = new Recording();
    const dashes = [4, 3];
    recording.setLineDash(dashes);
    dashes[0] = 99;
    const played = logContext();
    recording.play(played.ctx, 0, Infinity);
    expect(played.log).toEqual([['setLineDash', [4, 3]]]);
  });
});
