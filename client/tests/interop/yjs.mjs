// Real Yjs clients for the hub tests: a `WebsocketProvider` from y-websocket over `ws`,
// and helpers writing shapes and comment threads as DESIGN.md describes them.
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/** Waits until `check()` holds; `what` names it in the timeout error. */
export async function until(check, what, limitMs = 5000) {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A provider for `doc` on picture `id` of the server at `base` (http://…). */
export function connect(base, id, doc, token) {
  return new WebsocketProvider(base.replace('http', 'ws') + '/ws/pictures', id, doc, {
    WebSocketPolyfill: WebSocket,
    params: token ? { token } : {},
    disableBc: true,
  });
}

/** A Yjs client named `name` on picture `id` with `token`, synced. `user` may give the
 *  awareness user's stable `id` and `color` (DESIGN.md: `{id, name, color}`); with an
 *  id, the shapes and messages it writes carry it as `author_id`. */
export async function yjsClient(base, id, token, name, user = {}) {
  const doc = new Y.Doc();
  const awarenessUser = user.id ? { id: user.id, name, color: user.color ?? '#e91e63' } : { name, color: '#e91e63' };
  const c = {
    doc,
    name,
    user: awarenessUser,
    provider: connect(base, id, doc, token),
    shapes: doc.getMap('shapes'),
    comments: doc.getMap('comments'),
    /** Moves to another server (as a load balancer would after a node dies). */
    async moveTo(otherBase) {
      c.provider.destroy();
      c.provider = connect(otherBase, id, doc, token);
      c.provider.awareness.setLocalStateField('user', awarenessUser);
      await until(() => c.provider.synced, `${name} synced on ${otherBase}`, 10_000);
    },
    close() {
      c.provider.destroy();
      doc.destroy();
    },
  };
  c.provider.awareness.setLocalStateField('user', awarenessUser);
  await until(() => c.provider.synced, `${name} synced`, 10_000);
  return c;
}

/** Adds shape `id` of `type` with `geometry` (image pixels); `extra` fields (a text
 *  label's `text`, a `style`) go in too. */
export function addShape(c, id, type, geometry, extra = {}) {
  c.doc.transact(() => {
    const shape = new Y.Map();
    shape.set('type', type);
    shape.set('geometry', geometry);
    shape.set('style', { color: '#ff5722', weight: 3 });
    shape.set('author', c.name);
    if (c.user?.id) shape.set('author_id', c.user.id);
    shape.set('created', Date.now());
    for (const [key, value] of Object.entries(extra)) shape.set(key, value);
    c.shapes.set(id, shape);
  });
}

/** Opens comment thread `id` on `target` (a shape id or a point) with a first message. */
export function addThread(c, id, target, text) {
  c.doc.transact(() => {
    const thread = new Y.Map();
    thread.set('target', target);
    const messages = new Y.Array();
    messages.push([message(c, `${id}-1`, text)]);
    thread.set('messages', messages);
    c.comments.set(id, thread);
  });
}

/** A comment message by `c` as DESIGN.md describes it. */
function message(c, id, text) {
  const m = { id, author: c.name, text, at: Date.now() };
  if (c.user?.id) m.author_id = c.user.id;
  return m;
}

/** Replies to thread `id` with `text` (message id `messageId`). */
export function reply(c, id, messageId, text) {
  c.comments.get(id).get('messages').push([message(c, messageId, text)]);
}

/** The document as the history routes answer it: `{shapes, comments}` as JSON. */
export function documentJson(doc) {
  return { shapes: doc.getMap('shapes').toJSON(), comments: doc.getMap('comments').toJSON() };
}
