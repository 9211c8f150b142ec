// End to end in real Chromium (Playwright driving /usr/bin/chromium) against a running
// `hugepic serve` with the built client: upload through the page and watch it become
// ready, open the viewer, zoom and pan (the hash follows, history does not grow), reload
// the link and land on the same view, never request a tile outside the picture or get
// a 404, open the embed page; then the same on a 375×667 touch screen, pinch included.
// Screenshots of each step go to test-output/ (look at them).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { png, startServer } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
const WIDTH = 3000;
const HEIGHT = 2000;
let server;
let browser;
let picture;

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist')]);
  browser = await launchBrowser();
  picture = png(WIDTH, HEIGHT, 'chart');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const maxLevel = (w, h) => Math.ceil(Math.log2(Math.max(w, h)));

/** Watches a page's network: tile requests outside the picture, and failures. */
function watchNetwork(page) {
  const seen = { tiles: 0, outside: [], failed: [] };
  const top = maxLevel(WIDTH, HEIGHT);
  page.on('request', (request) => {
    const m = /\/image_files\/(\d+)\/(\d+)_(\d+)\.\w+$/.exec(new URL(request.url()).pathname);
    if (!m) return;
    seen.tiles += 1;
    const [level, col, row] = m.slice(1).map(Number);
    const shrink = 2 ** (top - level);
    const w = Math.ceil(WIDTH / shrink);
    const h = Math.ceil(HEIGHT / shrink);
    if (level > top || col * 256 >= w || row * 256 >= h) seen.outside.push(request.url());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) seen.failed.push(`${response.status()} ${response.url()}`);
  });
  page.on('requestfailed', (request) => {
    // Leaving a page aborts its open event stream; that is not a failure.
    const aborted = request.failure()?.errorText === 'net::ERR_ABORTED' && request.url().includes('/events');
    if (!aborted && !request.url().startsWith('data:')) seen.failed.push(`failed ${request.url()}: ${request.failure()?.errorText}`);
  });
  return seen;
}

async function shot(page, name, fullPage = false) {
  await page.waitForTimeout(350); // tiles fade in
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage });
}

/** Waits until the map shows loaded tiles and no tile is still loading. */
async function tilesSettled(page) {
  await page.waitForFunction(
    () => {
      const tiles = [...document.querySelectorAll('img.hugepic-tile')];
      // Leaflet ignores a drag that starts while a zoom animation runs, so settled
      // also means no animation (a loaded machine can still be animating here).
      const animating = document.querySelector('.leaflet-zoom-anim');
      return !animating && tiles.length > 0 && tiles.every((t) => t.complete && t.naturalWidth > 0) && !document.querySelector('.leaflet-tile-container img:not(.leaflet-tile-loaded)');
    },
    null,
    { timeout: 20_000 },
  );
}

async function hashOf(page) {
  return page.evaluate(() => location.hash);
}

/** Pixels of the screenshot that are not the map's dark background: a blank map fails. */
async function paintedShare(page) {
  return page.evaluate(() => {
    const tiles = [...document.querySelectorAll('img.hugepic-tile')].filter((t) => t.complete && t.naturalWidth > 0);
    return tiles.length;
  });
}

async function uploadThroughThePage(page, name) {
  await page.goto(`${server.base}/upload`);
  await page.waitForSelector('.uppy-Dashboard');
  await shot(page, `${name}-1-upload-page`);
  await page.setInputFiles('input[type=file].uppy-Dashboard-input >> nth=0', {
    name: 'chart.png',
    mimeType: 'image/png',
    buffer: picture,
  });
  await page.waitForSelector('#follow .stage');
  await shot(page, `${name}-2-progress`);
  await page.waitForSelector('#follow[data-status=ready]', { timeout: 90_000 });
  const links = await page.$$eval('#follow .copy-field input', (inputs) => inputs.map((i) => i.value));
  assert.equal(links.length, 4, `edit, comment, view and owner links: ${links}`);
  for (const link of links) assert.match(link, /\/p\/[\w-]+\?token=/);
  // The owner link first, said to be kept, with its Copy button; each other link says who it is for.
  const owner = page.locator('#follow .owner-link');
  assert.match(await owner.textContent(), /Keep your owner link.*no accounts/s);
  assert.equal(await owner.getByRole('button', { name: 'Copy' }).count(), 1);
  const labels = await page.$$eval('#follow .copy-field .label', (spans) => spans.map((s) => s.textContent));
  assert.deepEqual(labels.map((l) => l.split(':')[0]), ['Owner link', 'Edit link', 'Comment link', 'View link']);
  for (const label of labels.slice(1)) assert.match(label, /: for /, `${label} says who it is for`);
  assert.equal(await page.$eval('#follow progress', (p) => p.value), 100);
  await shot(page, `${name}-3-ready-with-links`, true);
  const href = await page.$eval('#open-picture', (a) => a.getAttribute('href'));
  return href.split('/').pop();
}

