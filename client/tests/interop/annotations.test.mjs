// Annotations that travel, against a real `hugepic serve` and stock Yjs clients: the W3C
// collection, the IIIF manifest and its page validate against the vendored schemas for
// every shape kind; Annotorious (its W3C parser, in Node with jsdom) reads every exported
// annotation as the same geometry; CSV has one row per message; a moment of the history
// exports as it was; our own export imports back as the same document in ONE live
// update; other tools' exports (Annotorious v2 and v3, Mirador) import, with what cannot
// be drawn skipped with a reason; roles and limits hold.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { JSDOM } from 'jsdom';

import { eventually } from './history.mjs';
import { iiifValidator, w3cValidator } from './schemas.mjs';
import { png, startServer, waitFinal } from './server.mjs';
import { addShape, addThread, documentJson, reply, yjsClient } from './yjs.mjs';

let server;
const open = [];
process.setMaxListeners(64);

// Annotorious parses SVG with the browser's DOMParser: give Node jsdom's.
const dom = new JSDOM('<!doctype html><html><body></body></html>');
for (const name of ['window', 'document', 'DOMParser', 'XMLSerializer', 'Node', 'Element']) {
  globalThis[name] ??= dom.window[name];
}
const { parseW3CImageAnnotation } = await import('@annotorious/annotorious');

const WIDTH = 1200;
const HEIGHT = 900;

