// Serving tiles from memory without giving up what the tile route promises, against real
// `hugepic serve` processes: two nodes on PostgreSQL and Redis (one data folder) serve
// the same tiles with the same ETag, 304 and immutable caching, from the hot-tile cache
// the second time; a deleted picture's tiles answer 404 at once on the node that deleted
// it and within a second on the other (told through Redis: its own expiry is a minute); with a 1 MiB cache, reading several MiB of tiles
// never holds more than the limit and every tile still reads back whole.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { performance } from 'node:perf_hooks';

import { createDatabase, startRedis } from './cluster.mjs';
import { png, startServer, waitFinal } from './server.mjs';

let database;
let redis;
const servers = [];
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'hugepic-tiles-'));

before(async () => {
  database = await createDatabase();
  redis = await startRedis();
});

after(async () => {
  for (const server of servers) await server.stop({ keepData: true });
  fs.rmSync(data, { recursive: true, force: true });
  await redis?.stop();
  await database?.drop();
});

async function start(extra, dataDir = undefined) {
  const server = await startServer(extra, dataDir);
  servers.push(server);
  return server;
}

async function upload(base, width, height, pattern) {
  const form = new FormData();
  form.append('file', new Blob([png(width, height, pattern)]), 'p.png');
  const created = await (await fetch(`${base}/api/pictures`, { method: 'POST', body: form })).json();
  assert.equal((await waitFinal(base, created.id, 120_000)).status, 'ready');
  return created;
}

async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

test('two nodes serve from memory; a deleted picture is gone within a second on both', async () => {
  const nodes = [
    await start(['--database-url', database.url, '--redis-url', redis.url], data),
    // A minute's trust on node two: only the news through Redis can stop it in time.
    await start(['--database-url', database.url, '--redis-url', redis.url, '--no-workers', '--tile-servable-ttl-ms', '60000'], data),
  ];
  const picture = await upload(nodes[0].base, 1200, 900, 'chart');
  const tile = `/tiles/${picture.id}/image_files/11/1_1.jpg`;
  let etag = null;
  let bytes = null;
  for (const node of nodes) {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(node.base + tile);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(r.headers.get('content-type'), 'image/jpeg');
      const body = Buffer.from(await r.arrayBuffer());
      etag ??= r.headers.get('etag');
      bytes ??= body;
      assert.equal(r.headers.get('etag'), etag, 'the same ETag from memory and from storage, on both nodes');
      assert.ok(body.equals(bytes));
    }
    const revalidated = await fetch(node.base + tile, { headers: { 'if-none-match': etag } });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.get('etag'), etag);
    assert.ok((await metric(node.base, 'hugepic_tile_cache_hits_total')) >= 2, 'repeated reads come from memory');
  }

  const deleted = await fetch(`${nodes[0].base}/api/pictures/${picture.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${picture.tokens.owner}` },
  });
  assert.equal(deleted.status, 204);
  const started = performance.now();
  assert.equal((await fetch(nodes[0].base + tile)).status, 404, 'at once where it was deleted');
  for (;;) {
    const status = (await fetch(nodes[1].base + tile)).status;
    if (status === 404) break;
    assert.equal(status, 200);
    assert.ok(performance.now() - started < 1000, 'the other node still served the tile after a second');
    await new Promise((r) => setTimeout(r, 25));
  }
  const gone = performance.now() - started;
  console.log(`a deleted picture's tile answered 404 on the other node after ${gone.toFixed(0)} ms`);
  assert.ok(gone < 1000);
  for (const node of nodes) {
    assert.equal((await fetch(node.base + tile, { headers: { 'if-none-match': etag } })).status, 404, 'no 304 for a deleted picture either');
  }
});

test('a 1 MiB hot-tile cache never holds more than 1 MiB', async () => {
  const server = await start(['--tile-cache-mib', '1']);
  const picture = await upload(server.base, 4000, 3000, 'busy');
  const tiles = [];
  for (let col = 0; col < 16; col++) for (let row = 0; row < 12; row++) tiles.push(`/tiles/${picture.id}/image_files/12/${col}_${row}.jpg`);
  const first = new Map();
  let read = 0;
  for (const tile of tiles) {
    const r = await fetch(server.base + tile);
    assert.equal(r.status, 200, tile);
    const body = Buffer.from(await r.arrayBuffer());
    read += body.length;
    first.set(tile, body);
    assert.ok((await metric(server.base, 'hugepic_tile_cache_bytes')) <= 1 << 20);
  }
  assert.ok(read > 3 << 20, `the tiles read (${read} bytes) are several times the cache`);
  for (const tile of tiles.reverse()) {
    const body = Buffer.from(await (await fetch(server.base + tile)).arrayBuffer());
    assert.ok(body.equals(first.get(tile)), `${tile} reads back whole`);
  }
  assert.equal(await metric(server.base, 'hugepic_tile_cache_limit_bytes'), 1 << 20);
  assert.ok((await metric(server.base, 'hugepic_tile_cache_bytes')) <= 1 << 20);
  assert.ok((await metric(server.base, 'hugepic_tile_cache_hits_total')) > 0);
});