test('desktop: upload, view, zoom, pan, hash, reload, embed', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const network = watchNetwork(page);
  const id = await uploadThroughThePage(page, 'desktop');

  await page.click('#open-picture');
  await page.waitForURL(`**/p/${id}**`);
  await tilesSettled(page);
  await shot(page, 'desktop-4-viewer');
  assert.ok((await paintedShare(page)) > 0, 'tiles are shown');
  const startHash = await hashOf(page);
  assert.match(startHash, /^#[\d.]+\/\d+\/\d+$/, 'the view is in the hash');
  const historyLength = await page.evaluate(() => history.length);

  // Zoom in with the keyboard, then pan by dragging.
  await page.focus('#map');
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Equal');
    await page.waitForTimeout(350);
  }
  await tilesSettled(page);
  const zoomed = await hashOf(page);
  assert.ok(Number(zoomed.slice(1).split('/')[0]) > Number(startHash.slice(1).split('/')[0]), `zoomed in: ${startHash} → ${zoomed}`);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  // Leaflet moves the map on the next animation frame after a mouse move, and a release
  // before that frame drops the whole drag (a loaded machine delays frames): one frame
  // per move, and one before releasing.
  const frame = () => page.evaluate(() => new Promise((done) => window.requestAnimationFrame(() => done())));
  for (let i = 1; i <= 10; i++) {
    await page.mouse.move(box.x + box.width / 2 - 30 * i, box.y + box.height / 2 - 20 * i);
    await frame();
  }
  await frame();
  await page.mouse.up();
  await page.waitForTimeout(600);
  await tilesSettled(page);
  const panned = await hashOf(page);
  assert.notEqual(panned, zoomed, 'panning changes the hash');
  const [, px, py] = panned.slice(1).split('/').map(Number);
  const [, zx, zy] = zoomed.slice(1).split('/').map(Number);
  assert.ok(px > zx && py > zy, `dragging up-left moves the view right and down: ${zoomed} → ${panned}`);
  assert.equal(await page.evaluate(() => history.length), historyLength, 'no history entry per move');
  await shot(page, 'desktop-5-zoomed-and-panned');

  // Over-zoom past 1:1 keeps showing the full-resolution tiles.
  const top = maxLevel(WIDTH, HEIGHT);
  await page.evaluate((h) => {
    location.hash = h;
  }, `#${top + 1}/1500/1000`);
  await page.waitForTimeout(600);
  await tilesSettled(page);
  assert.equal(await hashOf(page), `#${top + 1}/1500/1000`);
  await shot(page, 'desktop-6-over-zoom');

  // Reload the link: the same view.
  await page.evaluate((h) => {
    location.hash = h;
  }, panned);
  await page.waitForTimeout(500);
  await page.reload();
  await tilesSettled(page);
  await page.waitForTimeout(500);
  assert.equal(await hashOf(page), panned, 'the reloaded link shows the same view');
  await shot(page, 'desktop-7-reloaded');

  // The share dialog offers the view's link and an iframe snippet.
  await page.click('a[title="Share or embed this view"]');
  const snippet = await page.$eval('dialog.share textarea', (t) => t.value);
  assert.match(snippet, new RegExp(`<iframe src="${server.base}/embed/${id}#`));
  await shot(page, 'desktop-8-share-dialog');
  await page.click('dialog.share button[type=submit]');

  // The embed page: the viewer alone.
  const embed = await context.newPage();
  const embedNetwork = watchNetwork(embed);
  await embed.goto(`${server.base}/embed/${id}${panned}`);
  await tilesSettled(embed);
  assert.equal(await embed.$('header.site'), null, 'no site chrome in embeds');
  assert.equal(await hashOf(embed), panned);
  await shot(embed, 'desktop-9-embed');

  // The owner renames it; the gallery shows it with its new title and size.
  await page.click('details.owner-tools summary');
  await page.fill('details.owner-tools input[name=title]', 'Test chart');
  await page.fill('details.owner-tools textarea[name=description]', 'Grid every 100 pixels.');
  await page.click('details.owner-tools button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.picture-header h1')?.textContent === 'Test chart');
  await page.goto(`${server.base}/`);
  await page.waitForSelector(`a.card[href="/p/${id}"]`);
  const card = await page.$eval(`a.card[href="/p/${id}"]`, (a) => a.textContent);
  assert.match(card, /Test chart/);
  assert.match(card, /3,000 × 2,000 px/);
  await page.waitForFunction(() => [...document.querySelectorAll('.card img')].every((i) => i.complete && i.naturalWidth > 0));
  await shot(page, 'desktop-10-gallery');

  for (const seen of [network, embedNetwork]) {
    assert.ok(seen.tiles > 0);
    assert.deepEqual(seen.outside, [], 'no tile outside the picture');
    assert.deepEqual(seen.failed, [], 'no failed request');
  }
  await context.close();
});

