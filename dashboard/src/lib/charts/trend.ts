/** Pure helpers of the score trend chart. */

/** Bottom of the score axis: the lowest score minus 5, rounded down to ten, at most 60, at least 0. */
export function trendFloor(scores: readonly (number | null)[]): number {
  const vals = scores.filter((s): s is number => s !== null && Number.isFinite(s));
  if (!vals.length) return 60;
  return Math.max(0, Math.min(60, Math.floor((Math.min(...vals) - 5) / 10) * 10));
}
