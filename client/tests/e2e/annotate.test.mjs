// Live annotation in real Chromium against a running `hugepic serve`, people in separate
// browser contexts (separate storage, so nothing passes between them but the server):
// - two people draw and see each other's shapes at the same image pixels, cursors,
//   undo of one's own, hiding, comments, restyling a shape, moving someone else's
//   shape with the tools, following a view;
// - view and comment links: the role is said on the page, no drawing tools, and a
//   write forced into the document from the page is refused by the server;
// - offline: edits made while the connection is down go out when it is back;
// - people's views on the minimap, tours led by the owner;
// - a 375×667 touch screen draws freehand with a finger; text labels are edited inline.
// Screenshots go to test-output/annotate-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { png, startServer, waitFinal } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
const WIDTH = 2400;
const HEIGHT = 1600;
const TOP = Math.ceil(Math.log2(Math.max(WIDTH, HEIGHT)));
let server;
let browser;
let image;

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist')]);
  browser = await launchBrowser();
  image = png(WIDTH, HEIGHT, 'chart');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh picture, so each test starts from an empty document. */
async function newPicture() {
  const form = new FormData();
  form.append('file', new Blob([image]), 'chart.png');
  const response = await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  const picture = await response.json();
  assert.equal((await waitFinal(server.base, picture.id)).status, 'ready');
  return picture;
}

const DESKTOP = { viewport: { width: 1100, height: 760 } };

