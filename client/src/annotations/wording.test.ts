import { describe, expect, it } from 'vitest';

import { DEFAULT_STYLE } from '../sync/shapes';
import { relativeTime, selectionSentence } from './wording';

describe('selection sentence', () => {
  const base = { id: 's', type: 'rectangle' as const, geometry: { x: 1, y: 2, width: 3, height: 4 }, style: DEFAULT_STYLE, text: '', authorId: 'a1' };
  it('says who drew the shape and when', () => {
    const now = Date.UTC(2026, 2, 14, 10, 42);
    expect(selectionSentence({ ...base, author: 'Ada', created: now - 5 * 60_000 }, now)).toBe('Rectangle selected · drawn by Ada, 5 min ago');
  });
  it('says what it knows of old shapes', () => {
    expect(selectionSentence({ ...base, author: '', created: 0 })).toBe('Rectangle selected');
    expect(selectionSentence({ ...base, author: 'Bo', created: 0 })).toBe('Rectangle selected · drawn by Bo');
  });
});

describe('times', () => {
  it('says times plainly', () => {
    const now = 1_000_000_000_000;
    expect(relativeTime(now - 10_000, now)).toBe('just now');
    expect(relativeTime(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(relativeTime(now - 3 * 3_600_000, now)).toBe('3 h ago');
  });
});
