// The annotation history's HTTP routes as the history tests use them (DESIGN.md,
// "Annotation history"): activity, moments as JSON and as frames, a local replay of the
// frames with stock Yjs, restore and versions; and what a test needs to wait on the log.
import assert from 'node:assert/strict';
import { URLSearchParams } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import * as Y from 'yjs';

import { documentJson, until } from './yjs.mjs';

/** Waits until `check()` (async) holds; `what` names it in the timeout error. */
export async function eventually(check, what, limitMs = 20_000, everyMs = 25) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `{status, headers, body, text}` of a request; `body` is the parsed JSON when it is JSON. */
export async function call(base, path, { token, method = 'GET', json } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(base + path, {
    method,
    headers,
    body: json === undefined ? undefined : typeof json === 'string' ? json : JSON.stringify(json),
  });
  const text = await response.text();
  let body = null;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) body = JSON.parse(text);
  return { status: response.status, headers: response.headers, body, text };
}

/** Query string from an object, leaving out undefined values. */
export function query(params = {}) {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null);
  return entries.length ? '?' + new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString() : '';
}

/** Asserts `response` is an error answer of `status` with `{error, detail}`, detail a
 *  sentence (words, not a parser's dump); returns the detail. */
export function assertError(response, status, what) {
  const context = `${what}: ${response.status} ${response.text}`;
  assert.equal(response.status, status, context);
  assert.ok(response.body, `${context} (expected a JSON body)`);
  assert.equal(typeof response.body.error, 'string', context);
  assert.ok(response.body.error.length > 0, context);
  const detail = response.body.detail;
  assert.equal(typeof detail, 'string', context);
  assert.match(detail, /^\S+( \S+){2,}/, `${context} (detail should be a sentence)`);
  assert.doesNotMatch(detail, /Failed to deserialize|ParseIntError|invalid digit|\bErr\(|\bSome\(/, `${context} (detail is a parser's dump)`);
  return detail;
}

/** The history routes of one picture at `base`, called with `token`. */
export function historyOf(base, pictureId, token) {
  const root = `/api/pictures/${pictureId}`;
  const api = {
    base,
    pictureId,
    token,
    /** GET …/history with `params` (limit, before, author, since, until): the response. */
    activity: (params) => call(base, `${root}/history${query(params)}`, { token }),
    /** GET …/history/state?seq|at: the response. */
    state: (params) => call(base, `${root}/history/state${query(params)}`, { token }),
    /** GET …/shapes/{id}/history: the response. */
    shape: (shapeId) => call(base, `${root}/shapes/${encodeURIComponent(shapeId)}/history`, { token }),
    versions: () => call(base, `${root}/versions`, { token }),
    createVersion: (json) => call(base, `${root}/versions`, { token, method: 'POST', json }),
    restore: (json) => call(base, `${root}/restore`, { token, method: 'POST', json }),
    /** GET …/history/frames: the response, with `lines` parsed (one JSON object each). */
    async frames(params) {
      const response = await call(base, `${root}/history/frames${query(params)}`, { token });
      if (response.status === 200) {
        response.lines = response.text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line));
      }
      return response;
    },
    /** The latest seq of the log (0 while it is empty). */
    async latestSeq() {
      const response = await api.activity({ limit: 1 });
      assert.equal(response.status, 200, response.text);
      return response.body.latest_seq ?? 0;
    },
    /** Waits until the log's latest seq is past `after`; returns it. */
    async waitLogged(after, what = 'the update in the log', limitMs = 20_000) {
      let latest = after;
      await eventually(async () => (latest = await api.latestSeq()) > after, `${what} (latest seq still ${after})`, limitMs);
      return latest;
    },
    /** The document at `params` rebuilt from frames with a fresh Y.Doc: `{json, lines}`. */
    async replay(params) {
      const response = await api.frames(params);
      assert.equal(response.status, 200, `frames ${query(params)}: ${response.text}`);
      const doc = new Y.Doc();
      applyFrames(doc, response.lines);
      const json = documentJson(doc);
      doc.destroy();
      return { json, lines: response.lines, response };
    },
  };
  return api;
}

/** Applies frame lines (checkpoint, updates) to `doc` in order, checking their order and
 *  that nothing is left pending (an update missing from the frames would be). */
