// Frozen copy of src/engine/fingerprint-state.ts as it was before its memory-state index: the plain
// scanning implementation, kept as the reference the indexed one is checked against.
/**
 * In-memory FingerprintState: the exact reference implementation of the contract in types.ts.
 *
 * Data: (key, fingerprint) → { claims: id → (owner, at, answer), newest }.
 * claim(key, fingerprint, owner, id, at, windowMs, retainMs):
 *   - a known id returns its stored answer;
 *   - otherwise: the distinct other owners with a claim at |c.at − at| < windowMs, and the
 *     earliest such claim (ties: owner, then id); stored with the new claim;
 *   - claims at or before newest − retainMs are dropped afterwards.
 * claimMany() is claim() for each fingerprint in turn.
 */
import type { FingerprintMatch, FingerprintState } from '../../src/engine/types.js';

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

export function createScanFingerprintState(): MemoryFingerprintState {
  // oldest: no claim is at or before it, so pruning is skipped while the horizon is below it.
  const prints = new Map<string, { claims: Map<string, Claim>; newest: number; oldest: number }>();
  const state: MemoryFingerprintState = {
    get size() {
      return prints.size;
    },
    clear: () => prints.clear(),
    claim(key, fingerprint, owner, id, at, windowMs, retainMs) {
      if (!Number.isFinite(at)) throw new RangeError(`claim: at must be a finite epoch ms, got ${at}`);
      if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`claim: windowMs must be > 0, got ${windowMs}`);
      if (!(Number.isFinite(retainMs) && retainMs > 0)) throw new RangeError(`claim: retainMs must be > 0, got ${retainMs}`);
      const pk = `${key}\u0000${fingerprint}`;
      let p = prints.get(pk);
      if (!p) {
        p = { claims: new Map(), newest: at, oldest: at };
        prints.set(pk, p);
      }
      const known = p.claims.get(id);
      if (known) return copy(known.answer);

      // Most fingerprints are new (a fresh photo): the owner set is made only for a candidate.
      let owners: Set<string> | undefined;
      let first: Claim | undefined;
      for (const c of p.claims.values()) {
        if (c.owner === owner || !(Math.abs(c.at - at) < windowMs)) continue;
        (owners ??= new Set()).add(c.owner);
        if (!first || c.at < first.at || (c.at === first.at && (c.owner < first.owner || (c.owner === first.owner && c.id < first.id)))) first = c;
      }
      const answer: FingerprintMatch = first ? { others: owners!.size, first: { owner: first.owner, id: first.id, at: first.at } } : { others: 0 };
      p.claims.set(id, { id, owner, at, answer });
      if (at > p.newest) p.newest = at;
      if (at < p.oldest) p.oldest = at;
      const horizon = p.newest - retainMs;
      if (p.oldest <= horizon) {
        let oldest = Infinity;
        for (const c of p.claims.values()) {
          if (c.at <= horizon) p.claims.delete(c.id);
          else if (c.at < oldest) oldest = c.at;
        }
        p.oldest = oldest;
      }
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
