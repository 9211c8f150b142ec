// The History panel under the map: the banner ("Viewing 14 March 10:42 — Back to
// live"), the loading state, the timeline (./timeline), the player's controls (previous
// and next change, play and pause, speed, time-lapse, one author's changes only), the
// writing actions for links that may (./restore), the activity (./feed) and the selected
// shape's history (./shapeLog). It shows what it is told and reports what is pressed.
import { h } from '../ui/dom';
import type { Author } from './api';
import { ActivityFeed, type FeedHandlers } from './feed';
import { SPEEDS, type PlayMode } from './playback';
import { saveVersionControl } from './restore';
import { ShapeLog, type ShapeLogHandlers } from './shapeLog';
import { Timeline, type TimelineHandlers } from './timeline';

/** What the panel reports. */
export interface BarHandlers extends TimelineHandlers, FeedHandlers, ShapeLogHandlers {
  live(): void;
  play(): void;
  /** Speed or time-lapse changed. */
  mode(mode: PlayMode): void;
  /** Only this author's changes (null: everyone's). */
  author(id: string | null): void;
  /** Present for links that may restore and save versions. */
  restore?: () => void;
  saveVersion?: (name: string) => Promise<string>;
}

const ICONS = {
  previous: '<path d="M6 5v14M19 5 9 12l10 7z"/>',
  next: '<path d="M18 5v14M5 5l10 7-10 7z"/>',
  play: '<path d="M7 4.5v15l13-7.5z"/>',
  pause: '<path d="M8 5v14M16 5v14"/>',
};

/** A button showing an icon, named by its label. */
function icon(button: HTMLButtonElement, name: keyof typeof ICONS, label: string): HTMLButtonElement {
  button.innerHTML = `<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" stroke-linecap="round" aria-hidden="true">${ICONS[name]}</svg>`;
  button.setAttribute('aria-label', label);
  return button;
}

/** The History panel's elements, and what they show. */
export class HistoryBar {
  readonly element: HTMLElement;
  readonly timeline: Timeline;
  readonly feed: ActivityFeed;
  readonly shape: ShapeLog;
  private readonly banner: HTMLElement;
  private readonly status: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private readonly buttons: HTMLButtonElement[];
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly playButton: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly timelapse: HTMLButtonElement;
  private readonly authors: HTMLSelectElement;

  constructor(handlers: BarHandlers) {
    this.banner = h('span', { class: 'history-moment' }, 'Opening the history…');
    const live = h('button', { type: 'button', class: 'primary', 'data-test': 'history-live', title: 'Back to the live annotations (Escape)', onclick: () => handlers.live() }, 'Back to live');
    this.status = h('span', {});
    this.progress = h('progress', { max: '1', 'aria-label': 'History loaded' });
    const statusLine = h('p', { class: 'history-status', 'aria-live': 'polite' }, this.status, this.progress);
    this.timeline = new Timeline(handlers);
    this.prev = icon(h('button', { type: 'button', 'data-test': 'history-prev', title: 'Previous change (←)', onclick: () => handlers.step(-1) }), 'previous', 'Previous change');
    this.next = icon(h('button', { type: 'button', 'data-test': 'history-next', title: 'Next change (→)', onclick: () => handlers.step(1) }), 'next', 'Next change');
    this.playButton = icon(h('button', { type: 'button', 'data-test': 'history-play', 'aria-pressed': 'false', title: 'Play the history', onclick: () => handlers.play() }), 'play', 'Play');
    this.speed = h('select', { 'data-test': 'history-speed', 'aria-label': 'Playback speed', title: 'Playback speed' });
    for (const speed of SPEEDS) this.speed.append(h('option', { value: String(speed) }, `${speed}×`));
    this.timelapse = h('button', { type: 'button', 'data-test': 'history-timelapse', 'aria-pressed': 'false', title: 'Time-lapse: skip the idle time (a week plays in about a minute)' }, 'Time-lapse');
    const changed = () => handlers.mode(this.mode());
    this.speed.addEventListener('change', changed);
    this.timelapse.addEventListener('click', () => {
      this.timelapse.setAttribute('aria-pressed', String(this.timelapse.getAttribute('aria-pressed') !== 'true'));
      changed();
    });
    this.authors = h('select', { 'data-test': 'history-author', 'aria-label': 'Whose changes', title: 'Only one person’s changes' });
    this.authors.addEventListener('change', () => handlers.author(this.authors.value || null));
    this.setAuthors([]);
    const writing: HTMLElement[] = [];
    if (handlers.restore) {
      const restore = handlers.restore;
      writing.push(h('button', { type: 'button', 'data-test': 'history-restore', title: 'Make the annotations as they were at this moment', onclick: () => restore() }, 'Restore this moment'));
    }
    if (handlers.saveVersion) writing.push(saveVersionControl(handlers.saveVersion));
    this.buttons = [this.prev, this.playButton, this.next];
    this.feed = new ActivityFeed(handlers);
    this.shape = new ShapeLog(handlers);
    this.element = h(
      'section',
      { class: 'history-bar', 'data-test': 'history-timeline', 'aria-label': 'Annotation history' },
      h('p', { class: 'history-banner', 'data-test': 'history-banner', role: 'status' }, this.banner, ' — ', live),
      statusLine,
      this.timeline.element,
      h('div', { class: 'history-controls', role: 'toolbar', 'aria-label': 'Play the history' }, this.prev, this.playButton, this.next, this.speed, this.timelapse, this.authors),
      writing.length ? h('div', { class: 'history-writing' }, ...writing) : null,
      h('div', { class: 'history-lists' }, this.shape.element, this.feed.element),
    );
    this.setReady(false);
  }

  /** The moment shown, in words. */
  setBanner(text: string): void {
    this.banner.textContent = text;
  }

  /** A sentence under the banner ('' hides it), with a progress bar while loading. */
  setStatus(text: string, progress: number | null = null): void {
    this.status.textContent = text;
    this.status.parentElement?.toggleAttribute('hidden', !text);
    this.progress.hidden = progress === null;
    if (progress !== null) this.progress.value = Math.max(0, Math.min(1, progress));
  }

  /** Whether the replay is ready to scrub and play. */
  setReady(ready: boolean): void {
    this.timeline.setDisabled(!ready);
    for (const b of [...this.buttons, this.speed, this.timelapse, this.authors]) b.disabled = !ready;
  }

  setPlaying(playing: boolean): void {
    icon(this.playButton, playing ? 'pause' : 'play', playing ? 'Pause' : 'Play');
    this.playButton.setAttribute('aria-pressed', String(playing));
  }

  /** Whether there is a change before and after the moment shown. */
  setSteps(hasPrevious: boolean, hasNext: boolean): void {
    this.prev.disabled = !hasPrevious;
    this.next.disabled = !hasNext;
  }

  /** The people to filter by (those with an id: updates from before ids can't be told apart). */
  setAuthors(authors: Author[]): void {
    const chosen = this.authors.value;
    this.authors.replaceChildren(
      h('option', { value: '' }, 'Everyone’s changes'),
      ...authors.filter((a) => a.id).map((a) => h('option', { value: a.id }, `Only ${a.name}’s changes`)),
    );
    this.authors.value = [...this.authors.options].some((o) => o.value === chosen) ? chosen : '';
  }

  mode(): PlayMode {
    return { speed: Number(this.speed.value) || 1, timelapse: this.timelapse.getAttribute('aria-pressed') === 'true' };
  }

  dispose(): void {
    this.timeline.dispose();
    this.element.remove();
  }
}
