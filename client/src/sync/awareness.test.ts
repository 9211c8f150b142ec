import { afterEach, describe, expect, it } from 'vitest';
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { readPeer, SharedAwareness } from './awareness';

const ADA = { id: 'ada0000000000001', name: 'Ada', color: '#e91e63' };

const made: Awareness[] = [];
/** An awareness on a document of its own (destroyed after each test: it runs a timer). */
function awareness(): Awareness {
  const a = new Awareness(new Y.Doc());
  made.push(a);
  return a;
}
afterEach(() => {
  for (const a of made.splice(0)) a.destroy();
});

/** Sends `from`'s state to `to`, as the hub relays it: the encoded update. */
function relay(from: Awareness, to: Awareness): void {
  applyAwarenessUpdate(to, encodeAwarenessUpdate(from, [from.clientID]), 'remote');
}

describe('the awareness state on the wire', () => {
  it('is the JSON the server and stock clients read: user {id, name, color}, cursor, viewport, following, tour', () => {
    const raw = awareness();
    const mine = new SharedAwareness(raw);
    mine.setUser({ ...ADA, extra: 'not sent' } as typeof ADA);
    mine.setViewport({ x: 1, y: 2, width: 300, height: 200 });
    mine.setCursor({ x: 10, y: 20 });
    mine.setFollowing(42);
    mine.setTour(1_700_000_000_000);
    const other = awareness();
    relay(raw, other);
    expect(other.getStates().get(raw.clientID)).toEqual({
      user: { id: ADA.id, name: 'Ada', color: '#e91e63' },
      viewport: { x: 1, y: 2, width: 300, height: 200 },
      cursor: { x: 10, y: 20 },
      following: 42,
      tour: 1_700_000_000_000,
    });
    mine.setCursor(null);
    mine.setFollowing(null);
    mine.setTour(null);
    relay(raw, other);
    expect(other.getStates().get(raw.clientID)).toMatchObject({ cursor: null, following: null, tour: null });
  });

  it('sends nothing at all once withdrawn (read-only embeds)', () => {
    const raw = awareness();
    const mine = new SharedAwareness(raw);
    mine.withdraw();
    expect(raw.getLocalState()).toBeNull();
    // Setting a field afterwards does not bring a state back.
    mine.setCursor({ x: 1, y: 1 });
    expect(raw.getLocalState()).toBeNull();
  });
});

describe('reading the others', () => {
  it('keeps what is well-formed and safe to show', () => {
    expect(readPeer(7, { user: ADA, cursor: { x: 1, y: 2 }, viewport: { x: 0, y: 0, width: 5, height: 6 }, following: 3, tour: 9 })).toEqual({
      clientID: 7,
      user: { id: ADA.id, name: 'Ada', color: '#e91e63' },
      cursor: { x: 1, y: 2 },
      viewport: { x: 0, y: 0, width: 5, height: 6 },
      following: 3,
      tour: 9,
    });
    const odd = readPeer(8, {
      user: { id: 5, name: 'x'.repeat(100), color: 'red;background:url(x)' },
      cursor: { x: 'a', y: 2 },
      viewport: { x: 0, y: 0, width: null, height: 1 },
      following: '3',
      tour: 'yesterday',
    });
    expect(odd).toEqual({ clientID: 8, user: { id: null, name: 'x'.repeat(40), color: null }, cursor: null, viewport: null, following: null, tour: null });
    expect(readPeer(9, {}).user).toBeNull();
    expect(readPeer(9, { user: {} }).user).toEqual({ id: null, name: 'someone', color: null });
  });

  it('tells this page from the others, and stops calling when unsubscribed', () => {
    const a = awareness();
    const b = awareness();
    const mine = new SharedAwareness(a);
    mine.setUser(ADA);
    new SharedAwareness(b).setUser({ id: 'bo00000000000002', name: 'Bo', color: '#3f51b5' });
    const changes: number[][] = [];
    const stop = mine.onChange(({ added, updated }) => changes.push([...added, ...updated]));
    relay(b, a);
    expect(changes).toEqual([[b.clientID]]);
    expect(mine.peers().map((p) => p.clientID).sort()).toEqual([a.clientID, b.clientID].sort());
    expect(mine.others().map((p) => p.user?.name)).toEqual(['Bo']);
    expect(mine.peer(b.clientID)?.user?.name).toBe('Bo');
    expect(mine.peer(12345)).toBeNull();
    expect(mine.rawOthers()).toEqual([{ user: { id: 'bo00000000000002', name: 'Bo', color: '#3f51b5' }, clientID: b.clientID }]);
    stop();
    new SharedAwareness(b).setTour(1);
    relay(b, a);
    expect(changes).toHaveLength(1);
  });
});
