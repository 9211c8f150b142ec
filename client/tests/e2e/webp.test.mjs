// WebP tiles (`hugepic serve --tile-format webp`) in real Chromium: the picture is tiled
// to WebP, its descriptor says so, and the viewer shows it as it shows JPEG tiles: every
// tile it asks for is a .webp answered image/webp, decoded, and the map shows the
// picture's colours where they are (a screenshot, compared with the upload).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { rgbPng, startServer, waitFinal } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
const WIDTH = 1500;
const HEIGHT = 1000;
/** Four quadrants of flat colour: where each lands on screen says the tiles are placed right. */
const QUADRANTS = [
  [220, 40, 40],
  [40, 180, 60],
  [40, 70, 220],
  [230, 200, 40],
];
let server;
let browser;

function quadrantPng(width, height) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const q = (y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1);
      raw.set(QUADRANTS[q], row + 1 + x * 3);
    }
  }
  return rgbPng(width, height, raw);
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist'), '--tile-format', 'webp']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a picture tiled to WebP is served and shown like a JPEG one', async () => {
  const form = new FormData();
  form.append('file', new Blob([quadrantPng(WIDTH, HEIGHT)], { type: 'image/png' }), 'quadrants.png');
  const created = await (await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form })).json();
  const picture = await waitFinal(server.base, created.id, 120_000);
  assert.equal(picture.status, 'ready', JSON.stringify(picture));
  assert.equal(picture.tile_format, 'webp');
  const dzi = await (await fetch(`${server.base}/tiles/${created.id}/image.dzi`)).text();
  assert.match(dzi, /Format="webp"/);
  const info = await (await fetch(`${server.base}/iiif/${created.id}/info.json`)).json();
  assert.deepEqual(info.extraFormats, ['webp']);
  const thumbnail = await fetch(picture.thumbnail);
  assert.equal(thumbnail.headers.get('content-type'), 'image/webp');

  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const tiles = [];
  page.on('response', (r) => {
    if (r.url().includes('/image_files/')) tiles.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] });
  });
  await page.goto(`${server.base}/p/${created.id}`);
  await page.waitForFunction(
    () => {
      const imgs = [...document.querySelectorAll('img.hugepic-tile')];
      return imgs.length > 0 && imgs.every((t) => t.complete && t.naturalWidth > 0 && t.classList.contains('leaflet-tile-loaded'));
    },
    null,
    { timeout: 30_000 },
  );
  await page.waitForTimeout(400); // tiles fade in
  assert.ok(tiles.length > 0, 'the viewer asked for tiles');
  for (const t of tiles) {
    assert.match(t.url, /\.webp$/, t.url);
    assert.equal(t.status, 200, t.url);
    assert.equal(t.type, 'image/webp', t.url);
  }
  await page.screenshot({ path: path.join(OUT, 'webp-viewer.png') });
  // Each quadrant's centre, in screen pixels, shows its colour (lossy: within a few levels).
  const seen = await page.evaluate(async ({ width, height }) => {
    const tiles = [...document.querySelectorAll('img.hugepic-tile')].map((t) => t.getBoundingClientRect());
    const box = tiles.reduce(
      (a, r) => ({ left: Math.min(a.left, r.left), top: Math.min(a.top, r.top), right: Math.max(a.right, r.right), bottom: Math.max(a.bottom, r.bottom) }),
      { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity },
    );
    const scale = (box.right - box.left) / width;
    const centres = [
      [0.25, 0.25],
      [0.75, 0.25],
      [0.25, 0.75],
      [0.75, 0.75],
    ].map(([fx, fy]) => [box.left + fx * width * scale, box.top + fy * height * scale]);
    const imgs = [...document.querySelectorAll('img.hugepic-tile')];
    return centres.map(([x, y]) => {
      const img = imgs.find((t) => {
        const r = t.getBoundingClientRect();
        return x >= r.left && x < r.right && y >= r.top && y < r.bottom;
      });
      if (!img) return null;
      const r = img.getBoundingClientRect();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const px = Math.floor(((x - r.left) / r.width) * img.naturalWidth);
      const py = Math.floor(((y - r.top) / r.height) * img.naturalHeight);
      return [...ctx.getImageData(px, py, 1, 1).data.slice(0, 3)];
    });
  }, { width: WIDTH, height: HEIGHT });
  seen.forEach((rgb, q) => {
    assert.ok(rgb, `quadrant ${q} is on screen`);
    const diff = Math.max(...rgb.map((v, k) => Math.abs(v - QUADRANTS[q][k])));
    assert.ok(diff <= 8, `quadrant ${q}: ${rgb} against ${QUADRANTS[q]}`);
  });
  await page.close();
});
