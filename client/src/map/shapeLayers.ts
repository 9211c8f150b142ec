// The shapes of the document as Leaflet layers (the `ShapeView` of the binding), the
// way edits made on those layers (geoman's edit, drag and removal modes) go back into
// the document through the ShapeEditor, and which shape is selected (for restyling).
// How one shape looks as a layer is ./shapeDrawing.
import L from 'leaflet';
import '@geoman-io/leaflet-geoman-free';
import '@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css';

import { fromMapGeometry, toMapGeometry } from '../annotations/geometry';
import { drawnAlike, type Shape, type ShapeEditor, type ShapeView } from '../sync/shapes';
import { ll, mapGeometryOf, markerIcon, pathStyle, shapeLabel } from './shapeDrawing';

interface Tagged {
  hugepicId?: string;
  hugepicShape?: Shape;
}

export class ShapeLayers implements ShapeView {
  readonly group: L.FeatureGroup;
  private readonly layers = new Map<string, L.Layer>();
  private readonly authors = new Map<string, string>();
  /** How many shapes each author has here (telling a new author without a scan). */
  private readonly authorCounts = new Map<string, number>();
  private readonly hiddenAuthors = new Set<string>();
  private selected: string | null = null;
  private visible = true;
  /** Set while something else is drawn in the shapes' place (the history's replay). */
  private suspended = false;
  /** The DOM event of the last click on a shape, so a map click can tell it apart. */
  private lastShapeClick: Event | null = null;
  /** Called when the set of authors changes. */
  onAuthors: (() => void) | null = null;
  /** Called when the selected shape changes: selected, restyled by anyone, deleted. */
  onSelected: ((shape: Shape | null) => void) | null = null;
  /** Called on a double click on a text label. */
  onLabel: ((id: string) => void) | null = null;
  /** Messages in the threads on a shape, for its spoken label. */
  commentCount: (id: string) => number = () => 0;
  /** Called when what is shown changes: "Show annotations", an author's switch,
   *  suspension (comment bubbles follow the same switches). */
  readonly visibilityListeners = new Set<() => void>();

  /** Paths are drawn by Leaflet's default renderer, SVG: each shape an element,
   *  focusable and labelled. */
  constructor(
    private readonly map: L.Map,
    private readonly level: number,
    private readonly editor: ShapeEditor | null,
    private readonly onOpen: (id: string) => void,
  ) {
    this.group = L.featureGroup().addTo(map);
    this.ignored = editor ? {} : { pmIgnore: true };
  }

  /** Read-only layers are never geoman's: `pmIgnore` from the start, or geoman hooks
   *  every one (a circle recomputes a 200-point outline on each move). */
  private readonly ignored: { pmIgnore?: boolean };

  private style(shape: Shape): L.PathOptions {
    return { ...pathStyle(shape), ...this.ignored } as L.PathOptions;
  }

  /** Image-pixel geometry of a layer drawn on the map, for a shape of `type`. */
  geometryOf(type: Shape['type'], layer: L.Layer) {
    const map = mapGeometryOf(layer);
    return map ? fromMapGeometry(type, map, this.level) : null;
  }

  private build(shape: Shape): L.Layer {
    const geometry = toMapGeometry(shape.type, shape.geometry, this.level);
    switch (geometry.kind) {
      case 'line':
        return L.polyline(geometry.latlngs.map(ll), this.style(shape));
      case 'polygon':
        return L.polygon(geometry.latlngs.map(ll), this.style(shape));
      case 'rectangle':
        return L.rectangle(L.latLngBounds(geometry.corners.map(ll)), this.style(shape));
      case 'circle':
        return L.circle(ll(geometry.center), { ...this.style(shape), radius: geometry.radius });
      case 'point':
        return L.marker(ll(geometry.latlng), { icon: markerIcon(shape), ...this.ignored } as L.MarkerOptions);
    }
  }

