// The side panel: comment threads (list, start one, open one: ./threadView) and the
// people here (./people: click one to follow their view; the followed see who
// follows). Threads show their first author's colour, unread messages
// (../annotations/seen) and whether they are resolved ("Show resolved" hides those,
// here and on the map). The selected thread (../annotations/selection) is one with the
// map: opened here, its bubble is highlighted; opened from its bubble, it is
// highlighted here.
import L from 'leaflet';
import type * as Y from 'yjs';

import { authorColor, liveColors } from '../annotations/colors';
import { bounds } from '../annotations/geometry';
import type { SeenMessages } from '../annotations/seen';
import type { ThreadSelection } from '../annotations/selection';
import type { Follower } from '../map/follower';
import type { SharedAwareness, User } from '../sync/awareness';
import { shapesOf } from '../sync/document';
import { readShape } from '../sync/shapes';
import type { Target, Thread, Threads } from '../sync/threads';
import { pixelToLatLng } from '../view';
import { h } from './dom';
import { peopleHere } from './people';
import { commentForm, ThreadView } from './threadView';

interface PanelOptions {
  doc: Y.Doc;
  awareness: SharedAwareness;
  map: L.Map;
  top: number;
  me: () => User;
  /** The person changed their name or colour. */
  rename: (user: { name: string; color: string }) => void;
  canComment: boolean;
  follower: Follower;
  threads: Threads;
  selection: ThreadSelection;
  seen: SeenMessages;
  /** "Show resolved" was switched. */
  onShowResolved: (show: boolean) => void;
  /** Shown under the people (the tour controls). */
  peopleExtra?: HTMLElement;
}

export interface Panel {
  element: HTMLElement;
  /** Opens (or offers to start) the thread on shape `id`. */
  openShape(id: string): void;
  /** Offers to start a thread at a point. */
  openPoint(point: { x: number; y: number }): void;
  destroy(): void;
}

/** A thread's place in the list, kept between redraws (so typing survives them). */
interface Row {
  section: HTMLElement;
  header: HTMLButtonElement;
  view: ThreadView | null;
  note: HTMLElement;
  key: string;
}

