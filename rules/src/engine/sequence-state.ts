/**
 * In-memory SequenceState: the exact reference implementation of the contract in types.ts.
 *
 * Data: (key, event) → { records: id → at, answers: asker id → (asker at, match | null), newest }.
 * record() keeps the first time of an id; latest() answers once per asker: the record with the
 * largest time in (at − windowMs, at] other than the asker (ties: smaller id), remembered.
 * Records and answers at or before newest − retainMs are dropped.
 *
 * Inside createMemoryRuleState() (memory-state.ts) sequenceCore() adds expiry of idle slots
 * (expiry.ts: a (key, event) expires ceil(retainMs) after its last write — every record() writes,
 * as Redis's ZADD NX + PEXPIRE does; a latest() for a known asker writes nothing), a read-only
 * peek, snapshot entries and the count of records and answers held, without changing any answer.
 */
import { ExpiryHeap, retainTtl, type ExpiryClock, type Expiring } from './expiry.js';
import type { EntryReader } from './snapshot.js';
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
interface Slot extends Expiring {
  readonly key: string;
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

/** What createMemoryRuleState() needs of the sequence state besides its public face (internal). */
export interface SequenceCore {
  readonly api: MemorySequenceState;
  /** Records plus stored answers held over all slots. */
  held(): number;
  /** What latest() would answer now; changes nothing. */
  peekLatest(key: string, event: string, id: string, at: number, windowMs: number, retainMs: number): SequenceMatch | null;
  /** Checks record()'s arguments as record() does; records nothing. */
  peekRecord(key: string, event: string, id: string, at: number, retainMs: number): void;
  sweep(now: number): number;
  /**
   * One snapshot entry per (key, event): ['s', key, event, expiresAt, newest, oldest (null
   * for none), flags (1: records in a map, 2: answers in a map), record count, then id, at per
   * record, then per answer: asker id, asker at, and the match's id, at — or null for no match].
   */
  entries(): Generator<unknown[]>;
  load(r: EntryReader): void;
  loaded(): void;
}

/** Snapshot flags of a sequence slot. */
const RECORDS_MAP = 1;
const ANSWERS_MAP = 2;

/** The record with the largest time in (from, at] other than `id` (ties: smaller id). */
function bestOf(s: Slot, id: string, from: number, at: number): SequenceMatch | null {
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
}

/** The stored answer for asker `id`: undefined when it has none (null is a stored "no match"). */
function knownAnswer(s: Slot, id: string): SequenceMatch | null | undefined {
  if (s.answers) {
    const known = s.answers.get(id);
    return known === undefined ? undefined : known.match;
  }
  return s.ansId === id ? s.ansMatch : undefined;
}

const heldIn = (s: Slot): number =>
  (s.records ? s.records.size : s.recId !== undefined ? 1 : 0) + (s.answers ? s.answers.size : s.ansId !== undefined ? 1 : 0);

export function createMemorySequenceState(): MemorySequenceState {
  return sequenceCore(undefined).api;
}

/** The sequence state, with expiry tracked on `clock` when given (createMemoryRuleState). */
export function sequenceCore(clock: ExpiryClock | undefined): SequenceCore {
  // key → its slots (one per event, chained): no joined (key, event) string per call.
  const slots = new Map<string, Slot>();
  const expiry = clock === undefined ? undefined : new ExpiryHeap<Slot>(clock);
  let count = 0;
  let held = 0;
  const emptySlot = (key: string, event: string, next: Slot | undefined, at: number): Slot => ({
    key,
    event,
    next,
    recId: undefined,
    recAt: 0,
    records: undefined,
    ansId: undefined,
    ansAt: 0,
    ansMatch: null,
    answers: undefined,
    newest: at,
    oldest: at,
    xH: -1,
    xAt: Number.NaN,
  });
  const findSlot = (key: string, event: string): Slot | undefined => {
    for (let s = slots.get(key); s !== undefined; s = s.next) if (s.event === event) return s;
    return undefined;
  };
  const slotOf = (key: string, event: string, at: number): Slot => {
    const head = slots.get(key);
    for (let s = head; s !== undefined; s = s.next) if (s.event === event) return s;
    const s = emptySlot(key, event, head, at);
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
        if (t <= horizon) {
          s.records.delete(id);
          held--;
        } else if (t < oldest) oldest = t;
      }
    } else if (s.recId !== undefined) {
      if (s.recAt <= horizon) {
        s.recId = undefined;
        held--;
      } else if (s.recAt < oldest) oldest = s.recAt;
    }
    if (s.answers) {
      for (const id of s.answers.keys()) {
        const a = s.answers.get(id)!.at;
        if (a <= horizon) {
          s.answers.delete(id);
          held--;
        } else if (a < oldest) oldest = a;
      }
    } else if (s.ansId !== undefined) {
      if (s.ansAt <= horizon) {
        s.ansId = undefined;
        s.ansMatch = null;
        held--;
      } else if (s.ansAt < oldest) oldest = s.ansAt;
    }
    s.oldest = oldest;
  };
  const api: MemorySequenceState = {
    get size() {
      return count;
    },
    clear: () => {
      slots.clear();
      count = 0;
      held = 0;
      expiry?.clear();
    },
    record(key, event, id, at, retainMs) {
      check(at, retainMs);
      const s = slotOf(key, event, at);
      if (s.records) {
        if (!s.records.has(id)) {
          s.records.set(id, at);
          held++;
        }
      } else if (s.recId === undefined) {
        s.recId = id;
        s.recAt = at;
        held++;
      } else if (s.recId !== id) {
        // A second record: from now on a Map holding both.
        s.records = new Map();
        s.records.set(s.recId, s.recAt);
        s.records.set(id, at);
        s.recId = undefined;
        held++;
      }
      prune(s, at, retainMs);
      // Redis runs ZADD NX, the trim and PEXPIRE for every record, a known id's too.
      if (expiry !== undefined) expiry.touch(s, retainTtl(retainMs));
    },
    latest(key, event, id, at, windowMs, retainMs) {
      check(at, retainMs, windowMs);
      const s = slotOf(key, event, at);
      // A known asker answers from memory and writes nothing: in Redis its expiry does not move.
      const known = knownAnswer(s, id);
      if (known !== undefined) return known && { ...known };
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
      held++;
      prune(s, at, retainMs);
      if (expiry !== undefined) expiry.touch(s, retainTtl(retainMs));
      return best && { ...best };
    },
  };

  const drop = (s: Slot): void => {
    const head = slots.get(s.key);
    if (head === s) {
      if (s.next === undefined) slots.delete(s.key);
      else slots.set(s.key, s.next);
    } else {
      let p = head;
      while (p !== undefined && p.next !== s) p = p.next;
      if (p === undefined) return; // not held (cleared and written again)
      p.next = s.next;
    }
    s.next = undefined;
    count--;
    held -= heldIn(s);
  };

  return {
    api,
    held: () => held,
    peekLatest(key, event, id, at, windowMs, retainMs) {
      check(at, retainMs, windowMs);
      const s = findSlot(key, event);
      if (s === undefined) return null;
      const known = knownAnswer(s, id);
      if (known !== undefined) return known && { ...known };
      return bestOf(s, id, at - windowMs, at);
    },
    peekRecord(_key, _event, _id, at, retainMs) {
      check(at, retainMs);
    },
    sweep: (now) => (expiry === undefined ? 0 : expiry.sweep(now, drop)),
    *entries() {
      for (const head of slots.values()) {
        for (let s: Slot | undefined = head; s !== undefined; s = s.next) {
          if (s.xH < 0) throw new Error(`sequence state: key ${JSON.stringify(s.key)} has no expiry (not a createMemoryRuleState() state)`);
          const flags = (s.records ? RECORDS_MAP : 0) | (s.answers ? ANSWERS_MAP : 0);
          const out: unknown[] = ['s', s.key, s.event, s.xAt, s.newest, s.oldest === Infinity ? null : s.oldest, flags];
          if (s.records) {
            out.push(s.records.size);
            for (const [id, t] of s.records) out.push(id, t);
          } else if (s.recId !== undefined) out.push(1, s.recId, s.recAt);
          else out.push(0);
          const answer = (id: string, at: number, m: SequenceMatch | null) => {
            out.push(id, at);
            if (m) out.push(m.id, m.at);
            else out.push(null);
          };
          if (s.answers) for (const [id, a] of s.answers) answer(id, a.at, a.match);
          else if (s.ansId !== undefined) answer(s.ansId, s.ansAt, s.ansMatch);
          yield out;
        }
      }
    },
    load(r) {
      if (expiry === undefined) throw new Error('sequence state: import needs a createMemoryRuleState() state');
      const key = r.str('key');
      r.named([['key', key]]);
      const event = r.str('event');
      r.named([['key', key], ['event', event]]);
      const expiresAt = r.num('expiresAt');
      const newest = r.num('newest');
      const oldest = r.numOrInf('oldest');
      const flags = r.int('flags', 4);
      const nRecords = r.int('record count', 2 ** 32);
      if (findSlot(key, event)) r.fail('duplicate (key, event)');
      if (!(flags & RECORDS_MAP) && nRecords > 1) r.fail(`a slot without a record map holds at most one record, got ${nRecords}`);
      // `oldest` is a lower bound of every time held (pruning is skipped while the horizon is
      // below it): a larger one would keep what must be dropped.
      const time = (what: string): number => {
        const t = r.num(what);
        if (t < oldest) r.fail(`${what} ${t} is below the slot's oldest time ${oldest}`);
        if (t > newest) r.fail(`${what} ${t} is later than the slot's newest time ${newest}`);
        return t;
      };
      const records = new Map<string, number>();
      for (let i = 0; i < nRecords; i++) {
        const id = r.str('record id');
        const t = time(`time of record ${JSON.stringify(id)}`);
        if (records.has(id)) r.fail(`duplicate record ${JSON.stringify(id)}`);
        records.set(id, t);
      }
      const answers = new Map<string, { at: number; match: SequenceMatch | null }>();
      while (r.more()) {
        const id = r.str('asker id');
        const at = time(`time of asker ${JSON.stringify(id)}`);
        const match = r.null() ? null : { id: r.str(`match id of asker ${JSON.stringify(id)}`), at: r.num(`match time of asker ${JSON.stringify(id)}`) };
        if (answers.has(id)) r.fail(`duplicate asker ${JSON.stringify(id)}`);
        answers.set(id, { at, match });
      }
      if (!(flags & ANSWERS_MAP) && answers.size > 1) r.fail(`a slot without an answer map holds at most one answer, got ${answers.size}`);

      // Slots of a key are chained in the order the snapshot lists them (the original chain's).
      let tail = slots.get(key);
      while (tail?.next !== undefined) tail = tail.next;
      const s = emptySlot(key, event, undefined, newest);
      s.oldest = oldest;
      // A slot without a map holds its one record / answer (if any) in fields.
      if (flags & RECORDS_MAP) s.records = records;
      else {
        for (const [id, t] of records) {
          s.recId = id;
          s.recAt = t;
        }
      }
      if (flags & ANSWERS_MAP) s.answers = answers;
      else {
        for (const [id, a] of answers) {
          s.ansId = id;
          s.ansAt = a.at;
          s.ansMatch = a.match;
        }
      }
      if (tail === undefined) slots.set(key, s);
      else tail.next = s;
      count++;
      held += records.size + answers.size;
      expiry.load(s, expiresAt);
    },
    loaded: () => expiry?.flushLoad(),
  };
}
