// Two `hugepic serve` nodes sharing PostgreSQL and Redis, real Yjs clients on each:
// edits and awareness cross between nodes; a node killed with SIGKILL loses nothing a
// client has seen (its client moves to the other node); after Redis restarts the nodes
// repair what pub/sub dropped, without anyone reconnecting; a fresh node restores the
// document from the database; a picture made unlisted on one node closes the tokenless
// sockets on both, and only those.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';

import { createDatabase, startRedis } from './cluster.mjs';
import { png, startServer } from './server.mjs';
import { addShape, addThread, until, yjsClient } from './yjs.mjs';

let database;
let redis;
let nodes = [];
let picture;

async function startNode(...extra) {
  const node = await startServer(['--database-url', database.url, '--redis-url', redis.url, ...extra]);
  nodes.push(node);
  return node;
}

before(async () => {
  database = await createDatabase();
  redis = await startRedis();
  const first = await startNode();
  await startNode('--no-workers');
  const form = new FormData();
  form.append('file', new Blob([png(64, 48)]), 'p.png');
  const response = await fetch(`${first.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  picture = await response.json();
});

after(async () => {
  for (const node of nodes) await node.stop();
  await redis?.stop();
  await database?.drop();
});

const edit = (node, name) => yjsClient(node.base, picture.id, picture.tokens.edit, name);
const state = (c) => ({ shapes: c.shapes.toJSON(), comments: c.comments.toJSON() });

function percentile(values, p) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A bare WebSocket to the picture's room on `node` (with `token`, if any), and how it closed. */
async function bareSocket(node, token = null) {
  const url = `${node.base.replace('http', 'ws')}/ws/pictures/${picture.id}${token ? `?token=${token}` : ''}`;
  const ws = new WebSocket(url);
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() })));
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  return { ws, closed };
}

test('made unlisted on one node, the tokenless sockets close on both; linked ones stay', async () => {
  const [one, two] = nodes;
  const visitors = [await bareSocket(one), await bareSocket(two)];
  const linked = await edit(two, 'Linked');
  const viewer = await bareSocket(two, picture.tokens.view);
  let viewerClosed = false;
  viewer.closed.then(() => (viewerClosed = true));
  const started = performance.now();
  const answer = await fetch(`${one.base}/api/pictures/${picture.id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${picture.tokens.owner}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ visibility: 'unlisted' }),
  });
  assert.equal(answer.status, 200);
  for (const visitor of visitors) {
    const closed = await visitor.closed;
    assert.equal(closed.code, 4404, closed.reason);
    assert.match(closed.reason, /only through its links/);
    assert.ok(closed.at - started < 1000, `closed after ${(closed.at - started).toFixed(0)} ms`);
  }
  // A new tokenless socket finds nothing; the linked connections carry on.
  const late = await bareSocket(two);
  assert.equal((await late.closed).code, 4404);
  addShape(linked, 'after-unlisted', 'marker', { x: 1, y: 2 });
  const check = await edit(one, 'Check');
  await until(() => check.shapes.has('after-unlisted'), 'an edit after the change reaches node one');
  assert.equal(viewerClosed, false, 'the view link stays connected');
  viewer.ws.close();
  linked.close();
  check.close();
  // Public again, for the tests after this one.
  const back = await fetch(`${one.base}/api/pictures/${picture.id}`, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${picture.tokens.owner}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ visibility: 'public' }),
  });
  assert.equal(back.status, 200);
});

test('edits and awareness cross between two nodes', async () => {
  const [one, two] = nodes;
  const a = await edit(one, 'Ada');
  const b = await edit(two, 'Bo');
  const delays = [];
  for (let i = 0; i < 20; i++) {
    const [from, to] = i % 2 ? [b, a] : [a, b];
    const started = performance.now();
    addShape(from, `m-${i}`, 'marker', { x: i * 10, y: i * 5 });
    await until(() => to.shapes.has(`m-${i}`), `marker ${i} on the other node`);
    delays.push(performance.now() - started);
  }
  console.log(
    `cross-node edit delivery over ${delays.length} edits: p50 ${percentile(delays, 50).toFixed(1)} ms, ` +
      `max ${Math.max(...delays).toFixed(1)} ms`,
  );
  addThread(b, 'thread-x', 'm-3', 'Seen from node two');
  await until(() => a.comments.has('thread-x'), 'thread on node one');
  assert.deepEqual(state(a), state(b));

  a.provider.awareness.setLocalStateField('cursor', { x: 321, y: 654 });
  const aId = a.doc.clientID;
  await until(() => b.provider.awareness.getStates().get(aId)?.cursor?.x === 321, "Ada's cursor on node two");
  assert.equal(b.provider.awareness.getStates().get(aId).user.name, 'Ada');
  // A newcomer on node two sees Ada, who is on node one.
  const c = await edit(two, 'Cy');
  await until(() => c.provider.awareness.getStates().has(aId), 'Ada present for a newcomer on node two');
  a.close();
  await until(() => !b.provider.awareness.getStates().has(aId), 'Ada gone on node two');
  b.close();
  c.close();
});

