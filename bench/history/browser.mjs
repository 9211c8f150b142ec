// The annotation history in the browser (a benchmark, not a test): Chromium opens a
// picture page with a long history, opens History, waits for it to load, then measures
//   - rebuilding random moments on the client: `window.hugepicHistory.seek(seq)` for
//     --seeks random seqs (p50/p99; goal ≤ 150 ms), and to the next painted frame;
//   - playback over the map at each of --speeds (100× and 1×) from --play-from of the
//     history (by seq: most shapes are there by then): frames per second while playing
//     (requestAnimationFrame over --seconds; goal 60 fps with ~2,000 shapes on the map),
//     frame times p50/p99. A built history is dense (thousands of updates a second), so
//     at 100× it plays out in a fraction of a second: a run that reaches the end starts
//     again from the same moment, and those restarts (a seek each, the same work as a
//     100× frame that jumps past a checkpoint) are counted in, and counted;
//   - for reference, the frame rate at the latest moment with nothing playing.
// Readable results on stderr; one JSON object per measure on stdout,
// {"measure", "goal", "value"}, the rows scripts/bench-history adds to its table.
//
//   node bench/history/browser.mjs --base http://127.0.0.1:PORT --picture ID --token TOKEN
//        [--seeks 50] [--seconds 5] [--speeds 100,1] [--play-from 0.9] [--picture-size 40000]
//        [--runs 3] (each in a fresh page: the rows give the median and every run's figure)
//        [--client-dir client/dist] [--chromium /usr/bin/chromium]
//   node bench/history/browser.mjs --build 20000 [--clients 10] [--rate 2000]
//        (starts its own `hugepic serve` from $HUGEPIC_BIN and builds a history with
//        ./build.mjs first: for working on this script)
//   --profile FILE: a CPU profile and an allocation profile of the page during the seeks
//        and the 100× playback (FILE.seeks.cpuprofile, FILE.play100.cpuprofile and
//        .heapprofile: open in Chrome DevTools), and the functions with the most self
//        time and the most bytes allocated printed.
//
// The page and its assets come from --client-dir (default client/dist, `npm run build`
// in client/), whatever the server serves: scripts/bench-history runs the server without
// a client and without workers. A picture that is not ready (no workers: never tiled)
// is shown as --picture-size × --picture-size (default 40,000, the size ./build.mjs
// draws on) with blank tiles, so every shape lies on the picture; the history, the
// annotations and everything else come from the server as they are.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

import { median, percentile, randomSource } from './measure.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Playwright is the client's test dependency (client/node_modules).
const playwright = await import(createRequire(path.join(ROOT, 'client/package.json')).resolve('playwright-core'));
const { chromium } = playwright.default ?? playwright;

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    picture: { type: 'string' },
    token: { type: 'string' },
    seeks: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '5' },
    speeds: { type: 'string', default: '100,1' },
    'play-from': { type: 'string', default: '0.9' },
    'picture-size': { type: 'string', default: '40000' },
    'client-dir': { type: 'string', default: path.join(ROOT, 'client/dist') },
    chromium: { type: 'string', default: process.env.CHROMIUM ?? '/usr/bin/chromium' },
    build: { type: 'string' },
    clients: { type: 'string', default: '10' },
    rate: { type: 'string', default: '2000' },
    profile: { type: 'string' },
    runs: { type: 'string', default: '3' },
  },
});
const log = (...a) => console.error(...a);
const SEEKS = Number(args.seeks);
const SECONDS = Number(args.seconds);
const SPEEDS = args.speeds.split(',').map(Number);
const PLAY_FROM = Number(args['play-from']);
const SIZE = Number(args['picture-size']);
const clientDir = path.resolve(args['client-dir']);
if (!fs.existsSync(path.join(clientDir, 'index.html'))) throw new Error(`no built client in ${clientDir} (npm run build in client/)`);

