import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';

import { bindShapes, DEFAULT_STYLE, drawnAlike, readShape, ShapeEditor, type Geometry, type Shape } from './shapes';
import { EVERY_KIND as every } from './shapeSamples';

const ADA = { id: 'ada0000000000001', name: 'Ada' };
const BO = { id: 'bo00000000000002', name: 'Bo' };

/** Two documents joined as the hub joins clients: every update goes to the other. */
function pair(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'));
  return [a, b];
}

/** A view that records what the binding told it. */
function recorder() {
  const shown = new Map<string, Shape>();
  const log: string[] = [];
  return {
    shown,
    log,
    add: (s: Shape) => {
      expect(shown.has(s.id)).toBe(false);
      shown.set(s.id, s);
      log.push(`add ${s.id}`);
    },
    update: (s: Shape) => {
      expect(shown.has(s.id)).toBe(true);
      shown.set(s.id, s);
      log.push(`update ${s.id}`);
    },
    remove: (id: string) => {
      expect(shown.delete(id)).toBe(true);
      log.push(`remove ${id}`);
    },
  };
}


describe('document → view', () => {
  it('shows every shape kind written on another client, with its geometry', () => {
    const [a, b] = pair();
    const view = recorder();
    bindShapes(b, view);
    const editor = new ShapeEditor(a, () => ADA);
    const ids = every.map(([type, geometry]) => editor.add(type, geometry, undefined, type === 'text' ? 'Look' : ''));
    expect(view.shown.size).toBe(every.length);
    ids.forEach((id, i) => {
      expect(view.shown.get(id)?.type).toBe(every[i][0]);
      expect(view.shown.get(id)?.geometry).toEqual(every[i][1]);
      expect(view.shown.get(id)?.author).toBe('Ada');
      expect(view.shown.get(id)?.authorId).toBe(ADA.id);
    });
    expect(view.shown.get(ids[6])?.text).toBe('Look');
  });

  it('follows reshape, restyle and delete, and shapes already there when binding', () => {
    const [a, b] = pair();
    const editor = new ShapeEditor(a, () => ADA);
    const id = editor.add('rectangle', { x: 0, y: 0, width: 10, height: 10 });
    const view = recorder();
    bindShapes(b, view);
    expect(view.log).toEqual([`add ${id}`]);
    editor.setGeometry(id, { x: 5, y: 5, width: 20, height: 30 });
    expect(view.shown.get(id)?.geometry).toEqual({ x: 5, y: 5, width: 20, height: 30 });
    editor.setStyle(id, { color: '#00ff00', weight: 7, fill: true });
    expect(view.shown.get(id)?.style).toEqual({ color: '#00ff00', weight: 7, fill: true });
    editor.remove(id);
    expect(view.shown.has(id)).toBe(false);
    expect(view.log).toEqual([`add ${id}`, `update ${id}`, `update ${id}`, `remove ${id}`]);
  });

  it('records the author id next to the name; a rename keeps the id; old shapes read without one', () => {
    const doc = new Y.Doc();
    const me = { ...ADA };
    const editor = new ShapeEditor(doc, () => me);
    const first = editor.add('marker', { x: 1, y: 1 });
    me.name = 'Ada Lovelace';
    const second = editor.add('marker', { x: 2, y: 2 });
    const shapes = doc.getMap('shapes');
    expect((shapes.get(first) as Y.Map<unknown>).toJSON()).toMatchObject({ author: 'Ada', author_id: ADA.id });
    expect(readShape(second, shapes.get(second))).toMatchObject({ author: 'Ada Lovelace', authorId: ADA.id });
    const old = new Y.Map<unknown>();
    old.set('type', 'marker');
    old.set('geometry', { x: 3, y: 3 });
    old.set('author', 'Bo');
    shapes.set('old', old);
    expect(readShape('old', shapes.get('old'))).toMatchObject({ author: 'Bo', authorId: '' });
  });

  it('skips malformed entries instead of failing, and shows them once repaired', () => {
    const doc = new Y.Doc();
    const view = recorder();
    bindShapes(doc, view);
    const shapes = doc.getMap('shapes');
    const bad = new Y.Map<unknown>();
    bad.set('type', 'circle');
    bad.set('geometry', { cx: 1, cy: 2 }); // no radius
    shapes.set('bad', bad);
    shapes.set('junk', 42);
    expect(view.shown.size).toBe(0);
    bad.set('geometry', { cx: 1, cy: 2, r: 3 });
    expect(view.shown.get('bad')?.geometry).toEqual({ cx: 1, cy: 2, r: 3 });
    expect(readShape('x', new Y.Map())).toBeNull();
  });

  it('stops when unbound', () => {
    const doc = new Y.Doc();
    const view = recorder();
    const unbind = bindShapes(doc, view);
    unbind();
    new ShapeEditor(doc, () => ADA).add('marker', { x: 1, y: 1 });
    expect(view.log).toEqual([]);
  });
});

