// Which messages this browser has read, per thread, so new messages from others show
// as unread: kept in localStorage `hugepic:seen:<picture>` as
// `{thread id: {count, at, last}}` (how many messages there were, the time of the last
// one and its id). A message is unread when someone else wrote it after the last one
// seen: by position after `last` (clocks of writers may disagree), or, when `last` was
// deleted since, by time after `at`. Your own messages are never unread. The first time
// a browser opens a picture, what is already there counts as seen: unread means new
// since you have been looking. No DOM here: the store is any `getItem`/`setItem`.
import type { Author } from '../sync/shapes';
import { ownedBy, type Message } from '../sync/threads';

/** What was seen of one thread. */
export interface SeenRecord {
  count: number;
  at: number;
  last: string;
}

/** The part of `Storage` used here. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

type ThreadLike = { id: string; messages: Pick<Message, 'id' | 'at' | 'author' | 'author_id'>[] };

export const seenKey = (picture: string) => `hugepic:seen:${picture}`;

function readRecord(value: unknown): SeenRecord | null {
  if (!value || typeof value !== 'object') return null;
  const r = value as Record<string, unknown>;
  const count = typeof r.count === 'number' && Number.isFinite(r.count) ? r.count : 0;
  const at = typeof r.at === 'number' && Number.isFinite(r.at) ? r.at : 0;
  const last = typeof r.last === 'string' ? r.last : '';
  return { count, at, last };
}

/** The read state of one picture's threads in this browser. */
export class SeenMessages {
  private records = new Map<string, SeenRecord>();
  /** Whether this browser had an entry for the picture when the page opened. */
  readonly known: boolean;
  /** Called after anything was marked seen. */
  readonly listeners = new Set<() => void>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly picture: string,
    private readonly me: () => Author,
  ) {
    let raw: string | null = null;
    try {
      raw = store.getItem(seenKey(picture));
    } catch {
      // storage refused (private mode, a sandboxed iframe): nothing remembered
    }
    this.known = raw !== null;
    try {
      const parsed = JSON.parse(raw ?? '{}') as Record<string, unknown>;
      if (parsed && typeof parsed === 'object') {
        for (const [id, value] of Object.entries(parsed)) {
          const record = readRecord(value);
          if (record) this.records.set(id, record);
        }
      }
    } catch {
      // a broken entry: start again
    }
  }

  /** How many messages of `thread` others wrote since you last saw it. */
  unread(thread: ThreadLike): number {
    const me = this.me();
    const record = this.records.get(thread.id);
    let fresh = thread.messages;
    if (record) {
      const index = record.last ? thread.messages.findIndex((m) => m.id === record.last) : -1;
      fresh = index >= 0 ? thread.messages.slice(index + 1) : thread.messages.filter((m) => m.at > record.at);
    }
    return fresh.filter((m) => !ownedBy(m, me)).length;
  }

  /** Marks every message of `thread` as seen; whether anything changed. */
  markSeen(thread: ThreadLike): boolean {
    if (!this.apply(thread)) return false;
    this.save();
    return true;
  }

  /** Marks every message of every thread as seen (a first visit), and remembers the
   *  picture even when it has no threads, so later messages are new. */
  baseline(threads: ThreadLike[]): void {
    for (const thread of threads) this.apply(thread);
    this.save();
  }

  /** Forgets threads that are gone (deleted with their last message). */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    let changed = false;
    for (const id of [...this.records.keys()]) {
      if (!keep.has(id)) changed = this.records.delete(id) || changed;
    }
    if (changed) this.save(false);
  }

  /** The record kept for thread `id` (for tests and debugging). */
  record(id: string): SeenRecord | null {
    return this.records.get(id) ?? null;
  }

  private apply(thread: ThreadLike): boolean {
    const lastMessage = thread.messages[thread.messages.length - 1];
    const next: SeenRecord = { count: thread.messages.length, at: lastMessage?.at ?? 0, last: lastMessage?.id ?? '' };
    const old = this.records.get(thread.id);
    if (old && old.count === next.count && old.at === next.at && old.last === next.last) return false;
    this.records.set(thread.id, next);
    return true;
  }

  private save(notify = true): void {
    try {
      this.store.setItem(seenKey(this.picture), JSON.stringify(Object.fromEntries(this.records)));
    } catch {
      // storage full or refused: unread marks last for this page only
    }
    if (notify) for (const listener of this.listeners) listener();
  }
}
