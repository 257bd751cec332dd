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
 *
 * Index: a key that has held more than INDEX_FROM members also keeps its (time, member) pairs
 * sorted by time — the sorted set Redis keeps. A count is then two binary searches instead of a
 * pass over every member the key ever had (an exact state forgets nothing, so that pass grew with
 * history), and retention drops a prefix. Records mostly arrive in time order, so an insertion is
 * mostly an append; a late record or a member moving forward shifts part of the arrays, which is
 * still less than the full pass it replaces. Most keys (a vehicle, a phone, an agent) never hold
 * more than a handful of members: they are scanned as before, without the arrays' memory.
 */
import { lowerBound, upperBound } from './sorted.js';
import type { WindowState } from './types.js';

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

/** A key's member count above which it keeps the sorted index (below, a pass is cheaper). */
export const INDEX_FROM = 16;

/**
 * One key. Its members with their latest times are the truth, in first-observation order (what
 * members() returns): `solo` / `soloAt` while the key has only ever had one member — most keys
 * (a vehicle, a phone, an agent) never get a second, and a Map per key was the state's largest
 * memory — then `members` from the second member on. Once the key is indexed, `times` and `names`
 * hold the same pairs sorted by time, live from `head` on; every member held appears there
 * exactly once, at its current time (moving a member forward removes its old pair).
 */
interface KeyEntry {
  solo: string | undefined;
  soloAt: number;
  members: Map<string, number> | undefined;
  times: number[] | undefined;
  names: string[];
  /** Pairs before it were dropped by retention; compacted once they are half the arrays. */
  head: number;
  newest: number;
}

/** `names` of a key not indexed yet: shared, never written (buildIndex replaces it). */
const NO_NAMES: string[] = [];

/** Builds the sorted index of a key from its members. */
function buildIndex(e: KeyEntry, members: Map<string, number>): number[] {
  const pairs = [...members].sort((a, b) => a[1] - b[1]);
  e.names = pairs.map((p) => p[0]);
  e.head = 0;
  return (e.times = pairs.map((p) => p[1]));
}

function insertPair(e: KeyEntry, times: number[], at: number, member: string): void {
  const n = times.length;
  if (n === e.head || times[n - 1]! <= at) {
    times.push(at);
    e.names.push(member);
    return;
  }
  const i = upperBound(times, at, e.head);
  times.splice(i, 0, at);
  e.names.splice(i, 0, member);
}

function removePair(e: KeyEntry, times: number[], at: number, member: string): void {
  // Several members may share a time: find this one among them.
  for (let i = lowerBound(times, at, e.head); i < times.length && times[i] === at; i++) {
    if (e.names[i] === member) {
      times.splice(i, 1);
      e.names.splice(i, 1);
      return;
    }
  }
  // Unreachable while `members` and the arrays agree (see KeyEntry).
  throw new Error(`window state index lost member of time ${at}`);
}

export function createMemoryWindowState(options: MemoryWindowStateOptions = {}): MemoryWindowState {
  const { retainMs } = options;
  if (retainMs !== undefined && !(Number.isFinite(retainMs) && retainMs > 0)) {
    throw new RangeError(`retainMs must be a positive number, got ${retainMs}`);
  }
  const keys = new Map<string, KeyEntry>();

  return {
    get keyCount() {
      return keys.size;
    },
    members(key) {
      const e = keys.get(key);
      if (e?.members) return new Map(e.members);
      return e?.solo === undefined ? new Map() : new Map([[e.solo, e.soloAt]]);
    },
    clear() {
      keys.clear();
    },
    observe(key, member, at, windowMs) {
      if (!Number.isFinite(at)) throw new RangeError(`observe: at must be a finite epoch ms, got ${at}`);
      if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`observe: windowMs must be > 0, got ${windowMs}`);

      const entry = keys.get(key);
      if (!entry) {
        // A new key: its one member is in its window (windowMs > 0) and above any horizon
        // (retainMs > 0).
        keys.set(key, { solo: member, soloAt: at, members: undefined, times: undefined, names: NO_NAMES, head: 0, newest: at });
        return 1;
      }
      if (at > entry.newest) entry.newest = at;
      const from = at - windowMs;

      let members = entry.members;
      let prev: number | undefined;
      if (members === undefined) {
        if (entry.solo === member) {
          // Still the key's only member. Its time is then also the key's newest, so retention
          // never drops it; it is `at` itself (counted) unless this is a late, older copy (the
          // member's time stays later than `at`: outside (at − windowMs, at]).
          if (at >= entry.soloAt) {
            entry.soloAt = at;
            return 1;
          }
          return 0;
        }
        // A second member: from now on a Map, first member first.
        members = entry.members = new Map();
        members.set(entry.solo!, entry.soloAt);
        entry.solo = undefined;
      } else prev = members.get(member);
      const moved = prev === undefined || at > prev;
      if (moved) members.set(member, at);

      let times = entry.times;
      if (times === undefined && members.size <= INDEX_FROM) {
        // Small key: one pass, as the contract reads.
        let n = 0;
        let oldest = Infinity;
        for (const t of members.values()) {
          if (t > from && t <= at) n++;
          if (t < oldest) oldest = t;
        }
        if (retainMs !== undefined && oldest <= entry.newest - retainMs) {
          const horizon = entry.newest - retainMs;
          // Deleting while iterating a Map is safe; keys() makes no [key, value] pair per member.
          for (const m of members.keys()) if (members.get(m)! <= horizon) members.delete(m);
        }
        return n;
      }
      if (times === undefined) times = buildIndex(entry, members); // this call's pair included
      else if (moved) {
        if (prev !== undefined) removePair(entry, times, prev, member);
        insertPair(entry, times, at, member);
      }

      // |{ t : at - windowMs < t <= at }| over the sorted times.
      const n = upperBound(times, at, entry.head) - upperBound(times, from, entry.head);

      if (retainMs !== undefined) {
        // Pairs at or before the horizon are a prefix of the sorted arrays. The index stays once
        // built, however few members retention leaves.
        const horizon = entry.newest - retainMs;
        const { names } = entry;
        let h = entry.head;
        while (h < times.length && times[h]! <= horizon) members.delete(names[h++]!);
        if (h > 32 && h * 2 > times.length) {
          entry.times = times.slice(h);
          entry.names = names.slice(h);
          h = 0;
        }
        entry.head = h;
      }
      return n;
    },
  };
}
