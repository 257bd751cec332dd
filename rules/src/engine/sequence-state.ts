/**
 * In-memory SequenceState: the exact reference implementation of the contract in types.ts.
 *
 * Data: (key, event) → { records: id → at, answers: asker id → (asker at, match | null), newest }.
 * record() keeps the first time of an id; latest() answers once per asker: the record with the
 * largest time in (at − windowMs, at] other than the asker (ties: smaller id), remembered.
 * Records and answers at or before newest − retainMs are dropped.
 */
import type { SequenceMatch, SequenceState } from './types.js';

/** Synchronous: answers in place (the contract allows a promise; this never needs one). */
export interface MemorySequenceState extends SequenceState {
  record(key: string, event: string, id: string, at: number, retainMs: number): void;
  latest(key: string, event: string, id: string, at: number, windowMs: number, retainMs: number): SequenceMatch | null;
  /** Number of (key, event) pairs held. */
  readonly size: number;
  clear(): void;
}

/**
 * One (key, event). A vehicle's slot mostly holds one record (its registration) or one answer
 * (a later transfer asking for it), so each map is made when first needed.
 */
interface Slot {
  records: Map<string, number> | undefined;
  answers: Map<string, { at: number; match: SequenceMatch | null }> | undefined;
  newest: number;
  /** Nothing (record or answer) is at or before it: pruning is skipped while the horizon is below. */
  oldest: number;
}

function check(at: number, retainMs: number, windowMs?: number): void {
  if (!Number.isFinite(at)) throw new RangeError(`sequence: at must be a finite epoch ms, got ${at}`);
  if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`sequence: retainMs must be > 0, got ${retainMs}`);
  if (windowMs !== undefined && !(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`sequence: windowMs must be > 0, got ${windowMs}`);
}

export function createMemorySequenceState(): MemorySequenceState {
  // key → event → slot: no joined (key, event) string per call.
  const slots = new Map<string, Map<string, Slot>>();
  let count = 0;
  const slotOf = (key: string, event: string, at: number): Slot => {
    let byEvent = slots.get(key);
    if (!byEvent) {
      byEvent = new Map();
      slots.set(key, byEvent);
    }
    let s = byEvent.get(event);
    if (!s) {
      s = { records: undefined, answers: undefined, newest: at, oldest: at };
      byEvent.set(event, s);
      count++;
    }
    return s;
  };
  const prune = (s: Slot, at: number, retainMs: number) => {
    if (at > s.newest) s.newest = at;
    if (at < s.oldest) s.oldest = at;
    const horizon = s.newest - retainMs;
    if (s.oldest > horizon) return;
    let oldest = Infinity;
    // keys() and get(): no [key, value] pair per entry.
    if (s.records) {
      for (const id of s.records.keys()) {
        const t = s.records.get(id)!;
        if (t <= horizon) s.records.delete(id);
        else if (t < oldest) oldest = t;
      }
    }
    if (s.answers) {
      for (const id of s.answers.keys()) {
        const a = s.answers.get(id)!.at;
        if (a <= horizon) s.answers.delete(id);
        else if (a < oldest) oldest = a;
      }
    }
    s.oldest = oldest;
  };
  return {
    get size() {
      return count;
    },
    clear: () => {
      slots.clear();
      count = 0;
    },
    record(key, event, id, at, retainMs) {
      check(at, retainMs);
      const s = slotOf(key, event, at);
      const records = (s.records ??= new Map());
      if (!records.has(id)) records.set(id, at);
      prune(s, at, retainMs);
    },
    latest(key, event, id, at, windowMs, retainMs) {
      check(at, retainMs, windowMs);
      const s = slotOf(key, event, at);
      const known = s.answers?.get(id);
      if (known) return known.match && { ...known.match };
      let best: SequenceMatch | null = null;
      if (s.records) {
        const from = at - windowMs;
        for (const rid of s.records.keys()) {
          const t = s.records.get(rid)!;
          if (rid === id || !(t > from && t <= at)) continue;
          if (!best || t > best.at || (t === best.at && rid < best.id)) best = { id: rid, at: t };
        }
      }
      (s.answers ??= new Map()).set(id, { at, match: best });
      prune(s, at, retainMs);
      return best && { ...best };
    },
  };
}
