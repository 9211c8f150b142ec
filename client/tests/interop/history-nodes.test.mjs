// The annotation history with two `hugepic serve` nodes sharing a fresh PostgreSQL
// database and a private Redis, a stock Yjs client on each: every moment reads back the
// same from either node (PostgreSQL's seqs are global, so a picture's are not
// contiguous), and a restore POSTed to node one reaches the client on node two. With a
// checkpoint every 3 updates, most of the log has been moved into packs (migration 0007)
// by the time it is read: every read goes through them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual, promisify } from 'node:util';

import { createDatabase, startRedis } from './cluster.mjs';
import { assertFraming, checkMoments, historyOf, recorder } from './history.mjs';
import { png, startServer } from './server.mjs';
import { addShape, addThread, documentJson, reply, until, yjsClient } from './yjs.mjs';

let database;
let redis;
const nodes = [];
const open = [];

const CHECKPOINT_EVERY = 3;

async function startNode(...extra) {
  const node = await startServer([
    '--database-url', database.url, '--redis-url', redis.url,
    '--history-checkpoint-every', String(CHECKPOINT_EVERY), ...extra,
  ]);
  nodes.push(node);
  return node;
}

async function createPicture(base) {
  const form = new FormData();
  form.append('file', new Blob([png(64, 48)]), 'p.png');
  const response = await fetch(`${base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  return response.json();
}

before(async () => {
  database = await createDatabase();
  redis = await startRedis();
  await startNode();
  await startNode('--no-workers');
});

after(async () => {
  for (const c of open) c.close();
  for (const node of nodes) await node.stop();
  await redis?.stop();
  await database?.drop();
});

const ada = { id: 'u-ada-n1', name: 'Ada', color: '#e53935' };
const bo = { id: 'u-bo-n2', name: 'Bo', color: '#1e88e5' };
const cy = { id: 'u-cy-n1', name: 'Cy', color: '#43a047' };

async function join(node, picture, person, role = 'edit') {
  const c = await yjsClient(node.base, picture.id, picture.tokens[role], person.name, person);
  open.push(c);
  return c;
}

/** Ada on node one and Bo on node two edit picture P in turns; between any two of their
 *  edits Cy edits picture Q, so P's seqs skip Q's. Made once. */
let scripted = null;
function session() {
  scripted ??= (async () => {
    const [one, two] = nodes;
    const p = await createPicture(one.base);
    const q = await createPicture(one.base);
    const a = await join(one, p, ada);
    const b = await join(two, p, bo);
    const c = await join(one, q, cy);
    const rec = recorder(historyOf(one.base, p.id, p.tokens.view), [a, b]);
    const recQ = recorder(historyOf(two.base, q.id, q.tokens.view), [c]);
    for (let i = 0; i < 14; i++) {
      const who = i % 2 ? b : a;
      const what = `edit ${i} by ${who.name}`;
      if (i === 4) await rec.edit(who, () => addThread(who, 'th1', 's0', 'From node one.'), { what });
      else if (i === 7) await rec.edit(who, () => reply(who, 'th1', 'th1-2', 'Seen on node two.'), { what });
      else if (i % 3 === 2) await rec.edit(who, () => who.shapes.get(`s${i - 2}`).set('geometry', { x: i, y: 3 * i }), { what });
      else if (i === 12) await rec.edit(who, () => who.shapes.delete('s1'), { what });
      else await rec.edit(who, () => addShape(who, `s${i}`, i % 4 ? 'marker' : 'circle', i % 4 ? { x: i, y: i } : { cx: i, cy: i, r: 4 }), { what });
      await recQ.edit(c, () => addShape(c, `q${i}`, 'marker', { x: i, y: 0 }), { what: `edit ${i} on Q` });
    }
    return { one, two, p, a, b, rec };
  })();
  return scripted;
}

test('every moment reads back from either node on PostgreSQL, whose seqs skip other pictures', async () => {
  const { one, two, p, rec } = await session();
  const seqs = rec.moments.map((m) => m.seq);
  assert.ok(
    seqs.slice(2).some((s, i) => s - seqs[i + 1] > 1),
    `the picture's seqs are not contiguous: ${seqs.join(' ')}`,
  );
  // State from node two, frames from node one, and the other way round.
  await checkMoments(historyOf(two.base, p.id, p.tokens.view), rec.moments, historyOf(one.base, p.id, p.tokens.view));
  await checkMoments(historyOf(one.base, p.id, p.tokens.comment), rec.moments, historyOf(two.base, p.id, p.tokens.edit));
  // Most of P's log is in packs, and none of it is lost: rows and packed updates are
  // all 14 of P's updates, each once.
  const [packs, rows, packed] = (
    await promisify(execFile)('psql', [
      database.url, '-At', '-F', ' ', '-c',
      `WITH l AS (SELECT id FROM document_logs WHERE picture_id = '${p.id}')
       SELECT (SELECT COUNT(*) FROM document_log_packs WHERE log = (SELECT id FROM l)),
              (SELECT COUNT(*) FROM document_log WHERE log = (SELECT id FROM l)),
              (SELECT COUNT(*) FROM document_log_packs, unnest(seqs) WHERE log = (SELECT id FROM l))`,
    ])
  ).stdout.trim().split(' ').map(Number);
  assert.ok(packs >= 3, `P's log is packed: ${packs} packs, ${packed} updates in them, ${rows} rows`);
  assert.equal(rows + packed, seqs.length - 1, `P's updates in rows and packs: ${rows} + ${packed}`);
  // One shape's history (times and authors come from the log) from either node.
  for (const node of [one, two]) {
    const { body } = await historyOf(node.base, p.id, p.tokens.view).shape('s0');
    assert.ok(body.changes.length >= 2, `s0 was added and moved: ${JSON.stringify(body.changes)}`);
    for (const change of body.changes) {
      const moment = rec.moments.find((m) => m.seq === change.seq);
      assert.ok(moment, `s0's change at ${change.seq} is a recorded moment`);
      assert.equal(Date.parse(change.at), Date.parse(moment.at), `s0's change at ${change.seq}: at`);
      assert.deepEqual(change.author, moment.author, `s0's change at ${change.seq}: author`);
      assert.deepEqual(change.after, moment.json.shapes.s0 ?? null, `s0's change at ${change.seq}: after`);
    }
  }
  // The activity's authors, a tally the index keeps as it reads the log: the same from
  // either node, seven updates each.
  for (const node of [one, two]) {
    const response = await fetch(`${node.base}/api/pictures/${p.id}/history?token=${p.tokens.view}`);
    assert.equal(response.status, 200);
    const { authors } = await response.json();
    const byId = (list) => [...list].sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(byId(authors), byId([{ ...ada, updates: 7 }, { ...bo, updates: 7 }]));
  }
});