test('a node killed with SIGKILL loses nothing its client saw; the client moves on', async () => {
  const [one, two] = nodes;
  const a = await edit(one, 'Ada');
  const b = await edit(two, 'Bo');
  for (let i = 0; i < 10; i++) {
    addShape(a, `k-a-${i}`, 'rectangle', { x: i, y: i, width: 10, height: 10 });
    addShape(b, `k-b-${i}`, 'circle', { cx: i, cy: i, r: 5 });
  }
  await until(() => a.shapes.has('k-b-9') && b.shapes.has('k-a-9'), 'both see all before the kill');
  await one.kill();
  // Offline on a dead node: Ada keeps drawing, then her client reaches node two.
  addShape(a, 'k-a-offline', 'polygon', { points: [[0, 0], [5, 0], [5, 5]] });
  addShape(b, 'k-b-after', 'marker', { x: 7, y: 7 });
  await a.moveTo(two.base);
  await until(() => b.shapes.has('k-a-offline') && a.shapes.has('k-b-after'), 'converged on node two');
  assert.deepEqual(state(a), state(b));
  for (let i = 0; i < 10; i++) assert.ok(b.shapes.has(`k-a-${i}`) && b.shapes.has(`k-b-${i}`));
  a.close();
  b.close();
  nodes = nodes.filter((n) => n !== one);
  nodes.unshift(await startNode());
});

test('after Redis restarts, nodes repair what pub/sub dropped without reconnecting', async () => {
  const [one, two] = nodes;
  const a = await edit(one, 'Ada');
  const b = await edit(two, 'Bo');
  await until(() => isDeepStrictEqual(state(a), state(b)), 'in step before');
  // Redis away for 3 s while both keep editing.
  await redis.stop();
  addShape(a, 'r-a', 'polyline', { points: [[1, 1], [2, 2], [3, 1]] });
  addShape(b, 'r-b', 'text', { x: 9, y: 9, text: 'while Redis was away' });
  b.shapes.delete('m-0');
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 500));
    a.shapes.get('r-a').set('style', { color: '#e53935', weight: 2 + i, fill: false });
    b.shapes.get('r-b').set('text', `while Redis was away (${i})`);
  }
  assert.ok(!b.shapes.has('r-a') && !a.shapes.has('r-b'), 'nothing crosses without Redis');
  const restarted = performance.now();
  await redis.start();
  await until(
    () => b.shapes.has('r-a') && a.shapes.has('r-b') && !a.shapes.has('m-0'),
    'repaired after the restart',
    15_000,
  );
  console.log(`converged ${((performance.now() - restarted) / 1000).toFixed(2)} s after Redis came back`);
  assert.deepEqual(state(a), state(b));
  // The repair and the fan-out show in the metrics, and so do the messages each node
  // could not publish while Redis was away (they were logged; now they are counted).
  const metrics = await (await fetch(`${two.base}/metrics`)).text();
  const value = (name, text = metrics) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
  assert.ok(value('hugepic_hub_repair_syncs_total') >= 1, metrics);
  assert.ok(value('hugepic_hub_fanout_latency_seconds_count') >= 1, metrics);
  assert.ok(value('hugepic_hub_repair_asks_total') >= 1, metrics);
  for (const node of [one, two]) {
    const text = await (await fetch(`${node.base}/metrics`)).text();
    const lost = ['away', 'timeout'].map((reason) => value(`hugepic_hub_relay_dropped_total\\{reason="${reason}"\\}`, text));
    assert.ok(lost[0] + lost[1] >= 1, `a node that published while Redis was away counts it:\n${text}`);
    assert.equal(value('hugepic_hub_relay_dropped_total\\{reason="full"\\}', text), 0);
    // Both lost their Redis subscriptions, and count it.
    assert.ok(value('hugepic_failures_total\\{what="relay_subscription"\\}', text) >= 1, `the lost subscription counted:\n${text}`);
  }
  a.close();
  b.close();
});

test('a fresh node on the same database restores the document', async () => {
  const witness = await edit(nodes[1], 'Witness');
  const expected = state(witness);
  witness.close();
  for (const node of nodes) await node.stop();
  nodes = [];
  const fresh = await startNode();
  const c = await yjsClient(fresh.base, picture.id, picture.tokens.view, 'Late');
  assert.deepEqual(state(c), expected);
  assert.ok(c.shapes.has('k-a-offline') && c.shapes.has('r-b') && c.comments.has('thread-x'));
  c.close();
});
