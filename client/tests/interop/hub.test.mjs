// Real Yjs clients (`yjs` + `y-websocket`'s WebsocketProvider over `ws`) against a
// running `hugepic serve`: clients converge on shapes and comments written as DESIGN.md
// describes them, a late joiner gets everything, awareness comes and goes, roles hold
// (view: nothing; comment: comments only), the document survives a restart, and bad
// frames get a close while the server keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import * as Y from 'yjs';

import { png, startServer } from './server.mjs';
import { addShape, addThread, connect, until, yjsClient } from './yjs.mjs';

let server;
let picture;
/** Permission-denied warnings y-websocket printed (it reports auth messages so). */
const denied = [];
const originalWarn = console.warn;
console.warn = (...args) => {
  const text = args.join(' ');
  if (text.includes('Permission denied')) denied.push(text);
  else originalWarn(...args);
};

async function createPicture(base) {
  const form = new FormData();
  form.append('file', new Blob([png(64, 48)]), 'p.png');
  const response = await fetch(`${base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  return response.json();
}

before(async () => {
  server = await startServer();
  picture = await createPicture(server.base);
});
after(async () => {
  await server?.stop();
});

const wsBase = () => server.base.replace('http', 'ws') + '/ws/pictures';

/** A Yjs client on the picture with `token`, synced. */
const client = (token, name, id = picture.id) => yjsClient(server.base, id, token, name);

test('two clients converge on shapes and comments; a late joiner gets everything; awareness', async () => {
  const a = await client(picture.tokens.edit, 'Ada');
  const b = await client(picture.tokens.edit, 'Bo');
  addShape(a, 'rect-1', 'rectangle', { x: 10, y: 20, width: 300, height: 200 });
  addShape(b, 'circle-1', 'circle', { cx: 500, cy: 400, r: 50 });
  addThread(a, 'thread-1', 'rect-1', 'What is this?');
  await until(() => b.shapes.has('rect-1') && a.shapes.has('circle-1') && b.comments.has('thread-1'), 'shapes and thread on both');
  b.comments.get('thread-1').get('messages').push([{ id: 'thread-1-2', author: 'Bo', text: 'A harbour.', at: Date.now() }]);
  await until(() => a.comments.get('thread-1').get('messages').length === 2, 'the reply');
  assert.deepEqual(b.shapes.get('rect-1').get('geometry'), { x: 10, y: 20, width: 300, height: 200 });
  assert.deepEqual(a.doc.getMap('shapes').toJSON(), b.doc.getMap('shapes').toJSON());
  assert.deepEqual(a.doc.getMap('comments').toJSON(), b.doc.getMap('comments').toJSON());

  // Awareness: B sees A's cursor, and A going away.
  a.provider.awareness.setLocalStateField('cursor', { x: 123, y: 456 });
  const aId = a.doc.clientID;
  await until(() => b.provider.awareness.getStates().get(aId)?.cursor?.x === 123, "A's cursor at B");
  assert.equal(b.provider.awareness.getStates().get(aId).user.name, 'Ada');

  const late = await client(picture.tokens.view, 'Late');
  await until(() => late.comments.get('thread-1')?.get('messages').length === 2, 'late joiner state');
  assert.deepEqual(late.doc.getMap('shapes').toJSON(), a.doc.getMap('shapes').toJSON());
  await until(() => late.provider.awareness.getStates().has(aId), 'late joiner sees A present');

  a.close();
  await until(() => !b.provider.awareness.getStates().has(aId), 'A gone from B', 5000);
  b.close();
  late.close();
});

test('roles: view changes nothing, comment only comments', async () => {
  const editor = await client(picture.tokens.edit, 'Editor');
  const viewer = await client(picture.tokens.view, 'Viewer');
  const commenter = await client(picture.tokens.comment, 'Commenter');

  addShape(viewer, 'forged-by-viewer', 'marker', { x: 1, y: 1 });
  addThread(commenter, 'thread-c', { x: 40, y: 40 }, 'Comments are fine');
  await until(() => editor.comments.has('thread-c'), () => `the commenter's thread (refusals: ${denied.join(' | ')})`);
  // (Once refused, a client's later changes depend on the refused one and wait on the
  // server forever: a link that may not draw must not draw first.)
  addShape(commenter, 'forged-by-commenter', 'marker', { x: 2, y: 2 });
  await until(() => denied.some((d) => d.includes('view-only')) && denied.some((d) => d.includes('comments only')), () => `both told they were refused: ${denied}`);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!editor.shapes.has('forged-by-viewer'), 'a view link cannot draw');
  assert.ok(!editor.shapes.has('forged-by-commenter'), 'a comment link cannot draw');

  // A fresh client sees what the server kept: no forged shape.
  const fresh = await client(picture.tokens.edit, 'Fresh');
  assert.ok(fresh.comments.has('thread-c'));
  assert.ok(!fresh.shapes.has('forged-by-viewer') && !fresh.shapes.has('forged-by-commenter'));
  for (const c of [editor, viewer, commenter, fresh]) c.close();
});

function rawSocket(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

test('bad input is answered with a close; the server keeps serving', async () => {
  const url = `${wsBase()}/${picture.id}?token=${picture.tokens.edit}`;
  // Not a WebSocket handshake at all: 426 with a sentence.
  const plain = await fetch(`${server.base}/ws/pictures/${picture.id}`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get('upgrade'), 'websocket');
  assert.match(await plain.text(), /WebSocket client/);
  const cases = [
    [Buffer.from([0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f]), 1003], // update with a huge length
    [Buffer.from([0x00]), 1003], // truncated
    [Buffer.from([0x00, 0x02, 0x05, 1, 2, 3, 4, 5]), 1003], // not an update
  ];
  for (const [bytes, code] of cases) {
    const ws = await rawSocket(url);
    const done = closed(ws);
    ws.send(bytes);
    const result = await done;
    assert.equal(result.code, code, `${bytes.toString('hex')}: ${result.reason}`);
    assert.ok(result.reason.length > 0);
  }
  const text = await rawSocket(url);
  const textClosed = closed(text);
  text.send('hello');
  assert.equal((await textClosed).code, 1003);

  const unknown = await rawSocket(`${wsBase()}/no-such-picture`);
  const unknownClosed = await closed(unknown);
  assert.equal(unknownClosed.code, 4404);
  assert.match(unknownClosed.reason, /no picture/);

  const forged = await rawSocket(`${wsBase()}/${picture.id}?token=forged`);
  assert.equal((await closed(forged)).code, 4401);

  // Still serving.
  const ok = await client(picture.tokens.edit, 'After');
  assert.ok(ok.shapes.has('rect-1'));
  ok.close();
});

test('the document survives a restart of the server', async () => {
  await server.stop({ keepData: true });
  const restarted = await startServer([], server.data);
  server = restarted;
  {
    const doc = new Y.Doc();
    const provider = connect(restarted.base, picture.id, doc, picture.tokens.view);
    await until(() => provider.synced, 'synced after restart');
    assert.ok(doc.getMap('shapes').has('rect-1'));
    assert.equal(doc.getMap('comments').get('thread-1').get('messages').length, 2);
    provider.destroy();
  }
});
