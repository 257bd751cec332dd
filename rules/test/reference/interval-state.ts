// Frozen copy of src/engine/interval-state.ts as it was before its memory-state index: the plain
// scanning implementation, kept as the reference the indexed one is checked against.
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
 */
import type { IntervalConflict, IntervalState } from '../../src/engine/types.js';

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

export function createScanIntervalState(): MemoryIntervalState {
  // minEnd: no entry ends before it, so pruning is skipped (no pass over the entries) while the
  // horizon is below it.
  const keys = new Map<string, { entries: Map<string, Entry>; maxStart: number; minEnd: number }>();
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
        k = { entries: new Map(), maxStart: start, minEnd: end };
        keys.set(key, k);
      }
      const known = k.entries.get(id);
      if (known) return copy(known.answer);

      let best: Entry | undefined;
      let bestMs = 0;
      for (const e of k.entries.values()) {
        if (e.member === member || !(e.start < end && start < e.end)) continue;
        const ms = Math.min(end, e.end) - Math.max(start, e.start);
        if (ms > bestMs || (ms === bestMs && best !== undefined && (e.start < best.start || (e.start === best.start && e.id < best.id)))) {
          best = e;
          bestMs = ms;
        }
      }
      const answer: IntervalConflict = best
        ? { overlapMs: bestMs, other: { id: best.id, member: best.member, start: best.start, end: best.end } }
        : { overlapMs: 0 };
      k.entries.set(id, { id, member, start, end, answer });
      if (start > k.maxStart) k.maxStart = start;
      if (end < k.minEnd) k.minEnd = end;
      const horizon = k.maxStart - retainMs;
      if (k.minEnd <= horizon) {
        let minEnd = Infinity;
        for (const e of k.entries.values()) {
          if (e.end <= horizon) k.entries.delete(e.id);
          else if (e.end < minEnd) minEnd = e.end;
        }
        k.minEnd = minEnd;
      }
      return copy(answer);
    },
  };
}
