// Comment threads ON the picture: a bubble at each point target and a badge at the
// top-right corner of each shape that has a thread (../annotations/bubbleModel), in the
// first author's colour, with the message count, unread messages and resolved threads
// faded; bubbles closer than 40 px merge into a cluster (../annotations/clusters) whose
// click zooms in to spread them. A click on a bubble opens the thread in a card anchored
// to it (./mapCard holding ../ui/threadView: read, reply, resolve), which is the
// selected thread (../annotations/selection) the side panel highlights too. Every
// target is at least 44×44 CSS px.
// Bubbles follow the shapes' switches: "Show annotations" (all, or per author) and the
// history's replay (suspended), through ShapeLayers.
import L from 'leaflet';
import type * as Y from 'yjs';

import { bubblesOf, type Bubble } from '../annotations/bubbleModel';
import { cluster, CLUSTER_RADIUS_PX, spreadView, type Cluster } from '../annotations/clusters';
import { liveColors } from '../annotations/colors';
import type { SeenMessages } from '../annotations/seen';
import type { ThreadSelection } from '../annotations/selection';
import { SHAPE_NAMES } from '../annotations/wording';
import type { SharedAwareness } from '../sync/awareness';
import { shapesOf } from '../sync/document';
import { readShape, type Author } from '../sync/shapes';
import type { Thread, Threads } from '../sync/threads';
import { h } from '../ui/dom';
import { ThreadView } from '../ui/threadView';
import { pixelToLatLng } from '../view';
import { MapCard, type CardAnchor } from './mapCard';
import type { ShapeLayers } from './shapeLayers';

const PANE = 'hugepic-bubbles';
/** The side of every bubble's hit target, in CSS pixels (touch targets: 44 at least). */
const HIT_PX = 44;

export interface BubbleLayerOptions {
  map: L.Map;
  /** The picture's top DeepZoom level (pixels ⇄ map, see ../view.ts). */
  top: number;
  doc: Y.Doc;
  threads: Threads;
  seen: SeenMessages;
  selection: ThreadSelection;
  awareness: SharedAwareness;
  /** The live shapes: where badges go, and what is shown. */
  layers: ShapeLayers;
  me: () => Author;
  canComment: boolean;
}

/** Where a bubble's visible body sits relative to the image pixel it points at, and the
 *  icon anchor that puts it there (the hit box is HIT_PX square around the body). */
interface Placement {
  anchor: [number, number];
  /** The body's centre, in CSS pixels from the pointed-at pixel. */
  centre: [number, number];
  /** Half the body's height. */
  radius: number;
}

