import { describe, expect, it } from 'vitest';

import { FramesError, readFrames, type Frame } from './frames';
import { NdjsonDecoder, NdjsonError } from './ndjson';

const base64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

const LINES = [
  { type: 'checkpoint', seq: 0, at: null, state: base64([0, 0]) },
  { type: 'update', seq: 3, at: '2026-03-14T10:42:00.123456Z', author: { id: 'ana1', name: 'Ana Ñúñez 🦦', color: '#e91e63' }, role: 'edit', kind: 'edit', update: base64([1, 2, 3]) },
  { type: 'future', what: 'a line kind this client does not know yet' },
  { type: 'update', seq: 9, at: '2026-03-14T11:42:00+01:00', author: { id: '', name: 'connection 4', color: 'red; x' }, role: 'edit', kind: 'restore', update: base64([4]) },
  { type: 'end', seq: 9, latest_seq: 12 },
];
const TEXT = `${LINES.map((l) => JSON.stringify(l)).join('\n')}\n`;
const BYTES = new TextEncoder().encode(TEXT);

function stream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function read(chunks: Uint8Array[]): Promise<Frame[]> {
  const frames: Frame[] = [];
  await readFrames(stream(chunks), (f) => frames.push(f));
  return frames;
}

describe('NDJSON', () => {
  it('gives the same values however the bytes are cut (inside lines, inside characters)', () => {
    const whole = new NdjsonDecoder().push(BYTES);
    expect(whole).toEqual(LINES);
    for (let cut = 1; cut < BYTES.length; cut += 1) {
      const decoder = new NdjsonDecoder();
      const values = [...decoder.push(BYTES.slice(0, cut)), ...decoder.push(BYTES.slice(cut)), ...decoder.finish()];
      expect(values, `cut at ${cut}`).toEqual(LINES);
    }
    const bytewise = new NdjsonDecoder();
    const values: unknown[] = [];
    for (const byte of BYTES) values.push(...bytewise.push(new Uint8Array([byte])));
    expect([...values, ...bytewise.finish()]).toEqual(LINES);
  });

  it('takes a last line without a newline, CRLF and blank lines', () => {
    const decoder = new NdjsonDecoder();
    expect(decoder.push(new TextEncoder().encode('{"a":1}\r\n\n{"b":'))).toEqual([{ a: 1 }]);
    expect(decoder.push(new TextEncoder().encode('2}'))).toEqual([]);
    expect(decoder.finish()).toEqual([{ b: 2 }]);
  });

  it('names the line that is not JSON', () => {
    const decoder = new NdjsonDecoder();
    expect(() => decoder.push(new TextEncoder().encode('{"a":1}\n{oops\n'))).toThrow(NdjsonError);
    expect(() => new NdjsonDecoder().push(new TextEncoder().encode('\n\n[\n'))).toThrow(/line 3/);
  });
});

describe('history frames', () => {
  it('reads checkpoint, updates and end from a stream, skipping unknown kinds', async () => {
    const frames = await read([BYTES.slice(0, 100), BYTES.slice(100, 101), BYTES.slice(101)]);
    expect(frames.map((f) => f.type)).toEqual(['checkpoint', 'update', 'update', 'end']);
    const [checkpoint, first, second, end] = frames;
    expect(checkpoint).toEqual({ type: 'checkpoint', seq: 0, base: null, at: null, state: new Uint8Array([0, 0]) });
    expect(first).toMatchObject({ seq: 3, at: Date.UTC(2026, 2, 14, 10, 42, 0, 123), kind: 'edit', update: new Uint8Array([1, 2, 3]) });
    expect(first.type === 'update' && first.author).toEqual({ id: 'ana1', name: 'Ana Ñúñez 🦦', color: '#e91e63' });
    // An author colour that is not a colour is not drawn.
    expect(second).toMatchObject({ seq: 9, at: Date.UTC(2026, 2, 14, 10, 42), kind: 'restore', author: { id: '', name: 'connection 4', color: '#888888' } });
    expect(end).toEqual({ type: 'end', seq: 9, latestSeq: 12 });
  });

  it('a stream cut before its end line is an error, not a short history', async () => {
    const cut = TEXT.slice(0, TEXT.lastIndexOf('{"type":"end"'));
    await expect(read([new TextEncoder().encode(cut)])).rejects.toThrow(FramesError);
    await expect(read([new TextEncoder().encode('{"type":"update","seq":1}\n')])).rejects.toThrow(/lacks/);
    // The server says so when it cannot read its log to the end.
    const failed = `${TEXT.slice(0, TEXT.lastIndexOf('{"type":"end"'))}{"type":"error","detail":"the history could not be read to the end"}\n`;
    await expect(read([new TextEncoder().encode(failed)])).rejects.toThrow('the history could not be read to the end');
  });
});
