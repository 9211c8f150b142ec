// The shapes of the annotation document (DESIGN.md; its maps are named in ./document),
// with geometry in full-resolution image pixels. This module reads shapes defensively (a
// document is shared with every client, so a malformed entry is skipped, never fatal),
// writes them in transactions tagged with this client's origin so Y.UndoManager undoes
// only your own changes, and binds the `shapes` map to a view in both directions.
import * as Y from 'yjs';

import { shapesOf } from './document';

export const SHAPE_TYPES = ['polyline', 'polygon', 'rectangle', 'circle', 'marker', 'freehand', 'text'] as const;
export type ShapeType = (typeof SHAPE_TYPES)[number];

export type Point = [number, number];
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface CircleGeometry {
  cx: number;
  cy: number;
  r: number;
}
export interface PointGeometry {
  x: number;
  y: number;
}
export type Geometry = Point[] | Rect | CircleGeometry | PointGeometry;

export interface Style {
  color: string;
  weight: number;
  fill: boolean;
}

/** Whether two geometries are the same numbers (points in order, or the same fields). */
function sameGeometry(a: Geometry, b: Geometry): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((p, i) => p[0] === b[i][0] && p[1] === b[i][1]);
  }
  const ka = Object.keys(a) as (keyof typeof a)[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === (b as typeof a)[k]);
}

/** Whether two versions of a shape are drawn alike: kind, author, geometry, style, text
 *  (a restore brings shapes back as new entries that often draw exactly as before). */
export function drawnAlike(a: Shape, b: Shape): boolean {
  return (
    a.type === b.type &&
    a.author === b.author &&
    a.text === b.text &&
    a.style.color === b.style.color &&
    a.style.weight === b.style.weight &&
    a.style.fill === b.style.fill &&
    sameGeometry(a.geometry, b.geometry)
  );
}

export interface Shape {
  id: string;
  type: ShapeType;
  geometry: Geometry;
  style: Style;
  /** The author's name when they drew it. */
  author: string;
  /** The author's stable id ('' for shapes drawn before ids existed). */
  authorId: string;
  created: number;
  /** The label of a `text` shape. */
  text: string;
}

export const DEFAULT_STYLE: Style = { color: '#ff5722', weight: 3, fill: false };

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isPoints(v: unknown): v is Point[] {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && finite(p[0]) && finite(p[1]));
}

/** Whether `geometry` is what DESIGN.md gives for a shape of `type`. */
export function validGeometry(type: ShapeType, geometry: unknown): geometry is Geometry {
  if (geometry === null || typeof geometry !== 'object') return false;
  const g = geometry as Record<string, unknown>;
  switch (type) {
    case 'polyline':
    case 'freehand':
      return isPoints(geometry) && geometry.length >= 2;
    case 'polygon':
      return isPoints(geometry) && geometry.length >= 3;
    case 'rectangle':
      return finite(g.x) && finite(g.y) && finite(g.width) && finite(g.height) && g.width >= 0 && g.height >= 0;
    case 'circle':
      return finite(g.cx) && finite(g.cy) && finite(g.r) && g.r >= 0;
    case 'marker':
    case 'text':
      return finite(g.x) && finite(g.y);
  }
}

function readStyle(value: unknown): Style {
  const s = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  return {
    color: typeof s.color === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(s.color) ? s.color : DEFAULT_STYLE.color,
    weight: finite(s.weight) && s.weight > 0 && s.weight <= 50 ? s.weight : DEFAULT_STYLE.weight,
    fill: s.fill === true,
  };
}

/** The shape stored under `id`, or null if the entry is not a shape this client can draw. */
export function readShape(id: string, value: unknown): Shape | null {
  if (!(value instanceof Y.Map)) return null;
  const type = value.get('type');
  if (!SHAPE_TYPES.includes(type)) return null;
  const geometry = value.get('geometry');
  if (!validGeometry(type, geometry)) return null;
  const author = value.get('author');
  const authorId = value.get('author_id');
  const created = value.get('created');
  const text = value.get('text');
  return {
    id,
    type,
    geometry,
    style: readStyle(value.get('style')),
    author: typeof author === 'string' ? author : '',
    authorId: typeof authorId === 'string' ? authorId : '',
    created: finite(created) ? created : 0,
    text: typeof text === 'string' ? text : '',
  };
}

