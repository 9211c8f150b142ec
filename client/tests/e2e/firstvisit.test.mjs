// What a first-time visitor meets, in real Chromium against `hugepic serve`: every text
// on the picture page meets WCAG AA contrast (4.5:1, 3:1 for large text; computed from
// the styles, backgrounds composited) in and out of fullscreen; the fullscreen button
// says which way it goes, and a picture seen whole is refitted; placing a marker loads
// its images (no 404). Screenshots: test-output/firstvisit-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { png, startServer, waitFinal } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
let server;
let browser;
let picture;

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist')]);
  browser = await launchBrowser();
  const form = new FormData();
  form.append('file', new Blob([png(2000, 1300, 'chart')]), 'chart.png');
  picture = await (await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form })).json();
  assert.equal((await waitFinal(server.base, picture.id)).status, 'ready');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every visible text whose contrast with what is behind it is under WCAG AA. */
function lowContrast() {
  const parse = (css) => {
    const m = /rgba?\(([^)]+)\)/.exec(css);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { rgb: p.slice(0, 3), a: p.length > 3 ? p[3] : 1 };
  };
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const full = document.fullscreenElement;
  /** What is painted behind `el`: its and its ancestors' backgrounds, composited; null over the picture. */
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      if (e.classList.contains('leaflet-container')) return null; // over tiles: unknown
      const style = window.getComputedStyle(e);
      if (style.backgroundImage !== 'none') return null;
      const c = parse(style.backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
      if (e === full) {
        layers.push({ rgb: [0, 0, 0], a: 1 }); // the fullscreen backdrop
        break;
      }
    }
    let color = [255, 255, 255];
    for (const c of layers.reverse()) color = color.map((v, i) => c.rgb[i] * c.a + v * (1 - c.a));
    return color;
  };
  const opaque = (el) => {
    for (let e = el; e; e = e.parentElement) if (Number(window.getComputedStyle(e).opacity) < 1) return false;
    return true;
  };
  const found = [];
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ');
    if (!/[\p{L}\p{N}]/u.test(text)) continue; // nothing a person reads
    const box = el.getBoundingClientRect();
    const style = window.getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility !== 'visible' || !opaque(el)) continue;
    if (el.closest(':disabled, [aria-disabled="true"], [hidden]')) continue;
    const bg = behind(el);
    const fg = parse(style.color);
    if (!bg || !fg) continue;
    const color = fg.rgb.map((v, i) => v * fg.a + bg[i] * (1 - fg.a));
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const r = ratio(color, bg);
    checked += 1;
    if (r < (large ? 3 : 4.5)) found.push(`${JSON.stringify(text.slice(0, 40))} ${r.toFixed(2)}:1 (${style.color} on rgb(${bg.map(Math.round)}))`);
  }
  return { found, checked };
}

