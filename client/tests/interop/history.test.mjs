// The annotation history against a real `hugepic serve` (embedded mode) and stock Yjs
// clients: every moment of a scripted session reads back the same as a client saw it
// (GET state, a local replay of the frames, times); activity groups and counts what each
// person did; a shape's own history; roles; bad input; restore (dry run, live to every
// client as one logged update, undone, partial, during someone's edits); versions.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';

import {
  assertError,
  assertFraming,
  assertTiming,
  checkMoments,
  difference,
  eventually,
  historyOf,
  recorder,
  sleep,
} from './history.mjs';
import { png, startServer } from './server.mjs';
import { addShape, addThread, documentJson, reply, until, yjsClient } from './yjs.mjs';

let server;
const open = [];
// Every y-websocket provider listens for the process's exit; these tests hold dozens.
process.setMaxListeners(64);

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

async function createPicture() {
  const form = new FormData();
  form.append('file', new Blob([png(64, 48)]), 'p.png');
  const response = await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  return response.json();
}

/** The people of these tests: awareness users `{id, name, color}`. */
const people = {
  ada: { id: 'u-ada-4f2', name: 'Ada', color: '#e53935' },
  bo: { id: 'u-bo-91c', name: 'Bo', color: '#1e88e5' },
  cy: { id: 'u-cy-07d', name: 'Cy', color: '#43a047' },
  di: { id: 'u-di-5ab', name: 'Di', color: '#8e24aa' },
  vi: { id: 'u-vi-e30', name: 'Vi', color: '#6d4c41' },
};

async function join(picture, who, role) {
  const person = people[who];
  const c = await yjsClient(server.base, picture.id, picture.tokens[role], person.name, person);
  open.push(c);
  return c;
}

const move = (c, id, geometry) => c.shapes.get(id).set('geometry', geometry);
const restyle = (c, id, style) => c.shapes.get(id).set('style', style);
const remove = (c, id) => c.shapes.delete(id);

/** A session in groups (consecutive edits by one person), with what the activity should
 *  say about each group. Within a group no shape is both added and changed, nor changed
 *  twice, and each comment edit touches its own thread with one message, so the counts
 *  cannot depend on how a server chooses to count those. */
