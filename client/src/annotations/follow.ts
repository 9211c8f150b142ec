// Following another person's view, and tours: the owner announces one in awareness
// (`tour`: when it started, or null) and everyone else's map follows the owner until
// they move the map themselves (then they can rejoin) or the tour ends.
import L from 'leaflet';
import type { Awareness } from 'y-protocols/awareness';

import { h } from '../dom';
import { pixelToLatLng } from '../view';

type Viewport = { x: number; y: number; width: number; height: number };

/** Keeps this map on one other person's view (their awareness `viewport`). */
export class Follower {
  /** Whom this map follows, and whether because of a tour. */
  following: number | null = null;
  byTour = false;
  /** Called when whom we follow changes (also when it stops). */
  readonly listeners = new Set<() => void>();
  /** True while the map moves because we moved it. */
  private moving = false;
  /** The view last flown to: their cursor updates their state ten times a second, and
   *  re-flying to the same view each time would never let the map settle (nor the
   *  person take over). */
  private flownTo = '';
  private readonly disposers: (() => void)[] = [];

  constructor(
    private readonly map: L.Map,
    private readonly top: number,
    private readonly awareness: Awareness,
  ) {
    // A move we did not start (drag, wheel, keys, pinch) means the person takes over.
    const own = () => {
      if (!this.moving && this.following !== null) this.follow(null);
    };
    const settled = () => {
      this.moving = false;
    };
    map.on('movestart dragstart zoomstart', own);
    map.on('moveend', settled);
    const onChange = ({ updated, removed }: { updated: number[]; removed: number[] }) => {
      const id = this.following;
      if (id !== null && (updated.includes(id) || removed.includes(id))) this.track();
    };
    awareness.on('change', onChange);
    this.disposers.push(
      () => map.off('movestart dragstart zoomstart', own),
      () => map.off('moveend', settled),
      () => awareness.off('change', onChange),
    );
  }

  /** Follows `id` (null: nobody); `byTour` when a tour asked for it. */
  follow(id: number | null, byTour = false): void {
    const changed = id !== this.following || byTour !== this.byTour;
    this.following = id;
    this.byTour = id !== null && byTour;
    this.awareness.setLocalStateField('following', id);
    this.flownTo = '';
    if (changed) for (const listener of this.listeners) listener();
    this.track();
  }

  private track(): void {
    if (this.following === null) return;
    const state = this.awareness.getStates().get(this.following);
    if (!state) return this.follow(null); // they left
    const v = state.viewport as Viewport | null | undefined;
    if (!v || !(v.width > 0 && v.height > 0)) return;
    const key = `${v.x},${v.y},${v.width},${v.height}`;
    if (key === this.flownTo) return;
    this.flownTo = key;
    const a = pixelToLatLng(v.x, v.y, this.top);
    const b = pixelToLatLng(v.x + v.width, v.y + v.height, this.top);
    this.moving = true;
    this.map.flyToBounds(L.latLngBounds([a.lat, a.lng], [b.lat, b.lng]), { duration: 0.35 });
  }

  dispose(): void {
    for (const dispose of this.disposers) dispose();
    this.listeners.clear();
  }
}

export interface Tour {
  /** The owner's button, or the tour notice for everyone else. */
  element: HTMLElement;
  dispose(): void;
}

/** Tours: `canLead` (owner links) gets "Everyone follow me"; everyone else follows a
 *  tour when one starts, and can leave (by moving) and rejoin. */
export function tours(awareness: Awareness, follower: Follower, canLead: boolean): Tour {
  const me = awareness.clientID;
  /** Tours that already took this map along once (`${client}:${started}`): after a
   *  person moves on their own or follows someone else, only Rejoin brings them back. */
  const seen = new Set<string>();
  let leading = false;

  const lead = h('button', { type: 'button', class: 'tour-lead', 'aria-pressed': 'false', title: 'Everyone else here follows your view until they move on their own' }, 'Everyone follow me');
  const notice = h('p', { class: 'tour-notice', 'aria-live': 'polite' });
  const rejoin = h('button', { type: 'button', class: 'link' }, 'Rejoin');
  const element = h('div', { class: 'tour' }, ...(canLead ? [lead] : []), notice);

  /** The running tour someone else leads, if any (the latest started). */
  const current = (): { client: number; started: number; name: string } | null => {
    let best: { client: number; started: number; name: string } | null = null;
    awareness.getStates().forEach((state, client) => {
      const started = state.tour;
      if (client === me || typeof started !== 'number') return;
      if (!best || started > best.started) {
        const user = state.user as { name?: unknown } | undefined;
        best = { client, started, name: String(user?.name ?? 'someone').slice(0, 40) };
      }
    });
    return best;
  };

  const render = () => {
    lead.textContent = leading ? 'Stop the tour' : 'Everyone follow me';
    lead.setAttribute('aria-pressed', String(leading));
    const tour = current();
    if (leading) {
      notice.textContent = 'You are leading a tour: the others follow your view.';
    } else if (tour && follower.byTour && follower.following === tour.client) {
      notice.textContent = `${tour.name} is showing you around. Move the map to look on your own.`;
    } else if (tour) {
      notice.replaceChildren(`${tour.name} is giving a tour. `, rejoin);
    } else notice.textContent = '';
    notice.hidden = !notice.textContent;
  };

  const update = () => {
    const tour = current();
    const key = tour && `${tour.client}:${tour.started}`;
    if (follower.byTour && (!tour || follower.following !== tour.client)) {
      follower.follow(null); // the tour ended (or another one started)
    }
    if (tour && key && !leading && !seen.has(key)) {
      seen.add(key);
      follower.follow(tour.client, true);
    }
    render();
  };

  const onFollow = () => render();
  follower.listeners.add(onFollow);

  rejoin.addEventListener('click', () => {
    const tour = current();
    if (tour) follower.follow(tour.client, true);
  });
  lead.addEventListener('click', () => {
    leading = !leading;
    if (leading) follower.follow(null);
    awareness.setLocalStateField('tour', leading ? Date.now() : null);
    render();
  });

  awareness.on('change', update);
  update();
  return {
    element,
    dispose() {
      awareness.off('change', update);
      follower.listeners.delete(onFollow);
      if (leading) awareness.setLocalStateField('tour', null);
    },
  };
}
