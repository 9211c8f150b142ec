// Writes seeds made by Yjs itself (the web client's library) next to the ones
// `examples/seeds.rs` writes: updates as a browser sends them, including what yrs does not
// make (text with formatting, arrays, garbage-collected content, merged updates with
// gaps, a state holding pending structs).
// Usage (from the checkout, after `npm ci` in client/): node fuzz/yjs-seeds.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../client/package.json'));
const Y = require('yjs');
const encoding = require('lib0/encoding');

const dir = path.join(here, 'seeds/client_message');
const write = (name, update, tag = 2) => {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0); // sync
  encoding.writeVarUint(e, tag); // 1: sync step 2, 2: update
  encoding.writeVarUint8Array(e, update);
  fs.writeFileSync(path.join(dir, `yjs-${name}`), encoding.toUint8Array(e));
};
const doc = (client) => {
  const d = new Y.Doc();
  d.clientID = client;
  return d;
};

const a = doc(7);
const updates = [];
a.on('update', (u) => updates.push(u));
const shapes = a.getMap('shapes');
for (let i = 0; i < 4; i++) {
  a.transact(() => {
    const s = new Y.Map();
    shapes.set(`s${i}`, s);
    s.set('type', 'polygon');
    s.set('geometry', [[i, 1.5], [2 ** 40, -1e-9]]);
    s.set('style', { stroke: '#f80', width: i, dash: null });
    s.set('author', 'Ada ✓');
    s.set('created', 1.7e12 + i);
    const label = new Y.Text('label');
    s.set('label', label);
    label.insert(2, 'XY', { bold: true });
    label.delete(0, 1);
    const points = new Y.Array();
    s.set('points', points);
    points.push([1, 'two', true]);
    points.delete(0, 1);
  });
}
a.transact(() => shapes.delete('s1'));
write('shape-with-text-and-array', updates[0]);
write('delete', updates[4]);
write('merged-with-gaps', Y.mergeUpdates([updates[0], updates[2], updates[4]]));

const b = doc(9);
Y.applyUpdate(b, updates[3]); // what it lacks before stays pending
write('state-with-pending', Y.encodeStateAsUpdate(b), 1);

const c = doc(11);
Y.applyUpdate(c, Y.encodeStateAsUpdate(a));
const fromA = [];
const fromC = [];
a.on('update', (u) => fromA.push(u));
c.on('update', (u) => fromC.push(u));
a.getMap('comments').set('c1', new Y.Map([['target', 's0'], ['text', 'mine']]));
c.getMap('comments').set('c1', new Y.Map([['target', 's2'], ['text', 'theirs']]));
write('concurrent-merged', Y.mergeUpdates([...fromA, ...fromC]));

const g = doc(13);
const gm = g.getMap('shapes');
for (let i = 0; i < 6; i++) gm.set('k', new Y.Map([['v', i]]));
write('garbage-collected', Y.encodeStateAsUpdate(g), 1);