const groups = [
  {
    who: 'ada',
    counts: { shapes_added: 7, shapes_changed: 0, shapes_deleted: 0, comments: 1 },
    shapes: ['c1', 'f1', 'g1', 'l1', 'm1', 'r1', 't1'],
    steps: [
      ['r1 added', (c) => addShape(c, 'r1', 'rectangle', { x: 100, y: 80, width: 400, height: 300 })],
      ['c1 added', (c) => addShape(c, 'c1', 'circle', { cx: 900, cy: 500, r: 120 })],
      ['g1 added', (c) => addShape(c, 'g1', 'polygon', [[10, 10], [200, 40], [120, 220]])],
      ['l1 added', (c) => addShape(c, 'l1', 'polyline', [[0, 0], [50, 90], [300, 120], [310, 400]])],
      ['m1 added', (c) => addShape(c, 'm1', 'marker', { x: 50, y: 60 })],
      ['f1 added', (c) => addShape(c, 'f1', 'freehand', [[5, 5], [6, 8], [9, 12], [15, 14], [22, 13]])],
      ['t1 added', (c) => addShape(c, 't1', 'text', { x: 300, y: 700 }, { text: 'Harbour' })],
      ['th1 opened', (c) => addThread(c, 'th1', 'r1', 'What is this building?')],
    ],
  },
  {
    who: 'bo',
    counts: { shapes_added: 2, shapes_changed: 4, shapes_deleted: 0, comments: 1 },
    shapes: ['c1', 'm1', 'm2', 'r1', 'r2', 't1'],
    steps: [
      ['r1 moved', (c) => move(c, 'r1', { x: 140, y: 90, width: 400, height: 300 })],
      ['c1 restyled', (c) => restyle(c, 'c1', { color: '#3949ab', weight: 5 })],
      ['th1 reply 2', (c) => reply(c, 'th1', 'th1-2', 'A customs house.')],
      ['m2 added', (c) => addShape(c, 'm2', 'marker', { x: 1500, y: 20 })],
      ['r2 added', (c) => addShape(c, 'r2', 'rectangle', { x: 600, y: 600, width: 80, height: 45 })],
      ['m1 moved', (c) => move(c, 'm1', { x: 52, y: 75 })],
      ['t1 retexted', (c) => c.shapes.get('t1').set('text', 'Old harbour')],
    ],
  },
  {
    who: 'di',
    role: 'comment',
    counts: { shapes_added: 0, shapes_changed: 0, shapes_deleted: 0, comments: 2 },
    shapes: [],
    steps: [
      ['th1 reply 3', (c) => reply(c, 'th1', 'th1-3', 'Built in 1820?')],
      ['th2 opened', (c) => addThread(c, 'th2', { x: 1200, y: 300 }, 'Is this a crane?')],
    ],
  },
  {
    who: 'cy',
    counts: { shapes_added: 2, shapes_changed: 2, shapes_deleted: 2, comments: 1 },
    shapes: ['c2', 'g1', 'g2', 'l1', 'm2', 'r2'],
    steps: [
      ['l1 deleted', (c) => remove(c, 'l1')],
      ['g1 reshaped', (c) => move(c, 'g1', [[10, 10], [210, 50], [130, 230], [40, 180]])],
      ['c2 added', (c) => addShape(c, 'c2', 'circle', { cx: 2000, cy: 1500, r: 33.5 })],
      ['g2 added', (c) => addShape(c, 'g2', 'polygon', [[700, 700], [800, 650], [900, 760]])],
      ['r2 restyled', (c) => restyle(c, 'r2', { color: '#fdd835', weight: 1 })],
      ['m2 deleted', (c) => remove(c, 'm2')],
      ['th2 reply 2', (c) => reply(c, 'th2', 'th2-2', 'Yes, a steam crane.')],
    ],
  },
  {
    who: 'ada',
    counts: { shapes_added: 1, shapes_changed: 3, shapes_deleted: 1, comments: 1 },
    shapes: ['c1', 'f1', 'm3', 'r2', 't1'],
    steps: [
      ['c1 moved', (c) => move(c, 'c1', { cx: 950, cy: 520, r: 120 })],
      ['f1 restyled', (c) => restyle(c, 'f1', { color: '#000000', weight: 8 })],
      ['t1 deleted', (c) => remove(c, 't1')],
      ['m3 added', (c) => addShape(c, 'm3', 'marker', { x: 3000, y: 2000 })],
      ['r2 moved', (c) => move(c, 'r2', { x: 610, y: 640, width: 80, height: 45 })],
      ['th3 opened', (c) => addThread(c, 'th3', 'c2', 'Check the scale.')],
    ],
  },
  {
    who: 'bo',
    counts: { shapes_added: 1, shapes_changed: 2, shapes_deleted: 1, comments: 1 },
    shapes: ['f1', 'g2', 'm3', 't2'],
    steps: [
      ['t2 added', (c) => addShape(c, 't2', 'text', { x: 10, y: 10 }, { text: 'North ↑' })],
      ['g2 moved', (c) => move(c, 'g2', [[710, 700], [810, 650], [910, 760]])],
      ['f1 deleted', (c) => remove(c, 'f1')],
      ['m3 restyled', (c) => restyle(c, 'm3', { color: '#00acc1', weight: 2 })],
      ['th3 reply 2', (c) => reply(c, 'th3', 'th3-2', 'The scale is fine.')],
    ],
  },
  {
    who: 'cy',
    counts: { shapes_added: 2, shapes_changed: 1, shapes_deleted: 1, comments: 1 },
    shapes: ['c2', 'f2', 'g1', 'l2'],
    steps: [
      ['l2 added', (c) => addShape(c, 'l2', 'polyline', [[1, 1], [2, 3]])],
      ['f2 added', (c) => addShape(c, 'f2', 'freehand', [[400, 400], [401, 402], [405, 409]])],
      ['c2 moved', (c) => move(c, 'c2', { cx: 2010, cy: 1490, r: 33.5 })],
      ['g1 deleted', (c) => remove(c, 'g1')],
      ['th1 reply 4', (c) => reply(c, 'th1', 'th1-4', 'Confirmed in the archive.')],
    ],
  },
];

