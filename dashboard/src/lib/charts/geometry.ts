/**
 * County geometry for the wall map.
 *
 * Default: a licence-clean SCHEMATIC built only from the county-seat coordinates in
 * `@jianguan/rules` (COUNTIES): Voronoi cells of the seats, clipped to a rounded (buffered) convex
 * hull of the seats. No third-party boundary data is vendored. When a deployment configures its
 * own approved boundary file, the hub serves it at /api/v1/geo/counties and
 * `countiesFromGeoJson` maps its features onto county adcodes instead.
 *
 * Everything here is pure (no DOM); coordinates are WGS84 degrees [lon, lat].
 */
import { Delaunay, geoArea, polygonHull } from 'd3';
import type { Feature, FeatureCollection, MultiPolygon, Polygon, Position } from 'geojson';

export interface Seat {
  adcode: string;
  name: string;
  lon: number;
  lat: number;
}

export interface CountyProps {
  adcode: string;
  name: string;
  /** Where the label goes (lon/lat); the seat for the schematic. */
  labelLon: number;
  labelLat: number;
}

export type CountyFeature = Feature<Polygon | MultiPolygon, CountyProps>;
export type CountyCollection = FeatureCollection<Polygon | MultiPolygon, CountyProps>;

export interface SchematicOptions {
  /** Buffer around the hull of the seats, in degrees of latitude. @defaultValue 0.3 */
  buffer?: number;
  /** Segments per circle when buffering. @defaultValue 48 */
  segments?: number;
}

type Pt = [number, number];

/** Signed area in a y-up plane: positive = counter-clockwise. */
function signedArea(ring: readonly Pt[]): number {
  let a = 0;
  for (let i = 0, n = ring.length; i < n; i++) {
    const [x0, y0] = ring[i]!;
    const [x1, y1] = ring[(i + 1) % n]!;
    a += x0 * y1 - x1 * y0;
  }
  return a / 2;
}

/** Opens a closed ring (drops the repeated last point). */
function open(ring: readonly Pt[]): Pt[] {
  const r = ring.slice() as Pt[];
  if (r.length > 1) {
    const a = r[0]!;
    const b = r[r.length - 1]!;
    if (a[0] === b[0] && a[1] === b[1]) r.pop();
  }
  return r;
}

/** Counter-clockwise (y-up) copy of an open ring. */
function ccw(ring: readonly Pt[]): Pt[] {
  const r = open(ring);
  return signedArea(r) < 0 ? r.reverse() : r;
}

/**
 * Sutherland–Hodgman: the part of `subject` inside the convex polygon `clip`. Both open rings,
 * counter-clockwise in a y-up plane. Exact for a convex subject and convex clip.
 */
