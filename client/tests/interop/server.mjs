// Starts a real `hugepic serve` (embedded mode, a fresh data folder, a free port) for
// the interop tests. The binary comes from HUGEPIC_BIN (scripts/test sets it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts `hugepic serve` with `extra` arguments. New pictures are public unless
 *  `extra` says otherwise: most tests open them without a link; those of unlisted
 *  pictures pass `--default-visibility unlisted`. */
export async function startServer(extra = [], dataDir = null) {
  if (!extra.includes('--default-visibility')) extra = [...extra, '--default-visibility', 'public'];
  const bin = process.env.HUGEPIC_BIN;
  if (!bin) throw new Error('set HUGEPIC_BIN to the hugepic binary (scripts/test does)');
  const data = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hugepic-interop-'));
  const port = await freePort();
  const child = spawn(bin, ['serve', '--data-dir', data, '--bind', `127.0.0.1:${port}`, ...extra], {
    stdio: ['ignore', 'ignore', 'inherit'],
    // HUGEPIC_TEST_LOG (e.g. hugepic=debug) shows more of the server while debugging a test.
    env: { ...process.env, HUGEPIC_LOG: process.env.HUGEPIC_TEST_LOG ?? 'hugepic=warn' },
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('hugepic serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    data,
    /** Kills the server at once (SIGKILL): nothing is flushed. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    },
    /** Stops the server (SIGTERM: it flushes and exits); removes its data unless kept. */
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      if (!keepData) fs.rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Polls a picture until it is ready or failed (with `token`, for unlisted pictures). */
export async function waitFinal(base, id, limitMs = 60_000, token = null) {
  const deadline = Date.now() + limitMs;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  for (;;) {
    const picture = await (await fetch(`${base}/api/pictures/${id}`, { headers })).json();
    if (picture.status === 'ready' || picture.status === 'failed') return picture;
    if (Date.now() > deadline) throw new Error(`picture ${id} stuck: ${JSON.stringify(picture)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type, body) {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'ascii');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** An RGB PNG of width×height: `busy` content compresses poorly (a few MB, for upload
 *  tests); `chart` is smooth colour with a grid every 100 px and numbered-looking
 *  blocks, so zoom and pan are visible in screenshots. */
export function png(width, height, pattern = 'busy') {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3;
      if (pattern === 'chart') {
        const line = x % 100 < 3 || y % 100 < 3;
        const block = ((x >> 8) + (y >> 8)) % 2 === 0;
        const dx = (x % 500) - 250;
        const dy = (y % 500) - 250;
        const ring = Math.abs(Math.sqrt(dx * dx + dy * dy) - 180) < 6;
        raw[i] = line || ring ? 20 : ((x * 255) / width) & 0xff;
        raw[i + 1] = line ? 20 : ring ? 200 : ((y * 255) / height) & 0xff;
        raw[i + 2] = line ? 20 : block ? 200 : 120;
      } else {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        raw[i] = (x ^ y) & 0xff;
        raw[i + 1] = (seed >> 16) & 0xff;
        raw[i + 2] = ((x * y) >> 7) & 0xff;
      }
    }
  }
  return rgbPng(width, height, raw);
}

/** An 8-bit RGB PNG of `raw`: `height` scanlines of a filter byte (0) and width×3 bytes. */
export function rgbPng(width, height, raw) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 1 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