/** The scripted session on its own picture, made once: the picture, its clients, the
 *  recorded moments (by step label too) and each group's first and last seq. */
let scripted = null;
function session() {
  scripted ??= (async () => {
    const picture = await createPicture();
    const api = historyOf(server.base, picture.id, picture.tokens.view);
    const clients = {
      ada: await join(picture, 'ada', 'edit'),
      bo: await join(picture, 'bo', 'edit'),
      cy: await join(picture, 'cy', 'edit'),
      di: await join(picture, 'di', 'comment'),
      vi: await join(picture, 'vi', 'view'),
    };
    const rec = recorder(api, Object.values(clients));
    const byLabel = {};
    const spans = [];
    for (const group of groups) {
      const c = clients[group.who];
      let first = null;
      for (const [label, change] of group.steps) {
        const moment = await rec.edit(c, () => change(c), { role: group.role ?? 'edit', what: label });
        moment.label = label;
        byLabel[label] = moment;
        first ??= moment;
      }
      spans.push({ ...group, from: first, to: rec.moments.at(-1) });
    }
    return { picture, api, clients, rec, byLabel, spans };
  })();
  return scripted;
}

test('every moment of a scripted session reads back: state, replayed frames, times', async () => {
  const { api, rec } = await session();
  assert.equal(rec.moments.length, 41, 'seq 0 and 40 edits');
  await checkMoments(api, rec.moments);
  // Neither seq nor at: up to the latest; from=0: the whole log, replayed.
  const latest = rec.moments.at(-1);
  const all = await api.frames();
  assert.equal(all.status, 200, all.text);
  assert.match(all.headers.get('content-type'), /^application\/x-ndjson/);
  assertFraming(all.lines, { seq: latest.seq, latest: latest.seq });
  const whole = await api.replay({ from: 0 });
  assert.equal(whole.lines.filter((l) => l.type === 'checkpoint').length, 0, 'from=0: no checkpoint');
  assert.deepEqual(
    assertFraming(whole.lines, { seq: latest.seq, from: 0 }).map((u) => u.seq),
    rec.moments.slice(1).map((m) => m.seq),
  );
  assert.deepEqual(whole.json, latest.json);
  const now = await api.state();
  assert.equal(now.headers.get('history-seq'), String(latest.seq));
  assert.deepEqual(now.body, latest.json);
});

