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
 *
 * Inside createMemoryRuleState() (memory-state.ts) intervalCore() adds expiry of idle keys
 * (expiry.ts: a key expires ceil(retainMs) after its last write; a known id writes nothing), a
 * read-only peek, snapshot entries and the count of intervals held, without changing any answer.
 */
import { ExpiryHeap, retainTtl, type ExpiryClock, type Expiring } from './expiry.js';
import type { EntryReader } from './snapshot.js';
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
interface KeyEntries extends Expiring {
  readonly key: string;
  entries: Map<string, Entry>;
  ends: number[];
  byEnd: Entry[];
  /** Entries before it were dropped; compacted once they are half the arrays. */
  head: number;
  maxStart: number;
}

/** What createMemoryRuleState() needs of the interval state besides its public face (internal). */
export interface IntervalCore {
  readonly api: MemoryIntervalState;
  /** Intervals held over all keys. */
  held(): number;
  /** What overlap() would answer now; changes nothing. */
  peek(key: string, id: string, member: string, start: number, end: number, retainMs: number): IntervalConflict;
  sweep(now: number): number;
  /**
   * One snapshot entry per key: ['i', key, expiresAt, maxStart, then per interval in arrival
   * order: id, member, start, end, overlapMs, and when overlapMs > 0 otherId, otherMember,
   * otherStart, otherEnd].
   */
  entries(): Generator<unknown[]>;
  load(r: EntryReader): void;
  loaded(): void;
}

function checkOverlap(start: number, end: number, retainMs: number): void {
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
    throw new RangeError(`overlap: need finite start <= end, got [${start}, ${end})`);
  }
  if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`overlap: retainMs must be > 0, got ${retainMs}`);
}

/** The answer for a new interval: the longest intersection with another member's (contract step 2). */
function answerOf(k: KeyEntries, member: string, start: number, end: number): IntervalConflict {
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
  return best ? { overlapMs: bestMs, other: { id: best.id, member: best.member, start: best.start, end: best.end } } : { overlapMs: 0 };
}

export function createMemoryIntervalState(): MemoryIntervalState {
  return intervalCore(undefined).api;
}

/** The interval state, with expiry tracked on `clock` when given (createMemoryRuleState). */
export function intervalCore(clock: ExpiryClock | undefined): IntervalCore {
  const keys = new Map<string, KeyEntries>();
  const expiry = clock === undefined ? undefined : new ExpiryHeap<KeyEntries>(clock);
  let held = 0;
  const newKey = (key: string, maxStart: number): KeyEntries => ({
    key,
    entries: new Map(),
    ends: [],
    byEnd: [],
    head: 0,
    maxStart,
    xH: -1,
    xAt: Number.NaN,
  });

  const api: MemoryIntervalState = {
    get keyCount() {
      return keys.size;
    },
    size: (key) => keys.get(key)?.entries.size ?? 0,
    clear: () => {
      keys.clear();
      held = 0;
      expiry?.clear();
    },
    overlap(key, id, member, start, end, retainMs) {
      checkOverlap(start, end, retainMs);
      let k = keys.get(key);
      if (!k) {
        k = newKey(key, start);
        keys.set(key, k);
      }
      // A known id answers from memory and writes nothing: in Redis its expiry does not move.
      const known = k.entries.get(id);
      if (known) return copy(known.answer);

      const answer = answerOf(k, member, start, end);
      const { ends, byEnd } = k;
      const entry: Entry = { id, member, start, end, answer };
      k.entries.set(id, entry);
      held++;
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
      held -= h - k.head;
      if (h > 32 && h * 2 > ends.length) {
        k.ends = ends.slice(h);
        k.byEnd = byEnd.slice(h);
        h = 0;
      }
      k.head = h;
      if (expiry !== undefined) expiry.touch(k, retainTtl(retainMs));
      return copy(answer);
    },
  };

  const drop = (k: KeyEntries): void => {
    if (keys.get(k.key) !== k) return;
    keys.delete(k.key);
    held -= k.entries.size;
  };

  return {
    api,
    held: () => held,
    peek(key, id, member, start, end, retainMs) {
      checkOverlap(start, end, retainMs);
      const k = keys.get(key);
      if (k === undefined) return { overlapMs: 0 };
      const known = k.entries.get(id);
      return known ? copy(known.answer) : answerOf(k, member, start, end);
    },
    sweep: (now) => (expiry === undefined ? 0 : expiry.sweep(now, drop)),
    *entries() {
      for (const k of keys.values()) {
        if (k.xH < 0) throw new Error(`interval state: key ${JSON.stringify(k.key)} has no expiry (not a createMemoryRuleState() state)`);
        const out: unknown[] = ['i', k.key, k.xAt, k.maxStart];
        for (const e of k.entries.values()) {
          const o = e.answer.other;
          out.push(e.id, e.member, e.start, e.end, e.answer.overlapMs);
          if (o) out.push(o.id, o.member, o.start, o.end);
        }
        yield out;
      }
    },
    load(r) {
      if (expiry === undefined) throw new Error('interval state: import needs a createMemoryRuleState() state');
      const key = r.str('key');
      r.named([['key', key]]);
      const expiresAt = r.num('expiresAt');
      const maxStart = r.num('maxStart');
      if (keys.has(key)) r.fail('duplicate key');
      const k = newKey(key, maxStart);
      while (r.more()) {
        const id = r.str('id');
        const member = r.str(`member of ${JSON.stringify(id)}`);
        const start = r.num(`start of ${JSON.stringify(id)}`);
        const end = r.num(`end of ${JSON.stringify(id)}`);
        if (end < start) r.fail(`interval ${JSON.stringify(id)} ends (${end}) before it starts (${start})`);
        if (start > maxStart) r.fail(`interval ${JSON.stringify(id)} starts (${start}) after the key's largest start ${maxStart}`);
        const overlapMs = r.num(`overlapMs of ${JSON.stringify(id)}`);
        if (overlapMs < 0) r.fail(`overlapMs of ${JSON.stringify(id)} must be >= 0, got ${overlapMs}`);
        let answer: IntervalConflict = { overlapMs };
        if (overlapMs > 0) {
          const other = { id: r.str(`other id of ${JSON.stringify(id)}`), member: r.str(`other member of ${JSON.stringify(id)}`), start: r.num(`other start of ${JSON.stringify(id)}`), end: r.num(`other end of ${JSON.stringify(id)}`) };
          answer = { overlapMs, other };
        }
        if (k.entries.has(id)) r.fail(`duplicate id ${JSON.stringify(id)}`);
        k.entries.set(id, { id, member, start, end, answer });
      }
      // The index: entries by end, ties in arrival order (what the inserts built). A stable sort.
      const byEnd = [...k.entries.values()].sort((a, b) => a.end - b.end);
      k.byEnd = byEnd;
      k.ends = byEnd.map((e) => e.end);
      keys.set(key, k);
      held += k.entries.size;
      expiry.load(k, expiresAt);
    },
    loaded: () => expiry?.flushLoad(),
  };
}
