// The annotation history benchmark against one running `hugepic serve` (scripts/bench-history
// starts it, once on SQLite and once on PostgreSQL, and prints the table). Builds a
// picture's history with stock Yjs clients, then measures: seeking to random moments
// through history/frames and history/state (time to the whole body), the activity's
// first page, storage against the raw update bytes, and a restore of the whole document
// to an early moment delivered to connected clients. Prints one JSON object on stdout;
// progress goes to stderr.
//
// node run.mjs --base http://127.0.0.1:PORT --pid PID --db sqlite:PATH|postgres:URL
//   [--updates 100000] [--clients 20] [--rate 4000] [--watchers 50] [--yjs-watchers 5]
//   [--seeks 200] [--runs 3] [--quiet-watchers]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as Y from 'yjs';

import { buildHistory, connectClients, until } from './build.mjs';
import { accounted, canonical, latency, log, median, randomSource, timedGet } from './measure.mjs';
import { connectReceivers } from './receivers.mjs';
import { analyzeIfNoAutovacuum, storage } from './storage.mjs';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    pid: { type: 'string' },
    db: { type: 'string' },
    updates: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '20' },
    rate: { type: 'string', default: '4000' },
    watchers: { type: 'string', default: '50' },
    'yjs-watchers': { type: 'string', default: '5' },
    seeks: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    'quiet-watchers': { type: 'boolean', default: false },
  },
});
const base = args.base;
const pid = Number(args.pid);
const updates = Number(args.updates);
const runs = Number(args.runs);
const seeks = Number(args.seeks);
const db = args.db.startsWith('sqlite:') ? { kind: 'sqlite', path: args.db.slice(7) } : { kind: 'postgres', url: args.db.slice(9) };
const now = () => performance.timeOrigin + performance.now();