  add(shape: Shape): void {
    const layer = this.build(shape) as L.Layer & Tagged;
    layer.hugepicId = shape.id;
    layer.hugepicShape = shape;
    layer.on('click', (e: L.LeafletEvent) => {
      this.lastShapeClick = (e as L.LeafletMouseEvent).originalEvent ?? null;
      this.onOpen(shape.id);
    });
    // Reachable with Tab and announced; Enter or Space does what a click does.
    layer.on('add', () => this.label(shape.id));
    if (shape.type === 'text') {
      layer.on('dblclick', (e: L.LeafletEvent) => {
        // Editing the label, not zooming the map: a Leaflet event stops propagating
        // to the map when its original event is marked.
        L.DomEvent.stopPropagation(e as unknown as Event);
        this.onLabel?.(shape.id);
      });
    }
    if (this.editor) {
      const editor = this.editor;
      const save = () => {
        const geometry = this.geometryOf(shape.type, layer);
        if (geometry) editor.setGeometry(shape.id, geometry);
      };
      layer.on('pm:edit', save);
      layer.on('pm:dragend', save);
      layer.on('pm:remove', () => editor.remove(shape.id));
    }
    this.layers.set(shape.id, layer);
    const known = (this.authorCounts.get(shape.author) ?? 0) > 0;
    this.authors.set(shape.id, shape.author);
    this.authorCounts.set(shape.author, (this.authorCounts.get(shape.author) ?? 0) + 1);
    if (!this.hiddenAuthors.has(shape.author)) this.group.addLayer(layer);
    if (shape.id === this.selected) this.highlight(shape.id, true);
    if (!known) this.onAuthors?.();
  }

  update(shape: Shape): void {
    // Read-only layers follow in place; otherwise rebuilt: simplest way to follow any
    // change of kind-specific geometry and style.
    if (this.editor || !this.reshape(shape)) {
      this.detach(shape.id);
      this.add(shape);
    } else if (shape.id === this.selected) {
      this.highlight(shape.id, true);
    }
    if (shape.id === this.selected) this.onSelected?.(shape);
  }

  /** Moves and restyles the layer of a shape of the same kind and author in place;
   *  false if it cannot. */
  private reshape(shape: Shape): boolean {
    const layer = this.layers.get(shape.id) as (L.Layer & Tagged) | undefined;
    const old = layer?.hugepicShape;
    if (!layer || !old || old.type !== shape.type || old.author !== shape.author) return false;
    if (drawnAlike(old, shape)) {
      (layer as Tagged).hugepicShape = shape;
      return true;
    }
    const geometry = toMapGeometry(shape.type, shape.geometry, this.level);
    if (geometry.kind === 'circle' && layer instanceof L.Circle) {
      layer.setLatLng(ll(geometry.center));
      layer.setRadius(geometry.radius);
    } else if (geometry.kind === 'rectangle' && layer instanceof L.Rectangle) {
      layer.setBounds(L.latLngBounds(geometry.corners.map(ll)));
    } else if ((geometry.kind === 'polygon' || geometry.kind === 'line') && layer instanceof L.Polyline && !(layer instanceof L.Rectangle)) {
      layer.setLatLngs(geometry.latlngs.map(ll));
    } else if (geometry.kind === 'point' && layer instanceof L.Marker) {
      layer.setLatLng(ll(geometry.latlng));
      // A marker's icon carries its colour and text: a new one only when they change.
      if (old.style.color !== shape.style.color || old.text !== shape.text) layer.setIcon(markerIcon(shape));
    } else {
      return false;
    }
    if (layer instanceof L.Path && (old.style.color !== shape.style.color || old.style.weight !== shape.style.weight || old.style.fill !== shape.style.fill)) {
      layer.setStyle(pathStyle(shape));
    }
    (layer as Tagged).hugepicShape = shape;
    this.label(shape.id);
    return true;
  }

  remove(id: string): void {
    this.detach(id);
    if (id === this.selected) this.select(null);
  }

