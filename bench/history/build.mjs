// Builds a picture's annotation history the way people would: stock Yjs clients
// (`WebsocketProvider` from y-websocket over `ws`), each with its awareness user, taking
// turns in bursts (with others cutting in), adding shapes of every kind, moving,
// reshaping, restyling and deleting them, opening comment threads and replying, one
// update per edit. Edits follow DESIGN.md's schema. The mix ends with about 2,000 live
// shapes after 100,000 updates.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

import { log, randomSource } from './measure.mjs';

/** Shares of each kind of edit. Adds (with the edits that become adds because their
 *  shape has not reached that client yet) less deletes leave about 2,000 shapes per
 *  100,000 updates. */
const MIX = [
  ['add', 0.026],
  ['delete', 0.01],
  ['thread', 0.015],
  ['reply', 0.045],
  ['restyle', 0.2],
  ['move', 0.7],
];
const TYPES = ['rectangle', 'circle', 'polygon', 'polyline', 'marker', 'freehand', 'text'];
const COLORS = ['#e53935', '#1e88e5', '#43a047', '#fdd835', '#8e24aa', '#00acc1', '#6d4c41', '#000000'];
const SIZE = 40_000; // the picture's width and height in pixels

/** A provider for `doc` on picture `id` at `base` (http://…). */
export function provider(base, id, doc, token, WebSocketClass = WebSocket) {
  return new WebsocketProvider(base.replace('http', 'ws') + '/ws/pictures', id, doc, {
    WebSocketPolyfill: WebSocketClass,
    params: { token },
    disableBc: true,
  });
}

export async function until(check, what, limitMs = 120_000) {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function geometry(type, rng) {
  const x = rng.int(SIZE);
  const y = rng.int(SIZE);
  const path = (n, step) => {
    const points = [];
    let px = x;
    let py = y;
    for (let i = 0; i < n; i++) {
      px += rng.int(2 * step + 1) - step;
      py += rng.int(2 * step + 1) - step;
      points.push([px, py]);
    }
    return points;
  };
  switch (type) {
    case 'rectangle':
      return { x, y, width: 20 + rng.int(2000), height: 20 + rng.int(2000) };
    case 'circle':
      return { cx: x, cy: y, r: 10 + rng.int(800) };
    case 'polygon':
      return path(4 + rng.int(12), 300);
    case 'polyline':
      return path(2 + rng.int(10), 400);
    case 'freehand':
      return path(20 + rng.int(60), 15);
    default:
      return { x, y }; // marker, text
  }
}

function style(rng) {
  return { color: rng.pick(COLORS), weight: 1 + rng.int(8) };
}

/** `count` clients on picture `id`: `{doc, provider, user, shapes, comments}` each, synced. */
export async function connectClients(base, id, token, count, { prefix = 'builder' } = {}) {
  const clients = [];
  for (let i = 0; i < count; i++) {
    const doc = new Y.Doc();
    const user = { id: `${prefix}-${i}`, name: `Person ${i}`, color: COLORS[i % COLORS.length] };
    const p = provider(base, id, doc, token);
    p.awareness.setLocalStateField('user', user);
    clients.push({ doc, provider: p, user, shapes: doc.getMap('shapes'), comments: doc.getMap('comments') });
  }
  await until(() => clients.every((c) => c.provider.synced), 'every client synced');
  return clients;
}

/** Makes `updates` edits through `clients`, at most `rate` a second; every `barrierEvery`
 *  edits waits until the first client has everything the others sent (so no socket's
 *  backlog grows past the hub's send queue). Returns counts and the time it took. */
export async function buildHistory(clients, { updates, rate, seed = 11, barrierEvery = 200 }) {
  const rng = randomSource(seed);
  const live = []; // shape ids, in creation order
  const liveIndex = new Map();
  const threads = [];
  const done = Object.fromEntries(MIX.map(([kind]) => [kind, 0]));
  let nextShape = 0;
  let nextThread = 0;
  let active = 0;
  let burstLeft = 0;
  const started = performance.now();
  const observer = clients[0];

  const forget = (id) => {
    const i = liveIndex.get(id);
    const last = live.pop();
    if (last !== id) {
      live[i] = last;
      liveIndex.set(last, i);
    }
    liveIndex.delete(id);
  };
  const kindOf = () => {
    let r = rng.next();
    for (const [kind, share] of MIX) {
      if ((r -= share) < 0) return kind;
    }
    return 'move';
  };

  for (let n = 0; n < updates; ) {
    if (burstLeft === 0) {
      active = rng.int(clients.length);
      burstLeft = 5 + rng.int(60);
    }
    burstLeft--;
    // One edit in ten comes from someone else, cutting into the burst.
    const c = rng.next() < 0.1 ? clients[rng.int(clients.length)] : clients[active];
    let kind = live.length < 50 ? 'add' : kindOf();
    const target = live.length ? live[rng.int(live.length)] : null;
    const shape = target && c.shapes.get(target);
    if ((kind === 'move' || kind === 'restyle' || kind === 'delete') && !shape) kind = 'add';
    const thread = threads.length ? threads[rng.int(threads.length)] : null;
    if (kind === 'reply' && !(thread && c.comments.get(thread))) kind = 'thread';

    switch (kind) {
      case 'add': {
        const id = `s${nextShape++}`;
        const type = rng.pick(TYPES);
        c.doc.transact(() => {
          const m = new Y.Map();
          m.set('type', type);
          m.set('geometry', geometry(type, rng));
          m.set('style', style(rng));
          m.set('author', c.user.name);
          m.set('author_id', c.user.id);
          m.set('created', Date.now());
          if (type === 'text') m.set('text', `label ${id}`);
          c.shapes.set(id, m);
        });
        liveIndex.set(id, live.length);
        live.push(id);
        break;
      }
      case 'delete':
        c.shapes.delete(target);
        forget(target);
        break;
      case 'move': {
        const type = shape.get('type');
        if (type === 'text' && rng.next() < 0.3) shape.set('text', `label ${target} v${n}`);
        else shape.set('geometry', geometry(type, rng));
        break;
      }
      case 'restyle':
        shape.set('style', style(rng));
        break;
      case 'thread': {
        const id = `t${nextThread++}`;
        c.doc.transact(() => {
          const m = new Y.Map();
          m.set('target', target && rng.next() < 0.7 ? target : { x: rng.int(SIZE), y: rng.int(SIZE) });
          const messages = new Y.Array();
          messages.push([{ id: `${id}-0`, author: c.user.name, author_id: c.user.id, text: `Thread ${id}: what is this?`, at: Date.now() }]);
          m.set('messages', messages);
          c.comments.set(id, m);
        });
        threads.push(id);
        break;
      }
      case 'reply': {
        const messages = c.comments.get(thread).get('messages');
        messages.push([{ id: `${thread}-${messages.length}-${n}`, author: c.user.name, author_id: c.user.id, text: `Reply ${n} on ${thread}.`, at: Date.now() }]);
        break;
      }
    }
    done[kind]++;
    n++;

    // Pace to `rate`; every `barrierEvery` edits let the clients catch up with each other.
    const due = started + (n / rate) * 1000;
    const wait = due - performance.now();
    if (n % barrierEvery === 0) {
      await until(
        () => clients.every((o) => Y.getState(observer.doc.store, o.doc.clientID) === Y.getState(o.doc.store, o.doc.clientID)),
        'the first client to catch up',
      );
      if (n % 10_000 === 0) log(`  ${n} updates, ${live.length} live shapes, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  return { seconds: (performance.now() - started) / 1000, liveShapes: live.length, threads: threads.length, kinds: done };
}