test('activity: grouped by author, counted; filtered by author and time; paged with before', async () => {
  const { api, rec, spans } = await session();
  const response = await api.activity();
  assert.equal(response.status, 200, response.text);
  const body = response.body;
  const expected = [...spans].reverse();
  assert.equal(body.entries.length, expected.length, JSON.stringify(body.entries.map((e) => [e.author.name, e.from_seq, e.to_seq])));
  expected.forEach((span, i) => {
    const entry = body.entries[i];
    const what = `entry ${i} (${span.who}'s group of ${span.steps.length})`;
    assert.equal(entry.from_seq, span.from.seq, `${what}: from_seq`);
    assert.equal(entry.to_seq, span.to.seq, `${what}: to_seq`);
    assert.equal(Date.parse(entry.from), Date.parse(span.from.at), `${what}: from`);
    assert.equal(Date.parse(entry.to), Date.parse(span.to.at), `${what}: to`);
    assert.deepEqual(entry.author, people[span.who], `${what}: author`);
    assert.deepEqual(entry.counts, span.counts, `${what}: counts`);
    assert.deepEqual([...entry.shape_ids].sort(), span.shapes, `${what}: shape_ids`);
    assert.equal(entry.restore, null, `${what}: not a restore`);
  });
  assert.equal(body.next_before, null, 'everything on one page');
  assert.equal(body.first_seq, rec.moments[1].seq);
  assert.equal(body.latest_seq, rec.moments.at(-1).seq);
  assert.equal(Date.parse(body.first_at), Date.parse(rec.moments[1].at));
  assert.equal(Date.parse(body.latest_at), Date.parse(rec.moments.at(-1).at));
  const byId = (list) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(
    byId(body.authors),
    byId([
      { ...people.ada, updates: 14 },
      { ...people.bo, updates: 12 },
      { ...people.cy, updates: 12 },
      { ...people.di, updates: 2 },
    ]),
  );

  // One author: their groups, still separate (others' groups lie between them).
  const ada = await api.activity({ author: people.ada.id });
  assert.equal(ada.status, 200, ada.text);
  assert.deepEqual(ada.body.entries, body.entries.filter((e) => e.author.id === people.ada.id));
  assert.equal(ada.body.entries.length, 2);

  // Time: until the end of the first group, since the start of the last.
  const first = await api.activity({ until: spans[0].to.t });
  assert.deepEqual(first.body.entries, [body.entries.at(-1)], 'until= the first group');
  const last = await api.activity({ since: spans.at(-2).to.t });
  assert.deepEqual(last.body.entries, [body.entries[0]], 'since= the last group');

  // Pages of two, newest first, with before=next_before: the same entries.
  const paged = [];
  let cursor;
  for (let page = 0; ; page++) {
    assert.ok(page < 10, 'paging ends');
    const r = await api.activity({ limit: 2, before: cursor });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.entries.length <= 2);
    paged.push(...r.body.entries);
    if (r.body.next_before === null) break;
    assert.equal(r.body.next_before, r.body.entries.at(-1).from_seq, 'next_before: the last entry start');
    cursor = r.body.next_before;
  }
  assert.deepEqual(paged, body.entries);
});

test("a shape's history: each change oldest first, the fields that differ, before and after", async () => {
  const { api, rec, byLabel } = await session();
  const previous = (moment) => rec.moments[rec.moments.indexOf(moment) - 1];
  const expectations = {
    c1: [['c1 added', 'created'], ['c1 restyled', 'changed', ['style']], ['c1 moved', 'changed', ['geometry']]],
    t1: [['t1 added', 'created'], ['t1 retexted', 'changed', ['text']], ['t1 deleted', 'deleted']],
    l1: [['l1 added', 'created'], ['l1 deleted', 'deleted']],
  };
  for (const [id, changes] of Object.entries(expectations)) {
    const response = await api.shape(id);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.shape_id, id);
    assert.equal(response.body.changes.length, changes.length, `${id}: ${JSON.stringify(response.body.changes.map((c) => [c.seq, c.kind]))}`);
    changes.forEach(([label, kind, fields], i) => {
      const change = response.body.changes[i];
      const moment = byLabel[label];
      const what = `${id} change ${i} (${label})`;
      assert.equal(change.seq, moment.seq, `${what}: seq`);
      assert.equal(Date.parse(change.at), Date.parse(moment.at), `${what}: at`);
      assert.deepEqual(change.author, moment.author, `${what}: author`);
      assert.equal(change.kind, kind, `${what}: kind`);
      const after = moment.json.shapes[id] ?? null;
      const before = previous(moment).json.shapes[id] ?? null;
      assert.deepEqual(change.after, after, `${what}: after`);
      assert.deepEqual(change.before, before, `${what}: before`);
      if (kind === 'created') assert.deepEqual([...change.fields].sort(), Object.keys(after).sort(), `${what}: fields`);
      if (kind === 'changed') assert.deepEqual([...change.fields].sort(), fields, `${what}: fields`);
    });
    const deletion = changes.find(([, kind]) => kind === 'deleted');
    if (deletion) assert.equal(Date.parse(response.body.deleted_at), Date.parse(byLabel[deletion[0]].at), `${id}: deleted_at`);
    else assert.equal(response.body.deleted_at, null, `${id}: deleted_at`);
  }
  assertError(await api.shape('never-drawn'), 404, 'a shape that never existed');
});