before(async () => {
  server = await startServer(['--max-import-annotations', '3000', '--hub-max-document-mib', '1']);
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

async function createPicture() {
  const form = new FormData();
  form.append('file', new Blob([png(WIDTH, HEIGHT, 'chart')]), 'harbour.png');
  const response = await fetch(`${server.base}/api/pictures`, { method: 'POST', body: form });
  assert.equal(response.status, 202);
  const picture = await response.json();
  const ready = await waitFinal(server.base, picture.id);
  assert.equal(ready.status, 'ready', JSON.stringify(ready));
  return picture;
}

async function get(path, token) {
  const response = await fetch(server.base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (CSV)
  }
  return { status: response.status, headers: response.headers, text, body };
}

async function post(path, token, json, raw = false) {
  const response = await fetch(server.base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: raw ? json : JSON.stringify(json),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function join(picture, name, role = 'edit') {
  const c = await yjsClient(server.base, picture.id, picture.tokens[role], name, { id: `u-${name.toLowerCase()}`, color: '#1e88e5' });
  open.push(c);
  return c;
}

/** Draws one shape of every kind, threads with replies on a shape, a resolved thread, a
 *  comment pinned to a point; returns the ids. */
function drawEverything(c) {
  addShape(c, 'rect', 'rectangle', { x: 100.4, y: 80, width: 400.2, height: 300 }, { style: { color: '#e53935', weight: 4, fill: true } });
  addShape(c, 'poly', 'polygon', [[10, 10], [200, 40.5], [120, 220]]);
  addShape(c, 'line', 'polyline', [[0, 5], [50, 90], [300, 120], [310, 400]], { style: { color: '#43a047', weight: 2, fill: false } });
  addShape(c, 'free', 'freehand', Array.from({ length: 40 }, (_, i) => [600 + i * 3, 500 + Math.round(20 * Math.sin(i / 3))]));
  addShape(c, 'circ', 'circle', { cx: 900, cy: 500, r: 120.5 });
  addShape(c, 'mark', 'marker', { x: 50, y: 60 });
  addShape(c, 'edge', 'marker', { x: 0, y: 0 });
  addShape(c, 'label', 'text', { x: 300, y: 700 }, { text: 'Harbour' });
  addThread(c, 'th-poly', 'poly', 'Is this the old quay?');
  reply(c, 'th-poly', 'th-poly-2', 'Yes, from 1850 — see "the map"');
  reply(c, 'th-poly', 'th-poly-3', '=SUM(A1) is not a formula here');
  addThread(c, 'th-rect', 'rect', 'Fixed.');
  c.comments.get('th-rect').set('resolved', { by: c.name, by_id: c.user.id, at: Date.now() });
  addThread(c, 'th-pin', { x: 640.5, y: 320 }, 'Bubble on the water');
  reply(c, 'th-pin', 'th-pin-2', 'Agreed');
}

/** The bounds a shape should have: minX, minY, maxX, maxY. */
function boundsOf(shape) {
  const g = shape.geometry;
  switch (shape.type) {
    case 'rectangle':
      return [g.x, g.y, g.x + g.width, g.y + g.height];
    case 'circle':
      return [g.cx - g.r, g.cy - g.r, g.cx + g.r, g.cy + g.r];
    case 'marker':
    case 'text':
      return [g.x, g.y, g.x + 1, g.y + 1];
    default: {
      const xs = g.map((p) => p[0]);
      const ys = g.map((p) => p[1]);
      return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    }
  }
}

/** Keys sorted at every level, so documents compare regardless of key order. */
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  }
  return value;
}

/** A document with its shape and thread ids taken out (threads name their shape by
 *  content), as two sorted lists. */
function withoutIds(document) {
  const shapeKey = Object.fromEntries(Object.entries(document.shapes).map(([id, s]) => [id, JSON.stringify(sorted(s))]));
  const shapes = Object.values(shapeKey).sort();
  const threads = Object.values(document.comments)
    .map((t) => JSON.stringify(sorted({ ...t, target: typeof t.target === 'string' ? shapeKey[t.target] ?? `missing ${t.target}` : t.target })))
    .sort();
  return { shapes, threads };
}

let source; // { picture, client }

async function sourcePicture() {
  if (source) return source;
  const picture = await createPicture();
  const client = await join(picture, 'Ana');
  drawEverything(client);
  await eventually(async () => {
    const state = await get(`/api/pictures/${picture.id}/history/state`, picture.tokens.view);
    return Object.keys(state.body?.shapes ?? {}).length === 8 && Object.keys(state.body?.comments ?? {}).length === 3;
  }, 'the drawing to be logged');
  source = { picture, client };
  return source;
}

test('the W3C collection, the manifest and its page validate for every shape kind', async () => {
  const { picture } = await sourcePicture();
  const w3c = w3cValidator();
  const iiif = iiifValidator();

  const collection = await get(`/api/pictures/${picture.id}/annotations.jsonld`, picture.tokens.view);
  assert.equal(collection.status, 200, collection.text);
  assert.match(collection.headers.get('content-type'), /application\/ld\+json/);
  assert.equal(collection.headers.get('access-control-allow-origin'), '*');
  const body = collection.body;
  assert.deepEqual(w3c('collection', body), []);
  const page = { '@context': body['@context'], ...body.first };
  assert.deepEqual(w3c('page', page), []);
  const standalone = await get(`/api/pictures/${picture.id}/annotations.jsonld?page=0`, picture.tokens.view);
  assert.deepEqual(w3c('page', standalone.body), []);
  assert.equal(standalone.body.partOf.id, body.id);
  assert.deepEqual(standalone.body.items, body.first.items);
  const items = body.first.items;
  // 8 shapes, 2 + 1 reply annotations, 1 pinned comment.
  assert.equal(items.length, 12);
  assert.equal(body.total, 12);
  for (const annotation of items) {
    const failed = w3c('annotation', { '@context': body['@context'], ...annotation });
    assert.deepEqual(failed, [], `${annotation.id}: ${JSON.stringify(annotation)}`);
  }
  const kinds = new Set(items.map((a) => a['hugepic:shape']?.type).filter(Boolean));
  assert.deepEqual([...kinds].sort(), ['circle', 'freehand', 'marker', 'polygon', 'polyline', 'rectangle', 'text']);
  // Absolute ids from the same base as the IIIF ids.
  for (const a of items) assert.ok(a.id.startsWith(`${server.base}/api/pictures/${picture.id}/`), a.id);

  const manifest = await get(`/iiif/${picture.id}/manifest.json`);
  assert.equal(manifest.status, 200, manifest.text);
  assert.equal(manifest.headers.get('access-control-allow-origin'), '*');
  assert.deepEqual(iiif(manifest.body), []);
  const canvas = manifest.body.items[0];
  assert.deepEqual([canvas.width, canvas.height], [WIDTH, HEIGHT]);
  assert.equal(canvas.items[0].items[0].body.service[0].id, `${server.base}/iiif/${picture.id}`);
  const pageUrl = canvas.annotations[0].id;
  assert.ok(pageUrl.startsWith(server.base));
  const iiifPage = await get(pageUrl.slice(server.base.length));
  assert.equal(iiifPage.status, 200, iiifPage.text);
  assert.deepEqual(iiif(iiifPage.body), []);
  assert.equal(iiifPage.body.items.length, 9, 'shapes and the pin; replies stay bodies');
  for (const a of iiifPage.body.items) {
    assert.equal(a.target.source, canvas.id);
    // Checked with its page's context, as a W3C tool reads it.
    assert.deepEqual(w3c('annotation', { '@context': iiifPage.body['@context'], ...a }), [], a.id);
  }

  // The thread's replies: bodies with their own creator and time, and reply annotations.
  const polygon = items.find((a) => a['hugepic:shape']?.id === 'poly');
  assert.deepEqual(polygon.body.map((b) => b.purpose), ['commenting', 'replying', 'replying']);
  assert.equal(polygon.body[1].creator.name, 'Ana');
  assert.ok(Date.parse(polygon.body[1].created) > 0);
  const replies = items.filter((a) => a.motivation === 'replying' && a.target === polygon.id);
  assert.equal(replies.length, 2);
  // The selectors viewers draw: our style on the path, a point with its region first.
  assert.match(polygon.target.selector.value, /^<svg><path d="M 10,10 L 200,40.5 L 120,220 Z" stroke="#ff5722"/);
  const marker = items.find((a) => a['hugepic:shape']?.id === 'edge');
  assert.deepEqual(marker.target.selector.map((s) => s.type), ['FragmentSelector', 'PointSelector']);
  assert.deepEqual([marker.target.selector[1].x, marker.target.selector[1].y], [1, 1], 'IIIF points are whole pixels above 0');
  const rect = items.find((a) => a['hugepic:shape']?.id === 'rect');
  assert.equal(rect.target.selector.value, 'xywh=100,80,401,300');
  assert.match(rect.stylesheet.value, /stroke: #e53935/);
});

test('Annotorious reads every exported annotation as the same geometry', async () => {
  const { picture } = await sourcePicture();
  const state = (await get(`/api/pictures/${picture.id}/history/state`, picture.tokens.view)).body;
  const items = (await get(`/api/pictures/${picture.id}/annotations.jsonld`, picture.tokens.view)).body.first.items;
  const drawn = items.filter((a) => a.motivation !== 'replying');
  assert.equal(drawn.length, 9);
  for (const annotation of drawn) {
    const { parsed, error } = parseW3CImageAnnotation(annotation);
    assert.ok(parsed && !error, `${annotation.id}: ${error}`);
    const bounds = parsed.target.selector.geometry.bounds;
    const shape = annotation['hugepic:shape'];
    const expected = shape
      ? boundsOf(state.shapes[shape.id])
      : (({ x, y }) => [x, y, x + 1, y + 1])(state.comments['th-pin'].target);
    const got = [bounds.minX, bounds.minY, bounds.maxX, bounds.maxY];
    for (let i = 0; i < 4; i++) {
      assert.ok(Math.abs(got[i] - expected[i]) <= 1, `${annotation.id}: Annotorious ${got} vs ours ${expected}`);
    }
    if (shape?.type === 'circle') assert.equal(parsed.target.selector.type, 'ELLIPSE');
    if (shape?.type === 'polygon') assert.equal(parsed.target.selector.type, 'POLYGON');
    if (shape?.type === 'polyline') assert.equal(parsed.target.selector.type, 'POLYLINE');
  }
});

test('CSV has one row per comment message, in image pixels', async () => {
  const { picture } = await sourcePicture();
  const csv = await get(`/api/pictures/${picture.id}/annotations.csv`, picture.tokens.view);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.match(csv.headers.get('content-disposition'), /attachment; filename="harbour-png-annotations\.csv"|attachment; filename=".*annotations\.csv"/);
  const rows = csv.text.trimEnd().split('\r\n');
  assert.equal(rows[0], 'thread_id,message_id,shape_id,shape_kind,x,y,width,height,author,author_id,time,text,resolved');
  assert.equal(rows.length, 1 + 6, csv.text);
  assert.ok(rows.some((r) => r.startsWith('th-rect,th-rect-1,rect,rectangle,100,80,400,300,Ana,u-ana,') && r.endsWith(',Fixed.,yes')), csv.text);
  assert.ok(rows.some((r) => r.includes(',"Yes, from 1850 — see ""the map"""')), csv.text);
  assert.ok(rows.some((r) => r.includes(",'=SUM(A1) is not a formula here,")), 'formulas are defused');
  assert.ok(rows.some((r) => r.startsWith('th-pin,th-pin-1,,pin,641,320,0,0,')), csv.text);
});

test('a moment of the history exports as it was', async () => {
  const picture = await createPicture();
  const c = await join(picture, 'Bo');
  addShape(c, 'first', 'rectangle', { x: 1, y: 2, width: 3, height: 4 });
  await eventually(async () => (await get(`/api/pictures/${picture.id}/history/state`, picture.tokens.view)).headers.get('history-seq') === '1', 'the first shape logged');
  addShape(c, 'second', 'marker', { x: 5, y: 6 });
  await eventually(async () => {
    const live = await get(`/api/pictures/${picture.id}/annotations.jsonld`, picture.tokens.view);
    return live.body.total === 2;
  }, 'the live export to have both shapes');
  const then = await get(`/api/pictures/${picture.id}/annotations.jsonld?seq=1`, picture.tokens.view);
  assert.equal(then.status, 200, then.text);
  assert.deepEqual(then.body.first.items.map((a) => a['hugepic:shape'].id), ['first']);
  assert.ok(then.body.id.includes('seq=1'), 'the collection names its moment');
  const bad = await get(`/api/pictures/${picture.id}/annotations.jsonld?seq=99`, picture.tokens.view);
  assert.equal(bad.status, 400);
  assert.match(bad.body.detail, /ends at seq/);
  const badPage = await get(`/api/pictures/${picture.id}/annotations.jsonld?page=5`, picture.tokens.view);
  assert.equal(badPage.status, 404);
});

test('our export imports into a new picture as the same document, in one live update', async () => {
  const { picture } = await sourcePicture();
  const exported = (await get(`/api/pictures/${picture.id}/annotations.jsonld`, picture.tokens.view)).body;
  const target = await createPicture();
  const watcher = await join(target, 'Watcher', 'view');

  const dry = await post(`/api/pictures/${target.id}/annotations?dry_run=true`, target.tokens.edit, exported);
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(dry.body.created, { shapes: 8, threads: 3, messages: 6 });
  assert.deepEqual(dry.body.skipped, []);
  assert.equal((await get(`/api/pictures/${target.id}/annotations.jsonld`, target.tokens.view)).body.total, 0, 'a dry run changes nothing');

  const done = await post(`/api/pictures/${target.id}/annotations?author=Importer&author_id=u-imp`, target.tokens.edit, exported);
  assert.equal(done.status, 201, JSON.stringify(done.body));
  assert.equal(done.body.seq, 1, 'one update, the first of this picture');
  await eventually(() => watcher.shapes.size === 8 && watcher.comments.size === 3, 'the import to reach a connected client');

  const before = (await get(`/api/pictures/${picture.id}/history/state`, picture.tokens.view)).body;
  const state = await get(`/api/pictures/${target.id}/history/state`, target.tokens.view);
  assert.equal(state.headers.get('history-seq'), '1');
  assert.deepEqual(withoutIds(state.body), withoutIds(before));
  assert.deepEqual(withoutIds(documentJson(watcher.doc)), withoutIds(before));
  const activity = (await get(`/api/pictures/${target.id}/history`, target.tokens.view)).body;
  assert.equal(activity.entries.length, 1);
  assert.equal(activity.entries[0].author.name, 'Importer');
});

const fixtures = {
  annotoriousV2: [
    {
      '@context': 'http://www.w3.org/ns/anno.jsonld',
      id: '#a88b22d0-6106-4872-9435-c78b5e89fede',
      type: 'Annotation',
      body: [{ type: 'TextualBody', value: 'The church', purpose: 'commenting', creator: { id: 'http://example.org/ana', name: 'Ana' }, created: '2021-02-03T10:00:00Z' }],
      target: { source: 'http://example.org/hallstatt.jpg', selector: { type: 'FragmentSelector', conformsTo: 'http://www.w3.org/TR/media-frags/', value: 'xywh=pixel:270,120,90,170' } },
    },
    {
      '@context': 'http://www.w3.org/ns/anno.jsonld',
      id: '#b2',
      type: 'Annotation',
      body: [{ type: 'TextualBody', value: 'lake', purpose: 'tagging' }],
      target: { source: 'http://example.org/hallstatt.jpg', selector: { type: 'SvgSelector', value: '<svg><polygon points="10,10 200,10 200,150 10,150"></polygon></svg>' } },
    },
  ],
  annotoriousV3: [
    {
      '@context': 'http://www.w3.org/ns/anno.jsonld',
      id: 'c8d1e6a1-3f2f-4d6b-9b8a-1b2c3d4e5f60',
      type: 'Annotation',
      creator: { id: 'u-3', name: 'Cy' },
      created: '2024-05-06T07:08:09.000Z',
      body: [{ purpose: 'commenting', value: 'A boat', created: '2024-05-06T07:08:09.000Z', creator: { id: 'u-3', name: 'Cy' } }],
      target: { source: 'https://example.org/pic', selector: { type: 'FragmentSelector', conformsTo: 'http://www.w3.org/TR/media-frags/', value: 'xywh=400,300,120,80' } },
    },
    {
      id: 'e1', type: 'Annotation', body: [],
      target: { source: 'https://example.org/pic', selector: { type: 'SvgSelector', value: '<svg><ellipse cx="500" cy="400" rx="60" ry="60" /></svg>' } },
    },
    {
      id: 'l1', type: 'Annotation', body: [],
      target: { source: 'https://example.org/pic', selector: { type: 'SvgSelector', value: '<svg><path d="M 10 10 L 100 100 L 200 50" /></svg>' } },
    },
  ],
  mirador: {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://mirador.test/page/1',
    type: 'AnnotationPage',
    items: [
      {
        id: 'https://mirador.test/anno/1',
        type: 'Annotation',
        motivation: 'commenting',
        body: { type: 'TextualBody', value: '<p>The <b>bridge</b> &amp; quay</p>' },
        target: {
          source: 'https://example.org/canvas/1',
          selector: [
            { type: 'FragmentSelector', value: 'xywh=100,120,300,200' },
            { type: 'SvgSelector', value: "<svg xmlns='http://www.w3.org/2000/svg'><path xmlns=\"http://www.w3.org/2000/svg\" d=\"M100,120h300v200h-300z\" fill=\"none\" stroke=\"#00bfff\" stroke-width=\"2\"/></svg>" },
          ],
        },
      },
    ],
  },
  percentAndUnknown: [
    { id: 'pct', type: 'Annotation', target: 'https://example.org/canvas/1#xywh=percent:10,20,50,25' },
    { id: 'quote', type: 'Annotation', target: { source: 'https://example.org/doc', selector: { type: 'TextQuoteSelector', exact: 'harbour' } } },
  ],
};

test('other tools’ exports import; what cannot be drawn is skipped with a reason', async () => {
  const picture = await createPicture();
  const path = `/api/pictures/${picture.id}/annotations`;
  const shapesNow = async () => (await get(`/api/pictures/${picture.id}/history/state`, picture.tokens.view)).body;

  const v2 = await post(path, picture.tokens.edit, fixtures.annotoriousV2);
  assert.equal(v2.status, 201, JSON.stringify(v2.body));
  assert.deepEqual(v2.body.created, { shapes: 2, threads: 2, messages: 2 });
  const v3 = await post(path, picture.tokens.edit, fixtures.annotoriousV3);
  assert.equal(v3.status, 201, JSON.stringify(v3.body));
  const mirador = await post(path, picture.tokens.edit, fixtures.mirador);
  assert.equal(mirador.status, 201, JSON.stringify(mirador.body));
  const mixed = await post(path, picture.tokens.edit, fixtures.percentAndUnknown);
  assert.equal(mixed.status, 201, JSON.stringify(mixed.body));
  assert.equal(mixed.body.skipped.length, 1);
  assert.equal(mixed.body.skipped[0].id, 'quote');
  assert.match(mixed.body.skipped[0].reason, /TextQuoteSelector/);

  const made = (answer, id) => answer.body.annotations.find((a) => a.id === id).shape_id;
  const doc = await shapesNow();
  const shape = (answer, id) => doc.shapes[made(answer, id)];
  assert.deepEqual(shape(v2, '#a88b22d0-6106-4872-9435-c78b5e89fede').geometry, { x: 270, y: 120, width: 90, height: 170 });
  assert.equal(shape(v2, '#b2').type, 'polygon');
  const church = Object.values(doc.comments).find((t) => t.target === made(v2, '#a88b22d0-6106-4872-9435-c78b5e89fede'));
  assert.deepEqual([church.messages[0].author, church.messages[0].text, church.messages[0].at], ['Ana', 'The church', Date.parse('2021-02-03T10:00:00Z')]);
  assert.ok(Object.values(doc.comments).some((t) => t.messages[0].text === 'Tags: lake'));
  assert.deepEqual(shape(v3, 'e1').geometry, { cx: 500, cy: 400, r: 60 });
  assert.equal(shape(v3, 'l1').type, 'polyline');
  assert.equal(shape(v3, 'c8d1e6a1-3f2f-4d6b-9b8a-1b2c3d4e5f60').author, 'Cy');
  const bridge = shape(mirador, 'https://mirador.test/anno/1');
  assert.deepEqual([bridge.type, bridge.style.color, bridge.style.weight], ['polygon', '#00bfff', 2]);
  assert.deepEqual(bridge.geometry, [[100, 120], [400, 120], [400, 320], [100, 320]]);
  assert.ok(Object.values(doc.comments).some((t) => t.messages[0].text === 'The bridge & quay'));
  assert.deepEqual(shape(mixed, 'pct').geometry, { x: WIDTH * 0.1, y: HEIGHT * 0.2, width: WIDTH * 0.5, height: HEIGHT * 0.25 });

  // Broken input: a sentence, nothing changed.
  const count = Object.keys(doc.shapes).length;
  const broken = await post(path, picture.tokens.edit, '{"type": "Annotation", ', true);
  assert.equal(broken.status, 400);
  assert.match(broken.body.detail, /not JSON/);
  const wrong = await post(path, picture.tokens.edit, { type: 'Manifest', items: [] });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.detail, /AnnotationPage/);
  assert.equal(Object.keys((await shapesNow()).shapes).length, count);
});

test('view and comment links may export but not import; limits answer 413 and change nothing', async () => {
  const { picture } = await sourcePicture();
  const path = `/api/pictures/${picture.id}/annotations`;
  const one = fixtures.annotoriousV3[0];
  for (const role of ['view', 'comment']) {
    const refused = await post(path, picture.tokens[role], one);
    assert.equal(refused.status, 403, role);
    assert.match(refused.body.detail, /edit link/);
    assert.equal((await get(`${path}.jsonld`, picture.tokens[role])).status, 200);
  }
  const tokenless = await fetch(server.base + path, { method: 'POST', body: JSON.stringify(one), headers: { 'content-type': 'application/json' } });
  assert.equal(tokenless.status, 401);

  const target = await createPicture();
  const targetPath = `/api/pictures/${target.id}/annotations`;
  const tooMany = await post(targetPath, target.tokens.edit, Array.from({ length: 3001 }, () => one));
  assert.equal(tooMany.status, 413);
  assert.match(tooMany.body.detail, /at most 3000/);
  // Past the document's 1 MiB (this server's limit): 1,500 polygons of 60 points.
  const heavy = Array.from({ length: 1500 }, (_, i) => ({
    id: `h${i}`,
    type: 'Annotation',
    target: { source: 'x', selector: { type: 'SvgSelector', value: `<svg><polygon points="${Array.from({ length: 60 }, (_, k) => `${(i * 7 + k * 13) % 1000}.25,${(k * 31 + i) % 800}.75`).join(' ')}"/></svg>` } },
  }));
  const tooBig = await post(targetPath, target.tokens.edit, heavy);
  assert.equal(tooBig.status, 413, JSON.stringify(tooBig.body));
  assert.match(tooBig.body.detail, /may hold 1 MiB/);
  const after = (await get(`/api/pictures/${target.id}/annotations.jsonld`, target.tokens.view)).body;
  assert.equal(after.total, 0, 'nothing of a refused import lands');
});
