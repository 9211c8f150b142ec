// The deep-zoom viewer: Leaflet on a non-geographic CRS over the picture's DeepZoom
// pyramid, bounded to the picture (no wrap, no tile requested outside it), with a
// minimap, a pixel scale, home, fullscreen, and the view kept in the URL hash.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import './markerIcons';

import type { Picture } from '../api';
import {
  hashExtras,
  hashToView,
  latLngToPixel,
  maxLevel,
  niceLength,
  pixelToLatLng,
  tileBox,
  tileExists,
  viewToHash,
  visibleRect,
} from '../view';

/** What a DeepZoom descriptor says. */
export interface Dzi {
  width: number;
  height: number;
  tileSize: number;
  overlap: number;
  format: string;
  /** Base of tile URLs: `{base}{level}/{col}_{row}.{format}`. */
  base: string;
}

export async function loadDzi(url: string): Promise<Dzi> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the picture's tiles are not available (${response.status})`);
  const xml = new DOMParser().parseFromString(await response.text(), 'application/xml');
  const image = xml.getElementsByTagName('Image')[0];
  const size = xml.getElementsByTagName('Size')[0];
  if (!image || !size) throw new Error('the DeepZoom descriptor is not readable');
  return {
    width: Number(size.getAttribute('Width')),
    height: Number(size.getAttribute('Height')),
    tileSize: Number(image.getAttribute('TileSize')),
    overlap: Number(image.getAttribute('Overlap')),
    format: image.getAttribute('Format') ?? 'jpg',
    base: url.replace(/\.dzi$/, '_files/'),
  };
}

/** DeepZoom tiles as a Leaflet layer: edge tiles are shown at their real size, tiles
 *  outside the picture are never requested. */
const DziLayer = L.TileLayer.extend({
  initialize(this: L.TileLayer & { dzi: Dzi; top: number }, dzi: Dzi, options: L.TileLayerOptions) {
    this.dzi = dzi;
    this.top = maxLevel(dzi.width, dzi.height);
    (L.TileLayer.prototype as unknown as { initialize: (url: string, o: L.TileLayerOptions) => void }).initialize.call(this, '', options);
  },
  createTile(this: L.TileLayer & { dzi: Dzi; top: number }, coords: L.Coords, done: L.DoneCallback): HTMLElement {
    const { dzi, top } = this;
    if (!tileExists(dzi.width, dzi.height, coords.z, top, coords.x, coords.y, dzi.tileSize)) {
      const empty = document.createElement('div');
      setTimeout(() => done(undefined, empty), 0);
      return empty;
    }
    const img = document.createElement('img');
    img.alt = '';
    img.className = 'hugepic-tile';
    img.decoding = 'async';
    // Tiles after the first carry `overlap` extra pixels on their left/top; each box
    // reaches a pixel into its neighbours, so no hairline shows between tiles.
    const box = tileBox(dzi.width, dzi.height, coords.z, top, coords.x, coords.y, dzi.tileSize, dzi.overlap);
    img.style.objectFit = box.fit;
    img.style.objectPosition = `${box.dx}px ${box.dy}px`;
    img.dataset.width = String(box.width);
    img.dataset.height = String(box.height);
    img.onload = () => done(undefined, img);
    img.onerror = () => done(new Error(`tile ${coords.z}/${coords.x}_${coords.y}`), img);
    img.src = `${dzi.base}${coords.z}/${coords.x}_${coords.y}.${dzi.format}`;
    return img;
  },
  // Leaflet sizes every tile `tileSize`; ours take their box (see `tileBox`).
  _initTile(this: L.TileLayer, tile: HTMLElement) {
    (L.GridLayer.prototype as unknown as { _initTile: (t: HTMLElement) => void })._initTile.call(this, tile);
    if (tile.dataset.width) tile.style.width = `${tile.dataset.width}px`;
    if (tile.dataset.height) tile.style.height = `${tile.dataset.height}px`;
  },
}) as unknown as new (dzi: Dzi, options: L.TileLayerOptions) => L.TileLayer;

export interface ViewerOptions {
  /** Page chrome: share dialog and the like (off in embeds). */
  chrome: boolean;
  onShare?: () => void;
}

export interface Viewer {
  map: L.Map;
  dzi: Dzi;
  top: number;
  /** The current view, in image pixels. */
  view(): { zoom: number; x: number; y: number };
  /** The minimap's element and its scale (minimap pixels per image pixel), so others can
   *  draw on it (people's views). */
  minimap: { element: HTMLElement; scale: number } | null;
  home(): void;
  destroy(): void;
}

