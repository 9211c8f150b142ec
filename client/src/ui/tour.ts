// Tours: the owner announces one in awareness (`tour`: when it started, or null) and
// everyone else's map follows the owner (../map/follower) until they move the map
// themselves (then they can rejoin) or the tour ends. The owner's button, and the notice
// the others see.
import type { Follower } from '../map/follower';
import type { SharedAwareness } from '../sync/awareness';
import { h } from './dom';

export interface Tour {
  /** The owner's button, or the tour notice for everyone else. */
  element: HTMLElement;
  dispose(): void;
}

/** Tours: `canLead` (owner links) gets "Everyone follow me"; everyone else follows a
 *  tour when one starts, and can leave (by moving) and rejoin. */
export function tours(awareness: SharedAwareness, follower: Follower, canLead: boolean): Tour {
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
    for (const { clientID: client, tour: started, user } of awareness.others()) {
      if (started === null) continue;
      if (!best || started > best.started) best = { client, started, name: user?.name ?? 'someone' };
    }
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
    awareness.setTour(leading ? Date.now() : null);
    render();
  });

  const stopWatching = awareness.onChange(update);
  update();
  return {
    element,
    dispose() {
      stopWatching();
      follower.listeners.delete(onFollow);
      if (leading) awareness.setTour(null);
    },
  };
}
