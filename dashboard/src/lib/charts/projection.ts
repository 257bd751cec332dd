/** Projection helpers for the wall map. Pure d3, no DOM. */
import { geoMercator, geoPath, type GeoPath, type GeoProjection } from 'd3';
import type { CountyCollection } from './geometry';

export interface Fitted {
  projection: GeoProjection;
  path: GeoPath;
}

/** A Mercator projection fitted to a panel of `width`×`height` px, leaving `pad` px each side. */
export function fitProjection(counties: CountyCollection, width: number, height: number, pad: number): Fitted {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  const p = Math.min(pad, w / 4, h / 4);
  const projection = geoMercator().fitExtent(
    [
      [p, p],
      [w - p, h - p],
    ],
    counties,
  );
  return { projection, path: geoPath(projection) };
}
