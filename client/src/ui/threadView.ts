// One comment thread, read and answered: its messages (author, time, "edited", Edit and
// Delete on your own), whether it is resolved (Resolve and Reopen), and the reply box.
// The side panel (./sidePanel) and the card opened from a bubble on the map
// (../map/bubbleLayer) both show a thread with it. `update` redraws the messages in
// place and keeps what is being typed: the reply, and any edit in progress.
import { relativeTime } from '../annotations/wording';
import type { Author } from '../sync/shapes';
import { ownedBy, type Message, type Thread, type Threads } from '../sync/threads';
import { h } from './dom';

export interface ThreadViewOptions {
  threads: Threads;
  me: () => Author;
  canComment: boolean;
}

const time = (at: number) => h('time', { datetime: new Date(at).toISOString(), title: new Date(at).toLocaleString() }, ` ${relativeTime(at)}`);

/** A text box with a submit button; Ctrl+Enter (⌘+Enter) submits too. */
export function commentForm(label: string, submitText: string, submit: (text: string) => void, initial = '', extra: HTMLElement | null = null): HTMLFormElement {
  const input = h('textarea', { rows: '2', 'aria-label': label, placeholder: label, maxlength: '4000' });
  input.value = initial;
  const form = h(
    'form',
    {
      class: 'comment-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const text = input.value.trim();
        if (text) submit(text);
      },
    },
    input,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, submitText), extra),
  );
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  return form;
}

/** One thread's messages, resolution and reply box. */
export class ThreadView {
  readonly element: HTMLElement;
  private readonly resolution = h('div', { class: 'resolution' });
  private readonly list = h('div', { class: 'messages' });
  private readonly replyBox: HTMLTextAreaElement | null = null;
  /** Edit forms open, by message id: kept across redraws. */
  private readonly editing = new Map<string, HTMLFormElement>();
  private thread: Thread;

  constructor(
    thread: Thread,
    private readonly options: ThreadViewOptions,
  ) {
    this.thread = thread;
    this.element = h('div', { class: 'thread-view', 'data-thread': thread.id }, this.resolution, this.list);
    if (options.canComment) {
      const reply = commentForm('Reply', 'Post', (text) => {
        if (options.threads.reply(this.thread.id, text) && this.replyBox) this.replyBox.value = '';
      });
      this.replyBox = reply.querySelector('textarea');
      this.element.append(reply);
    }
    this.update(thread);
  }

  get id(): string {
    return this.thread.id;
  }

  /** Redraws for the thread as it is now. */
  update(thread: Thread): void {
    this.thread = thread;
    const { threads, canComment } = this.options;
    this.element.classList.toggle('resolved', thread.resolved !== null);
    // Resolve and Reopen take each other's place: the focus goes from one to the other.
    const hadFocus = this.resolution.contains(document.activeElement);
    const parts: (HTMLElement | string)[] = [];
    if (thread.resolved) {
      parts.push(h('span', { class: 'resolved-by' }, `✓ Resolved by ${thread.resolved.by.slice(0, 40) || 'someone'}`, time(thread.resolved.at)));
      if (canComment) parts.push(h('button', { type: 'button', class: 'resolve', onclick: () => threads.reopen(thread.id) }, 'Reopen'));
    } else if (canComment) {
      parts.push(h('button', { type: 'button', class: 'resolve', onclick: () => threads.resolve(thread.id) }, 'Resolve'));
    }
    this.resolution.replaceChildren(...parts);
    this.resolution.hidden = parts.length === 0;
    if (hadFocus) this.resolution.querySelector('button')?.focus({ preventScroll: true });
    const ids = new Set(thread.messages.map((m) => m.id));
    for (const id of [...this.editing.keys()]) if (!ids.has(id)) this.editing.delete(id);
    // Kept at the bottom when it was there: a new message shows.
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
    // An edit in progress moves into the new row: it keeps the focus it had.
    const focused = document.activeElement;
    this.list.replaceChildren(...thread.messages.map((m) => this.row(m)));
    if (focused instanceof HTMLElement && focused !== document.activeElement && this.list.contains(focused)) focused.focus({ preventScroll: true });
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  /** Puts the cursor in the reply box (without scrolling the page); whether there is one. */
  focusReply(): boolean {
    if (!this.replyBox) return false;
    this.replyBox.focus({ preventScroll: true });
    return true;
  }

  /** The reply box, if this link may comment. */
  reply(): HTMLTextAreaElement | null {
    return this.replyBox;
  }

  /** Shows the newest messages. */
  scrollToEnd(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }

  private row(m: Message): HTMLElement {
    const { threads, me, canComment } = this.options;
    const threadId = this.thread.id;
    const row = h('div', { class: 'message', 'data-message': m.id }, h('span', { class: 'author' }, m.author || 'someone'), time(m.at));
    if (m.edited) row.append(h('span', { class: 'edited', title: `Edited ${new Date(m.edited).toLocaleString()}` }, ' · edited'));
    const editor = this.editing.get(m.id);
    if (editor) {
      row.append(editor);
      return row;
    }
    row.append(h('p', { class: 'text' }, m.text));
    if (canComment && ownedBy(m, me())) {
      const edit = () => {
        const cancel = h('button', { type: 'button', class: 'link', onclick: () => close() }, 'Cancel');
        const form = commentForm('Edit your comment', 'Save', (text) => {
          this.editing.delete(m.id);
          // Unchanged text is no edit (and says "edited" nowhere).
          if (text === m.text || !threads.edit(threadId, m.id, text)) this.update(this.thread);
        }, m.text, cancel);
        const close = () => {
          this.editing.delete(m.id);
          this.update(this.thread);
        };
        this.editing.set(m.id, form);
        this.update(this.thread);
        form.querySelector('textarea')?.focus({ preventScroll: true });
      };
      row.append(
        h('button', { type: 'button', class: 'link', onclick: edit }, 'Edit'),
        h('button', { type: 'button', class: 'link', onclick: () => threads.remove(threadId, m.id) }, 'Delete'),
      );
    }
    return row;
  }
}
