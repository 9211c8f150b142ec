// Private pictures and links in real Chromium against `hugepic serve` with its default
// visibility (unlisted): a visitor without a link finds nothing; a link's token leaves
// the address bar once read and stays for the tab (a reload keeps it); an embed never
// uses an owner token this browser holds; the share dialog of an unlisted picture
// hands out a view link, not the owner's; "Your pictures" finds the unlisted picture;
// made public, it opens without a link. Screenshots: test-output/privacy-*.png.
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
  server = await startServer(['--client-dir', path.resolve('dist'), '--default-visibility', 'unlisted']);
  browser = await launchBrowser();
  const form = new FormData();
  form.append('file', new Blob([png(1200, 800, 'chart')]), 'private.png');
  form.append('title', 'A private scan');
  picture = await (await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form })).json();
  assert.equal(picture.visibility, 'unlisted');
  assert.equal((await waitFinal(server.base, picture.id, 60_000, picture.tokens.owner)).status, 'ready');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('without a link an unlisted picture is not found; a link works and leaves the address bar', async () => {
  const stranger = await browser.newContext();
  const lost = await stranger.newPage();
  const answer = await lost.goto(`${server.base}/p/${picture.id}`);
  assert.equal(answer.status(), 404);
  await lost.locator('.error-page', { hasText: 'no such picture' }).waitFor({ timeout: 10_000 });
  assert.equal(await lost.locator('.leaflet-container').count(), 0);
  const gallery = await lost.goto(`${server.base}/`);
  assert.equal(gallery.status(), 200);
  await lost.locator('h1', { hasText: 'No pictures yet' }).waitFor({ timeout: 10_000 });
  await stranger.close();

  const friend = await browser.newContext();
  const page = await friend.newPage();
  await page.goto(`${server.base}/p/${picture.id}?token=${picture.tokens.view}#1/600/400`);
  await page.waitForSelector('.connection[data-state=connected]', { timeout: 20_000 });
  assert.equal(await page.locator('.role').textContent(), 'View only');
  const address = new URL(page.url());
  assert.equal(address.search, '', 'the token left the address bar');
  assert.ok(address.hash.startsWith('#'), 'the view stays in the address');
  assert.ok(!page.url().includes(picture.tokens.view));
  // Kept for the tab: a reload (no token in the address any more) still shows it.
  await page.reload();
  await page.waitForSelector('.connection[data-state=connected]', { timeout: 20_000 });
  assert.equal(await page.locator('.role').textContent(), 'View only');
  // A new tab of the same browser has no link.
  const other = await friend.newPage();
  const again = await other.goto(`${server.base}/p/${picture.id}`);
  assert.equal(again.status(), 404);
  await other.locator('.error-page').waitFor({ timeout: 10_000 });
  await friend.close();
});

test('an embed never uses the owner token the browser holds', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The owner's browser: its owner token is kept in localStorage.
  await page.goto(`${server.base}/p/${picture.id}?token=${picture.tokens.owner}`);
  await page.waitForSelector('.connection[data-state=connected]', { timeout: 20_000 });
  await page.evaluate(([id, tokens]) => localStorage.setItem(`hugepic:tokens:${id}`, JSON.stringify(tokens)), [picture.id, picture.tokens]);
  assert.equal(await page.locator('.role').textContent(), 'Owner: you can draw, comment, share and delete');
  // The same browser embeds the picture with a view link: only that token is sent.
  const sent = [];
  const embed = await context.newPage();
  embed.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) sent.push(r.headers().authorization ?? '');
  });
  await embed.goto(`${server.base}/embed/${picture.id}?token=${picture.tokens.view}`);
  await embed.waitForSelector('.leaflet-tile-loaded', { timeout: 20_000 });
  assert.ok(sent.length > 0);
  for (const header of sent) assert.equal(header, `Bearer ${picture.tokens.view}`);
  // And an embed without a token does not fall back on the owner's.
  const bare = await context.newPage();
  const refused = await bare.goto(`${server.base}/embed/${picture.id}`);
  assert.equal(refused.status(), 404);
  await bare.locator('.error-page').waitFor({ timeout: 10_000 });

  // The owner's share dialog hands out a view link, never the owner's token.
  await page.click('a[title="Share or embed this view"]');
  const link = await page.getByLabel('Link to this view (view only)').inputValue();
  assert.ok(link.includes(`token=${picture.tokens.view}`), link);
  const snippet = await page.getByLabel('Embed (iframe)').inputValue();
  assert.ok(snippet.includes(`/embed/${picture.id}?token=${picture.tokens.view}`), snippet);
  assert.ok(!snippet.includes(picture.tokens.owner) && !link.includes(picture.tokens.owner));
  await page.screenshot({ path: path.join(OUT, 'privacy-share.png') });
  await page.keyboard.press('Escape');

  // "Your pictures" on the home page finds the unlisted picture.
  await page.goto(`${server.base}/`);
  const yours = page.locator('[data-test=your-pictures] .card', { hasText: 'A private scan' });
  await yours.waitFor({ timeout: 10_000 });
  assert.match(await yours.textContent(), /unlisted/);
  await page.screenshot({ path: path.join(OUT, 'privacy-yours.png') });

  // The owner makes it public: it is listed and opens without a link.
  await page.goto(`${server.base}/p/${picture.id}`);
  await page.waitForSelector('.connection[data-state=connected]', { timeout: 20_000 });
  await page.click('details.owner-tools summary');
  await page.selectOption('details.owner-tools select[name=visibility]', 'public');
  await page.click('details.owner-tools button[type=submit]');
  await page.locator('details.owner-tools p', { hasText: 'Saved.' }).waitFor({ timeout: 10_000 });
  const stranger = await browser.newContext();
  const visitor = await stranger.newPage();
  const opened = await visitor.goto(`${server.base}/p/${picture.id}`);
  assert.equal(opened.status(), 200);
  await visitor.waitForSelector('.connection[data-state=connected]', { timeout: 20_000 });
  assert.equal(await visitor.locator('.role').textContent(), 'View only');
  await visitor.goto(`${server.base}/`);
  await visitor.locator('.gallery .card', { hasText: 'A private scan' }).waitFor({ timeout: 10_000 });
  await stranger.close();
  await context.close();
});
