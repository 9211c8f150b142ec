// A deep-zoom viewer must be seamless at every zoom, fractional ones included, and on
// high-DPI screens: a picture of one flat colour (odd size, several tile rows and
// columns) is viewed in real Chromium at every quarter zoom step from "whole picture"
// to the deepest over-zoom, at devicePixelRatio 1 and 2; in each screenshot every pixel
// along every tile edge must be the flat colour (JPEG tolerance), never a light hairline.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { rgbPng, startServer, waitFinal } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
const WIDTH = 1801;
const HEIGHT = 1203;
const FLAT = [200, 60, 40];
/** JPEG keeps a flat colour within a step or two; a hairline is tens of levels lighter. */
const TOLERANCE = 10;
let server;
let browser;
let id;

/** An RGB PNG of one colour. */
function flatPng(width, height, [r, g, b]) {
  const row = Buffer.alloc(width * 3 + 1);
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  return rgbPng(width, height, Buffer.concat(Array.from({ length: height }, () => row)));
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist')]);
  browser = await launchBrowser();
  const form = new FormData();
  form.append('file', new Blob([flatPng(WIDTH, HEIGHT, FLAT)], { type: 'image/png' }), 'flat.png');
  const created = await (await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form })).json();
  id = created.id;
  const picture = await waitFinal(server.base, id, 120_000);
  assert.equal(picture.status, 'ready', JSON.stringify(picture));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Waits until no zoom or pan is animating and every tile in view is loaded and opaque. */
async function tilesSettled(page) {
  await page.waitForFunction(
    () => {
      if (document.querySelector('.leaflet-zoom-anim, .leaflet-pan-anim')) return false;
      const tiles = [...document.querySelectorAll('.leaflet-tile-container img.hugepic-tile')];
      return (
        tiles.length > 0 &&
        tiles.every((t) => t.complete && t.naturalWidth > 0 && t.classList.contains('leaflet-tile-loaded') && window.getComputedStyle(t).opacity === '1')
      );
    },
    null,
    { timeout: 30_000, polling: 100 },
  );
  await page.evaluate(() => new Promise((done) => window.requestAnimationFrame(() => window.requestAnimationFrame(() => done()))));
}

/** Pixels along tile edges (inside the picture, outside controls) that are not the flat colour. */
async function seamPixels(page, screenshot, dpr) {
  return page.evaluate(
    async ({ data, dpr, flat, tolerance }) => {
      const bitmap = await window.createImageBitmap(await (await fetch(`data:image/png;base64,${data}`)).blob());
      const canvas = new window.OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const tiles = [...document.querySelectorAll('.leaflet-tile-container img.hugepic-tile')].map((t) => t.getBoundingClientRect());
      const picture = tiles.reduce(
        (a, r) => ({ left: Math.min(a.left, r.left), top: Math.min(a.top, r.top), right: Math.max(a.right, r.right), bottom: Math.max(a.bottom, r.bottom) }),
        { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity },
      );
      const view = { left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight };
      // Controls and the minimap, with their shadows.
      const covered = [...document.querySelectorAll('.leaflet-control, .hugepic-minimap')].map((c) => c.getBoundingClientRect());
      // Two CSS pixels in from the picture's outer border (the picture's own edge is not a seam).
      const inside = (x, y) =>
        x >= Math.max(picture.left, view.left) + 2 &&
        x <= Math.min(picture.right, view.right) - 3 &&
        y >= Math.max(picture.top, view.top) + 2 &&
        y <= Math.min(picture.bottom, view.bottom) - 3 &&
        !covered.some((c) => x >= c.left - 8 && x <= c.right + 8 && y >= c.top - 8 && y <= c.bottom + 8);
      const bad = [];
      let checked = 0;
      const check = (x, y) => {
        if (!inside(x, y)) return;
        const px = Math.round(x * dpr);
        const py = Math.round(y * dpr);
        for (let oy = -dpr; oy <= dpr; oy++) {
          for (let ox = -dpr; ox <= dpr; ox++) {
            const i = ((py + oy) * bitmap.width + px + ox) * 4;
            checked += 1;
            const diff = Math.max(...flat.map((c, k) => Math.abs(pixels[i + k] - c)));
            if (diff > tolerance && bad.length < 5) bad.push({ x: px + ox, y: py + oy, rgb: [pixels[i], pixels[i + 1], pixels[i + 2]] });
          }
        }
      };
      for (const r of tiles) {
        // A tile's box reaches one pixel into its neighbours: its own edge is where the
        // neighbour starts, so test where the neighbours meet: each tile's left and top.
        for (let y = r.top; y <= r.bottom; y += 3) check(r.left, y);
        for (let x = r.left; x <= r.right; x += 3) check(x, r.top);
      }
      return { bad, checked, tiles: tiles.length };
    },
    { data: screenshot.toString('base64'), dpr, flat: FLAT, tolerance: TOLERANCE },
  );
}

for (const dpr of [1, 2]) {
  test(`no seams between tiles at any zoom, devicePixelRatio ${dpr}`, async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 }, deviceScaleFactor: dpr });
    const page = await context.newPage();
    await page.goto(`${server.base}/embed/${id}?annotations=off`);
    await tilesSettled(page);
    const fit = Number(/^#(-?[\d.]+)\//.exec(await page.evaluate(() => location.hash))?.[1]);
    assert.ok(Number.isFinite(fit), 'the hash carries the zoom');
    const top = Math.ceil(Math.log2(Math.max(WIDTH, HEIGHT)));
    const zooms = [];
    for (let z = Math.ceil(fit * 4) / 4; z <= top + 2; z += 0.25) zooms.push(z);
    assert.ok(zooms.length >= 12, `zooms ${zooms}`);
    const failures = [];
    let checked = 0;
    for (const zoom of zooms) {
      // A point off the centre, so tile edges cross the view at every zoom.
      await page.evaluate(
        ([z, x, y]) => {
          location.hash = `#${z}/${x}/${y}`;
        },
        [zoom, Math.round(WIDTH * 0.43), Math.round(HEIGHT * 0.57)],
      );
      await page.waitForFunction((z) => location.hash.startsWith(`#${z}/`), zoom);
      await tilesSettled(page);
      const shot = await page.screenshot();
      const found = await seamPixels(page, shot, dpr);
      checked += found.checked;
      if (found.bad.length > 0) {
        failures.push(`zoom ${zoom}: ${JSON.stringify(found.bad)}`);
        fs.writeFileSync(path.join(OUT, `seams-dpr${dpr}-zoom${zoom}.png`), shot);
      }
    }
    console.log(`dpr ${dpr}: ${zooms.length} zooms from ${zooms[0]} to ${zooms.at(-1)}, ${checked} edge pixels checked`);
    assert.ok(checked > 10_000, `enough edge pixels checked (${checked})`);
    assert.deepEqual(failures, [], 'tile edges are the flat colour');
    await context.close();
  });
}
