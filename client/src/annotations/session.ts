// Live annotation on a picture, wired together: the picture's Y.Doc and awareness over
// the hub's WebSocket (../sync/connection), its shapes on the map
// (../map/shapeLayers), drawing tools for links that may draw (../map/drawingTools),
// presence (../map/presence), following (../map/follower) and tours (../ui/tour),
// comments: threads (../sync/threads) as bubbles on the picture (../map/bubbleLayer)
// and in the side panel (../ui/sidePanel), one selected thread for both (./selection),
// read state in this browser (./seen); who you are (./user), and the connection state
// (../ui/connectionStatus).
import type * as Y from 'yjs';

import type { Picture } from '../api';
import { BubbleLayer } from '../map/bubbleLayer';
import { commentTool } from '../map/commentTool';
import { drawingTools, type DrawingTools } from '../map/drawingTools';
import { Follower } from '../map/follower';
import { sharePresence, showPresence } from '../map/presence';
import { ShapeLayers } from '../map/shapeLayers';
import type { Viewer } from '../map/viewer';
import type { User } from '../sync/awareness';
import { hubUrl, PictureConnection } from '../sync/connection';
import { commentsOf, shapesOf } from '../sync/document';
import { bindShapes, ShapeEditor } from '../sync/shapes';
import { Threads } from '../sync/threads';
import { showConnection } from '../ui/connectionStatus';
import { sidePanel, type Panel } from '../ui/sidePanel';
import { tours } from '../ui/tour';
import { visibilityControls } from '../ui/visibility';
import { SeenMessages, type KeyValueStore } from './seen';
import { ThreadSelection } from './selection';
import { loadUser, saveUser } from './user';

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
  /** The document's connection to the hub, with the awareness. */
  connection: PictureConnection;
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
  const connection = new PictureConnection(hubUrl(location), picture.id, token);
  const { doc, awareness } = connection;
  const user = loadUser();
  if (!options.readOnly) awareness.setUser(user);
  else awareness.withdraw();
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
  cleanups.push(keepSeen(connection, threads, selection, seen));
  let bubbles: BubbleLayer | null = null;
  let panel: Panel | null = null;
  if (options.panelHost && follower) {
    // A new name keeps the id: what you wrote stays yours.
    const rename = (changed: Pick<User, 'name' | 'color'>) => {
      user.name = changed.name;
      user.color = changed.color;
      saveUser(user);
      awareness.setUser(user);
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
  commentsOf(doc).observeDeep(relabel);
  cleanups.push(() => commentsOf(doc).unobserveDeep(relabel));
  const bubbleLayer = new BubbleLayer({ map, top, doc, threads, seen, selection, awareness, layers, me: () => user, canComment });
  bubbles = bubbleLayer;
  cleanups.push(() => bubbleLayer.dispose());
  if (options.panelHost) options.panelHost.prepend(visibilityControls(layers, bubbleLayer));
  if (canComment && panel) {
    const commentsPanel = panel;
    cleanups.push(commentTool(map, top, (point) => commentsPanel.openPoint(point)));
  }

  if (options.status) showConnection(options.status, connection);

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
    provider: connection.provider,
    shapes: () => shapesOf(doc).toJSON(),
    people: () => awareness.rawOthers(),
    me: () => doc.clientID,
    status: () => (connection.connected ? 'connected' : 'disconnected'),
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
    connection,
    layers,
    bubbles: bubbleLayer,
    editor,
    tools,
    destroy() {
      for (const cleanup of cleanups) cleanup();
      connection.destroy();
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
function keepSeen(connection: PictureConnection, threads: Threads, selection: ThreadSelection, seen: SeenMessages): () => void {
  const stopWaiting = connection.onFirstSync(() => {
    const all = threads.list();
    if (!seen.known) seen.baseline(all);
    else seen.retain(all.map((t) => t.id));
  });
  const markOpen = () => {
    const thread = selection.id ? threads.get(selection.id) : null;
    if (thread) seen.markSeen(thread);
  };
  threads.comments.observeDeep(markOpen);
  selection.listeners.add(markOpen);
  return () => {
    stopWaiting();
    threads.comments.unobserveDeep(markOpen);
    selection.listeners.delete(markOpen);
  };
}