/** What a view of the shapes does when the document changes. */
export interface ShapeView {
  /** A shape appeared (also called for every shape when binding). */
  add(shape: Shape): void;
  /** A shape changed (geometry, style, text). */
  update(shape: Shape): void;
  /** A shape went away (deleted, or no longer readable). */
  remove(id: string): void;
}

/** The ids of the shapes that deep events on the `shapes` map touched. */
export function touchedShapes(shapes: Y.Map<unknown>, events: Y.YEvent<Y.AbstractType<unknown>>[]): Set<string> {
  const touched = new Set<string>();
  for (const event of events) {
    if (event.target === shapes) {
      for (const key of event.changes.keys.keys()) touched.add(key);
    } else {
      const first = event.path[0];
      if (typeof first === 'string') touched.add(first);
    }
  }
  return touched;
}

/** Keeps `view` in step with `doc`'s shapes; returns the function that unbinds. */
export function bindShapes(doc: Y.Doc, view: ShapeView): () => void {
  const shapes = shapesOf(doc);
  const shown = new Set<string>();
  const refresh = (id: string) => {
    const shape = readShape(id, shapes.get(id));
    if (shape && shown.has(id)) view.update(shape);
    else if (shape) {
      shown.add(id);
      view.add(shape);
    } else if (shown.delete(id)) view.remove(id);
  };
  for (const id of shapes.keys()) refresh(id);
  const observer = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
    for (const id of touchedShapes(shapes, events)) refresh(id);
  };
  shapes.observeDeep(observer);
  return () => shapes.unobserveDeep(observer);
}

function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 12);
}

/** Who writes: the stable id and the name at the time. */
export interface Author {
  id: string;
  name: string;
}

/** This client's changes to the shapes, undoable by it alone. */
export class ShapeEditor {
  readonly undoManager: Y.UndoManager;
  private readonly shapes: Y.Map<unknown>;

  constructor(
    private readonly doc: Y.Doc,
    private readonly author: () => Author,
  ) {
    this.shapes = shapesOf(doc);
    this.undoManager = new Y.UndoManager(this.shapes, { trackedOrigins: new Set([this]), captureTimeout: 300 });
  }

  /** Adds a shape; its id. */
  add(type: ShapeType, geometry: Geometry, style: Style = DEFAULT_STYLE, text = ''): string {
    if (!validGeometry(type, geometry)) throw new Error(`not a ${type} geometry`);
    const id = newId();
    this.doc.transact(() => {
      const shape = new Y.Map<unknown>();
      shape.set('type', type);
      shape.set('geometry', geometry);
      shape.set('style', { ...style });
      const author = this.author();
      shape.set('author', author.name);
      shape.set('author_id', author.id);
      shape.set('created', Date.now());
      if (type === 'text') shape.set('text', text);
      this.shapes.set(id, shape);
    }, this);
    this.undoManager.stopCapturing();
    return id;
  }

  private change(id: string, apply: (shape: Y.Map<unknown>) => void): boolean {
    const shape = this.shapes.get(id);
    if (!(shape instanceof Y.Map)) return false;
    this.doc.transact(() => {
      apply(shape);
      // When it last changed, for exports (W3C `modified`); history keeps the rest.
      shape.set('modified', Date.now());
    }, this);
    this.undoManager.stopCapturing();
    return true;
  }

  /** Moves or reshapes a shape. */
  setGeometry(id: string, geometry: Geometry): boolean {
    const type = (this.shapes.get(id) as Y.Map<unknown> | undefined)?.get('type') as ShapeType | undefined;
    if (!type || !validGeometry(type, geometry)) return false;
    return this.change(id, (shape) => shape.set('geometry', geometry));
  }

  /** Restyles a shape. */
  setStyle(id: string, style: Style): boolean {
    return this.change(id, (shape) => shape.set('style', { ...style }));
  }

  /** Changes a text label. */
  setText(id: string, text: string): boolean {
    return this.change(id, (shape) => shape.set('text', text));
  }

  /** Deletes a shape. */
  remove(id: string): boolean {
    if (!this.shapes.has(id)) return false;
    this.doc.transact(() => this.shapes.delete(id), this);
    this.undoManager.stopCapturing();
    return true;
  }

  undo(): void {
    this.undoManager.undo();
  }

  redo(): void {
    this.undoManager.redo();
  }
}
