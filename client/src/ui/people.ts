// The people here, in the side panel: who you are to the others (a name and a colour,
// kept in this browser), everyone else connected with a button to follow their view
// (../map/follower), and who follows yours. Names and colours come from anyone, so
// only what the awareness reading kept as safe is shown.
import type { Follower } from '../map/follower';
import type { SharedAwareness } from '../sync/awareness';
import { h } from './dom';

export interface PeopleOptions {
  awareness: SharedAwareness;
  follower: Follower;
  me: () => { name: string; color: string };
  /** The person changed their name or colour. */
  rename: (user: { name: string; color: string }) => void;
}

export interface People {
  /** Your name and colour, to change. */
  you: HTMLElement;
  /** Everyone else here. */
  list: HTMLElement;
  dispose(): void;
}

export function peopleHere(options: PeopleOptions): People {
  const { awareness, follower } = options;
  const list = h('ul', { class: 'people', 'aria-label': 'People here' });
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

  const follow = (id: number | null) => follower.follow(id);
  const render = () => {
    const items: HTMLElement[] = [];
    const followers: string[] = [];
    for (const { clientID: id, user, following } of awareness.others()) {
      if (!user) continue;
      if (following === awareness.clientID) followers.push(user.name);
      const isFollowed = follower.following === id;
      items.push(
        h(
          'li',
          {},
          h('span', { class: 'dot', style: `background:${user.color ?? '#888'}` }),
          user.name,
          h('button', { type: 'button', class: 'link', 'aria-pressed': isFollowed ? 'true' : 'false', onclick: () => follow(isFollowed ? null : id) }, isFollowed ? 'Following' : 'Follow'),
        ),
      );
    }
    if (!items.length) items.push(h('li', { class: 'muted' }, 'Only you, for now.'));
    if (followers.length) items.push(h('li', { class: 'followers' }, `Following you: ${followers.join(', ')}`));
    list.replaceChildren(...items);
  };
  const stopWatching = awareness.onChange(() => render());
  follower.listeners.add(render);
  render();

  return {
    you,
    list,
    dispose() {
      stopWatching();
      follower.listeners.delete(render);
    },
  };
}
