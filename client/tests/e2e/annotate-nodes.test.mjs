// Live annotation across two `hugepic serve` nodes sharing PostgreSQL and Redis (and,
// for the tiles, one data folder), in real Chromium: Ada on node one, Bo on node two.
// What one draws with the tools reaches the other within a second, both ways, and
// their cursors cross too. Screenshots go to test-output/annotate-nodes-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { createDatabase, startRedis } from '../interop/cluster.mjs';
import { png, startServer, waitFinal } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
let database;
let redis;
const nodes = [];
let browser;
let picture;

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  database = await createDatabase();
  redis = await startRedis();
  const shared = ['--database-url', database.url, '--redis-url', redis.url, '--client-dir', path.resolve('dist')];
  const one = await startServer(shared);
  nodes.push(one);
  nodes.push(await startServer([...shared, '--no-workers'], one.data));
  browser = await launchBrowser();
  const form = new FormData();
  form.append('file', new Blob([png(1600, 1200, 'chart')]), 'chart.png');
  const response = await fetch(`${one.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  picture = await response.json();
  assert.equal((await waitFinal(one.base, picture.id)).status, 'ready');
});

after(async () => {
  await browser?.close();
  // Node two shares node one's folder: stop it first, keeping the folder for node one to remove.
  for (const node of [...nodes].reverse()) await node.stop({ keepData: node !== nodes[0] });
  await redis?.stop();
  await database?.drop();
});

async function open(node, name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  // Someone who opened the drawing tools before (they start folded on a first visit).
  await context.addInitScript(() => window.localStorage.setItem('hugepic:tools-open', '1'));
  await context.addInitScript((n) => localStorage.setItem('hugepic:user', JSON.stringify({ name: n, color: '#3f51b5' })), name);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${node.base}/p/${picture.id}?token=${encodeURIComponent(picture.tokens.edit)}`);
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected' && window.hugepicAnnotations?.provider.synced, null, { timeout: 30_000 });
  // When each shape first appears in this page's document.
  await page.evaluate(() => {
    window.seenAt = {};
    window.hugepicAnnotations.doc.getMap('shapes').observe((event) => {
      for (const key of event.keysChanged) window.seenAt[key] ??= window.performance.timeOrigin + window.performance.now();
    });
  });
  return { context, page, errors };
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim') && document.querySelector('img.hugepic-tile'), null, { timeout: 30_000 });
}

/** Draws a rectangle with the tools; the new shape's id and the delay until `other` has it. */
async function drawAndTime(from, other, at) {
  await settled(from.page);
  const known = Object.keys(await from.page.evaluate(() => window.hugepicAnnotations.shapes()));
  await from.page.getByRole('toolbar', { name: 'Drawing tools' }).getByRole('button', { name: 'Rectangle', exact: true }).click();
  const box = await from.page.locator('#map').boundingBox();
  await from.page.mouse.click(box.x + at[0], box.y + at[1]);
  await from.page.mouse.move(box.x + at[0] + 40, box.y + at[1] + 30);
  await from.page.mouse.click(box.x + at[0] + 80, box.y + at[1] + 60);
  const id = await from.page
    .waitForFunction((k) => Object.keys(window.hugepicAnnotations.shapes()).find((i) => !k.includes(i)), known, { timeout: 20_000 })
    .then((h) => h.jsonValue());
  await other.page.waitForFunction((i) => window.seenAt[i], id, { timeout: 20_000 });
  const drawn = await from.page.evaluate((i) => window.seenAt[i], id);
  const seen = await other.page.evaluate((i) => window.seenAt[i], id);
  return { id, delay: seen - drawn };
}

test('two nodes: what Ada draws on node one reaches Bo on node two within a second, and back', async () => {
  const [one, two] = nodes;
  const a = await open(one, 'Ada');
  const b = await open(two, 'Bo');
  const delays = [];
  for (let i = 0; i < 3; i++) {
    delays.push((await drawAndTime(a, b, [120 + 150 * i, 150])).delay);
    delays.push((await drawAndTime(b, a, [120 + 150 * i, 350])).delay);
  }
  console.log(`cross-node delay, drawn → seen, ms: ${delays.map((d) => d.toFixed(0)).join(', ')}`);
  for (const d of delays) assert.ok(d >= 0 && d < 1000, `seen on the other node within a second (${d.toFixed(0)} ms)`);
  const atA = await a.page.evaluate(() => window.hugepicAnnotations.shapes());
  assert.equal(Object.keys(atA).length, 6);
  assert.deepEqual(await b.page.evaluate(() => window.hugepicAnnotations.shapes()), atA, 'the same document on both nodes');
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 6, 'drawn at Bo');

  // Ada's cursor crosses too.
  const box = await a.page.locator('#map').boundingBox();
  await a.page.mouse.move(box.x + 600, box.y + 500);
  await a.page.mouse.move(box.x + 610, box.y + 505);
  await b.page.waitForSelector('.hugepic-cursor >> text=Ada', { timeout: 20_000 });
  await a.page.screenshot({ path: path.join(OUT, 'annotate-nodes-ada-node-one.png') });
  await b.page.screenshot({ path: path.join(OUT, 'annotate-nodes-bo-node-two.png') });
  for (const p of [a, b]) {
    assert.deepEqual(p.errors, []);
    await p.context.close();
  }
});
