// The History of a picture page or embed, wired together: the History button on the
// map, the panel opened at the moment a link's `&t=` names, Escape for "Back to live",
// and a thin debug hook for browser tests. The state itself is ./mode.
import type { Annotations } from '../annotations/session';
import type { Picture } from '../api';
import type { Viewer } from '../map/viewer';
import { markPast } from '../ui/connectionStatus';
import { historyButton } from './map';
import { HistoryMode } from './mode';
import { momentInHash, type Moment } from './moment';

/** What the history of a page needs. */
export interface HistoryOptions {
  picture: Picture;
  viewer: Viewer;
  token: string | null;
  /** The live annotations: their document, layers and tools. */
  live: Annotations;
  /** Edit and owner links (not embeds): restore and save versions. */
  canWrite: boolean;
  /** Where the panel goes: under the map. */
  host: HTMLElement;
  /** The header's connection state, which must not say "Live" over a past moment. */
  status?: HTMLElement;
}

/** The history of a page, to take down. */
export interface History {
  dispose(): void;
}

/** The debug hook, `window.hugepicHistory`, for browser tests and the curious (not an
 *  API; it may change with the page):
 *  - `seek(t)`: opens the history if needed and shows moment `t`, a seq (number or
 *    digits) or an ISO time; rejects if the history cannot be loaded.
 *  - `state()`: the replay shown, `{seq, shapes}`: the seq of the moment (the last update
 *    at or before what was asked) and how many shapes it has; `seq` is -1 while live
 *    (then `shapes` counts the live document's).
 *  - `drawn()`: the replay's shapes as drawn on the map (one canvas, so not elements):
 *    `{id, left, top, right, bottom, selected}`, each outline's box in page pixels.
 *  - `painting()`: whether the canvas is still drawing the moment `state()` names (while
 *    playing, a moment is drawn over a few frames and then shown whole).
 *  - `paints()`: how many pictures the replay's canvas has shown (each a whole moment).
 *  - `loaded`: settles when the history has first been loaded (it is loaded on opening
 *    the panel: the button, a `&t=` link or `seek`); rejects if that failed. */
export interface HistoryDebugHook {
  seek(t: number | string): Promise<void>;
  state(): { seq: number; shapes: number };
  drawn(): ReturnType<HistoryMode['drawn']>;
  painting(): boolean;
  paints(): number;
  loaded: Promise<void>;
}

/** Adds the History button and panel to a picture page or embed. */
export function startHistory(options: HistoryOptions): History {
  const mode = new HistoryMode(options);
  const { map } = options.viewer;
  const button = historyButton(map, () => (mode.isOpen ? mode.close() : void mode.show(null)));
  mode.onOpen = (open) => {
    button.pressed(open);
    if (options.status) markPast(options.status, open);
    // Focus that was in the panel would be lost with it: back to the button.
    if (!open && (document.activeElement === document.body || document.activeElement === null)) button.element()?.focus({ preventScroll: true });
  };
  // Opened with the button, the scrubber takes the focus once it can be used.
  mode.onReady = () => {
    if (document.activeElement === button.element()) mode.focusScrubber();
  };

  const keys = (e: KeyboardEvent) => {
    if (e.key !== 'Escape' || !mode.isOpen || e.defaultPrevented) return;
    const target = e.target as HTMLElement | null;
    if (target?.closest('input, textarea, select, dialog')) return;
    mode.close();
  };
  document.addEventListener('keydown', keys);

  // A link (or an edited address) naming a moment opens the history there.
  const fromHash = () => {
    const moment = momentInHash(location.hash);
    if (moment) void mode.show(moment);
  };
  window.addEventListener('hashchange', fromHash);
  fromHash();

  const hook: HistoryDebugHook = {
    async seek(t) {
      const moment: Moment | null = typeof t === 'number' ? { seq: t } : momentInHash(`#&t=${t}`);
      if (!moment) throw new Error(`not a seq or an ISO time: ${String(t)}`);
      if (!(await mode.show(moment))) throw new Error('the history cannot be shown');
    },
    state: () => mode.state(),
    drawn: () => mode.drawn(),
    painting: () => mode.painting(),
    paints: () => mode.paints(),
    loaded: mode.loaded,
  };
  (window as unknown as { hugepicHistory?: HistoryDebugHook }).hugepicHistory = hook;

  return {
    dispose() {
      document.removeEventListener('keydown', keys);
      window.removeEventListener('hashchange', fromHash);
      button.control.remove();
      mode.dispose();
    },
  };
}
