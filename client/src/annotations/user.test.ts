import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { loadUser, saveUser } from './user';

describe('the person in this browser', () => {
  const store = new Map<string, string>();
  beforeEach(() => {
    store.clear();
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => store.set(k, v),
    });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('gets a stable random id, kept with the name and colour', () => {
    const first = loadUser();
    expect(first.id).toMatch(/^[0-9a-z]{16}$/);
    expect(loadUser()).toEqual(first);
    saveUser({ ...first, name: 'Renamed' });
    expect(loadUser()).toEqual({ ...first, name: 'Renamed' });
  });

  it('adds an id to an entry saved before ids existed, keeping name and colour', () => {
    store.set('hugepic:user', JSON.stringify({ name: 'Ada', color: '#3f51b5' }));
    const user = loadUser();
    expect(user).toMatchObject({ name: 'Ada', color: '#3f51b5' });
    expect(user.id).toMatch(/^[0-9a-z]{16}$/);
    expect(JSON.parse(store.get('hugepic:user') ?? '')).toEqual(user);
    expect(loadUser().id).toBe(user.id);
  });

  it('makes a new person from a broken entry', () => {
    store.set('hugepic:user', '{not json');
    expect(loadUser().name).toMatch(/ \d\d$/);
  });
});