export function clipConvex(subject: readonly Pt[], clip: readonly Pt[]): Pt[] {
  let output = subject.slice() as Pt[];
  for (let i = 0, n = clip.length; i < n && output.length > 0; i++) {
    const a = clip[i]!;
    const b = clip[(i + 1) % n]!;
    const inside = (p: Pt) => (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0;
    const cross = (p: Pt, q: Pt): Pt => {
      const dx = q[0] - p[0];
      const dy = q[1] - p[1];
      const ex = b[0] - a[0];
      const ey = b[1] - a[1];
      const den = dx * ey - dy * ex;
      const t = den === 0 ? 0 : ((a[0] - p[0]) * ey - (a[1] - p[1]) * ex) / den;
      return [p[0] + t * dx, p[1] + t * dy];
    };
    const input = output;
    output = [];
    for (let j = 0, m = input.length; j < m; j++) {
      const cur = input[j]!;
      const prev = input[(j + m - 1) % m]!;
      if (inside(cur)) {
        if (!inside(prev)) output.push(cross(prev, cur));
        output.push(cur);
      } else if (inside(prev)) {
        output.push(cross(prev, cur));
      }
    }
  }
  return output;
}

/**
 * Closed GeoJSON ring in d3-geo's winding (exterior clockwise on a north-up map), from an open
 * planar ring in the local frame.
 */
function toGeoRing(ring: readonly Pt[], k: number): Position[] {
  const r = ccw(ring).reverse(); // clockwise in the y-up lon/lat plane
  const out: Position[] = r.map(([x, y]) => [x / k, y]);
  out.push(out[0]!.slice());
  return out;
}

/**
 * Builds the schematic: one polygon per seat, tiling a rounded hull of all seats.
 * Works in a local equal-scale frame (x = lon·cos φ0, y = lat) so cells are not stretched.
 */
export function schematicCounties(seats: readonly Seat[], options: SchematicOptions = {}): CountyCollection {
  if (seats.length < 3) throw new Error('schematicCounties needs at least 3 seats');
  const buffer = options.buffer ?? 0.3;
  const segments = options.segments ?? 48;
  const lat0 = seats.reduce((s, c) => s + c.lat, 0) / seats.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const pts: Pt[] = seats.map((s) => [s.lon * k, s.lat]);

  // Rounded hull = convex hull of small circles around every seat (the hull buffered by `buffer`).
  const ringPts: Pt[] = [];
  for (const [x, y] of pts) {
    for (let i = 0; i < segments; i++) {
      const a = (2 * Math.PI * i) / segments;
      ringPts.push([x + buffer * Math.cos(a), y + buffer * Math.sin(a)]);
    }
  }
  const hull = ccw(polygonHull(ringPts) as Pt[]);

  const xs = hull.map((p) => p[0]);
  const ys = hull.map((p) => p[1]);
  const bounds: [number, number, number, number] = [
    Math.min(...xs) - 1, Math.min(...ys) - 1, Math.max(...xs) + 1, Math.max(...ys) + 1,
  ];
  const voronoi = Delaunay.from(pts).voronoi(bounds);

  const features: CountyFeature[] = seats.map((seat, i) => {
    const cell = ccw(voronoi.cellPolygon(i) as unknown as Pt[]);
    const clipped = clipConvex(cell, hull);
    return {
      type: 'Feature',
      id: seat.adcode,
      properties: { adcode: seat.adcode, name: seat.name, labelLon: seat.lon, labelLat: seat.lat },
      geometry: { type: 'Polygon', coordinates: [toGeoRing(clipped, k)] },
    };
  });
  return { type: 'FeatureCollection', features };
}

/** Codes seen in older boundary files, mapped to the current adcode (宜州 became a district). */
const ADCODE_ALIASES: Readonly<Record<string, string>> = { '451281': '451203' };

function featureCode(f: Feature): string | undefined {
  const p = (f.properties ?? {}) as Record<string, unknown>;
  const raw = p['adcode'] ?? p['code'] ?? p['id'] ?? f.id;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const code = String(raw).trim();
  return ADCODE_ALIASES[code] ?? code;
}

/** Reverses rings whose area says they were wound the RFC 7946 way (d3-geo wants the opposite). */
export function rewindForD3<G extends Polygon | MultiPolygon>(geometry: G): G {
  const fix = (rings: Position[][]): Position[][] => {
    const f: Feature<Polygon> = { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: rings } };
    return geoArea(f) > 2 * Math.PI ? rings.map((r) => r.slice().reverse()) : rings;
  };
  if (geometry.type === 'Polygon') return { ...geometry, coordinates: fix(geometry.coordinates) };
  return { ...geometry, coordinates: (geometry as MultiPolygon).coordinates.map(fix) } as G;
}

/**
 * Maps a deployment's boundary file onto the counties: features are matched by
 * `properties.adcode`, `properties.code`, `properties.id` or the feature id, then by exact name.
 * Features that match no county (a city outline, neighbours) are ignored. Returns null when the
 * file yields no county at all, so the caller can fall back to the schematic.
 */
export function countiesFromGeoJson(data: unknown, seats: readonly Seat[]): CountyCollection | null {
  if (!data || typeof data !== 'object' || (data as { type?: unknown }).type !== 'FeatureCollection') return null;
  const byCode = new Map(seats.map((s) => [s.adcode, s]));
  const byName = new Map(seats.map((s) => [s.name, s]));
  const features: CountyFeature[] = [];
  const used = new Set<string>();
  for (const f of (data as FeatureCollection).features ?? []) {
    if (!f || !f.geometry || (f.geometry.type !== 'Polygon' && f.geometry.type !== 'MultiPolygon')) continue;
    const code = featureCode(f);
    const name = (f.properties as Record<string, unknown> | null)?.['name'];
    const seat = (code && byCode.get(code)) || (typeof name === 'string' ? byName.get(name.trim()) : undefined);
    if (!seat || used.has(seat.adcode)) continue;
    used.add(seat.adcode);
    features.push({
      type: 'Feature',
      id: seat.adcode,
      properties: { adcode: seat.adcode, name: seat.name, labelLon: seat.lon, labelLat: seat.lat },
      geometry: rewindForD3(f.geometry),
    });
  }
  return features.length > 0 ? { type: 'FeatureCollection', features } : null;
}