/** Opens `picture` with `token` as `name` in a new context; waits until live. */
async function open(picture, token, name, { color = '#3f51b5', contextOptions = DESKTOP } = {}) {
  const context = await browser.newContext(contextOptions);
  // Someone who opened the drawing tools before (they start folded on a first visit).
  await context.addInitScript(() => window.localStorage.setItem('hugepic:tools-open', '1'));
  await context.addInitScript(([n, c]) => localStorage.setItem('hugepic:user', JSON.stringify({ name: n, color: c })), [name, color]);
  const page = await context.newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${server.base}/p/${picture.id}?token=${encodeURIComponent(token)}`);
  await live(page);
  return { context, page, errors, dialogs, name };
}

async function live(page) {
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected' && window.hugepicAnnotations?.provider.synced, null, { timeout: 30_000 });
}

async function closeAll(...people) {
  for (const p of people) {
    assert.deepEqual(p.errors, [], `no page errors for ${p.name}`);
    assert.deepEqual(p.dialogs, [], `no dialogs for ${p.name}`);
    await p.context.close();
  }
}

const shapesOf = (page) => page.evaluate(() => window.hugepicAnnotations.shapes());
const shot = (page, name) => page.screenshot({ path: path.join(OUT, `annotate-${name}.png`) });

/** Leaflet ignores a drag that starts during a zoom animation, and arrow keys during a
 *  pan animation: wait for neither. */
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim'), null, { timeout: 30_000 });
}

async function drag(page, from, to, steps = 8) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.down();
  // Leaflet applies a drag's moves on animation frames; a release before the frame
  // drops them (a loaded machine delays frames): a frame per move and before releasing.
  const frame = () => page.evaluate(() => new Promise((done) => window.requestAnimationFrame(() => done())));
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / steps, box.y + from[1] + ((to[1] - from[1]) * i) / steps);
    await frame();
  }
  await frame();
  await page.mouse.up();
}

/** geoman's way: click a corner (or centre), move, click the other corner (or the rim). */
async function clickTwice(page, from, to) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  // geoman places where its hint marker is, which follows mouse moves: move there first.
  await page.mouse.move(box.x + from[0] - 5, box.y + from[1] - 5);
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.click(box.x + from[0], box.y + from[1]);
  for (let i = 1; i <= 6; i++) {
    await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / 6, box.y + from[1] + ((to[1] - from[1]) * i) / 6);
  }
  await page.mouse.click(box.x + to[0], box.y + to[1]);
}

async function clickMap(page, at, options) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + at[0] - 5, box.y + at[1] - 5);
  await page.mouse.move(box.x + at[0], box.y + at[1]);
  await page.mouse.click(box.x + at[0], box.y + at[1], options);
}

async function until(page, check, arg, what, timeout = 20_000) {
  try {
    await page.waitForFunction(check, arg, { timeout });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
}

const tool = (page, name) => page.getByRole('toolbar', { name: 'Drawing tools' }).getByRole('button', { name, exact: true });
const hashOf = (page) => page.evaluate(() => location.hash.slice(1).split('/').map(Number));
/** For waitForFunction (serialised into the page, so `n` comes as its argument). */
const countIs = (n) => Object.keys(window.hugepicAnnotations.shapes()).length === n;

test('two people draw, restyle and move shapes and see each other live', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada');
  const b = await open(picture, picture.tokens.edit, 'Bo', { color: '#009688' });
  assert.equal(await a.page.locator('.role').textContent(), 'You can draw and comment');

  // Rectangle: press the tool, click two corners on the map.
  await tool(a.page, 'Rectangle').click();
  await clickTwice(a.page, [150, 200], [380, 330]);
  await until(b.page, () => Object.values(window.hugepicAnnotations.shapes()).some((s) => s.type === 'rectangle'), null, 'the rectangle at B');
  // Circle.
  await tool(a.page, 'Circle').click();
  await clickTwice(a.page, [540, 460], [590, 460]);
  // Freehand.
  await tool(a.page, 'Freehand').click();
  await drag(a.page, [150, 470], [380, 540]);
  await until(b.page, countIs, 3, 'three shapes at B').catch(async (e) => {
    await shot(a.page, 'failed');
    throw new Error(`${e.message}: A has ${JSON.stringify(Object.values(await shapesOf(a.page)).map((s) => s.type))}`);
  });
  const atA = await shapesOf(a.page);
  const atB = await shapesOf(b.page);
  assert.deepEqual(atB, atA, 'same shapes, same image pixels');
  const byType = Object.fromEntries(Object.entries(atB).map(([id, s]) => [s.type, { ...s, id }]));
  assert.ok(byType.rectangle.geometry.width > 0 && byType.rectangle.geometry.height > 0);
  assert.ok(byType.circle.geometry.r > 0);
  assert.ok(byType.freehand.geometry.length >= 2);
  assert.equal(byType.rectangle.author, 'Ada');
  // Shapes are drawn as layers at B.
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 3);
  await shot(a.page, '1-a-drew');
  await shot(b.page, '1-b-sees');

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
  await until(b.page, countIs, 2, "A's undo at B");
  await a.page.keyboard.press('Control+Shift+z');
  await until(b.page, countIs, 3, "A's redo at B");

  // Hiding: all of them, then only Ada's; showing again.
  await b.page.getByRole('checkbox', { name: 'Show annotations' }).uncheck();
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 0);
  await b.page.getByRole('checkbox', { name: 'Show annotations' }).check();
  await b.page.getByRole('checkbox', { name: 'Show shapes by Ada' }).uncheck();
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 0);
  await b.page.getByRole('checkbox', { name: 'Show shapes by Ada' }).check();
  assert.equal(await b.page.locator('.leaflet-overlay-pane path').count(), 3);

  // Restyle: A selects the rectangle (a click on its edge), picks a colour and a width;
  // B sees both; A's undo takes them back one at a time.
  await a.page.keyboard.press('Escape'); // puts the freehand pen down
  await clickMap(a.page, [150, 265]);
  await until(a.page, (id) => window.hugepicAnnotations.selected() === id, byType.rectangle.id, 'the rectangle selected at A');
  // Who drew it and when, not only what it is.
  await a.page.getByText(/Rectangle selected · drawn by Ada, (just now|\d+ min ago)/).waitFor();
  assert.equal(await a.page.getByLabel('Colour', { exact: true }).inputValue(), byType.rectangle.style.color);
  await a.page.getByLabel('Colour', { exact: true }).fill('#00aa00');
  await a.page.getByLabel('Line width', { exact: true }).selectOption('12');
  const styleAt = (page, id) => page.evaluate((i) => window.hugepicAnnotations.shapes()[i]?.style, id);
  await until(b.page, (id) => { const s = window.hugepicAnnotations.shapes()[id].style; return s.color === '#00aa00' && s.weight === 12; }, byType.rectangle.id, 'the restyled rectangle at B');
  assert.equal(await b.page.locator('.leaflet-overlay-pane path[stroke="#00aa00"][stroke-width="12"]').count(), 1, 'drawn restyled at B');
  // The other shapes keep theirs; the pen (for new shapes) is untouched.
  assert.equal((await styleAt(b.page, byType.circle.id)).color, byType.circle.style.color);
  await shot(a.page, '2-a-restyled');
  await shot(b.page, '2-b-sees-restyle');
  await a.page.locator('#map').focus();
  await a.page.keyboard.press('Control+z');
  await until(b.page, (id) => { const s = window.hugepicAnnotations.shapes()[id].style; return s.color === '#00aa00' && s.weight === 3; }, byType.rectangle.id, 'the width undone at B');
  await a.page.keyboard.press('Control+z');
  await until(b.page, ([id, c]) => window.hugepicAnnotations.shapes()[id].style.color === c, [byType.rectangle.id, byType.rectangle.style.color], 'the colour undone at B');
  await a.page.keyboard.press('Escape');
  assert.equal(await a.page.evaluate(() => window.hugepicAnnotations.selected()), null, 'Escape clears the selection');

  // B moves A's rectangle with the Move tool: A sees it at the new image pixels, moved by
  // what B's drag amounts to at B's zoom.
  const [zoomB] = await hashOf(b.page);
  const perScreenPixel = 2 ** (TOP - zoomB);
  await tool(b.page, 'Move').click();
  await drag(b.page, [300, 280], [400, 330], 10);
  await until(a.page, ([id, x]) => window.hugepicAnnotations.shapes()[id].geometry.x !== x, [byType.rectangle.id, byType.rectangle.geometry.x], 'the moved rectangle at A');
  await tool(b.page, 'Move').click();
  const moved = (await shapesOf(a.page))[byType.rectangle.id].geometry;
  assert.deepEqual(moved, (await shapesOf(b.page))[byType.rectangle.id].geometry, 'same geometry at A and B');
  const before = byType.rectangle.geometry;
  const close = (got, want, what) => assert.ok(Math.abs(got - want) <= 3 * perScreenPixel, `${what}: ${got} vs ${want}`);
  close(moved.x - before.x, 100 * perScreenPixel, 'moved right by the drag');
  close(moved.y - before.y, 50 * perScreenPixel, 'moved down by the drag');
  close(moved.width, before.width, 'same width');
  close(moved.height, before.height, 'same height');
  assert.equal((await shapesOf(a.page))[byType.rectangle.id].author, 'Ada', 'still Ada’s');
  await shot(a.page, '3-a-sees-move');

  // B reshapes A's circle: the Reshape tool, then drag its rim handle outwards.
  await tool(b.page, 'Reshape').click();
  await b.page.locator('.marker-icon').first().waitFor();
  const handles = await b.page.locator('.leaflet-marker-pane .marker-icon').evaluateAll((els) => els.map((e) => { const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }));
  const mapBox = await b.page.locator('#map').boundingBox();
  // The circle's rim handle: 50 screen pixels from its centre (540, 460); dragged 40 further out.
  const centre = [540, 460];
  const rim = handles.map(([x, y]) => [x - mapBox.x, y - mapBox.y]).find(([x, y]) => Math.abs(Math.hypot(x - centre[0], y - centre[1]) - 50) < 5);
  assert.ok(rim, `a rim handle 50 px from (540, 460) among ${JSON.stringify(handles)}`);
  const out = Math.hypot(rim[0] - centre[0], rim[1] - centre[1]);
  await drag(b.page, rim, [centre[0] + ((rim[0] - centre[0]) * (out + 40)) / out, centre[1] + ((rim[1] - centre[1]) * (out + 40)) / out], 8);
  await until(a.page, ([id, r]) => window.hugepicAnnotations.shapes()[id].geometry.r > r + 1, [byType.circle.id, byType.circle.geometry.r], 'the reshaped circle at A');
  await tool(b.page, 'Reshape').click();
  const circle = (await shapesOf(a.page))[byType.circle.id].geometry;
  close(circle.r, byType.circle.geometry.r + 40 * perScreenPixel, 'radius grew by the drag');
  close(circle.cx, byType.circle.geometry.cx, 'centre kept');
  await shot(b.page, '4-b-reshaped');

  // A comments on the freehand line's end; B opens the thread and replies.
  await a.page.getByRole('button', { name: 'Comment', exact: true }).click();
  await clickMap(a.page, [700, 150]);
  await a.page.getByRole('textbox', { name: 'Write a comment' }).fill('What is this block?');
  await shot(a.page, '5-a-comment-draft');
  await a.page.locator('form.comment-form', { has: a.page.getByRole('textbox', { name: 'Write a comment' }) }).getByRole('button', { name: 'Post' }).click();
  await b.page.locator('.thread-title', { hasText: 'What is this block?' }).click();
  await b.page.getByRole('textbox', { name: 'Reply' }).fill('A test chart.');
  assert.equal(await b.page.getByRole('button', { name: 'Post' }).count(), 1, 'moving and reshaping opened no comment drafts');
  await b.page.getByRole('button', { name: 'Post' }).click();
  await a.page.locator('.message .text', { hasText: 'A test chart.' }).waitFor({ timeout: 20_000 });
  assert.equal(await a.page.locator('.thread.open .message .author').first().textContent(), 'Ada');
  await shot(a.page, '5-thread');

  // B follows A: B's view tracks A's pans; A sees who follows.
  await settled(b.page);
  await b.page.locator('.people li', { hasText: 'Ada' }).getByRole('button', { name: 'Follow' }).click();
  await a.page.locator('.people .followers', { hasText: 'Bo' }).waitFor({ timeout: 20_000 });
  await a.page.keyboard.press('Escape');
  const start = await a.page.evaluate(() => location.hash);
  await a.page.locator('#map').focus();
  for (let i = 0; i < 6; i++) await a.page.keyboard.press('ArrowRight');
  await a.page.keyboard.press('Equal');
  await settled(a.page);
  await a.page.waitForFunction((s) => location.hash !== s, start);
  await sameView(b.page, a.page, "B's view follows A's");
  await shot(b.page, '6-b-follows');

  await closeAll(a, b);
});

/** Waits until `page`'s view (hash) is close to `leader`'s. */
async function sameView(page, leader, what) {
  const want = await leader.evaluate(() => location.hash);
  await page
    .waitForFunction(
      (w) => {
        const [z, x, y] = location.hash.slice(1).split('/').map(Number);
        return Math.abs(x - w[1]) < 60 && Math.abs(y - w[2]) < 60 && Math.abs(z - w[0]) < 0.6;
      },
      want.slice(1).split('/').map(Number),
      { timeout: 20_000 },
    )
    .catch(async () => {
      throw new Error(`${what}: ${await page.evaluate(() => location.hash)} vs ${want}`);
    });
}

/** Writes a marker straight into the page's Y document, bypassing the tools. */
const force = (page, id) =>
  page.evaluate((key) => {
    const { doc, provider } = window.hugepicAnnotations;
    const shapes = doc.getMap('shapes');
    const YMap = shapes.constructor;
    const shape = new YMap();
    doc.transact(() => {
      shape.set('type', 'marker');
      shape.set('geometry', { x: 100, y: 100 });
      shape.set('style', { color: '#ff0000', weight: 3, fill: false });
      shape.set('author', 'forced');
      shape.set('created', Date.now());
      shapes.set(key, shape);
    });
    // Sent after the update on the same socket: once others see it, the server has
    // handled the update.
    provider.awareness.setLocalStateField('probe', key);
  }, id);

test('view and comment links: the page says what they allow, and forced writes are refused', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada');
  await tool(a.page, 'Marker').click();
  await clickMap(a.page, [300, 300]);
  await until(a.page, countIs, 1, "Ada's marker");
  const v = await open(picture, picture.tokens.view, 'Vi');
  const c = await open(picture, picture.tokens.comment, 'Cy');
  assert.equal(await v.page.locator('.role').textContent(), 'View only');
  assert.equal(await c.page.locator('.role').textContent(), 'You can comment');
  for (const p of [v, c]) {
    await until(p.page, countIs, 1, `the marker for ${p.name}`);
    assert.equal(await p.page.getByRole('toolbar', { name: 'Drawing tools' }).count(), 0, `no drawing tools for ${p.name}`);
  }
  assert.equal(await v.page.getByRole('button', { name: 'Comment', exact: true }).count(), 0, 'no comment tool for a view link');
  assert.equal(await c.page.getByRole('button', { name: 'Comment', exact: true }).count(), 1, 'a comment tool for a comment link');

  await force(v.page, 'forced-by-view');
  await force(c.page, 'forced-by-comment');
  assert.ok((await shapesOf(v.page))['forced-by-view'], 'the forced write is in the view page’s own document');
  await until(a.page, () => window.hugepicAnnotations.people().filter((p) => p.probe).length === 2, null, 'both probes at A');
  await v.page.locator('.refused', { hasText: 'view-only' }).waitFor({ timeout: 20_000 });
  await c.page.locator('.refused', { hasText: 'comments only' }).waitFor({ timeout: 20_000 });
  await shot(v.page, '7-viewer-refused');
  const atA = await shapesOf(a.page);
  assert.deepEqual(Object.keys(atA).filter((k) => k.startsWith('forced')), [], 'A never sees the forced shapes');
  // After a reload the forced shapes are gone from their own pages too.
  for (const p of [v, c]) {
    await p.page.reload();
    await live(p.page);
    assert.deepEqual(await shapesOf(p.page), atA, `${p.name} after reload has only what the server accepted`);
  }
  // What the comment link may do goes through.
  await c.page.getByRole('button', { name: 'Comment', exact: true }).click();
  await clickMap(c.page, [500, 400]);
  await c.page.getByRole('textbox', { name: 'Write a comment' }).fill('Allowed');
  await c.page.getByRole('button', { name: 'Post' }).click();
  await a.page.locator('.thread-title', { hasText: 'Allowed' }).waitFor({ timeout: 20_000 });
  await closeAll(a, v, c);
});

test('offline: edits made while the connection is down go out when it is back', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada');
  const b = await open(picture, picture.tokens.edit, 'Bo');
  await b.context.setOffline(true);
  // Chromium's offline emulation fails new WebSockets but leaves an open one open (its
  // frames just stop; y-websocket would notice after 30 s): end it as a dropped network
  // would. The provider's reconnects then fail until the network is back.
  await b.page.evaluate(() => window.hugepicAnnotations.provider.ws?.close());
  await b.page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'disconnected', null, { timeout: 30_000 });
  assert.match(await b.page.locator('.connection').textContent(), /Offline/);
  await tool(b.page, 'Marker').click();
  await clickMap(b.page, [200, 200]);
  await tool(b.page, 'Rectangle').click();
  await clickTwice(b.page, [400, 300], [500, 380]);
  await tool(a.page, 'Circle').click();
  await clickTwice(a.page, [600, 400], [640, 400]);
  await until(b.page, countIs, 2, "B's two shapes, locally");
  await until(a.page, countIs, 1, "A's circle, locally");
  // Still apart: nothing crossed while B was offline.
  assert.equal(await b.page.locator('.connection').getAttribute('data-state'), 'disconnected');
  assert.equal(Object.keys(await shapesOf(a.page)).length, 1, 'B’s offline shapes have not reached A');
  await shot(b.page, '8-b-offline');
  await b.context.setOffline(false);
  await live(b.page);
  await until(a.page, countIs, 3, 'all three shapes at A', 10_000);
  await until(b.page, countIs, 3, 'all three shapes at B', 10_000);
  assert.deepEqual(await shapesOf(a.page), await shapesOf(b.page));
  assert.equal(await b.page.locator('.connection').textContent(), 'Live');
  await shot(b.page, '9-b-back');
  await closeAll(a, b);
});

test("people's views on the minimap, and a tour led by the owner", async () => {
  const picture = await newPicture();
  const owner = await open(picture, picture.tokens.owner, 'Olga', { color: '#e91e63' });
  const b = await open(picture, picture.tokens.edit, 'Bo', { color: '#009688' });
  const c = await open(picture, picture.tokens.edit, 'Cy', { color: '#ff9800' });
  assert.equal(await owner.page.locator('.role').textContent(), 'Owner: you can draw, comment, share and delete');
  assert.equal(await b.page.getByRole('button', { name: 'Everyone follow me' }).count(), 0, 'only the owner leads tours');

  // Bo zooms in and pans: his box on Olga's minimap follows, in his colour.
  await b.page.locator('#map').focus();
  await b.page.keyboard.press('Equal');
  await settled(b.page);
  await drag(b.page, [500, 400], [400, 400]);
  await settled(b.page);
  const boxOf = (page, name) =>
    page.evaluate((n) => {
      const box = document.querySelector(`.hugepic-minimap .peer-view[data-name="${n}"]`);
      return box && { left: parseFloat(box.style.left), top: parseFloat(box.style.top), width: parseFloat(box.style.width), color: window.getComputedStyle(box).borderTopColor };
    }, name);
  const minimapMatches = async (what) => {
    const scale = 160; // the minimap's long side, in CSS pixels (viewer.ts)
    await owner.page
      .waitForFunction(
        ([v, s]) => {
          const box = document.querySelector('.hugepic-minimap .peer-view[data-name="Bo"]');
          return box && Math.abs(parseFloat(box.style.left) - v.x * s) < 1 && Math.abs(parseFloat(box.style.width) - v.width * s) < 1;
        },
        [await b.page.evaluate(() => window.hugepicAnnotations.provider.awareness.getLocalState().viewport), scale / Math.max(WIDTH, HEIGHT)],
        { timeout: 20_000 },
      )
      .catch(async () => {
        throw new Error(`${what}: Bo's box on Olga's minimap is ${JSON.stringify(await boxOf(owner.page, 'Bo'))}`);
      });
  };
  await minimapMatches("Bo's zoomed view");
  const first = await boxOf(owner.page, 'Bo');
  assert.equal(first.color, 'rgb(0, 150, 136)', "in Bo's colour");
  assert.ok(await boxOf(owner.page, 'Cy'), "Cy's view too");
  await drag(b.page, [500, 400], [500, 300]);
  await settled(b.page);
  await minimapMatches("Bo's panned view");
  const second = await boxOf(owner.page, 'Bo');
  assert.ok(second.top > first.top, `the box moved down: ${JSON.stringify([first, second])}`);
  await owner.page.locator('.hugepic-minimap').screenshot({ path: path.join(OUT, 'annotate-10-minimap.png') });

  // Olga leads a tour: Bo and Cy follow her view.
  await owner.page.getByRole('button', { name: 'Everyone follow me' }).click();
  const olga = await owner.page.evaluate(() => window.hugepicAnnotations.me());
  for (const p of [b, c]) {
    await until(p.page, (id) => window.hugepicAnnotations.following() === id, olga, `${p.name} on the tour`);
    await p.page.locator('.tour-notice', { hasText: 'Olga is showing you around' }).waitFor();
  }
  await owner.page.locator('#map').focus();
  await owner.page.keyboard.press('Equal');
  await settled(owner.page);
  for (let i = 0; i < 5; i++) await owner.page.keyboard.press('ArrowLeft');
  await settled(owner.page);
  await sameView(b.page, owner.page, "Bo's view on the tour");
  await sameView(c.page, owner.page, "Cy's view on the tour");
  await shot(c.page, '11-cy-on-tour');
  // Bo looks around on his own: he leaves the tour, Cy stays on it.
  await settled(b.page);
  await drag(b.page, [500, 400], [350, 300]);
  await until(b.page, () => window.hugepicAnnotations.following() === null, null, 'Bo off the tour');
  await b.page.locator('.tour-notice', { hasText: 'Olga is giving a tour' }).getByRole('button', { name: 'Rejoin' }).waitFor();
  for (let i = 0; i < 3; i++) await owner.page.keyboard.press('ArrowUp');
  await settled(owner.page);
  await sameView(c.page, owner.page, "Cy's view still on the tour");
  assert.equal(await b.page.evaluate(() => window.hugepicAnnotations.following()), null, 'Bo was not pulled back');
  // Rejoin brings him back; the end of the tour lets everyone go.
  await b.page.getByRole('button', { name: 'Rejoin' }).click();
  await sameView(b.page, owner.page, 'Bo back on the tour');
  await owner.page.getByRole('button', { name: 'Stop the tour' }).click();
  for (const p of [b, c]) await until(p.page, () => window.hugepicAnnotations.following() === null, null, `${p.name} free after the tour`);
  assert.equal(await c.page.locator('.tour-notice').isVisible(), false);
  await closeAll(owner, b, c);
});

test('375×667 touch screen: compact tools, freehand with a finger reaches the others', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada');
  const t = await open(picture, picture.tokens.edit, 'Tess', {
    contextOptions: { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  });
  const { page } = t;
  const toggle = page.getByRole('toolbar', { name: 'Drawing tools' }).getByRole('button', { name: '✎ Draw' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'folded on a small screen');
  assert.equal(await tool(page, 'Freehand').isVisible(), false);
  await shot(page, '12-touch-folded');
  await toggle.tap();
  await tool(page, 'Freehand').waitFor();
  // Nothing of the open bar is cut off: undo and redo, the last tools, colour and width.
  const shown = await page.getByRole('toolbar', { name: 'Drawing tools' }).boundingBox();
  for (const name of ['Undo', 'Redo', 'Text', 'Delete']) {
    const b = await tool(page, name).boundingBox();
    assert.ok(b && b.y >= shown.y && b.y + b.height <= shown.y + shown.height + 1, `${name} whole inside the bar: ${JSON.stringify([b, shown])}`);
  }
  // Open, the tools do not cover the minimap (or leave the map).
  const bar = await page.getByRole('toolbar', { name: 'Drawing tools' }).boundingBox();
  const minimap = await page.locator('.hugepic-minimap').boundingBox();
  const map = await page.locator('#map').boundingBox();
  assert.ok(bar.y + bar.height <= minimap.y, `tools ${JSON.stringify(bar)} above the minimap ${JSON.stringify(minimap)}`);
  assert.ok(bar.x >= map.x && bar.x + bar.width <= map.x + map.width, 'tools inside the map');
  assert.ok(bar.width <= map.width / 2, `tools take at most half the map's width (${bar.width})`);
  await shot(page, '13-touch-open');
  await tool(page, 'Freehand').tap();
  assert.equal(await tool(page, 'Freehand').isVisible(), false, 'folded again after choosing');
  assert.equal(await page.getByRole('toolbar', { name: 'Drawing tools' }).getByRole('button', { name: '✎ Freehand' }).count(), 1);

  await settled(page);
  const viewBefore = await hashOf(page);
  const cdp = await t.context.newCDPSession(page);
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y]) => ({ x, y, id: 1 })) });
  const x0 = map.x + 60;
  const y0 = map.y + map.height / 2;
  await touch('touchStart', [[x0, y0]]);
  for (let i = 1; i <= 12; i++) await touch('touchMove', [[x0 + 15 * i, y0 + 6 * Math.sin(i)]]);
  await touch('touchEnd', []);
  await until(a.page, () => Object.values(window.hugepicAnnotations.shapes()).some((s) => s.type === 'freehand' && s.author === 'Tess'), null, "Tess's freehand line at Ada's");
  const [line] = Object.values(await shapesOf(a.page));
  assert.ok(line.geometry.length >= 3, `a line of several points: ${JSON.stringify(line.geometry)}`);
  const xs = line.geometry.map((p) => p[0]);
  const [zoom] = await hashOf(page);
  const span = (Math.max(...xs) - Math.min(...xs)) / 2 ** (TOP - zoom);
  assert.ok(Math.abs(span - 180) < 10, `the line spans the finger's 180 screen pixels (${span})`);
  assert.deepEqual(await hashOf(page), viewBefore, 'drawing did not pan the map');
  await shot(page, '14-touch-drew');
  await shot(a.page, '15-desktop-sees-touch');
  await closeAll(a, t);
});

