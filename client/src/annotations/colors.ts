// The colour that stands for an author on the picture (comment bubbles): the colour
// they chose, as their awareness says while they are here, else one picked from the
// palette by their stable id (by name for messages written before ids existed), so an
// absent author keeps the same colour on every screen and every visit.
import type { Peer } from '../sync/awareness';
import type { Message } from '../sync/threads';
import { PALETTE } from './user';

/** A palette colour fixed by `key` (FNV-1a of its UTF-16 code units). */
export function stableColor(key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return PALETTE[hash % PALETTE.length];
}

/** Author id → colour of everyone here, from their awareness (`user.id`, `user.color`);
 *  colours that are not plain hex were left out when read (they come from anyone). */
export function liveColors(peers: Iterable<Peer>): Map<string, string> {
  const colors = new Map<string, string>();
  for (const { user } of peers) {
    if (user?.id != null && user.color != null) colors.set(user.id, user.color);
  }
  return colors;
}

/** The colour of the author of `message`. */
export function authorColor(message: Pick<Message, 'author' | 'author_id'>, live: ReadonlyMap<string, string>): string {
  const id = message.author_id;
  if (id) return live.get(id) ?? stableColor(id);
  return stableColor(`name:${message.author}`);
}

/** Relative luminance (WCAG 2) of a #rgb or #rrggbb colour; 0 for anything else. */
function luminance(hex: string): number {
  const m = /^#([0-9a-f]{6}|[0-9a-f]{3})/i.exec(hex);
  if (!m) return 0;
  const digits = m[1].length === 3 ? [...m[1]].map((d) => d + d) : m[1].match(/../g) ?? [];
  const [r, g, b] = digits.map((d) => {
    const c = parseInt(d, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The text colour that reads best on `background`: white or near-black. */
export function inkOn(background: string): string {
  const l = luminance(background);
  const contrast = (a: number, b: number) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  return contrast(l, 1) >= contrast(l, luminance('#1d1d1b')) ? '#ffffff' : '#1d1d1b';
}