test('roles: view and comment links read the history; only edit and owner restore or save versions', async () => {
  const { picture, rec } = await session();
  const seq = rec.moments[10].seq;
  const latest = rec.moments.at(-1).seq;
  for (const role of ['view', 'comment', 'none']) {
    const api = historyOf(server.base, picture.id, role === 'none' ? undefined : picture.tokens[role]);
    for (const [what, r] of [
      ['activity', await api.activity()],
      ['state', await api.state({ seq })],
      ['frames', await api.frames({ seq })],
      ['shape history', await api.shape('r1')],
      ['versions', await api.versions()],
    ]) {
      assert.equal(r.status, 200, `${role}: GET ${what}: ${r.status} ${r.text.slice(0, 300)}`);
    }
    // Without a token the server may ask for one (401) rather than refuse it (403).
    const refused = role === 'none' ? [401, 403] : [403];
    const restore = await api.restore({ seq, dry_run: true });
    assertError(restore, refused.includes(restore.status) ? restore.status : 403, `${role}: POST restore`);
    const version = await api.createVersion({ name: `by ${role}` });
    assertError(version, refused.includes(version.status) ? version.status : 403, `${role}: POST versions`);
  }
  assert.equal((await historyOf(server.base, picture.id, picture.tokens.view).latestSeq()), latest, 'refusals changed nothing');
  for (const role of ['edit', 'owner']) {
    const api = historyOf(server.base, picture.id, picture.tokens[role]);
    const restore = await api.restore({ seq, dry_run: true });
    assert.equal(restore.status, 200, `${role}: dry-run restore: ${restore.text}`);
    assert.equal(restore.body.dry_run, true);
    const version = await api.createVersion({ name: `saved by ${role}` });
    assert.equal(version.status, 201, `${role}: POST versions: ${version.text}`);
  }
  assert.equal(await historyOf(server.base, picture.id).latestSeq(), latest, 'a dry run and versions add nothing to the log');
});

test('bad input: 404 and 400 answers with a sentence; the server keeps serving', async () => {
  const { picture, rec, api } = await session();
  const latest = rec.moments.at(-1).seq;
  const edit = historyOf(server.base, picture.id, picture.tokens.edit);
  const nobody = historyOf(server.base, 'no-such-picture', picture.tokens.edit);
  for (const [what, r] of [
    ['activity', await nobody.activity()],
    ['state', await nobody.state({ seq: 1 })],
    ['frames', await nobody.frames({ seq: 1 })],
    ['shape history', await nobody.shape('r1')],
    ['versions', await nobody.versions()],
    ['POST versions', await nobody.createVersion({ name: 'x' })],
    ['POST restore', await nobody.restore({ seq: 1 })],
  ]) {
    assertError(r, 404, `unknown picture: ${what}`);
  }
  for (const [what, r] of [
    ['state?seq=abc', await api.state({ seq: 'abc' })],
    ['frames?seq=abc', await api.frames({ seq: 'abc' })],
    ['frames?from=abc', await api.frames({ from: 'abc' })],
    ['state?seq=-1', await api.state({ seq: -1 })],
    ['state?at=not-a-time', await api.state({ at: 'not-a-time' })],
    ['frames?at=not-a-time', await api.frames({ at: 'not-a-time' })],
    ['history?since=not-a-time', await api.activity({ since: 'not-a-time' })],
    ['history?until=yesterday', await api.activity({ until: 'yesterday' })],
    ['history?limit=abc', await api.activity({ limit: 'abc' })],
    ['POST versions with an empty name', await edit.createVersion({ name: '' })],
    ['POST versions with a 201-character name', await edit.createVersion({ name: 'n'.repeat(201) })],
    ['POST restore at=not-a-time', await edit.restore({ at: 'not-a-time' })],
  ]) {
    // The sentence says what was wrong: it names the parameter or quotes the bad value.
    const detail = assertError(r, 400, what);
    const [, param, value] = what.match(/(seq|from|at|since|until|limit)=(\S+)/) ?? [];
    if (param) assert.ok(detail.includes(param) || detail.includes(value), `${what}: the detail names ${param} or ${value}: ${detail}`);
  }
  for (const [what, r] of [
    ['state?seq past the end', await api.state({ seq: latest + 1000 })],
    ['frames?seq past the end', await api.frames({ seq: latest + 1000 })],
    ['POST restore past the end', await edit.restore({ seq: latest + 1000 })],
  ]) {
    const detail = assertError(r, 400, what);
    assert.ok(detail.includes(String(latest)), `${what}: the detail says where the log ends (${latest}): ${detail}`);
  }
  // Still serving: the history and the hub.
  const state = await api.state();
  assert.equal(state.status, 200);
  assert.deepEqual(state.body, rec.moments.at(-1).json);
  const late = await yjsClient(server.base, picture.id, picture.tokens.view, 'Late');
  assert.deepEqual(documentJson(late.doc), rec.moments.at(-1).json);
  late.close();
});

