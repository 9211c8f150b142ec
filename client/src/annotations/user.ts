// Who this browser is to the others: a stable random id (there are no accounts, so it
// is what makes a shape or a message yours, whatever name you go by), a name and a
// colour, kept together in localStorage `hugepic:user`. The same three go into the
// awareness state (../sync/awareness), where the others see them.
import type { User } from '../sync/awareness';

const KEY = 'hugepic:user';
/** The colours people get by default, and authors who are not here are drawn in. */
export const PALETTE = ['#e91e63', '#3f51b5', '#009688', '#ff9800', '#9c27b0', '#4caf50', '#795548', '#00bcd4'];
const NAMES = ['Otter', 'Heron', 'Lynx', 'Marten', 'Ibis', 'Puffin', 'Stoat', 'Wren', 'Badger', 'Kestrel'];
const AUTHOR_ID = /^[0-9a-z]{8,64}$/;

/** A new author id: 16 random base36 characters. */
export function newAuthorId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join('');
}

/** The person's id, name and colour, remembered in this browser; a friendly default.
 *  An entry saved before ids existed keeps its name and colour and gets an id. */
export function loadUser(): User {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<User> | null;
    if (saved && typeof saved.name === 'string' && typeof saved.color === 'string') {
      const hasId = typeof saved.id === 'string' && AUTHOR_ID.test(saved.id);
      const user = { id: hasId ? (saved.id as string) : newAuthorId(), name: saved.name, color: saved.color };
      if (!hasId) saveUser(user);
      return user;
    }
  } catch {
    // a broken entry: make a new one
  }
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
  const user = { id: newAuthorId(), name: `${pick(NAMES)} ${Math.floor(Math.random() * 90 + 10)}`, color: pick(PALETTE) };
  saveUser(user);
  return user;
}

/** Remembers the person's id, name and colour in this browser. */
export function saveUser(user: User): void {
  localStorage.setItem(KEY, JSON.stringify({ id: user.id, name: user.name, color: user.color }));
}
