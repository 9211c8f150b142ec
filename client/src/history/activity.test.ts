import { describe, expect, it } from 'vitest';

import { changeSentence, countsText, entryLine, entrySentence, longDate, restoreText, shortDate } from './activity';
import type { ActivityEntry } from './api';
import { hashWithMoment, momentInHash } from './moment';

const NOW = new Date(2026, 10, 29, 12, 0).getTime();
const ANA = { id: 'ana1', name: 'Ana', color: '#e91e63' };

function entry(counts: Partial<ActivityEntry['counts']>, more: Partial<ActivityEntry> = {}): ActivityEntry {
  return {
    from_seq: 12,
    to_seq: 40,
    from: new Date(2026, 2, 14, 10, 30).toISOString(),
    to: new Date(2026, 2, 14, 10, 42).toISOString(),
    author: ANA,
    counts: { shapes_added: 0, shapes_changed: 0, shapes_deleted: 0, comments: 0, ...counts },
    shape_ids: [],
    restore: null,
    ...more,
  };
}

describe('the history in words', () => {
  it('dates', () => {
    const at = new Date(2026, 2, 14, 10, 42).getTime();
    expect(longDate(at, NOW)).toBe('14 March 10:42');
    expect(shortDate(at, NOW)).toBe('14 Mar 10:42');
    expect(shortDate(new Date(2025, 0, 2, 9, 5).getTime(), NOW)).toBe('2 Jan 2025 09:05');
  });

  it('activity entries', () => {
    expect(entryLine(entry({ shapes_added: 2, shapes_changed: 5, comments: 1 }), undefined, NOW)).toBe('Ana added 2 shapes, changed 5, 1 comment · 14 Mar 10:42');
    expect(entrySentence(entry({ shapes_added: 1 }))).toBe('Ana added 1 shape');
    expect(entrySentence(entry({ shapes_changed: 3, shapes_deleted: 1 }))).toBe('Ana changed 3 shapes, deleted 1');
    expect(entrySentence(entry({ comments: 2 }))).toBe('Ana commented (2 comments)');
    expect(entrySentence(entry({}))).toBe('Ana made changes');
    const restored = entry({ shapes_added: 1, shapes_deleted: 2 }, { restore: { to_seq: 7 } });
    expect(entrySentence(restored)).toBe('Ana restored the moment change 7: added 1 shape, deleted 2');
    expect(entrySentence(restored, () => new Date(2026, 2, 13, 9, 10).getTime(), NOW)).toBe('Ana restored the moment 13 Mar 09:10: added 1 shape, deleted 2');
  });

  it('what a restore will do', () => {
    const counts = { shapes_added: 2, shapes_changed: 5, shapes_deleted: 1, comments: 1 };
    expect(restoreText(counts, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])).toMatch(/^This will add 2 shapes, change 5, delete 1, change 1 comment \(8 shapes in all\)\./);
    expect(restoreText({ shapes_added: 0, shapes_changed: 0, shapes_deleted: 0, comments: 41 }, [])).toMatch(/^This will change 41 comments\./);
    expect(countsText({ shapes_added: 0, shapes_changed: 0, shapes_deleted: 0, comments: 0 })).toBe('');
    expect(restoreText({ shapes_added: 0, shapes_changed: 0, shapes_deleted: 0, comments: 0 }, [])).toMatch(/^Nothing would change/);
  });

  it('one shape\'s versions', () => {
    const change = { seq: 5, at: '', author: ANA, before: null, after: null };
    expect(changeSentence({ ...change, kind: 'created', fields: ['type', 'geometry'] })).toBe('Ana drew it');
    expect(changeSentence({ ...change, kind: 'changed', fields: ['geometry'] })).toBe('Ana changed its shape');
    expect(changeSentence({ ...change, kind: 'changed', fields: ['geometry', 'style', 'text'] })).toBe('Ana changed its shape, style and text');
    expect(changeSentence({ ...change, kind: 'deleted', fields: [] })).toBe('Ana deleted it');
  });
});

describe('the moment in the URL hash', () => {
  it('reads a seq or an ISO time after the view', () => {
    expect(momentInHash('#3.5/100/200&t=42')).toEqual({ seq: 42 });
    expect(momentInHash('#3.5/100/200&t=2026-03-14T10:42:00Z')).toEqual({ at: Date.UTC(2026, 2, 14, 10, 42) });
    expect(momentInHash('#3.5/100/200&t=2026-03-14T11:42:00.5+01:00')).toEqual({ at: Date.UTC(2026, 2, 14, 10, 42, 0, 500) });
    expect(momentInHash('#3.5/100/200&t=2026-03-14T10%3A42%3A00Z')).toEqual({ at: Date.UTC(2026, 2, 14, 10, 42) });
    expect(momentInHash('#3.5/100/200')).toBeNull();
    expect(momentInHash('#3.5/100/200&t=soon')).toBeNull();
    expect(momentInHash('')).toBeNull();
  });

  it('sets and removes &t=, keeping the view and other parameters', () => {
    expect(hashWithMoment('#3.5/100/200', 42)).toBe('#3.5/100/200&t=42');
    expect(hashWithMoment('#3.5/100/200&t=7&x=1', 42)).toBe('#3.5/100/200&x=1&t=42');
    expect(hashWithMoment('#3.5/100/200&t=7', null)).toBe('#3.5/100/200');
    expect(hashWithMoment('', null)).toBe('');
  });
});