export function applyFrames(doc, lines) {
  let last = -1;
  for (const line of lines) {
    if (line.type === 'checkpoint') {
      assert.ok(line.seq > last, `checkpoint ${line.seq} after ${last}`);
      last = line.seq;
      assert.ok(['v1', 'v2'].includes(line.encoding), `checkpoint ${line.seq}: encoding ${line.encoding}`);
      (line.encoding === 'v2' ? Y.applyUpdateV2 : Y.applyUpdate)(doc, Buffer.from(line.state, 'base64'));
    } else if (line.type === 'update') {
      assert.ok(line.seq > last, `update ${line.seq} after ${last}: frames out of order`);
      last = line.seq;
      Y.applyUpdate(doc, Buffer.from(line.update, 'base64'));
    }
  }
  assert.equal(doc.store.pendingStructs, null, 'frames left updates pending (something is missing)');
  assert.equal(doc.store.pendingDs, null, 'frames left deletions pending (something is missing)');
}

/** Checks the frame lines' framing for a read up to `seq` (`from` given or not). */
export function assertFraming(lines, { seq, from, latest }) {
  assert.ok(lines.length >= 1, 'frames: at least the end line');
  const end = lines.at(-1);
  assert.equal(end.type, 'end', `last line: ${JSON.stringify(end)}`);
  if (seq !== undefined) assert.equal(end.seq, seq, 'end line: the seq read up to');
  if (latest !== undefined) assert.equal(end.latest_seq, latest, 'end line: latest_seq');
  const body = lines.slice(0, -1);
  // Without `from`: the checkpoint first, a whole state and then any deltas on it, each
  // naming the one before.
  let checkpoints = 0;
  if (from === undefined) {
    assert.equal(body[0]?.type, 'checkpoint', `first line is a checkpoint: ${JSON.stringify(body[0])}`);
    assert.equal(body[0].base ?? null, null, 'the first checkpoint line is a whole state');
    while (body[checkpoints]?.type === 'checkpoint') {
      const c = body[checkpoints];
      assert.ok(c.seq <= end.seq, `checkpoint ${c.seq} at or before ${end.seq}`);
      assert.equal(typeof c.state, 'string');
      if (checkpoints > 0) assert.equal(c.base, body[checkpoints - 1].seq, `delta ${c.seq} on the line before`);
      checkpoints += 1;
    }
  }
  const updates = body.slice(checkpoints);
  const floor = from === undefined ? body[checkpoints - 1].seq : from;
  for (const u of updates) {
    assert.equal(u.type, 'update', `an update line: ${JSON.stringify(u).slice(0, 200)}`);
    assert.ok(u.seq > floor && u.seq <= end.seq, `update ${u.seq} within (${floor}, ${end.seq}]`);
    assert.ok(!Number.isNaN(Date.parse(u.at)), `update ${u.seq} at ${u.at}`);
    assert.equal(typeof u.author?.id, 'string');
    assert.equal(typeof u.author?.name, 'string');
    assert.equal(typeof u.author?.color, 'string');
    assert.ok(u.kind === 'edit' || u.kind === 'restore', `kind ${u.kind}`);
    assert.equal(typeof u.update, 'string');
  }
  return updates;
}

/** Makes edits one at a time through `clients` and records every moment of the log:
 *  after each edit, waits until the server logged it (exactly one new update, by the
 *  editor's awareness user) and every client holds the same document, then keeps
 *  `{seq, json, at, t}`: `at` the update's time as the server gave it, `t` a local time
 *  between this update and the next. `moments[0]` is seq 0, the empty document. */
export function recorder(api, clients) {
  const moments = [{ seq: 0, json: { shapes: {}, comments: {} }, at: null, t: new Date().toISOString() }];
  const rec = {
    moments,
    /** The log's latest seq as far as this recorder knows (restores move it too). */
    latest: 0,
    async edit(c, change, { role = 'edit', what = 'an edit' } = {}) {
      const before = rec.latest;
      change();
      const latest = await api.waitLogged(before, `${c.name}'s ${what} in the log`);
      const frames = await api.frames({ from: before, seq: latest });
      assert.equal(frames.status, 200, frames.text);
      const updates = assertFraming(frames.lines, { seq: latest, from: before });
      assert.equal(updates.length, 1, `${c.name}'s ${what}: one transaction, one logged update (${JSON.stringify(updates.map((u) => u.seq))})`);
      const [update] = updates;
      assert.equal(update.seq, latest);
      assert.deepEqual(update.author, c.user, `${what}: the author is the awareness user`);
      assert.equal(update.role, role);
      assert.equal(update.kind, 'edit');
      const json = documentJson(c.doc);
      await until(
        () => clients.every((other) => isDeepStrictEqual(documentJson(other.doc), json)),
        `every client has ${c.name}'s ${what}`,
        20_000,
      );
      await sleep(3);
      const t = new Date().toISOString();
      await sleep(3);
      rec.latest = latest;
      const moment = { seq: latest, json, at: update.at, t, author: c.user };
      moments.push(moment);
      return moment;
    },
    /** Notes a change to the log made elsewhere (a restore): its seq and what it holds. */
    note(seq, json) {
      rec.latest = seq;
      const moment = { seq, json, at: null, t: null };
      moments.push(moment);
      return moment;
    },
  };
  return rec;
}

