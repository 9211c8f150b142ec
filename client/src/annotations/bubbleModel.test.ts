import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';

import { readPeer } from '../sync/awareness';
import type { Shape } from '../sync/shapes';
import { Threads, type Thread } from '../sync/threads';
import { bubblesOf, shapeCorner } from './bubbleModel';
import { authorColor, inkOn, liveColors, stableColor } from './colors';
import { ThreadSelection } from './selection';
import { PALETTE } from './user';

const ADA = { id: 'ada0000000000001', name: 'Ada' };
const BO = { id: 'bo00000000000002', name: 'Bo' };

const rect: Shape = {
  id: 'r1',
  type: 'rectangle',
  geometry: { x: 100, y: 50, width: 200, height: 80 },
  style: { color: '#ff0000', weight: 3, fill: false },
  author: 'Bo',
  authorId: BO.id,
  created: 1,
  text: '',
};

function threadsWith(): { threads: Threads; list: () => Thread[] } {
  const doc = new Y.Doc();
  const threads = new Threads(doc, () => ADA);
  threads.start({ x: 10, y: 20 }, 'On a point');
  threads.start('r1', 'On the rectangle');
  threads.start('gone', 'On a deleted shape');
  return { threads, list: () => threads.list() };
}

const options = (over: Partial<Parameters<typeof bubblesOf>[1]> = {}) => ({
  shape: (id: string) => (id === 'r1' ? rect : null),
  colors: new Map<string, string>(),
  unread: () => 0,
  showResolved: true,
  authorShown: () => true,
  ...over,
});

describe('comment bubbles', () => {
  it('a bubble at a point, a badge at the top-right corner of a shape; none for a shape that is gone', () => {
    const { list } = threadsWith();
    const bubbles = bubblesOf(list(), options());
    expect(bubbles.map((b) => [b.kind, b.x, b.y, b.count, b.excerpt])).toEqual(
      expect.arrayContaining([
        ['point', 10, 20, 1, 'On a point'],
        ['shape', 300, 50, 1, 'On the rectangle'],
      ]),
    );
    expect(bubbles).toHaveLength(2);
    expect(bubbles.find((b) => b.kind === 'shape')).toMatchObject({ shape: 'r1', shapeType: 'rectangle' });
    expect(shapeCorner({ ...rect, type: 'circle', geometry: { cx: 10, cy: 10, r: 5 } })).toEqual({ x: 15, y: 5 });
  });

  it('in the first author’s colour: live when they are here, else stable from their id', () => {
    const { list } = threadsWith();
    const away = bubblesOf(list(), options())[0].color;
    expect(away).toBe(stableColor(ADA.id));
    expect(PALETTE).toContain(away);
    const here = bubblesOf(list(), options({ colors: liveColors([readPeer(1, { user: { id: ADA.id, color: '#123456' } }), readPeer(2, { user: { id: BO.id, color: 'red;x' } }), readPeer(3, {})]) }));
    expect(here[0].color).toBe('#123456');
    expect(liveColors([readPeer(2, { user: { id: BO.id, color: 'red;x' } })]).size).toBe(0);
    // Old messages without ids: stable by name.
    expect(authorColor({ author: 'Ada' }, new Map())).toBe(authorColor({ author: 'Ada' }, new Map([[ADA.id, '#000000']])));
    expect(stableColor('x')).toBe(stableColor('x'));
  });

  it('hidden with their author, with their shape’s author, and when resolved unless shown', () => {
    const { threads, list } = threadsWith();
    expect(bubblesOf(list(), options({ authorShown: (a) => a !== 'Ada' }))).toHaveLength(0);
    expect(bubblesOf(list(), options({ authorShown: (a) => a !== 'Bo' })).map((b) => b.kind)).toEqual(['point']);
    const point = list().find((t) => typeof t.target !== 'string');
    threads.resolve(point?.id ?? '');
    expect(bubblesOf(list(), options()).find((b) => b.kind === 'point')?.resolved).toBe(true);
    expect(bubblesOf(list(), options({ showResolved: false })).map((b) => b.kind)).toEqual(['shape']);
  });

  it('writes the count in the ink that reads on the colour', () => {
    expect(inkOn('#ff9800')).toBe('#1d1d1b');
    expect(inkOn('#00bcd4')).toBe('#1d1d1b');
    expect(inkOn('#3f51b5')).toBe('#ffffff');
    expect(inkOn('#000')).toBe('#ffffff');
    expect(inkOn('#fff')).toBe('#1d1d1b');
    const { list } = threadsWith();
    const [bubble] = bubblesOf(list(), options({ colors: new Map([[ADA.id, '#ffeb3b']]) }));
    expect(bubble).toMatchObject({ color: '#ffeb3b', ink: '#1d1d1b' });
  });

  it('carries the unread count', () => {
    const { list } = threadsWith();
    expect(bubblesOf(list(), options({ unread: (t) => (typeof t.target === 'string' ? 0 : 3) })).find((b) => b.kind === 'point')?.unread).toBe(3);
  });
});

describe('the selected thread', () => {
  it('is one for the map and the panel, and says where it is open', () => {
    const selection = new ThreadSelection();
    let heard = 0;
    selection.listeners.add(() => heard++);
    selection.select('t1', 'map');
    expect([selection.id, selection.place, selection.isOpen('t1', 'map'), selection.isOpen('t1', 'panel')]).toEqual(['t1', 'map', true, false]);
    selection.select('t1', 'map');
    expect(heard).toBe(1);
    selection.select('t1', 'panel');
    selection.clear('other');
    expect(selection.id).toBe('t1');
    selection.clear('t1');
    expect([selection.id, selection.place, heard]).toEqual([null, null, 3]);
  });
});