test('readable in and out of fullscreen, the button says which way it goes, the picture refits', async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const missing = [];
  page.on('response', (r) => r.status() === 404 && missing.push(r.url()));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${server.base}/p/${picture.id}?token=${encodeURIComponent(picture.tokens.owner)}`);
  await page
    .waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected')
    .catch((e) => assert.fail(`${e.message}; page errors: ${errors.join(' | ')}; 404: ${missing.join(' ')}`));
  // A comment thread, so the panel shows messages with their times.
  await page.evaluate(() => {
    const doc = window.hugepicAnnotations.doc;
    const comments = doc.getMap('comments');
    const YMap = comments.constructor;
    const YArray = doc.getArray('firstvisit-probe').constructor;
    doc.transact(() => {
      const thread = new YMap();
      const messages = new YArray();
      messages.push([{ id: 'm1', author: 'Ada', author_id: 'ada', text: 'Is this the harbour?', at: Date.now() - 120_000 }]);
      thread.set('target', { x: 500, y: 400 });
      thread.set('messages', messages);
      comments.set('t1', thread);
    });
  });
  await page.getByText('Is this the harbour?').first().waitFor();
  // A rectangle with a thread: reachable with Tab, announced with its kind, author and comments.
  await page.evaluate(() => {
    const doc = window.hugepicAnnotations.doc;
    const shapes = doc.getMap('shapes');
    const comments = doc.getMap('comments');
    const YMap = shapes.constructor;
    const YArray = doc.getArray('firstvisit-probe').constructor;
    doc.transact(() => {
      const shape = new YMap();
      shape.set('type', 'rectangle');
      shape.set('geometry', { x: 300, y: 300, width: 400, height: 250 });
      shape.set('style', { color: '#3f51b5', weight: 3, fill: false });
      shape.set('author', 'Ada');
      shape.set('author_id', 'ada');
      shape.set('created', Date.now());
      shapes.set('r1', shape);
      const thread = new YMap();
      const messages = new YArray();
      messages.push([{ id: 'm2', author: 'Bo', author_id: 'bo', text: 'Nice frame', at: Date.now() }]);
      thread.set('target', 'r1');
      thread.set('messages', messages);
      comments.set('t2', thread);
    });
  });
  await page.locator('#map').focus();
  let reached = null;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null);
    if (reached && !reached.startsWith('Rectangle')) reached = null;
  }
  assert.equal(reached, 'Rectangle by Ada, 1 comment', 'the rectangle is reached with Tab and announced');
  const outside = await page.evaluate(lowContrast);
  assert.ok(outside.checked > 20, `texts checked: ${outside.checked}`);
  assert.deepEqual(outside.found, [], 'every text meets WCAG AA out of fullscreen');

  const button = page.locator('a.hugepic-button[aria-label="Fullscreen"]');
  await button.click();
  await page.waitForFunction(() => document.fullscreenElement !== null);
  const exit = page.locator('a.hugepic-button[aria-label="Exit fullscreen"]');
  await exit.waitFor();
  assert.equal(await exit.getAttribute('aria-pressed'), 'true');
  // Seen whole before, seen whole (and larger) after.
  await page.waitForFunction(() => !document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim'));
  const fitted = await page.evaluate(() => {
    const tiles = [...document.querySelectorAll('.leaflet-tile-container img.hugepic-tile')].map((t) => t.getBoundingClientRect());
    const map = document.querySelector('#map').getBoundingClientRect();
    const right = Math.max(...tiles.map((t) => t.right));
    const bottom = Math.max(...tiles.map((t) => t.bottom));
    const left = Math.min(...tiles.map((t) => t.left));
    const top = Math.min(...tiles.map((t) => t.top));
    return { map: [map.left, map.top, map.right, map.bottom], picture: [left, top, right, bottom] };
  });
  const [ml, mt, mr, mb] = fitted.map;
  const [pl, pt, pr, pb] = fitted.picture;
  assert.ok(pl >= ml - 2 && pt >= mt - 2 && pr <= mr + 2 && pb <= mb + 2, `the whole picture in view: ${JSON.stringify(fitted)}`);
  assert.ok(pr - pl >= (mr - ml) * 0.9 || pb - pt >= (mb - mt) * 0.9, `the picture fills the fullscreen map: ${JSON.stringify(fitted)}`);
  await page.screenshot({ path: path.join(OUT, 'firstvisit-fullscreen.png') });
  const inside = await page.evaluate(lowContrast);
  assert.ok(inside.checked > 10, `texts checked in fullscreen: ${inside.checked}`);
  assert.deepEqual(inside.found, [], 'every text meets WCAG AA in fullscreen');

  await exit.click();
  await page.waitForFunction(() => document.fullscreenElement === null);
  await button.waitFor();
  assert.equal(await button.getAttribute('aria-pressed'), 'false');

  // `?` lists the keyboard shortcuts; Escape closes the list.
  await page.locator('#map').focus();
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  assert.ok((await help.textContent()).includes('Undo your last change'), 'the drawing keys are listed for an owner');
  await page.screenshot({ path: path.join(OUT, 'firstvisit-shortcuts.png') });
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });

  // The drawing tools start folded (they would cover a corner of the picture), open on
  // demand, and stay as the person left them.
  const tools = page.getByRole('toolbar', { name: 'Drawing tools' });
  const marker = tools.getByRole('button', { name: 'Marker', exact: true });
  assert.equal(await marker.isVisible(), false, 'the tools start folded');
  await tools.getByRole('button', { name: '✎ Draw' }).click();
  await marker.waitFor();
  await page.reload();
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected');
  await marker.waitFor();

  // The marker tool's images come with the page.
  await marker.click();
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + box.width / 2 - 5, box.y + box.height / 2);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('.leaflet-marker-icon');
  await page.waitForFunction(() => [...document.querySelectorAll('img.leaflet-marker-icon')].every((i) => i.complete && i.naturalWidth > 0));
  await page.screenshot({ path: path.join(OUT, 'firstvisit-marker.png') });
  assert.deepEqual(missing, [], 'no request answered 404');
  assert.deepEqual(errors, [], 'no page errors');
  await context.close();
});

test('375×667 touch: Comment, then a tap on the picture opens the composer on screen, focused', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(`${server.base}/p/${picture.id}?token=${encodeURIComponent(picture.tokens.comment)}`);
  await page.waitForFunction(() => document.querySelector('.connection')?.dataset.state === 'connected');
  await page.getByRole('button', { name: 'Comment', exact: true }).tap();
  const box = await page.locator('#map').boundingBox();
  await page.touchscreen.tap(box.x + box.width / 2, box.y + box.height / 2);
  const composer = page.getByRole('textbox', { name: 'Write a comment' });
  await composer.waitFor();
  await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Write a comment');
  // Scrolled to once focused: wait until it is inside the viewport.
  await page.waitForFunction(() => {
    const r = document.activeElement.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;
  });
  await page.screenshot({ path: path.join(OUT, 'firstvisit-phone-composer.png') });
  await context.close();
});
