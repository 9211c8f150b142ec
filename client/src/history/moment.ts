// The moment of the history in the URL hash: the viewer's hash is `#zoom/x/y`, and
// `&t=<seq>` or `&t=<ISO time>` after it opens the history at that moment. Pure.

/** A moment of the history: after seq, or after every update at or before a time (ms). */
export type Moment = { seq: number } | { at: number };

/** The parameters after the view: `&k=v` pairs, values percent-decoded ('+' stays '+',
 *  as in the time zone of an ISO time). */
function params(hash: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of hash.replace(/^#/, '').split('&').slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    try {
      out.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)));
    } catch {
      // a broken escape: not a parameter
    }
  }
  return out;
}

/** The moment `&t=` names, if any. */
export function momentInHash(hash: string): Moment | null {
  const t = params(hash).get('t')?.trim();
  if (!t) return null;
  if (/^\d+$/.test(t)) return { seq: Number(t) };
  const at = Date.parse(t);
  return Number.isFinite(at) ? { at } : null;
}

/** `hash` with `&t=<seq>` set (or removed, for null), other parameters kept. */
export function hashWithMoment(hash: string, seq: number | null): string {
  const parts = hash.replace(/^#/, '').split('&');
  const kept = [parts[0], ...parts.slice(1).filter((p) => p && !p.startsWith('t='))];
  if (seq !== null) kept.push(`t=${seq}`);
  const text = kept.join('&');
  return text ? `#${text}` : '';
}
