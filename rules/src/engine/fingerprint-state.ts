/**
 * In-memory FingerprintState: the exact reference implementation of the contract in types.ts.
 *
 * Data: (key, fingerprint) → { claims (id, owner, at, answer), newest }.
 * claim(key, fingerprint, owner, id, at, windowMs, retainMs):
 *   - a known id returns its stored answer;
 *   - otherwise: the distinct other owners with a claim at |c.at − at| < windowMs, and the
 *     earliest such claim (ties: owner, then id); stored with the new claim;
 *   - claims at or before newest − retainMs are dropped afterwards.
 * claimMany() is claim() for each fingerprint in turn.
 *
 * Index: a (key, fingerprint)'s claims are kept sorted by time (the hub's `fp` zset), so the claims
 * within the window are one run found by binary search rather than a pass over a year of claims
 * of a common measurement vector, and retention drops a prefix.
 *
 * Inside createMemoryRuleState() (memory-state.ts) fingerprintCore() adds expiry of idle slots
 * (expiry.ts: a (key, fingerprint) expires ceil(retainMs) after its last write; a known id
 * writes nothing), a read-only peek, snapshot entries and the count of claims held, without
 * changing any answer.
 */
import { ExpiryHeap, retainTtl, type ExpiryClock, type Expiring } from './expiry.js';
import type { EntryReader } from './snapshot.js';
import type { FingerprintMatch, FingerprintState } from './types.js';

interface Claim {
  id: string;
  owner: string;
  at: number;
  answer: FingerprintMatch;
}