/** A picture with Ada and Bo (edit), Di (comment) and Vi (view), 12 recorded edits; k is
 *  the moment after the fifth. */
async function restoreScene() {
  const picture = await createPicture();
  const api = historyOf(server.base, picture.id, picture.tokens.view);
  const edit = historyOf(server.base, picture.id, picture.tokens.edit);
  const ada = await join(picture, 'ada', 'edit');
  const bo = await join(picture, 'bo', 'edit');
  const di = await join(picture, 'di', 'comment');
  const vi = await join(picture, 'vi', 'view');
  const clients = [ada, bo, di, vi];
  const rec = recorder(api, clients);
  await rec.edit(ada, () => addShape(ada, 'r1', 'rectangle', { x: 1, y: 2, width: 30, height: 40 }));
  await rec.edit(ada, () => addShape(ada, 'c1', 'circle', { cx: 50, cy: 50, r: 10 }));
  await rec.edit(bo, () => addShape(bo, 'm1', 'marker', { x: 5, y: 5 }));
  await rec.edit(bo, () => addThread(bo, 'th1', 'r1', 'Look here.'));
  const k = await rec.edit(ada, () => addShape(ada, 'g1', 'polygon', [[0, 0], [10, 0], [5, 8]]));
  await rec.edit(bo, () => move(bo, 'r1', { x: 11, y: 12, width: 30, height: 40 }));
  await rec.edit(ada, () => restyle(ada, 'c1', { color: '#112233', weight: 7 }));
  await rec.edit(bo, () => remove(bo, 'm1'));
  await rec.edit(ada, () => addShape(ada, 'f1', 'freehand', [[1, 1], [2, 2], [3, 5]]));
  await rec.edit(di, () => reply(di, 'th1', 'th1-2', 'Seen.'), { role: 'comment' });
  await rec.edit(bo, () => move(bo, 'g1', [[0, 0], [12, 0], [6, 9]]));
  await rec.edit(ada, () => addShape(ada, 't1', 'text', { x: 8, y: 9 }, { text: 'Label' }));
  return { picture, api, edit, ada, bo, di, vi, clients, rec, k };
}

const countsOf = (d) => ({
  shapes_added: d.added.length,
  shapes_changed: d.changed.length,
  shapes_deleted: d.deleted.length,
  comments: d.comments.length,
});

async function everyClientHas(clients, json, what) {
  await until(() => clients.every((c) => isDeepStrictEqual(documentJson(c.doc), json)), what, 20_000);
}

