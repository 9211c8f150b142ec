// Following another person's view: this map flies to wherever their view is (their
// awareness `viewport`) until this person moves the map on their own, stops following,
// or the other one leaves. Whom it follows goes into this page's awareness
// (`following`), so the followed can see it. Tours (../ui/tour) drive it too.
import L from 'leaflet';

import type { SharedAwareness } from '../sync/awareness';
import { pixelToLatLng } from '../view';

/** Keeps this map on one other person's view. */
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
    private readonly awareness: SharedAwareness,
  ) {
    // A move we did not start (wheel, keys, pinch) means the person takes over.
    const own = () => {
      if (!this.moving && this.following !== null) this.follow(null);
    };
    // A drag always is the person's, even while we fly to the other's view (a flight
    // never drags; pressing on the map stops it): a drag started just as their view
    // changed used to be taken for part of the flight, and the map stayed theirs.
    const dragged = () => {
      this.moving = false;
      if (this.following !== null) this.follow(null);
    };
    const settled = () => {
      this.moving = false;
    };
    map.on('movestart zoomstart', own);
    map.on('dragstart', dragged);
    map.on('moveend', settled);
    const stopWatching = awareness.onChange(({ updated, removed }) => {
      const id = this.following;
      if (id !== null && (updated.includes(id) || removed.includes(id))) this.track();
    });
    this.disposers.push(
      () => map.off('movestart zoomstart', own),
      () => map.off('dragstart', dragged),
      () => map.off('moveend', settled),
      stopWatching,
    );
  }

  /** Follows `id` (null: nobody); `byTour` when a tour asked for it. */
  follow(id: number | null, byTour = false): void {
    const changed = id !== this.following || byTour !== this.byTour;
    this.following = id;
    this.byTour = id !== null && byTour;
    this.awareness.setFollowing(id);
    this.flownTo = '';
    if (changed) for (const listener of this.listeners) listener();
    this.track();
  }

  private track(): void {
    if (this.following === null) return;
    const peer = this.awareness.peer(this.following);
    if (!peer) return this.follow(null); // they left
    const v = peer.viewport;
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
