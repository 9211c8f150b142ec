// Live annotation on a picture, wired together: the picture's Y.Doc over the hub's
// WebSocket (stock y-websocket provider), its shapes on the map (./layers), drawing
// tools for links that may draw (./tools), presence (./presence), following and tours
// (./follow), comments: threads (./threads) as bubbles on the picture (./bubbleLayer)
// and in the side panel (./panel), one selected thread for both (./selection), read
// state in this browser (./seen); who you are (./user), and the connection state.
// Edits made while offline stay in the document and go out when the connection is back
// (the provider resyncs).
import L from 'leaflet';
import { readAuthMessage } from 'y-protocols/auth';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

import type { Picture } from '../api';
import { h } from '../dom';
import { latLngToPixel } from '../view';
import type { Viewer } from '../viewer';
import { BubbleLayer } from './bubbleLayer';
import { Follower, tours } from './follow';
import { ShapeLayers } from './layers';
import { sidePanel, type Panel } from './panel';
import { sharePresence, showPresence } from './presence';
import { SeenMessages, type KeyValueStore } from './seen';
import { ThreadSelection } from './selection';
import { bindShapes, ShapeEditor } from './shapes';
import { Threads } from './threads';
import { drawingTools, type DrawingTools } from './tools';
import { loadUser, saveUser, type User } from './user';
import { visibilityControls } from './visibility';

/** y-websocket's message type for auth (y-protocols/auth): a refused change. */
const MESSAGE_AUTH = 2;

export type Role = 'owner' | 'edit' | 'comment' | 'view';

export interface AnnotationOptions {
  picture: Picture;
  viewer: Viewer;
  token: string | null;
  role: Role;
  /** Embeds: shapes shown, nothing sent but presence-free reading. */
  readOnly: boolean;
  /** Where the connection state is written. */
  status?: HTMLElement;
  /** Where the side panel (comments, people) goes; none in embeds. */
  panelHost?: HTMLElement;
}

export interface Annotations {
  doc: Y.Doc;
  provider: WebsocketProvider;
  layers: ShapeLayers;
  /** Comment threads on the picture. */
  bubbles: BubbleLayer;
  editor: ShapeEditor | null;
  /** The drawing tools, for links that may draw. */
  tools: DrawingTools | null;
  destroy(): void;
}

