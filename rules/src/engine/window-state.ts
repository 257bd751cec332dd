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
 *
 * With `windowRetainBeyondMs` the state also prunes per call as the hub's Redis does: members at
 * or before (newest − (windowMs + windowRetainBeyondMs)) are dropped, windowMs being the call's.
 *
 * Inside createMemoryRuleState() (memory-state.ts) the state is also durable: windowCore() adds
 * what that module needs — expiry of idle keys (expiry.ts), a read-only peek, snapshot entries
 * and the count of members held — without changing any answer.
 */
import { ExpiryHeap, WINDOW_GRACE_MS, type ExpiryClock, type Expiring } from './expiry.js';
import type { EntryReader } from './snapshot.js';
import { lowerBound, upperBound } from './sorted.js';
import type { WindowState } from './types.js';

export interface MemoryWindowStateOptions {
  /** Forget members this much older than the newest observation of their key. Default: never. */
  retainMs?: number;
  /**
   * Prune per call like the hub's Redis window state: members whose time is at or before (the
   * key's newest time) − (windowMs + windowRetainBeyondMs) are dropped, windowMs being the
   * call's, after the call has counted. Counts stay exact while a key is always observed with the
   * same windowMs (the engine's keys are: one rule, one window) and records arrive less than
   * windowRetainBeyondMs out of order: a dropped member is then outside every later window, and
   * observing it again puts it at the new time either way. Default: no such pruning. In
   * createMemoryRuleState() it also sets a window key's expiry: windowMs + windowRetainBeyondMs
   * after its last write (without it windowMs + 1 day, as Redis). With retainMs as well, the
   * shorter horizon of the two applies.
   */
  windowRetainBeyondMs?: number;
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
interface KeyEntry extends Expiring {
  /** Its key in the map (a sweep removes it by key). */
  readonly key: string;
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

/**
 * What createMemoryRuleState() (memory-state.ts) needs of the window state besides its public
 * face. Internal: not exported from the package.
 */
export interface WindowCore {
  readonly api: MemoryWindowState;
  /** Members held over all keys (kept as a running count: O(1)). */
  held(): number;
  /** What observe() would answer now; changes nothing. */
  peek(key: string, member: string, at: number, windowMs: number): number;
  /** Drops the keys with expiresAt <= now; returns how many. */
  sweep(now: number): number;
  /** One snapshot entry per key: ['w', key, expiresAt, newest, flags, member, time, …]. */
  entries(): Generator<unknown[]>;
  /** Loads one entry (the reader is past its tag). Throws on a malformed one, naming its key. */
  load(r: EntryReader): void;
  /** Links the loaded keys into the expiry lists (end of an import). */
  loaded(): void;
}

/** Snapshot flags of a window key. */
const AS_MAP = 1;
const INDEXED = 2;

function checkWindowOptions(retainMs: number | undefined, beyond: number | undefined): void {
  if (retainMs !== undefined && !(Number.isFinite(retainMs) && retainMs > 0)) {
    throw new RangeError(`retainMs must be a positive number, got ${retainMs}`);
  }
  if (beyond !== undefined && !(Number.isFinite(beyond) && beyond >= 0)) {
    throw new RangeError(`windowRetainBeyondMs must be a finite number >= 0, got ${beyond}`);
  }
}

function checkObserve(at: number, windowMs: number): void {
  if (!Number.isFinite(at)) throw new RangeError(`observe: at must be a finite epoch ms, got ${at}`);
  if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`observe: windowMs must be > 0, got ${windowMs}`);
}

export function createMemoryWindowState(options: MemoryWindowStateOptions = {}): MemoryWindowState {
  return windowCore(options, undefined).api;
}

/**
 * The window state, with expiry tracked on `clock` when given (createMemoryRuleState) and not at
 * all otherwise (createMemoryWindowState: no cost, nothing to sweep).
 */
export function windowCore(options: MemoryWindowStateOptions, clock: ExpiryClock | undefined): WindowCore {
  const { retainMs, windowRetainBeyondMs: beyond } = options;
  checkWindowOptions(retainMs, beyond);
  const keys = new Map<string, KeyEntry>();
  const expiry = clock === undefined ? undefined : new ExpiryHeap<KeyEntry>(clock);
  // Redis's PEXPIRE of the key is windowMs plus this.
  const grace = beyond ?? WINDOW_GRACE_MS;
  /** Members held, over all keys. */
  let held = 0;

  const api: MemoryWindowState = {
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
      held = 0;
      expiry?.clear();
    },
    observe(key, member, at, windowMs) {
      checkObserve(at, windowMs);

      const entry = keys.get(key);
      if (!entry) {
        // A new key: its one member is in its window (windowMs > 0) and above any horizon
        // (retainMs > 0).
        const e: KeyEntry = {
          key,
          solo: member,
          soloAt: at,
          members: undefined,
          times: undefined,
          names: NO_NAMES,
          head: 0,
          newest: at,
          xH: -1,
          xAt: Number.NaN,
        };
        keys.set(key, e);
        held++;
        if (expiry !== undefined) expiry.touch(e, windowMs + grace);
        return 1;
      }
      // Every observe writes in Redis (ZADD GT, then PEXPIRE), a re-observation included.
      if (expiry !== undefined) expiry.touch(entry, windowMs + grace);
      if (at > entry.newest) entry.newest = at;
      const from = at - windowMs;
      // How much older than the newest time a member may be and still be held: the retainMs
      // option, the windowRetainBeyondMs one (per call: it depends on windowMs), or both (the
      // shorter wins). Undefined: keep everything.
      const retain =
        beyond === undefined ? retainMs : retainMs !== undefined && retainMs < windowMs + beyond ? retainMs : windowMs + beyond;

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
      if (prev === undefined) held++;

      let times = entry.times;
      if (times === undefined && members.size <= INDEX_FROM) {
        // Small key: one pass, as the contract reads.
        let n = 0;
        let oldest = Infinity;
        for (const t of members.values()) {
          if (t > from && t <= at) n++;
          if (t < oldest) oldest = t;
        }
        if (retain !== undefined && oldest <= entry.newest - retain) {
          const horizon = entry.newest - retain;
          const before = members.size;
          // Deleting while iterating a Map is safe; keys() makes no [key, value] pair per member.
          for (const m of members.keys()) if (members.get(m)! <= horizon) members.delete(m);
          held -= before - members.size;
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

      if (retain !== undefined) {
        // Pairs at or before the horizon are a prefix of the sorted arrays. The index stays once
        // built, however few members retention leaves.
        const horizon = entry.newest - retain;
        const { names } = entry;
        let h = entry.head;
        while (h < times.length && times[h]! <= horizon) members.delete(names[h++]!);
        held -= h - entry.head;
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

  /** The count observe() would return now: the caller's member counted at max(its time, at). */
  function peek(key: string, member: string, at: number, windowMs: number): number {
    checkObserve(at, windowMs);
    const e = keys.get(key);
    if (e === undefined) return 1;
    const from = at - windowMs;
    const members = e.members;
    if (members === undefined) {
      if (e.solo === member) return at >= e.soloAt ? 1 : 0;
      return (e.soloAt > from && e.soloAt <= at ? 1 : 0) + 1;
    }
    const prev = members.get(member);
    // The caller's member ends at max(prev, at): inside (at − windowMs, at] iff prev <= at.
    let n = prev === undefined || prev <= at ? 1 : 0;
    const times = e.times;
    if (times === undefined) {
      members.forEach((t, m) => {
        if (m !== member && t > from && t <= at) n++;
      });
    } else {
      n += upperBound(times, at, e.head) - upperBound(times, from, e.head);
      if (prev !== undefined && prev > from && prev <= at) n--;
    }
    return n;
  }

  const drop = (e: KeyEntry): void => {
    // Identity check: a key cleared and written again is another entry.
    if (keys.get(e.key) !== e) return;
    keys.delete(e.key);
    held -= e.members === undefined ? 1 : e.members.size;
  };

  return {
    api,
    held: () => held,
    peek,
    sweep: (now) => (expiry === undefined ? 0 : expiry.sweep(now, drop)),
    *entries() {
      for (const e of keys.values()) {
        if (e.xH < 0) throw new Error(`window state: key ${JSON.stringify(e.key)} has no expiry (not a createMemoryRuleState() state)`);
        const out: unknown[] = ['w', e.key, e.xAt, e.newest, (e.members ? AS_MAP : 0) | (e.times ? INDEXED : 0)];
        if (e.members) for (const [m, t] of e.members) out.push(m, t);
        else out.push(e.solo, e.soloAt);
        yield out;
      }
    },
    load(r) {
      if (expiry === undefined) throw new Error('window state: import needs a createMemoryRuleState() state');
      const key = r.str('key');
      r.named([['key', key]]);
      const expiresAt = r.num('expiresAt');
      const newest = r.num('newest');
      const flags = r.int('flags', 4);
      if (flags === INDEXED) r.fail('an indexed key must hold its members in a map (flags 3)');
      if (keys.has(key)) r.fail('duplicate key');
      const e: KeyEntry = {
        key,
        solo: undefined,
        soloAt: 0,
        members: undefined,
        times: undefined,
        names: NO_NAMES,
        head: 0,
        newest,
        xH: -1,
        xAt: Number.NaN,
      };
      const member = (): [string, number] => {
        const m = r.str('member');
        const t = r.num(`time of member ${JSON.stringify(m)}`);
        if (t > newest) r.fail(`member ${JSON.stringify(m)} at ${t} is later than the key's newest time ${newest}`);
        return [m, t];
      };
      if (!r.more()) r.fail('no members');
      if (flags & AS_MAP) {
        const members = new Map<string, number>();
        while (r.more()) {
          const [m, t] = member();
          if (members.has(m)) r.fail(`duplicate member ${JSON.stringify(m)}`);
          members.set(m, t);
        }
        e.members = members;
        if (flags & INDEXED) e.times = buildIndex(e, members);
      } else {
        // The only member ever observed: its time is the key's newest (see observe()).
        const [m, t] = member();
        if (r.more()) r.fail('a key without a map holds exactly one member');
        if (t !== newest) r.fail(`its only member's time ${t} must be its newest time ${newest}`);
        e.solo = m;
        e.soloAt = t;
      }
      keys.set(key, e);
      held += e.members === undefined ? 1 : e.members.size;
      expiry.load(e, expiresAt);
    },
    loaded: () => expiry?.flushLoad(),
  };
}
