// The replay on the map: a ShapeView kept at one position of a ReplayIndex from the
// index's log of shapes. No Leaflet: the view is the same interface the live layers
// implement.
import type { Shape, ShapeView } from '../sync/shapes';
import type { ReplayIndex } from './replay';

/** Changes applied between two looks at the clock by `advance`. */
const CHANGES_PER_LOOK = 16;

/** A ShapeView kept at one position of a ReplayIndex from the index's log of shapes,
 *  with no Y.Doc at all: moving, by any distance either way, sends the view only the
 *  shapes that changed in between, each read from the log (a seek costs the length of
 *  the log in between, not a checkpoint's rebuild). A move can also be spread over
 *  several calls (`begin`, then `advance` once a frame until it says done): playback
 *  jumps hundreds of shapes at a time, more than one frame can restyle. */
export class ReplayView {
  /** What the view shows: id → the shape, as logged (the same object while unchanged). */
  private readonly shown = new Map<string, Shape>();
  private at = 0;
  /** A move under way: where to, and the changes still to send the view. */
  private pending: { target: number; changes: [string, Shape | null][]; next: number } | null = null;

  constructor(
    private readonly index: ReplayIndex,
    position: number,
    private readonly view: ShapeView,
  ) {
    this.apply(this.index.shapesChanged(-1, this.clamp(position)));
    this.at = this.clamp(position);
  }

  /** The position shown: during a move, where it started until the move is done. */
  get position(): number {
    return this.at;
  }

  /** Whether a move begun is not yet done (the view shows some of it). */
  get moving(): boolean {
    return this.pending !== null;
  }

  /** Moves to `position` (clamped to the index) at once. */
  seek(position: number): void {
    this.finish();
    const target = this.clamp(position);
    if (target === this.at) return;
    this.apply(this.index.shapesChanged(this.at, target));
    this.at = target;
  }

  /** Begins a move to `position` (a move under way is finished first); nothing is sent
   *  to the view until `advance`. */
  begin(position: number): void {
    this.finish();
    const target = this.clamp(position);
    if (target !== this.at) this.pending = { target, changes: [...this.index.shapesChanged(this.at, target)], next: 0 };
  }

  /** Sends the view more of the move under way, until `deadline` (a performance.now()
   *  time; at least a few changes each call); whether the move is done. */
  advance(deadline: number): boolean {
    const move = this.pending;
    if (!move) return true;
    const { changes } = move;
    while (move.next < changes.length) {
      const end = Math.min(changes.length, move.next + CHANGES_PER_LOOK);
      for (; move.next < end; move.next += 1) this.put(changes[move.next][0], changes[move.next][1]);
      if (move.next < changes.length && performance.now() >= deadline) return false;
    }
    this.at = move.target;
    this.pending = null;
    return true;
  }

  /** Finishes a move under way at once. */
  finish(): void {
    this.advance(Infinity);
  }

  /** Ids of the shapes shown. */
  ids(): string[] {
    return [...this.shown.keys()];
  }

  private clamp(position: number): number {
    return Math.max(0, Math.min(position, this.index.length));
  }

  private apply(changes: Map<string, Shape | null>): void {
    for (const [id, shape] of changes) this.put(id, shape);
  }

  private put(id: string, shape: Shape | null): void {
    const old = this.shown.get(id);
    if (old === shape) return;
    if (shape === null) {
      if (old !== undefined) {
        this.shown.delete(id);
        this.view.remove(id);
      }
    } else {
      this.shown.set(id, shape);
      if (old === undefined) this.view.add(shape);
      else this.view.update(shape);
    }
  }

  /** Takes every shape off the view (a move under way is dropped). */
  dispose(): void {
    this.pending = null;
    for (const id of [...this.shown.keys()]) {
      this.shown.delete(id);
      this.view.remove(id);
    }
  }
}
