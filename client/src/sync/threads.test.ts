import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';

import { ownedBy, readResolution, Threads } from './threads';

function joined(): [Y.Doc, Y.Doc] {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(b, u, 'remote'));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== 'remote' && Y.applyUpdate(a, u, 'remote'));
  return [a, b];
}

const ADA = { id: 'ada0000000000001', name: 'Ada' };
const BO = { id: 'bo00000000000002', name: 'Bo' };

describe('comment threads', () => {
  it('start, reply, and both sides see the thread as DESIGN.md writes it', () => {
    const [a, b] = joined();
    const ada = new Threads(a, () => ADA);
    const bo = new Threads(b, () => BO);
    const id = ada.start('shape-1', 'What is this?');
    expect(bo.onShape('shape-1')).toBe(id);
    expect(bo.reply(id, 'A harbour.')).toBe(true);
    const [thread] = ada.list();
    expect(thread.target).toBe('shape-1');
    expect(thread.messages.map((m) => [m.author, m.text])).toEqual([
      ['Ada', 'What is this?'],
      ['Bo', 'A harbour.'],
    ]);
    const point = bo.start({ x: 10, y: 20 }, 'Here');
    expect(ada.list().find((t) => t.id === point)?.target).toEqual({ x: 10, y: 20 });
  });

  it('edit and delete only your own messages; the last message takes the thread with it', () => {
    const [a, b] = joined();
    const ada = new Threads(a, () => ADA);
    const bo = new Threads(b, () => BO);
    const id = ada.start({ x: 1, y: 1 }, 'first');
    bo.reply(id, 'second');
    const [first, second] = ada.list()[0].messages;
    expect(bo.edit(id, first.id, 'forged')).toBe(false);
    expect(bo.remove(id, first.id)).toBe(false);
    expect(ada.edit(id, first.id, 'first, edited')).toBe(true);
    expect(bo.list()[0].messages.map((m) => m.text)).toEqual(['first, edited', 'second']);
    expect(bo.remove(id, second.id)).toBe(true);
    expect(ada.remove(id, first.id)).toBe(true);
    expect(bo.list()).toEqual([]);
  });

  it('messages carry the author id; renaming yourself keeps them yours', () => {
    const [a, b] = joined();
    const me = { ...ADA };
    const ada = new Threads(a, () => me);
    const id = ada.start('shape-1', 'mine');
    const [message] = new Threads(b, () => BO).list()[0].messages;
    expect(message.author).toBe('Ada');
    expect(message.author_id).toBe(ADA.id);
    me.name = 'Ada Lovelace';
    expect(ada.mine(id, message.id)).toBe(true);
    expect(ada.edit(id, message.id, 'still mine')).toBe(true);
    expect(ada.list()[0].messages[0]).toMatchObject({ author: 'Ada', author_id: ADA.id, text: 'still mine' });
  });

  it('taking someone else’s name gives you nothing of theirs', () => {
    const [a, b] = joined();
    const ada = new Threads(a, () => ADA);
    const impostor = new Threads(b, () => ({ id: 'imp0000000000003', name: 'Ada' }));
    const id = ada.start({ x: 1, y: 1 }, 'by the real Ada');
    const [message] = impostor.list()[0].messages;
    expect(impostor.mine(id, message.id)).toBe(false);
    expect(impostor.edit(id, message.id, 'forged')).toBe(false);
    expect(impostor.remove(id, message.id)).toBe(false);
    expect(ownedBy(message, { id: 'imp0000000000003', name: 'Ada' })).toBe(false);
  });

  it('messages written before ids existed are matched by name', () => {
    const doc = new Y.Doc();
    const thread = new Y.Map<unknown>();
    thread.set('target', 'shape-1');
    const messages = new Y.Array<unknown>();
    messages.push([{ id: 'old', author: 'Ada', text: 'from before ids', at: 1 }]);
    thread.set('messages', messages);
    doc.getMap('comments').set('t', thread);
    const ada = new Threads(doc, () => ADA);
    const [message] = ada.list()[0].messages;
    expect(message.author_id).toBeUndefined();
    expect(ada.mine('t', 'old')).toBe(true);
    expect(new Threads(doc, () => BO).mine('t', 'old')).toBe(false);
    expect(ada.edit('t', 'old', 'edited')).toBe(true);
    expect(ada.list()[0].messages[0].text).toBe('edited');
  });

  it('resolved and reopened by anyone who may comment; both sides see it', () => {
    const [a, b] = joined();
    const ada = new Threads(a, () => ADA);
    const bo = new Threads(b, () => BO);
    const id = ada.start({ x: 1, y: 2 }, 'Fix this');
    expect(bo.get(id)?.resolved).toBeNull();
    const before = Date.now();
    expect(bo.resolve(id)).toBe(true);
    const resolved = ada.get(id)?.resolved;
    expect(resolved).toMatchObject({ by: 'Bo', by_id: BO.id });
    expect(resolved?.at).toBeGreaterThanOrEqual(before);
    expect(a.getMap('comments').toJSON()[id].resolved).toMatchObject({ by: 'Bo', by_id: BO.id });
    expect(ada.reopen(id)).toBe(true);
    expect(bo.get(id)?.resolved).toBeNull();
    expect(bo.list()[0].resolved).toBeNull();
    expect(ada.resolve('nope')).toBe(false);
    expect(ada.reopen('nope')).toBe(false);
  });

  it('threads from before `resolved` existed are open; a malformed resolution reads as open', () => {
    const doc = new Y.Doc();
    const thread = new Y.Map<unknown>();
    thread.set('target', { x: 1, y: 1 });
    const messages = new Y.Array<unknown>();
    messages.push([{ id: 'm', author: 'Ada', text: 'old', at: 1 }]);
    thread.set('messages', messages);
    doc.getMap('comments').set('t', thread);
    expect(new Threads(doc, () => ADA).get('t')).toMatchObject({ id: 't', resolved: null });
    expect(readResolution(null)).toBeNull();
    expect(readResolution({ by: 'Ada' })).toBeNull();
    expect(readResolution({ by: 3, at: 1 })).toBeNull();
    expect(readResolution({ by: 'Ada', at: 5 })).toEqual({ by: 'Ada', at: 5 });
  });

  it('an edited message says when it was edited; others never were', () => {
    const [a, b] = joined();
    const ada = new Threads(a, () => ADA);
    const id = ada.start({ x: 1, y: 1 }, 'first');
    const [first] = ada.list()[0].messages;
    expect(first.edited).toBeUndefined();
    const before = Date.now();
    ada.edit(id, first.id, 'first, better');
    const [edited] = new Threads(b, () => BO).list()[0].messages;
    expect(edited).toMatchObject({ id: first.id, at: first.at, text: 'first, better' });
    expect(edited.edited).toBeGreaterThanOrEqual(before);
  });

  it('skips malformed threads', () => {
    const doc = new Y.Doc();
    const comments = doc.getMap('comments');
    comments.set('junk', 'text');
    const bad = new Y.Map();
    bad.set('target', { x: 'no' });
    comments.set('bad', bad);
    expect(new Threads(doc, () => ADA).list()).toEqual([]);
  });
});
