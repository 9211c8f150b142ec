// One shape's history, for the shape selected in the replay: each version with who,
// when and what changed; clicking one goes to that moment.
import { h } from '../ui/dom';
import { changeSentence, shortDate } from './activity';
import type { ShapeHistory } from './api';

/** What the shape's history reports. */
export interface ShapeLogHandlers {
  /** Go to the moment `seq`. */
  seekSeq(seq: number): void;
  /** Let go of the selected shape. */
  clear(): void;
}

/** The selected shape's versions. */
export class ShapeLog {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;

  constructor(private readonly handlers: ShapeLogHandlers) {
    this.body = h('div', { 'aria-live': 'polite' });
    this.element = h(
      'section',
      { class: 'history-shape', 'aria-label': 'History of the selected shape', hidden: true },
      h('h3', {}, 'Selected shape ', h('button', { type: 'button', class: 'link', onclick: () => this.handlers.clear() }, 'Clear')),
      this.body,
    );
  }

  /** Nothing selected. */
  hide(): void {
    this.element.hidden = true;
    this.body.replaceChildren();
  }

  loading(): void {
    this.element.hidden = false;
    this.body.replaceChildren(h('p', { class: 'muted' }, 'Loading the history of this shape…'));
  }

  fail(sentence: string): void {
    this.element.hidden = false;
    this.body.replaceChildren(h('p', { class: 'error' }, sentence));
  }

  show(history: ShapeHistory): void {
    this.element.hidden = false;
    const items = history.changes.map((change) => {
      const at = Date.parse(change.at);
      const when = Number.isFinite(at) ? ` · ${shortDate(at)}` : '';
      return h('li', {}, h('button', { type: 'button', class: 'history-entry', onclick: () => this.handlers.seekSeq(change.seq) }, `${changeSentence(change)}${when}`));
    });
    const deleted = history.deleted_at ? Date.parse(history.deleted_at) : NaN;
    this.body.replaceChildren(h('ol', { class: 'history-entries' }, ...items));
    if (Number.isFinite(deleted)) this.body.append(h('p', { class: 'muted' }, `Deleted now (since ${shortDate(deleted)}).`));
  }
}
