// The connection state in the page's header ("Live", "Connecting…", "Offline,
// retrying…"), and the server's word when it refuses a change: a link whose role does
// not allow it. A refused change stays in this page's document, and Yjs changes build on
// each other, so this page's later changes cannot be accepted either: the notice offers
// to reload, which starts again from what the server holds.
import type { ConnectionStatus, PictureConnection } from '../sync/connection';
import { h } from './dom';

/** The words for a state; while the History panel shows a past moment the page is not
 *  "Live", even though everyone's edits keep arriving. */
function label(state: string | undefined, past: boolean): string {
  if (state === 'connected') return past ? 'Viewing the past (edits keep arriving)' : 'Live';
  return state === 'connecting' ? 'Connecting…' : 'Offline, retrying… (your changes are kept)';
}

/** Says whether the page shows a past moment (the History panel) instead of the present. */
export function markPast(status: HTMLElement, past: boolean): void {
  status.dataset.past = past ? 'yes' : '';
  status.textContent = label(status.dataset.state, past);
}

/** Writes `connection`'s state into `status`, and a refusal just after it, for as long
 *  as the page lives. */
export function showConnection(status: HTMLElement, connection: PictureConnection): void {
  // Once it was live, each retry shows as offline, not as a flicker of "Connecting…".
  let wasLive = false;
  const show = (state: ConnectionStatus) => {
    wasLive ||= state === 'connected';
    const shown = state === 'connecting' && wasLive ? 'disconnected' : state;
    status.dataset.state = shown;
    status.textContent = label(shown, status.dataset.past === 'yes');
  };
  show('connecting');
  connection.onStatus(show);
  const refused = h('span', { class: 'refused', role: 'alert', hidden: true });
  status.after(refused);
  connection.onRefused((reason) => {
    refused.hidden = false;
    refused.replaceChildren(`Not saved: ${reason}. `, h('button', { type: 'button', class: 'link', onclick: () => location.reload() }, 'Reload'));
  });
}
