// Frozen copy of src/engine/sequence-state.ts as it was before its memory-state index: the plain
// scanning implementation, kept as the reference the indexed one is checked against.
/**
 * In-memory SequenceState: the exact reference implementation of the contract in types.ts.
 *
 * Data: (key, event) → { records: id → at, answers: asker id → (asker at, match | null), newest }.
 * record() keeps the first time of an id; latest() answers once per asker: the record with the
 * largest time in (at − windowMs, at] other than the asker (ties: smaller id), remembered.
 * Records and answers at or before newest − retainMs are dropped.
 */
import type { SequenceMatch, SequenceState } from '../../src/engine/types.js';

/** Synchronous: answers in place (the contract allows a promise; this never needs one). */
export interface MemorySequenceState extends SequenceState {
  record(key: string, event: string, id: string, at: number, retainMs: number): void;
  latest(key: string, event: string, id: string, at: number, windowMs: number, retainMs: number): SequenceMatch | null;
  /** Number of (key, event) pairs held. */
  readonly size: number;
  clear(): void;
}

interface Slot {
  records: Map<string, number>;
  answers: Map<string, { at: number; match: SequenceMatch | null }>;
  newest: number;
  /** Nothing (record or answer) is at or before it: pruning is skipped while the horizon is below. */
  oldest: number;
}

function check(at: number, retainMs: number, windowMs?: number): void {
  if (!Number.isFinite(at)) throw new RangeError(`sequence: at must be a finite epoch ms, got ${at}`);
  if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`sequence: retainMs must be > 0, got ${retainMs}`);
  if (windowMs !== undefined && !(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`sequence: windowMs must be > 0, got ${windowMs}`);
}

export function createScanSequenceState(): MemorySequenceState {
  const slots = new Map<string, Slot>();
  const slotOf = (key: string, event: string, at: number): Slot => {
    const sk = `${key}\u0000${event}`;
    let s = slots.get(sk);
    if (!s) {
      s = { records: new Map(), answers: new Map(), newest: at, oldest: at };
      slots.set(sk, s);
    }
    return s;
  };
  const prune = (s: Slot, at: number, retainMs: number) => {
    if (at > s.newest) s.newest = at;
    if (at < s.oldest) s.oldest = at;
    const horizon = s.newest - retainMs;
    if (s.oldest > horizon) return;
    let oldest = Infinity;
    for (const [id, t] of s.records) {
      if (t <= horizon) s.records.delete(id);
      else if (t < oldest) oldest = t;
    }
    for (const [id, a] of s.answers) {
      if (a.at <= horizon) s.answers.delete(id);
      else if (a.at < oldest) oldest = a.at;
    }
    s.oldest = oldest;
  };
  return {
    get size() {
      return slots.size;
    },
    clear: () => slots.clear(),
    record(key, event, id, at, retainMs) {
      check(at, retainMs);
      const s = slotOf(key, event, at);
      if (!s.records.has(id)) s.records.set(id, at);
      prune(s, at, retainMs);
    },
    latest(key, event, id, at, windowMs, retainMs) {
      check(at, retainMs, windowMs);
      const s = slotOf(key, event, at);
      const known = s.answers.get(id);
      if (known) return known.match && { ...known.match };
      let best: SequenceMatch | null = null;
      for (const [rid, t] of s.records) {
        if (rid === id || !(t > at - windowMs && t <= at)) continue;
        if (!best || t > best.at || (t === best.at && rid < best.id)) best = { id: rid, at: t };
      }
      s.answers.set(id, { at, match: best });
      prune(s, at, retainMs);
      return best && { ...best };
    },
  };
}