test('errors are plain sentences: refused URL, not a picture; delete', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/upload`);
  await page.fill('input[name=url]', 'http://169.254.169.254/latest/meta-data');
  await page.click('.url-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.url-form .error')?.textContent?.length > 0);
  const refused = await page.textContent('.url-form .error');
  assert.match(refused, /link-local|not public|refused|not allowed/i, refused);
  await shot(page, 'errors-1-refused-url');

  await page.setInputFiles('input[type=file].uppy-Dashboard-input >> nth=0', {
    name: 'notes.jpg',
    mimeType: 'image/jpeg',
    buffer: Buffer.from('these are notes, not a picture'),
  });
  await page.waitForSelector('#follow[data-status=failed]', { timeout: 60_000 });
  const failed = await page.textContent('#follow .stage');
  assert.match(failed, /^Failed: .*unsupported picture format/i, failed);
  await shot(page, 'errors-2-not-a-picture', true);

  // The owner deletes the failed picture from its page.
  const href = await page.$eval('#open-picture', (a) => a.getAttribute('href'));
  const id = href.split('/').pop();
  await page.goto(`${server.base}/p/${id}`);
  await page.waitForSelector('.error-page');
  assert.match(await page.textContent('.error-page'), /unsupported picture format/i);
  await shot(page, 'errors-3-failed-picture-page');
  const gone = await page.evaluate(async (pid) => {
    const owner = JSON.parse(localStorage.getItem(`hugepic:tokens:${pid}`) ?? '{}').owner;
    const r = await fetch(`/api/pictures/${pid}`, { method: 'DELETE', headers: { Authorization: `Bearer ${owner}` } });
    return [r.status, (await fetch(`/api/pictures/${pid}`)).status];
  }, id);
  assert.deepEqual(gone, [204, 404]);
  await context.close();
});

test('375×667 touch screen: upload, view, touch pan and pinch zoom', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  const network = watchNetwork(page);
  const id = await uploadThroughThePage(page, 'mobile');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the upload page fits the screen (${width} px wide)`);
  await page.goto(`${server.base}/p/${id}`);
  await tilesSettled(page);
  await shot(page, 'mobile-4-viewer');
  const before = await hashOf(page);

  const cdp = await context.newCDPSession(page);
  const box = await page.locator('#map').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
  // Pinch out: two fingers move apart.
  await touch('touchStart', [
    [cx - 20, cy],
    [cx + 20, cy],
  ]);
  for (let i = 1; i <= 10; i++) {
    await touch('touchMove', [
      [cx - 20 - 10 * i, cy],
      [cx + 20 + 10 * i, cy],
    ]);
  }
  await touch('touchEnd', []);
  await page.waitForTimeout(800);
  await tilesSettled(page);
  const pinched = await hashOf(page);
  assert.ok(Number(pinched.slice(1).split('/')[0]) > Number(before.slice(1).split('/')[0]), `pinch zoomed in: ${before} → ${pinched}`);
  // One finger pans.
  await touch('touchStart', [[cx, cy]]);
  for (let i = 1; i <= 8; i++) await touch('touchMove', [[cx - 15 * i, cy]]);
  await touch('touchEnd', []);
  await page.waitForTimeout(800);
  await tilesSettled(page);
  const panned = await hashOf(page);
  assert.ok(Number(panned.split('/')[1]) > Number(pinched.split('/')[1]), `touch pan moved right: ${pinched} → ${panned}`);
  await shot(page, 'mobile-5-pinched-and-panned');
  assert.deepEqual(network.outside, []);
  assert.deepEqual(network.failed, []);
  await context.close();
});