function placement(bubble: Bubble): Placement {
  const centred = (dx: number, dy: number, radius: number): Placement => ({ anchor: [HIT_PX / 2 - dx, HIT_PX / 2 - dy], centre: [dx, dy], radius });
  // A speech bubble whose pointed bottom-left corner is on the pixel.
  if (bubble.kind === 'point') return centred(15, -15, 15);
  // Badges beside point-like shapes, not over them: above right of a marker's pin, left
  // of a label's first letter.
  if (bubble.shapeType === 'marker') return centred(14, -26, 14);
  if (bubble.shapeType === 'text') return centred(-18, 0, 14);
  return centred(0, 0, 14);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function bubbleLabel(b: Bubble): string {
  const on = b.kind === 'shape' && b.shapeType ? ` on a ${SHAPE_NAMES[b.shapeType].toLowerCase()}` : '';
  const state = [plural(b.count, 'message'), b.unread ? `${b.unread} unread` : '', b.resolved ? 'resolved' : ''].filter(Boolean).join(', ');
  return `Comment by ${b.author || 'someone'}${on}: “${b.excerpt}” (${state})`;
}

interface Drawn {
  marker: L.Marker;
  html: string;
  attrs: Record<string, string>;
}

/** What the card shows: a thread (its id and view), or a cluster's list. */
interface Shown {
  id: string | null;
  view: ThreadView | null;
}

/** The bubbles of the live document on the map. */
export class BubbleLayer {
  private readonly group = L.layerGroup();
  private readonly drawn = new Map<string, Drawn>();
  private bubbles: Bubble[] = [];
  private showResolved = true;
  private readonly card: MapCard;
  /** What the card shows while open. */
  private shown: Shown | null = null;
  private colorsKey = '';
  private authorsKey = '';
  private readonly cleanups: (() => void)[] = [];
  /** Called when the set of thread authors changes. */
  onAuthors: (() => void) | null = null;

  constructor(private readonly options: BubbleLayerOptions) {
    const { map, doc, threads, seen, selection, awareness, layers } = options;
    if (!map.getPane(PANE)) map.createPane(PANE);
    this.card = new MapCard(map, (e) => layers.hitShape(e.originalEvent));
    const refresh = () => this.refresh();
    const onSelection = () => {
      // The selected bubble is drawn apart from clusters, and marked.
      this.layout();
      this.followSelection();
    };
    const onAwareness = () => {
      const key = JSON.stringify([...liveColors(awareness.peers())].sort());
      if (key !== this.colorsKey) refresh();
    };
    const onZoom = () => this.layout();
    threads.comments.observeDeep(refresh);
    shapesOf(doc).observeDeep(refresh);
    seen.listeners.add(refresh);
    selection.listeners.add(onSelection);
    layers.visibilityListeners.add(refresh);
    const stopWatching = awareness.onChange(onAwareness);
    map.on('zoomend', onZoom);
    this.cleanups.push(() => {
      threads.comments.unobserveDeep(refresh);
      shapesOf(doc).unobserveDeep(refresh);
      seen.listeners.delete(refresh);
      selection.listeners.delete(onSelection);
      layers.visibilityListeners.delete(refresh);
      stopWatching();
      map.off('zoomend', onZoom);
      this.card.dispose();
    });
    this.refresh();
  }

  /** Shows or hides resolved threads' bubbles (they are faded when shown). */
  setShowResolved(show: boolean): void {
    this.showResolved = show;
    this.refresh();
  }

  /** The first authors of every thread, by name (for the per-author switches). */
  authorNames(): string[] {
    return [...new Set(this.options.threads.list().map((t) => t.messages[0]?.author ?? '').filter((a) => a !== ''))].sort();
  }

  /** What is drawn: each bubble or cluster, its threads, and the image pixel it is at. */
  snapshot(): { key: string; ids: string[]; kind: string; x: number; y: number; unread: number; resolved: boolean }[] {
    return [...this.drawn.entries()].map(([key, d]) => {
      const ll = d.marker.getLatLng();
      const scale = 2 ** this.options.top;
      return { key, ids: d.attrs['data-threads'].split(' '), kind: d.attrs['data-kind'], x: ll.lng * scale, y: -ll.lat * scale, unread: Number(d.attrs['data-unread']), resolved: d.attrs['data-resolved'] === 'true' };
    });
  }

  /** Recomputes the bubbles from the document and redraws. */
  refresh(): void {
    const { map, threads, layers, seen, awareness, selection } = this.options;
    const authors = this.authorNames().join('\n');
    if (authors !== this.authorsKey) {
      this.authorsKey = authors;
      this.onAuthors?.();
    }
    if (!layers.shown()) {
      this.group.remove();
      this.closeCard();
      if (selection.place === 'map') selection.clear();
      return;
    }
    this.group.addTo(map);
    const colors = liveColors(awareness.peers());
    this.colorsKey = JSON.stringify([...colors].sort());
    const shapes = shapesOf(this.options.doc);
    this.bubbles = bubblesOf(threads.list(), {
      shape: (id) => readShape(id, shapes.get(id)),
      colors,
      unread: (t) => seen.unread(t),
      showResolved: this.showResolved,
      authorShown: (author) => layers.authorVisible(author),
    });
    this.layout();
    this.followSelection();
  }

  /** Clusters the bubbles at the current zoom and brings the markers in line. */
  private layout(): void {
    const { map, selection } = this.options;
    const zoom = map.getZoom();
    const byId = new Map(this.bubbles.map((b) => [b.id, b]));
    const points = this.bubbles.map((b) => {
      const p = map.project(this.latLng(b), zoom);
      const { centre } = placement(b);
      return { id: b.id, x: p.x + centre[0], y: p.y + centre[1] };
    });
    const apart = new Set(selection.id ? [selection.id] : []);
    const keep = new Set<string>();
    for (const group of cluster(points, CLUSTER_RADIUS_PX, apart)) {
      const single = group.ids.length === 1 ? byId.get(group.ids[0]) : undefined;
      const key = single ? `t:${single.id}` : `c:${group.ids.join(',')}`;
      keep.add(key);
      if (single) this.draw(key, this.latLng(single), this.bubbleIcon(single), () => selection.select(single.id, 'map'));
      else {
        const members = group.ids.map((id) => byId.get(id)).filter((b): b is Bubble => !!b);
        this.draw(key, map.unproject([group.x, group.y], zoom), this.clusterIcon(group, members), () => this.spread(members, group));
      }
    }
    for (const [key, d] of this.drawn) {
      if (keep.has(key)) continue;
      this.group.removeLayer(d.marker);
      this.drawn.delete(key);
    }
  }

  private latLng(b: { x: number; y: number }): L.LatLng {
    const p = pixelToLatLng(b.x, b.y, this.options.top);
    return L.latLng(p.lat, p.lng);
  }

  private bubbleIcon(b: Bubble): { html: string; className: string; anchor: [number, number]; attrs: Record<string, string> } {
    const unread = b.unread ? `<span class="unread-count">${b.unread > 99 ? '99+' : b.unread}</span>` : '';
    const selected = this.options.selection.id === b.id;
    return {
      html: `<span class="body" style="--c:${b.color};--ink:${b.ink}">${b.count > 99 ? '99+' : b.count}</span>${unread}`,
      className: `hugepic-bubble ${b.kind}${b.resolved ? ' resolved' : ''}${b.unread ? ' has-unread' : ''}${selected ? ' selected' : ''}`,
      anchor: placement(b).anchor,
      attrs: {
        'data-thread': b.id,
        'data-threads': b.id,
        'data-kind': b.kind,
        'data-unread': String(b.unread),
        'data-resolved': String(b.resolved),
        'aria-label': bubbleLabel(b),
        title: `${b.author || 'someone'}: ${b.excerpt}`,
      },
    };
  }

  private clusterIcon(group: Cluster, members: Bubble[]): { html: string; className: string; anchor: [number, number]; attrs: Record<string, string> } {
    const unread = members.reduce((n, b) => n + b.unread, 0);
    const allResolved = members.every((b) => b.resolved);
    return {
      html: `<span class="body">${group.ids.length}</span>${unread ? `<span class="unread-count">${unread > 99 ? '99+' : unread}</span>` : ''}`,
      className: `hugepic-bubble cluster${allResolved ? ' resolved' : ''}${unread ? ' has-unread' : ''}`,
      anchor: [HIT_PX / 2, HIT_PX / 2],
      attrs: {
        'data-threads': group.ids.join(' '),
        'data-kind': 'cluster',
        'data-unread': String(unread),
        'data-resolved': String(allResolved),
        'aria-label': `${plural(group.ids.length, 'comment')} here${unread ? `, ${unread} unread` : ''}: zoom in to see them`,
        title: members.map((b) => b.excerpt.slice(0, 40)).join('\n'),
      },
    };
  }

  /** Adds or updates the marker `key`. */
  private draw(key: string, at: L.LatLng, icon: ReturnType<BubbleLayer['bubbleIcon']>, click: () => void): void {
    const html = `${icon.className}|${icon.html}|${icon.anchor.join(',')}`;
    const existing = this.drawn.get(key);
    if (existing) {
      if (!existing.marker.getLatLng().equals(at)) existing.marker.setLatLng(at);
      existing.attrs = icon.attrs;
      if (existing.html !== html) {
        existing.html = html;
        existing.marker.setIcon(this.divIcon(icon));
      }
      this.decorate(existing);
      return;
    }
    const marker = L.marker(at, { icon: this.divIcon(icon), pane: PANE, keyboard: true, riseOnHover: true, pmIgnore: true } as L.MarkerOptions);
    const d: Drawn = { marker, html, attrs: icon.attrs };
    marker.on('click', click);
    // A focused bubble (Tab) opens with Enter or Space, like a button.
    marker.on('keydown', (e) => {
      const key = (e as L.LeafletKeyboardEvent).originalEvent.key;
      if (key !== 'Enter' && key !== ' ') return;
      (e as L.LeafletKeyboardEvent).originalEvent.preventDefault();
      click();
    });
    // Redrawn elements (shown again after being hidden) get their attributes back.
    marker.on('add', () => this.decorate(d));
    this.drawn.set(key, d);
    this.group.addLayer(marker);
  }

  private divIcon(icon: { html: string; className: string; anchor: [number, number] }): L.DivIcon {
    return L.divIcon({ html: icon.html, className: icon.className, iconSize: [HIT_PX, HIT_PX], iconAnchor: icon.anchor });
  }

  private decorate(d: Drawn): void {
    const element = d.marker.getElement();
    if (!element) return;
    for (const [name, value] of Object.entries(d.attrs)) element.setAttribute(name, value);
    element.setAttribute('role', 'button');
  }

  /** A click on a cluster: zoom in until its bubbles spread, or list them when the map
   *  cannot zoom further in. */
  private spread(members: Bubble[], group: Cluster): void {
    const { map, top, selection } = this.options;
    const bounds = L.latLngBounds(members.map((b) => this.latLng(b)));
    const fit = map.getBoundsZoom(bounds.pad(0.15));
    // Spread until their hit boxes no longer overlap, not just until they stop merging.
    const view = spreadView(members, { radius: HIT_PX + 4, top, current: map.getZoom(), max: map.getMaxZoom(), fit, snap: map.options.zoomSnap });
    if (view) {
      map.flyTo(this.latLng(view), view.zoom, { duration: 0.5 });
      return;
    }
    const list = h(
      'ul',
      { class: 'cluster-list' },
      ...members.map((b) =>
        h('li', {}, h('button', { type: 'button', onclick: () => selection.select(b.id, 'map') }, h('span', { class: 'dot', style: `background:${b.color}` }), ` ${b.author || 'someone'}: ${b.excerpt}`)),
      ),
    );
    const shown: Shown = { id: null, view: null };
    this.shown = shown;
    const anchor = { latlng: map.unproject([group.x, group.y], map.getZoom()), centre: [0, 0] as [number, number], radius: 18 };
    this.card.open(anchor, list, 'Comments here', () => {
      if (this.shown === shown) this.shown = null;
    });
  }

  /** Opens the selected thread's card when it is selected on the map, keeps it up to
   *  date, and closes it otherwise. */
  private followSelection(): void {
    const { selection, threads, layers } = this.options;
    const id = selection.place === 'map' ? selection.id : null;
    const thread = id ? threads.get(id) : null;
    const at = thread && layers.shown() ? this.anchorOf(thread) : null;
    if (!id || !thread || !at) {
      if (this.shown?.view) this.closeCard();
      if (id) selection.clear(id);
      return;
    }
    if (this.shown?.id === id && this.shown.view) {
      this.shown.view.update(thread);
      this.card.setAnchor(at.anchor);
      this.card.refit();
    } else this.openCard(thread, at);
  }

  /** Where a thread's card points, whatever hides its bubble. */
  private anchorOf(thread: Thread): { anchor: CardAnchor; bubble: Bubble } | null {
    const shapes = shapesOf(this.options.doc);
    const [bubble] = bubblesOf([thread], { shape: (id) => readShape(id, shapes.get(id)), colors: new Map(), unread: () => 0, showResolved: true, authorShown: () => true });
    if (!bubble) return null;
    const { centre, radius } = placement(bubble);
    return { anchor: { latlng: this.latLng(bubble), centre, radius }, bubble };
  }

  private openCard(thread: Thread, at: { anchor: CardAnchor; bubble: Bubble }): void {
    const { threads, me, canComment, selection } = this.options;
    const view = new ThreadView(thread, { threads, me, canComment });
    const first = thread.messages[0];
    const where = at.bubble.shapeType ? `on a ${SHAPE_NAMES[at.bubble.shapeType].toLowerCase()}` : 'here';
    const content = h('div', { class: 'thread-card', 'data-thread': thread.id }, h('p', { class: 'card-head' }, h('strong', {}, first?.author || 'someone'), ` commented ${where}`), view.element);
    const shown: Shown = { id: thread.id, view };
    this.shown = shown;
    this.card.open(at.anchor, content, `Comment thread by ${first?.author || 'someone'}`, () => {
      if (this.shown !== shown) return;
      this.shown = null;
      selection.clear(thread.id);
    });
    view.scrollToEnd();
    if (!canComment) return;
    // The reply box ready, and in sight: the page scrolls if the map is partly off
    // screen (phones).
    requestAnimationFrame(() => {
      if (this.shown !== shown) return;
      view.focusReply();
      const box = view.reply();
      if (!box) return;
      const r = box.getBoundingClientRect();
      const bottom = window.visualViewport?.height ?? window.innerHeight;
      if (r.bottom > bottom - 8) window.scrollBy(0, r.bottom - bottom + 8);
      else if (r.top < 8) window.scrollBy(0, r.top - 8);
    });
  }

  private closeCard(): void {
    this.shown = null;
    this.card.close();
  }

  dispose(): void {
    for (const cleanup of this.cleanups) cleanup();
    this.group.remove();
  }
}
