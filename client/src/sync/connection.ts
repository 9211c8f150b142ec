// A picture's annotation document over the hub's WebSocket: a Y.Doc kept in sync by the
// stock y-websocket provider (edits made offline stay in the document and go out when
// the connection is back), its awareness typed (./awareness), the connection state, the
// first sync, and the server's word when it refuses a change. No DOM, no Leaflet: the
// page's address comes in (hubUrl).
import { readAuthMessage } from 'y-protocols/auth';
import { messageAuth, WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

import { SharedAwareness } from './awareness';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

/** The hub's endpoint for a page served from `page` (the page's location). */
export function hubUrl(page: { protocol: string; host: string }): string {
  const scheme = page.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${page.host}/ws/pictures`;
}

/** One picture's live document and awareness. */
export class PictureConnection {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly awareness: SharedAwareness;

  /** Connects at once; `token` is the link's (none: the picture's public role). */
  constructor(url: string, pictureId: string, token: string | null) {
    this.provider = new WebsocketProvider(url, pictureId, this.doc, { params: token ? { token } : {} });
    this.awareness = new SharedAwareness(this.provider.awareness);
  }

  /** Whether the WebSocket is open now. */
  get connected(): boolean {
    return this.provider.wsconnected;
  }

  /** Calls `listener` on each change of the connection state (the first one,
   *  `connecting`, is over by the time this can be called); returns the unsubscribe. */
  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    const handler = ({ status }: { status: ConnectionStatus }) => listener(status);
    this.provider.on('status', handler);
    return () => this.provider.off('status', handler);
  }

  /** Calls `listener` once, when the document first holds what the server has;
   *  returns the unsubscribe. */
  onFirstSync(listener: () => void): () => void {
    let synced = false;
    const handler = (isSynced: boolean) => {
      if (!isSynced || synced) return;
      synced = true;
      listener();
    };
    this.provider.on('sync', handler);
    return () => this.provider.off('sync', handler);
  }

  /** Calls `listener` with the server's reason each time it refuses a change (a link
   *  whose role does not allow it: the change stays in this page's document only). */
  onRefused(listener: (reason: string) => void): void {
    this.provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
      readAuthMessage(decoder, this.doc, (_doc, reason) => listener(reason));
    };
  }

  /** Closes the connection and lets go of the document. */
  destroy(): void {
    this.provider.destroy();
    this.doc.destroy();
  }
}
