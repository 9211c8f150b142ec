// Live annotation in real Chromium: two people on the same picture (separate browser
// contexts, edit links) and a third with a view link. A draws a rectangle, a circle and
// a freehand line; B sees each at the same image pixels; B undoes nothing of A's; A's
// cursor reaches B; the view link shows no tools and its forced write is refused.
// Screenshots go to test-output/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

import { png, startServer, waitFinal } from '../interop/server.mjs';

const OUT = path.resolve('test-output');
let server;
let browser;
let picture;

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist')]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const form = new FormData();
  form.append('file', new Blob([png(2400, 1600, 'chart')]), 'chart.png');
  const response = await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  picture = await response.json();
  assert.equal((await waitFinal(server.base, picture.id)).status, 'ready');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(token, name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  await context.addInitScript((n) => localStorage.setItem('hugepic:user', JSON.stringify({ name: n, color: '#3f51b5' })), name);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.base}/p/${picture.id}?token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected', null, { timeout: 15_000 });
  return { context, page, errors };
}

const shapesOf = (page) => page.evaluate(() => window.hugepicAnnotations.shapes());

async function drag(page, from, to) {
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / 8, box.y + from[1] + ((to[1] - from[1]) * i) / 8);
  }
  await page.mouse.up();
}

/** geoman's way: click a corner (or centre), move, click the other corner (or the rim). */
async function clickTwice(page, from, to) {
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + from[0], box.y + from[1]);
  for (let i = 1; i <= 6; i++) {
    await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / 6, box.y + from[1] + ((to[1] - from[1]) * i) / 6);
  }
  await page.mouse.click(box.x + to[0], box.y + to[1]);
}

