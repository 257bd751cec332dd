// Frozen copy of src/engine/window-state.ts as it was before its memory-state index: the plain
// scanning implementation, kept as the reference the indexed one is checked against.
/**
 * In-memory WindowState: the exact reference implementation of the contract in types.ts, used by
 * tests, the embedded demo and as the model the hub's Redis implementation is checked against.
 *
 * Data: key → (member → latest time observed). observe(key, member, at, windowMs):
 *   1. time[member] = max(time[member], at)         — re-observation is idempotent; a late,
 *                                                     older copy never moves a member back.
 *   2. return |{ m : at - windowMs < time[m] <= at }| — the window is half-open on the left, so a
 *                                                     member exactly windowMs old has expired.
 * This is what Redis does with `ZADD key GT at member` + `ZCOUNT key (at-windowMs at`.
 *
 * Memory: exact by default (nothing is forgotten). With `retainMs`, members older than
 * (latest time seen on the key - retainMs) are dropped; counts stay exact as long as every
 * windowMs <= retainMs and records arrive less than (retainMs - windowMs) out of order.
 */
import type { WindowState } from '../../src/engine/types.js';

export interface MemoryWindowStateOptions {
  /** Forget members this much older than the newest observation of their key. Default: never. */
  retainMs?: number;
}

/** Synchronous: answers in place (the contract allows a promise; this never needs one). */
export interface MemoryWindowState extends WindowState {
  observe(key: string, member: string, at: number, windowMs: number): number;
  /** Number of keys currently held (for tests and memory checks). */
  readonly keyCount: number;
  /** Members currently held under `key` with their latest time (a copy). */
  members(key: string): Map<string, number>;
  clear(): void;
}

export function createScanWindowState(options: MemoryWindowStateOptions = {}): MemoryWindowState {
  const { retainMs } = options;
  if (retainMs !== undefined && !(Number.isFinite(retainMs) && retainMs > 0)) {
    throw new RangeError(`retainMs must be a positive number, got ${retainMs}`);
  }
  const keys = new Map<string, { members: Map<string, number>; newest: number }>();

  return {
    get keyCount() {
      return keys.size;
    },
    members(key) {
      return new Map(keys.get(key)?.members ?? []);
    },
    clear() {
      keys.clear();
    },
    observe(key, member, at, windowMs) {
      if (!Number.isFinite(at)) throw new RangeError(`observe: at must be a finite epoch ms, got ${at}`);
      if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`observe: windowMs must be > 0, got ${windowMs}`);

      let entry = keys.get(key);
      if (!entry) {
        entry = { members: new Map(), newest: at };
        keys.set(key, entry);
      }
      const prev = entry.members.get(member);
      if (prev === undefined || at > prev) entry.members.set(member, at);
      if (at > entry.newest) entry.newest = at;

      const from = at - windowMs;
      let n = 0;
      for (const t of entry.members.values()) if (t > from && t <= at) n++;

      if (retainMs !== undefined) {
        const horizon = entry.newest - retainMs;
        for (const [m, t] of entry.members) if (t <= horizon) entry.members.delete(m);
      }
      return n;
    },
  };
}
