// The annotation history in real Chromium against a running `hugepic serve`, people in
// separate browser contexts (nothing passes between them but the server). One picture:
// - Ada (edit link) draws five shapes with the tools, a little real time apart, and Bo
//   comments in between; Bo opens History, drags the scrubber back until the moment
//   after the second shape: exactly those two shapes, at their image pixels; Play from
//   the start shows the five appear in order; "only Ada's changes" leaves her ticks,
//   entries and steps; a shape selected in the replay shows its versions;
// - Bo restores the moment after the second shape: Ada's page drops the other three
//   live, without reloading, and the server's document is that moment's; the shape
//   the restore deleted shows both versions;
// - `&t=` links (a seq, an ISO time with an offset) open at their moment;
// - a view link and a tokenless visitor: the timeline, no Restore or Save version, no
//   error shown and nothing refused by the server (`hugepic_hub_refused_updates_total`);
// - a 375×667 touch screen: a finger on the scrubber moves the moment;
// - the panel takes room from the map: Home still shows the whole picture.
// The tests build on each other (one history). Screenshots go to test-output/history-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

import { png, startServer, waitFinal } from '../interop/server.mjs';
import { clickMap, clickTwice, drag, frame, settled, tool, until } from './map-input.mjs';

const OUT = path.resolve('test-output');
const WIDTH = 2400;
const HEIGHT = 1600;
const TOP = Math.ceil(Math.log2(Math.max(WIDTH, HEIGHT)));
/** Real time between Ada's shapes, so each is its own moment on the timeline. */
const APART_MS = 1200;
const DESKTOP = { viewport: { width: 1100, height: 760 } };
const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const ADA = { name: 'Ada', color: '#3f51b5' };
const BO = { name: 'Bo', color: '#009688' };

let server;
let browser;
let picture;
/** Everyone opened, closed (and checked for page errors) at the end. */
const people = [];
/** What the first test built, for the others (they skip when it did not run, e.g. left
 *  out by --test-name-pattern, and fail with its error when it failed). */
let built;
let drawing = false;
const story = new Promise((resolve, reject) => {
  built = { resolve, reject };
});
story.catch(() => undefined);
/** The first test's history, or null (and `t` skipped) if it did not run. */
async function storyFor(t) {
  if (drawing) return story;
  t.skip('needs the history the first test draws');
  return null;
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  // HUGEPIC_CLIENT_DIR: another build of the client (default: this one's dist/).
  server = await startServer(['--client-dir', path.resolve(process.env.HUGEPIC_CLIENT_DIR ?? 'dist')]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const form = new FormData();
  form.append('file', new Blob([png(WIDTH, HEIGHT, 'chart')]), 'chart.png');
  const response = await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  picture = await response.json();
  assert.equal((await waitFinal(server.base, picture.id)).status, 'ready');
});

