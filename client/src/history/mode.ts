// The History mode of a picture: opening the panel under the map (./bar) loads the
// replay index (./loader) and shows the annotations as they were at the chosen moment
// ON the live map, in place of the live shapes, drawn on one canvas (./replayCanvas)
// from the index's log of shapes (./mirror's ReplayView: no document is rebuilt to seek
// or play). It is local: nothing is written to the live document, which keeps receiving
// everyone's edits meanwhile; "Back to live" puts the live shapes back. The moment is
// kept in the hash (./permalink). Playback, the activity, one shape's history,
// restoring and named versions hang off the same state.
// The page's wiring (button, keys, links naming a moment, debug hook) is ./session.
import { loadUser } from '../annotations/user';
import { shapesOf } from '../sync/document';
import { readShape } from '../sync/shapes';
import { longDate, shortDate } from './activity';
import { getActivity, getShapeHistory, getVersions, restore, saveVersion, type ActivityEntry, type Version } from './api';
import { ticks, TimelineAxis } from './axis';
import { HistoryBar } from './bar';
import { loadIndex } from './loader';
import { flyToBox, shapesBox } from './map';
import { ReplayView } from './mirror';
import { ReplayCanvas, type DrawnBox } from './replayCanvas';
import type { Moment } from './moment';
import { Permalink } from './permalink';
import { Playback } from './playback';
import { lastAtMost, ReplayIndex } from './replay';
import { confirmRestore } from './restore';
import type { HistoryOptions } from './session';

/** How long a frame of playback may spend changing the map's shapes (ms). */
const STEP_BUDGET_MS = 5;

const sentence = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The replay shown on the map while the panel is open and the index loaded. */
interface Replay {
  cursor: ReplayView;
  canvas: ReplayCanvas;
}

/** The history of one picture page: panel, replay, player, permalink. */
export class HistoryMode {
  private readonly index = new ReplayIndex();
  private bar: HistoryBar | null = null;
  private replay: Replay | null = null;
  private axis = new TimelineAxis([]);
  private steps: number[] = [];
  /** Their times (made with the steps: not again at each press of play). */
  private stepTimes: number[] = [];
  private author: string | null = null;
  private selected: string | null = null;
  private versions: Version[] = [];
  private latestKnown: number | null = null;
  private loading: Promise<boolean> | null = null;
  /** Whether the index has been loaded once. */
  private ready = false;
  private player: { stop(): void } | null = null;
  /** Bumped on every open and close: answers for an earlier panel are dropped. */
  private generation = 0;
  private readonly permalink = new Permalink();
  private resolveLoaded: () => void = () => {};
  private rejectLoaded: (e: unknown) => void = () => {};
  /** Settles once the index has first been loaded (or failed to). */
  readonly loaded = new Promise<void>((resolve, reject) => {
    this.resolveLoaded = resolve;
    this.rejectLoaded = reject;
  });
  /** Called when the panel opens or closes. */
  onOpen: (open: boolean) => void = () => {};
  /** Called when the replay is first shown after opening. */
  onReady: () => void = () => {};

  constructor(private readonly options: HistoryOptions) {
    this.loaded.catch(() => undefined);
  }

  get isOpen(): boolean {
    return this.bar !== null;
  }

  /** Opens the panel (if closed) and shows `moment` (null: where it was, else the
   *  latest); whether the replay is shown. */
  async show(moment: Moment | null): Promise<boolean> {
    if (!this.bar) this.openPanel();
    const generation = this.generation;
    // A moment the index already holds needs no trip to the server; opening, or a moment
    // past what it holds, brings it up to date first.
    if (!this.replay || !moment || !this.holds(moment)) {
      const fresh = await this.refresh();
      if (generation !== this.generation || (!fresh && !this.ready)) return false;
    }
    const position = moment ? this.resolve(moment) : (this.replay?.cursor.position ?? this.index.length);
    if (this.replay) this.seek(position);
    else this.enter(position);
    return true;
  }

  private holds(moment: Moment): boolean {
    return 'seq' in moment ? moment.seq <= this.index.latestSeq : moment.at <= (this.index.timeOf(this.index.length) ?? -Infinity);
  }

  private resolve(moment: Moment): number {
    return 'seq' in moment ? this.index.positionOfSeq(moment.seq) : this.index.positionAtTime(moment.at);
  }