/** Asserts `response` has a Server-Timing header with exactly `phases`, in order, each
 *  a duration in milliseconds; a phase given as a list may be any one of its names. */
export function assertTiming(response, phases, what) {
  const header = response.headers.get('server-timing') ?? '';
  const parsed = header.split(',').map((p) => p.trim().match(/^([a-z]+);dur=(\d+(?:\.\d+)?)$/));
  assert.ok(parsed.every(Boolean), `${what}: Server-Timing ${JSON.stringify(header)}`);
  const names = parsed.map((m) => m[1]);
  const expected = phases.map((p, i) => (Array.isArray(p) && p.includes(names[i]) ? names[i] : p));
  assert.deepEqual(names, expected, `${what}: Server-Timing phases`);
}

/** Checks every recorded moment: GET state at its seq (and at its times) is its JSON, and
 *  so is a replay of the frames up to it, from the checkpoint and from the previous moment. */
export async function checkMoments(api, moments, replayApi = api) {
  const latest = await api.latestSeq();
  const doc = new Y.Doc();
  let previous = null;
  for (const moment of moments) {
    const { seq, json } = moment;
    const state = await api.state({ seq });
    assert.equal(state.status, 200, `state?seq=${seq}: ${state.text}`);
    assert.equal(state.headers.get('history-seq'), String(seq), `state?seq=${seq}: History-Seq`);
    assert.ok(/^\d+$/.test(state.headers.get('history-updates-read') ?? ''), `state?seq=${seq}: History-Updates-Read`);
    assert.deepEqual(state.body, json, `state?seq=${seq}`);
    // A moment a restore rebuilt a moment ago is kept; any other is rebuilt.
    assertTiming(state, ['moment', ['replay', 'kept'], 'document'], `state?seq=${seq}`);

    const replay = await replayApi.replay({ seq });
    assertFraming(replay.lines, { seq, latest });
    assert.deepEqual(replay.json, json, `replay of frames?seq=${seq}`);

    if (previous !== null) {
      const step = await replayApi.frames({ from: previous, seq });
      assert.equal(step.status, 200, step.text);
      const updates = assertFraming(step.lines, { seq, from: previous, latest });
      assert.deepEqual(updates.map((u) => u.seq), [seq], `frames?from=${previous}&seq=${seq}: the one update between`);
      applyFrames(doc, updates);
      assert.deepEqual(documentJson(doc), json, `replay from ${previous} to ${seq}`);
    }
    previous = seq;

    for (const at of [moment.at, moment.t]) {
      if (!at) continue;
      const byTime = await api.state({ at });
      assert.equal(byTime.status, 200, `state?at=${at}: ${byTime.text}`);
      assert.equal(byTime.headers.get('history-seq'), String(seq), `state?at=${at} resolves to seq ${seq}`);
      assert.deepEqual(byTime.body, json, `state?at=${at}`);
    }
  }
  doc.destroy();
}

/** Shapes and threads that differ between two document JSONs, as a restore from `now`
 *  back to `then` would count them. */
export function difference(now, then) {
  const ids = new Set([...Object.keys(now.shapes), ...Object.keys(then.shapes)]);
  const added = [];
  const changed = [];
  const deleted = [];
  for (const id of ids) {
    const a = now.shapes[id];
    const b = then.shapes[id];
    if (a === undefined) added.push(id);
    else if (b === undefined) deleted.push(id);
    else if (!isDeepStrictEqual(a, b)) changed.push(id);
  }
  const threads = new Set([...Object.keys(now.comments), ...Object.keys(then.comments)]);
  const comments = [...threads].filter((id) => !isDeepStrictEqual(now.comments[id], then.comments[id]));
  return { added, changed, deleted, comments, shapeIds: [...added, ...changed, ...deleted].sort() };
}

/** Sum of a Prometheus counter's samples in `/metrics` text (0 when absent). */
export function metricValue(text, name) {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
  return total;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