function control(position: L.ControlPosition, build: (map: L.Map) => HTMLElement): L.Control {
  const Custom = L.Control.extend({
    onAdd: (map: L.Map) => {
      const element = build(map);
      L.DomEvent.disableClickPropagation(element);
      L.DomEvent.disableScrollPropagation(element);
      return element;
    },
  });
  return new Custom({ position });
}

const ICONS = {
  home: '<path d="M3 11.5 12 4l9 7.5M5.5 10v9.5h5v-6h3v6h5V10"/>',
  fullscreen: '<path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5"/>',
  share: '<path d="M12 15V4m0 0-4 4m4-4 4 4M5 12v7.5h14V12"/>',
};

function button(icon: keyof typeof ICONS, title: string, onClick: () => void): HTMLElement {
  const bar = L.DomUtil.create('div', 'leaflet-bar');
  const a = L.DomUtil.create('a', 'hugepic-button', bar) as HTMLAnchorElement;
  a.href = '#';
  a.role = 'button';
  a.title = title;
  a.setAttribute('aria-label', title);
  a.innerHTML = `<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[icon]}</svg>`;
  L.DomEvent.on(a, 'click', (e) => {
    L.DomEvent.preventDefault(e);
    onClick();
  });
  return bar;
}

export async function openViewer(container: HTMLElement, picture: Picture, options: ViewerOptions): Promise<Viewer> {
  const dzi = await loadDzi(picture.tiles.dzi);
  const top = maxLevel(dzi.width, dzi.height);
  const toLatLng = (x: number, y: number) => {
    const p = pixelToLatLng(x, y, top);
    return L.latLng(p.lat, p.lng);
  };
  const bounds = L.latLngBounds(toLatLng(0, dzi.height), toLatLng(dzi.width, 0));
  const map = L.map(container, {
    crs: L.CRS.Simple,
    zoomSnap: 0.25,
    zoomDelta: 0.5,
    wheelPxPerZoomLevel: 90,
    attributionControl: false,
    keyboard: true,
    maxBounds: bounds.pad(0.05),
    maxBoundsViscosity: 1,
    worldCopyJump: false,
    inertia: true,
  });
  // The zoom at which the whole picture fits, in quarter steps. (Leaflet's getBoundsZoom
  // clamps to the current minimum zoom: once the map shrank, "whole picture" was out of reach.)
  const fitZoom = () => {
    const size = map.getSize();
    return Math.floor((top + Math.log2(Math.min(size.x / dzi.width, size.y / dzi.height))) * 4) / 4;
  };
  const fit = fitZoom();
  map.setMinZoom(Math.min(fit, top));
  map.setMaxZoom(Math.max(top + 2, Math.ceil(fit) + 1));
  new DziLayer(dzi, {
    tileSize: dzi.tileSize,
    noWrap: true,
    bounds,
    maxNativeZoom: top,
    minNativeZoom: 0,
    maxZoom: map.getMaxZoom(),
    keepBuffer: 2,
    updateWhenZooming: false,
  }).addTo(map);

  // The map may have changed size since the minimum zoom was last set (a panel opened
  // under it a moment ago): measured afresh, so the whole picture is always in reach.
  const fitMinZoom = () => {
    map.invalidateSize({ pan: false });
    map.setMinZoom(Math.min(fitZoom(), top));
  };
  const home = () => {
    fitMinZoom();
    map.fitBounds(bounds, { animate: true });
  };
  const view = () => {
    const c = latLngToPixel(map.getCenter(), top);
    return { zoom: map.getZoom(), x: c.x, y: c.y };
  };
  const applyHash = () => {
    const wanted = hashToView(location.hash, dzi.width, dzi.height);
    if (wanted) {
      map.setView(toLatLng(wanted.x, wanted.y), wanted.zoom, { animate: false });
      return true;
    }
    return false;
  };
  if (!applyHash()) map.fitBounds(bounds, { animate: false });

  // The view lives in the hash, replaced (never pushed): back leaves the picture. What
  // follows it (the history's `&t=`) is kept.
  let lastHash = '';
  const writeHash = () => {
    const hash = viewToHash(view()) + hashExtras(location.hash);
    if (hash !== lastHash && hash !== location.hash) {
      lastHash = hash;
      history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
    }
  };
  map.on('moveend zoomend', writeHash);
  writeHash();
  const onHashChange = () => {
    if (location.hash !== lastHash) applyHash();
  };
  window.addEventListener('hashchange', onHashChange);

  // Controls.
  control('topleft', () => button('home', 'Whole picture (Home)', home)).addTo(map);
  // Fullscreen: the button says which way it goes, and a picture seen whole before is
  // seen whole after (the map changes size under it).
  const root = container.closest('.viewer-root') ?? container;
  const fullscreen = button('fullscreen', 'Fullscreen', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void root.requestFullscreen?.();
  });
  control('topleft', () => fullscreen).addTo(map);
  let wholeBefore = false;
  const onFullscreen = () => {
    const on = document.fullscreenElement === root;
    const a = fullscreen.querySelector('a');
    const label = on ? 'Exit fullscreen' : 'Fullscreen';
    a?.setAttribute('title', label);
    a?.setAttribute('aria-label', label);
    a?.setAttribute('aria-pressed', String(on));
    // A new size refits a picture seen whole (the map's resize handler).
    fitMinZoom();
  };
  const noteWhole = () => {
    wholeBefore = map.getBounds().pad(0.02).contains(bounds);
  };
  map.on('moveend zoomend', noteWhole);
  noteWhole();
  document.addEventListener('fullscreenchange', onFullscreen);
  if (options.chrome && options.onShare) {
    control('topleft', () => button('share', 'Share or embed this view', options.onShare ?? (() => {}))).addTo(map);
  }

  // Scale, in picture pixels.
  const scale = control('bottomleft', () => {
    const element = L.DomUtil.create('div', 'hugepic-scale');
    element.innerHTML = '<div class="bar"></div><span></span>';
    return element;
  });
  scale.addTo(map);
  const updateScale = () => {
    const perScreenPixel = 2 ** (top - map.getZoom());
    const length = niceLength(120 * perScreenPixel);
    const element = scale.getContainer();
    if (!element || length <= 0) return;
    (element.querySelector('.bar') as HTMLElement).style.width = `${length / perScreenPixel}px`;
    (element.querySelector('span') as HTMLElement).textContent = `${length.toLocaleString('en')} px${perScreenPixel < 1 ? ` · ${Math.round(100 / perScreenPixel)}%` : ''}`;
  };

  // Minimap: the thumbnail with the current view drawn on it; click or drag to move.
  const thumbnail = picture.thumbnail;
  const long = Math.max(dzi.width, dzi.height);
  const miniScale = 160 / long;
  const minimap = control('bottomright', () => {
    const element = L.DomUtil.create('div', 'hugepic-minimap');
    element.style.width = `${Math.round(dzi.width * miniScale)}px`;
    element.style.height = `${Math.round(dzi.height * miniScale)}px`;
    element.innerHTML = `<img alt="" draggable="false" src="${thumbnail}"><div class="box"></div>`;
    const moveTo = (event: PointerEvent) => {
      const r = element.getBoundingClientRect();
      const x = (event.clientX - r.left) / miniScale;
      const y = (event.clientY - r.top) / miniScale;
      map.panTo(toLatLng(x, y), { animate: false });
    };
    element.addEventListener('pointerdown', (event) => {
      element.setPointerCapture(event.pointerId);
      moveTo(event);
      const move = (e: PointerEvent) => moveTo(e);
      const up = () => {
        element.removeEventListener('pointermove', move);
        element.removeEventListener('pointerup', up);
      };
      element.addEventListener('pointermove', move);
      element.addEventListener('pointerup', up);
    });
    return element;
  });
  minimap.addTo(map);
  const updateMinimap = () => {
    const b = map.getBounds();
    const tl = latLngToPixel(b.getNorthWest(), top);
    const br = latLngToPixel(b.getSouthEast(), top);
    const r = visibleRect(tl, br, dzi.width, dzi.height);
    const box = minimap.getContainer()?.querySelector('.box') as HTMLElement | null;
    if (!box) return;
    box.style.left = `${r.x * miniScale}px`;
    box.style.top = `${r.y * miniScale}px`;
    box.style.width = `${Math.max(2, r.width * miniScale)}px`;
    box.style.height = `${Math.max(2, r.height * miniScale)}px`;
  };
  map.on('move zoom resize', () => {
    updateScale();
    updateMinimap();
  });
  // A picture seen whole stays whole when the map changes size (a panel opening under
  // it, a phone turned).
  map.on('resize', () => {
    const whole = wholeBefore;
    map.setMinZoom(Math.min(fitZoom(), top));
    if (whole) map.fitBounds(bounds, { animate: false });
  });
  updateScale();
  updateMinimap();
  // The page around the map can change its size (header tools, fullscreen, rotation).
  const resized = new ResizeObserver(() => map.invalidateSize({ pan: false }));
  resized.observe(container);
  container.focus({ preventScroll: true });

  const miniElement = minimap.getContainer();
  return {
    map,
    dzi,
    top,
    view,
    minimap: miniElement ? { element: miniElement, scale: miniScale } : null,
    home,
    destroy() {
      window.removeEventListener('hashchange', onHashChange);
      document.removeEventListener('fullscreenchange', onFullscreen);
      resized.disconnect();
      map.remove();
    },
  };
}
