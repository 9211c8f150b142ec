// Where the card of a thread goes on the map, next to its bubble: above it when it fits,
// else below, else on the side with more room (its messages then scroll); across, centred
// on the bubble but kept inside the map, with its pointer still on the bubble. Pure:
// container pixels in, a position out (../map/mapCard applies it).

export interface CardPlacement {
  left: number;
  top: number;
  side: 'above' | 'below';
  /** The pointer's x within the card. */
  tipX: number;
  /** The most height the card may take there. */
  room: number;
}

/** Space kept between the card and the bubble (the pointer's length), and the map's edges. */
export const CARD_GAP_PX = 10;
export const CARD_MARGIN_PX = 8;
/** The pointer stays this far from the card's sides (its rounded corners). */
const TIP_INSET_PX = 18;

/**
 * @param bubble the bubble's body in container pixels: centre x, top and bottom y
 * @param card the card's natural size
 * @param map the map's size
 */
export function placeCard(
  bubble: { x: number; top: number; bottom: number },
  card: { width: number; height: number },
  map: { width: number; height: number },
): CardPlacement {
  const above = bubble.top - CARD_GAP_PX - CARD_MARGIN_PX;
  const below = map.height - bubble.bottom - CARD_GAP_PX - CARD_MARGIN_PX;
  const side = card.height <= above ? 'above' : card.height <= below ? 'below' : above >= below ? 'above' : 'below';
  const room = Math.max(0, side === 'above' ? above : below);
  const height = Math.min(card.height, room);
  const top = side === 'above' ? bubble.top - CARD_GAP_PX - height : bubble.bottom + CARD_GAP_PX;
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), Math.max(lo, hi));
  let left = clamp(bubble.x - card.width / 2, CARD_MARGIN_PX, map.width - card.width - CARD_MARGIN_PX);
  // The pointer must still reach the bubble (when the bubble is inside the map at all).
  left = clamp(left, bubble.x - card.width + TIP_INSET_PX, bubble.x - TIP_INSET_PX);
  return { left, top, side, tipX: bubble.x - left, room };
}
