// Helpers for the history's unit tests: the reference a replay is checked against is a
// plain Y.Doc given the same updates.
import * as Y from 'yjs';

import { readShape, type Shape } from '../sync/shapes';
import type { UpdateFrame } from './frames';
import type { ReplayIndex } from './replay';

/** A map of shapes as JSON, by id in order. */
export function sortedJson(shapes: ReadonlyMap<string, Shape>): string {
  return JSON.stringify(Object.fromEntries([...shapes.entries()].sort(([a], [b]) => (a < b ? -1 : 1))));
}

/** A document's shapes as the map reads them, as JSON by id in order. */
export function shapesJson(doc: Y.Doc): string {
  const map = doc.getMap('shapes');
  const out = new Map<string, Shape>();
  for (const id of map.keys()) {
    const shape = readShape(id, map.get(id));
    if (shape) out.set(id, shape);
  }
  return sortedJson(out);
}

/** The shapes the index holds at `position`, as JSON by id in order. */
export function indexShapesJson(index: ReplayIndex, position: number): string {
  const out = new Map<string, Shape>();
  for (const [id, shape] of index.shapesChanged(-1, position)) if (shape) out.set(id, shape);
  return sortedJson(out);
}

/** A new document: `base` (a v1 update), then the first `count` of `frames`. */
export function docAfter(frames: readonly UpdateFrame[], count: number, base?: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    if (base) Y.applyUpdate(doc, base);
    for (const frame of frames.slice(0, count)) Y.applyUpdate(doc, frame.update);
  });
  return doc;
}