test('restore: a dry run, one logged update live to every client, undone, partial by shape ids', async () => {
  const { api, edit, clients, rec, k } = await restoreScene();
  const now = rec.moments.at(-1);
  const diff = difference(now.json, k.json);
  assert.deepEqual(diff.shapeIds, ['c1', 'f1', 'g1', 'm1', 'r1', 't1'], 'the scene differs as scripted');

  // Dry run: the counts, and nothing changes.
  const dry = await edit.restore({ seq: k.seq, dry_run: true, author: people.ada });
  assert.equal(dry.status, 200, dry.text);
  assertTiming(dry, ['moment', 'replay', 'change', 'plan', 'apply', 'log'], 'the dry run (rebuilds the moment)');
  assert.equal(dry.body.restored_to, k.seq);
  assert.equal(dry.body.dry_run, true);
  assert.equal(dry.body.seq, null);
  assert.deepEqual(dry.body.counts, countsOf(diff));
  assert.deepEqual([...dry.body.shape_ids].sort(), diff.shapeIds);
  await sleep(500);
  assert.equal(await api.latestSeq(), now.seq, 'a dry run logs nothing');
  for (const c of clients) assert.deepEqual(documentJson(c.doc), now.json, `${c.name} unchanged by a dry run`);

  // Restore to k: one update of kind restore, every client at k.
  const restored = await edit.restore({ seq: k.seq, author: people.ada });
  // The moment the dry run rebuilt is kept for the restore that follows it.
  assertTiming(restored, ['moment', 'kept', 'change', 'plan', 'apply', 'log'], 'the restore (finds the moment kept)');
  assert.equal(restored.status, 200, restored.text);
  assert.equal(restored.body.restored_to, k.seq);
  assert.equal(restored.body.dry_run, false);
  assert.ok(restored.body.seq > now.seq, `the restore's seq ${restored.body.seq} follows ${now.seq}`);
  assert.deepEqual(restored.body.counts, dry.body.counts);
  assert.deepEqual([...restored.body.shape_ids].sort(), diff.shapeIds);
  await everyClientHas(clients, k.json, 'every client at k after the restore');
  const frames = await api.frames({ from: now.seq });
  const logged = assertFraming(frames.lines, { from: now.seq });
  assert.equal(logged.length, 1, `exactly one new update: ${JSON.stringify(logged.map((u) => [u.seq, u.kind]))}`);
  assert.equal(logged[0].seq, restored.body.seq);
  assert.equal(logged[0].kind, 'restore');
  assert.deepEqual(logged[0].author, people.ada);
  assert.equal(frames.lines.at(-1).latest_seq, restored.body.seq);
  const atRestore = await api.state({ seq: restored.body.seq });
  assert.deepEqual(atRestore.body, k.json, 'the document right after the restore is the one at k');
  const activity = await api.activity({ limit: 2 });
  const [entry, before] = activity.body.entries;
  assert.deepEqual(entry.restore, { to_seq: k.seq }, JSON.stringify(entry));
  assert.equal(entry.from_seq, restored.body.seq);
  assert.equal(entry.to_seq, restored.body.seq);
  assert.deepEqual(entry.author, people.ada);
  assert.deepEqual(entry.counts, restored.body.counts);
  assert.deepEqual([...entry.shape_ids].sort(), diff.shapeIds);
  assert.equal(before.to_seq, now.seq, 'a restore is its own entry');
  rec.note(restored.body.seq, k.json);

  // Restoring to the seq just before the restore brings the later state back.
  const undone = await edit.restore({ seq: now.seq, author: people.bo });
  assert.equal(undone.status, 200, undone.text);
  assert.equal(undone.body.restored_to, now.seq);
  assert.deepEqual(undone.body.counts, countsOf(difference(k.json, now.json)));
  await everyClientHas(clients, now.json, 'every client back at the later state');
  assert.deepEqual((await api.state({ seq: undone.body.seq })).body, now.json);
  rec.note(undone.body.seq, now.json);

  // Partial: c1 (changed since k), m1 (deleted since) and t1 (added since) go back to k;
  // r1, g1, f1 and the comments stay as they are. (No thread is on these shapes: the
  // server restores a chosen shape's threads with it.)
  const partial = await edit.restore({ seq: k.seq, shape_ids: ['c1', 'm1', 't1'], author: people.ada });
  assert.equal(partial.status, 200, partial.text);
  assert.deepEqual([...partial.body.shape_ids].sort(), ['c1', 'm1', 't1']);
  assert.deepEqual(partial.body.counts, { shapes_added: 1, shapes_changed: 1, shapes_deleted: 1, comments: 0 });
  const expected = JSON.parse(JSON.stringify(now.json));
  expected.shapes.c1 = k.json.shapes.c1;
  expected.shapes.m1 = k.json.shapes.m1;
  delete expected.shapes.t1;
  await everyClientHas(clients, expected, 'every client has the partial restore');
  assert.deepEqual((await api.state({ seq: partial.body.seq })).body, expected);
  rec.note(partial.body.seq, expected);

  // Every moment, restores included, reads back and replays.
  await checkMoments(api, rec.moments);
});

