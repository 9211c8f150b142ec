// Checkpoints bound what a moment costs: after more than 10,000 updates, rebuilding a
// moment near the end reads at most 500 log rows (the default checkpoint interval), by
// the History-Updates-Read header and by the /metrics counter, and the moment is right.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as Y from 'yjs';

import { assertFraming, historyOf, metricValue } from './history.mjs';
import { png, startServer } from './server.mjs';
import { addShape, until, yjsClient } from './yjs.mjs';

const UPDATES = 10_500;
const CHECKPOINT_EVERY = 500;
const COUNTER = 'hugepic_history_updates_read_total';
const LINES_MADE = 'hugepic_history_checkpoint_lines_made_total';

let server;
const open = [];

before(async () => {
  // The hub allows 60 updates a second per connection; this test sends thousands at once.
  server = await startServer(['--hub-updates-per-second', '1000000']);
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

async function counter() {
  return metricValue(await (await fetch(`${server.base}/metrics`)).text(), COUNTER);
}

test(`after ${UPDATES} updates a moment near the end reads at most ${CHECKPOINT_EVERY} log rows`, async () => {
  const form = new FormData();
  form.append('file', new Blob([png(64, 48)]), 'p.png');
  const picture = await (await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form })).json();
  const writer = await yjsClient(server.base, picture.id, picture.tokens.edit, 'Writer', { id: 'u-writer', color: '#000000' });
  const watcher = await yjsClient(server.base, picture.id, picture.tokens.view, 'Watcher', { id: 'u-watcher' });
  open.push(writer, watcher);

  // Markers added and moved about, one small update each (a fixed pseudo-random walk), in
  // bursts of 250: each waits until the watcher has the burst, so no connection's queue in
  // the hub (512 messages, the sender's own included) overflows.
  let seed = 7;
  const random = (n) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const caughtUp = () => Y.getState(watcher.doc.store, writer.doc.clientID) === Y.getState(writer.doc.store, writer.doc.clientID);
  let markers = 0;
  for (let i = 0; i < UPDATES; i++) {
    if (i % 20 === 0) addShape(writer, `m${markers++}`, 'marker', { x: random(5000), y: random(5000) });
    else writer.shapes.get(`m${random(markers)}`).set('geometry', { x: random(5000), y: random(5000) });
    if (i % 250 === 249) await until(caughtUp, `the watcher to have update ${i}`, 30_000);
  }
  addShape(writer, 'done', 'marker', { x: 0, y: 0 });
  // The server logs before it sends on: the watcher having the last one means all are logged.
  await until(() => watcher.shapes.has('done'), 'the last update at the watcher', 30_000);

  const api = historyOf(server.base, picture.id, picture.tokens.view);
  const activity = await api.activity({ limit: 1 });
  const logged = activity.body.authors.find((a) => a.id === 'u-writer')?.updates;
  assert.equal(logged, UPDATES + 1, 'every update logged');
  const latest = activity.body.latest_seq;

  // The checkpoint the latest moment starts from, and the seqs of the tail of the log.
  const end = await api.frames({ seq: latest });
  // Its lines: a whole state, then the deltas on it.
  const chain = end.lines.filter((l) => l.type === 'checkpoint');
  const checkpoint = chain.at(-1);
  assert.ok(checkpoint.seq > 0, 'there are checkpoints');
  console.log(`the latest moment starts from checkpoint ${checkpoint.seq}: ${chain.length} lines (${chain.map((c) => c.seq).join(', ')})`);
  assert.ok(assertFraming(end.lines, { seq: latest }).length <= CHECKPOINT_EVERY, 'the latest moment: at most 500 updates after its checkpoint');
  const tail = assertFraming((await api.frames({ from: Math.max(0, latest - 4 * CHECKPOINT_EVERY), seq: latest })).lines, {
    from: Math.max(0, latest - 4 * CHECKPOINT_EVERY),
  });
  const beforeCheckpoint = tail.filter((u) => u.seq < checkpoint.seq).at(-1);
  assert.ok(beforeCheckpoint, `an update just before checkpoint ${checkpoint.seq} in the last ${tail.length}`);
  const moments = [
    ['just before the last checkpoint (the longest read)', { seq: beforeCheckpoint.seq }],
    ['250 updates before the end', { seq: tail.at(-250).seq }],
    ['the time of an update near the end', { at: tail.at(-100).at }],
    ['the latest', { seq: latest }],
  ];
  for (const [what, params] of moments) {
    const counted = await counter();
    const state = await api.state(params);
    const read = Number(state.headers.get('history-updates-read'));
    const grew = (await counter()) - counted;
    assert.equal(state.status, 200, `${what}: ${state.text}`);
    console.log(`${what} (seq ${state.headers.get('history-seq')}): ${read} log rows read; ${COUNTER} +${grew}`);
    assert.ok(read <= CHECKPOINT_EVERY, `${what}: History-Updates-Read ${read} > ${CHECKPOINT_EVERY}`);
    assert.ok(grew <= CHECKPOINT_EVERY, `${what}: ${COUNTER} grew by ${grew} > ${CHECKPOINT_EVERY}`);
    assert.ok(grew >= read, `${what}: ${COUNTER} grew by ${grew}, the header says ${read}`);
    const replay = await api.replay({ seq: Number(state.headers.get('history-seq')) });
    assert.deepEqual(state.body, replay.json, `${what}: the state is the replay of its frames`);
    const v2 = await api.replay({ seq: Number(state.headers.get('history-seq')), encoding: 'v2' });
    assert.ok(v2.lines.filter((l) => l.type === 'checkpoint').every((l) => l.encoding === 'v2'), `${what}: encoding=v2 gives v2 checkpoints`);
    assert.deepEqual(state.body, v2.json, `${what}: the state is the replay of its frames in v2`);
  }

  // Checkpoint lines are made once and then kept: reading the latest moment's frames again
  // makes none, in either encoding; another encoding is made once.
  const made = async () => metricValue(await (await fetch(`${server.base}/metrics`)).text(), LINES_MADE);
  const before = await made();
  const again = await api.frames({ seq: latest });
  assert.deepEqual(again.lines, end.lines, 'the same frames the second time');
  assert.equal(await made(), before, 'the frames read again: no checkpoint line made');
  const fresh = await api.frames({ seq: checkpoint.seq - 1 }); // an earlier chain: maybe new lines
  const between = await made();
  assert.ok(between - before <= fresh.lines.filter((l) => l.type === 'checkpoint').length, 'at most a line per checkpoint made');
  await api.frames({ seq: checkpoint.seq - 1 });
  assert.equal(await made(), between, 'an earlier moment read again: no checkpoint line made');
  const bad = await api.frames({ seq: latest, encoding: 'v3' });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.body?.detail ?? bad.text, /encoding must be v1 .* or v2/);
  const badFrom = await api.frames({ from: latest - 1, seq: latest, encoding: 'x' });
  assert.equal(badFrom.status, 400, `an unknown encoding with from= too: ${badFrom.text}`);
  const last = await api.state({ seq: latest });
  assert.deepEqual(last.body, { shapes: watcher.shapes.toJSON(), comments: watcher.doc.getMap('comments').toJSON() });
});