async function until(page, check, arg, what) {
  try {
    await page.waitForFunction(check, arg, { timeout: 5000 });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
}

test('two people draw and see each other live; a view link cannot draw', async () => {
  const a = await open(picture.tokens.edit, 'Ada');
  const b = await open(picture.tokens.edit, 'Bo');

  // Rectangle: press the tool, drag on the map.
  await a.page.getByRole('button', { name: 'Rectangle', exact: true }).click();
  await clickTwice(a.page, [150, 200], [380, 330]);
  await until(b.page, () => Object.values(window.hugepicAnnotations.shapes()).some((s) => s.type === 'rectangle'), null, 'the rectangle at B');
  // Circle.
  await a.page.getByRole('button', { name: 'Circle', exact: true }).click();
  await clickTwice(a.page, [540, 460], [590, 460]);
  // Freehand.
  await a.page.getByRole('button', { name: 'Freehand', exact: true }).click();
  await drag(a.page, [150, 470], [380, 540]);
  await until(b.page, () => Object.keys(window.hugepicAnnotations.shapes()).length === 3, null, 'three shapes at B').catch(async (e) => {
    await a.page.screenshot({ path: path.join(OUT, 'annotate-failed.png') });
    throw new Error(`${e.message}: A has ${JSON.stringify(Object.values(await shapesOf(a.page)).map((s) => s.type))}`);
  });
  const atA = await shapesOf(a.page);
  const atB = await shapesOf(b.page);
  assert.deepEqual(atB, atA, 'same shapes, same image pixels');
  const byType = Object.fromEntries(Object.values(atB).map((s) => [s.type, s]));
  assert.ok(byType.rectangle.geometry.width > 0 && byType.rectangle.geometry.height > 0);
  assert.ok(byType.circle.geometry.r > 0);
  assert.ok(byType.freehand.geometry.length >= 2);
  assert.equal(byType.rectangle.author, 'Ada');
  // Shapes are drawn as layers at B.
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 3);
  await a.page.screenshot({ path: path.join(OUT, 'annotate-a-drew.png') });
  await b.page.screenshot({ path: path.join(OUT, 'annotate-b-sees.png') });

  // A's cursor at B, with A's name.
  const box = await a.page.locator('#map').boundingBox();
  await a.page.mouse.move(box.x + 450, box.y + 300);
  await a.page.mouse.move(box.x + 470, box.y + 310);
  await until(b.page, () => window.hugepicAnnotations.people().some((p) => p.user?.name === 'Ada' && p.cursor), null, "Ada's cursor at B");
  await b.page.waitForSelector('.hugepic-cursor >> text=Ada');

  // Undo at B takes back nothing of A's; undo at A removes A's last shape everywhere.
  await b.page.locator('#map').focus();
  await b.page.keyboard.press('Control+z');
  await a.page.locator('#map').focus();
  await a.page.keyboard.press('Control+z');
  await until(b.page, () => Object.keys(window.hugepicAnnotations.shapes()).length === 2, null, "A's undo at B");
  await a.page.keyboard.press('Control+Shift+z');
  await until(b.page, () => Object.keys(window.hugepicAnnotations.shapes()).length === 3, null, "A's redo at B");

  // Hiding: all of them, then only Ada's; showing again.
  await b.page.getByRole('checkbox', { name: 'Show annotations' }).uncheck();
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 0);
  await b.page.getByRole('checkbox', { name: 'Show annotations' }).check();
  await b.page.getByRole('checkbox', { name: 'Show shapes by Ada' }).uncheck();
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 0);
  await b.page.getByRole('checkbox', { name: 'Show shapes by Ada' }).check();
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 3);

  // A comments on the rectangle (click it, write, post); B opens the thread and replies.
  await a.page.getByRole('button', { name: 'Rectangle', exact: true }).waitFor();
  const mapBox = await a.page.locator('#map').boundingBox();
  await a.page.mouse.click(mapBox.x + 150, mapBox.y + 265); // on the rectangle's left edge
  await a.page.getByRole('textbox', { name: 'Write a comment' }).fill('What is this block?');
  await a.page.getByRole('button', { name: 'Post' }).click();
  await b.page.locator('.thread-title', { hasText: 'What is this block?' }).click();
  await b.page.getByRole('textbox', { name: 'Reply' }).fill('A test chart.');
  await b.page.getByRole('button', { name: 'Post' }).click();
  await a.page.locator('.message .text', { hasText: 'A test chart.' }).waitFor({ timeout: 5000 });
  assert.equal(await a.page.locator('.thread.open .message .author').first().textContent(), 'Ada');
  await a.page.screenshot({ path: path.join(OUT, 'annotate-thread.png') });

  // B follows A: B's view tracks A's pans; A sees who follows.
  await b.page.locator('.people li', { hasText: 'Ada' }).getByRole('button', { name: 'Follow' }).click();
  await a.page.locator('.people .followers', { hasText: 'Bo' }).waitFor({ timeout: 5000 });
  await a.page.keyboard.press('Escape');
  const before = await a.page.evaluate(() => location.hash);
  await a.page.locator('#map').focus();
  for (let i = 0; i < 6; i++) await a.page.keyboard.press('ArrowRight');
  await a.page.keyboard.press('Equal');
  const centreOf = (page) => page.evaluate(() => location.hash);
  await a.page.waitForTimeout(800);
  const want = await centreOf(a.page);
  assert.notEqual(want, before, 'A moved');
  await b.page.waitForFunction(
    (w) => {
      const [z, x, y] = location.hash.slice(1).split('/').map(Number);
      return Math.abs(x - Number(w[1])) < 60 && Math.abs(y - Number(w[2])) < 60 && Math.abs(z - Number(w[0])) < 1.5;
    },
    (await centreOf(a.page)).slice(1).split('/'),
    { timeout: 5000 },
  ).catch(async () => {
    throw new Error(`B's view ${await centreOf(b.page)} does not follow A's ${want}`);
  });
  await b.page.screenshot({ path: path.join(OUT, 'annotate-b-follows.png') });

  // A view link: sees the shapes, has no tools; a forced write is refused by the server.
  const v = await open(picture.tokens.view, 'Viewer');
  await until(v.page, () => Object.keys(window.hugepicAnnotations.shapes()).length === 3, null, 'shapes for the viewer');
  assert.equal(await v.page.getByRole('toolbar', { name: 'Drawing tools' }).count(), 0);
  assert.match(await v.page.locator('.role').textContent(), /view/);
  await v.page.screenshot({ path: path.join(OUT, 'annotate-viewer.png') });

  for (const p of [a, b, v]) {
    assert.deepEqual(p.errors, []);
    await p.context.close();
  }
});