test('restore while a client is editing: every client converges with the server', async () => {
  const { api, edit, ada, bo, clients, rec, k } = await restoreScene();
  const start = rec.moments.at(-1).seq;
  const editing = (async () => {
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) addShape(bo, `x${i}`, 'marker', { x: i, y: i * 2 });
      else move(bo, bo.shapes.has('r1') ? 'r1' : 'c1', { x: i, y: i, width: 30 + i, height: 40 });
      await sleep(15);
    }
  })();
  await sleep(150);
  const restored = await edit.restore({ seq: k.seq, author: people.ada });
  await editing;
  assert.equal(restored.status, 200, restored.text);
  assert.ok(restored.body.seq > start);
  // Every client and the server agree, whatever the order of the edits and the restore.
  let served = null;
  await eventually(async () => {
    served = (await api.state()).body;
    return clients.every((c) => isDeepStrictEqual(documentJson(c.doc), served));
  }, () => `clients and server converge (server ${JSON.stringify(served).slice(0, 300)}…, Ada ${JSON.stringify(documentJson(ada.doc)).slice(0, 300)}…)`);
  const replay = await api.replay({});
  assert.deepEqual(replay.json, served, 'a replay of the whole log ends where the server is');
  const restores = assertFraming((await api.frames({ from: start })).lines, { from: start }).filter((u) => u.kind === 'restore');
  assert.deepEqual(restores.map((u) => u.seq), [restored.body.seq], 'one restore update');
  const atRestore = await api.state({ seq: restored.body.seq });
  assert.deepEqual(atRestore.body, k.json, 'right after the restore the document is the one at k');
});

test('versions: saved with an edit link, listed oldest first, restored by id', async () => {
  const { api, edit, clients, rec, k } = await restoreScene();
  const now = rec.moments.at(-1);
  const latest = await edit.createVersion({ name: 'Before the review', author: people.bo });
  assert.equal(latest.status, 201, latest.text);
  assert.equal(latest.body.name, 'Before the review');
  assert.equal(latest.body.seq, now.seq, 'without seq: the latest');
  assert.equal(Date.parse(latest.body.at), Date.parse(now.at), 'at: the time of that seq');
  assert.ok(!Number.isNaN(Date.parse(latest.body.created_at)));
  assert.deepEqual(latest.body.author, people.bo);
  assert.equal(typeof latest.body.id, 'string');
  const early = await edit.createVersion({ name: 'n'.repeat(200), seq: k.seq, author: people.ada });
  assert.equal(early.status, 201, early.text);
  assert.equal(early.body.seq, k.seq);
  assert.equal(Date.parse(early.body.at), Date.parse(k.at));
  // Oldest first: by the moment each names (the early one was saved second).
  const listed = await api.versions();
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual(listed.body.versions, [early.body, latest.body]);

  const restored = await edit.restore({ version: early.body.id, author: people.ada });
  assert.equal(restored.status, 200, restored.text);
  assert.equal(restored.body.restored_to, k.seq);
  await everyClientHas(clients, k.json, 'every client at the early version');
  const back = await edit.restore({ version: latest.body.id });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.body.restored_to, now.seq);
  await everyClientHas(clients, now.json, 'every client at the later version');
  assert.equal(await api.latestSeq(), back.body.seq);
});
