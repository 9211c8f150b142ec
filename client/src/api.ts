// The HUGEpic HTTP API as the client uses it, and the tokens this browser holds.

export type Status = 'queued' | 'tiling' | 'publishing' | 'ready' | 'failed';
export type Visibility = 'unlisted' | 'public';

export interface Picture {
  id: string;
  status: Status;
  title: string;
  description: string;
  width: number | null;
  height: number | null;
  error: string | null;
  created_at: string;
  /** `unlisted`: only its links open it; `public`: in the gallery, open to anyone. */
  visibility: Visibility;
  tile_format: string | null;
  progress: { stage: string | null; done: number; total: number };
  tiles: { dzi: string; iiif: string };
  thumbnail: string;
  role?: 'owner' | 'edit' | 'comment' | 'view';
}

export interface Created extends Picture {
  tokens: Record<string, string>;
  links: Record<string, string>;
}

export interface Progress {
  status: Status;
  stage: string;
  done: number;
  total: number;
  error?: string;
}

/** An API answer that was not a success, with the server's sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server's sentence for a failed answer (`{detail}`), or its status. */
async function detailOf(response: Response): Promise<string> {
  try {
    const body = await response.json();
    if (typeof body.detail === 'string') return body.detail;
  } catch {
    // not JSON
  }
  return `the server answered ${response.status}`;
}

async function check<T>(response: Response): Promise<T> {
  if (response.ok) {
    return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
  }
  throw new ApiError(response.status, friendly(response.status, await detailOf(response)));
}

/** A sentence for a person, from a status and the server's detail. */
export function friendly(status: number, detail: string): string {
  switch (status) {
    case 413:
      return `This picture is too big for this server: ${detail}`;
    case 401:
    case 403:
      return `This link does not allow that: ${detail}`;
    case 404:
      return 'There is no such picture: it may have been deleted, or it opens only with one of its links.';
    default:
      return detail.charAt(0).toUpperCase() + detail.slice(1);
  }
}

function auth(token: string | null): HeadersInit {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function listPictures(page: number, perPage = 24): Promise<{ pictures: Picture[]; total: number; page: number; per_page: number }> {
  return check(await fetch(`/api/pictures?page=${page}&per_page=${perPage}`));
}

export async function getPicture(id: string, token: string | null): Promise<Picture> {
  return check(await fetch(`/api/pictures/${encodeURIComponent(id)}`, { headers: auth(token) }));
}

export async function importUrl(url: string): Promise<Created> {
  return check(
    await fetch('/api/pictures', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url }),
    }),
  );
}

