// A ShapeView kept in step with whichever replay document is current. Binding a new
// document (after a seek back) sends the view only the differences from what it shows,
// so scrubbing redraws the shapes that changed, not every shape. No Leaflet: the view
// is the same interface the live layers implement.
import type * as Y from 'yjs';

import { bindShapes, type Shape, type ShapeView } from '../sync/shapes';
import type { ReplayIndex } from './replay';

/** Sends a ShapeView the shapes of the current replay document. */
export class ReplayShapes {
  /** What the view shows: id → the shape as JSON. */
  private readonly shown = new Map<string, string>();
  private unbind: (() => void) | null = null;

  constructor(private readonly view: ShapeView) {}

  /** Shows `doc`'s shapes from now on. */
  bind(doc: Y.Doc): void {
    this.unbind?.();
    const seen = new Set<string>();
    this.unbind = bindShapes(doc, {
      add: (shape) => {
        seen.add(shape.id);
        this.put(shape);
      },
      update: (shape) => this.put(shape),
      remove: (id) => this.drop(id),
    });
    for (const id of [...this.shown.keys()]) {
      if (!seen.has(id)) this.drop(id);
    }
  }

  /** Ids of the shapes shown. */
  ids(): string[] {
    return [...this.shown.keys()];
  }

  private put(shape: Shape): void {
    const json = JSON.stringify(shape);
    const old = this.shown.get(shape.id);
    if (old === json) return;
    this.shown.set(shape.id, json);
    if (old === undefined) this.view.add(shape);
    else this.view.update(shape);
  }

  private drop(id: string): void {
    if (this.shown.delete(id)) this.view.remove(id);
  }

  /** Unbinds and takes every shape off the view. */
  dispose(): void {
    this.unbind?.();
    this.unbind = null;
    for (const id of [...this.shown.keys()]) this.drop(id);
  }
}

/** A ShapeView kept at one position of a ReplayIndex from the index's log of shapes,
 *  with no Y.Doc at all: moving, by any distance either way, sends the view only the
 *  shapes that changed in between, each read from the log (a seek costs the length of
 *  the log in between, not a checkpoint's rebuild). */
export class ReplayView {
  /** What the view shows: id → the shape, as logged (the same object while unchanged). */
  private readonly shown = new Map<string, Shape>();
  private at = 0;

  constructor(
    private readonly index: ReplayIndex,
    position: number,
    private readonly view: ShapeView,
  ) {
    this.apply(this.index.shapesChanged(-1, this.clamp(position)));
    this.at = this.clamp(position);
  }

  get position(): number {
    return this.at;
  }

  /** Moves to `position` (clamped to the index). */
  seek(position: number): void {
    const target = this.clamp(position);
    if (target === this.at) return;
    this.apply(this.index.shapesChanged(this.at, target));
    this.at = target;
  }

  /** Ids of the shapes shown. */
  ids(): string[] {
    return [...this.shown.keys()];
  }

  private clamp(position: number): number {
    return Math.max(0, Math.min(position, this.index.length));
  }

  private apply(changes: Map<string, Shape | null>): void {
    for (const [id, shape] of changes) {
      const old = this.shown.get(id);
      if (old === shape) continue;
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
  }

  /** Takes every shape off the view. */
  dispose(): void {
    for (const id of [...this.shown.keys()]) {
      this.shown.delete(id);
      this.view.remove(id);
    }
  }
}
