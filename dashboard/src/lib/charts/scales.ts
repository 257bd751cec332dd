/**
 * Colour and size scales for the wall. Pure d3, no DOM.
 *
 * The warning-rate ramp is built for a dark background: it starts at a muted steel blue (clearly
 * lighter than the page) and climbs in CIELAB lightness through violet and rose to amber and pale
 * gold, so "more warnings" always reads as "brighter" — interpolated in Lab between stops of
 * increasing L*, which keeps lightness monotonic along the whole ramp.
 */
import { interpolateLab, piecewise, scaleSqrt, type ScalePower } from 'd3';

/** HCL stops at L* 25, 35, 47, 60, 76, 93 (steel blue → violet → rose → coral → amber → pale gold). */
export const RATE_STOPS = ['#14405a', '#444f8d', '#a74f93', '#e9655f', '#ffa555', '#ffe9a5'] as const;

/** Fill for a county with no business today (rate undefined). */
export const NO_DATA_FILL = '#16233a';

export const rateInterpolator = piecewise(interpolateLab, [...RATE_STOPS]);

/**
 * Fixed class breaks of the warning rate (warnings per transaction). The map's colours must mean
 * the same thing all day: a county changes colour only when its own rate crosses a break, never
 * because another county moved the scale. Seven classes from "below 1 %" to "40 % and more" cover
 * a quiet city and a demonstration with many injected anomalies alike.
 */
export const RATE_BREAKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.4] as const;

/** One colour per class, sampled evenly along the ramp (class i of RATE_BREAKS.length + 1). */
export const RATE_CLASS_COLORS: readonly string[] = Array.from({ length: RATE_BREAKS.length + 1 }, (_, i) => rateInterpolator(i / RATE_BREAKS.length));

/** Warnings per transaction, or null when there was no business (no rate to show). */
export function warningRate(warnings: number, transactions: number): number | null {
  if (!(transactions > 0)) return null;
  return Math.min(1, Math.max(0, warnings / transactions));
}

/** The class index (0 … RATE_BREAKS.length) of a rate: a rate equal to a break belongs to the class above it. */
export function rateClass(rate: number): number {
  let i = 0;
  while (i < RATE_BREAKS.length && rate >= RATE_BREAKS[i]!) i++;
  return i;
}

/** The fill of a rate under the fixed breaks. */
export function rateColor(rate: number): string {
  return RATE_CLASS_COLORS[rateClass(rate)]!;
}

/** Point radius (px) for an institution's transactions today: area proportional to activity. */
export function activityRadius(maxTransactions: number, minR: number, maxR: number): ScalePower<number, number> {
  return scaleSqrt().domain([0, Math.max(1, maxTransactions)]).range([minR, maxR]).clamp(true);
}

export const SEVERITY_COLORS = { high: '#ff4d4f', medium: '#ff9f1a', low: '#3aa0ff' } as const;