async function json(path, { token, method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  lastTiming = response.headers.get('server-timing') ?? '';
  return JSON.parse(text);
}
/** The Server-Timing header of the last answer `json` read. */
let lastTiming = '';

// A picture to annotate: a 1×1 PNG (the server runs without workers; the hub needs only its row).
const tiny = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const form = new FormData();
form.append('file', new Blob([tiny], { type: 'image/png' }), 'tiny.png');
const picture = await (await fetch(`${base}/api/pictures`, { method: 'POST', body: form })).json();
const root = `/api/pictures/${picture.id}`;
const view = picture.tokens.view;
const edit = picture.tokens.edit;

// 1. The history: stock Yjs clients, every update logged.
log(`building ${updates} updates from ${args.clients} clients (${db.kind})`);
const builders = await connectClients(base, picture.id, edit, Number(args.clients));
const build = await accounted(pid, async () => {
  const result = await buildHistory(builders, { updates, rate: Number(args.rate) });
  let activity;
  await until(() => builders.every((c) => Y.encodeStateVector(c.doc).toString() === Y.encodeStateVector(builders[0].doc).toString()), 'the builders to converge');
  for (const deadline = Date.now() + 300_000; ; ) {
    activity = await json(`${root}/history?limit=1`, { token: view });
    const logged = activity.authors.reduce((n, a) => n + a.updates, 0);
    if (logged >= updates) break;
    if (Date.now() > deadline) throw new Error(`only ${logged} of ${updates} updates in the history`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ...result, first: activity.first_seq, latest: activity.latest_seq };
});
const { first, latest } = build.result;
log(`built in ${build.wall_s.toFixed(1)} s: ${build.result.liveShapes} live shapes, ${build.result.threads} threads; seqs ${first}..${latest}`);
if (await analyzeIfNoAutovacuum(db)) log('PostgreSQL runs with autovacuum off here: ANALYZE run once after the build, as autovacuum would');

// 2. Seeking to random moments, through frames and as JSON; the activity's first page.
const rng = randomSource(29);
const randomSeq = () => first + rng.int(latest - first + 1);
const auth = { authorization: `Bearer ${view}` };
let framesBytes = 0;
const frames = await accounted(pid, () =>
  latency(async () => {
    const r = await timedGet(`${base}${root}/history/frames?seq=${randomSeq()}`, auth);
    framesBytes = Math.max(framesBytes, r.bytes);
    return r.ms;
  }, { count: seeks, runs }),
);
log(`frames: p50 ${frames.result.p50.toFixed(1)} ms, p99 ${frames.result.p99.toFixed(1)} ms (each run's p99: ${frames.result.runs.map((r) => r.p99.toFixed(1)).join(', ')})`);
// The same through encoding=v2: checkpoints as stored, nothing converted.
const framesV2 = await accounted(pid, () =>
  latency(async () => (await timedGet(`${base}${root}/history/frames?seq=${randomSeq()}&encoding=v2`, auth)).ms, { count: seeks, runs }),
);
log(`frames, encoding=v2: p50 ${framesV2.result.p50.toFixed(1)} ms, p99 ${framesV2.result.p99.toFixed(1)} ms`);
let mostRead = 0;
const state = await accounted(pid, () =>
  latency(async () => {
    const r = await timedGet(`${base}${root}/history/state?seq=${randomSeq()}`, auth);
    mostRead = Math.max(mostRead, Number(r.headers.get('history-updates-read')));
    return r.ms;
  }, { count: seeks, runs }),
);
log(`state: p50 ${state.result.p50.toFixed(1)} ms, p99 ${state.result.p99.toFixed(1)} ms`);
const activity = await accounted(pid, () =>
  latency(async () => (await timedGet(`${base}${root}/history`, auth)).ms, { count: Math.ceil(seeks / 2), runs }),
);
log(`activity: p50 ${activity.result.p50.toFixed(1)} ms, p99 ${activity.result.p99.toFixed(1)} ms`);

// 3. Storage.
const bytes = await storage(db);
log(`storage: log+checkpoints ${bytes.log} bytes for ${bytes.raw} raw update bytes`);

// 4. Restore to an early moment, delivered to every connection of the room; then back
// to the latest. --watchers bare connections time what the server delivers (they do no
// work of their own); --yjs-watchers stock Yjs clients, one per thread, time when a
// client holds the restored document.
// The builders leave first: their going is not part of the restore.
for (const c of builders) c.provider.destroy();
const watchers = Number(args.watchers);
const receivers = await connectReceivers(base, picture.id, view, watchers);
const yjsWatchers = Number(args['yjs-watchers']);
const pool = [];
for (let w = 0; w < yjsWatchers; w++) {
  const worker = new Worker(new URL('./restore-clients.mjs', import.meta.url), {
    workerData: { base, id: picture.id, token: view, count: 1, prefix: `watcher-${w}`, quiet: args['quiet-watchers'] },
  });
  const inbox = [];
  const waiters = [];
  worker.on('message', (m) => (waiters.length ? waiters.shift()(m) : inbox.push(m)));
  worker.on('error', (e) => {
    console.error('watcher thread failed:', e);
    process.exit(1);
  });
  const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r)));
  pool.push({ worker, next });
}
for (const p of pool) await p.next(); // ready
log(`${watchers} connections and ${yjsWatchers} stock Yjs clients in the room`);
await new Promise((r) => setTimeout(r, 1500)); // the arrivals settle

/** POSTs `body` to restore (after its dry run) and times its delivery: to every
 *  connection, and to every Yjs watcher holding `expected`. */
async function deliver(body, expected) {
  // As the client's confirmation does: first a dry run (what would change), then the
  // restore, which is what is timed.
  await json(`${root}/restore`, { token: edit, method: 'POST', body: { ...body, dry_run: true } });
  const wanted = canonical(expected);
  for (const p of pool) p.worker.postMessage({ type: 'arm', expected: wanted });
  for (const p of pool) await p.next(); // armed
  await receivers.arm();
  const posted = now();
  const answer = await json(`${root}/restore`, { token: edit, method: 'POST', body });
  const answered = now();
  const timing = lastTiming;
  const received = await receivers.collect(120_000);
  for (const p of pool) p.worker.postMessage({ type: 'collect', limitMs: 120_000 });
  const results = [];
  for (const p of pool) results.push(await p.next());
  const failed = results.find((r) => r.error);
  if (failed) throw new Error(failed.error);
  const applied = results.flatMap((r) => r.applied);
  // The size of the one update the restore logged (and sent).
  let updateBytes = 0;
  if (answer.seq !== null) {
    const response = await fetch(`${base}${root}/history/frames?from=${answer.seq - 1}&seq=${answer.seq}`, { headers: auth });
    const line = (await response.text()).split('\n').map((l) => l && JSON.parse(l)).find((l) => l && l.type === 'update');
    updateBytes = line ? Buffer.from(line.update, 'base64').length : 0;
  }
  return {
    answer,
    update_bytes: updateBytes,
    server_timing: timing,
    post_ms: answered - posted,
    delivered_ms: Math.max(...received.arrived) - posted,
    first_delivered_ms: Math.min(...received.arrived) - posted,
    applied_ms: Math.max(...applied) - posted,
    watchers: received.arrived.length,
    lost: received.lost + results.reduce((n, r) => n + r.lost, 0),
    closes: [...received.closes, ...results.flatMap((r) => r.closes)],
  };
}

