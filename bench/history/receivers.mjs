// Bare WebSocket connections to a picture's room that only note when the next document
// update reaches them: what the server delivers, timed without any client's own work
// (a Yjs client applying a large update would hold up the stamps of the others). They
// run in a worker thread of their own: the benchmark's main thread holds the builders'
// documents (~650 MB of heap), and 50 copies of a 1.3 MiB update arriving there set off
// seconds of garbage collection that the stamps waited for.
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

import { until } from './build.mjs';

const now = () => performance.timeOrigin + performance.now();

/** `count` connections to picture `id`; `arm()` starts watching for the next update,
 *  `collect()` waits for it on every open connection and gives the arrival times. */
async function connectHere(base, id, token, count) {
  const url = `${base.replace('http', 'ws')}/ws/pictures/${id}?token=${encodeURIComponent(token)}`;
  const receivers = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url);
    const r = { ws, open: false, arrived: null, closes: [] };
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      r.open = true;
      // Sync step 1 with an empty state vector, as a new client would: the server answers
      // with the document and then sends every update.
      ws.send(Buffer.from([0, 0, 1, 0]));
    });
    ws.on('message', (data) => {
      if (r.armed && r.arrived === null && data[0] === 0 && data[1] === 2) r.arrived = now();
    });
    ws.on('close', (code, reason) => {
      r.open = false;
      r.closes.push(`${code} ${reason}`.trim());
    });
    ws.on('error', () => {});
    receivers.push(r);
  }
  await until(() => receivers.every((r) => r.open), 'the receivers connected', 60_000);
  return {
    arm() {
      for (const r of receivers) {
        r.arrived = null;
        r.armed = true;
      }
    },
    async collect(limitMs) {
      await until(() => receivers.every((r) => !r.open || r.arrived !== null), 'the update at every receiver', limitMs);
      for (const r of receivers) r.armed = false;
      const held = receivers.filter((r) => r.arrived !== null);
      return { arrived: held.map((r) => r.arrived), lost: receivers.length - held.length, closes: receivers.flatMap((r) => r.closes) };
    },
    close() {
      for (const r of receivers) r.ws.close();
    },
  };
}

/** `count` connections to picture `id` in a worker thread; `arm()` (awaited) starts
 *  watching for the next update, `collect()` waits for it on every open connection and
 *  gives the arrival times (epoch ms, comparable between threads). */
export async function connectReceivers(base, id, token, count) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { base, id, token, count } });
  const replies = [];
  const waiting = [];
  worker.on('message', (m) => (waiting.length ? waiting.shift()(m) : replies.push(m)));
  worker.on('error', (e) => waiting.splice(0).forEach((resolve) => resolve({ error: String(e) })));
  const next = () => new Promise((resolve) => (replies.length ? resolve(replies.shift()) : waiting.push(resolve)));
  const ask = async (message) => {
    worker.postMessage(message);
    const reply = await next();
    if (reply.error) throw new Error(reply.error);
    return reply;
  };
  const ready = await next();
  if (ready.error) throw new Error(ready.error);
  return {
    arm: () => ask({ type: 'arm' }),
    collect: (limitMs) => ask({ type: 'collect', limitMs }),
    close: async () => {
      await ask({ type: 'close' });
      await worker.terminate();
    },
  };
}

if (!isMainThread && workerData?.count !== undefined) {
  const { base, id, token, count } = workerData;
  try {
    const receivers = await connectHere(base, id, token, count);
    parentPort.postMessage({ type: 'ready' });
    parentPort.on('message', async (m) => {
      try {
        if (m.type === 'arm') {
          receivers.arm();
          parentPort.postMessage({ type: 'armed' });
        } else if (m.type === 'collect') {
          parentPort.postMessage(await receivers.collect(m.limitMs));
        } else if (m.type === 'close') {
          receivers.close();
          parentPort.postMessage({ type: 'closed' });
        }
      } catch (e) {
        parentPort.postMessage({ error: String(e) });
      }
    });
  } catch (e) {
    parentPort.postMessage({ error: String(e) });
  }
}
