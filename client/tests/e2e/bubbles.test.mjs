// Comment bubbles in real Chromium against a running `hugepic serve`, people in separate
// browser contexts (nothing passes between them but the server):
// - A (edit link) comments on a point and on a rectangle; B (comment link) sees a bubble
//   at the same image pixels and a badge on the rectangle, in A's colour, unread; B
//   opens the thread from its bubble (the card on the map, the reply box focused) and
//   replies; A sees the unread mark, opens it (read), resolves it; both see it resolved
//   (faded); B reopens and resolves again (a comment link may); "Show resolved", "Show
//   annotations" and per-author switches hide bubbles; an edited message says so; a
//   bubble opens from the keyboard too;
// - crowded bubbles cluster zoomed out, and a click on the cluster spreads them;
// - on a 375×667 touch screen a tapped bubble opens its thread on screen with the reply
//   box focused and in view.
// Screenshots: test-output/bubbles-desktop.png, bubbles-phone.png (and bubbles-*.png).
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
const ADA_COLOR = '#e91e63';
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
const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

async function open(picture, token, name, { color = '#3f51b5', contextOptions = DESKTOP } = {}) {
  const context = await browser.newContext(contextOptions);
  // Someone who opened the drawing tools before (they start folded on a first visit).
  await context.addInitScript(() => window.localStorage.setItem('hugepic:tools-open', '1'));
  await context.addInitScript(([n, c]) => {
    // The same person on every load of this context: an id is made once.
    if (!localStorage.getItem('hugepic:user')) localStorage.setItem('hugepic:user', JSON.stringify({ name: n, color: c }));
  }, [name, color]);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.base}/p/${picture.id}?token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected' && window.hugepicAnnotations?.provider.synced, null, { timeout: 15_000 });
  return { context, page, errors, name };
}

async function closeAll(...people) {
  for (const p of people) {
    assert.deepEqual(p.errors, [], `no page errors for ${p.name}`);
    assert.equal(await p.page.locator('.refused:not([hidden])').count(), 0, `nothing refused for ${p.name}`);
    await p.context.close();
  }
}

async function until(page, check, arg, what, timeout = 20_000) {
  try {
    await page.waitForFunction(check, arg, { timeout });
  } catch {
    throw new Error(`timed out waiting for ${what}`);
  }
}

async function settled(page) {
  await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim'), null, { timeout: 10_000 });
}

async function clickMap(page, at) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + at[0] - 5, box.y + at[1] - 5);
  await page.mouse.move(box.x + at[0], box.y + at[1]);
  await page.mouse.click(box.x + at[0], box.y + at[1]);
}

/** geoman's way: click a corner, move, click the other corner. */
async function clickTwice(page, from, to) {
  await settled(page);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + from[0] - 5, box.y + from[1] - 5);
  await page.mouse.move(box.x + from[0], box.y + from[1]);
  await page.mouse.click(box.x + from[0], box.y + from[1]);
  for (let i = 1; i <= 6; i++) await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * i) / 6, box.y + from[1] + ((to[1] - from[1]) * i) / 6);
  await page.mouse.click(box.x + to[0], box.y + to[1]);
}

const tool = (page, name) => page.getByRole('toolbar', { name: 'Drawing tools' }).getByRole('button', { name, exact: true });
const threadsOf = (page) => page.evaluate(() => window.hugepicAnnotations.threads());
const bubblesOf = (page) => page.evaluate(() => window.hugepicAnnotations.bubbles());
const bubble = (page, id) => page.locator(`.hugepic-bubble[data-thread="${id}"]`);
const card = (page) => page.locator('.hugepic-card:not([hidden])');
const shot = (page, name) => page.screenshot({ path: path.join(OUT, `bubbles-${name}.png`) });

/** Where image pixel (x, y) is on the screen, from the view in the page's hash. */
async function screenOf(page, x, y) {
  const [zoom, cx, cy] = (await page.evaluate(() => location.hash)).slice(1).split('&')[0].split('/').map(Number);
  const box = await page.locator('#map').boundingBox();
  const scale = 2 ** (zoom - TOP);
  return { x: box.x + box.width / 2 + (x - cx) * scale, y: box.y + box.height / 2 + (y - cy) * scale };
}

/** The image pixel a bubble element points at, from where it is drawn: a point bubble's
 *  pointed corner (7, 37 in its 44 px box), a badge's centre. */
