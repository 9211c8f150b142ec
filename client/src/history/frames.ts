// The frames of a picture's update log as the server streams them
// (`GET …/history/frames`, application/x-ndjson): a checkpoint (a whole state, then any
// deltas on it, each a line of its own, applied in order), updates, an end line.
// Read defensively (anything else is skipped or named as the server's fault) from any
// ReadableStream of bytes, so tests drive it with hand-cut chunks.
import type { User } from '../sync/awareness';
import { NdjsonDecoder } from './ndjson';

/** Who sent an update: the awareness `user` of the connection (id '' if it had none). */
export type Author = User;

/** The document at `seq`, as a Yjs v1 update: whole, or (with `base`) what it gained
 *  since the checkpoint at `base`, the line before. */
export interface CheckpointFrame {
  type: 'checkpoint';
  seq: number;
  base: number | null;
  /** Milliseconds since 1970, or null for the empty document. */
  at: number | null;
  state: Uint8Array;
}

/** One update of the log. */
export interface UpdateFrame {
  type: 'update';
  seq: number;
  at: number;
  author: Author;
  kind: 'edit' | 'restore';
  update: Uint8Array;
}

/** The last line: where the stream stopped, and where the log ends. */
export interface EndFrame {
  type: 'end';
  seq: number;
  latestSeq: number;
}

/** A line of the frames stream. */
export type Frame = CheckpointFrame | UpdateFrame | EndFrame;

/** The stream broke its contract (cut short, a line that is not a frame). */
export class FramesError extends Error {}

const COLOR = /^#[0-9a-fA-F]{3,8}$/;
/** Longest stretch of reading without letting the page paint. */
const YIELD_EVERY_MS = 50;

/** An author as anyone may have written it, made safe to show. */
export function readAuthor(value: unknown): Author {
  const a = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  return {
    id: typeof a.id === 'string' ? a.id : '',
    name: typeof a.name === 'string' && a.name ? a.name.slice(0, 60) : 'someone',
    color: typeof a.color === 'string' && COLOR.test(a.color) ? a.color : '#888888',
  };
}

/** Base64 → bytes. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** One NDJSON value as a frame; null for lines of a kind this client does not know. */
export function parseFrame(value: unknown): Frame | null {
  if (!value || typeof value !== 'object') throw new FramesError('a history line is not an object');
  const v = value as Record<string, unknown>;
  switch (v.type) {
    case 'checkpoint': {
      if (!isSeq(v.seq) || typeof v.state !== 'string') throw new FramesError('a checkpoint line has no seq or state');
      const at = typeof v.at === 'string' ? Date.parse(v.at) : NaN;
      const base = isSeq(v.base) ? v.base : null;
      return { type: 'checkpoint', seq: v.seq, base, at: Number.isFinite(at) ? at : null, state: fromBase64(v.state) };
    }
    case 'update': {
      const at = typeof v.at === 'string' ? Date.parse(v.at) : NaN;
      if (!isSeq(v.seq) || typeof v.update !== 'string' || !Number.isFinite(at)) throw new FramesError(`update line ${String(v.seq)} lacks seq, at or update`);
      return { type: 'update', seq: v.seq, at, author: readAuthor(v.author), kind: v.kind === 'restore' ? 'restore' : 'edit', update: fromBase64(v.update) };
    }
    case 'error':
      // The server could not read its log to the end: its sentence, not a short history.
      throw new FramesError(typeof v.detail === 'string' && v.detail ? v.detail : 'the server could not read the history to the end');
    case 'end':
      if (!isSeq(v.seq)) throw new FramesError('the end line has no seq');
      return { type: 'end', seq: v.seq, latestSeq: isSeq(v.latest_seq) ? v.latest_seq : v.seq };
    default:
      return null;
  }
}

/** Resolves in a later task (a message, not a timer: background tabs slow timers to
 *  one a second, which would make a long history take minutes to read there). */
function nextTask(): Promise<void> {
  const channel = new MessageChannel();
  return new Promise((resolve) => {
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** Reads every frame of `stream`, in order, calling `onFrame` for each; the end frame.
 *  A stream that stops before its end line was cut: that is an error, not the end. */
export async function readFrames(stream: ReadableStream<Uint8Array>, onFrame: (frame: Frame) => void): Promise<EndFrame> {
  const decoder = new NdjsonDecoder();
  const reader = stream.getReader();
  let end: EndFrame | null = null;
  let worked = performance.now();
  try {
    for (let done = false; !done; ) {
      // Chunks already received resolve at once: give the page a turn now and then so
      // it can paint the progress and stay responsive during a long history.
      if (performance.now() - worked > YIELD_EVERY_MS) {
        await nextTask();
        worked = performance.now();
      }
      const chunk = await reader.read();
      done = chunk.done;
      for (const value of chunk.done ? decoder.finish() : decoder.push(chunk.value)) {
        const frame = parseFrame(value);
        if (!frame) continue;
        if (end) throw new FramesError('the history stream goes on after its end line');
        if (frame.type === 'end') end = frame;
        onFrame(frame);
      }
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  } finally {
    reader.releaseLock();
  }
  if (!end) throw new FramesError('the history stream was cut before its end');
  return end;
}
