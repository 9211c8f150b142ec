// The side panel: comment threads (list, open, post, reply, edit and delete your own)
// and the people here (click one to follow their view, see ./follow.ts; the followed
// see who follows).
import L from 'leaflet';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';

import { h } from '../dom';
import { pixelToLatLng } from '../view';
import type { Follower } from './follow';
import { bounds } from './geometry';
import { readShape } from './shapes';
import { ownedBy, relativeTime, Threads, type Target } from './threads';

export type { Message, Target } from './threads';

interface PanelOptions {
  doc: Y.Doc;
  awareness: Awareness;
  map: L.Map;
  top: number;
  me: () => { id: string; name: string; color: string };
  /** The person changed their name or colour. */
  rename: (user: { name: string; color: string }) => void;
  canComment: boolean;
  follower: Follower;
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

export function sidePanel(options: PanelOptions): Panel {
  const { doc, awareness, map, top, follower } = options;
  const threads = new Threads(doc, () => options.me());
  let open: string | null = null;
  let draft: Target | null = null;

  const list = h('div', { class: 'threads' });
  const people = h('ul', { class: 'people', 'aria-label': 'People here' });
  // Who you are to the others: a name and a colour, kept in this browser.
  const name = h('input', { type: 'text', 'aria-label': 'Your name', maxlength: '40', value: options.me().name });
  const color = h('input', { type: 'color', 'aria-label': 'Your colour', value: options.me().color });
  const rename = () => {
    const chosen = name.value.trim();
    if (chosen) options.rename({ name: chosen, color: color.value });
    else name.value = options.me().name;
  };
  name.addEventListener('change', rename);
  color.addEventListener('change', rename);
  const you = h('label', { class: 'you' }, 'You ', name, color);
  const element = h(
    'aside',
    { class: 'side-panel', 'aria-label': 'Comments and people' },
    h('h2', {}, 'People'),
    you,
    people,
    options.peopleExtra ?? null,
    h('h2', {}, 'Comments'),
    list,
  );

  const fly = (target: Target) => {
    let box: { x: number; y: number; width: number; height: number };
    if (typeof target === 'string') {
      const shape = readShape(target, doc.getMap('shapes').get(target));
      if (!shape) return;
      box = bounds(shape.type, shape.geometry);
    } else box = { x: target.x, y: target.y, width: 0, height: 0 };
    const a = pixelToLatLng(box.x, box.y, top);
    const b = pixelToLatLng(box.x + box.width, box.y + box.height, top);
    const zoom = Math.min(map.getMaxZoom(), box.width || box.height ? map.getBoundsZoom(L.latLngBounds([a.lat, a.lng], [b.lat, b.lng]).pad(0.3)) : top);
    map.flyTo([(a.lat + b.lat) / 2, (a.lng + b.lng) / 2], zoom, { duration: 0.6 });
  };

  const form = (placeholder: string, submit: (text: string) => void, initial = '') => {
    const input = h('textarea', { rows: '2', 'aria-label': placeholder, placeholder, maxlength: '4000' });
    input.value = initial;
    return h(
      'form',
      {
        class: 'comment-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const text = input.value.trim();
          if (text) submit(text);
        },
      },
      input,
      h('button', { type: 'submit' }, initial ? 'Save' : 'Post'),
    );
  };

  const render = () => {
    const me = options.me();
    const items = threads.list();
    const nodes: HTMLElement[] = [];
    if (draft !== null && options.canComment) {
      const target = draft;
      nodes.push(
        h(
          'section',
          { class: 'thread open' },
          h('p', { class: 'muted' }, typeof target === 'string' ? 'New comment on this shape' : 'New comment here'),
          form('Write a comment', (text) => {
            open = threads.start(target, text);
            draft = null;
            render();
          }),
        ),
      );
    }
    for (const thread of items) {
      const isOpen = thread.id === open;
      const first = thread.messages[0];
      const header = h(
        'button',
        {
          type: 'button',
          class: 'thread-title',
          onclick: () => {
            open = isOpen ? null : thread.id;
            if (!isOpen) fly(thread.target);
            render();
          },
        },
        `${first ? first.text.slice(0, 60) : '(empty)'} · ${thread.messages.length}`,
      );
      const section = h('section', { class: `thread${isOpen ? ' open' : ''}`, 'data-thread': thread.id }, header);
      if (isOpen) {
        for (const m of thread.messages) {
          const mine = ownedBy(m, me) && options.canComment;
          const body = h('p', { class: 'text' }, m.text);
          const row = h(
            'div',
            { class: 'message', 'data-message': m.id },
            h('span', { class: 'author' }, m.author || 'someone'),
            h('time', { datetime: new Date(m.at).toISOString(), title: new Date(m.at).toLocaleString() }, ` ${relativeTime(m.at)}`),
            body,
          );
          if (mine) {
            row.append(
              h('button', { type: 'button', class: 'link', onclick: () => body.replaceWith(form('Edit your comment', (text) => threads.edit(thread.id, m.id, text), m.text)) }, 'Edit'),
              h('button', { type: 'button', class: 'link', onclick: () => threads.remove(thread.id, m.id) }, 'Delete'),
            );
          }
          section.append(row);
        }
        if (options.canComment) section.append(form('Reply', (text) => threads.reply(thread.id, text)));
      }
      nodes.push(section);
    }
    if (!nodes.length) nodes.push(h('p', { class: 'muted' }, options.canComment ? 'No comments yet. Click a shape, or use Comment and click the picture.' : 'No comments yet.'));
    list.replaceChildren(...nodes);
  };
  threads.comments.observeDeep(render);
  doc.getMap('shapes').observe(render);
  render();

  // People, and following one of them.
  const follow = (id: number | null) => follower.follow(id);
  const renderPeople = () => {
    const items: HTMLElement[] = [];
    const followers: string[] = [];
    awareness.getStates().forEach((state, id) => {
      const user = state.user as { name?: string; color?: string } | undefined;
      if (!user || id === doc.clientID) return;
      if (state.following === doc.clientID) followers.push(String(user.name));
      const isFollowed = follower.following === id;
      items.push(
        h(
          'li',
          {},
          h('span', { class: 'dot', style: `background:${/^#[0-9a-fA-F]{3,8}$/.test(String(user.color)) ? user.color : '#888'}` }),
          String(user.name ?? 'someone').slice(0, 40),
          h('button', { type: 'button', class: 'link', 'aria-pressed': isFollowed ? 'true' : 'false', onclick: () => follow(isFollowed ? null : id) }, isFollowed ? 'Following' : 'Follow'),
        ),
      );
    });
    if (!items.length) items.push(h('li', { class: 'muted' }, 'Only you, for now.'));
    if (followers.length) items.push(h('li', { class: 'followers' }, `Following you: ${followers.join(', ')}`));
    people.replaceChildren(...items);
  };
  const onAwareness = () => renderPeople();
  awareness.on('change', onAwareness);
  follower.listeners.add(renderPeople);
  renderPeople();

  return {
    element,
    openShape(id) {
      const existing = threads.onShape(id);
      open = existing;
      draft = existing ? null : id;
      render();
    },
    openPoint(point) {
      open = null;
      draft = { x: Math.round(point.x), y: Math.round(point.y) };
      render();
    },
    destroy() {
      threads.comments.unobserveDeep(render);
      awareness.off('change', onAwareness);
      follower.listeners.delete(renderPeople);
      element.remove();
    },
  };
}
