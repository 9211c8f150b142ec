import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';

import { ShapeEditor, type Shape, type ShapeView } from '../sync/shapes';
import { Threads } from '../sync/threads';
import type { UpdateFrame } from './frames';
import { ReplayView } from './mirror';
import { ReplayIndex } from './replay';
import { docAfter, shapesJson, sortedJson } from './testHistory';

const ADA = { id: 'ada0000000000001', name: 'Ada', color: '#e91e63' };

/** A log of one person drawing, moving, restyling and deleting shapes, and commenting. */
function history(count: number, base?: Y.Doc): UpdateFrame[] {
  const doc = base ?? new Y.Doc();
  const frames: UpdateFrame[] = [];
  let seq = 10;
  doc.on('update', (update: Uint8Array) => {
    seq += 2;
    frames.push({ type: 'update', seq, at: 1_700_000_000_000 + seq * 10, author: ADA, kind: 'edit', update });
  });
  const editor = new ShapeEditor(doc, () => ADA);
  const talk = new Threads(doc, () => ADA);
  const ids: string[] = [];
  while (frames.length < count) {
    const i = frames.length;
    if (ids.length < 3 || i % 4 === 0) ids.push(editor.add('rectangle', { x: i, y: i, width: 10, height: 10 }));
    else if (i % 7 === 0) editor.remove(ids.splice((i * 31) % ids.length, 1)[0]);
    else if (i % 17 === 0) talk.start(ids[0], `comment ${i}`);
    else if (i % 5 === 0) editor.setStyle(ids[(i * 13) % ids.length], { color: '#00ff00', weight: 1 + (i % 9), fill: i % 2 === 0 });
    else editor.setGeometry(ids[(i * 7) % ids.length], { x: i, y: 2 * i, width: i % 50, height: 3 });
  }
  return frames;
}

/** A view that keeps what it was sent. */
function recorder(): ShapeView & { shapes: Map<string, Shape> } {
  const shapes = new Map<string, Shape>();
  return {
    shapes,
    add: (shape) => {
      expect(shapes.has(shape.id)).toBe(false);
      shapes.set(shape.id, shape);
    },
    update: (shape) => {
      expect(shapes.has(shape.id)).toBe(true);
      shapes.set(shape.id, shape);
    },
    remove: (id) => {
      expect(shapes.delete(id)).toBe(true);
    },
  };
}

/** An index of `count` updates, with the frames it was given. */
function indexOf(count: number): { index: ReplayIndex; frames: UpdateFrame[] } {
  const index = new ReplayIndex();
  const frames = history(count);
  for (const frame of frames) index.append(frame);
  return { index, frames };
}

/** The view shows exactly the shapes of a document given `base` and the first
 *  `position` frames. */
function expectShows(view: { shapes: Map<string, Shape> }, frames: UpdateFrame[], position: number, base?: Uint8Array): void {
  const doc = docAfter(frames, position, base);
  expect(sortedJson(view.shapes)).toBe(shapesJson(doc));
  doc.destroy();
}

describe('the replay view (from the index log of shapes)', () => {
  it('shows exactly the shapes of the document at any position, moving either way by any distance', () => {
    const { index, frames } = indexOf(500);
    const view = recorder();
    const replay = new ReplayView(index, 300, view);
    let seed = 3;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    const targets = [0, index.length, 1, 299, 300, 301, 450, 5, ...Array.from({ length: 12 }, () => next() % (index.length + 1))];
    for (const target of targets) {
      replay.seek(target);
      expect(replay.position).toBe(target);
      expectShows(view, frames, target);
      expect(replay.ids().length).toBe(view.shapes.size);
    }
    for (let p = 300; p < 330; p += 1) {
      replay.seek(p);
      expectShows(view, frames, p);
    }
    expect(index.shapeAt('nothing', 5)).toBeNull();
    replay.dispose();
    expect(view.shapes.size).toBe(0);
  });

  it('spreads a move over several calls, the position kept until the move is done', () => {
    const { index, frames } = indexOf(600);
    const view = recorder();
    const replay = new ReplayView(index, 20, view);
    for (const target of [580, 40, 41, 300]) {
      replay.begin(target);
      let calls = 0;
      // A deadline already past: each call sends a few changes and looks at the clock.
      while (!replay.advance(0)) {
        calls += 1;
        expect(replay.moving).toBe(true);
        expect(replay.position).not.toBe(target);
      }
      if (target === 580 || target === 300) expect(calls).toBeGreaterThan(1);
      expect(replay.moving).toBe(false);
      expect(replay.position).toBe(target);
      expectShows(view, frames, target);
    }
    // A move cut short by a seek is finished first, then the seek is made.
    replay.begin(10);
    replay.advance(0);
    replay.seek(500);
    expect(replay.moving).toBe(false);
    expectShows(view, frames, 500);
  });

  it('starts from a base checkpoint', () => {
    const start = new Y.Doc();
    history(200, start);
    const index = new ReplayIndex();
    const base = Y.encodeStateAsUpdate(start);
    index.setBase(500, null, base);
    const frames = history(300, start).map((f) => ({ ...f, seq: f.seq + 1_000 }));
    for (const frame of frames) index.append(frame);
    const view = recorder();
    const replay = new ReplayView(index, 0, view);
    for (const target of [0, 300, 17, 150, 0]) {
      replay.seek(target);
      expectShows(view, frames, target, base);
    }
  });
});
