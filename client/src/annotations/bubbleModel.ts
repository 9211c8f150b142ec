// What comment bubbles the threads make, in image pixels, before any map: a bubble at a
// point target, a badge at the top-right corner of a shape's bounds for a thread on a
// shape, each with its message count, unread count, resolved state and the colour of
// the thread's first author. Which of them are shown follows "Show annotations" (per
// author, like shapes) and "Show resolved". Pure; ../map/bubbleLayer draws them.
import type { Shape, ShapeType } from '../sync/shapes';
import type { Thread } from '../sync/threads';
import { authorColor, inkOn } from './colors';
import { bounds } from './geometry';

export interface Bubble {
  /** The thread's id. */
  id: string;
  kind: 'point' | 'shape';
  /** Image pixels the bubble points at. */
  x: number;
  y: number;
  /** The shape a badge sits on, and its kind (point-like shapes place badges apart). */
  shape: string | null;
  shapeType: ShapeType | null;
  /** Messages in the thread. */
  count: number;
  /** Messages from others not seen yet. */
  unread: number;
  /** The first author's colour, and the text colour that reads on it. */
  color: string;
  ink: string;
  author: string;
  resolved: boolean;
  /** The start of the first message. */
  excerpt: string;
}

export interface BubbleOptions {
  /** The shape `id`, if it is there to be drawn. */
  shape: (id: string) => Shape | null;
  /** Author id → colour of the people here. */
  colors: ReadonlyMap<string, string>;
  unread: (thread: Thread) => number;
  showResolved: boolean;
  /** Whether annotations by this author (name) are shown. */
  authorShown: (author: string) => boolean;
}

/** Where a badge goes on a shape: the top-right corner of its bounds. */
export function shapeCorner(shape: Shape): { x: number; y: number } {
  const box = bounds(shape.type, shape.geometry);
  return { x: box.x + box.width, y: box.y };
}

/** The bubbles to show for `threads`. */
export function bubblesOf(threads: Thread[], options: BubbleOptions): Bubble[] {
  const out: Bubble[] = [];
  for (const thread of threads) {
    const first = thread.messages[0];
    if (!first) continue;
    if (thread.resolved && !options.showResolved) continue;
    if (!options.authorShown(first.author)) continue;
    let at: { x: number; y: number };
    let shape: Shape | null = null;
    if (typeof thread.target === 'string') {
      shape = options.shape(thread.target);
      // A badge goes with its shape: not shown when the shape is gone or hidden.
      if (!shape || !options.authorShown(shape.author)) continue;
      at = shapeCorner(shape);
    } else at = thread.target;
    const color = authorColor(first, options.colors);
    out.push({
      id: thread.id,
      kind: shape ? 'shape' : 'point',
      x: at.x,
      y: at.y,
      shape: shape?.id ?? null,
      shapeType: shape?.type ?? null,
      count: thread.messages.length,
      unread: options.unread(thread),
      color,
      ink: inkOn(color),
      author: first.author,
      resolved: thread.resolved !== null,
      excerpt: first.text.slice(0, 80),
    });
  }
  return out;
}
