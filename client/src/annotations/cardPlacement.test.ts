import { describe, expect, it } from 'vitest';

import { CARD_GAP_PX, CARD_MARGIN_PX, placeCard } from './cardPlacement';

const map = { width: 360, height: 400 };
const card = { width: 300, height: 200 };

describe('where a thread card goes', () => {
  it('above the bubble, centred on it, when it fits', () => {
    const p = placeCard({ x: 180, top: 300, bottom: 330 }, card, map);
    expect(p).toMatchObject({ side: 'above', left: 30, top: 300 - CARD_GAP_PX - 200, tipX: 150 });
  });

  it('below when there is no room above (a bubble near the top of the picture)', () => {
    const p = placeCard({ x: 180, top: 40, bottom: 70 }, card, map);
    expect(p).toMatchObject({ side: 'below', top: 70 + CARD_GAP_PX });
    expect(p.room).toBe(400 - 70 - CARD_GAP_PX - CARD_MARGIN_PX);
  });

  it('on the roomier side, and no taller than the room, when it fits nowhere', () => {
    const p = placeCard({ x: 180, top: 150, bottom: 180 }, { width: 300, height: 380 }, map);
    expect(p.side).toBe('below');
    expect(p.room).toBe(400 - 180 - CARD_GAP_PX - CARD_MARGIN_PX);
    expect(p.top).toBe(180 + CARD_GAP_PX);
  });

  it('inside the map near its sides, with the pointer still on the bubble', () => {
    const left = placeCard({ x: 40, top: 300, bottom: 330 }, card, map);
    expect(left).toMatchObject({ left: CARD_MARGIN_PX, tipX: 40 - CARD_MARGIN_PX });
    const right = placeCard({ x: 300, top: 300, bottom: 330 }, card, map);
    expect(right.left).toBe(map.width - card.width - CARD_MARGIN_PX);
    expect(right.left + right.tipX).toBe(300);
    // At the very edge the pointer wins over the margin: it keeps clear of the rounded corner.
    const edge = placeCard({ x: 350, top: 300, bottom: 330 }, card, map);
    expect(edge.tipX).toBe(card.width - 18);
    // A bubble panned off the map: the card keeps pointing at it.
    const off = placeCard({ x: -100, top: 300, bottom: 330 }, card, map);
    expect(off.left + off.tipX).toBe(-100);
  });
});
