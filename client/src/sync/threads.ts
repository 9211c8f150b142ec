// Comment threads in the annotation document, written as DESIGN.md gives them:
// `comments`: thread id → Y.Map {target, messages, resolved?}, target a shape id or
// {x, y}, messages a Y.Array of {id, author, author_id, text, at, edited?}, resolved
// {by, by_id, at} or null (absent in documents from before it existed: open).
// Malformed entries are skipped. A message is yours when its author_id is your id;
// messages written before ids existed have none, and those are matched by name.
import * as Y from 'yjs';

import { commentsOf } from './document';
import type { Author } from './shapes';

export interface Message {
  id: string;
  /** The author's name when they wrote it. */
  author: string;
  /** The author's stable id; absent on messages written before ids existed. */
  author_id?: string;
  text: string;
  at: number;
  /** When its author last changed the text; absent if never. */
  edited?: number;
}
export type Target = string | { x: number; y: number };

/** Who marked a thread resolved, and when. */
export interface Resolution {
  by: string;
  /** Absent when the entry has none (written by hand, or by an older client). */
  by_id?: string;
  at: number;
}

export interface Thread {
  id: string;
  target: Target;
  messages: Message[];
  /** Null while the thread is open. */
  resolved: Resolution | null;
}

/** The resolution stored on a thread, or null: absent, null and malformed all read as open. */
export function readResolution(value: unknown): Resolution | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.by !== 'string' || typeof r.at !== 'number' || !Number.isFinite(r.at)) return null;
  const resolution: Resolution = { by: r.by, at: r.at };
  if (typeof r.by_id === 'string') resolution.by_id = r.by_id;
  return resolution;
}

/** Whether `message` was written by `me`: by id, or by name for messages without one.
 *  So renaming yourself keeps your messages, and taking someone's name gives you none of theirs. */
export function ownedBy(message: Pick<Message, 'author' | 'author_id'>, me: Author): boolean {
  if (typeof message.author_id === 'string' && message.author_id !== '') return message.author_id === me.id;
  return message.author === me.name;
}

const newId = () => Math.random().toString(36).slice(2, 12);

function readMessages(thread: Y.Map<unknown>): Message[] {
  const messages = thread.get('messages');
  if (!(messages instanceof Y.Array)) return [];
  return messages
    .toArray()
    .filter((m): m is Message => !!m && typeof m === 'object' && typeof (m as Message).text === 'string' && typeof (m as Message).id === 'string')
    .map((m) => {
      const read: Message = { ...m, author: String(m.author ?? ''), at: Number(m.at) || 0 };
      if (typeof m.author_id !== 'string') delete read.author_id;
      if (typeof m.edited !== 'number' || !Number.isFinite(m.edited)) delete read.edited;
      return read;
    });
}

/** Comment threads in the document, written as DESIGN.md gives them. */
export class Threads {
  readonly comments: Y.Map<unknown>;

  constructor(
    private readonly doc: Y.Doc,
    private readonly author: () => Author,
  ) {
    this.comments = commentsOf(doc);
  }

  /** Every readable thread, newest first. */
  list(): Thread[] {
    const out: Thread[] = [];
    this.comments.forEach((_value, id) => {
      const thread = this.get(id);
      if (thread) out.push(thread);
    });
    const first = (t: { messages: Message[] }) => t.messages[0]?.at ?? 0;
    return out.sort((a, b) => first(b) - first(a));
  }

  /** Thread `id`, if it is there and readable. */
  get(id: string): Thread | null {
    const value = this.comments.get(id);
    if (!(value instanceof Y.Map)) return null;
    const target = value.get('target') as Target;
    const valid = typeof target === 'string' || (target && typeof target === 'object' && Number.isFinite(target.x) && Number.isFinite(target.y));
    return valid ? { id, target, messages: readMessages(value), resolved: readResolution(value.get('resolved')) } : null;
  }

  /** Marks thread `id` resolved, by you, now. Anyone who may comment may resolve. */
  resolve(id: string): boolean {
    const thread = this.comments.get(id);
    if (!(thread instanceof Y.Map)) return false;
    const author = this.author();
    thread.set('resolved', { by: author.name, by_id: author.id, at: Date.now() });
    return true;
  }

  /** Opens a resolved thread again. */
  reopen(id: string): boolean {
    const thread = this.comments.get(id);
    if (!(thread instanceof Y.Map)) return false;
    thread.set('resolved', null);
    return true;
  }

  /** The thread on shape `target`, if there is one. */
  onShape(target: string): string | null {
    return this.list().find((t) => t.target === target)?.id ?? null;
  }

  /** Opens a thread on `target` with a first message; its id. */
  start(target: Target, text: string): string {
    const id = newId();
    this.doc.transact(() => {
      const thread = new Y.Map<unknown>();
      thread.set('target', target);
      const messages = new Y.Array<Message>();
      messages.push([this.message(text)]);
      thread.set('messages', messages);
      this.comments.set(id, thread);
    });
    return id;
  }

  private message(text: string): Message {
    const author = this.author();
    return { id: newId(), author: author.name, author_id: author.id, text, at: Date.now() };
  }

  /** Whether message `messageId` of thread `threadId` is yours. */
  mine(threadId: string, messageId: string): boolean {
    const message = this.messages(threadId)?.toArray().find((m) => m.id === messageId);
    return !!message && ownedBy(message, this.author());
  }

  private messages(threadId: string): Y.Array<Message> | null {
    const thread = this.comments.get(threadId);
    const messages = thread instanceof Y.Map ? thread.get('messages') : null;
    return messages instanceof Y.Array ? (messages as Y.Array<Message>) : null;
  }

  reply(threadId: string, text: string): boolean {
    const messages = this.messages(threadId);
    if (!messages) return false;
    messages.push([this.message(text)]);
    return true;
  }

  /** Edits one of your own messages. */
  edit(threadId: string, messageId: string, text: string): boolean {
    const messages = this.messages(threadId);
    const index = messages?.toArray().findIndex((m) => m.id === messageId) ?? -1;
    if (!messages || index < 0 || !ownedBy(messages.get(index), this.author())) return false;
    const old = messages.get(index);
    this.doc.transact(() => {
      messages.delete(index, 1);
      messages.insert(index, [{ ...old, text, edited: Date.now() } as Message]);
    });
    return true;
  }

  /** Deletes one of your own messages (the thread with its last message). */
  remove(threadId: string, messageId: string): boolean {
    const messages = this.messages(threadId);
    const index = messages?.toArray().findIndex((m) => m.id === messageId) ?? -1;
    if (!messages || index < 0 || !ownedBy(messages.get(index), this.author())) return false;
    this.doc.transact(() => {
      messages.delete(index, 1);
      if (messages.length === 0) this.comments.delete(threadId);
    });
    return true;
  }
}
