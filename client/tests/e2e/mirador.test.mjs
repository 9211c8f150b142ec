// Mirador 4 in Chromium opens a picture's IIIF manifest from a running `hugepic serve`,
// from another origin (as a museum's Mirador would): it draws the picture from our
// level-0 image service and lists our annotations, comments included, in its side panel.
// Mirador comes from tests/mirador (its own package; scripts/test installs it).
// Screenshot: test-output/mirador.png (look at it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { freePort, png, startServer, waitFinal } from '../interop/server.mjs';
import { launchBrowser } from './browser.mjs';

const OUT = path.resolve('test-output');
const MIRADOR = path.resolve('tests/mirador/node_modules/mirador/dist/mirador.min.js');
let server;
let browser;
let host;
let shared; // the picture of the first test

/** A page on its own origin that runs Mirador on `manifest`. */
async function miradorHost() {
  const port = await freePort();
  const page = (manifest) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Mirador</title>
<style>html, body, #viewer { margin: 0; width: 100%; height: 100%; }</style></head>
<body><div id="viewer"></div>
<script src="/mirador.min.js"></script>
<script>
  Mirador.viewer({
    id: 'viewer',
    window: { sideBarOpen: true, sideBarPanel: 'annotations', highlightAllAnnotations: true, allowClose: false },
    windows: [{ manifestId: ${JSON.stringify(manifest)} }],
  });
</script></body></html>`;
  const listener = http.createServer((request, response) => {
    const url = new URL(request.url, `http://127.0.0.1:${port}`);
    if (url.pathname === '/mirador.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      fs.createReadStream(MIRADOR).pipe(response);
    } else if (url.pathname === '/favicon.ico') {
      response.writeHead(204).end();
    } else if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(page(url.searchParams.get('manifest')));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => listener.listen(port, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => listener.close(resolve)) };
}

before(async () => {
  assert.ok(fs.existsSync(MIRADOR), `${MIRADOR} is missing: run npm ci in client/tests/mirador (scripts/test does)`);
  fs.mkdirSync(OUT, { recursive: true });
  server = await startServer(['--client-dir', path.resolve('dist')]);
  browser = await launchBrowser();
  host = await miradorHost();
});

after(async () => {
  await host?.close();
  await browser?.close();
  await server?.stop();
});

test('Mirador opens the manifest, shows the tiles and lists the annotations', async () => {
  const form = new FormData();
  form.append('file', new Blob([png(3000, 2000, 'chart')]), 'chart.png');
  const created = await (await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form })).json();
  assert.equal((await waitFinal(server.base, created.id)).status, 'ready');
  const annotations = [
    ['xywh=200,200,900,600', 'The north-west block'],
    ['xywh=1800,900,700,500', 'A second region'],
  ].map(([value, text], i) => ({
    id: `urn:test:${i}`,
    type: 'Annotation',
    body: { type: 'TextualBody', value: text, purpose: 'commenting' },
    target: { source: 'x', selector: { type: 'FragmentSelector', value } },
  }));
  annotations.push({
    id: 'urn:test:poly',
    type: 'Annotation',
    body: { type: 'TextualBody', value: 'A triangle', purpose: 'commenting' },
    target: { source: 'x', selector: { type: 'SvgSelector', value: '<svg><polygon points="1500,300 2700,400 2100,1500"/></svg>' } },
  });
  annotations.push({
    id: 'urn:test:circle',
    type: 'Annotation',
    body: { type: 'TextualBody', value: 'A round pond', purpose: 'commenting' },
    target: { source: 'x', selector: { type: 'SvgSelector', value: '<svg><ellipse cx="700" cy="1450" rx="350" ry="350"/></svg>' } },
  });
  const imported = await fetch(`${server.base}/api/pictures/${created.id}/annotations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${created.tokens.edit}`, 'content-type': 'application/json' },
    body: JSON.stringify(annotations),
  });
  assert.equal(imported.status, 201, await imported.text());
  shared = created;

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const tiles = [];
  const failed = [];
  page.on('response', (r) => {
    if (r.url().includes(`/iiif/${created.id}/`) && r.url().endsWith('default.jpg')) tiles.push(r.status());
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
  const manifest = `${server.base}/iiif/${created.id}/manifest.json`;
  await page.goto(`${host.base}/?manifest=${encodeURIComponent(manifest)}`);
  await page.getByText('Showing 4 annotations').waitFor({ timeout: 30_000 });
  for (const text of ['The north-west block', 'A second region', 'A triangle', 'A round pond']) {
    await page.getByText(text).first().waitFor({ timeout: 10_000 });
  }
  await page.waitForFunction(() => document.querySelector('.openseadragon-canvas canvas') !== null, null, { timeout: 20_000 });
  await page.waitForTimeout(1500); // tiles fade in
  assert.ok(tiles.length > 0 && tiles.every((s) => s === 200), `tiles from our image service: ${tiles}`);
  assert.deepEqual(failed, []);
  // The picture is drawn: the viewer's canvas is not one flat colour. (The canvas holds
  // another origin's tiles, so its pixels are read from a screenshot of it.)
  const box = await page.locator('.openseadragon-canvas canvas').first().boundingBox();
  const shot = await page.screenshot({ clip: box });
  const colours = await page.evaluate(async (b64) => {
    const image = document.createElement('img');
    image.src = `data:image/png;base64,${b64}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [image.width, image.height];
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 97) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return seen.size;
  }, shot.toString('base64'));
  assert.ok(colours > 20, `the picture should show in Mirador (${colours} colours)`);
  // Our circle is an ellipse (for Annotorious) and a path (Mirador draws only paths):
  // selected, Mirador outlines it.
  await page.getByText('A round pond').first().click();
  await page.waitForTimeout(800);
  await page.screenshot({ path: path.join(OUT, 'mirador.png') });
  await page.close();
});

test('the share dialog offers the downloads, the manifest link and an import', async () => {
  assert.ok(shared, 'the first test made the picture');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/p/${shared.id}?token=${shared.tokens.edit}`);
  await page.waitForSelector('.connection[data-state=connected]', { timeout: 20_000 });
  await page.click('a[title="Share or embed this view"]');
  const manifest = await page.getByLabel('IIIF manifest').inputValue();
  assert.equal(manifest, `${server.base}/iiif/${shared.id}/manifest.json?token=${shared.tokens.edit}`);
  const download = await page.locator('dialog.share a', { hasText: 'W3C JSON-LD' }).getAttribute('href');
  const collection = await page.evaluate(async (url) => (await fetch(url)).json(), download);
  assert.equal(collection.type, 'AnnotationCollection');
  assert.equal(collection.total, 4);
  const mirador = await page.locator('dialog.share a', { hasText: 'Open in Mirador' }).getAttribute('href');
  assert.equal(mirador, `https://projectmirador.org/embed/?iiif-content=${encodeURIComponent(manifest)}`);
  const file = JSON.stringify([{ type: 'Annotation', body: { type: 'TextualBody', value: 'From a file' }, target: 'http://x/c#xywh=10,10,50,50' }, { id: 'odd', type: 'Annotation', target: 'http://x/whole' }]);
  await page.setInputFiles('dialog.share input[type=file]', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(file) });
  await page.locator('dialog.share .import-result', { hasText: 'Imported 1 shape and 1 comment' }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator('dialog.share .import-result').textContent(), /Left out 1: odd \(the target is the whole image/);
  await page.screenshot({ path: path.join(OUT, 'share-annotations.png') });
  const after = await (await fetch(`${server.base}/api/pictures/${shared.id}/annotations.jsonld`)).json();
  assert.equal(after.total, 5);
  await context.close();
});