  private openPanel(): void {
    this.generation += 1;
    const { picture, token, canWrite } = this.options;
    const bar = new HistoryBar({
      live: () => this.close(),
      seek: (p) => this.seek(p),
      step: (d) => this.step(d),
      scrubbing: (on) => on && this.stop(),
      play: () => (this.player ? this.stop() : void this.play()),
      mode: () => this.player && (this.stop(), void this.play()),
      author: (id) => this.filter(id),
      open: (entry) => this.openEntry(entry),
      older: (before) => void this.loadActivity(before),
      timeOfSeq: (seq) => (this.index.length ? this.index.timeOf(this.index.positionOfSeq(seq)) : null),
      seekSeq: (seq) => this.replay && this.seek(this.index.positionOfSeq(seq)),
      clear: () => this.select(null),
      restore: canWrite ? () => this.confirmRestore() : undefined,
      saveVersion: canWrite ? (name) => this.saveVersion(name) : undefined,
    });
    this.bar = bar;
    this.options.host.append(bar.element);
    this.onOpen(true);
    void this.loadActivity(null);
    const generation = this.generation;
    getVersions(picture.id, token)
      .then((versions) => {
        if (generation !== this.generation) return;
        this.versions = versions;
        this.redraw();
      })
      .catch(() => undefined); // no marks: the activity says what is wrong
  }

