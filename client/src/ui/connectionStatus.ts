// The connection state in the page's header ("Live", "Connecting…", "Offline,
// retrying…"), and the server's word when it refuses a change: a link whose role does
// not allow it. A refused change stays in this page's document, and Yjs changes build on
// each other, so this page's later changes cannot be accepted either: the notice offers
// to reload, which starts again from what the server holds.
import type { ConnectionStatus, PictureConnection } from '../sync/connection';
import { h } from './dom';

/** Writes `connection`'s state into `status`, and a refusal just after it, for as long
 *  as the page lives. */
export function showConnection(status: HTMLElement, connection: PictureConnection): void {
  // Once it was live, each retry shows as offline, not as a flicker of "Connecting…".
  let wasLive = false;
  const show = (state: ConnectionStatus) => {
    wasLive ||= state === 'connected';
    const shown = state === 'connecting' && wasLive ? 'disconnected' : state;
    status.dataset.state = shown;
    status.textContent = shown === 'connected' ? 'Live' : shown === 'connecting' ? 'Connecting…' : 'Offline, retrying… (your changes are kept)';
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