let server = null;
let browser = null;
let base = args.base;
let pictureId = args.picture;
let token = args.token;
try {
  if (args.build) ({ server, base, pictureId, token } = await buildOwn(Number(args.build)));
  if (!base || !pictureId) throw new Error('give --base URL --picture ID [--token TOKEN], or --build N (see the top of this file)');
  browser = await chromium.launch({ executablePath: args.chromium, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const results = await measure();
  for (const r of results) console.log(JSON.stringify(r));
} finally {
  await browser?.close();
  await server?.stop();
}
// Nothing left to wait for (a Yjs client's timers would keep Node up).
process.exit(0);

/** A server of our own with a history of `updates` updates (for working on this script). */
async function buildOwn(updates) {
  const { startServer } = await import(path.join(ROOT, 'client/tests/interop/server.mjs'));
  const { buildHistory, connectClients } = await import('./build.mjs');
  process.env.HUGEPIC_BIN ??= path.join(process.env.HOME, '.cache/hugepic-target/debug/hugepic');
  process.env.HUGEPIC_HUB_UPDATES_PER_SECOND ??= '100000';
  const own = await startServer(['--no-workers']);
  server = own; // stopped at the end, whatever happens
  const tiny = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  const form = new FormData();
  form.append('file', new Blob([tiny], { type: 'image/png' }), 'tiny.png');
  const picture = await (await fetch(`${own.base}/api/pictures`, { method: 'POST', body: form })).json();
  log(`building ${updates} updates on ${own.base} (picture ${picture.id})`);
  const clients = await connectClients(own.base, picture.id, picture.tokens.edit, Number(args.clients));
  await buildHistory(clients, { updates, rate: Number(args.rate) });
  for (const c of clients) {
    c.provider.destroy();
    c.doc.destroy();
  }
  return { server: own, base: own.base, pictureId: picture.id, token: picture.tokens.view };
}

/** A grey 256×256 PNG: every tile of a picture shown without its own tiles. */
function blankTile() {
  const side = 256;
  const raw = Buffer.alloc((side * 3 + 1) * side, 0x80);
  for (let y = 0; y < side; y++) raw[y * (side * 3 + 1)] = 0;
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const chunk = (type, body) => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, 'ascii');
    body.copy(out, 8);
    let c = 0xffffffff;
    for (const b of out.subarray(4, 8 + body.length)) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + body.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Serves the built client for page routes and assets; stands in for a picture's tiles
 *  when it has none (see the top of this file). */
async function route(context) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' };
  const file = (rel) => {
    const full = path.join(clientDir, rel);
    return full.startsWith(clientDir) && fs.existsSync(full) && fs.statSync(full).isFile() ? full : null;
  };
  await context.route(`${base}/**`, async (r) => {
    const url = new URL(r.request().url());
    if (url.pathname.startsWith('/assets/')) {
      const found = file(url.pathname);
      if (found) return r.fulfill({ path: found, contentType: types[path.extname(found)] ?? 'application/octet-stream' });
    }
    if (url.pathname.startsWith('/p/') || url.pathname.startsWith('/embed/')) return r.fulfill({ path: path.join(clientDir, 'index.html'), contentType: 'text/html' });
    return r.fallback();
  });
  const tile = blankTile();
  const stub = `${base}/bench-stub/${pictureId}`;
  await context.route(`${base}/api/pictures/${pictureId}`, async (r) => {
    const response = await r.fetch();
    const picture = await response.json();
    if (response.status() === 200 && picture.status !== 'ready') {
      log(`the picture is ${picture.status} (not tiled): shown as ${SIZE}×${SIZE} with blank tiles`);
      Object.assign(picture, { status: 'ready', width: SIZE, height: SIZE, error: null, tiles: { ...picture.tiles, dzi: `${stub}.dzi` } });
    }
    return r.fulfill({ response, json: picture });
  });
  await context.route(`${stub}**`, (r) => {
    if (r.request().url().endsWith('.dzi')) {
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Image xmlns="http://schemas.microsoft.com/deepzoom/2008" TileSize="256" Overlap="0" Format="png"><Size Width="${SIZE}" Height="${SIZE}"/></Image>`;
      return r.fulfill({ body: xml, contentType: 'application/xml' });
    }
    return r.fulfill({ body: tile, contentType: 'image/png', headers: { 'cache-control': 'public, max-age=31536000, immutable' } });
  });
}

/** Starts the page's CPU profiler (--profile); the returned function stops it, saves the
 *  profile as FILE.<name>.cpuprofile and prints where the time went. */
async function profiling(page, name) {
  if (!args.profile) return async () => {};
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  // What allocates, sampled (every 16 KiB): the garbage collector's work comes from it.
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile: heap } = await cdp.send('HeapProfiler.stopSampling');
    fs.writeFileSync(`${args.profile}.${name}.heapprofile`, JSON.stringify(heap));
    const allocated = new Map();
    let allocatedTotal = 0;
    const walk = (node) => {
      const f = node.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
      allocated.set(key, (allocated.get(key) ?? 0) + node.selfSize);
      allocatedTotal += node.selfSize;
      for (const child of node.children ?? []) walk(child);
    };
    walk(heap.head);
    log(`allocation profile (${name}): ${(allocatedTotal / 1048576).toFixed(1)} MiB sampled; where most was allocated`);
    for (const [key, bytes] of [...allocated.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) log(`  ${((100 * bytes) / Math.max(1, allocatedTotal)).toFixed(1).padStart(5)}%  ${key}`);
    const { profile } = await cdp.send('Profiler.stop');
    fs.writeFileSync(`${args.profile}.${name}.cpuprofile`, JSON.stringify(profile));
    const total = profile.endTime - profile.startTime;
    const perSample = total / Math.max(1, profile.samples.length);
    const self = new Map();
    for (const node of profile.nodes) {
      const f = node.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0) * perSample);
    }
    const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
    log(`CPU profile (${name}, ${(total / 1e6).toFixed(1)} s): most self time`);
    for (const [key, us] of top) log(`  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
    await cdp.detach();
  };
}

/** Runs the measures --runs times (each in a fresh page, loading the history anew) and
 *  gives each row the median over runs, with every run's figure after it. */
async function measure() {
  const runs = [];
  for (let run = 0; run < Math.max(1, Number(args.runs)); run++) {
    log(`run ${run + 1} of ${args.runs}`);
    runs.push(await measureOnce(run));
  }
  const mid = (pick) => median(runs.map(pick));
  const all = (pick, digits = 1) => (runs.length > 1 ? ` [runs: ${runs.map((r) => pick(r).toFixed(digits)).join(', ')}]` : '');
  const ms = (v) => v.toFixed(1);
  const { updates } = runs[0];
  // Measure names stay the same from run to run (scripts/bench-history makes a row of
  // each name, a column per database); what varies goes in the value.
  return [
    { measure: 'Chromium: History opened and loaded: s', goal: '', value: `${mid((r) => r.loadSeconds).toFixed(1)} (${updates.toLocaleString('en')} updates)${all((r) => r.loadSeconds)}` },
    {
      measure: `Chromium: a random moment rebuilt (hugepicHistory.seek, ${SEEKS} seeks): p50 / p99 ms`,
      goal: 'p99 ≤ 150 ms',
      value: `${ms(mid((r) => r.seek.p50))} / ${ms(mid((r) => r.seek.p99))}${all((r) => r.seek.p99)}`,
    },
    { measure: 'Chromium: seek to the next painted frame: p50 / p99 ms', goal: '', value: `${ms(mid((r) => r.painted.p50))} / ${ms(mid((r) => r.painted.p99))}${all((r) => r.painted.p99)}` },
    ...SPEEDS.map((speed, i) => {
      const play = (r) => r.plays[i];
      const first = play(runs[0]);
      return {
        measure: `Chromium: playback at ${speed}× over the map: fps while playing (frame p99; shapes shown; updates a frame; moments painted whole a second) / with the restarts' seeks`,
        goal: '60 fps with ~2,000 shapes',
        value:
          `${mid((r) => play(r).fps).toFixed(1)} (${ms(mid((r) => play(r).gap.p99))} ms; ${first.minShapes.toLocaleString('en')}-${first.maxShapes.toLocaleString('en')}; ` +
          `${Math.round(mid((r) => play(r).perFrame)).toLocaleString('en')}; ${mid((r) => (play(r).painted * 1000) / play(r).ms).toFixed(1)}) / ${mid((r) => play(r).fpsAll).toFixed(1)} (${Math.round(mid((r) => play(r).restarts))} restarts)${all((r) => play(r).fps)}`,
      };
    }),
    { measure: 'Chromium: nothing playing, the latest moment on the map: fps', goal: '', value: `${mid((r) => r.idle.fps).toFixed(1)} (${runs[0].idle.shapes.toLocaleString('en')} shapes)` },
  ];
}

async function measureOnce(run) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const activity = await (await fetch(`${base}/api/pictures/${pictureId}/history?limit=1`, { headers })).json();
  if (!activity.latest_seq) throw new Error(`no history to measure: ${JSON.stringify(activity).slice(0, 300)}`);
  const updates = activity.authors.reduce((n, a) => n + a.updates, 0);
  log(`picture ${pictureId}: ${updates.toLocaleString('en')} updates, seqs ${activity.first_seq}..${activity.latest_seq}`);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await route(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`page error: ${e}`));
  await page.goto(`${base}/p/${pictureId}${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  await page.locator('[data-test=history-open]').waitFor({ timeout: 60_000 });
  const loadStart = Date.now();
  await page.locator('[data-test=history-open]').click();
  await page.evaluate(() => window.hugepicHistory.loaded);
  await page.waitForFunction(() => window.hugepicHistory.state().seq >= 0, null, { timeout: 600_000 });
  const loadSeconds = (Date.now() - loadStart) / 1000;
  const end = await page.evaluate(() => window.hugepicHistory.state());
  log(`history loaded in ${loadSeconds.toFixed(1)} s; the latest moment has ${end.shapes} shapes`);
  // The whole picture in view, so every shape is on the map.
  await page.locator('[title="Whole picture (Home)"]').click();
  await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim'));

  // Random moments, each timed from the call to its promise, and to the next frame.
  const rng = randomSource(7 + run);
  const seqs = Array.from({ length: SEEKS }, () => activity.first_seq + rng.int(activity.latest_seq - activity.first_seq + 1));
  const stopSeekProfile = run === 0 ? await profiling(page, 'seeks') : async () => {};
  const seeks = await page.evaluate(async (list) => {
    const frame = () => new Promise((done) => window.requestAnimationFrame(() => done()));
    const out = [];
    for (const seq of list) {
      await frame(); // start between frames, as a person's drag does
      const t0 = performance.now();
      await window.hugepicHistory.seek(seq);
      const t1 = performance.now();
      await frame();
      out.push({ seq, ms: t1 - t0, painted: performance.now() - t0, shapes: window.hugepicHistory.state().shapes });
    }
    return out;
  }, seqs);
  await stopSeekProfile();
  const seekMs = seeks.map((s) => s.ms);
  const paintedMs = seeks.map((s) => s.painted);
  const stats = (v) => ({ p50: percentile(v, 50), p99: percentile(v, 99), max: Math.max(...v) });
  const seek = stats(seekMs);
  const painted = stats(paintedMs);
  log(`seek to a random moment (${SEEKS}): p50 ${seek.p50.toFixed(1)} ms, p99 ${seek.p99.toFixed(1)} ms, max ${seek.max.toFixed(1)} ms; to the painted frame: p50 ${painted.p50.toFixed(1)}, p99 ${painted.p99.toFixed(1)} ms`);

  // Frame rate with the latest moment on the map and nothing playing.
  await page.evaluate((seq) => window.hugepicHistory.seek(seq), activity.latest_seq);
  const idle = await page.evaluate(async (seconds) => {
    const times = [];
    await new Promise((done) => {
      const tick = (t) => {
        times.push(t);
        if (t - times[0] < seconds * 1000) window.requestAnimationFrame(tick);
        else done();
      };
      window.requestAnimationFrame(tick);
    });
    return { fps: ((times.length - 1) * 1000) / (times.at(-1) - times[0]), shapes: window.hugepicHistory.state().shapes };
  }, Math.min(2, SECONDS));
  log(`nothing playing, ${idle.shapes} shapes on the map: ${idle.fps.toFixed(1)} fps`);

  // Playback over the map from --play-from of the history (by seq; most of the shapes
  // are there by then) for --seconds at each speed; a run that reaches the end starts
  // again from there.
  const fromSeq = activity.first_seq + Math.floor(PLAY_FROM * (activity.latest_seq - activity.first_seq));
  const plays = [];
  for (const speed of SPEEDS) {
    await page.evaluate((seq) => window.hugepicHistory.seek(seq), fromSeq);
    await page.locator('[data-test=history-speed]').selectOption(String(speed));
    const stopPlayProfile = run === 0 && speed === SPEEDS[0] ? await profiling(page, `play${speed}`) : async () => {};
    const play = await page.evaluate(
      async ({ seconds, seq }) => {
        const button = document.querySelector('[data-test=history-play]');
        const playing = () => button.getAttribute('aria-pressed') === 'true';
        const gaps = [];
        // The frames that started the run again (a seek back of the whole tail, not
        // playback) are timed apart.
        const restartGaps = [];
        let restarted = false;
        const shapes = [];
        let restarts = 0;
        let moments = 0;
        let advanced = 0;
        let last = null;
        let lastSeq = window.hugepicHistory.state().seq;
        // Pictures the canvas showed (each a whole moment; restarts' seeks included).
        const paintsBefore = window.hugepicHistory.paints?.() ?? 0;
        // Long animation frames (Chromium's LoAF entries): where a late frame's time went.
        const long = [];
        const observer = typeof PerformanceObserver !== 'undefined' && PerformanceObserver.supportedEntryTypes?.includes('long-animation-frame') ? new PerformanceObserver((list) => long.push(...list.getEntries())) : null;
        observer?.observe({ type: 'long-animation-frame' });
        button.click();
        await new Promise((done) => {
          const started = performance.now();
          const tick = async (t) => {
            if (last !== null) (restarted ? restartGaps : gaps).push(t - last);
            restarted = false;
            last = t;
            const s = window.hugepicHistory.state();
            shapes.push(s.shapes);
            if (s.seq !== lastSeq) moments += 1;
            if (s.seq > lastSeq) advanced += s.seq - lastSeq;
            lastSeq = s.seq;
            if (t - started >= seconds * 1000) return done();
            if (!playing()) {
              restarts += 1;
              restarted = true;
              await window.hugepicHistory.seek(seq);
              lastSeq = window.hugepicHistory.state().seq;
              button.click();
            }
            window.requestAnimationFrame(tick);
          };
          window.requestAnimationFrame(tick);
        });
        observer?.disconnect();
        // Per long frame: script before rendering, rendering's own parts (rAF callbacks,
        // style and layout, the rest: paint and commit), and the scripts that ran longest.
        const longFrames = long
          .filter((e) => e.duration > 20)
          .map((e) => {
            const render = e.renderStart || e.startTime + e.duration;
            const layout = e.styleAndLayoutStart || e.startTime + e.duration;
            return {
              ms: e.duration,
              scripts: render - e.startTime,
              animationFrames: Math.max(0, layout - render),
              styleAndLayout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
              top: e.scripts
                .slice()
                .sort((a, b) => b.duration - a.duration)
                .slice(0, 2)
                .map((x) => `${x.invokerType}:${x.sourceFunctionName || x.invoker} ${x.duration.toFixed(0)}ms`),
            };
          });
        const painted = (window.hugepicHistory.paints?.() ?? 0) - paintsBefore;
        if (playing()) button.click();
        const ms = gaps.reduce((a, b) => a + b, 0);
        const all = ms + restartGaps.reduce((a, b) => a + b, 0);
        return { fps: (gaps.length * 1000) / ms, fpsAll: ((gaps.length + restartGaps.length) * 1000) / all, ms: all, gaps, restartGaps, restarts, moments, painted, longFrames, perFrame: advanced / Math.max(1, gaps.length), minShapes: Math.min(...shapes), maxShapes: Math.max(...shapes) };
      },
      { seconds: SECONDS, seq: fromSeq },
    );
    await stopPlayProfile();
    const gap = stats(play.gaps);
    plays.push({ speed, ...play, gap });
    if (play.longFrames.length) {
      const sum = (pick) => play.longFrames.reduce((a, f) => a + pick(f), 0).toFixed(0);
      log(
        `  ${play.longFrames.length} frames over 20 ms (${sum((f) => f.ms)} ms): scripts ${sum((f) => f.scripts)} ms, animation-frame callbacks ${sum((f) => f.animationFrames)} ms, style and layout, paint and commit ${sum((f) => f.styleAndLayout)} ms; the longest:`,
      );
      for (const f of play.longFrames.sort((a, b) => b.ms - a.ms).slice(0, 5)) {
        log(`    ${f.ms.toFixed(0)} ms: scripts ${f.scripts.toFixed(0)}, callbacks ${f.animationFrames.toFixed(0)}, style/layout/paint ${f.styleAndLayout.toFixed(0)}; ${f.top.join(', ')}`);
      }
    }
    log(
      `playback at ${speed}× from seq ${fromSeq}, ${play.minShapes}-${play.maxShapes} shapes on the map: ${play.fps.toFixed(1)} fps while playing, ${play.fpsAll.toFixed(1)} with the restarts, over ${(play.ms / 1000).toFixed(1)} s ` +
        `(frame p50 ${gap.p50.toFixed(1)} ms, p99 ${gap.p99.toFixed(1)} ms, max ${gap.max.toFixed(1)} ms; ${play.moments} frames showed a new moment, ${play.painted} moments painted whole, ${play.perFrame.toFixed(0)} updates a frame; ${play.restarts} restarts)`,
    );
  }
  await context.close();
  return { loadSeconds, updates, seek, painted, plays, idle };
}
