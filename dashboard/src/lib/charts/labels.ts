/**
 * Label placement for the county map (screen coordinates, pure). Each label is a box that should
 * lie inside its county, away from institution points and from labels already placed, and as
 * close as possible to its anchor (the county's centroid). Greedy, largest county first; with 11
 * counties and a coarse candidate grid this costs well under a millisecond per layout.
 */
import { polygonArea, polygonContains } from 'd3';

type Pt = [number, number];

export interface LabelRequest {
  id: string;
  /** Outer ring of the county on screen. */
  ring: readonly Pt[];
  anchor: Pt;
  width: number;
  height: number;
}

export interface Obstacle {
  x: number;
  y: number;
  r: number;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function overlapArea(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

function circleOverlap(b: Box, o: Obstacle): number {
  const cx = Math.max(b.x0, Math.min(o.x, b.x1));
  const cy = Math.max(b.y0, Math.min(o.y, b.y1));
  const d = Math.hypot(o.x - cx, o.y - cy);
  return d < o.r ? (o.r - d) * o.r : 0;
}

/** Share of the box's sample points (corners, edge midpoints, centre) inside the ring. */
function insideShare(ring: readonly Pt[], b: Box): number {
  const xm = (b.x0 + b.x1) / 2;
  const ym = (b.y0 + b.y1) / 2;
  const pts: Pt[] = [
    [b.x0, b.y0], [xm, b.y0], [b.x1, b.y0],
    [b.x0, ym], [xm, ym], [b.x1, ym],
    [b.x0, b.y1], [xm, b.y1], [b.x1, b.y1],
  ];
  let n = 0;
  for (const p of pts) if (polygonContains(ring as Pt[], p)) n++;
  return n / pts.length;
}

/** Returns the centre of each label box, keyed by id. */
export function placeLabels(requests: readonly LabelRequest[], obstacles: readonly Obstacle[], step?: number): Map<string, Pt> {
  const placed: Box[] = [];
  const out = new Map<string, Pt>();
  const order = [...requests].sort((a, b) => Math.abs(polygonArea(b.ring as Pt[])) - Math.abs(polygonArea(a.ring as Pt[])));
  for (const req of order) {
    const xs = req.ring.map((p) => p[0]);
    const ys = req.ring.map((p) => p[1]);
    const minX = Math.min(...xs);
    const maxX = Math.max(...xs);
    const minY = Math.min(...ys);
    const maxY = Math.max(...ys);
    const s = step ?? Math.max(2, req.height / 4);
    const hw = req.width / 2;
    const hh = req.height / 2;
    let best: { score: number; c: Pt; box: Box } | null = null;
    for (let y = minY; y <= maxY; y += s) {
      for (let x = minX; x <= maxX; x += s) {
        if (!polygonContains(req.ring as Pt[], [x, y])) continue;
        const box: Box = { x0: x - hw, y0: y - hh, x1: x + hw, y1: y + hh };
        const outside = 1 - insideShare(req.ring, box);
        let hit = 0;
        for (const o of obstacles) hit += circleOverlap(box, o);
        let clash = 0;
        for (const p of placed) clash += overlapArea(box, p);
        const dist = Math.hypot(x - req.anchor[0], y - req.anchor[1]);
        const score = clash * 50 + outside * req.width * req.height * 3 + hit * 8 + dist * 2;
        if (!best || score < best.score) best = { score, c: [x, y], box };
      }
    }
    if (!best) {
      const box: Box = { x0: req.anchor[0] - hw, y0: req.anchor[1] - hh, x1: req.anchor[0] + hw, y1: req.anchor[1] + hh };
      best = { score: 0, c: req.anchor, box };
    }
    placed.push(best.box);
    out.set(req.id, best.c);
  }
  return out;
}

/** Rough width of a label line: CJK characters ≈ 1 em, other characters ≈ 0.58 em. */
export function textWidth(text: string, fontPx: number): number {
  let w = 0;
  for (const ch of text) w += /[\u2e80-\u9fff\uff00-\uffef]/.test(ch) ? 1 : 0.58;
  return w * fontPx;
}
