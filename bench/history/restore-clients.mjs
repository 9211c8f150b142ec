// A worker thread holding some of the stock Yjs clients a restore is delivered to. It
// stamps when the first document update after `arm` reaches each client's socket (the
// provider's handling of every message is deferred one turn so that stamping one socket
// never waits for another client applying its update) and when each client's document
// equals the expected one. Times are epoch milliseconds, comparable between threads.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import * as Y from 'yjs';

import { provider, until } from './build.mjs';
import { canonical } from './measure.mjs';

const now = () => performance.timeOrigin + performance.now();
let armed = false;

class StampedWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.arrived = null;
  }

  set onmessage(handler) {
    if (!handler) {
      super.onmessage = null;
      return;
    }
    super.onmessage = (event) => {
      const bytes = new Uint8Array(event.data);
      // y-websocket: message type 0 (sync), sync message type 2 (update).
      if (armed && this.arrived === null && bytes[0] === 0 && bytes[1] === 2) this.arrived = now();
      setImmediate(() => handler(event));
    };
  }
}

const { base, id, token, count, prefix } = workerData;
const clients = [];
for (let i = 0; i < count; i++) {
  const doc = new Y.Doc();
  const p = provider(base, id, doc, token, StampedWebSocket);
  p.awareness.setLocalStateField('user', { id: `${prefix}-${i}`, name: `Watcher ${prefix}-${i}`, color: '#888888' });
  clients.push({ doc, provider: p, applied: null });
}
await until(() => clients.every((c) => c.provider.synced), 'the watchers synced', 300_000);
parentPort.postMessage({ type: 'ready' });

parentPort.on('message', async (message) => {
  if (message.type === 'arm') {
    // The next document update is the restore: stamp it, and when the document is there.
    for (const c of clients) {
      c.provider.ws.arrived = null;
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
    try {
      await until(() => clients.every((c) => c.applied !== null), 'every watcher to hold the restored document', message.limitMs);
    } catch (e) {
      parentPort.postMessage({ type: 'result', error: e.message });
      return;
    }
    armed = false;
    parentPort.postMessage({
      type: 'result',
      arrived: clients.map((c) => c.provider.ws.arrived),
      applied: clients.map((c) => c.applied),
    });
  } else if (message.type === 'close') {
    for (const c of clients) c.provider.destroy();
    parentPort.close();
  }
});
