// The local replay index of a picture's annotation history: every update of the log
// (seq, time, author) in order, applied once to a head document as it is appended, and
// the shapes each update touched, logged as that update left them (each shape's own
// log). The map's replay moves to any moment from that log, without rebuilding a
// document: a large one takes hundreds of ms to decode, and whole-document checkpoints
// made while loading cost more than the rest of the load (measured: 100,000 updates on
// 2,000 shapes, 14.4 s with a checkpoint every 500 updates against 4.1 s without). The
// document at a moment, when one is wanted, comes from the server (`history/state`).
// No DOM, no network: frames come in.
//
// Positions count updates: position p is the moment after the first p updates of the
// index (0: before any, i.e. the base checkpoint, the empty document for a log read
// from its start). Seqs are increasing but not contiguous, so moments given as a seq or
// a time are resolved to positions here and nowhere else.
import * as Y from 'yjs';

import { shapesOf } from '../sync/document';
import { readShape, touchedShapes, type Shape } from '../sync/shapes';
import type { Author, UpdateFrame } from './frames';

/** Index of the last element of the sorted `list` that is at most `value`, or -1. */
export function lastAtMost(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Every update of a history, and every shape at any moment of it. */
export class ReplayIndex {
  private readonly seqs: number[] = [];
  /** Times in ms, made non-decreasing (a node's clock may step back a little). */
  private readonly times: number[] = [];
  private readonly authorOf: number[] = [];
  private readonly restores = new Set<number>();
  private readonly authorIds = new Map<string, number>();
  /** The document after every update so far: where the shapes' log is read from. */
  private head = new Y.Doc();
  private baseSeq = 0;
  private baseAt: number | null = null;
  /** Everyone who sent an update, in order of first appearance. */
  readonly authors: Author[] = [];
  /** Every shape ever seen, by number. */
  private readonly shapeIds: string[] = [];
  private readonly shapeNumbers = new Map<string, number>();
  /** The shapes' log, in order: at position changePos[k], shape changeShape[k] became
   *  what its own log says (read from the head document as each update is appended). */
  private readonly changePos: number[] = [];
  private readonly changeShape: number[] = [];
  /** Per shape: the positions where it changed and what it became (null: gone). */
  private readonly shapePos: number[][] = [];
  private readonly shapeValue: (Shape | null)[][] = [];
  private unobserve: () => void = () => {};

  constructor() {
    this.observeHead();
  }

  /** Logs the shapes each update of the head document touches, as they are after it. */
  private observeHead(): void {
    this.unobserve();
    const shapes = shapesOf(this.head);
    const observer = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
      for (const id of touchedShapes(shapes, events)) this.logShape(id, this.length, readShape(id, shapes.get(id)));
    };
    shapes.observeDeep(observer);
    this.unobserve = () => shapes.unobserveDeep(observer);
  }

  private logShape(id: string, position: number, value: Shape | null): void {
    let n = this.shapeNumbers.get(id);
    if (n === undefined) {
      if (value === null) return;
      n = this.shapeIds.length;
      this.shapeNumbers.set(id, n);
      this.shapeIds.push(id);
      this.shapePos.push([]);
      this.shapeValue.push([]);
    }
    const positions = this.shapePos[n];
    const values = this.shapeValue[n];
    if (positions.length && positions[positions.length - 1] === position) {
      values[values.length - 1] = value;
      return;
    }
    positions.push(position);
    values.push(value);
    this.changePos.push(position);
    this.changeShape.push(n);
  }

  /** Shape `id` as it was at `position` (null: not there), without building a document. */
  shapeAt(id: string, position: number): Shape | null {
    const n = this.shapeNumbers.get(id);
    return n === undefined ? null : this.shapeNumberAt(n, position);
  }

  private shapeNumberAt(n: number, position: number): Shape | null {
    const i = lastAtMost(this.shapePos[n], position);
    return i < 0 ? null : this.shapeValue[n][i];
  }

  /** The shapes that may differ between positions `a` and `b`, each with what it is at
   *  `b` (null: not there); every shape ever seen when the log between is longer. */
  shapesChanged(a: number, b: number): Map<string, Shape | null> {
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    const first = lastAtMost(this.changePos, lo) + 1;
    const last = lastAtMost(this.changePos, hi);
    const out = new Map<string, Shape | null>();
    if (last - first + 1 > this.shapeIds.length) {
      for (let n = 0; n < this.shapeIds.length; n += 1) out.set(this.shapeIds[n], this.shapeNumberAt(n, b));
      return out;
    }
    const seen = new Set<number>();
    for (let k = first; k <= last; k += 1) seen.add(this.changeShape[k]);
    for (const n of seen) out.set(this.shapeIds[n], this.shapeNumberAt(n, b));
    return out;
  }

  /** Number of updates: the last position. */
  get length(): number {
    return this.seqs.length;
  }

  /** The seq of the newest update (the base seq when there is none). */
  get latestSeq(): number {
    return this.seqOf(this.length);
  }

  /** Starts from the server's checkpoint at `seq` (a v1 update): only before any update. */
  setBase(seq: number, at: number | null, state: Uint8Array): void {
    if (this.length > 0) throw new Error('a replay index takes its base before its updates');
    this.head.destroy();
    this.head = new Y.Doc();
    this.observeHead();
    Y.applyUpdate(this.head, state);
    this.baseSeq = seq;
    this.baseAt = at;
  }

  /** Applies a checkpoint delta (what the document gained up to `seq`) to the base. */
  extendBase(seq: number, at: number | null, delta: Uint8Array): void {
    if (this.length > 0) throw new Error('a replay index takes its base before its updates');
    Y.applyUpdate(this.head, delta);
    this.baseSeq = seq;
    this.baseAt = at;
  }

  /** Adds the next update of the log; false (and nothing done) for one already held,
   *  so re-reading from the last known seq is harmless. */
  append(frame: UpdateFrame): boolean {
    if (frame.seq <= this.latestSeq) return false;
    // Updates sent before a connection told its name have id '': told apart by name.
    const key = frame.author.id || `\u0000${frame.author.name}`;
    let author = this.authorIds.get(key);
    if (author === undefined) {
      author = this.authors.length;
      this.authorIds.set(key, author);
      this.authors.push({ ...frame.author });
    } else if (this.authors[author].name !== frame.author.name || this.authors[author].color !== frame.author.color) {
      // Someone renamed: their entry shows the newest name and colour.
      this.authors[author] = { ...frame.author };
    }
    const previous = this.times.length ? this.times[this.times.length - 1] : -Infinity;
    this.seqs.push(frame.seq);
    this.times.push(Math.max(previous, frame.at));
    this.authorOf.push(author);
    if (frame.kind === 'restore') this.restores.add(this.length);
    Y.applyUpdate(this.head, frame.update);
    return true;
  }

  /** The seq of the document at `position`. */
  seqOf(position: number): number {
    return position <= 0 ? this.baseSeq : this.seqs[Math.min(position, this.length) - 1];
  }

  /** When the document at `position` came to be (ms); null before any update. */
  timeOf(position: number): number | null {
    return position <= 0 ? this.baseAt : this.times[Math.min(position, this.length) - 1];
  }

  /** Who made the update that leads to `position` (1..length). */
  authorAt(position: number): Author {
    return this.authors[this.authorOf[position - 1]];
  }

  /** The index in `authors` of who made the update that leads to `position`. */
  authorIndexAt(position: number): number {
    return this.authorOf[position - 1];
  }

  /** Whether the update that leads to `position` was a restore. */
  isRestore(position: number): boolean {
    return this.restores.has(position);
  }

  /** The position of the moment `seq`: after every update with a seq at most `seq`. */
  positionOfSeq(seq: number): number {
    return lastAtMost(this.seqs, seq) + 1;
  }

  /** The position of the moment `ms`: after every update logged at or before it. */
  positionAtTime(ms: number): number {
    return lastAtMost(this.times, ms) + 1;
  }

  /** The positions reached by `authorId`'s updates, in order (everyone's for null). */
  positionsBy(authorId: string | null): number[] {
    const wanted = authorId === null ? -1 : (this.authorIds.get(authorId) ?? -2);
    const out: number[] = [];
    for (let i = 0; i < this.length; i += 1) {
      if (wanted === -1 || this.authorOf[i] === wanted) out.push(i + 1);
    }
    return out;
  }

  /** Times (ms) of the updates that lead to `positions`. */
  timesOf(positions: readonly number[]): number[] {
    return positions.map((p) => this.times[p - 1]);
  }

  destroy(): void {
    this.unobserve();
    this.head.destroy();
  }
}
