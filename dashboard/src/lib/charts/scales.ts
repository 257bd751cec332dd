/**
 * Colour and size scales for the wall. Pure d3, no DOM.
 *
 * The warning-rate ramp is built for a dark background: it starts at a muted steel blue (clearly
 * lighter than the page) and climbs in CIELAB lightness through violet and rose to amber and pale
 * gold, so "more warnings" always reads as "brighter" — interpolated in Lab between stops of
 * increasing L*, which keeps lightness monotonic along the whole ramp.
 */
import { interpolateLab, piecewise, scaleSequential, scaleSqrt, type ScaleSequential, type ScalePower } from 'd3';

/** HCL stops at L* 25, 35, 47, 60, 76, 93 (steel blue → violet → rose → coral → amber → pale gold). */
export const RATE_STOPS = ['#14405a', '#444f8d', '#a74f93', '#e9655f', '#ffa555', '#ffe9a5'] as const;

/** Fill for a county with no business today (rate undefined). */
export const NO_DATA_FILL = '#16233a';

export const rateInterpolator = piecewise(interpolateLab, [...RATE_STOPS]);

/** Upper ends the legend may use; the smallest one ≥ the highest observed rate is chosen. */
const NICE_MAX = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1] as const;

/** A round legend maximum for the highest observed rate (never below 5 %). */
export function niceRateMax(maxRate: number): number {
  const m = Number.isFinite(maxRate) ? Math.max(0, maxRate) : 0;
  for (const n of NICE_MAX) if (n >= m && n >= 0.05) return n;
  return 1;
}

/** Warnings per transaction, or null when there was no business (no rate to show). */
export function warningRate(warnings: number, transactions: number): number | null {
  if (!(transactions > 0)) return null;
  return Math.min(1, Math.max(0, warnings / transactions));
}

/** Sequential colour scale for rates in [0, max]; values above max are clamped. */
export function rateColorScale(max: number): ScaleSequential<string> {
  return scaleSequential(rateInterpolator).domain([0, max > 0 ? max : 1]).clamp(true);
}

/** Point radius (px) for an institution's transactions today: area proportional to activity. */
export function activityRadius(maxTransactions: number, minR: number, maxR: number): ScalePower<number, number> {
  return scaleSqrt().domain([0, Math.max(1, maxTransactions)]).range([minR, maxR]).clamp(true);
}

export const SEVERITY_COLORS = { high: '#ff4d4f', medium: '#ff9f1a', low: '#3aa0ff' } as const;
