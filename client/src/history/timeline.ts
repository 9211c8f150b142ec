// The timeline bar's track: the picture's annotation life from left to right (see
// ./axis), activity ticks in their authors' colours, named versions as labelled marks,
// and the scrubber: a slider dragged with mouse, pen or finger (pointer events; a 44 px
// target), whose arrow keys step from change to change. Seeks while dragging are sent
// at most once an animation frame.
import { h } from '../ui/dom';
import { TimelineAxis } from './axis';

/** A tick as drawn: where, what colour, how many updates. */
export interface TrackTick {
  fraction: number;
  color: string;
  count: number;
}

/** A named version as drawn. */
export interface TrackMark {
  fraction: number;
  position: number;
  label: string;
  title: string;
}

/** What the timeline reports. */
export interface TimelineHandlers {
  /** Go to `position` (a drag, a click on the track or a mark, Home, End, Page keys). */
  seek(position: number): void;
  /** The previous or next change (arrow keys). */
  step(direction: -1 | 1): void;
  /** A drag starts or ends. */
  scrubbing(on: boolean): void;
}

/** Page Up / Page Down move this share of the bar. */
const PAGE = 0.1;
/** The widest a version's label is drawn (CSS max-width: 8rem). */
const MARK_WIDTH_PX = 130;

/** The track, its ticks and marks, and the scrubber. */
export class Timeline {
  readonly element: HTMLElement;
  private readonly rail: HTMLElement;
  private readonly ticks: HTMLElement;
  private readonly marks: HTMLElement;
  private readonly done: HTMLElement;
  private readonly thumb: HTMLElement;
  private axis = new TimelineAxis([]);
  private position = 0;
  private disabled = true;
  private pending: number | null = null;
  private frame = 0;
  private dragging: number | null = null;

  constructor(private readonly handlers: TimelineHandlers) {
    this.ticks = h('div', { class: 'history-ticks', 'aria-hidden': 'true' });
    this.done = h('div', { class: 'history-done', 'aria-hidden': 'true' });
    this.thumb = h('div', {
      class: 'history-thumb',
      role: 'slider',
      tabindex: '0',
      'aria-label': 'Moment of the annotation history',
      'aria-valuemin': '0',
      'aria-valuemax': '0',
      'aria-valuenow': '0',
      'aria-disabled': 'true',
      'data-test': 'history-scrubber',
    });
    this.rail = h('div', { class: 'history-rail' }, this.done, this.ticks, this.thumb);
    const track = h('div', { class: 'history-track' }, this.rail);
    this.marks = h('div', { class: 'history-marks', role: 'group', 'aria-label': 'Named versions' });
    this.element = h('div', { class: 'history-timeline' }, this.marks, track);

    track.addEventListener('pointerdown', (e) => {
      if (this.disabled || this.dragging !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
      e.preventDefault();
      this.dragging = e.pointerId;
      track.setPointerCapture?.(e.pointerId);
      this.thumb.focus({ preventScroll: true });
      this.handlers.scrubbing(true);
      this.drag(e);
    });
    track.addEventListener('pointermove', (e) => {
      if (e.pointerId === this.dragging) this.drag(e);
    });
    const end = (e: PointerEvent) => {
      if (e.pointerId !== this.dragging) return;
      this.dragging = null;
      this.flush();
      this.handlers.scrubbing(false);
    };
    track.addEventListener('pointerup', end);
    track.addEventListener('pointercancel', end);
    this.thumb.addEventListener('keydown', (e) => this.key(e));
  }

  private drag(e: PointerEvent): void {
    const rect = this.rail.getBoundingClientRect();
    if (rect.width <= 0) return;
    this.pending = this.axis.position((e.clientX - rect.left) / rect.width);
    this.moveThumb(this.axis.fraction(this.pending));
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    const position = this.pending;
    this.pending = null;
    if (position !== null) this.handlers.seek(position);
  }

  private key(e: KeyboardEvent): void {
    if (this.disabled) return;
    const page = (direction: number) => this.axis.position(this.axis.fraction(this.position) + direction * PAGE);
    const actions: Record<string, () => void> = {
      ArrowLeft: () => this.handlers.step(-1),
      ArrowDown: () => this.handlers.step(-1),
      ArrowRight: () => this.handlers.step(1),
      ArrowUp: () => this.handlers.step(1),
      PageDown: () => this.handlers.seek(page(-1)),
      PageUp: () => this.handlers.seek(page(1)),
      Home: () => this.handlers.seek(0),
      End: () => this.handlers.seek(this.axis.length),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    action();
  }

  private moveThumb(fraction: number): void {
    const percent = `${(fraction * 100).toFixed(3)}%`;
    this.thumb.style.left = percent;
    this.done.style.width = percent;
  }

  /** Draws the bar for a new axis, its ticks and its marks. */
  draw(axis: TimelineAxis, ticks: TrackTick[], marks: TrackMark[]): void {
    this.axis = axis;
    const most = Math.max(1, ...ticks.map((t) => t.count));
    this.ticks.replaceChildren(
      ...ticks.map((t) => {
        // Height grows with the number of updates there, so busy moments stand out.
        const height = 35 + 65 * Math.sqrt(t.count / most);
        return h('span', { style: `left:${(t.fraction * 100).toFixed(3)}%;height:${height.toFixed(0)}%;background:${t.color}` });
      }),
    );
    // Labels that would cover the previous one go on a second row.
    const width = this.marks.getBoundingClientRect().width || 600;
    const room = MARK_WIDTH_PX / width;
    const rowEnds = [-Infinity, -Infinity];
    const sorted = [...marks].sort((a, b) => a.fraction - b.fraction);
    this.marks.replaceChildren(
      ...sorted.map((m) => {
        const row = m.fraction >= rowEnds[0] ? 0 : m.fraction >= rowEnds[1] ? 1 : 0;
        rowEnds[row] = m.fraction + room;
        return h(
          'button',
          {
            type: 'button',
            // Near the right end the label hangs to the left of its mark.
            class: m.fraction > 0.8 ? 'history-mark end' : 'history-mark',
            style: `left:${(m.fraction * 100).toFixed(3)}%;top:${row * 1.5}rem`,
            title: m.title,
            'aria-label': `Version ${m.label}: ${m.title}`,
            onclick: () => this.handlers.seek(m.position),
          },
          m.label,
        );
      }),
    );
    this.marks.classList.toggle('two-rows', rowEnds[1] > -Infinity);
    this.marks.hidden = marks.length === 0;
    this.moveThumb(axis.fraction(this.position));
  }

  /** Shows the moment at `position`: `seq` as the slider's value, `text` its words. */
  show(position: number, seq: number, text: string, range: { min: number; max: number }): void {
    this.position = position;
    if (this.dragging === null) this.moveThumb(this.axis.fraction(position));
    this.thumb.setAttribute('aria-valuemin', String(range.min));
    this.thumb.setAttribute('aria-valuemax', String(range.max));
    this.thumb.setAttribute('aria-valuenow', String(seq));
    this.thumb.setAttribute('aria-valuetext', text);
  }

  focus(): void {
    this.thumb.focus({ preventScroll: true });
  }

  setDisabled(disabled: boolean): void {
    this.disabled = disabled;
    this.thumb.setAttribute('aria-disabled', String(disabled));
    this.element.classList.toggle('disabled', disabled);
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}
