// A worker thread holding some of the stock Yjs clients a restore is delivered to. It
// stamps when the first document update after `arm` reaches each client's socket (the
// provider's handling of every message is deferred one turn so that stamping one socket
// never waits for another client applying its update) and when each client's document
// equals the expected one. Times are epoch milliseconds, comparable between threads.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import * as Y from 'yjs';

import { provider, until } from './build.mjs';
import { canonical } from './measure.mjs';

const now = () => performance.timeOrigin + performance.now();
let armed = false;

// These clients share the probes' core with the bare connections of receivers.mjs, which
// stamp what the server delivers: applying a 1.3 MiB restore takes these clients a few
// hundred ms each, and at equal priority the stamps waited for them. Linux keeps a nice
// value per thread, so this lowers only this worker's.
try {
  os.setPriority(0, 10);
} catch {
  // not permitted: equal priority, as before
}

const clients = [];

/** A WebSocket that stamps, on `clients[index]`, the first document update after `arm`. */
class StampedWebSocket extends WebSocket {
  index = -1;

  set onmessage(handler) {
    if (!handler) {
      super.onmessage = null;
      return;
    }
    super.onmessage = (event) => {
      const bytes = new Uint8Array(event.data);
      // y-websocket: message type 0 (sync), sync message type 2 (update).
      const c = clients[this.index];
      if (armed && c && c.arrived === null && bytes[0] === 0 && bytes[1] === 2) c.arrived = now();
      setImmediate(() => handler(event));
    };
  }
}

const { base, id, token, count, prefix, quiet } = workerData;
for (let i = 0; i < count; i++) {
  const doc = new Y.Doc();
  const Stamped = class extends StampedWebSocket {
    index = i;
  };
  const p = provider(base, id, doc, token, Stamped);
  if (quiet) {
    // y-websocket sends on every awareness change it hears of, others' too; a quiet
    // watcher sends only its own (see --quiet-watchers in scripts/bench-history).
    const echo = p._awarenessUpdateHandler;
    p.awareness.off('update', echo);
    p.awareness.on('update', (change, origin) => origin === 'local' && echo(change, origin));
  }
  p.awareness.setLocalStateField('user', { id: `${prefix}-${i}`, name: `Watcher ${prefix}-${i}`, color: '#888888' });
  const c = { doc, provider: p, arrived: null, applied: null, closes: [] };
  // y-websocket 3 does not reconnect after a close code 4400-4499: count such losses.
  p.on('connection-close', (event) => c.closes.push(`${event?.code} ${event?.reason ?? ''}`.trim()));
  clients.push(c);
}
await until(() => clients.every((c) => c.provider.synced), 'the watchers synced', 300_000);
parentPort.postMessage({ type: 'ready' });

parentPort.on('message', async (message) => {
  if (message.type === 'arm') {
    // The next document update is the restore: stamp it, and when the document is there.
    for (const c of clients) {
      c.arrived = null;
      c.applied = null;
      const check = () => {
        if (c.applied !== null) return;
        const json = { shapes: c.doc.getMap('shapes').toJSON(), comments: c.doc.getMap('comments').toJSON() };
        if (canonical(json) === message.expected) {
          c.applied = now();
          c.doc.off('update', check);
        }
      };
      c.check = check;
      c.doc.on('update', check);
    }
    armed = true;
    parentPort.postMessage({ type: 'armed' });
  } else if (message.type === 'collect') {
    // Watchers that are no longer connected (and will not be) are reported, not awaited.
    const live = () => clients.filter((c) => c.provider.wsconnected || c.provider.shouldConnect);
    try {
      await until(() => live().every((c) => c.applied !== null), 'every watcher to hold the restored document', message.limitMs);
    } catch (e) {
      parentPort.postMessage({ type: 'result', error: e.message });
      return;
    }
    armed = false;
    const held = live();
    parentPort.postMessage({
      type: 'result',
      arrived: held.map((c) => c.arrived),
      applied: held.map((c) => c.applied),
      lost: clients.length - held.length,
      closes: clients.flatMap((c) => c.closes),
    });
  } else if (message.type === 'close') {
    for (const c of clients) c.provider.destroy();
    parentPort.close();
  }
});
