// Pure geometry of the viewer: image pixels ⇄ Leaflet coordinates, and the view ⇄ URL
// hash (`#zoom/x/y`, x and y the centre in full-resolution image pixels).
//
// The map uses Leaflet's CRS.Simple. At zoom `maxLevel` (the DeepZoom level of the
// full-resolution picture) one image pixel is one screen pixel, so image pixel (x, y)
// is LatLng(-y / 2^maxLevel, x / 2^maxLevel); zoom z shows the picture at 2^(z - maxLevel).

export interface LatLngLike {
  lat: number;
  lng: number;
}

export interface View {
  zoom: number;
  x: number;
  y: number;
}

/** The DeepZoom level of the full picture: ceil(log2(longest side)). */
export function maxLevel(width: number, height: number): number {
  const side = Math.max(width, height, 1);
  return Math.ceil(Math.log2(side));
}

/** Image pixel → Leaflet LatLng (CRS.Simple). */
export function pixelToLatLng(x: number, y: number, level: number): LatLngLike {
  const scale = 2 ** level;
  return { lat: -y / scale, lng: x / scale };
}

/** Leaflet LatLng → image pixel. */
export function latLngToPixel(latlng: LatLngLike, level: number): { x: number; y: number } {
  const scale = 2 ** level;
  return { x: latlng.lng * scale, y: -latlng.lat * scale };
}

/** The size of DeepZoom level `level` of a width×height picture. */
export function levelSize(width: number, height: number, level: number, top: number): { width: number; height: number } {
  const shrink = 2 ** (top - level);
  return { width: Math.ceil(width / shrink), height: Math.ceil(height / shrink) };
}

/** How a tile is laid out on the map, in the level's pixels. */
export interface TileBox {
  /** Size of the tile's box: the tile's own pixels plus one. */
  width: number;
  height: number;
  /** `none`: the image at its size, shifted by (dx, dy) past its left/top overlap;
   *  `fill`: the image stretched over the box (tiles without overlap). */
  fit: 'none' | 'fill';
  dx: number;
  dy: number;
}

/**
 * The box of tile (col, row). Each box reaches one pixel into its right and bottom
 * neighbours: at fractional zooms (and on high-DPI screens) tile edges fall between
 * device pixels, and two half-covered edge pixels leave a light hairline between tiles.
 * With a DeepZoom overlap that pixel is the neighbour's own (exact); without one, the
 * tile is stretched by one pixel (0.4% of a 256-pixel tile: invisible).
 */
export function tileBox(
  width: number,
  height: number,
  level: number,
  top: number,
  col: number,
  row: number,
  tileSize: number,
  overlap: number,
): TileBox {
  const size = levelSize(width, height, level, top);
  const own = (total: number, i: number) => Math.max(1, Math.min(tileSize, total - i * tileSize));
  const w = own(size.width, col);
  const h = own(size.height, row);
  if (overlap > 0) {
    return { width: w + 1, height: h + 1, fit: 'none', dx: col > 0 ? -overlap : 0, dy: row > 0 ? -overlap : 0 };
  }
  return { width: w + 1, height: h + 1, fit: 'fill', dx: 0, dy: 0 };
}

/** Whether tile (col, row) of `level` exists, with tiles of `tileSize` pixels. */
export function tileExists(
  width: number,
  height: number,
  level: number,
  top: number,
  col: number,
  row: number,
  tileSize: number,
): boolean {
  if (level < 0 || level > top || col < 0 || row < 0) return false;
  const size = levelSize(width, height, level, top);
  return col * tileSize < size.width && row * tileSize < size.height;
}

const round = (n: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** The hash of a view: `#zoom/x/y`, zoom with two decimals, pixels whole. */
export function viewToHash(view: View): string {
  return `#${round(view.zoom, 2)}/${Math.round(view.x)}/${Math.round(view.y)}`;
}

/** What follows the view in a hash (`&t=…`, the history's moment), kept as it is when
 *  the view is written. */
export function hashExtras(hash: string): string {
  const at = hash.indexOf('&');
  return at < 0 ? '' : hash.slice(at);
}

/** The view in a hash, if it is one and lies on the picture (clamped to it); what
 *  follows it (`&…`) is not the view's. */
export function hashToView(hash: string, width: number, height: number): View | null {
  const view = hash.trim().split('&')[0];
  const match = /^#?(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(view);
  if (!match) return null;
  const [zoom, x, y] = match.slice(1).map(Number);
  if (![zoom, x, y].every(Number.isFinite)) return null;
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  return { zoom, x: clamp(x, width), y: clamp(y, height) };
}

/** A readable length for the pixel scale: the largest 1-2-5 step at most `max` pixels. */
export function niceLength(max: number): number {
  if (max <= 0) return 0;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [5, 2, 1]) {
    if (step * power <= max) return step * power;
  }
  return power;
}

/** The visible part of the picture, in image pixels, clipped to it. */
export function visibleRect(
  topLeft: { x: number; y: number },
  bottomRight: { x: number; y: number },
  width: number,
  height: number,
): { x: number; y: number; width: number; height: number } {
  const x0 = Math.max(0, Math.min(width, topLeft.x));
  const y0 = Math.max(0, Math.min(height, topLeft.y));
  const x1 = Math.max(0, Math.min(width, bottomRight.x));
  const y1 = Math.max(0, Math.min(height, bottomRight.y));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
