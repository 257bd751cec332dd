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
 * One (key, event). Slots are many and small — a vehicle's slot mostly holds one record (its
 * registration) or one answer (a later transfer asking for it) — so a slot holds its first record
 * and its first answer in fields and makes a Map only at the second (`records` / `answers` then
 * hold everything; the fields are cleared). Slots of one key are chained through `next` (a key
 * has one or two events) instead of a Map per key.
 */
interface Slot {
  readonly event: string;
  next: Slot | undefined;
  recId: string | undefined;
  recAt: number;
  records: Map<string, number> | undefined;
  ansId: string | undefined;
  ansAt: number;
  ansMatch: SequenceMatch | null;
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
  // key → its slots (one per event, chained): no joined (key, event) string per call.
  const slots = new Map<string, Slot>();
  let count = 0;
  const slotOf = (key: string, event: string, at: number): Slot => {
    const head = slots.get(key);
    for (let s = head; s !== undefined; s = s.next) if (s.event === event) return s;
    const s: Slot = {
      event,
      next: head,
      recId: undefined,
      recAt: 0,
      records: undefined,
      ansId: undefined,
      ansAt: 0,
      ansMatch: null,
      answers: undefined,
      newest: at,
      oldest: at,
    };
    slots.set(key, s);
    count++;
    return s;
  };
  const prune = (s: Slot, at: number, retainMs: number) => {
    if (at > s.newest) s.newest = at;
    if (at < s.oldest) s.oldest = at;
    const horizon = s.newest - retainMs;
    if (s.oldest > horizon) return;
    let oldest = Infinity;
    if (s.records) {
      // keys() and get(): no [key, value] pair per entry.
      for (const id of s.records.keys()) {
        const t = s.records.get(id)!;
        if (t <= horizon) s.records.delete(id);
        else if (t < oldest) oldest = t;
      }
    } else if (s.recId !== undefined) {
      if (s.recAt <= horizon) s.recId = undefined;
      else if (s.recAt < oldest) oldest = s.recAt;
    }
    if (s.answers) {
      for (const id of s.answers.keys()) {
        const a = s.answers.get(id)!.at;
        if (a <= horizon) s.answers.delete(id);
        else if (a < oldest) oldest = a;
      }
    } else if (s.ansId !== undefined) {
      if (s.ansAt <= horizon) {
        s.ansId = undefined;
        s.ansMatch = null;
      } else if (s.ansAt < oldest) oldest = s.ansAt;
    }
    s.oldest = oldest;
  };
  /** The record with the largest time in (from, at] other than `id` (ties: smaller id). */
  const bestOf = (s: Slot, id: string, from: number, at: number): SequenceMatch | null => {
    if (!s.records) {
      const t = s.recAt;
      return s.recId !== undefined && s.recId !== id && t > from && t <= at ? { id: s.recId, at: t } : null;
    }
    let bestId: string | undefined;
    let bestAt = 0;
    for (const rid of s.records.keys()) {
      const t = s.records.get(rid)!;
      if (rid === id || !(t > from && t <= at)) continue;
      if (bestId === undefined || t > bestAt || (t === bestAt && rid < bestId)) {
        bestId = rid;
        bestAt = t;
      }
    }
    return bestId === undefined ? null : { id: bestId, at: bestAt };
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
      if (s.records) {
        if (!s.records.has(id)) s.records.set(id, at);
      } else if (s.recId === undefined) {
        s.recId = id;
        s.recAt = at;
      } else if (s.recId !== id) {
        // A second record: from now on a Map holding both.
        s.records = new Map();
        s.records.set(s.recId, s.recAt);
        s.records.set(id, at);
        s.recId = undefined;
      }
      prune(s, at, retainMs);
    },
    latest(key, event, id, at, windowMs, retainMs) {
      check(at, retainMs, windowMs);
      const s = slotOf(key, event, at);
      if (s.answers) {
        const known = s.answers.get(id);
        if (known) return known.match && { ...known.match };
      } else if (s.ansId === id) return s.ansMatch && { ...s.ansMatch };
      const best = bestOf(s, id, at - windowMs, at);
      if (s.answers) s.answers.set(id, { at, match: best });
      else if (s.ansId === undefined) {
        s.ansId = id;
        s.ansAt = at;
        s.ansMatch = best;
      } else {
        // A second asker: from now on a Map holding both answers.
        s.answers = new Map();
        s.answers.set(s.ansId, { at: s.ansAt, match: s.ansMatch });
        s.answers.set(id, { at, match: best });
        s.ansId = undefined;
        s.ansMatch = null;
      }
      prune(s, at, retainMs);
      return best && { ...best };
    },
  };
}