describe('view → document', () => {
  it('refuses geometry that does not fit the kind', () => {
    const editor = new ShapeEditor(new Y.Doc(), () => ADA);
    expect(() => editor.add('circle', { x: 1, y: 2 })).toThrow();
    const id = editor.add('polygon', [[0, 0], [1, 0], [1, 1]]);
    expect(editor.setGeometry(id, [[0, 0], [1, 1]])).toBe(false);
    expect(editor.setGeometry('nope', [[0, 0], [1, 1], [2, 2]])).toBe(false);
  });
});

describe('undo and redo', () => {
  it('undo takes back only your own changes, redo brings them back', () => {
    const [a, b] = pair();
    const mine = new ShapeEditor(a, () => ADA);
    const theirs = new ShapeEditor(b, () => BO);
    const id = mine.add('marker', { x: 1, y: 1 });
    const other = theirs.add('marker', { x: 2, y: 2 });
    mine.setGeometry(id, { x: 10, y: 10 });
    const shapesA = a.getMap('shapes');
    const at = (doc: Y.Doc, key: string) => readShape(key, doc.getMap('shapes').get(key))?.geometry;
    mine.undo();
    expect(at(a, id)).toEqual({ x: 1, y: 1 });
    expect(at(b, id)).toEqual({ x: 1, y: 1 });
    mine.undo();
    expect(shapesA.has(id)).toBe(false);
    expect(shapesA.has(other)).toBe(true);
    mine.undo(); // nothing more of Ada's
    expect(shapesA.has(other)).toBe(true);
    mine.redo();
    mine.redo();
    expect(at(b, id)).toEqual({ x: 10, y: 10 });
    theirs.remove(other);
    mine.undo();
    expect(at(a, id)).toEqual({ x: 1, y: 1 });
    expect(shapesA.has(other)).toBe(false);
  });
});

describe('restyling', () => {
  it('is one undo step per change, seen by the other client, undone only by its author', () => {
    const [a, b] = pair();
    const ada = new ShapeEditor(a, () => ADA);
    const bo = new ShapeEditor(b, () => BO);
    const id = ada.add('rectangle', { x: 0, y: 0, width: 10, height: 10 });
    const styleAt = (doc: Y.Doc) => readShape(id, doc.getMap('shapes').get(id))?.style;
    // Bo restyles Ada's rectangle twice: colour, then width.
    bo.setStyle(id, { color: '#00aa00', weight: 3, fill: false });
    bo.setStyle(id, { color: '#00aa00', weight: 12, fill: false });
    expect(styleAt(a)).toEqual({ color: '#00aa00', weight: 12, fill: false });
    bo.undo();
    expect(styleAt(a)).toEqual({ color: '#00aa00', weight: 3, fill: false });
    bo.undo();
    expect(styleAt(a)).toEqual({ color: '#ff5722', weight: 3, fill: false });
    bo.undo(); // nothing more of Bo's: the rectangle stays
    expect(b.getMap('shapes').has(id)).toBe(true);
    bo.redo();
    expect(styleAt(a)?.color).toBe('#00aa00');
    ada.undo(); // Ada's own last change is the rectangle itself
    expect(b.getMap('shapes').has(id)).toBe(false);
  });

  it('reads a style it cannot draw as the default', () => {
    const doc = new Y.Doc();
    const editor = new ShapeEditor(doc, () => ADA);
    const id = editor.add('marker', { x: 1, y: 1 });
    (doc.getMap('shapes').get(id) as Y.Map<unknown>).set('style', { color: 'url(javascript:x)', weight: 1e9 });
    expect(readShape(id, doc.getMap('shapes').get(id))?.style).toEqual({ color: '#ff5722', weight: 3, fill: false });
  });
});

describe('shapes drawn alike', () => {
  const base: Shape = {
    id: 's1',
    type: 'polygon',
    geometry: [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    style: { ...DEFAULT_STYLE },
    author: 'Ada',
    authorId: 'a1',
    created: 0,
    text: '',
  };

  it('tells a copy with the same numbers from any drawn difference', () => {
    const copy = JSON.parse(JSON.stringify(base)) as Shape;
    expect(drawnAlike(base, copy)).toBe(true);
    const moved = { ...copy, geometry: [[1, 2], [3, 4], [5, 7]] as Geometry };
    expect(drawnAlike(base, moved)).toBe(false);
    const fewer = { ...copy, geometry: [[1, 2], [3, 4]] as Geometry };
    expect(drawnAlike(base, fewer)).toBe(false);
    expect(drawnAlike(base, { ...copy, style: { ...copy.style, color: '#000000' } })).toBe(false);
    expect(drawnAlike(base, { ...copy, text: 'x' })).toBe(false);
    expect(drawnAlike(base, { ...copy, author: 'Bo' })).toBe(false);
    const rect = { ...copy, type: 'rectangle', geometry: { x: 1, y: 2, width: 3, height: 4 } } as Shape;
    expect(drawnAlike(rect, { ...rect, geometry: { x: 1, y: 2, width: 3, height: 4 } })).toBe(true);
    expect(drawnAlike(rect, { ...rect, geometry: { x: 1, y: 2, width: 3, height: 5 } })).toBe(false);
  });
});
