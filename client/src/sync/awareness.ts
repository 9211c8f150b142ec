// The awareness state: what each connection tells the others about the person behind
// it (who they are, their pointer and view, whom they follow, the tour they lead),
// defined here once. Every field is written through SharedAwareness and read through
// readPeer, so the JSON on the wire is spelled in this file only. The server reads
// `user` as the author of the connection's updates and passes `tour` on only from
// owner links; stock Yjs clients see the same JSON. No DOM, no Leaflet.
import type { Awareness } from 'y-protocols/awareness';

/** Who a person is to the others: a stable pseudonymous id (what makes a shape or a
 *  message yours, whatever name you go by), a name and a colour. */
export interface User {
  id: string;
  name: string;
  color: string;
}

/** A point of the picture, in full-resolution image pixels. */
export interface PixelPoint {
  x: number;
  y: number;
}

/** The part of the picture in view, in full-resolution image pixels. */
export interface Viewport {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One connection's awareness state as this client writes it. Fields other than
 *  `user` are absent until first set; read-only embeds send no state at all. */
export interface AwarenessState {
  user: User;
  /** The pointer on the picture; null once it left the map. */
  cursor?: PixelPoint | null;
  viewport?: Viewport;
  /** The client id of the person this one follows, or null. */
  following?: number | null;
  /** When the tour this person leads started (ms since the epoch), or null. */
  tour?: number | null;
}

/** What this page makes of another person's `user`: anyone may send anything, so only
 *  what is safe to show is kept. */
export interface PeerUser {
  /** Null when it is not a string. */
  id: string | null;
  /** At most 40 characters; 'someone' when there is none. */
  name: string;
  /** A plain hex colour, or null for anything else (it would go into styles). */
  color: string | null;
}

/** A connection's awareness state as read: each field well-formed or null. */
export interface Peer {
  clientID: number;
  user: PeerUser | null;
  cursor: PixelPoint | null;
  viewport: Viewport | null;
  following: number | null;
  tour: number | null;
}

/** What changed in a round of awareness updates, by client id. */
export interface AwarenessChange {
  added: number[];
  updated: number[];
  removed: number[];
}

const HEX = /^#[0-9a-fA-F]{3,8}$/;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function readUser(value: unknown): PeerUser | null {
  if (!isObject(value)) return null;
  return {
    id: typeof value.id === 'string' ? value.id : null,
    name: String(value.name ?? 'someone').slice(0, 40),
    color: typeof value.color === 'string' && HEX.test(value.color) ? value.color : null,
  };
}

function readPoint(value: unknown): PixelPoint | null {
  return isObject(value) && finite(value.x) && finite(value.y) ? { x: value.x, y: value.y } : null;
}

function readViewport(value: unknown): Viewport | null {
  if (!isObject(value) || !finite(value.x) || !finite(value.y) || !finite(value.width) || !finite(value.height)) return null;
  return { x: value.x, y: value.y, width: value.width, height: value.height };
}

/** Client `clientID`'s state, read defensively (it may come from any client). */
export function readPeer(clientID: number, state: Record<string, unknown>): Peer {
  return {
    clientID,
    user: readUser(state.user),
    cursor: readPoint(state.cursor),
    viewport: readViewport(state.viewport),
    following: typeof state.following === 'number' ? state.following : null,
    tour: typeof state.tour === 'number' ? state.tour : null,
  };
}

/** This page's awareness, typed: setters for each field of its own state, and the
 *  states of everyone connected, read. */
export class SharedAwareness {
  constructor(private readonly awareness: Awareness) {}

  /** This connection's client id (the document's). */
  get clientID(): number {
    return this.awareness.clientID;
  }

  private set<K extends keyof AwarenessState>(field: K, value: AwarenessState[K]): void {
    this.awareness.setLocalStateField(field, value);
  }

  /** Who this is (also after a rename: the id stays). */
  setUser(user: User): void {
    this.set('user', { id: user.id, name: user.name, color: user.color });
  }

  setCursor(cursor: PixelPoint | null): void {
    this.set('cursor', cursor);
  }

  setViewport(viewport: Viewport): void {
    this.set('viewport', viewport);
  }

  setFollowing(clientID: number | null): void {
    this.set('following', clientID);
  }

  setTour(started: number | null): void {
    this.set('tour', started);
  }

  /** Sends no state at all: the others never see this page (read-only embeds). */
  withdraw(): void {
    this.awareness.setLocalState(null);
  }

  /** Everyone connected, this page included. */
  peers(): Peer[] {
    return Array.from(this.awareness.getStates(), ([id, state]) => readPeer(id, state));
  }

  /** Everyone connected but this page. */
  others(): Peer[] {
    return this.peers().filter((peer) => peer.clientID !== this.clientID);
  }

  /** Client `clientID`, if connected. */
  peer(clientID: number): Peer | null {
    const state = this.awareness.getStates().get(clientID);
    return state ? readPeer(clientID, state) : null;
  }

  /** Everyone else's states as they came (fields of other clients included), for
   *  tests and debugging. */
  rawOthers(): (Record<string, unknown> & { clientID: number })[] {
    return Array.from(this.awareness.getStates().entries())
      .filter(([id]) => id !== this.clientID)
      .map(([id, state]) => ({ ...state, clientID: id }));
  }

  /** Calls `listener` when anyone's state changes; returns the unsubscribe. */
  onChange(listener: (change: AwarenessChange) => void): () => void {
    const handler = (change: AwarenessChange) => listener(change);
    this.awareness.on('change', handler);
    return () => this.awareness.off('change', handler);
  }
}