export async function updatePicture(id: string, token: string, fields: { title?: string; description?: string; visibility?: Visibility }): Promise<Picture> {
  return check(
    await fetch(`/api/pictures/${encodeURIComponent(id)}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', ...auth(token) },
      body: JSON.stringify(fields),
    }),
  );
}

export async function deletePicture(id: string, token: string): Promise<void> {
  return check(await fetch(`/api/pictures/${encodeURIComponent(id)}`, { method: 'DELETE', headers: auth(token) }));
}

export async function newLinks(id: string, token: string): Promise<{ tokens: Record<string, string>; links: Record<string, string> }> {
  return check(await fetch(`/api/pictures/${encodeURIComponent(id)}/links`, { method: 'POST', headers: auth(token) }));
}

/** Follows a picture's pipeline until it is ready or failed. */
export function watchProgress(id: string, token: string | null, onEvent: (p: Progress) => void): () => void {
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  const source = new EventSource(`/api/pictures/${encodeURIComponent(id)}/events${query}`);
  source.addEventListener('progress', (event) => {
    const progress = JSON.parse((event as MessageEvent<string>).data) as Progress;
    onEvent(progress);
    if (progress.status === 'ready' || progress.status === 'failed') source.close();
  });
  return () => source.close();
}

/** Tokens this browser was given, per picture (owners keep theirs here). */
export const tokens = {
  key: (id: string) => `hugepic:tokens:${id}`,
  get(id: string): Record<string, string> {
    try {
      return JSON.parse(localStorage.getItem(this.key(id)) ?? '{}') as Record<string, string>;
    } catch {
      return {};
    }
  },
  set(id: string, more: Record<string, string>): void {
    localStorage.setItem(this.key(id), JSON.stringify({ ...this.get(id), ...more }));
  },
  forget(id: string): void {
    localStorage.removeItem(this.key(id));
    sessionStorage.removeItem(tabKey(id));
  },
  /** Pictures this browser holds tokens for. */
  ids(): string[] {
    const ids: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key?.startsWith('hugepic:tokens:')) ids.push(key.slice('hugepic:tokens:'.length));
    }
    return ids;
  },
  /** The strongest token held for a picture. */
  best(id: string): string | null {
    const held = this.get(id);
    return held.owner ?? held.edit ?? held.comment ?? held.view ?? null;
  },
};

const tabKey = (id: string) => `hugepic:tab-token:${id}`;

/** The token to use on a picture. A page takes its link's `?token=` out of the address
 *  bar (so it is not shown, bookmarked or screen-shared) and keeps it for this tab;
 *  then the tab's token, else the best this browser holds. An embed uses only the token
 *  in its own address: a page that frames it never gets this browser's owner token. */
export function tokenFor(id: string, options: { embed?: boolean } = {}): string | null {
  const params = new URLSearchParams(location.search);
  const fromLink = params.get('token');
  if (options.embed) return fromLink || null;
  if (fromLink) {
    try {
      sessionStorage.setItem(tabKey(id), fromLink);
      params.delete('token');
      const query = params.toString();
      window.history.replaceState(window.history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
    } catch {
      // Storage refused (a private mode): the token stays in the address, as before.
    }
    return fromLink;
  }
  let forTab: string | null = null;
  try {
    forTab = sessionStorage.getItem(tabKey(id));
  } catch {
    // no storage
  }
  return forTab ?? tokens.best(id);
}

/** Stage names for people. */
export function stageText(p: Progress): string {
  const pct = p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
  switch (p.status) {
    case 'queued':
      return p.stage === 'downloading' ? 'Downloading the picture…' : 'Waiting for a worker…';
    case 'tiling':
      if (p.stage === 'fetching') return 'Fetching the original…';
      if (p.stage === 'decoding') return 'Reading the picture…';
      return `Cutting tiles${pct}`;
    case 'publishing':
      return `Publishing tiles${pct}`;
    case 'ready':
      return 'Ready';
    case 'failed':
      return `Failed: ${p.error ?? 'unknown reason'}`;
  }
}

/** Where a picture's annotations can be read elsewhere: the W3C collection, CSV, the IIIF
 *  manifest (absolute URLs; `token` rides along when the link needs one). */
export function annotationLinks(id: string, token: string | null): { jsonld: string; csv: string; manifest: string } {
  const picture = `${location.origin}/api/pictures/${encodeURIComponent(id)}`;
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return {
    jsonld: `${picture}/annotations.jsonld${query}`,
    csv: `${picture}/annotations.csv${query}`,
    manifest: `${location.origin}/iiif/${encodeURIComponent(id)}/manifest.json${query}`,
  };
}

/** What an import made and left out. */
export interface ImportResult {
  created: { shapes: number; threads: number; messages: number };
  skipped: { id: string; reason: string }[];
}

/** Imports W3C / Annotorious / IIIF annotations (the text of a JSON file) as one change. */
export async function importAnnotations(id: string, token: string, json: string, who: { id: string; name: string; color: string }): Promise<ImportResult> {
  const query = new URLSearchParams({ author: who.name, author_id: who.id, color: who.color });
  const response = await fetch(`/api/pictures/${encodeURIComponent(id)}/annotations?${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(token) },
    body: json,
  });
  if (response.ok) return (await response.json()) as ImportResult;
  // Not `friendly`: its 413 speaks of pictures, and an import's limits are the detail's.
  const detail = await detailOf(response);
  throw new ApiError(response.status, detail.charAt(0).toUpperCase() + detail.slice(1));
}