export function startAnnotations(options: AnnotationOptions): Annotations {
  const { picture, viewer, token, role } = options;
  const { map, top } = viewer;
  const doc = new Y.Doc();
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const provider = new WebsocketProvider(`${scheme}://${location.host}/ws/pictures`, picture.id, doc, {
    params: token ? { token } : {},
  });
  const user = loadUser();
  const awareness = provider.awareness;
  if (!options.readOnly) awareness.setLocalStateField('user', { ...user });
  else awareness.setLocalState(null);
  const canDraw = !options.readOnly && (role === 'owner' || role === 'edit');
  const canComment = !options.readOnly && role !== 'view';
  const editor = canDraw ? new ShapeEditor(doc, () => user) : null;
  const cleanups: (() => void)[] = [];
  const follower = options.readOnly ? null : new Follower(map, top, awareness);
  if (follower) cleanups.push(() => follower.dispose());
  const tour = follower && options.panelHost ? tours(awareness, follower, role === 'owner') : null;
  if (tour) cleanups.push(() => tour.dispose());
  const threads = new Threads(doc, () => user);
  const selection = new ThreadSelection();
  const seen = new SeenMessages(browserStore, picture.id, () => user);
  cleanups.push(keepSeen(provider, threads, selection, seen));
  let bubbles: BubbleLayer | null = null;
  let panel: Panel | null = null;
  if (options.panelHost && follower) {
    // A new name keeps the id: what you wrote stays yours.
    const rename = (changed: Pick<User, 'name' | 'color'>) => {
      user.name = changed.name;
      user.color = changed.color;
      saveUser(user);
      awareness.setLocalStateField('user', { ...user });
    };
    panel = sidePanel({
      doc,
      awareness,
      map,
      top,
      me: () => user,
      rename,
      canComment,
      follower,
      threads,
      selection,
      seen,
      onShowResolved: (show) => bubbles?.setShowResolved(show),
      peopleExtra: tour?.element,
    });
    options.panelHost.append(panel.element);
  }
  let tools: DrawingTools | null = null;
  const layers = new ShapeLayers(map, top, editor, (id) => {
    tools?.select(id);
    // A click that moved, reshaped or deleted a shape is not one to comment on. A shape
    // with a thread opens it at its badge; one without offers to start one.
    if (tools?.active()) return;
    const thread = threads.onShape(id);
    if (thread) selection.select(thread, 'map');
    else panel?.openShape(id);
  });
  cleanups.push(bindShapes(doc, layers), () => panel?.destroy());
  // Shapes say how many comments they carry.
  layers.commentCount = (id) => threads.list().reduce((n, t) => n + (t.target === id ? t.messages.length : 0), 0);
  const relabel = () => layers.relabel();
  doc.getMap('comments').observeDeep(relabel);
  cleanups.push(() => doc.getMap('comments').unobserveDeep(relabel));
  const bubbleLayer = new BubbleLayer({ map, top, doc, threads, seen, selection, awareness, layers, me: () => user, canComment });
  bubbles = bubbleLayer;
  cleanups.push(() => bubbleLayer.dispose());
  if (options.panelHost) options.panelHost.prepend(visibilityControls(layers, bubbleLayer));
  if (canComment && panel) cleanups.push(commentTool(map, top, panel));

  // Connection state, and the server's word when it refuses a change (a link whose
  // role does not allow it: the change stays on this screen only).
  if (options.status) {
    const status = options.status;
    // Once it was live, each retry shows as offline, not as a flicker of "Connecting…".
    let wasLive = false;
    const show = (state: string) => {
      wasLive ||= state === 'connected';
      const shown = state === 'connecting' && wasLive ? 'disconnected' : state;
      status.dataset.state = shown;
      status.textContent = shown === 'connected' ? 'Live' : shown === 'connecting' ? 'Connecting…' : 'Offline, retrying… (your changes are kept)';
    };
    show('connecting');
    provider.on('status', ({ status: state }: { status: string }) => show(state));
    // A refused change stays in this page's document, and Yjs changes build on each
    // other, so this page's later changes cannot be accepted either: reloading starts
    // again from what the server holds.
    const refused = h('span', { class: 'refused', role: 'alert', hidden: true });
    status.after(refused);
    provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder) => {
      readAuthMessage(decoder, doc, (_doc, reason) => {
        refused.hidden = false;
        refused.replaceChildren(`Not saved: ${reason}. `, h('button', { type: 'button', class: 'link', onclick: () => location.reload() }, 'Reload'));
      });
    };
  }

  if (!options.readOnly) cleanups.push(sharePresence(viewer, awareness));
  cleanups.push(showPresence(viewer, awareness));
  if (editor) {
    const drawing = drawingTools(map, top, editor, layers);
    tools = drawing;
    layers.onLabel = (id) => drawing.editText(id);
    cleanups.push(() => drawing.dispose());
  }

  // For tests and the curious: the document, and what this page shows of it.
  (window as unknown as { hugepicAnnotations?: unknown }).hugepicAnnotations = {
    doc,
    provider,
    shapes: () => doc.getMap('shapes').toJSON(),
    people: () => Array.from(awareness.getStates().entries()).filter(([id]) => id !== doc.clientID).map(([id, s]) => ({ ...s, clientID: id })),
    me: () => doc.clientID,
    status: () => (provider.wsconnected ? 'connected' : 'disconnected'),
    selected: () => layers.selectedId(),
    following: () => follower?.following ?? null,
    threads: () => threads.list(),
    bubbles: () => bubbleLayer.snapshot(),
    selectedThread: () => ({ id: selection.id, place: selection.place }),
    unread: (id: string) => {
      const thread = threads.get(id);
      return thread ? seen.unread(thread) : 0;
    },
  };

  return {
    doc,
    provider,
    layers,
    bubbles: bubbleLayer,
    editor,
    tools,
    destroy() {
      for (const cleanup of cleanups) cleanup();
      provider.destroy();
      doc.destroy();
    },
  };
}

/** This browser's localStorage, reached only when used (a sandboxed embed may refuse
 *  even the lookup; SeenMessages takes a refusal as nothing remembered). */
const browserStore: KeyValueStore = {
  getItem: (key) => localStorage.getItem(key),
  setItem: (key, value) => localStorage.setItem(key, value),
};

/** Keeps the read state. On the first sync: for a picture this browser never opened,
 *  what is there counts as read; for one it knows, threads gone since are forgotten.
 *  Then the thread open on the map or in the panel is read as its messages arrive. */
function keepSeen(provider: WebsocketProvider, threads: Threads, selection: ThreadSelection, seen: SeenMessages): () => void {
  let synced = false;
  const onSync = (isSynced: boolean) => {
    if (!isSynced || synced) return;
    synced = true;
    const all = threads.list();
    if (!seen.known) seen.baseline(all);
    else seen.retain(all.map((t) => t.id));
  };
  const markOpen = () => {
    const thread = selection.id ? threads.get(selection.id) : null;
    if (thread) seen.markSeen(thread);
  };
  provider.on('sync', onSync);
  threads.comments.observeDeep(markOpen);
  selection.listeners.add(markOpen);
  return () => {
    provider.off('sync', onSync);
    threads.comments.unobserveDeep(markOpen);
    selection.listeners.delete(markOpen);
  };
}

/** "Comment": the next click on the picture starts a thread there. */
function commentTool(map: L.Map, top: number, panel: Panel): () => void {
  const button = h('button', { type: 'button', 'aria-pressed': 'false', title: 'Comment on a point of the picture' }, 'Comment');
  const click = (e: L.LeafletMouseEvent) => {
    button.setAttribute('aria-pressed', 'false');
    panel.openPoint(latLngToPixel(e.latlng, top));
  };
  button.addEventListener('click', () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(on));
    if (on) map.once('click', click);
    else map.off('click', click);
  });
  const bar = h('div', { class: 'hugepic-tools leaflet-bar' }, button);
  const Control = L.Control.extend({
    onAdd: () => {
      L.DomEvent.disableClickPropagation(bar);
      return bar;
    },
  });
  const control = new Control({ position: 'topright' }).addTo(map);
  return () => {
    map.off('click', click);
    control.remove();
  };
}