after(async () => {
  for (const p of people) await p.context.close().catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

/** Opens the picture with `token` (null: no token) as `user` in a new context. Collects
 *  page errors, dialogs and failed responses, to be empty at the end. */
async function open(token, user, { contextOptions = DESKTOP, hash = '', waitLive = true } = {}) {
  const context = await browser.newContext(contextOptions);
  // Someone who opened the drawing tools before (they start folded on a first visit).
  await context.addInitScript(() => window.localStorage.setItem('hugepic:tools-open', '1'));
  await context.addInitScript(([n, c]) => localStorage.setItem('hugepic:user', JSON.stringify({ name: n, color: c })), [user.name, user.color]);
  const page = await context.newPage();
  const person = { context, page, name: user.name, errors: [], dialogs: [], failed: [] };
  page.on('pageerror', (e) => person.errors.push(String(e)));
  page.on('dialog', (d) => {
    person.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('response', (r) => r.status() >= 400 && person.failed.push(`${r.status()} ${r.url()}`));
  people.push(person);
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  await page.goto(`${server.base}/p/${picture.id}${query}${hash}`);
  if (waitLive) await live(page);
  return person;
}

async function live(page) {
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected' && window.hugepicAnnotations?.provider.synced, null, { timeout: 30_000 });
}

/** Closes a person's context after checking nothing went wrong on their page. */
async function close(person) {
  assert.deepEqual(person.errors, [], `no page errors for ${person.name}`);
  assert.deepEqual(person.dialogs, [], `no dialogs for ${person.name}`);
  assert.deepEqual(person.failed, [], `no failed requests for ${person.name}`);
  people.splice(people.indexOf(person), 1);
  await person.context.close();
}

const shapesOf = (page) => page.evaluate(() => window.hugepicAnnotations.shapes());
const historyState = (page) => page.evaluate(() => window.hugepicHistory.state());
const shot = (page, name) => page.screenshot({ path: path.join(OUT, `history-${name}.png`) });
/** For waitForFunction (serialised into the page, so `n` comes as its argument). */
const liveCountIs = (n) => Object.keys(window.hugepicAnnotations.shapes()).length === n;

async function api(route, token = picture.tokens.view) {
  const response = await fetch(`${server.base}/api/pictures/${picture.id}${route}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET ${route}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}
const latestSeq = async () => (await api('/history?limit=1')).latest_seq;

/** The counter of updates the hub refused, from /metrics. */
async function refusedUpdates() {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith('hugepic_hub_refused_updates_total'));
  assert.ok(lines.length > 0, 'hugepic_hub_refused_updates_total in /metrics');
  return lines.reduce((sum, l) => sum + Number(l.split(/\s+/).pop()), 0);
}

/** Waits until the history panel shows a replay (the index loaded, a moment shown). */
async function replaying(page) {
  await page.evaluate(() => window.hugepicHistory.loaded);
  await until(page, () => window.hugepicHistory.state().seq >= 0, null, 'the replay shown', 30_000);
}

/** Gives `page` `window.__screenOf()`: image pixels → page pixels on its map, from the
 *  view in its hash (`#zoom/x/y`: zoom, and the image pixel at the map's centre). */
async function measureMap(page) {
  await page.evaluate((top) => {
    window.__screenOf = () => {
      const [zoom, cx, cy] = location.hash.slice(1).split('&')[0].split('/').map(Number);
      const box = document.querySelector('#map').getBoundingClientRect();
      const scale = 2 ** (zoom - top);
      return { scale, x0: box.left + box.width / 2 - cx * scale, y0: box.top + box.height / 2 - cy * scale, left: box.left, top: box.top };
    };
  }, TOP);
}

/** Where a shape's outline should be (its bounding box, image pixels), for the kinds drawn here. */
function boxOfShape(shape) {
  const g = shape.geometry;
  if (shape.type === 'rectangle') return { x: g.x, y: g.y, width: g.width, height: g.height };
  if (shape.type === 'circle') return { x: g.cx - g.r, y: g.cy - g.r, width: 2 * g.r, height: 2 * g.r };
  const xs = g.map((p) => p[0]);
  const ys = g.map((p) => p[1]);
  return { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
}

/** Waits until the map's drawn shapes are exactly `shapes`, each at its image pixels
 *  (within 4 page pixels: the hash rounds the zoom to 0.01). Live, the shapes are SVG
 *  paths; in the replay they share one canvas: their boxes come from the history's
 *  hook, and the canvas must have paint where each outline crosses its box's edges. */
async function drawnAt(page, shapes, what) {
  const boxes = shapes.map(boxOfShape);
  await measureMap(page);
  await page.evaluate(() => {
    window.__drawnNow = () => {
      if (window.hugepicHistory.state().seq < 0) {
        return [...document.querySelectorAll('.leaflet-overlay-pane path')].map((p) => {
          const r = p.getBoundingClientRect();
          return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, painted: true };
        });
      }
      const canvas = document.querySelector('.leaflet-overlay-pane canvas');
      const r = canvas.getBoundingClientRect();
      const ratio = canvas.width / r.width;
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      // Paint within 3 page pixels of a page point.
      const paintNear = (x, y) => {
        for (let dy = -3; dy <= 3; dy++) {
          for (let dx = -3; dx <= 3; dx++) {
            const cx = Math.round((x + dx - r.left) * ratio);
            const cy = Math.round((y + dy - r.top) * ratio);
            if (cx >= 0 && cy >= 0 && cx < canvas.width && cy < canvas.height && pixels.data[(cy * canvas.width + cx) * 4 + 3] > 0) return true;
          }
        }
        return false;
      };
      return window.hugepicHistory.drawn().map((d) => {
        const mx = (d.left + d.right) / 2;
        const my = (d.top + d.bottom) / 2;
        return { ...d, painted: paintNear(d.left, my) && paintNear(d.right, my) && paintNear(mx, d.top) && paintNear(mx, d.bottom) };
      });
    };
  });
  const check = (wanted) => {
    const at = window.__screenOf();
    const drawn = window.__drawnNow();
    if (drawn.length !== wanted.length) return false;
    return wanted.every((b) => {
      const want = { left: at.x0 + b.x * at.scale, top: at.y0 + b.y * at.scale, right: at.x0 + (b.x + b.width) * at.scale, bottom: at.y0 + (b.y + b.height) * at.scale };
      return drawn.some((d) => d.painted && ['left', 'top', 'right', 'bottom'].every((k) => Math.abs(d[k] - want[k]) <= 4));
    });
  };
  try {
    await page.waitForFunction(check, boxes, { timeout: 10_000 });
  } catch {
    const seen = await page.evaluate(() => ({
      at: window.__screenOf(),
      drawn: window.__drawnNow().map((d) => [d.left, d.top, d.right, d.bottom].map(Math.round).concat(d.painted ? [] : ['not painted'])),
    }));
    throw new Error(`${what}: wanted ${JSON.stringify(boxes)} (image pixels), drawn ${JSON.stringify(seen)}`);
  }
}

/** An image pixel's place on `page`'s map (map pixels, for clicks). */
async function onMap(page, [x, y]) {
  await measureMap(page);
  return page.evaluate(([px, py]) => {
    const at = window.__screenOf();
    return [at.x0 + px * at.scale - at.left, at.y0 + py * at.scale - at.top];
  }, [x, y]);
}

/** Drags `page`'s map (as a person would) so the box around `shapes` sits in the
 *  middle of the map (as far as the picture's edges let it). */
async function centreOn(page, shapes) {
  const boxes = shapes.map(boxOfShape);
  const x0 = Math.min(...boxes.map((b) => b.x));
  const y0 = Math.min(...boxes.map((b) => b.y));
  const x1 = Math.max(...boxes.map((b) => b.x + b.width));
  const y1 = Math.max(...boxes.map((b) => b.y + b.height));
  await settled(page);
  const [x, y] = await onMap(page, [(x0 + x1) / 2, (y0 + y1) / 2]);
  const map = await page.locator('#map').boundingBox();
  const centre = [map.width / 2, map.height / 2];
  if (Math.hypot(x - centre[0], y - centre[1]) < 10) return;
  // A drag moves the picture with the mouse: from the shapes' centre to the map's,
  // started from a point inside the map however far away the shapes are.
  const dx = Math.max(-map.width / 2 + 20, Math.min(map.width / 2 - 20, centre[0] - x));
  const dy = Math.max(-map.height / 2 + 20, Math.min(map.height / 2 - 20, centre[1] - y));
  const from = [centre[0] - dx / 2, centre[1] - dy / 2];
  await drag(page, from, [from[0] + dx, from[1] + dy], 10);
  await settled(page);
}

/** Colours as the page computes them ("rgb(r, g, b)"). */
const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
const tickColours = (page) => page.locator('.history-ticks span').evaluateAll((spans) => spans.map((s) => s.style.background));
const entryTexts = (page) => page.locator('[data-test=history-entry]').allTextContents();

/** Real time has to pass here: the timeline places changes by when they were made. */
const letTimePass = (ms) => new Promise((r) => setTimeout(r, ms));

test('Ada draws five shapes over time; Bo scrubs to the moment after the second, plays, filters by author and looks at a shape', async () => {
  drawing = true;
  try {
    const a = await open(picture.tokens.edit, ADA);
    const b = await open(picture.tokens.edit, BO);
    assert.equal(await refusedUpdates(), 0, 'nothing refused on opening');
    assert.equal(await latestSeq(), 0, 'connecting writes nothing to the history');

    // Ada draws with the tools; each shape is one update, seen by Bo before the next.
    const shapes = []; // in drawing order: {id, type, geometry, seq}
    let commentSeq = null;
    const draws = [
      ['rectangle', () => tool(a.page, 'Rectangle').click().then(() => clickTwice(a.page, [150, 200], [380, 330]))],
      ['circle', () => tool(a.page, 'Circle').click().then(() => clickTwice(a.page, [540, 460], [590, 460]))],
      [
        'polygon',
        async () => {
          await tool(a.page, 'Polygon').click();
          for (const at of [[450, 180], [600, 200], [560, 320], [450, 180]]) await clickMap(a.page, at);
        },
      ],
      [
        'polyline',
        async () => {
          await tool(a.page, 'Line').click();
          for (const at of [[150, 400], [260, 450], [380, 410], [380, 410]]) await clickMap(a.page, at);
        },
      ],
      ['freehand', () => tool(a.page, 'Freehand').click().then(() => drag(a.page, [150, 500], [380, 560], 10))],
    ];
    for (const [type, draw] of draws) {
      if (shapes.length) await letTimePass(APART_MS);
      await draw();
      const n = shapes.length + 1;
      await until(b.page, liveCountIs, n, `Ada's ${type} at Bo`);
      const all = await shapesOf(a.page);
      const id = Object.keys(all).find((k) => !shapes.some((s) => s.id === k));
      assert.equal(all[id].type, type, `Ada drew a ${type}`);
      shapes.push({ id, ...all[id], seq: await latestSeq() });
      if (n === 3) {
        // Bo comments between Ada's third and fourth shapes: a change by someone else.
        await letTimePass(APART_MS);
        await b.page.getByRole('button', { name: 'Comment', exact: true }).click();
        await clickMap(b.page, [250, 100]);
        await b.page.getByRole('textbox', { name: 'Write a comment' }).fill('Why here?');
        await b.page.locator('form.comment-form', { has: b.page.getByRole('textbox', { name: 'Write a comment' }) }).getByRole('button', { name: 'Post' }).click();
        await a.page.locator('.thread-title', { hasText: 'Why here?' }).waitFor({ timeout: 10_000 });
        commentSeq = await latestSeq();
        assert.equal(commentSeq, shapes[2].seq + 1, "Bo's comment is one update");
      }
    }
    await a.page.keyboard.press('Escape'); // the freehand pen down
    const seqs = shapes.map((s) => s.seq);
    assert.deepEqual(seqs, [1, 2, 3, 5, 6], `one update per shape, the comment the fourth: ${JSON.stringify(seqs)}`);
    // The server's moment after the second shape: exactly Ada's first two, as drawn.
    const second = await api(`/history/state?seq=${seqs[1]}`);
    assert.deepEqual(Object.keys(second.shapes).sort(), [shapes[0].id, shapes[1].id].sort());
    for (const s of shapes.slice(0, 2)) assert.deepEqual(second.shapes[s.id].geometry, s.geometry);
    const frames = (await (await fetch(`${server.base}/api/pictures/${picture.id}/history/frames?from=0`, { headers: { authorization: `Bearer ${picture.tokens.view}` } })).text())
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((f) => f.type === 'update');
    const timeOf = Object.fromEntries(frames.map((f) => [f.seq, f.at]));
    for (let i = 1; i < shapes.length; i++) {
      const gap = Date.parse(timeOf[seqs[i]]) - Date.parse(timeOf[seqs[i - 1]]);
      assert.ok(gap >= APART_MS, `shapes ${i} and ${i + 1} are ${gap} ms apart`);
    }
    const adaId = shapes[0].author_id;
    const boId = frames.find((f) => f.seq === commentSeq).author.id;
    for (const f of frames) assert.equal(f.author.id, f.seq === commentSeq ? boId : adaId, `the author of change ${f.seq}`);
    assert.notEqual(boId, adaId);

    // Bo opens History: the latest moment, the five shapes, ticks in both colours.
    await b.page.locator('[data-test=history-open]').click();
    await replaying(b.page);
    await b.page.locator('[data-test=history-timeline]').waitFor();
    assert.deepEqual(await historyState(b.page), { seq: seqs[4], shapes: 5 });
    assert.equal(await b.page.locator('[data-test=history-restore]').count(), 1, 'an edit link may restore');
    assert.equal(await b.page.locator('[data-test=history-save-version]').count(), 1, 'an edit link may save versions');
    const colours = await tickColours(b.page);
    assert.ok(colours.includes(rgb(ADA.color)) && colours.includes(rgb(BO.color)), `ticks in Ada's and Bo's colours: ${colours}`);
    await until(b.page, () => document.querySelectorAll('[data-test=history-entry]').length === 3, null, 'three activity entries');
    const entries = await entryTexts(b.page);
    assert.match(entries[0], /^Ada added 2 shapes/, entries.join(' | '));
    assert.match(entries[1], /^Bo commented/, entries.join(' | '));
    assert.match(entries[2], /^Ada added 3 shapes/, entries.join(' | '));

    // Bo drags the scrubber back from the end until two shapes are left: the moment
    // after the second shape (the last one with two).
    await settled(b.page);
    const rail = await b.page.locator('.history-rail').boundingBox();
    const y = rail.y + rail.height / 2;
    await b.page.mouse.move(rail.x + rail.width - 1, y);
    await b.page.mouse.down();
    let x = rail.x + rail.width - 1;
    const passed = [seqs[4]];
    for (;;) {
      x -= 3;
      assert.ok(x > rail.x, `the drag reached the left end without showing two shapes: ${passed}`);
      await b.page.mouse.move(x, y);
      await frame(b.page);
      await frame(b.page);
      const now = await historyState(b.page);
      if (now.seq !== passed.at(-1)) passed.push(now.seq);
      if (now.shapes <= 2) break;
    }
    await b.page.mouse.up();
    assert.deepEqual(passed, [6, 5, 4, 3, 2], 'every change passed on the way back, one at a time');
    assert.deepEqual(await historyState(b.page), { seq: seqs[1], shapes: 2 }, 'the moment after the second shape');
    await until(b.page, (s) => location.hash.endsWith(`&t=${s}`), seqs[1], 'the moment in the hash');
    assert.equal(await b.page.locator('[data-test=history-scrubber]').getAttribute('aria-valuenow'), String(seqs[1]));
    assert.match(await b.page.locator('[data-test=history-banner]').textContent(), /^Viewing \d+ \w+ \d\d:\d\d/);
    assert.match(await b.page.locator('.connection').textContent(), /^Viewing the past/, 'the header does not say Live over the past');
    // The panel took room from the map: Bo brings the two shapes into view.
    await centreOn(b.page, shapes.slice(0, 2));
    await drawnAt(b.page, shapes.slice(0, 2), 'the replay at Bo after the second shape');
    // Ada's live map is untouched by Bo's history.
    assert.equal(Object.keys(await shapesOf(a.page)).length, 5);
    await shot(b.page, 'scrub');

    // Play from the start (Home on the scrubber): the shapes appear one by one, in order.
    await b.page.locator('[data-test=history-scrubber]').focus();
    await b.page.keyboard.press('Home');
    assert.deepEqual(await historyState(b.page), { seq: 0, shapes: 0 });
    await b.page.evaluate((outlined) => {
      const seen = [];
      window.__played = seen;
      // Each moment while playing, once its canvas has drawn it: is every shape painted?
      // (The rectangle and the circle: their outlines cross their boxes' edges halfway,
      // where `drawnAt` looks for paint; a polygon's need not.)
      window.__paintedWhilePlaying = [];
      const watch = () => {
        const s = window.hugepicHistory.state();
        const last = seen[seen.length - 1];
        if (!last || last.seq !== s.seq) seen.push(s);
        const painted = window.__paintedWhilePlaying;
        const playing = document.querySelector('[data-test=history-play]').getAttribute('aria-pressed') === 'true';
        if (playing && s.shapes > 0 && !window.hugepicHistory.painting() && painted.at(-1)?.seq !== s.seq) {
          const drawn = window.__drawnNow().filter((d) => outlined.includes(d.id));
          painted.push({ seq: s.seq, shapes: drawn.length, painted: drawn.filter((d) => d.painted).length, unpainted: drawn.filter((d) => !d.painted) });
        }
        if (!window.__stopWatching) window.requestAnimationFrame(watch);
      };
      watch();
    }, shapes.slice(0, 2).map((shape) => shape.id));
    assert.equal(await b.page.locator('[data-test=history-speed]').inputValue(), '1', 'plays at 1× by default');
    await b.page.locator('[data-test=history-play]').click();
    await until(b.page, () => document.querySelector('[data-test=history-play]').getAttribute('aria-pressed') === 'true', null, 'playing');
    const playMs = Date.parse(timeOf[seqs[4]]) - Date.parse(timeOf[seqs[0]]);
    await until(b.page, () => document.querySelector('[data-test=history-play]').getAttribute('aria-pressed') === 'false', null, 'the end of playback', playMs + 60_000);
    const played = await b.page.evaluate(() => {
      window.__stopWatching = true;
      // The last step and the end of play come in one frame, maybe after this frame's look.
      const s = window.hugepicHistory.state();
      if (window.__played.at(-1).seq !== s.seq) window.__played.push(s);
      return window.__played;
    });
    assert.deepEqual(
      played.map((s) => s.seq),
      [0, ...frames.map((f) => f.seq)],
      `every change played, in order: ${JSON.stringify(played)}`,
    );
    assert.deepEqual(played.map((s) => s.shapes), [0, 1, 2, 3, 3, 4, 5], 'one more shape at each of Ada’s changes');
    // While playing, the canvas draws each moment over frames and then shows it whole.
    const paintedWhilePlaying = await b.page.evaluate(() => window.__paintedWhilePlaying);
    assert.ok(paintedWhilePlaying.length >= 3, `moments seen drawn while playing: ${JSON.stringify(paintedWhilePlaying)}`);
    for (const p of paintedWhilePlaying) assert.ok(p.shapes > 0 && p.painted === p.shapes, `the rectangle and the circle painted while playing: ${JSON.stringify(p)}`);
    assert.deepEqual(await historyState(b.page), { seq: seqs[4], shapes: 5 });

    // Only Ada's changes: her ticks and entries alone; the steps skip Bo's comment.
    const allTicks = colours.length;
    await b.page.locator('[data-test=history-author]').selectOption(adaId);
    await until(b.page, (c) => [...document.querySelectorAll('.history-ticks span')].every((s) => s.style.background === c), rgb(ADA.color), "only Ada's ticks");
    const adaTicks = await tickColours(b.page);
    assert.ok(adaTicks.length > 0 && adaTicks.length < allTicks, `fewer ticks: ${adaTicks.length} of ${allTicks}`);
    await until(b.page, () => [...document.querySelectorAll('[data-test=history-entry]')].map((e) => e.textContent).join('|').match(/^Ada added 2 shapes[^|]*\|Ada added 3 shapes[^|]*$/), null, "only Ada's entries");
    await b.page.evaluate((s) => window.hugepicHistory.seek(s), seqs[2]);
    await b.page.locator('[data-test=history-next]').click();
    assert.equal((await historyState(b.page)).seq, seqs[3], "next goes to Ada's fourth shape, past Bo's comment");
    await b.page.locator('[data-test=history-prev]').click();
    assert.equal((await historyState(b.page)).seq, seqs[2], "previous comes back to Ada's third");
    await b.page.locator('[data-test=history-author]').selectOption('');
    await until(b.page, () => document.querySelectorAll('[data-test=history-entry]').length === 3, null, "everyone's entries again");
    await b.page.locator('[data-test=history-next]').click();
    assert.equal((await historyState(b.page)).seq, commentSeq, "with everyone's changes, next is Bo's comment");

    // A shape selected in the replay: its versions (the circle: drawn once, by Ada).
    await b.page.evaluate((s) => window.hugepicHistory.seek(s), seqs[4]);
    await centreOn(b.page, [shapes[1]]);
    const circle = shapes[1].geometry;
    await clickMap(b.page, await onMap(b.page, [circle.cx - circle.r, circle.cy]));
    const log = b.page.locator('.history-shape');
    await log.locator('li').first().waitFor({ timeout: 10_000 });
    const circleVersions = await log.locator('li').allTextContents();
    assert.equal(circleVersions.length, 1, `one version: ${circleVersions}`);
    assert.match(circleVersions[0], /^Ada drew it · \d+ \w{3} \d\d:\d\d$/);
    const selected = await b.page.evaluate(() => window.hugepicHistory.drawn().filter((d) => d.selected).map((d) => d.id));
    assert.deepEqual(selected, [shapes[1].id], 'the circle is drawn selected');
    await b.page.locator('.history-shape').getByRole('button', { name: 'Clear' }).click();
    assert.equal(await log.isVisible(), false);

    built.resolve({ a, b, shapes, seqs, commentSeq, timeOf, adaId, boId });
  } catch (e) {
    built.reject(e);
    throw e;
  }
});

test('Bo restores the moment after the second shape: Ada sees it live, the server agrees', async (t) => {
  const told = await storyFor(t);
  if (!told) return;
  const { a, b, shapes, seqs } = told;
  // Back to that moment with the keys: Home, then two changes on.
  await b.page.locator('[data-test=history-scrubber]').focus();
  await b.page.keyboard.press('Home');
  await b.page.keyboard.press('ArrowRight');
  await b.page.keyboard.press('ArrowRight');
  assert.deepEqual(await historyState(b.page), { seq: seqs[1], shapes: 2 });
  await a.page.evaluate(() => {
    window.__samePage = true;
  });

  await b.page.locator('[data-test=history-restore]').click();
  const dialog = b.page.locator('dialog.history-restore');
  await dialog.waitFor();
  await until(b.page, () => !document.querySelector('[data-test=history-restore-confirm]').disabled, null, 'the dry run', 15_000);
  assert.equal(
    await dialog.locator('.history-restore-summary').textContent(),
    'This will delete 3 shapes, change 1 comment (3 shapes in all). It is added to the history as one change, which can itself be undone by restoring.',
  );
  assert.equal(await latestSeq(), seqs[4], 'the dry run wrote nothing');
  await shot(b.page, 'restore');
  await b.page.locator('[data-test=history-restore-confirm]').click();
  await b.page.locator('.history-status', { hasText: 'Restored: the annotations are as they were on' }).waitFor({ timeout: 15_000 });
  await dialog.waitFor({ state: 'detached' });

  // Ada's live page: three shapes gone, without a reload.
  await until(a.page, liveCountIs, 2, 'the restore at Ada', 10_000);
  assert.equal(await a.page.evaluate(() => window.__samePage), true, 'Ada’s page was not reloaded');
  const atA = await shapesOf(a.page);
  assert.deepEqual(Object.keys(atA).sort(), [shapes[0].id, shapes[1].id].sort());
  await drawnAt(a.page, shapes.slice(0, 2), 'the restored shapes on Ada’s live map');
  await shot(a.page, 'restored-at-ada');
  // The server: one more update, the document now that moment's, shapes and comments.
  const restoreSeq = await latestSeq();
  assert.equal(restoreSeq, seqs[4] + 1, 'the restore is one update');
  const now = await api('/history/state');
  const then = await api(`/history/state?seq=${seqs[1]}`);
  assert.deepEqual(now.shapes, then.shapes);
  assert.deepEqual(now.shapes, atA, "the server's document is Ada's");
  assert.deepEqual(Object.keys(now.comments), Object.keys(then.comments), 'the comment made after that moment is gone too');
  // Bo's replay follows to the restored end; the activity says who restored.
  assert.deepEqual(await historyState(b.page), { seq: restoreSeq, shapes: 2 });
  await until(b.page, () => /^Bo restored the moment/.test(document.querySelector('[data-test=history-entry]')?.textContent ?? ''), null, 'the restore in the activity');

  // The freehand line the restore deleted: both versions, and going to the first.
  await b.page.evaluate((s) => window.hugepicHistory.seek(s), seqs[4]);
  await centreOn(b.page, [shapes[4]]);
  const line = shapes[4].geometry;
  const point = await onMap(b.page, line[Math.floor(line.length / 2)]);
  await clickMap(b.page, point);
  const log = b.page.locator('.history-shape');
  await until(b.page, () => document.querySelectorAll('.history-shape li').length === 2, null, "the freehand line's two versions").catch(async (e) => {
    await shot(b.page, 'failed');
    throw new Error(`${e.message}: ${await log.textContent()}; clicked ${point} on the map`);
  });
  const versions = await log.locator('li').allTextContents();
  assert.match(versions[0], /^Ada drew it · /);
  assert.match(versions[1], /^Bo deleted it · /);
  assert.match(await log.textContent(), /Deleted now \(since /);
  await log.locator('li button').first().click();
  assert.deepEqual(await historyState(b.page), { seq: seqs[4], shapes: 5 }, 'the version drawn');
  await b.page.locator('[data-test=history-live]').click();
  assert.equal((await historyState(b.page)).seq, -1, 'back to live');
  assert.doesNotMatch(await b.page.evaluate(() => location.hash), /&t=/, 'the moment left the hash');
  await b.page.locator('[data-test=history-timeline]').waitFor({ state: 'detached' });
  await until(b.page, liveCountIs, 2, 'the live shapes at Bo');
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 2, 'the live shapes drawn again');
  await close(a);
  await close(b);
});

test('&t= links open at a seq and at an ISO time', async (t) => {
  const told = await storyFor(t);
  if (!told) return;
  const { seqs, timeOf } = told;
  // A seq, after the view.
  const bySeq = await open(picture.tokens.edit, BO, { hash: `#11/1200/800&t=${seqs[3]}` });
  await replaying(bySeq.page);
  assert.deepEqual(await historyState(bySeq.page), { seq: seqs[3], shapes: 4 });
  assert.match(await bySeq.page.locator('[data-test=history-banner]').textContent(), /^Viewing /);
  assert.match(await bySeq.page.evaluate(() => location.hash), new RegExp(`^#11/\\d+/\\d+&t=${seqs[3]}$`), 'the zoom and the moment stay in the link');
  await until(bySeq.page, () => window.hugepicHistory.drawn().length === 4, null, 'four shapes drawn');
  // Escape is back to live.
  await bySeq.page.locator('#map').focus();
  await bySeq.page.keyboard.press('Escape');
  assert.equal((await historyState(bySeq.page)).seq, -1);
  assert.equal(await bySeq.page.locator('.connection').textContent(), 'Live');
  await close(bySeq);

  // An ISO time with an offset (no view): the moment after every change made by then.
  const at = new Date(Date.parse(timeOf[seqs[1]]) + 3600_000).toISOString().replace('Z', '+01:00');
  const byTime = await open(picture.tokens.view, { name: 'Vi', color: '#795548' }, { hash: `#&t=${at}` });
  await replaying(byTime.page);
  assert.deepEqual(await historyState(byTime.page), { seq: seqs[1], shapes: 2 }, `the moment at ${at}`);
  await until(byTime.page, (s) => location.hash.endsWith(`&t=${s}`), seqs[1], 'the link rewritten to the seq shown');
  await close(byTime);
});

test('a view link and a tokenless visitor: the timeline, no Restore or Save version, nothing refused', async (t) => {
  const told = await storyFor(t);
  if (!told) return;
  const { seqs } = told;
  const refusedBefore = await refusedUpdates();
  const watcher = await open(picture.tokens.edit, { name: 'Wes', color: '#ff9800' });
  const refusals = [];
  for (const [token, user] of [
    [picture.tokens.view, { name: 'Vi', color: '#795548' }],
    [null, { name: 'Tok', color: '#9c27b0' }],
  ]) {
    const v = await open(token, user);
    assert.equal(await v.page.locator('.role').textContent(), 'View only');
    // A round trip through the server each way: all this page sent (its sync answer
    // included) has been handled, and anything the server had to say has arrived.
    await v.page.evaluate(() => window.hugepicAnnotations.provider.awareness.setLocalStateField('probe', 'ping'));
    await until(watcher.page, (n) => window.hugepicAnnotations.people().some((p) => p.user?.name === n && p.probe === 'ping'), user.name, `${user.name}'s probe at Wes`);
    await watcher.page.evaluate((n) => window.hugepicAnnotations.provider.awareness.setLocalStateField('probe', `pong ${n}`), user.name);
    await until(v.page, (n) => window.hugepicAnnotations.people().some((p) => p.probe === `pong ${n}`), user.name, `Wes's answer at ${user.name}`);
    if (await v.page.locator('.refused').isVisible()) refusals.push(`${user.name} is told "${await v.page.locator('.refused').textContent()}"`);
    assert.equal(await v.page.locator('.error, .error-page').count(), 0, `no error shown to ${user.name}`);

    await v.page.locator('[data-test=history-open]').click();
    await replaying(v.page);
    assert.equal((await historyState(v.page)).seq, seqs[4] + 1, 'the latest moment: the restore');
    assert.ok((await tickColours(v.page)).length >= 3, 'ticks');
    await until(v.page, () => document.querySelectorAll('[data-test=history-entry]').length === 4, null, 'four activity entries');
    assert.equal(await v.page.locator('[data-test=history-restore]').count(), 0, 'no Restore');
    assert.equal(await v.page.locator('[data-test=history-save-version]').count(), 0, 'no Save version');
    // The previous change, for them too: the freehand line.
    await v.page.locator('[data-test=history-prev]').click();
    assert.deepEqual(await historyState(v.page), { seq: seqs[4], shapes: 5 });
    await settled(v.page);
    if (token) await shot(v.page, 'view');
    await close(v);
  }
  await close(watcher);
  // Opening the page sends only what a stock client sends (its sync answer, awareness):
  // nothing for the server to refuse.
  assert.deepEqual(refusals, [], 'no refusal shown');
  assert.equal(await refusedUpdates(), refusedBefore, 'no update refused (hugepic_hub_refused_updates_total)');
  assert.equal(refusedBefore, 0, 'nothing refused in this whole file');
});

test('375×667 touch screen: a finger on the scrubber moves the moment', async (t) => {
  const told = await storyFor(t);
  if (!told) return;
  const { seqs } = told;
  const tess = await open(picture.tokens.edit, { name: 'Tess', color: '#e91e63' }, { contextOptions: PHONE });
  const { page } = tess;
  await page.locator('[data-test=history-open]').tap();
  await replaying(page);
  const end = await historyState(page);
  assert.deepEqual(end, { seq: seqs[4] + 1, shapes: 2 });
  const thumb = await page.locator('[data-test=history-scrubber]').boundingBox();
  assert.ok(thumb.width >= 44 && thumb.height >= 44, `a 44 px target for a finger: ${JSON.stringify(thumb)}`);
  assert.ok(thumb.y + thumb.height <= 667, 'the scrubber is on screen');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'nothing wider than the screen');

  // A finger from the right end leftwards, until the moment after Ada's third shape:
  // earlier and earlier moments on the way, each change passed one by one.
  const rail = await page.locator('.history-rail').boundingBox();
  const y = rail.y + rail.height / 2;
  const cdp = await tess.context.newCDPSession(page);
  const touch = (type, x) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y, id: 1 }] });
  let x = rail.x + rail.width - 1;
  await touch('touchStart', x);
  const seen = [end];
  for (;;) {
    x -= 2;
    assert.ok(x > rail.x, `the finger reached the left end: ${JSON.stringify(seen)}`);
    await touch('touchMove', x);
    await frame(page);
    await frame(page);
    const s = await historyState(page);
    if (seen.at(-1).seq !== s.seq) seen.push(s);
    if (s.seq <= seqs[2]) break;
  }
  await touch('touchEnd');
  const last = await historyState(page);
  assert.deepEqual(
    seen.map((s) => s.seq),
    [seqs[4] + 1, seqs[4], seqs[3], seqs[3] - 1, seqs[2]],
    `moments passed: ${JSON.stringify(seen)}`,
  );
  assert.deepEqual(last, { seq: seqs[2], shapes: 3 }, 'lifted at the moment after the third shape');
  assert.equal(Object.keys((await api(`/history/state?seq=${last.seq}`)).shapes).length, 3);
  await until(page, (s) => location.hash.endsWith(`&t=${s}`), last.seq, 'the moment in the hash');
  await settled(page);
  await shot(page, 'phone');
  await close(tess);
});

test('with History open, the whole picture is still within reach: Home fits it in the smaller map', async () => {
  const p = await open(picture.tokens.view, { name: 'Hal', color: '#4caf50' });
  const whole = async (page) => {
    await measureMap(page);
    return page.evaluate(([w, h]) => {
      const at = window.__screenOf();
      const map = document.querySelector('#map').getBoundingClientRect();
      const left = at.x0;
      const top = at.y0;
      const right = at.x0 + w * at.scale;
      const bottom = at.y0 + h * at.scale;
      return { fits: left >= map.left - 1 && top >= map.top - 1 && right <= map.right + 1 && bottom <= map.bottom + 1, picture: [left, top, right, bottom].map(Math.round), map: [map.left, map.top, map.right, map.bottom].map(Math.round), hash: location.hash };
    }, [WIDTH, HEIGHT]);
  };
  await settled(p.page);
  assert.ok((await whole(p.page)).fits, `the whole picture at first: ${JSON.stringify(await whole(p.page))}`);
  await p.page.locator('[data-test=history-open]').click();
  await replaying(p.page);
  await settled(p.page);
  await p.page.locator('[title="Whole picture (Home)"]').click();
  // Home animates: the view is checked once it has come to rest.
  let seen = null;
  for (let tries = 0; tries < 50 && !seen?.fits; tries++) {
    await settled(p.page);
    seen = await whole(p.page);
  }
  await shot(p.page, 'home');
  assert.ok(seen.fits, `Home with History open shows the whole picture: ${JSON.stringify(seen)}`);
  await close(p);
});