test('a restore POSTed to node one reaches the client on node two; both end at k', async () => {
  const { one, two, p, a, b, rec } = await session();
  const k = rec.moments[5];
  const now = rec.moments.at(-1);
  const restored = await historyOf(one.base, p.id, p.tokens.edit).restore({ seq: k.seq, author: ada });
  assert.equal(restored.status, 200, restored.text);
  assert.equal(restored.body.restored_to, k.seq);
  assert.ok(restored.body.seq > now.seq);
  await until(
    () => isDeepStrictEqual(documentJson(b.doc), k.json) && isDeepStrictEqual(documentJson(a.doc), k.json),
    () => `both clients at k (node two: ${JSON.stringify(documentJson(b.doc)).slice(0, 300)})`,
    20_000,
  );
  assert.deepEqual(documentJson(b.doc), k.json);
  assert.deepEqual(documentJson(a.doc), k.json);
  const api = historyOf(two.base, p.id, p.tokens.view);
  const logged = assertFraming((await api.frames({ from: now.seq })).lines, { from: now.seq });
  assert.deepEqual(logged.map((u) => [u.seq, u.kind]), [[restored.body.seq, 'restore']], 'one new update, the restore');
  assert.deepEqual((await api.state({ seq: restored.body.seq })).body, k.json);
  assert.deepEqual((await api.replay({})).json, k.json);
  // Undone from node two: node one's client gets the later state back.
  const undone = await historyOf(two.base, p.id, p.tokens.edit).restore({ seq: now.seq, author: bo });
  assert.equal(undone.status, 200, undone.text);
  await until(
    () => isDeepStrictEqual(documentJson(a.doc), now.json) && isDeepStrictEqual(documentJson(b.doc), now.json),
    'both clients back at the later state',
    20_000,
  );
});
