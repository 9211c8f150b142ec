// The activity list: who did what, when, newest first, a page at a time ("Show older").
// Clicking an entry goes to the moment after it and to the shapes it touched; the entry
// holding the moment shown is marked current.
import { h } from '../ui/dom';
import { entryLine } from './activity';
import type { Activity, ActivityEntry } from './api';

/** What the activity list reports and asks. */
export interface FeedHandlers {
  open(entry: ActivityEntry): void;
  older(before: number): void;
  /** The time of a seq, when the replay knows it (for restores). */
  timeOfSeq(seq: number): number | null;
}

const COLOR = /^#[0-9a-fA-F]{3,8}$/;

/** The activity list. */
export class ActivityFeed {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly more: HTMLButtonElement;
  private readonly note: HTMLElement;
  private entries: ActivityEntry[] = [];
  private items: HTMLElement[] = [];
  private nextBefore: number | null = null;
  /** Whether a page has been shown (not loading, not failed). */
  private shown = false;

  constructor(private readonly handlers: FeedHandlers) {
    this.list = h('ol', { class: 'history-entries' });
    this.note = h('p', { class: 'muted', 'aria-live': 'polite' });
    this.more = h('button', { type: 'button', class: 'link', hidden: true, onclick: () => this.nextBefore !== null && this.handlers.older(this.nextBefore) }, 'Show older');
    this.element = h('section', { class: 'history-activity', 'aria-label': 'Activity' }, h('h3', {}, 'Activity'), this.note, this.list, this.more);
  }

  /** Shows a first page (`append` false) or the next one. */
  show(page: Activity, append: boolean): void {
    this.entries = append ? [...this.entries, ...page.entries] : page.entries;
    this.nextBefore = page.next_before;
    this.more.hidden = page.next_before === null;
    this.shown = true;
    this.rerender();
  }

  /** Writes the entries again (the times of restored moments may be known now). */
  rerender(): void {
    if (!this.shown) return;
    this.note.textContent = this.entries.length ? '' : 'Nothing has happened here yet.';
    this.items = this.entries.map((entry) => {
      const color = COLOR.test(entry.author.color) ? entry.author.color : '#888888';
      return h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'history-entry', 'data-test': 'history-entry', 'data-to-seq': String(entry.to_seq), onclick: () => this.handlers.open(entry) },
          h('span', { class: 'dot', style: `background:${color}`, 'aria-hidden': 'true' }),
          entryLine(entry, this.handlers.timeOfSeq),
        ),
      );
    });
    this.list.replaceChildren(...this.items);
  }

  /** Says why the activity is missing. */
  fail(sentence: string): void {
    this.shown = false;
    this.entries = [];
    this.items = [];
    this.list.replaceChildren();
    this.more.hidden = true;
    this.note.textContent = sentence;
  }

  /** Marks the entry that holds the moment `seq`. */
  mark(seq: number): void {
    this.entries.forEach((entry, i) => {
      const button = this.items[i]?.firstElementChild;
      if (!button) return;
      if (entry.from_seq <= seq && seq <= entry.to_seq) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    });
  }
}
