/**
 * In-memory IntervalState: the exact reference implementation of the contract in types.ts (used
 * by tests, the embedded demo and the bench; the model the hub's Redis version is checked against).
 *
 * Data: key → { entries: id → (member, start, end, answer), maxStart }.
 * overlap(key, id, member, start, end, retainMs):
 *   - a known id returns its stored answer (re-delivery is a no-op);
 *   - otherwise the answer is the longest intersection of [start, end) with an entry of another
 *     member (ties: smaller start, then smaller id), stored with the new entry;
 *   - entries that ended at or before maxStart − retainMs are dropped afterwards.
 *
 * Index: each key also keeps its entries sorted by end (the hub's `ive` zset). Only entries ending
 * after the new start can intersect it, and they are a suffix of that order: records arrive
 * roughly in time order and last minutes, so the suffix is the few intervals still open around
 * the new one instead of every interval of the last retainMs (a week of an inspector's checks).
 * Entries that retention drops are a prefix of the same order.
 */
import { upperBound } from './sorted.js';
import type { IntervalConflict, IntervalState } from './types.js';

interface Entry {
  id: string;
  member: string;
  start: number;
  end: number;
  answer: IntervalConflict;
}

/** Synchronous: answers in place (the contract allows a promise; this never needs one). */
export interface MemoryIntervalState extends IntervalState {
  overlap(key: string, id: string, member: string, start: number, end: number, retainMs: number): IntervalConflict;
  readonly keyCount: number;
  /** Number of intervals held under `key`. */
  size(key: string): number;
  clear(): void;
}

const copy = (a: IntervalConflict): IntervalConflict => (a.other ? { overlapMs: a.overlapMs, other: { ...a.other } } : { overlapMs: a.overlapMs });

/**
 * One key. `entries` answers "is this id known" and holds the truth; `ends` / `byEnd` list the same
 * entries sorted by end (ties in arrival order), live from `head` on.
 */
interface KeyEntries {
  entries: Map<string, Entry>;
  ends: number[];
  byEnd: Entry[];
  /** Entries before it were dropped; compacted once they are half the arrays. */
  head: number;
  maxStart: number;
}

export function createMemoryIntervalState(): MemoryIntervalState {
  const keys = new Map<string, KeyEntries>();
  return {
    get keyCount() {
      return keys.size;
    },
    size: (key) => keys.get(key)?.entries.size ?? 0,
    clear: () => keys.clear(),
    overlap(key, id, member, start, end, retainMs) {
      if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
        throw new RangeError(`overlap: need finite start <= end, got [${start}, ${end})`);
      }
      if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`overlap: retainMs must be > 0, got ${retainMs}`);
      let k = keys.get(key);
      if (!k) {
        k = { entries: new Map(), ends: [], byEnd: [], head: 0, maxStart: start };
        keys.set(key, k);
      }
      const known = k.entries.get(id);
      if (known) return copy(known.answer);

      const { ends, byEnd } = k;
      let best: Entry | undefined;
      let bestMs = 0;
      // Entries with e.end > start; of those, the ones with e.start < end intersect. The choice
      // is a strict order on (overlap, start, id), so the scan order does not matter.
      for (let i = upperBound(ends, start, k.head); i < byEnd.length; i++) {
        const e = byEnd[i]!;
        if (e.member === member || !(e.start < end)) continue;
        const ms = Math.min(end, e.end) - Math.max(start, e.start);
        if (ms > bestMs || (ms === bestMs && best !== undefined && (e.start < best.start || (e.start === best.start && e.id < best.id)))) {
          best = e;
          bestMs = ms;
        }
      }
      const answer: IntervalConflict = best
        ? { overlapMs: bestMs, other: { id: best.id, member: best.member, start: best.start, end: best.end } }
        : { overlapMs: 0 };
      const entry: Entry = { id, member, start, end, answer };
      k.entries.set(id, entry);
      if (ends.length === k.head || ends[ends.length - 1]! <= end) {
        ends.push(end);
        byEnd.push(entry);
      } else {
        const at = upperBound(ends, end, k.head);
        ends.splice(at, 0, end);
        byEnd.splice(at, 0, entry);
      }
      if (start > k.maxStart) k.maxStart = start;
      const horizon = k.maxStart - retainMs;
      let h = k.head;
      while (h < ends.length && ends[h]! <= horizon) k.entries.delete(byEnd[h++]!.id);
      if (h > 32 && h * 2 > ends.length) {
        k.ends = ends.slice(h);
        k.byEnd = byEnd.slice(h);
        h = 0;
      }
      k.head = h;
      return copy(answer);
    },
  };
}