/** Synchronous: answers in place (the contract allows a promise; this never needs one). */
export interface MemoryFingerprintState extends FingerprintState {
  claim(key: string, fingerprint: string, owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch;
  claimMany(key: string, fingerprints: readonly string[], owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch[];
  /** Number of (key, fingerprint) pairs held. */
  readonly size: number;
  clear(): void;
}

const copy = (m: FingerprintMatch): FingerprintMatch => (m.first ? { others: m.others, first: { ...m.first } } : { others: m.others });

/** The stored answer of every claim that matched nothing: shared (answers go out as copies). */
const NO_MATCH: FingerprintMatch = Object.freeze({ others: 0 });

/** Live claims of a slot above which ids are looked up in a map rather than by a pass. */
const BY_ID_FROM = 8;

/**
 * One (key, fingerprint). Most fingerprints are claimed once (a fresh photo) and the state keeps
 * them for the retention time, so a slot holding one claim holds it inline (`id`, `owner`,
 * `answer`, and `newest` as its time) with no `list`: a claim object, an array and a boxed time
 * (four heap objects) less per slot, which was most of what the state retained per record — and
 * what every full collection marks again (docs/benchmarks.md).
 * From the second claim on, `list` holds the claims sorted by at (ties in arrival order), live
 * from `head` on, and the inline fields are no longer read; `byId` is made only once the slot
 * holds more than BY_ID_FROM claims.
 */
interface Slot extends Expiring {
  readonly key: string;
  readonly fingerprint: string;
  /** The one claim while `list` is undefined (its time is `newest`). */
  id: string;
  owner: string;
  answer: FingerprintMatch;
  list: Claim[] | undefined;
  head: number;
  byId: Map<string, Claim> | undefined;
  newest: number;
}

/**
 * The slots of one key. It carries the key's string so that every slot refers to that one
 * string: a key built per record (`inspection-values:<institution>:<hpzl>`) would otherwise stay
 * alive once per slot, for as long as the slot.
 */
class KeySlots extends Map<string, Slot> {
  constructor(readonly key: string) {
    super();
  }
}

/** First index i in [from, list.length) with list[i].at > x. */
function firstAfter(list: readonly Claim[], x: number, from: number): number {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.at <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What createMemoryRuleState() needs of the fingerprint state besides its public face (internal). */
export interface FingerprintCore {
  readonly api: MemoryFingerprintState;
  /** Claims held over all slots. */
  held(): number;
  /** What claim() / claimMany() would answer now; change nothing. */
  peek(key: string, fingerprint: string, owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch;
  peekMany(key: string, fingerprints: readonly string[], owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch[];
  sweep(now: number): number;
  /**
   * One snapshot entry per (key, fingerprint): ['f', key, fingerprint, expiresAt, newest,
   * flags (1: ids in a map), then per claim in time order: id, owner, at, others, and when
   * others > 0 firstOwner, firstId, firstAt].
   */
  entries(): Generator<unknown[]>;
  load(r: EntryReader): void;
  loaded(): void;
}

/** Snapshot flag: the slot looks ids up in a map. */
const BY_ID = 1;

function checkClaim(at: number, windowMs: number, retainMs: number): void {
  if (!Number.isFinite(at)) throw new RangeError(`claim: at must be a finite epoch ms, got ${at}`);
  if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`claim: windowMs must be > 0, got ${windowMs}`);
  if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`claim: retainMs must be > 0, got ${retainMs}`);
}

/** The stored answer of the claim of `id` held in the slot, if any. */
function knownAnswer(p: Slot, id: string): FingerprintMatch | undefined {
  const { list } = p;
  if (list === undefined) return p.id === id ? p.answer : undefined;
  if (p.byId) return p.byId.get(id)?.answer;
  for (let i = p.head; i < list.length; i++) if (list[i]!.id === id) return list[i]!.answer;
  return undefined;
}

/** The answer for a new claim (contract step 2): a shared NO_MATCH when nothing matches. */
function matchOf(p: Slot, owner: string, at: number, windowMs: number): FingerprintMatch {
  // Claims with |c.at − at| < windowMs: the run of the sorted list in (at − windowMs, at + windowMs).
  // Owners are counted in a set made only for a candidate. The earliest claim is the smallest
  // (at, owner, id), whatever the order they are visited in.
  const { list } = p;
  if (list === undefined) {
    // The one inline claim: within the window and of another owner, or nothing.
    const t = p.newest;
    return p.owner !== owner && t > at - windowMs && t < at + windowMs ? { others: 1, first: { owner: p.owner, id: p.id, at: t } } : NO_MATCH;
  }
  let owners: Set<string> | undefined;
  let first: Claim | undefined;
  const until = at + windowMs;
  for (let i = firstAfter(list, at - windowMs, p.head); i < list.length; i++) {
    const c = list[i]!;
    if (!(c.at < until)) break;
    if (c.owner === owner) continue;
    (owners ??= new Set()).add(c.owner);
    if (!first || c.at < first.at || (c.at === first.at && (c.owner < first.owner || (c.owner === first.owner && c.id < first.id)))) first = c;
  }
  return first ? { others: owners!.size, first: { owner: first.owner, id: first.id, at: first.at } } : NO_MATCH;
}

export function createMemoryFingerprintState(): MemoryFingerprintState {
  return fingerprintCore(undefined).api;
}

/** The fingerprint state, with expiry tracked on `clock` when given (createMemoryRuleState). */
export function fingerprintCore(clock: ExpiryClock | undefined): FingerprintCore {
  // key → fingerprint → slot: no joined (key, fingerprint) string per call, and the fingerprint
  // (a 64-hex photo hash) is the record's own string.
  const prints = new Map<string, KeySlots>();
  const expiry = clock === undefined ? undefined : new ExpiryHeap<Slot>(clock);
  let slots = 0;
  let held = 0;
  // The one place slots are made: every slot has the same fields in the same order (one hidden
  // class for all of them). `id`, `owner`, `answer`: the inline claim (at `newest`) when `list` is
  // undefined.
  const newSlot = (key: string, fingerprint: string, id: string, owner: string, answer: FingerprintMatch, list: Claim[] | undefined, newest: number): Slot => ({
    key,
    fingerprint,
    id,
    owner,
    answer,
    list,
    head: 0,
    byId: undefined,
    newest,
    xH: -1,
    xAt: Number.NaN,
  });

  const state: MemoryFingerprintState = {
    get size() {
      return slots;
    },
    clear: () => {
      prints.clear();
      slots = 0;
      held = 0;
      expiry?.clear();
    },
    claim(key, fingerprint, owner, id, at, windowMs, retainMs) {
      checkClaim(at, windowMs, retainMs);
      let byPrint = prints.get(key);
      if (!byPrint) {
        byPrint = new KeySlots(key);
        prints.set(key, byPrint);
      }
      let p = byPrint.get(fingerprint);
      if (!p) {
        // A fingerprint seen for the first time (most photos): nothing to compare, nothing to
        // drop (the horizon is below `at`); the claim is held inline.
        p = newSlot(byPrint.key, fingerprint, id, owner, NO_MATCH, undefined, at);
        byPrint.set(fingerprint, p);
        slots++;
        held++;
        if (expiry !== undefined) expiry.touch(p, retainTtl(retainMs));
        return { others: 0 };
      }
      // A known id answers from memory and writes nothing: in Redis its expiry does not move.
      const known = knownAnswer(p, id);
      if (known) return copy(known);

      const answer = matchOf(p, owner, at, windowMs);
      const claim: Claim = { id, owner, at, answer };
      let { list } = p;
      if (list === undefined) {
        // The second claim: the inline one moves into a list (it is live: it is the newest so far).
        const one: Claim = { id: p.id, owner: p.owner, at: p.newest, answer: p.answer };
        list = p.list = one.at <= at ? [one, claim] : [claim, one];
        // Not read from now on; cleared so that they keep nothing alive once the list drops it.
        p.id = '';
        p.owner = '';
        p.answer = NO_MATCH;
      } else if (list.length === p.head || list[list.length - 1]!.at <= at) list.push(claim);
      else list.splice(firstAfter(list, at, p.head), 0, claim);
      held++;
      if (p.byId) p.byId.set(id, claim);
      else if (list.length - p.head > BY_ID_FROM) {
        p.byId = new Map();
        for (let i = p.head; i < list.length; i++) p.byId.set(list[i]!.id, list[i]!);
      }

      if (at > p.newest) p.newest = at;
      // Claims at or before the horizon are a prefix of the sorted list.
      const horizon = p.newest - retainMs;
      let h = p.head;
      while (h < list.length && list[h]!.at <= horizon) {
        // (Not `p.byId?.delete(list[h++].id)`: optional chaining would skip the increment.)
        const dropped = list[h++]!;
        if (p.byId) p.byId.delete(dropped.id);
      }
      held -= h - p.head;
      if (h > 32 && h * 2 > list.length) {
        p.list = list.slice(h);
        h = 0;
      }
      p.head = h;
      if (expiry !== undefined) expiry.touch(p, retainTtl(retainMs));
      return copy(answer);
    },
    claimMany(key, fingerprints, owner, id, at, windowMs, retainMs) {
      const answers: FingerprintMatch[] = [];
      for (const f of fingerprints) answers.push(state.claim(key, f, owner, id, at, windowMs, retainMs));
      return answers;
    },
  };

  function peek(key: string, fingerprint: string, owner: string, id: string, at: number, windowMs: number, retainMs: number): FingerprintMatch {
    checkClaim(at, windowMs, retainMs);
    const p = prints.get(key)?.get(fingerprint);
    if (p === undefined) return { others: 0 };
    return copy(knownAnswer(p, id) ?? matchOf(p, owner, at, windowMs));
  }

  const drop = (p: Slot): void => {
    const byPrint = prints.get(p.key);
    if (byPrint === undefined || byPrint.get(p.fingerprint) !== p) return;
    byPrint.delete(p.fingerprint);
    if (byPrint.size === 0) prints.delete(p.key);
    slots--;
    held -= p.list === undefined ? 1 : p.list.length - p.head;
  };

  return {
    api: state,
    held: () => held,
    peek,
    // A duplicate fingerprint in the list: the real call answers it from the claim it just made,
    // which is the answer computed the first time — and a peek computes the same answer again
    // from the same, unchanged, slot.
    peekMany: (key, fingerprints, owner, id, at, windowMs, retainMs) => fingerprints.map((f) => peek(key, f, owner, id, at, windowMs, retainMs)),
    sweep: (now) => (expiry === undefined ? 0 : expiry.sweep(now, drop)),
    *entries() {
      for (const byPrint of prints.values()) {
        for (const p of byPrint.values()) {
          if (p.xH < 0) throw new Error(`fingerprint state: key ${JSON.stringify(p.key)} has no expiry (not a createMemoryRuleState() state)`);
          const out: unknown[] = ['f', p.key, p.fingerprint, p.xAt, p.newest, p.byId ? BY_ID : 0];
          const { list } = p;
          const put = (id: string, owner: string, at: number, answer: FingerprintMatch) => {
            const f = answer.first;
            out.push(id, owner, at, answer.others);
            if (f) out.push(f.owner, f.id, f.at);
          };
          if (list === undefined) put(p.id, p.owner, p.newest, p.answer);
          else
            for (let i = p.head; i < list.length; i++) {
              const c = list[i]!;
              put(c.id, c.owner, c.at, c.answer);
            }
          yield out;
        }
      }
    },
    load(r) {
      if (expiry === undefined) throw new Error('fingerprint state: import needs a createMemoryRuleState() state');
      const key = r.str('key');
      r.named([['key', key]]);
      const fingerprint = r.str('fingerprint');
      r.named([['key', key], ['fingerprint', fingerprint]]);
      const expiresAt = r.num('expiresAt');
      const newest = r.num('newest');
      const flags = r.int('flags', 2);
      if (prints.get(key)?.has(fingerprint)) r.fail('duplicate (key, fingerprint)');
      const list: Claim[] = [];
      const ids = new Set<string>();
      while (r.more()) {
        const id = r.str('id');
        const owner = r.str(`owner of ${JSON.stringify(id)}`);
        const at = r.num(`at of ${JSON.stringify(id)}`);
        const others = r.num(`others of ${JSON.stringify(id)}`);
        if (!(Number.isInteger(others) && others >= 0)) r.fail(`others of ${JSON.stringify(id)} must be an integer >= 0, got ${others}`);
        let answer = NO_MATCH;
        if (others > 0) answer = { others, first: { owner: r.str(`first owner of ${JSON.stringify(id)}`), id: r.str(`first id of ${JSON.stringify(id)}`), at: r.num(`first at of ${JSON.stringify(id)}`) } };
        if (at > newest) r.fail(`claim ${JSON.stringify(id)} at ${at} is later than the slot's newest time ${newest}`);
        // The list is the time index: it must come sorted (ties in arrival order, as written).
        if (list.length > 0 && list[list.length - 1]!.at > at) r.fail(`claims out of time order at ${JSON.stringify(id)}`);
        if (ids.has(id)) r.fail(`duplicate id ${JSON.stringify(id)}`);
        ids.add(id);
        list.push({ id, owner, at, answer });
      }
      if (list.length === 0) r.fail('no claims');
      let byPrint = prints.get(key);
      if (!byPrint) prints.set(key, (byPrint = new KeySlots(key)));
      // One claim at the newest time is held inline, as claim() holds it (unless the slot looked
      // ids up in a map; a later claim dropped by the horizon leaves a list, as in the original).
      const one = list[0]!;
      const p = newSlot(byPrint.key, fingerprint, one.id, one.owner, one.answer, list.length === 1 && one.at === newest && !(flags & BY_ID) ? undefined : list, newest);
      if (flags & BY_ID) {
        p.byId = new Map();
        for (const c of list) p.byId.set(c.id, c);
      }
      byPrint.set(fingerprint, p);
      slots++;
      held += list.length;
      expiry.load(p, expiresAt);
    },
    loaded: () => expiry?.flushLoad(),
  };
}