async function pointedAt(page, id, kind) {
  const box = await bubble(page, id).boundingBox();
  assert.ok(box.width >= 44 && box.height >= 44, `a 44×44 hit target at least: ${JSON.stringify(box)}`);
  return kind === 'point' ? { x: box.x + 7, y: box.y + 37 } : { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

const near = (got, want, tolerance = 2) => Math.abs(got.x - want.x) <= tolerance && Math.abs(got.y - want.y) <= tolerance;

/** Waits until bubble `id` is drawn where image pixel `at` is on the screen (the map may
 *  still be settling: the page around it grows as threads come, and a picture seen
 *  whole is kept centred). */
async function drawnAt(page, id, kind, at, what) {
  let got;
  let want;
  const deadline = Date.now() + 10_000;
  for (;;) {
    await settled(page);
    got = await pointedAt(page, id, kind);
    want = await screenOf(page, at.x, at.y);
    if (near(got, want)) return;
    if (Date.now() > deadline) assert.fail(`${what}: drawn at ${JSON.stringify(got)}, the pixel is at ${JSON.stringify(want)}`);
    await page.waitForTimeout(100);
  }
}

/** A comments with the Comment button at `at` (map pixels). */
async function commentAtPoint(page, at, text) {
  await page.getByRole('button', { name: 'Comment', exact: true }).click();
  await clickMap(page, at);
  await page.getByRole('textbox', { name: 'Write a comment' }).fill(text);
  await page.locator('form.comment-form', { has: page.getByRole('textbox', { name: 'Write a comment' }) }).getByRole('button', { name: 'Post' }).click();
  await page.getByRole('textbox', { name: 'Write a comment' }).waitFor({ state: 'detached' });
}

/** A draws a rectangle and comments on it (a click inside it offers a thread). */
async function rectangleWithComment(page, from, to, text) {
  await tool(page, 'Rectangle').click();
  await clickTwice(page, from, to);
  await until(page, () => Object.values(window.hugepicAnnotations.shapes()).some((s) => s.type === 'rectangle'), null, 'the rectangle');
  await clickMap(page, [(from[0] + to[0]) / 2, (from[1] + to[1]) / 2]);
  await page.getByText('New comment on this shape').waitFor();
  await page.getByRole('textbox', { name: 'Write a comment' }).fill(text);
  await page.locator('form.comment-form', { has: page.getByRole('textbox', { name: 'Write a comment' }) }).getByRole('button', { name: 'Post' }).click();
  await page.getByRole('textbox', { name: 'Write a comment' }).waitFor({ state: 'detached' });
}

test('bubbles on the picture: seen by others at the same pixels, opened in place, unread, resolved', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada', { color: ADA_COLOR });
  const b = await open(picture, picture.tokens.comment, 'Bo', { color: '#009688' });

  await commentAtPoint(a.page, [700, 420], 'Why is this bar so tall?');
  await rectangleWithComment(a.page, [200, 200], [380, 320], 'This block needs a label');
  const threads = await threadsOf(a.page);
  assert.equal(threads.length, 2);
  const point = threads.find((t) => typeof t.target !== 'string');
  const onShape = threads.find((t) => typeof t.target === 'string');
  const rect = (await a.page.evaluate(() => window.hugepicAnnotations.shapes()))[onShape.target].geometry;

  // B: a bubble at the point and a badge at the rectangle's top-right corner, at the same
  // image pixels as A's, drawn where those pixels are on B's screen; in A's colour; unread.
  await until(b.page, () => window.hugepicAnnotations.bubbles().length === 2, null, 'two bubbles at B');
  const atA = await bubblesOf(a.page);
  const atB = await bubblesOf(b.page);
  const sorted = (list) => list.map(({ ids, kind, x, y }) => ({ ids, kind, x: Math.round(x * 100) / 100, y: Math.round(y * 100) / 100 })).sort((p, q) => p.kind.localeCompare(q.kind));
  assert.deepEqual(sorted(atB), sorted(atA), 'same bubbles at the same image pixels');
  const pointBubble = atB.find((x) => x.kind === 'point');
  const badge = atB.find((x) => x.kind === 'shape');
  assert.deepEqual(pointBubble.ids, [point.id]);
  assert.ok(Math.abs(pointBubble.x - point.target.x) < 0.01 && Math.abs(pointBubble.y - point.target.y) < 0.01, 'the bubble at the point commented on');
  assert.deepEqual(badge.ids, [onShape.id]);
  assert.ok(Math.abs(badge.x - (rect.x + rect.width)) < 0.01 && Math.abs(badge.y - rect.y) < 0.01, `the badge at the top-right corner: ${JSON.stringify([badge, rect])}`);
  for (const page of [a.page, b.page]) {
    await drawnAt(page, point.id, 'point', point.target, 'the point bubble on the screen');
    await drawnAt(page, onShape.id, 'shape', { x: rect.x + rect.width, y: rect.y }, 'the badge on the screen');
  }
  assert.equal((await bubble(b.page, onShape.id).locator('.body').textContent()).trim(), '1', 'the badge counts the messages');
  const background = await bubble(b.page, point.id).locator('.body').evaluate((e) => window.getComputedStyle(e).backgroundColor);
  assert.equal(background, 'rgb(233, 30, 99)', "in Ada's colour");
  assert.equal(await bubble(b.page, point.id).getAttribute('data-unread'), '1', 'new to B');
  assert.equal(await bubble(a.page, point.id).getAttribute('data-unread'), '0', 'never unread to its author');
  await shot(b.page, 'b-sees');

  // B opens the thread from its bubble: the card on the map, the reply box focused;
  // the panel highlights the same thread; B replies.
  await bubble(b.page, point.id).click();
  await card(b.page).locator(`.thread-card[data-thread="${point.id}"]`).waitFor();
  await until(b.page, () => document.activeElement?.getAttribute('aria-label') === 'Reply' && !!document.activeElement.closest('.hugepic-card'), null, 'the reply box focused');
  assert.equal(await card(b.page).locator('.message .text').first().textContent(), 'Why is this bar so tall?');
  await b.page.locator(`.side-panel .thread.selected[data-thread="${point.id}"]`).waitFor();
  await until(b.page, (id) => window.hugepicAnnotations.unread(id) === 0, point.id, 'read once opened');
  assert.equal(await bubble(b.page, point.id).getAttribute('data-unread'), '0');
  await b.page.keyboard.type('Because it counts twice.');
  await card(b.page).getByRole('button', { name: 'Post' }).click();
  await until(b.page, (id) => window.hugepicAnnotations.threads().find((t) => t.id === id).messages.length === 2, point.id, "B's reply");
  assert.equal(await card(b.page).getByRole('textbox', { name: 'Reply' }).inputValue(), '', 'the reply box is emptied');

  // A: the unread mark on the bubble and in the panel; opening the thread reads it.
  await until(a.page, (id) => document.querySelector(`.hugepic-bubble[data-thread="${id}"]`)?.dataset.unread === '1', point.id, 'the unread mark at A');
  assert.equal(await bubble(a.page, point.id).locator('.unread-count').textContent(), '1');
  await a.page.locator(`.side-panel .thread.unread[data-thread="${point.id}"] .unread`, { hasText: '1 new' }).waitFor();
  await shot(a.page, 'a-unread');
  await bubble(a.page, point.id).click();
  await card(a.page).locator('.message .text', { hasText: 'Because it counts twice.' }).waitFor();
  await until(a.page, (id) => document.querySelector(`.hugepic-bubble[data-thread="${id}"]`)?.dataset.unread === '0', point.id, 'read at A');
  const seen = JSON.parse(await a.page.evaluate((id) => localStorage.getItem(`hugepic:seen:${id}`), picture.id));
  assert.equal(seen[point.id].count, 2, `remembered in this browser: ${JSON.stringify(seen)}`);
  await a.page.reload();
  await a.page.waitForFunction(() => window.hugepicAnnotations?.provider.synced && window.hugepicAnnotations.bubbles().length === 2, null, { timeout: 15_000 });
  assert.equal(await bubble(a.page, point.id).getAttribute('data-unread'), '0', 'still read after a reload');

  // A resolves it: both see it resolved, faded; B's open card says who resolved it.
  await bubble(a.page, point.id).click();
  await card(a.page).getByRole('button', { name: 'Resolve' }).click({ timeout: 5000 }).catch(async (e) => {
    await shot(a.page, 'failed');
    console.log('# debug', await a.page.evaluate(() => [window.hugepicAnnotations.selectedThread(), document.querySelector('.hugepic-card')?.outerHTML.slice(0, 500)]));
    throw e;
  });
  for (const page of [a.page, b.page]) {
    await until(page, (id) => document.querySelector(`.hugepic-bubble[data-thread="${id}"]`)?.classList.contains('resolved'), point.id, 'the bubble resolved');
    const opacity = await bubble(page, point.id).locator('.body').evaluate((e) => Number(window.getComputedStyle(e).opacity));
    assert.ok(opacity < 1, `faded: ${opacity}`);
  }
  await card(b.page).getByText('✓ Resolved by Ada').waitFor();
  const resolved = (await threadsOf(b.page)).find((t) => t.id === point.id).resolved;
  assert.equal(resolved.by, 'Ada');
  assert.equal(typeof resolved.by_id, 'string');
  assert.ok(resolved.at > 0);
  await b.page.locator(`.side-panel .thread.resolved[data-thread="${point.id}"]`).waitFor();
  await shot(b.page, 'desktop');
  fs.copyFileSync(path.join(OUT, 'bubbles-desktop.png'), path.join(OUT, 'bubbles-b-resolved.png'));

  // A comment link may reopen and resolve (the server takes both).
  await card(b.page).getByRole('button', { name: 'Reopen' }).click();
  await until(a.page, (id) => !document.querySelector(`.hugepic-bubble[data-thread="${id}"]`)?.classList.contains('resolved'), point.id, 'reopened at A');
  await card(b.page).getByRole('button', { name: 'Resolve' }).click();
  await until(a.page, (id) => window.hugepicAnnotations.threads().find((t) => t.id === id).resolved?.by === 'Bo', point.id, 'resolved by Bo at A');
  await b.page.keyboard.press('Escape');
  await card(b.page).waitFor({ state: 'detached' }).catch(() => card(b.page).waitFor({ state: 'hidden' }));

  // "Show resolved" off: the resolved bubble and its panel entry go; on: back.
  await b.page.getByRole('checkbox', { name: 'Show resolved' }).uncheck();
  await until(b.page, (id) => !document.querySelector(`.hugepic-bubble[data-thread="${id}"]`), point.id, 'the resolved bubble hidden');
  assert.equal(await b.page.locator(`.side-panel .thread[data-thread="${point.id}"]`).count(), 0);
  assert.equal(await bubble(b.page, onShape.id).count(), 1, 'open threads stay');
  await b.page.getByRole('checkbox', { name: 'Show resolved' }).check();
  await bubble(b.page, point.id).waitFor();
  // "Show annotations", and per author, hide bubbles with the shapes.
  await b.page.getByRole('checkbox', { name: 'Show annotations' }).uncheck();
  assert.equal(await b.page.locator('.hugepic-bubble').count(), 0, 'no bubbles with annotations hidden');
  await b.page.getByRole('checkbox', { name: 'Show annotations' }).check();
  await bubble(b.page, point.id).waitFor();
  await b.page.getByRole('checkbox', { name: 'Show shapes and comments by Ada' }).uncheck();
  assert.equal(await b.page.locator('.hugepic-bubble').count(), 0, "no bubbles with Ada's annotations hidden");
  await b.page.getByRole('checkbox', { name: 'Show shapes and comments by Ada' }).check();
  await bubble(b.page, onShape.id).waitFor();

  // A edits the comment on the rectangle (from its badge): it says "edited" everywhere.
  await bubble(a.page, onShape.id).click();
  await card(a.page).getByRole('button', { name: 'Edit' }).click();
  await card(a.page).getByRole('textbox', { name: 'Edit your comment' }).fill('This block needs a label and a unit');
  await card(a.page).getByRole('button', { name: 'Save' }).click();
  // (B opens it from the keyboard: a focused bubble opens with Enter.)
  await bubble(b.page, onShape.id).focus();
  await b.page.keyboard.press('Enter');
  await card(b.page).locator('.message', { hasText: 'This block needs a label and a unit' }).locator('.edited', { hasText: 'edited' }).waitFor();
  const edited = (await threadsOf(b.page)).find((t) => t.id === onShape.id).messages[0];
  assert.equal(typeof edited.edited, 'number', 'stored as `edited` on the message');
  await closeAll(a, b);
});

test('crowded bubbles cluster zoomed out; a click on the cluster spreads them', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada', { color: ADA_COLOR });
  // Four threads 40 image pixels apart: a few screen pixels at the whole-picture zoom.
  await a.page.evaluate(() => {
    const { doc } = window.hugepicAnnotations;
    const comments = doc.getMap('comments');
    const YMap = comments.constructor;
    const YArray = doc.getArray('probe-type').constructor;
    const me = JSON.parse(localStorage.getItem('hugepic:user'));
    doc.transact(() => {
      [[1200, 800], [1240, 800], [1200, 840], [1240, 840]].forEach(([x, y], i) => {
        const thread = new YMap();
        thread.set('target', { x, y });
        const messages = new YArray();
        messages.push([{ id: `m${i}`, author: me.name, author_id: me.id, text: `Crowded ${i}`, at: Date.now() }]);
        thread.set('messages', messages);
        comments.set(`crowd${i}`, thread);
      });
    });
  });
  await until(a.page, () => window.hugepicAnnotations.bubbles().some((b) => b.kind === 'cluster' && b.ids.length === 4), null, 'one cluster of four');
  const cluster = a.page.locator('.hugepic-bubble.cluster');
  assert.equal((await cluster.locator('.body').textContent()).trim(), '4');
  const box = await cluster.boundingBox();
  assert.ok(box.width >= 44 && box.height >= 44, 'a 44×44 hit target');
  const zoomBefore = Number((await a.page.evaluate(() => location.hash)).slice(1).split('/')[0]);
  await shot(a.page, 'cluster');
  await cluster.click();
  await until(a.page, () => window.hugepicAnnotations.bubbles().filter((b) => b.kind === 'point').length === 4, null, 'four bubbles after the click', 20_000);
  await settled(a.page);
  const zoomAfter = Number((await a.page.evaluate(() => location.hash)).slice(1).split('/')[0]);
  assert.ok(zoomAfter > zoomBefore, `zoomed in: ${zoomBefore} → ${zoomAfter}`);
  // All four in view, and 40 px apart at least.
  const mapBox = await a.page.locator('#map').boundingBox();
  const corners = [];
  for (let i = 0; i < 4; i++) {
    const p = await pointedAt(a.page, `crowd${i}`, 'point');
    assert.ok(p.x > mapBox.x && p.x < mapBox.x + mapBox.width && p.y > mapBox.y && p.y < mapBox.y + mapBox.height, `bubble ${i} in view`);
    corners.push(p);
  }
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) assert.ok(Math.hypot(corners[i].x - corners[j].x, corners[i].y - corners[j].y) >= 44, 'spread apart: their 44 px targets do not overlap');
  await shot(a.page, 'spread');
  await closeAll(a);
});

