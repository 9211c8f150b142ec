// The annotation history's HTTP API (DESIGN.md, "Annotation history"), as this client
// uses it: the activity, the frames stream, one shape's versions, named versions and
// restore. Every call takes the picture's token; failures are ApiErrors with a sentence.
import { ApiError } from '../api';
import { readFrames, type Author, type EndFrame, type Frame } from './frames';

export type { Author } from './frames';

/** What a change did: shapes added, changed, deleted, and comments changed. */
export interface Counts {
  shapes_added: number;
  shapes_changed: number;
  shapes_deleted: number;
  comments: number;
}

/** One author's run of updates (gaps under 60 s), or one restore. */
export interface ActivityEntry {
  from_seq: number;
  to_seq: number;
  from: string;
  to: string;
  author: Author;
  counts: Counts;
  shape_ids: string[];
  restore: { to_seq: number } | null;
}

/** One page of the activity, newest first, and the whole history's extent. */
export interface Activity {
  entries: ActivityEntry[];
  next_before: number | null;
  first_seq: number;
  latest_seq: number;
  first_at: string | null;
  latest_at: string | null;
  authors: (Author & { updates: number })[];
}

/** One version of a shape. */
export interface ShapeChange {
  seq: number;
  at: string;
  author: Author;
  kind: 'created' | 'changed' | 'deleted';
  fields: string[];
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Every version of one shape, oldest first. */
export interface ShapeHistory {
  shape_id: string;
  changes: ShapeChange[];
  deleted_at: string | null;
}

/** A named moment of the history. */
export interface Version {
  id: string;
  name: string;
  seq: number;
  /** When moment `seq` came to be (null for seq 0, the empty document). */
  at: string | null;
  created_at: string;
  author: Author;
}

/** What a restore changed (or would, on a dry run). */
export interface RestoreResult {
  restored_to: number;
  dry_run: boolean;
  seq: number | null;
  counts: Counts;
  shape_ids: string[];
}

/** What to restore: a moment by seq (the replay's own). */
export interface RestoreRequest {
  seq: number;
  shape_ids?: string[];
  dry_run: boolean;
  author: Author;
}

const base = (pictureId: string) => `/api/pictures/${encodeURIComponent(pictureId)}`;

function headers(token: string | null, json = false): HeadersInit {
  return { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(json ? { 'Content-Type': 'application/json' } : {}) };
}

/** The response, or an ApiError with the server's detail. */
async function ok(response: Response): Promise<Response> {
  if (response.ok) return response;
  let detail = `the server answered ${response.status}`;
  try {
    const body = (await response.json()) as { detail?: unknown; error?: unknown };
    if (typeof body.detail === 'string' && body.detail) detail = body.detail;
    else if (typeof body.error === 'string' && body.error) detail = body.error;
  } catch {
    // not JSON
  }
  if (response.status === 401 || response.status === 403) detail = `this link does not allow that (${detail})`;
  throw new ApiError(response.status, detail);
}

async function json<T>(request: Promise<Response>): Promise<T> {
  return (await (await ok(await request)).json()) as T;
}

/** One page of the activity, newest first. */
export function getActivity(pictureId: string, token: string | null, page: { before?: number | null; author?: string | null; limit?: number } = {}): Promise<Activity> {
  const query = new URLSearchParams({ limit: String(page.limit ?? 100) });
  if (page.before !== undefined && page.before !== null) query.set('before', String(page.before));
  if (page.author) query.set('author', page.author);
  return json(fetch(`${base(pictureId)}/history?${query}`, { headers: headers(token) }));
}

/** Streams the log's updates after seq `from` (0: the whole log) to `onFrame`. */
export async function streamFrames(pictureId: string, token: string | null, from: number, onFrame: (frame: Frame) => void, signal?: AbortSignal): Promise<EndFrame> {
  const response = await ok(await fetch(`${base(pictureId)}/history/frames?from=${from}`, { headers: headers(token), signal }));
  if (!response.body) throw new ApiError(502, 'the history came without a body');
  return readFrames(response.body, onFrame);
}

/** Every version of shape `shapeId`. */
export function getShapeHistory(pictureId: string, token: string | null, shapeId: string): Promise<ShapeHistory> {
  return json(fetch(`${base(pictureId)}/shapes/${encodeURIComponent(shapeId)}/history`, { headers: headers(token) }));
}

/** The named versions, oldest first. */
export async function getVersions(pictureId: string, token: string | null): Promise<Version[]> {
  return (await json<{ versions: Version[] }>(fetch(`${base(pictureId)}/versions`, { headers: headers(token) }))).versions;
}

/** Names moment `seq` (edit and owner links). */
export function saveVersion(pictureId: string, token: string | null, version: { name: string; seq: number; author: Author }): Promise<Version> {
  return json(fetch(`${base(pictureId)}/versions`, { method: 'POST', headers: headers(token, true), body: JSON.stringify(version) }));
}

/** Restores a moment (edit and owner links): one new update, or a dry run. */
export function restore(pictureId: string, token: string | null, request: RestoreRequest): Promise<RestoreResult> {
  return json(fetch(`${base(pictureId)}/restore`, { method: 'POST', headers: headers(token, true), body: JSON.stringify(request) }));
}