  private detach(id: string): void {
    const layer = this.layers.get(id);
    if (!layer) return;
    this.layers.delete(id);
    const author = this.authors.get(id);
    if (author !== undefined) {
      const left = (this.authorCounts.get(author) ?? 1) - 1;
      if (left > 0) this.authorCounts.set(author, left);
      else this.authorCounts.delete(author);
    }
    this.authors.delete(id);
    this.group.removeLayer(layer);
  }

  /** Makes shape `id`'s element focusable, with a label: kind, author, comments. */
  label(id: string): void {
    const layer = this.layers.get(id) as (L.Layer & Tagged & { getElement?: () => Element | undefined }) | undefined;
    const element = layer?.getElement?.() as (HTMLElement | SVGElement | undefined);
    const shape = layer?.hugepicShape;
    if (!element || !shape) return;
    element.setAttribute('tabindex', '0');
    element.setAttribute('role', 'button');
    element.setAttribute('aria-label', shapeLabel(shape, this.commentCount(id)));
    if (element.dataset.keys) return;
    element.dataset.keys = '1';
    element.addEventListener('keydown', (e) => {
      const key = (e as KeyboardEvent).key;
      if (key !== 'Enter' && key !== ' ') return;
      e.preventDefault();
      e.stopPropagation();
      this.onOpen(id);
    });
  }

  /** Relabels every shape (a thread on one came or went). */
  relabel(): void {
    for (const id of this.layers.keys()) this.label(id);
  }

  /** The shape `id` as last drawn. */
  shape(id: string): Shape | null {
    return (this.layers.get(id) as (L.Layer & Tagged) | undefined)?.hugepicShape ?? null;
  }

  /** Selects a shape (null: none); the selected one is drawn dashed. */
  select(id: string | null): void {
    if (id !== null && !this.layers.has(id)) id = null;
    if (id === this.selected) return;
    if (this.selected) this.highlight(this.selected, false);
    this.selected = id;
    if (id) this.highlight(id, true);
    this.onSelected?.(id ? this.shape(id) : null);
  }

  selectedId(): string | null {
    return this.selected;
  }

  /** Whether a map click event is the one that just hit a shape. */
  hitShape(event: Event | undefined): boolean {
    return !!event && event === this.lastShapeClick;
  }

  private highlight(id: string, on: boolean): void {
    const layer = this.layers.get(id);
    if (layer instanceof L.Path) layer.setStyle({ dashArray: on ? '10 6' : '' });
    const element = (layer as (L.Layer & { getElement?: () => Element | undefined }) | undefined)?.getElement?.();
    element?.classList.toggle('hugepic-selected', on);
  }

  /** Everyone who drew something here. */
  authorNames(): string[] {
    return [...new Set(this.authors.values())].sort();
  }

  /** Hides or shows the shapes of one author. */
  setAuthorVisible(author: string, visible: boolean): void {
    if (visible) this.hiddenAuthors.delete(author);
    else this.hiddenAuthors.add(author);
    for (const [id, layer] of this.layers) {
      if (this.authors.get(id) !== author) continue;
      if (visible) this.group.addLayer(layer);
      else this.group.removeLayer(layer);
    }
    this.visibilityChanged();
  }

  authorVisible(author: string): boolean {
    return !this.hiddenAuthors.has(author);
  }

  /** The layer of shape `id`, if shown. */
  layer(id: string): L.Layer | undefined {
    return this.layers.get(id);
  }

  /** Shows or hides every shape. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.place();
  }

  /** Takes every shape off the map until resumed, whatever "Show annotations" says;
   *  the layers keep following the document meanwhile. */
  suspend(suspended: boolean): void {
    this.suspended = suspended;
    this.place();
  }

  /** Whether annotations are on the map at all: shown, and not suspended. */
  shown(): boolean {
    return this.visible && !this.suspended;
  }

  private place(): void {
    if (this.shown()) this.group.addTo(this.map);
    else this.group.remove();
    this.visibilityChanged();
  }

  private visibilityChanged(): void {
    for (const listener of [...this.visibilityListeners]) listener();
  }
}
