import { describe, expect, it } from 'vitest';
import { geoArea, geoContains, geoMercator, lab, polygonContains } from 'd3';
import { COUNTIES } from '@jianguan/rules';
import { clipConvex, countiesFromGeoJson, schematicCounties } from '../src/lib/charts/geometry';
import { placeLabels } from '../src/lib/charts/labels';
import { fitProjection } from '../src/lib/charts/projection';
import { RATE_BREAKS, RATE_CLASS_COLORS, rateClass, rateColor, rateInterpolator, warningRate } from '../src/lib/charts/scales';

describe('schematic county geometry', () => {
  const fc = schematicCounties(COUNTIES);

  it('yields one closed polygon per county, each containing its own seat and no other', () => {
    expect(fc.features).toHaveLength(11);
    expect(new Set(fc.features.map((f) => f.properties.adcode))).toEqual(new Set(COUNTIES.map((c) => c.adcode)));
    for (const f of fc.features) {
      expect(f.geometry.type).toBe('Polygon');
      const ring = (f.geometry.coordinates as number[][][])[0]!;
      expect(ring.length).toBeGreaterThanOrEqual(4);
      expect(ring[0]).toEqual(ring[ring.length - 1]); // closed
      const seat = COUNTIES.find((c) => c.adcode === f.properties.adcode)!;
      expect(geoContains(f, [seat.lon, seat.lat])).toBe(true);
      expect(polygonContains(ring as [number, number][], [seat.lon, seat.lat])).toBe(true);
      for (const other of COUNTIES) {
        if (other.adcode !== seat.adcode) expect(geoContains(f, [other.lon, other.lat])).toBe(false);
      }
    }
  });

  it('winds rings the way d3-geo expects (small areas, not the rest of the globe)', () => {
    for (const f of fc.features) {
      const a = geoArea(f);
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(1e-3);
    }
  });

  it('tiles the city without overlaps: total area equals the sum of the parts', () => {
    // Sample a grid over the extent; every point may be in at most one county.
    for (let lon = 106.6; lon <= 109.3; lon += 0.05) {
      for (let lat = 23.4; lat <= 25.4; lat += 0.05) {
        const n = fc.features.filter((f) => geoContains(f, [lon, lat])).length;
        expect(n).toBeLessThanOrEqual(1);
      }
    }
  });

  it('fits a Mercator projection inside the panel', () => {
    const { projection, path } = fitProjection(fc, 1000, 800, 20);
    const [[x0, y0], [x1, y1]] = path.bounds(fc);
    expect(x0).toBeGreaterThanOrEqual(19.5);
    expect(y0).toBeGreaterThanOrEqual(19.5);
    expect(x1).toBeLessThanOrEqual(980.5);
    expect(y1).toBeLessThanOrEqual(780.5);
    expect(projection([108.04, 24.69])).toBeDefined();
    expect(typeof geoMercator).toBe('function');
  });

  it('clips a convex polygon to a convex window', () => {
    const square: [number, number][] = [[0, 0], [2, 0], [2, 2], [0, 2]];
    const window: [number, number][] = [[1, 1], [3, 1], [3, 3], [1, 3]];
    const out = clipConvex(square, window);
    const xs = out.map((p) => p[0]);
    const ys = out.map((p) => p[1]);
    expect(Math.min(...xs)).toBeCloseTo(1);
    expect(Math.max(...xs)).toBeCloseTo(2);
    expect(Math.min(...ys)).toBeCloseTo(1);
    expect(Math.max(...ys)).toBeCloseTo(2);
  });
});