  /** Brings the index up to date; whether it is usable. */
  private refresh(): Promise<boolean> {
    this.loading ??= (async () => {
      const first = !this.ready;
      this.bar?.setStatus(first ? 'Loading the history…' : 'Looking for newer changes…', first ? 0 : null);
      try {
        await loadIndex(this.options.picture.id, this.options.token, this.index, ({ updates, share }) => {
          this.bar?.setStatus(`Loading the history… ${updates.toLocaleString('en')} changes`, share);
        }, this.latestKnown);
        this.ready = true;
        this.bar?.setStatus('');
        this.bar?.feed.rerender();
        this.redraw();
        this.resolveLoaded();
        return true;
      } catch (e) {
        this.bar?.setStatus(first ? `The history cannot be shown: ${sentence(e)}.` : `Newer changes cannot be loaded: ${sentence(e)}.`);
        if (first) {
          this.bar?.setBanner('The history is not available');
          this.rejectLoaded(e);
        }
        return false;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async loadActivity(before: number | null): Promise<void> {
    const generation = this.generation;
    const { picture, token } = this.options;
    try {
      const page = await getActivity(picture.id, token, { before, author: this.author });
      if (generation !== this.generation || !this.bar) return;
      this.latestKnown = page.latest_seq;
      this.bar.feed.show(page, before !== null);
      this.bar.setAuthors(page.authors);
      if (this.replay) this.bar.feed.mark(this.index.seqOf(this.replay.cursor.position));
    } catch (e) {
      if (generation !== this.generation || !this.bar) return;
      this.bar.feed.fail(`The activity cannot be shown: ${sentence(e)}.`);
      if (this.index.length) this.bar.setAuthors(this.index.authors);
    }
  }

  /** Replaces the live shapes with the replay at `position`. */
  private enter(position: number): void {
    const { viewer, live } = this.options;
    const canvas = new ReplayCanvas(viewer.top, (id) => this.select(id)).addTo(viewer.map);
    const cursor = new ReplayView(this.index, position, canvas.view);
    this.replay = { cursor, canvas };
    // For edit links the shape selected on the live map is the one to look at.
    const liveSelected = live.layers.selectedId();
    live.tools?.idle();
    live.layers.select(null);
    live.layers.suspend(true);
    viewer.map.getContainer().classList.add('hugepic-history');
    viewer.map.on('click', this.onMapClick);
    this.bar?.setReady(true);
    this.showMoment();
    if (liveSelected) this.select(liveSelected);
    // On a phone the panel starts below the fold: bring the scrubber into view.
    this.bar?.timeline.element.scrollIntoView({ block: 'nearest' });
    this.onReady();
  }

  private readonly onMapClick = (e: { originalEvent?: Event }) => {
    if (this.replay && !this.replay.canvas.hitShape(e.originalEvent)) this.select(null);
  };

  /** Back to live: the live shapes again, the replay and the panel gone. */
  close(): void {
    this.stop();
    this.generation += 1;
    const { viewer, live } = this.options;
    if (this.replay) {
      this.replay.cursor.dispose();
      this.replay.canvas.remove();
      this.replay = null;
      live.layers.suspend(false);
      viewer.map.getContainer().classList.remove('hugepic-history');
      viewer.map.off('click', this.onMapClick);
    }
    this.bar?.dispose();
    this.bar = null;
    this.selected = null;
    this.permalink.set(null);
    this.onOpen(false);
  }

  /** Goes to `position`; a seek by the person stops playback. */
  seek(position: number): void {
    if (!this.replay) return;
    this.stop();
    this.replay.cursor.seek(position);
    this.showMoment();
  }

  private showMoment(): void {
    if (!this.replay || !this.bar) return;
    const position = this.replay.cursor.position;
    const seq = this.index.seqOf(position);
    const at = this.index.timeOf(position);
    const moment = at === null ? 'the start, before any annotation' : longDate(at);
    this.bar.setBanner(`Viewing ${moment}`);
    const text = at === null ? 'Before any annotation' : `${moment}, change ${position.toLocaleString('en')} of ${this.index.length.toLocaleString('en')}`;
    this.bar.timeline.show(position, seq, text, { min: this.index.seqOf(0), max: this.index.latestSeq });
    const before = lastAtMost(this.steps, position - 1);
    this.bar.setSteps(before >= 0 || (this.author === null && position > 0), lastAtMost(this.steps, position) + 1 < this.steps.length);
    this.bar.feed.mark(seq);
    const { canvas } = this.replay;
    if (this.selected && canvas.selectedId() !== this.selected) canvas.select(this.selected);
    this.permalink.set(seq);
  }

  /** Timeline, ticks, marks and steps for the index and the filter as they are now. */
  private redraw(): void {
    const all = this.index.positionsBy(null);
    const times = this.index.timesOf(all);
    this.axis = new TimelineAxis(times);
    this.steps = this.author === null ? all : this.index.positionsBy(this.author);
    this.stepTimes = this.author === null ? times : this.index.timesOf(this.steps);
    if (!this.bar) return;
    const drawn = ticks(this.axis, this.steps, (p) => this.index.authorIndexAt(p)).map((t) => ({ ...t, color: this.index.authors[t.author]?.color ?? '#888888' }));
    const marks = this.versions.map((v) => {
      const at = v.at ? Date.parse(v.at) : NaN;
      const position = this.index.positionOfSeq(v.seq);
      return { fraction: this.axis.fraction(position), position, label: v.name, title: `${v.name}: ${Number.isFinite(at) ? shortDate(at) : `change ${v.seq}`}, saved by ${v.author.name}` };
    });
    this.bar.timeline.draw(this.axis, drawn, marks);
    this.showMoment();
  }

  private step(direction: -1 | 1): void {
    if (!this.replay) return;
    const position = this.replay.cursor.position;
    if (direction < 0) {
      const i = lastAtMost(this.steps, position - 1);
      if (i >= 0) this.seek(this.steps[i]);
      else if (this.author === null) this.seek(0);
    } else {
      const i = lastAtMost(this.steps, position) + 1;
      if (i < this.steps.length) this.seek(this.steps[i]);
    }
  }

  private filter(author: string | null): void {
    this.author = author;
    this.stop();
    this.redraw();
    void this.loadActivity(null);
  }

  private async play(): Promise<void> {
    if (!this.replay || !this.bar) return;
    const generation = this.generation;
    // At the end: first look for changes made since, else start again from the beginning.
    if (this.replay.cursor.position >= (this.steps.at(-1) ?? 0)) {
      await this.refresh();
      if (generation !== this.generation || !this.replay) return;
      if (this.replay.cursor.position >= (this.steps.at(-1) ?? 0)) this.seek(0);
    }
    const { cursor, canvas } = this.replay;
    const steps = this.steps;
    const playback = new Playback(this.stepTimes, this.bar.mode(), lastAtMost(steps, cursor.position));
    const started = performance.now();
    let frame = 0;
    // A moment is reached over as many frames as its changes need (STEP_BUDGET_MS of
    // each), with the canvas held meanwhile; then the canvas draws it, over frames too.
    // The next moment is taken once the canvas shows the last one: a moment is never
    // drawn only to be replaced before it is seen, and the clock does not wait.
    const moved = () => {
      canvas.hold(false);
      this.showMoment();
    };
    const tick = () => {
      frame = requestAnimationFrame(tick);
      const now = performance.now();
      if (cursor.moving) {
        if (cursor.advance(now + STEP_BUDGET_MS)) moved();
        return;
      }
      if (canvas.busy()) return;
      const due = playback.due(now - started);
      if (due >= 0 && steps[due] > cursor.position) {
        canvas.hold(true);
        cursor.begin(steps[due]);
        if (cursor.advance(now + STEP_BUDGET_MS)) moved();
      } else if (due >= steps.length - 1) {
        this.stop();
      }
    };
    canvas.setProgressive(true);
    this.player = {
      stop: () => {
        cancelAnimationFrame(frame);
        if (cursor.moving) {
          cursor.finish();
          this.showMoment();
        }
        canvas.setProgressive(false);
        this.player = null;
        this.bar?.setPlaying(false);
      },
    };
    this.bar.setPlaying(true);
    frame = requestAnimationFrame(tick);
  }

  private stop(): void {
    this.player?.stop();
  }

  /** Selects a shape of the replay (null: none) and shows its history. */
  private select(id: string | null): void {
    this.selected = id;
    this.replay?.canvas.select(id);
    const bar = this.bar;
    if (!bar) return;
    if (!id) return bar.shape.hide();
    bar.shape.loading();
    getShapeHistory(this.options.picture.id, this.options.token, id)
      .then((history) => this.selected === id && bar.shape.show(history))
      .catch((e: unknown) => this.selected === id && bar.shape.fail(`Its history cannot be shown: ${sentence(e)}.`));
  }

  /** Goes to the moment after an activity entry and flies to the shapes it touched
   *  (where they were then, or just before, for shapes it deleted). */
  private openEntry(entry: ActivityEntry): void {
    if (!this.replay) return;
    const after = this.index.positionOfSeq(entry.to_seq);
    this.seek(after);
    const before = this.index.positionOfSeq(entry.from_seq) - 1;
    const box = shapesBox(entry.shape_ids, [after, before].map((p) => (id: string) => this.index.shapeAt(id, p)));
    if (box) flyToBox(this.options.viewer.map, this.options.viewer.top, box);
  }

  private confirmRestore(): void {
    if (!this.replay) return;
    const seq = this.index.seqOf(this.replay.cursor.position);
    const at = this.index.timeOf(this.replay.cursor.position);
    const moment = at === null ? 'the start' : longDate(at);
    const { picture, token } = this.options;
    this.stop();
    confirmRestore({
      moment,
      selected: this.selected,
      run: (shapeIds, dryRun) => restore(picture.id, token, { seq, ...(shapeIds ? { shape_ids: shapeIds } : {}), dry_run: dryRun, author: loadUser() }),
      done: async (result) => {
        if (!(await this.refresh()) || !this.bar) return;
        this.seek(this.index.length);
        void this.loadActivity(null);
        const what = result.seq === null ? 'Nothing needed restoring' : `Restored: the annotations are as they were on ${moment}`;
        this.bar.setStatus(`${what}.`);
      },
    });
  }

  private async saveVersion(name: string): Promise<string> {
    if (!this.replay) throw new Error('the history is not loaded');
    const seq = this.index.seqOf(this.replay.cursor.position);
    const version = await saveVersion(this.options.picture.id, this.options.token, { name, seq, author: loadUser() });
    this.versions = [...this.versions, version];
    this.redraw();
    return `Saved “${version.name}”.`;
  }

  focusScrubber(): void {
    this.bar?.timeline.focus();
  }

  /** What the debug hook reports. */
  /** Whether the replay's canvas is still drawing the moment shown. */
  painting(): boolean {
    return this.replay ? this.replay.cursor.moving || this.replay.canvas.busy() : false;
  }

  /** How many pictures of the replay the canvas has shown. */
  paints(): number {
    return this.replay?.canvas.shown ?? 0;
  }

  /** The replay's shapes as drawn (page pixels); empty while live. */
  drawn(): DrawnBox[] {
    return this.replay?.canvas.drawnBoxes() ?? [];
  }

  state(): { seq: number; shapes: number } {
    if (this.replay) return { seq: this.index.seqOf(this.replay.cursor.position), shapes: this.replay.cursor.ids().length };
    const shapes = shapesOf(this.options.live.doc);
    return { seq: -1, shapes: [...shapes.keys()].filter((id) => readShape(id, shapes.get(id))).length };
  }

  dispose(): void {
    this.close();
    this.index.destroy();
  }
}
