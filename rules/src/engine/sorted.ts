/**
 * Binary searches over ascending number arrays, shared by the memory states' time indexes
 * (window-state.ts, interval-state.ts, fingerprint-state.ts). `from` lets a state keep a live
 * region [from, length) after dropping a prefix without copying the array.
 */

/** First index i in [from, xs.length) with xs[i] > x, or xs.length. */
export function upperBound(xs: readonly number[], x: number, from = 0): number {
  let lo = from;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i in [from, xs.length) with xs[i] >= x, or xs.length. */
export function lowerBound(xs: readonly number[], x: number, from = 0): number {
  let lo = from;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