describe('boundary files from the deployment', () => {
  const square = (lon: number, lat: number, ccw: boolean) => {
    const r = [[lon - 0.1, lat - 0.1], [lon + 0.1, lat - 0.1], [lon + 0.1, lat + 0.1], [lon - 0.1, lat + 0.1], [lon - 0.1, lat - 0.1]];
    return ccw ? r : r.reverse();
  };

  it('matches features by adcode, code, id or name, maps old codes and rewinds RFC 7946 rings', () => {
    const data = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', properties: { adcode: 451202 }, geometry: { type: 'Polygon', coordinates: [square(108.04, 24.69, true)] } },
        { type: 'Feature', properties: { code: '451281' }, geometry: { type: 'Polygon', coordinates: [square(108.65, 24.49, false)] } },
        { type: 'Feature', id: '451221', properties: {}, geometry: { type: 'MultiPolygon', coordinates: [[square(107.54, 24.98, true)]] } },
        { type: 'Feature', properties: { name: '天峨县' }, geometry: { type: 'Polygon', coordinates: [square(107.17, 25.0, true)] } },
        { type: 'Feature', properties: { adcode: '451200', name: '河池市' }, geometry: { type: 'Polygon', coordinates: [square(108, 24.5, true)] } },
      ],
    };
    const fc = countiesFromGeoJson(data, COUNTIES)!;
    expect(fc.features.map((f) => f.properties.adcode).sort()).toEqual(['451202', '451203', '451221', '451222']);
    for (const f of fc.features) expect(geoArea(f)).toBeLessThan(1e-3);
  });

  it('returns null when nothing matches, so the wall keeps the schematic', () => {
    expect(countiesFromGeoJson({ type: 'FeatureCollection', features: [] }, COUNTIES)).toBeNull();
    expect(countiesFromGeoJson('nope', COUNTIES)).toBeNull();
  });
});

describe('warning-rate colour scale', () => {
  it('is monotonic: a higher rate is never darker (CIELAB L*)', () => {
    let prev = -Infinity;
    for (let i = 0; i <= 100; i++) {
      const l = lab(rateColor(i / 100)).l;
      expect(l).toBeGreaterThanOrEqual(prev - 1e-9);
      prev = l;
    }
    expect(lab(rateInterpolator(1)).l - lab(rateInterpolator(0)).l).toBeGreaterThan(50);
    // At fine resolution only 8-bit RGB rounding may wobble, far below a visible step (~1 L*).
    let last = -Infinity;
    for (let i = 0; i <= 1000; i++) {
      const l = lab(rateInterpolator(i / 1000)).l;
      expect(l).toBeGreaterThan(last - 0.5);
      last = Math.max(last, l);
    }
  });

  it('uses fixed breaks: a rate keeps its colour whatever the other counties do', () => {
    expect(RATE_CLASS_COLORS).toHaveLength(RATE_BREAKS.length + 1);
    expect(rateClass(0)).toBe(0);
    expect(rateClass(0.0099)).toBe(0);
    expect(rateClass(0.01)).toBe(1);
    expect(rateClass(0.05)).toBe(3);
    expect(rateClass(0.39)).toBe(5);
    expect(rateClass(1)).toBe(RATE_BREAKS.length);
    expect(rateColor(0.03)).toBe(rateColor(0.049));
    expect(rateColor(0.03)).not.toBe(rateColor(0.05));
  });

  it('has no rate without business', () => {
    expect(warningRate(0, 0)).toBeNull();
    expect(warningRate(3, 0)).toBeNull();
    expect(warningRate(5, 100)).toBeCloseTo(0.05);
  });
});

describe('label placement', () => {
  it('keeps labels inside their counties and apart from each other', () => {
    const a: [number, number][] = [[0, 0], [100, 0], [100, 100], [0, 100]];
    const b: [number, number][] = [[100, 0], [200, 0], [200, 100], [100, 100]];
    const pos = placeLabels(
      [
        { id: 'a', ring: a, anchor: [95, 50], width: 60, height: 20 },
        { id: 'b', ring: b, anchor: [105, 50], width: 60, height: 20 },
      ],
      [{ x: 50, y: 50, r: 8 }],
    );
    const pa = pos.get('a')!;
    const pb = pos.get('b')!;
    expect(pa[0] - 30).toBeGreaterThanOrEqual(0);
    expect(pa[0] + 30).toBeLessThanOrEqual(100);
    expect(pb[0] - 30).toBeGreaterThanOrEqual(100);
    expect(Math.abs(pa[0] - pb[0]) >= 60 || Math.abs(pa[1] - pb[1]) >= 20).toBe(true);
  });
});