test('text labels: written and edited inline on the map', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada');
  const b = await open(picture, picture.tokens.edit, 'Bo');
  const label = a.page.getByRole('textbox', { name: 'Label text' });

  // Escape cancels: nothing is written.
  await tool(a.page, 'Text').click();
  await clickMap(a.page, [300, 250]);
  await label.waitFor();
  await a.page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Label text');
  await a.page.keyboard.type('nope');
  await a.page.keyboard.press('Escape');
  await label.waitFor({ state: 'detached' });
  assert.deepEqual(await shapesOf(a.page), {});

  // Enter saves, where the click was.
  await tool(a.page, 'Text').click();
  await clickMap(a.page, [300, 250]);
  await a.page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Label text');
  const inputBox = await label.boundingBox();
  const mapBox = await a.page.locator('#map').boundingBox();
  assert.ok(Math.abs(inputBox.x - (mapBox.x + 300)) < 4 && Math.abs(inputBox.y + inputBox.height / 2 - (mapBox.y + 250)) < 4, `the input sits at the click: ${JSON.stringify(inputBox)}`);
  await a.page.keyboard.type('Hello + zoom keys stay text');
  await shot(a.page, '16-label-typing');
  await a.page.keyboard.press('Enter');
  await until(b.page, () => Object.values(window.hugepicAnnotations.shapes()).some((s) => s.type === 'text' && s.text === 'Hello + zoom keys stay text'), null, 'the label at B');
  const [id, shape] = Object.entries(await shapesOf(b.page))[0];
  assert.equal(await b.page.locator('.hugepic-text', { hasText: 'Hello + zoom keys stay text' }).count(), 1);

  // Editing it: double-click the label, change the text, Enter.
  await a.page.locator('.hugepic-text span').dblclick();
  await a.page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Label text');
  assert.equal(await label.inputValue(), 'Hello + zoom keys stay text');
  await label.fill('Edited label');
  await label.press('Enter');
  await until(b.page, (i) => window.hugepicAnnotations.shapes()[i]?.text === 'Edited label', id, 'the edited label at B');
  assert.deepEqual((await shapesOf(b.page))[id].geometry, shape.geometry, 'same place');
  // And through the selection's "Edit text" button; Ctrl+Z takes the edit back.
  await a.page.locator('.hugepic-text span').click();
  await a.page.getByRole('button', { name: 'Edit text' }).click();
  await label.fill('Third text');
  await label.press('Enter');
  await until(b.page, (i) => window.hugepicAnnotations.shapes()[i]?.text === 'Third text', id, 'the third text at B');
  await a.page.locator('#map').focus();
  await a.page.keyboard.press('Control+z');
  await until(b.page, (i) => window.hugepicAnnotations.shapes()[i]?.text === 'Edited label', id, 'the edit undone at B');
  await shot(b.page, '17-label-at-b');
  await closeAll(a, b);
});