const restore = await accounted(pid, async () => {
  const back = [];
  const out = [];
  for (let run = 0; run < runs; run++) {
    const before = await json(`${root}/history?limit=1`, { token: view });
    const latestJson = await json(`${root}/history/state`, { token: view });
    const early = first + Math.floor((latest - first) * (0.02 + 0.01 * run));
    const earlyJson = await json(`${root}/history/state?seq=${early}`, { token: view });
    const to = await deliver({ seq: early, author: { id: 'bench', name: 'Benchmark', color: '#000000' } }, earlyJson);
    out.push({ ...to, to_seq: early, shapes_at_target: Object.keys(earlyJson.shapes).length, counts: to.answer.counts });
    log(
      `restore to ${early}: POST answered ${to.post_ms.toFixed(0)} ms, the first connection had it at ${to.first_delivered_ms.toFixed(0)} ms, ` +
        `the last of ${to.watchers} at ${to.delivered_ms.toFixed(0)} ms, the last Yjs client held it at ${to.applied_ms.toFixed(0)} ms (an update of ${(to.update_bytes / 1024).toFixed(0)} KiB: ${JSON.stringify(to.answer.counts)}; server: ${to.server_timing})` +
        (to.closes.length ? `; connections closed by the server: ${to.closes.join('; ')} (${to.lost} gone for good)` : ''),
    );
    const returned = await deliver({ seq: before.latest_seq }, latestJson);
    log(`  and back: POST answered ${returned.post_ms.toFixed(0)} ms, the last of ${returned.watchers} connections had it at ${returned.delivered_ms.toFixed(0)} ms, the last Yjs client at ${returned.applied_ms.toFixed(0)} ms (an update of ${(returned.update_bytes / 1024).toFixed(0)} KiB; server: ${returned.server_timing})`);
    back.push(returned);
  }
  return { out, back };
});
for (const p of pool) p.worker.postMessage({ type: 'close' });
await receivers.close();

const summary = (list, key) => median(list.map((r) => r[key]));
console.log(
  JSON.stringify({
    db: db.kind,
    picture: { id: picture.id, view },
    updates,
    clients: Number(args.clients),
    watchers,
    yjs_watchers: yjsWatchers,
    quiet_watchers: args['quiet-watchers'],
    build: { seconds: build.wall_s, cpu_s: build.cpu_s, live_shapes: build.result.liveShapes, threads: build.result.threads, kinds: build.result.kinds, first, latest },
    frames: { ...frames.result, cpu_s: frames.cpu_s, largest_body: framesBytes },
    frames_v2: { ...framesV2.result, cpu_s: framesV2.cpu_s },
    state: { ...state.result, cpu_s: state.cpu_s, most_updates_read: mostRead },
    activity: { ...activity.result, cpu_s: activity.cpu_s },
    storage: { ...bytes, log_ratio: bytes.log / bytes.raw, history_ratio: bytes.history / bytes.raw },
    restore: {
      post_ms: summary(restore.result.out, 'post_ms'),
      delivered_ms: summary(restore.result.out, 'delivered_ms'),
      applied_ms: summary(restore.result.out, 'applied_ms'),
      back_delivered_ms: summary(restore.result.back, 'delivered_ms'),
      back_applied_ms: summary(restore.result.back, 'applied_ms'),
      update_bytes: summary(restore.result.out, 'update_bytes'),
      back_update_bytes: summary(restore.result.back, 'update_bytes'),
      watchers_lost: Math.max(...restore.result.out.map((r) => r.lost), ...restore.result.back.map((r) => r.lost)),
      closes: [...new Set([...restore.result.out, ...restore.result.back].flatMap((r) => r.closes))],
      cpu_s: restore.cpu_s,
      runs: restore.result.out.map(({ answer, ...rest }) => ({ ...rest, seq: answer.seq })),
    },
    // Client-side measures (Chromium) are merged in by scripts/bench-history.
    client: null,
  }),
);
process.exit(0);
