// Bare WebSocket connections to a picture's room that only note when the next document
// update reaches them: what the server delivers, timed without any client's own work
// (a Yjs client applying a large update would hold up the stamps of the others).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

import { until } from './build.mjs';

const now = () => performance.timeOrigin + performance.now();

/** `count` connections to picture `id`; `arm()` starts watching for the next update,
 *  `collect()` waits for it on every open connection and gives the arrival times. */
export async function connectReceivers(base, id, token, count) {
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