test('every other kind: line, polygon and marker, each at B within a second; names are chosen', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada');
  const b = await open(picture, picture.tokens.edit, 'Bo', { color: '#009688' });
  /** Milliseconds from A having `n` shapes to B having them. */
  const delay = async (n, what) => {
    await until(a.page, countIs, n, `${what} at A`);
    const start = Date.now();
    await until(b.page, countIs, n, `${what} at B`);
    return Date.now() - start;
  };
  const delays = {};
  // geoman: a line ends on a second click on its last point, a polygon on its first.
  await tool(a.page, 'Line').click();
  for (const at of [[150, 200], [260, 260], [380, 210], [380, 210]]) await clickMap(a.page, at);
  delays.polyline = await delay(1, 'the line');
  await tool(a.page, 'Polygon').click();
  for (const at of [[450, 200], [600, 220], [560, 340], [450, 200]]) await clickMap(a.page, at);
  delays.polygon = await delay(2, 'the polygon');
  await tool(a.page, 'Marker').click();
  await clickMap(a.page, [300, 450]);
  delays.marker = await delay(3, 'the marker');
  console.log(`# delivery A → B: ${JSON.stringify(delays)} ms`);
  for (const [kind, ms] of Object.entries(delays)) assert.ok(ms < 1000, `${kind} reached B in ${ms} ms`);
  const atA = await shapesOf(a.page);
  assert.deepEqual(await shapesOf(b.page), atA, 'same shapes, same image pixels');
  const byType = Object.fromEntries(Object.values(atA).map((s) => [s.type, s]));
  assert.equal(byType.polyline.geometry.length, 3, 'three points on the line');
  assert.equal(byType.polygon.geometry.length, 3, 'three corners on the polygon');
  assert.ok(byType.marker.geometry.x > 0 && byType.marker.geometry.y > 0);
  await shot(b.page, '18-b-sees-line-polygon-marker');

  // B picks another name and colour: A's people list shows them, and B's browser keeps them.
  const person = (page, name) => page.locator('.people li', { hasText: name });
  await person(a.page, 'Bo').waitFor({ timeout: 20_000 });
  const idBefore = JSON.parse(await b.page.evaluate(() => localStorage.getItem('hugepic:user'))).id;
  await b.page.getByRole('textbox', { name: 'Your name' }).fill('Bohdan');
  await b.page.getByRole('textbox', { name: 'Your name' }).press('Enter');
  await b.page.locator('input[aria-label="Your colour"]').evaluate((input) => {
    input.value = '#ff9800';
    input.dispatchEvent(new window.Event('change'));
  });
  await person(a.page, 'Bohdan').waitFor({ timeout: 20_000 });
  await until(a.page, () => window.hugepicAnnotations.people().some((p) => p.user?.name === 'Bohdan' && p.user?.color === '#ff9800'), null, "Bo's new colour at A");
  // Kept with the stable random author id the browser chose (a rename keeps it).
  const kept = JSON.parse(await b.page.evaluate(() => localStorage.getItem('hugepic:user')));
  assert.deepEqual({ name: kept.name, color: kept.color }, { name: 'Bohdan', color: '#ff9800' });
  assert.equal(typeof kept.id, 'string', `an author id is kept: ${JSON.stringify(kept)}`);
  assert.ok(kept.id.length > 0, 'the author id is not empty');
  assert.equal(kept.id, idBefore, 'renaming keeps the id');
  await shot(a.page, '19-a-sees-renamed');
  await closeAll(a, b);
});
