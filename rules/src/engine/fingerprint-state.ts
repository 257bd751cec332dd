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
 */
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
 * One (key, fingerprint). Most fingerprints are claimed once (a fresh photo), so a slot is an
 * array, not a map: `list` holds the claims sorted by at (ties in arrival order), live from
 * `head` on; `byId` is made only once the slot holds more than BY_ID_FROM claims.
 */
interface Slot {
  list: Claim[];
  head: number;
  byId: Map<string, Claim> | undefined;
  newest: number;
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

export function createMemoryFingerprintState(): MemoryFingerprintState {
  // key → fingerprint → slot: no joined (key, fingerprint) string per call, and the fingerprint
  // (a 64-hex photo hash) is the record's own string.
  const prints = new Map<string, Map<string, Slot>>();
  let slots = 0;
  const state: MemoryFingerprintState = {
    get size() {
      return slots;
    },
    clear: () => {
      prints.clear();
      slots = 0;
    },
    claim(key, fingerprint, owner, id, at, windowMs, retainMs) {
      if (!Number.isFinite(at)) throw new RangeError(`claim: at must be a finite epoch ms, got ${at}`);
      if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`claim: windowMs must be > 0, got ${windowMs}`);
      if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`claim: retainMs must be > 0, got ${retainMs}`);
      let byPrint = prints.get(key);
      if (!byPrint) {
        byPrint = new Map();
        prints.set(key, byPrint);
      }
      let p = byPrint.get(fingerprint);
      if (!p) {
        // A fingerprint seen for the first time (most photos): nothing to compare, nothing to
        // drop (the horizon is below `at`). A one-element array literal, not [] then push(),
        // which would reserve room for 17 claims in every such slot.
        byPrint.set(fingerprint, { list: [{ id, owner, at, answer: NO_MATCH }], head: 0, byId: undefined, newest: at });
        slots++;
        return { others: 0 };
      }
      const { list } = p;
      if (p.byId) {
        const known = p.byId.get(id);
        if (known) return copy(known.answer);
      } else {
        for (let i = p.head; i < list.length; i++) if (list[i]!.id === id) return copy(list[i]!.answer);
      }

      // Claims with |c.at − at| < windowMs: the run of the sorted list in (at − windowMs, at + windowMs).
      // Owners are counted in a set made only for a candidate. The earliest claim is the smallest
      // (at, owner, id), whatever the order they are visited in.
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
      const answer: FingerprintMatch = first ? { others: owners!.size, first: { owner: first.owner, id: first.id, at: first.at } } : NO_MATCH;
      const claim: Claim = { id, owner, at, answer };
      if (list.length === p.head || list[list.length - 1]!.at <= at) list.push(claim);
      else list.splice(firstAfter(list, at, p.head), 0, claim);
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
      if (h > 32 && h * 2 > list.length) {
        p.list = list.slice(h);
        h = 0;
      }
      p.head = h;
      return copy(answer);
    },
    claimMany(key, fingerprints, owner, id, at, windowMs, retainMs) {
      const answers: FingerprintMatch[] = [];
      for (const f of fingerprints) answers.push(state.claim(key, f, owner, id, at, windowMs, retainMs));
      return answers;
    },
  };
  return state;
}
