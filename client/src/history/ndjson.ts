// Newline-delimited JSON read incrementally: bytes arrive in chunks cut anywhere (inside
// a line, inside a multi-byte character), values come out whole, in order. Push-based
// and IO-free, so the same decoder serves a fetch stream and the tests.

/** A line of the stream that is not JSON: the server's fault, said with where. */
export class NdjsonError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line} of the history stream is not JSON (${detail})`);
  }
}

/** Bytes in (any chunking), JSON values out. */
export class NdjsonDecoder {
  private readonly text = new TextDecoder();
  private rest = '';
  private lines = 0;

  /** The values completed by `chunk`. */
  push(chunk: Uint8Array): unknown[] {
    return this.split(this.text.decode(chunk, { stream: true }), false);
  }

  /** The last value, if the stream did not end with a newline. */
  finish(): unknown[] {
    return this.split(this.text.decode(), true);
  }

  private split(text: string, last: boolean): unknown[] {
    const lines = (this.rest + text).split('\n');
    this.rest = last ? '' : (lines.pop() ?? '');
    const values: unknown[] = [];
    for (const raw of lines) {
      this.lines += 1;
      const line = raw.trim();
      if (!line) continue;
      try {
        values.push(JSON.parse(line));
      } catch (e) {
        throw new NdjsonError(this.lines, e instanceof Error ? e.message : String(e));
      }
    }
    return values;
  }
}
