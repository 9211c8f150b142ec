// A card anchored to a point of the picture (a thread opened from its bubble, or the
// list of a cluster the map cannot spread): inside the map's container, moving with the
// map, placed next to its bubble by ../annotations/cardPlacement (above, else below;
// inside the map; on a phone nearly its width). Unlike a Leaflet popup it never needs
// the map to pan, so it fits when the whole picture is in view and the map may not
// move. Clicks, scrolls and keys inside stay inside; the close button, Escape or a
// click on the map close it.
import L from 'leaflet';

import { CARD_MARGIN_PX, placeCard } from '../annotations/cardPlacement';
import { h } from '../ui/dom';

/** The card's widest, in CSS pixels. */
const CARD_MAX_WIDTH_PX = 320;

/** What a card points at: a map position, and the bubble's body around it (CSS pixels
 *  from that position: the body's centre and half its height). */
export interface CardAnchor {
  latlng: L.LatLng;
  centre: [number, number];
  radius: number;
}

/** One card on the map at a time. */
export class MapCard {
  readonly element: HTMLElement;
  private readonly body = h('div', { class: 'card-body' });
  private readonly tip = h('span', { class: 'card-tip', 'aria-hidden': 'true' });
  private anchor: CardAnchor | null = null;
  private natural = { width: 0, height: 0 };
  private onClose: (() => void) | null = null;
  private readonly cleanups: (() => void)[] = [];

  /** @param keepOpen says whether a map click leaves the card open (it hit a shape,
   *  whose own click may just have opened it). */
  constructor(
    private readonly map: L.Map,
    keepOpen: (e: L.LeafletMouseEvent) => boolean = () => false,
  ) {
    const close = h('button', { type: 'button', class: 'card-close', 'aria-label': 'Close', title: 'Close (Escape)', onclick: () => this.close() }, '×');
    this.element = h('div', { class: 'hugepic-card', role: 'dialog', hidden: true }, close, this.body, this.tip);
    // Nothing done in the card reaches the map: not as a click (which would close it),
    // a drag or a zoom. Stopped outright rather than with Leaflet's disableClickPropagation,
    // which looks for its mark on the clicked element's ancestors when the map sees the
    // click, and a button the click itself redrew (Resolve, Reopen) has none by then.
    for (const type of ['click', 'dblclick', 'contextmenu', 'mousedown', 'pointerdown', 'touchstart']) {
      this.element.addEventListener(type, (e) => e.stopPropagation());
    }
    L.DomEvent.disableScrollPropagation(this.element);
    this.element.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      this.close();
      map.getContainer().focus({ preventScroll: true });
    });
    map.getContainer().append(this.element);
    // Escape with the focus nowhere in particular (the page, the map) closes the card too.
    const escape = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const loose = !target || target === document.body || target === map.getContainer();
      if (e.key !== 'Escape' || !this.anchor || !loose || e.defaultPrevented) return;
      e.preventDefault();
      this.close();
    };
    document.addEventListener('keydown', escape);
    this.cleanups.push(() => document.removeEventListener('keydown', escape));
    const place = () => this.place();
    const hide = () => {
      if (this.anchor) this.element.style.visibility = 'hidden';
    };
    const settle = () => {
      this.element.style.visibility = '';
      this.place();
    };
    const resize = () => this.refit();
    const mapClick = (e: L.LeafletMouseEvent) => {
      if (!keepOpen(e)) this.close();
    };
    map.on('move', place);
    map.on('zoomanim', hide);
    map.on('zoomend', settle);
    map.on('resize', resize);
    map.on('click', mapClick);
    this.cleanups.push(() => {
      map.off('move', place);
      map.off('zoomanim', hide);
      map.off('zoomend', settle);
      map.off('resize', resize);
      map.off('click', mapClick);
    });
  }

  get isOpen(): boolean {
    return this.anchor !== null;
  }

  /** Shows `content` at `anchor` (closing what was open, quietly); `onClose` runs when
   *  this content is closed by the person or by close(). */
  open(anchor: CardAnchor, content: HTMLElement, label: string, onClose: () => void): void {
    this.anchor = anchor;
    this.onClose = onClose;
    this.element.setAttribute('aria-label', label);
    this.body.replaceChildren(content);
    this.element.hidden = false;
    this.element.style.visibility = '';
    this.refit();
  }

  /** Moves the card to a new anchor (its shape moved). */
  setAnchor(anchor: CardAnchor): void {
    this.anchor = anchor;
    this.place();
  }

  /** Measures the content again (it changed) and places the card. */
  refit(): void {
    if (!this.anchor) return;
    const size = this.map.getSize();
    this.element.style.width = `${Math.min(CARD_MAX_WIDTH_PX, size.x - 2 * CARD_MARGIN_PX)}px`;
    this.element.style.maxHeight = '';
    this.natural = { width: this.element.offsetWidth, height: this.element.offsetHeight };
    this.place();
  }

  private place(): void {
    if (!this.anchor) return;
    const { latlng, centre, radius } = this.anchor;
    const p = this.map.latLngToContainerPoint(latlng);
    const size = this.map.getSize();
    const cy = p.y + centre[1];
    const placed = placeCard({ x: p.x + centre[0], top: cy - radius, bottom: cy + radius }, this.natural, { width: size.x, height: size.y });
    this.element.style.left = `${Math.round(placed.left)}px`;
    this.element.style.top = `${Math.round(placed.top)}px`;
    this.element.style.maxHeight = `${Math.round(placed.room)}px`;
    this.element.dataset.side = placed.side;
    this.tip.style.left = `${Math.round(placed.tipX)}px`;
  }

  /** Closes the card; its onClose runs. */
  close(): void {
    if (!this.anchor) return;
    this.anchor = null;
    this.element.hidden = true;
    this.body.replaceChildren();
    const onClose = this.onClose;
    this.onClose = null;
    onClose?.();
  }

  dispose(): void {
    this.onClose = null;
    this.close();
    for (const cleanup of this.cleanups) cleanup();
    this.element.remove();
  }
}