test('375×667 touch screen: a tapped bubble opens its thread on screen, reply box focused and in view', async () => {
  const picture = await newPicture();
  const a = await open(picture, picture.tokens.edit, 'Ada', { color: ADA_COLOR });
  // Near the top of the picture: the card has no room above the bubble there.
  await commentAtPoint(a.page, [560, 120], 'Is this the top of the scale?');
  await rectangleWithComment(a.page, [150, 250], [330, 340], 'And this one?');
  const point = (await threadsOf(a.page)).find((t) => typeof t.target !== 'string');
  const t = await open(picture, picture.tokens.comment, 'Tess', { color: '#ff9800', contextOptions: PHONE });
  const { page } = t;
  await until(page, () => window.hugepicAnnotations.bubbles().length === 2, null, 'two bubbles on the phone');
  await drawnAt(page, point.id, 'point', point.target, 'the point bubble on the phone');
  await bubble(page, point.id).tap();
  await card(page).locator(`.thread-card[data-thread="${point.id}"]`).waitFor();
  await until(page, () => document.activeElement?.getAttribute('aria-label') === 'Reply' && !!document.activeElement.closest('.hugepic-card'), null, 'the reply box focused');
  await settled(page);
  const reply = await card(page).getByRole('textbox', { name: 'Reply' }).boundingBox();
  const viewport = page.viewportSize();
  const inView = (r) => r.x >= 0 && r.y >= 0 && r.x + r.width <= viewport.width && r.y + r.height <= viewport.height;
  assert.ok(inView(reply), `the reply box in the viewport: ${JSON.stringify(reply)}`);
  const cardBox = await card(page).boundingBox();
  const mapBox = await page.locator('#map').boundingBox();
  assert.ok(cardBox.x >= mapBox.x && cardBox.x + cardBox.width <= mapBox.x + mapBox.width, `the card across the map: ${JSON.stringify([cardBox, mapBox])}`);
  assert.ok(cardBox.y >= mapBox.y - 1 && cardBox.y + cardBox.height <= mapBox.y + mapBox.height + 1, `the card within the map's height: ${JSON.stringify([cardBox, mapBox])}`);
  assert.ok(inView(cardBox), 'the card on screen');
  assert.equal(await card(page).getAttribute('data-side'), 'below', 'below a bubble near the top');
  const post = await card(page).getByRole('button', { name: 'Post' }).boundingBox();
  assert.ok(post.height >= 44, 'Post is a 44 px target');
  await page.keyboard.type('Yes, from a phone.');
  await shot(page, 'phone');
  await card(page).getByRole('button', { name: 'Post' }).tap();
  await until(a.page, (id) => window.hugepicAnnotations.threads().find((x) => x.id === id).messages.some((m) => m.text === 'Yes, from a phone.'), point.id, "the phone's reply at A");
  await until(a.page, (id) => document.querySelector(`.hugepic-bubble[data-thread="${id}"]`)?.dataset.unread === '1', point.id, 'unread at A');
  await closeAll(a, t);
});
