import { describe, expect, it } from 'vitest';

import { SeenMessages, seenKey } from './seen';

class MemoryStore {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

const ME = { id: 'me00000000000001', name: 'Me' };
const msg = (id: string, at: number, author_id = 'other0000000002', author = 'Other') => ({ id, at, author, author_id });

describe('unread bookkeeping', () => {
  it('a first visit takes what is there as seen, and remembers the picture', () => {
    const store = new MemoryStore();
    const seen = new SeenMessages(store, 'pic', () => ME);
    expect(seen.known).toBe(false);
    const thread = { id: 't', messages: [msg('a', 1)] };
    seen.baseline([thread]);
    expect(seen.unread(thread)).toBe(0);
    expect(JSON.parse(store.getItem(seenKey('pic')) ?? '')).toEqual({ t: { count: 1, at: 1, last: 'a' } });
    // With no threads at all, the picture is still remembered.
    const empty = new MemoryStore();
    new SeenMessages(empty, 'pic', () => ME).baseline([]);
    expect(new SeenMessages(empty, 'pic', () => ME).known).toBe(true);
  });

  it('messages from others after the last one seen are unread; your own never', () => {
    const store = new MemoryStore();
    const seen = new SeenMessages(store, 'pic', () => ME);
    seen.baseline([]);
    const thread = { id: 't', messages: [msg('a', 10, ME.id, 'Me')] };
    expect(seen.unread(thread)).toBe(0);
    thread.messages.push(msg('b', 20), msg('c', 30), msg('d', 40, ME.id, 'Me'));
    expect(seen.unread(thread)).toBe(2);
    expect(seen.markSeen(thread)).toBe(true);
    expect(seen.markSeen(thread)).toBe(false);
    expect(seen.unread(thread)).toBe(0);
    // Remembered by the browser: a new page reads it back.
    const again = new SeenMessages(store, 'pic', () => ME);
    expect(again.known).toBe(true);
    expect(again.unread(thread)).toBe(0);
    thread.messages.push(msg('e', 50));
    expect(again.unread(thread)).toBe(1);
  });

  it('by position, so a writer whose clock is behind still counts as new', () => {
    const seen = new SeenMessages(new MemoryStore(), 'pic', () => ME);
    const thread = { id: 't', messages: [msg('a', 1000)] };
    seen.markSeen(thread);
    thread.messages.push(msg('late-clock', 5));
    expect(seen.unread(thread)).toBe(1);
  });

  it('by time when the last message seen was deleted since', () => {
    const seen = new SeenMessages(new MemoryStore(), 'pic', () => ME);
    const thread = { id: 't', messages: [msg('a', 10), msg('b', 20)] };
    seen.markSeen(thread);
    thread.messages = [msg('a', 10), msg('c', 30)];
    expect(seen.unread(thread)).toBe(1);
  });

  it('old messages without ids are matched by name', () => {
    const seen = new SeenMessages(new MemoryStore(), 'pic', () => ME);
    expect(seen.unread({ id: 't', messages: [{ id: 'x', at: 1, author: 'Me' }, { id: 'y', at: 2, author: 'Other' }] })).toBe(1);
  });

  it('a broken or refused store is no error', () => {
    const broken = new MemoryStore();
    broken.setItem(seenKey('pic'), '{not json');
    const seen = new SeenMessages(broken, 'pic', () => ME);
    expect(seen.unread({ id: 't', messages: [msg('a', 1)] })).toBe(1);
    const refusing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    const quiet = new SeenMessages(refusing, 'pic', () => ME);
    expect(quiet.known).toBe(false);
    expect(quiet.markSeen({ id: 't', messages: [msg('a', 1)] })).toBe(true);
    expect(quiet.unread({ id: 't', messages: [msg('a', 1)] })).toBe(0);
  });

  it('forgets threads that are gone; listeners hear of what is marked', () => {
    const store = new MemoryStore();
    const seen = new SeenMessages(store, 'pic', () => ME);
    let heard = 0;
    seen.listeners.add(() => heard++);
    seen.markSeen({ id: 'kept', messages: [msg('a', 1)] });
    seen.markSeen({ id: 'gone', messages: [msg('b', 1)] });
    expect(heard).toBe(2);
    seen.retain(['kept']);
    expect(Object.keys(JSON.parse(store.getItem(seenKey('pic')) ?? ''))).toEqual(['kept']);
    expect(seen.record('gone')).toBeNull();
  });
});
