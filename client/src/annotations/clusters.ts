// Screen-space clustering of comment bubbles: bubbles whose anchors are closer than a
// radius (CSS pixels at the current zoom) merge into one that shows how many it holds,
// and where a click on such a cluster takes the map so they spread apart. Pure: points
// in, groups out; the map layer (../map/bubbleLayer) projects and draws.

/** A point to cluster, in screen (layer) pixels. */
export interface ScreenPoint {
  id: string;
  x: number;
  y: number;
}

/** Bubbles shown as one: their ids and the centre they are drawn at. */
export interface Cluster {
  ids: string[];
  x: number;
  y: number;
}

/** Bubbles closer than this (CSS pixels) merge. */
export const CLUSTER_RADIUS_PX = 40;

interface Group {
  ids: string[];
  x: number;
  y: number;
  /** Sums of the members' coordinates, for the centroid. */
  sx: number;
  sy: number;
}

/** One greedy pass: each group joins the nearest earlier group whose centre is within
 *  `radius`, looked up in a grid of `radius`-sized cells (a pass that merges nothing
 *  moved no centre, so its answer is exact). */
function pass(groups: Group[], radius: number): Group[] {
  const cells = new Map<string, Group[]>();
  const cellOf = (v: number) => Math.floor(v / radius);
  const out: Group[] = [];
  for (const g of groups) {
    const cx = cellOf(g.x);
    const cy = cellOf(g.y);
    let into: Group | null = null;
    let best = radius;
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const other of cells.get(`${cx + dx},${cy + dy}`) ?? []) {
          const d = Math.hypot(other.x - g.x, other.y - g.y);
          if (d < best) {
            best = d;
            into = other;
          }
        }
      }
    }
    if (into) {
      // The centre moves, but the group stays filed under its first cell until the
      // next pass files it again.
      into.ids.push(...g.ids);
      into.sx += g.sx;
      into.sy += g.sy;
      into.x = into.sx / into.ids.length;
      into.y = into.sy / into.ids.length;
    } else {
      const copy = { ...g, ids: [...g.ids] };
      out.push(copy);
      const key = `${cx},${cy}`;
      cells.set(key, [...(cells.get(key) ?? []), copy]);
    }
  }
  return out;
}

/** Groups `points` so that no two groups are drawn closer than `radius`; points in
 *  `apart` (the selected bubble) are never merged. Deterministic: the same points give
 *  the same groups whatever their order. */
export function cluster(points: ScreenPoint[], radius = CLUSTER_RADIUS_PX, apart: ReadonlySet<string> = new Set()): Cluster[] {
  const sorted = [...points].sort((a, b) => a.y - b.y || a.x - b.x || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let groups: Group[] = sorted.filter((p) => !apart.has(p.id)).map((p) => ({ ids: [p.id], x: p.x, y: p.y, sx: p.x, sy: p.y }));
  // Merging moves centres, which can bring two groups within the radius: merge again
  // until nothing changes (each pass that changes anything removes a group).
  for (;;) {
    const next = pass(groups, radius);
    if (next.length === groups.length) break;
    groups = next;
  }
  const kept = sorted.filter((p) => apart.has(p.id)).map((p) => ({ ids: [p.id], x: p.x, y: p.y }));
  return [...groups.map(({ ids, x, y }) => ({ ids: [...ids].sort(), x, y })), ...kept];
}

/** Where a click on a cluster takes the map: the zoom at which its members, given in
 *  image pixels, are all at least `radius` CSS pixels apart (at zoom `top` one image
 *  pixel is one CSS pixel), but no further in than `fit` (the zoom that still shows
 *  them all), at least a step in from `current`, at most `max`, rounded up to a
 *  multiple of `snap` (the map's zoom steps) if given; centred on their box.
 *  Null when the map cannot zoom in any further: they can only be listed. */
export function spreadView(
  members: { x: number; y: number }[],
  options: { radius?: number; top: number; current: number; max: number; fit: number; step?: number; snap?: number },
): { zoom: number; x: number; y: number } | null {
  const { top, current, max, fit } = options;
  const radius = options.radius ?? CLUSTER_RADIUS_PX;
  const step = options.step ?? 1;
  if (members.length === 0 || current >= max) return null;
  let closest = Infinity;
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      closest = Math.min(closest, Math.hypot(members[i].x - members[j].x, members[i].y - members[j].y));
    }
  }
  const spread = closest > 0 ? top + Math.log2(radius / closest) : Infinity;
  // Rounded up to the map's zoom steps (rounding down would leave them closer).
  const snap = options.snap ?? 0;
  const wanted = Math.max(current + step, Math.min(spread, fit));
  const zoom = Math.min(max, snap > 0 ? Math.ceil(wanted / snap - 1e-9) * snap : wanted);
  const xs = members.map((m) => m.x);
  const ys = members.map((m) => m.y);
  return { zoom, x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2 };
}