export function sidePanel(options: PanelOptions): Panel {
  const { doc, awareness, map, top, follower, threads, selection, seen } = options;
  let draft: { target: Target; section: HTMLElement } | null = null;
  let showResolved = true;

  const list = h('div', { class: 'threads' });
  // Who you are to the others, and who else is here.
  const people = peopleHere({ awareness, follower, me: options.me, rename: options.rename });
  const resolvedToggle = h('input', { type: 'checkbox', checked: true });
  resolvedToggle.addEventListener('change', () => {
    showResolved = resolvedToggle.checked;
    options.onShowResolved(showResolved);
    render();
  });
  const element = h(
    'aside',
    { class: 'side-panel', 'aria-label': 'Comments and people' },
    h('h2', {}, 'People'),
    people.you,
    people.list,
    options.peopleExtra ?? null,
    h('div', { class: 'comments-head' }, h('h2', {}, 'Comments'), h('label', { class: 'show-resolved' }, resolvedToggle, ' Show resolved')),
    list,
  );

  const fly = (target: Target) => {
    let box: { x: number; y: number; width: number; height: number };
    if (typeof target === 'string') {
      const shape = readShape(target, shapesOf(doc).get(target));
      if (!shape) return;
      box = bounds(shape.type, shape.geometry);
    } else box = { x: target.x, y: target.y, width: 0, height: 0 };
    const a = pixelToLatLng(box.x, box.y, top);
    const b = pixelToLatLng(box.x + box.width, box.y + box.height, top);
    const zoom = Math.min(map.getMaxZoom(), box.width || box.height ? map.getBoundsZoom(L.latLngBounds([a.lat, a.lng], [b.lat, b.lng]).pad(0.3)) : top);
    map.flyTo([(a.lat + b.lat) / 2, (a.lng + b.lng) / 2], zoom, { duration: 0.6 });
  };

  /** Offers to start a thread on `target`; with `focus`, the cursor goes in the box (a
   *  point chosen with Comment: you came to write; not a shape clicked to restyle it). */
  const startDraft = (target: Target, focus: boolean) => {
    if (!options.canComment) return;
    const form = commentForm('Write a comment', 'Post', (text) => {
      const id = threads.start(target, text);
      draft = null;
      selection.select(id, 'panel');
      render();
    });
    const section = h('section', { class: 'thread open draft' }, h('p', { class: 'muted' }, typeof target === 'string' ? 'New comment on this shape' : 'New comment here'), form);
    draft = { target, section };
    render();
    if (focus) form.querySelector('textarea')?.focus();
  };

  const rows = new Map<string, Row>();
  const makeRow = (id: string): Row => {
    const header = h('button', {
      type: 'button',
      class: 'thread-title',
      onclick: () => {
        if (selection.isOpen(id, 'panel')) selection.clear(id);
        else {
          const thread = threads.get(id);
          selection.select(id, 'panel');
          if (thread) fly(thread.target);
        }
      },
    });
    const note = h('p', { class: 'muted on-map' }, 'Open on the picture');
    const row = { section: h('section', { class: 'thread', 'data-thread': id }, header), header, view: null, note, key: '' };
    rows.set(id, row);
    return row;
  };

  const updateRow = (row: Row, thread: Thread, colors: ReadonlyMap<string, string>) => {
    const first = thread.messages[0];
    const unread = seen.unread(thread);
    const dot = first ? authorColor(first, colors) : '#888';
    const key = JSON.stringify([first?.text.slice(0, 60), thread.messages.length, unread, dot, !!thread.resolved]);
    if (key !== row.key) {
      row.key = key;
      const parts = [h('span', { class: 'dot', style: `background:${dot}` }), h('span', { class: 'excerpt' }, `${first ? first.text.slice(0, 60) : '(empty)'} · ${thread.messages.length}`)];
      if (thread.resolved) parts.push(h('span', { class: 'resolved-mark', title: `Resolved by ${thread.resolved.by}` }, ' ✓ resolved'));
      if (unread) parts.push(h('span', { class: 'unread', title: `${unread} new` }, `${unread} new`));
      row.header.replaceChildren(...parts);
    }
    const open = selection.isOpen(thread.id, 'panel');
    row.section.classList.toggle('open', open);
    row.section.classList.toggle('selected', selection.id === thread.id);
    row.section.classList.toggle('resolved', thread.resolved !== null);
    row.section.classList.toggle('unread', unread > 0);
    row.header.setAttribute('aria-expanded', String(open));
    if (open) {
      if (!row.view) {
        row.view = new ThreadView(thread, { threads, me: options.me, canComment: options.canComment });
        row.section.append(row.view.element);
      } else row.view.update(thread);
    } else if (row.view) {
      row.view.element.remove();
      row.view = null;
    }
    const onMap = selection.isOpen(thread.id, 'map');
    if (onMap && !row.note.isConnected) row.section.append(row.note);
    else if (!onMap) row.note.remove();
  };

  const render = () => {
    const colors = liveColors(awareness.peers());
    const items = threads.list().filter((t) => showResolved || !t.resolved || selection.id === t.id);
    const wanted: HTMLElement[] = [];
    if (draft) wanted.push(draft.section);
    const present = new Set<string>();
    for (const thread of items) {
      present.add(thread.id);
      const row = rows.get(thread.id) ?? makeRow(thread.id);
      updateRow(row, thread, colors);
      wanted.push(row.section);
    }
    for (const [id, row] of rows) {
      if (!present.has(id)) {
        row.section.remove();
        rows.delete(id);
      }
    }
    if (!wanted.length) {
      const hidden = threads.list().length > 0;
      wanted.push(h('p', { class: 'muted empty' }, hidden ? 'Every comment is resolved.' : options.canComment ? 'No comments yet. Click a shape, or use Comment and click the picture.' : 'No comments yet.'));
    }
    // Nodes already in place stay where they are (moving one would take the focus
    // from a reply being typed in it).
    for (const stale of [...list.children]) if (!wanted.includes(stale as HTMLElement)) stale.remove();
    wanted.forEach((node, i) => {
      if (list.children[i] !== node) list.insertBefore(node, list.children[i] ?? null);
    });
  };

  // A thread opened from its bubble is brought into the panel's view (only when the
  // panel scrolls on its own: on phones it sits under the map, and the page stays put).
  const reveal = () => {
    const id = selection.id;
    if (!id || selection.place !== 'map' || element.scrollHeight <= element.clientHeight) return;
    const row = rows.get(id);
    if (!row) return;
    const r = row.section.getBoundingClientRect();
    const p = element.getBoundingClientRect();
    if (r.top < p.top || r.bottom > p.bottom) element.scrollTop += r.top - p.top - 8;
  };
  const onSelection = () => {
    render();
    reveal();
  };
  threads.comments.observeDeep(render);
  shapesOf(doc).observe(render);
  selection.listeners.add(onSelection);
  seen.listeners.add(render);
  render();

  return {
    element,
    openShape(id) {
      const existing = threads.onShape(id);
      if (existing) {
        draft = null;
        selection.select(existing, 'panel');
        render();
      } else startDraft(id, false);
    },
    openPoint(point) {
      selection.clear();
      startDraft({ x: Math.round(point.x), y: Math.round(point.y) }, true);
    },
    destroy() {
      threads.comments.unobserveDeep(render);
      shapesOf(doc).unobserve(render);
      selection.listeners.delete(onSelection);
      seen.listeners.delete(render);
      people.dispose();
      element.remove();
    },
  };
}
