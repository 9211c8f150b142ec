// A real tus client (tus-js-client, as browsers and Uppy use it) against a running
// `hugepic serve`: an upload whose connection is cut mid-body resumes from the offset
// the server kept; an upload aborted by the user is resumed by a new client from its
// URL; both become pictures that reach `ready`.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import * as tus from 'tus-js-client';

import { freePort, png, startServer, waitFinal } from './server.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** A TCP proxy to `port` that cuts the first connection carrying a PATCH after
 *  `cutAfter` bytes of it have passed; later connections pass untouched. */
async function cuttingProxy(port, cutAfter) {
  const listenPort = await freePort();
  let cut = false;
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    let seen = 0;
    let patch = false;
    client.on('data', (data) => {
      if (!cut && data.subarray(0, 5).toString() === 'PATCH') patch = true;
      seen += data.length;
      if (patch && !cut && seen > cutAfter) {
        cut = true;
        const keep = data.length - (seen - cutAfter);
        if (keep > 0) upstream.write(data.subarray(0, keep));
        // Give the server a moment to take the bytes in, then drop both sides.
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
        }, 100);
        return;
      }
      if (!cut || !patch) upstream.write(data);
    });
    upstream.on('data', (data) => client.write(data));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise((r) => proxy.listen(listenPort, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${listenPort}`, close: () => proxy.close(), wasCut: () => cut };
}

function upload(file, endpoint, extra = {}) {
  const offsets = [];
  let pictureId = null;
  let started;
  const done = new Promise((resolve, reject) => {
    started = new tus.Upload(file, {
      endpoint,
      retryDelays: [0, 200, 500, 1000],
      metadata: { filename: 'interop.png', filetype: 'image/png' },
      onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
      },
      onAfterResponse(req, res) {
        const id = res.getHeader('Picture-Id');
        if (id) pictureId = id;
      },
      onError: reject,
      onSuccess: () => resolve(),
      ...extra,
    });
    started.start();
  });
  return { upload: started, done, offsets, pictureId: () => pictureId };
}

test('a cut connection resumes from the offset the server kept', async () => {
  const file = png(1400, 1000);
  const port = Number(new URL(server.base).port);
  const proxy = await cuttingProxy(port, 1_500_000);
  try {
    const run = upload(file, `${proxy.url}/api/uploads`);
    await run.done;
    assert.ok(proxy.wasCut(), 'the proxy cut the upload');
    assert.equal(run.offsets[0], 0);
    const resumed = run.offsets.slice(1);
    assert.ok(resumed.length >= 1, `a second PATCH follows the cut: ${run.offsets}`);
    assert.ok(
      resumed[0] > 0 && resumed[0] < file.length,
      `resumed at ${resumed[0]} of ${file.length}, not from the start`,
    );
    assert.ok(run.pictureId(), 'the final PATCH names the picture');
    const picture = await waitFinal(server.base, run.pictureId());
    assert.equal(picture.status, 'ready', JSON.stringify(picture));
    assert.equal(picture.width, 1400);
    assert.equal(picture.height, 1000);
    assert.equal(picture.title, 'interop.png');
  } finally {
    proxy.close();
  }
});

test('an aborted upload is resumed by a new client from its URL', async () => {
  const file = png(1200, 900);
  let aborted;
  const abortedAt = new Promise((resolve) => {
    aborted = resolve;
  });
  const first = upload(file, `${server.base}/api/uploads`, {
    chunkSize: 256 * 1024,
    onProgress(sent, total) {
      if (sent > total * 0.4) {
        first.upload.abort().then(() => aborted(sent));
      }
    },
  });
  const sent = await abortedAt;
  assert.ok(first.upload.url, 'the upload has a URL to resume');
  const head = await fetch(first.upload.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
  const kept = Number(head.headers.get('upload-offset'));
  assert.ok(kept > 0 && kept < file.length, `the server kept ${kept} of ${file.length} bytes`);

  const second = upload(file, `${server.base}/api/uploads`, { uploadUrl: first.upload.url, chunkSize: 256 * 1024 });
  await second.done;
  assert.equal(second.offsets[0], kept, `resumed at the kept offset (sent ${sent})`);
  const picture = await waitFinal(server.base, second.pictureId());
  assert.equal(picture.status, 'ready', JSON.stringify(picture));
  assert.equal(picture.width, 1200);
});
