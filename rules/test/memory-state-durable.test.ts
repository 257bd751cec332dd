/**
 * The memory rule state as the hub's durable live state (engine/memory-state.ts): snapshot export
 * and import (answers of a continuing history equal the original's), expiry as Redis expires keys
 * (fake clock), windowRetainBeyondMs pruning, read-only peeks, applyStateOps and the size counts.
 * Histories are random — all five operations, re-deliveries, late and tied times, retention, a
 * wall clock that advances (and sometimes jumps a day, or steps back) with sweeps in between.
 */
import { describe, expect, it } from 'vitest';
import {
  RULE_STATE_FORMAT,
  RULE_STATE_FORMAT_VERSION,
  applyStateOps,
  createMemoryRuleState,
  createMemoryWindowState,
  exportRuleState,
  importRuleState,
  peekRuleState,
  peekStateOps,
  ruleStateSize,
  sweepRuleState,
  type MemoryRuleState,
  type MemoryRuleStateOptions,
  type StateOp,
} from '../src/index.js';
import { DAY, batchedMemoryStates, prng } from './helpers.js';

/** A settable wall clock. */
function fakeClock(now = 1_700_000_000_000) {
  const c = { now, reads: 0 };
  return Object.assign(c, {
    fn: () => {
      c.reads++;
      return c.now;
    },
  });
}

type Step = { kind: 'op'; op: StateOp } | { kind: 'tick'; ms: number } | { kind: 'sweep' };

/**
 * A random history over small key spaces, so keys collide, windows fill past the index threshold
 * (16 members), fingerprint slots grow id maps (> 8 claims) and sequence slots grow maps.
 * Record times mostly advance, with late records, ties and re-deliveries of earlier operations
 * (the same operation again, as a re-sent batch would).
 */
function history(seed: number, count: number): Step[] {
  const rnd = prng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const steps: Step[] = [];
  const sent: StateOp[] = [];
  const recorded: Extract<StateOp, { op: 'record' }>[] = [];
  let t = 1_000_000;
  let n = 0;
  const time = () => {
    t += Math.floor(rnd() * 60);
    const late = rnd() < 0.25 ? Math.floor(rnd() * 1500) : 0;
    return Math.floor((t - late) / 10) * 10; // a 10 ms grain: ties and exact edges
  };
  for (let i = 0; i < count; i++) {
    const r = rnd();
    if (r < 0.06) {
      // Wall clock: mostly small steps; a day now and then (window keys expire after a day).
      steps.push({ kind: 'tick', ms: rnd() < 0.05 ? DAY + Math.floor(rnd() * 5000) : Math.floor(rnd() * 400) });
      continue;
    }
    if (r < 0.09) {
      steps.push({ kind: 'sweep' });
      continue;
    }
    if (sent.length > 0 && r < 0.22) {
      steps.push({ kind: 'op', op: sent[Math.max(0, sent.length - 1 - Math.floor(rnd() * 30))]! });
      continue;
    }
    const id = `id${n++}`;
    const retainMs = pick([500, 2000, 5000, 2000.5]);
    let op: StateOp;
    switch (pick(['observe', 'observe', 'overlap', 'claim', 'record', 'latest'] as const)) {
      case 'observe': {
        const k = Math.floor(rnd() * 4);
        // One window per key, as the engine's keys have (one rule, one window). Half the calls
        // go to keys of many members (indexed past 16), half to keys of one or two (held
        // without a map until the second).
        op =
          rnd() < 0.5
            ? { op: 'observe', key: `w${k}`, member: `m${Math.floor(rnd() * 40)}`, at: time(), windowMs: [300, 1000, 3000, 1000][k]! }
            : { op: 'observe', key: `p${Math.floor(rnd() * 20)}`, member: pick(['a', 'a', 'a', 'b']), at: time(), windowMs: 1000 };
        break;
      }
      case 'overlap': {
        const end = time();
        op = { op: 'overlap', key: `i${Math.floor(rnd() * 3)}`, id, member: `L${Math.floor(rnd() * 4)}`, start: end - Math.floor(rnd() * 400), end, retainMs };
        break;
      }
      case 'claim': {
        // A hot fingerprint kept long enough to hold more than 8 claims (an id map); duplicates included.
        const prints = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(['hot', 'hot', 'f0', 'f1', 'f2', 'f3']));
        op = { op: 'claim', key: `c${Math.floor(rnd() * 2)}`, fingerprints: prints, owner: `o${Math.floor(rnd() * 4)}`, id, at: time(), windowMs: pick([200, 1000]), retainMs: pick([retainMs, 20_000]) };
        break;
      }
      case 'record': {
        const again = recorded.length > 0 && rnd() < 0.1 ? recorded[Math.floor(rnd() * recorded.length)]! : undefined;
        // Now and then an id recorded before, at a later time: the first time is kept, but the
        // slot's newest time moves, and the trim may leave the slot empty.
        op = again
          ? { ...again, at: again.at + 1000 + Math.floor(rnd() * 6000) }
          : { op: 'record', key: pick(['v1', 'v2', 'a:b']), event: pick(['reg', 'x']), id, at: time(), retainMs };
        if (op.op === 'record') recorded.push(op);
        break;
      }
      case 'latest':
        op = { op: 'latest', key: pick(['v1', 'v2', 'a:b']), event: pick(['reg', 'x']), id, at: time(), windowMs: pick([300, 3000]), retainMs };
        break;
    }
    sent.push(op);
    steps.push({ kind: 'op', op });
  }
  return steps;
}

/** Runs steps on a state and its clock; returns what each step answered (sweeps: the count). */
function run(state: MemoryRuleState, clock: { now: number }, steps: readonly Step[], opts: { peek?: boolean } = {}): unknown[] {
  const out: unknown[] = [];
  for (const s of steps) {
    if (s.kind === 'tick') clock.now += s.ms;
    else if (s.kind === 'sweep') out.push(['sweep', sweepRuleState(state, clock.now)]);
    else {
      // peekStateOps reads through peekRuleState: what the write below will answer.
      const peeked = opts.peek ? peekStateOps(state, [s.op])[0] : undefined;
      const [answer] = applyStateOps(state, [s.op]);
      if (opts.peek) expect(peeked, `peek of ${JSON.stringify(s.op)}`).toEqual(answer);
      out.push(answer);
    }
  }
  return out;
}

/** The snapshot after a JSON round trip of each entry, as the hub would store it. */
const snapshot = (s: MemoryRuleState): unknown[][] => [...exportRuleState(s)].map((e) => JSON.parse(JSON.stringify(e)) as unknown[]);

/** Where an entry keeps its expiresAt. */
const expiresAtOf = (e: readonly unknown[]): number => (e[0] === 'w' || e[0] === 'i' ? e[2] : e[3]) as number;

/** Entries (members, intervals, claims, records + answers) an export lists: ruleStateSize's count, recounted. */
function countEntries(entries: readonly unknown[][]): number {
  let n = 0;
  for (const e of entries.slice(1)) {
    switch (e[0]) {
      case 'w':
        n += (e.length - 5) / 2;
        break;
      case 'i':
        for (let i = 4; i < e.length; i += e[i + 4] === 0 ? 5 : 9) n++;
        break;
      case 'f':
        for (let i = 6; i < e.length; i += e[i + 3] === 0 ? 4 : 7) n++;
        break;
      case 's': {
        const records = e[7] as number;
        n += records;
        for (let i = 8 + 2 * records; i < e.length; i += e[i + 2] === null ? 3 : 4) n++;
        break;
      }
    }
  }
  return n;
}

const OPTIONS: { name: string; options: Omit<MemoryRuleStateOptions, 'clock'> }[] = [
  { name: 'exact windows', options: {} },
  { name: 'window retainMs', options: { retainMs: 4000 } },
  { name: 'windowRetainBeyondMs', options: { windowRetainBeyondMs: 1500 } },
];

describe('exportRuleState / importRuleState', () => {
  it.each(OPTIONS.flatMap(({ name, options }) => [1, 2, 3].map((seed) => ({ name, options, seed }))))(
    'a restored state answers a continuing history as the original does ($name, seed $seed)',
    ({ options, seed }) => {
      const c1 = fakeClock();
      const original = createMemoryRuleState({ ...options, clock: c1.fn });
      run(original, c1, history(seed, 4000));

      const entries = snapshot(original);
      expect(entries[0]).toEqual([RULE_STATE_FORMAT, RULE_STATE_FORMAT_VERSION, options.retainMs ?? null, options.windowRetainBeyondMs ?? null]);
      // Flat arrays of primitives, unchanged by JSON, of every kind.
      for (const e of exportRuleState(original)) {
        for (const x of e) expect(['string', 'number', 'object']).toContain(typeof x);
        for (const x of e) if (typeof x === 'object') expect(x).toBeNull();
      }
      expect([...exportRuleState(original)]).toEqual(entries);
      expect(new Set(entries.slice(1).map((e) => e[0]))).toEqual(new Set(['w', 'i', 'f', 's']));

      const c2 = fakeClock(c1.now);
      const restored = createMemoryRuleState({ ...options, clock: c2.fn });
      importRuleState(restored, entries);
      expect(snapshot(restored)).toEqual(entries);
      expect(ruleStateSize(restored)).toEqual(ruleStateSize(original));

      // Another random history on both: every answer and sweep count equal, and the same state after.
      const next = history(seed + 100, 4000);
      const a = run(original, c1, next);
      const b = run(restored, c2, next);
      expect(b).toEqual(a);
      expect(a.filter((x) => Array.isArray(x) && x[0] === 'sweep' && (x[1] as number) > 0).length).toBeGreaterThan(3);
      expect(snapshot(restored)).toEqual(snapshot(original));
      expect(ruleStateSize(restored)).toEqual(ruleStateSize(original));
    },
  );

  it.each([1, 2])('imports a snapshot stored in parts, one call per part (seed %i)', (seed) => {
    const c = fakeClock();
    const original = createMemoryRuleState({ windowRetainBeyondMs: 1500, clock: c.fn });
    run(original, c, history(seed, 4000));
    const entries = snapshot(original);
    // Parts of random sizes, the first starting with the header, as the hub's chunks are.
    const rnd = prng(seed);
    const parts: unknown[][][] = [];
    for (let i = 0; i < entries.length; ) parts.push(entries.slice(i, (i += 1 + Math.floor(rnd() * 8))));
    expect(parts.length).toBeGreaterThan(3);
    const c2 = fakeClock(c.now);
    const restored = createMemoryRuleState({ windowRetainBeyondMs: 1500, clock: c2.fn });
    for (const part of parts) importRuleState(restored, part);
    importRuleState(restored, []); // an empty part changes nothing
    expect(snapshot(restored)).toEqual(entries);
    const next = history(seed + 7, 3000);
    expect(run(restored, c2, next)).toEqual(run(original, c, next));
    expect(snapshot(restored)).toEqual(snapshot(original));
    // A header halfway through is refused.
    const twice = createMemoryRuleState({ windowRetainBeyondMs: 1500, clock: c2.fn });
    importRuleState(twice, parts[0]!);
    importRuleState(twice, parts[1]!); // holds keys now, whatever the size of the first part
    expect(() => importRuleState(twice, [entries[0]!])).toThrow(/header into a state that is not empty/);
  });

  it('keeps stored answers, horizons, index structures and expiry across the round trip', () => {
    const c = fakeClock(5_000);
    const s = createMemoryRuleState({ clock: c.fn });
    // A window key past the index threshold; an interval answer; a fingerprint slot with an id map.
    for (let i = 0; i < 20; i++) s.state.observe('w', `m${i}`, 1000 + i, 1_000_000);
    const conflict = s.intervals.overlap('i', 'a', 'L1', 0, 100, 1000);
    expect(s.intervals.overlap('i', 'b', 'L2', 50, 150, 1000)).toEqual({ overlapMs: 50, other: { id: 'a', member: 'L1', start: 0, end: 100 } });
    for (let i = 0; i < 10; i++) s.fingerprints.claim('c', 'f', `o${i % 3}`, `id${i}`, 100 * i, 1000, 5000);
    s.sequences.record('v', 'reg', 'r1', 1000, 500);
    expect(s.sequences.latest('v', 'reg', 'q1', 1200, 1000, 500)).toEqual({ id: 'r1', at: 1000 });
    s.sequences.record('v', 'reg', 'r2', 1400, 500);
    // A slot emptied by its own horizon: r0 again, later (its first time is kept), drops r0.
    s.sequences.record('e', 'reg', 'r0', 0, 100);
    s.sequences.record('e', 'reg', 'r0', 1000, 100);

    const entries = snapshot(s);
    expect(entries.find((e) => e[0] === 's' && e[1] === 'e')).toEqual(['s', 'e', 'reg', 5_100, 1000, null, 0, 0]);
    const r = createMemoryRuleState({ clock: fakeClock(9_000).fn });
    importRuleState(r, entries);
    expect(entries.find((e) => e[0] === 'w')![4]).toBe(3); // a map and a time index
    expect(entries.find((e) => e[0] === 'f')![5]).toBe(1); // an id map
    // Known ids: their stored answers, whatever the arguments and whatever arrived since.
    expect(r.intervals.overlap('i', 'a', 'L1', 0, 100, 1000)).toEqual(conflict);
    expect(r.intervals.overlap('i', 'b', 'L9', 0, 1, 1000)).toEqual({ overlapMs: 50, other: { id: 'a', member: 'L1', start: 0, end: 100 } });
    expect(r.sequences.latest('v', 'reg', 'q1', 1400, 1000, 500)).toEqual({ id: 'r1', at: 1000 });
    expect(r.sequences.latest('v', 'reg', 'q2', 1401, 1000, 500)).toEqual({ id: 'r2', at: 1400 });
    // The horizon came along (newest 1401 now): a record at 1501 drops r1 (1000 <= 1001).
    r.sequences.record('v', 'reg', 'r3', 1501, 500);
    expect(r.sequences.latest('v', 'reg', 'q3', 1501, 1000, 500)).toEqual({ id: 'r3', at: 1501 });
    expect(r.sequences.latest('v', 'reg', 'q4', 1300, 1000, 500)).toBeNull(); // r1 (1000) is gone
    expect(r.state.observe('w', 'm0', 1019, 10)).toBe(11); // (1009, 1019]: m10..m19, and m0 moved to 1019
    // The emptied slot kept its newest time (1000: horizon 900): a record at 850 is dropped at
    // once, one at 950 is kept.
    r.sequences.record('e', 'reg', 'late', 850, 100);
    expect(r.sequences.latest('e', 'reg', 'q', 900, 1000, 100)).toBeNull();
    r.sequences.record('e', 'reg', 'ok', 950, 100);
    expect(r.sequences.latest('e', 'reg', 'q2', 960, 1000, 100)).toEqual({ id: 'ok', at: 950 });
    // Expiry times are absolute: the restored keys expire when the original's do.
    expect(expiresAtOf(entries.find((e) => e[0] === 'i')!)).toBe(5_000 + 1000);
    expect(sweepRuleState(r, 5_999)).toBe(0);
    expect(sweepRuleState(r, 6_000)).toBe(1); // the interval key (the sequence slot got the restored clock's 9_000 + 500)
  });

  it('holds a fingerprint claimed once inline, and answers from it before and after the round trip', () => {
    const c = fakeClock(0);
    const s = createMemoryRuleState({ clock: c.fn });
    expect(s.fingerprints.claim('k', 'p1', 'o1', 'a', 1_000, 500, 10_000)).toEqual({ others: 0 });
    expect(s.fingerprints.claim('k', 'p2', 'o1', 'b', 1_000, 500, 10_000)).toEqual({ others: 0 });
    const entries = snapshot(s);
    expect(entries.filter((e) => e[0] === 'f')).toEqual([
      ['f', 'k', 'p1', 10_000, 1_000, 0, 'a', 'o1', 1_000, 0],
      ['f', 'k', 'p2', 10_000, 1_000, 0, 'b', 'o1', 1_000, 0],
    ]);
    for (const st of [s, (() => { const r = createMemoryRuleState({ clock: c.fn }); importRuleState(r, entries); return r; })()]) {
      // The known id answers what it was answered, whatever the arguments.
      expect(st.fingerprints.claim('k', 'p1', 'o9', 'a', 5_000, 1, 10_000)).toEqual({ others: 0 });
      // A second claim earlier in time, of another owner, within the window: it finds the inline
      // one, and all are then held in time order.
      expect(st.fingerprints.claim('k', 'p1', 'o2', 'c', 800, 500, 10_000)).toEqual({ others: 1, first: { owner: 'o1', id: 'a', at: 1_000 } });
      expect(st.fingerprints.claim('k', 'p1', 'o3', 'd', 900, 500, 10_000)).toEqual({ others: 2, first: { owner: 'o2', id: 'c', at: 800 } });
      // Out of the window (|at − 1000| = 500): nothing.
      expect(st.fingerprints.claim('k', 'p2', 'o2', 'e', 1_500, 500, 10_000)).toEqual({ others: 0 });
      // The same owner never counts.
      expect(st.fingerprints.claim('k', 'p2', 'o1', 'f', 1_100, 500, 10_000)).toEqual({ others: 1, first: { owner: 'o2', id: 'e', at: 1_500 } });
      expect(snapshot(st).find((e) => e[0] === 'f' && e[2] === 'p1')!.slice(6)).toEqual(['c', 'o2', 800, 1, 'o1', 'a', 1_000, 'd', 'o3', 900, 2, 'o2', 'c', 800, 'a', 'o1', 1_000, 0]);
    }
  });

  it('rejects malformed snapshots with an error naming the entry', () => {
    const fresh = () => createMemoryRuleState({ clock: () => 0 });
    const header = [RULE_STATE_FORMAT, RULE_STATE_FORMAT_VERSION, null, null];
    const bad = (entries: unknown[][]) => () => importRuleState(fresh(), entries);
    expect(bad([])).toThrow(/empty snapshot/);
    expect(bad([['w', 'k', 1, 1, 0, 'm', 1]])).toThrow(/first entry must be the header/);
    expect(bad([[RULE_STATE_FORMAT, 2, null, null]])).toThrow(/format version 2 is not supported/);
    expect(bad([[RULE_STATE_FORMAT, 1, 5000, null]])).toThrow(/retainMs 5000/);
    expect(bad([header, ['x', 'k']])).toThrow(/unknown entry kind "x" \(key "k"\)/);
    expect(bad([header, ['w', 'k', 10, 5, 0, 'm', '5']])).toThrow(/malformed window entry for key "k": time of member "m" .* must be a finite number, got "5"/);
    expect(bad([header, ['w', 'k', 10, 5, 0]])).toThrow(/window entry for key "k": no members/);
    expect(bad([header, ['w', 'k', 10, 5, 0, 'm', 6]])).toThrow(/later than the key's newest time/);
    expect(bad([header, ['w', 'k', 10, 5, 0, 'm', 5], ['w', 'k', 10, 5, 0, 'm', 5]])).toThrow(/window entry for key "k": duplicate key/);
    expect(bad([header, ['w', 'k', 10, 5, 1, 'a', 5, 'a', 4]])).toThrow(/duplicate member "a"/);
    expect(bad([header, ['w', 7]])).toThrow(/malformed window entry: key \(field 1\) must be a string, got 7/);
    expect(bad([header, ['i', 'k', 10, 100, 'a', 'L', 50, 40, 0]])).toThrow(/interval entry for key "k": interval "a" ends \(40\) before it starts \(50\)/);
    expect(bad([header, ['i', 'k', 10, 100, 'a', 'L', 0, 40, 5, 'b']])).toThrow(/interval entry for key "k": other member of "a" .* must be a string/);
    expect(bad([header, ['f', 'k', 'fp', 10, 100, 0, 'a', 'o', 50, 0, 'b', 'o', 40, 0]])).toThrow(/fingerprint entry for key "k", fingerprint "fp": claims out of time order at "b"/);
    expect(bad([header, ['f', 'k', 'fp', 10, 100, 0]])).toThrow(/fingerprint entry for key "k", fingerprint "fp": no claims/);
    expect(bad([header, ['s', 'k', 'e', 10, 100, 60, 0, 1, 'r', 50]])).toThrow(/sequence entry for key "k", event "e": time of record "r" 50 is below the slot's oldest time 60/);
    expect(bad([header, ['s', 'k', 'e', 10, 100, 0, 0, 2, 'r', 50, 's', 60]])).toThrow(/sequence entry .*at most one record/);
    expect(bad([header, ['s', 'k', 'e', 10, 100, 0, 0, 0, 'q', 50, 'r']])).toThrow(/match time of asker "q"/);
    expect(bad([header, ['w', 'k', 10, 5, 0, 'm', 5, 'extra']])).toThrow(/window entry for key "k": a key without a map holds exactly one member/);
    expect(bad([header, ['w', 'k', 10, 5, 1, 'm', 5, 'extra']])).toThrow(/window entry for key "k": time of member "extra" .* got nothing/);
    // Only into a fresh state.
    const used = fresh();
    used.state.observe('k', 'm', 1, 10);
    expect(() => importRuleState(used, [header])).toThrow(/not empty/);
    expect(() => importRuleState(fresh(), [['w', 'k', 10, 5, 0, 'm', 5]])).toThrow(/first entry must be the header/);
    // Entries before a malformed one stay loaded, consistently (expiry included): documented.
    const partial = fresh();
    expect(() => importRuleState(partial, [header, ['w', 'a', 10, 5, 0, 'm', 5], ['w', 'b']])).toThrow(/key "b"/);
    expect(ruleStateSize(partial)).toEqual({ keys: 1, entries: 1 });
    expect(sweepRuleState(partial, 10)).toBe(1);
  });
});

describe('expiry (sweepRuleState)', () => {
  it('a key written at t with ttl X is kept by sweep(t + X − 1) and gone by sweep(t + X), for each kind', () => {
    const c = fakeClock(10_000);
    const s = createMemoryRuleState({ clock: c.fn });
    s.state.observe('w', 'm', 1, 300); // ttl 300 + 1 day
    s.intervals.overlap('i', 'a', 'L', 0, 10, 1000.2); // ttl ceil(1000.2) = 1001
    s.fingerprints.claimMany('c', ['f1', 'f2'], 'o', 'a', 5, 100, 2000); // two slots, ttl 2000
    s.sequences.record('v', 'reg', 'r', 5, 0.25); // ttl at least 1
    expect(ruleStateSize(s)).toEqual({ keys: 5, entries: 5 });

    expect(sweepRuleState(s, 10_000)).toBe(0);
    expect(sweepRuleState(s, 10_001)).toBe(1); // the sequence slot (ttl 1)
    expect(s.sequences.size).toBe(0);
    expect(sweepRuleState(s, 10_000 + 1000)).toBe(0);
    expect(sweepRuleState(s, 10_000 + 1001)).toBe(1);
    expect(s.intervals.keyCount).toBe(0);
    expect(sweepRuleState(s, 10_000 + 1999)).toBe(0);
    expect(sweepRuleState(s, 10_000 + 2000)).toBe(2);
    expect(s.fingerprints.size).toBe(0);
    expect(sweepRuleState(s, 10_000 + 300 + DAY - 1)).toBe(0);
    expect(sweepRuleState(s, 10_000 + 300 + DAY)).toBe(1);
    expect(ruleStateSize(s)).toEqual({ keys: 0, entries: 0 });
    expect(sweepRuleState(s, Infinity)).toBe(0);
  });

  it('windowRetainBeyondMs sets the window ttl to windowMs + windowRetainBeyondMs', () => {
    const c = fakeClock(0);
    const s = createMemoryRuleState({ clock: c.fn, windowRetainBeyondMs: 500 });
    s.state.observe('w', 'm', 1, 300);
    expect(sweepRuleState(s, 799)).toBe(0);
    expect(sweepRuleState(s, 800)).toBe(1);
  });

  it('moves the expiry only on calls Redis writes on: known ids and askers leave it, record() always writes', () => {
    const c = fakeClock(0);
    const s = createMemoryRuleState({ clock: c.fn });
    s.intervals.overlap('i', 'a', 'L', 0, 10, 100);
    s.fingerprints.claim('c', 'f', 'o', 'a', 5, 100, 100);
    s.sequences.latest('v', 'e', 'q', 5, 100, 100);
    s.sequences.record('v', 'r', 'x', 5, 100);
    s.state.observe('w', 'm', 5, 100); // ttl 100 + 1 day
    c.now = 50;
    // Re-deliveries: answered from memory, no write.
    s.intervals.overlap('i', 'a', 'L', 0, 10, 100);
    s.fingerprints.claim('c', 'f', 'o', 'a', 5, 100, 100);
    expect(s.sequences.latest('v', 'e', 'q', 5, 100, 100)).toBeNull();
    // A known record id: ZADD NX changes nothing, but the script still trims and PEXPIREs.
    s.sequences.record('v', 'r', 'x', 5, 100);
    // An observe always writes (ZADD GT + PEXPIRE), a re-observation too.
    s.state.observe('w', 'm', 5, 100);
    expect(sweepRuleState(s, 100)).toBe(3); // interval, fingerprint, sequence 'e' (written at 0)
    expect(sweepRuleState(s, 149)).toBe(0);
    expect(sweepRuleState(s, 150)).toBe(1); // sequence 'r' (written again at 50)
    expect(sweepRuleState(s, 50 + 100 + DAY)).toBe(1);

    // New ids and askers write, and move it.
    const t = createMemoryRuleState({ clock: c.fn });
    c.now = 0;
    t.intervals.overlap('i', 'a', 'L', 0, 10, 100);
    t.fingerprints.claim('c', 'f', 'o', 'a', 5, 100, 100);
    t.sequences.latest('v', 'e', 'q', 5, 100, 100);
    c.now = 50;
    t.intervals.overlap('i', 'b', 'L', 0, 10, 100);
    t.fingerprints.claim('c', 'f', 'o', 'b', 5, 100, 100);
    t.sequences.latest('v', 'e', 'q2', 5, 100, 100);
    expect(sweepRuleState(t, 149)).toBe(0);
    expect(sweepRuleState(t, 150)).toBe(3);
  });

  it('takes the ttl of the last write, shorter or longer, and a clock that steps back', () => {
    const c = fakeClock(1000);
    const s = createMemoryRuleState({ clock: c.fn });
    s.intervals.overlap('i', 'a', 'L', 0, 10, 5000); // expires 6000
    s.intervals.overlap('i', 'b', 'L', 0, 10, 100); // shorter ttl: expires 1100
    s.sequences.record('v', 'e', 'r', 0, 100); // expires 1100
    c.now = 500; // the clock steps back
    s.sequences.record('v', 'e', 'r', 0, 100); // expires 600
    expect(sweepRuleState(s, 599)).toBe(0);
    expect(sweepRuleState(s, 600)).toBe(1);
    expect(sweepRuleState(s, 1099)).toBe(0);
    expect(sweepRuleState(s, 1100)).toBe(1);
  });

  it('a swept key starts afresh', () => {
    const c = fakeClock(0);
    const s = createMemoryRuleState({ clock: c.fn });
    expect(s.state.observe('w', 'a', 1000, 500)).toBe(1);
    expect(s.state.observe('w', 'b', 1001, 500)).toBe(2);
    expect(s.intervals.overlap('i', 'a', 'L1', 0, 100, 50)).toEqual({ overlapMs: 0 });
    expect(s.intervals.overlap('i', 'b', 'L2', 0, 100, 50)).toMatchObject({ overlapMs: 100 });
    s.sequences.record('v', 'e', 'r', 10, 50);
    expect(s.sequences.latest('v', 'e', 'q', 20, 50, 50)).toEqual({ id: 'r', at: 10 });
    expect(s.fingerprints.claim('c', 'f', 'o1', 'a', 10, 100, 50)).toEqual({ others: 0 });
    expect(s.fingerprints.claim('c', 'f', 'o2', 'b', 10, 100, 50)).toMatchObject({ others: 1 });
    expect(sweepRuleState(s, 500 + DAY)).toBe(4);
    expect(ruleStateSize(s)).toEqual({ keys: 0, entries: 0 });
    expect(s.state.observe('w', 'c', 1002, 500)).toBe(1);
    // Known ids are forgotten with their key: answered afresh.
    expect(s.intervals.overlap('i', 'b', 'L2', 0, 100, 50)).toEqual({ overlapMs: 0 });
    expect(s.sequences.latest('v', 'e', 'q', 20, 50, 50)).toBeNull();
    expect(s.fingerprints.claim('c', 'f', 'o2', 'b', 10, 100, 50)).toEqual({ others: 0 });
  });

  it('with expiry: false keeps every key, answers as the tracked state does, and refuses snapshots', () => {
    const c = fakeClock(0);
    const tracked = createMemoryRuleState({ clock: c.fn });
    const untracked = createMemoryRuleState({ clock: c.fn, expiry: false });
    const ops = [...history(7, 800)].flatMap((step) => (step.kind === 'op' ? [step.op] : []));
    expect(ops.length).toBeGreaterThan(300);
    expect(applyStateOps(untracked, ops)).toEqual(applyStateOps(tracked, ops));
    expect(ruleStateSize(untracked)).toEqual(ruleStateSize(tracked));
    expect(sweepRuleState(untracked, Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(ruleStateSize(untracked).keys).toBeGreaterThan(0);
    expect(sweepRuleState(tracked, Number.MAX_SAFE_INTEGER)).toBe(ruleStateSize(untracked).keys);
    expect(() => [...exportRuleState(untracked)]).toThrow(/expiry: false/);
    expect(() => importRuleState(untracked, [...exportRuleState(createMemoryRuleState({ clock: c.fn }))])).toThrow(/expiry: false/);
  });

  it.each([1, 2, 3, 4])('drops exactly what a full scan finds due, on random histories (seed %i)', (seed) => {
    const c = fakeClock();
    const s = createMemoryRuleState({ clock: c.fn, windowRetainBeyondMs: seed % 2 === 0 ? 2000 : undefined });
    const rnd = prng(seed + 50);
    let dropped = 0;
    for (const step of history(seed, 6000)) {
      if (step.kind === 'tick') {
        // Some steps back (NTP): expiry stays exact.
        c.now += rnd() < 0.1 ? -Math.floor(rnd() * 300) : step.ms;
      } else if (step.kind === 'op') applyStateOps(s, [step.op]);
      else {
        const before = snapshot(s);
        const due = before.slice(1).filter((e) => expiresAtOf(e) <= c.now);
        const n = sweepRuleState(s, c.now);
        expect(n).toBe(due.length);
        dropped += n;
        // Exactly the due entries are gone; everything else is as it was, in the same order.
        expect(snapshot(s)).toEqual(before.filter((e, i) => i === 0 || expiresAtOf(e) > c.now));
        const after = snapshot(s);
        expect(ruleStateSize(s)).toEqual({ keys: after.length - 1, entries: countEntries(after) });
      }
    }
    expect(dropped).toBeGreaterThan(50);
  });

  it('applyStateOps reads the clock once per batch (every key of a batch gets the same expiry base)', () => {
    const c = fakeClock(100);
    const s = createMemoryRuleState({ clock: () => c.now++ });
    applyStateOps(s, [
      { op: 'overlap', key: 'i', id: 'a', member: 'L', start: 0, end: 1, retainMs: 10 },
      { op: 'record', key: 'v', event: 'e', id: 'r', at: 0, retainMs: 10 },
      { op: 'claim', key: 'c', fingerprints: ['f'], owner: 'o', id: 'a', at: 0, windowMs: 5, retainMs: 10 },
    ]);
    expect(c.now).toBe(101);
    expect(snapshot(s).slice(1).map(expiresAtOf)).toEqual([110, 110, 110]);
    // A direct call reads it itself.
    s.sequences.record('v', 'e2', 'r', 0, 10);
    expect(c.now).toBe(102);
  });
});

describe('windowRetainBeyondMs', () => {
  it('drops members at or before newest − (windowMs + windowRetainBeyondMs), after counting', () => {
    const s = createMemoryRuleState({ windowRetainBeyondMs: 50 }).state;
    s.observe('k', 'a', 1000, 100);
    s.observe('k', 'b', 1001, 100);
    expect(s.observe('k', 'c', 1150, 100)).toBe(1); // horizon 1000: a dropped, b (1001) kept
    expect([...s.members('k').keys()]).toEqual(['b', 'c']);
    expect(s.observe('k', 'd', 1151, 100)).toBe(2);
    expect([...s.members('k').keys()]).toEqual(['c', 'd']);
    // With retainMs too, the shorter horizon wins.
    const both = createMemoryRuleState({ retainMs: 120, windowRetainBeyondMs: 50 }).state;
    both.observe('k', 'a', 1000, 10);
    expect(both.observe('k', 'b', 1070, 10)).toBe(1); // 10 + 50 < 120: horizon 1010
    expect([...both.members('k').keys()]).toEqual(['b']);
    expect(() => createMemoryRuleState({ windowRetainBeyondMs: -1 })).toThrow(RangeError);
    expect(() => createMemoryWindowState({ windowRetainBeyondMs: Number.NaN })).toThrow(RangeError);
  });

  it.each([
    { seed: 1, beyond: 1000, members: 30, step: 40 },
    { seed: 2, beyond: 300, members: 300, step: 10 },
    { seed: 3, beyond: 5000, members: 60, step: 200 },
    { seed: 4, beyond: 0, members: 50, step: 20, inOrder: true },
  ])('keeps counts equal to an unpruned state under bounded disorder, holding fewer members (seed $seed)', ({ seed, beyond, members, step, inOrder }) => {
    const rnd = prng(seed);
    const pruned = createMemoryRuleState({ windowRetainBeyondMs: beyond }).state;
    const exact = createMemoryWindowState();
    const windows = [200, 1000, 3000];
    let newest = 0;
    for (let i = 0; i < 8000; i++) {
      const k = Math.floor(rnd() * windows.length);
      const windowMs = windows[k]!;
      newest += Math.floor(rnd() * step);
      // Late by less than windowRetainBeyondMs (relative to the newest time of any key).
      const at = inOrder ? newest : newest - Math.floor(rnd() * Math.max(0, beyond - 1));
      // Half fresh members (new people, vehicles), half from a pool that comes back.
      const member = rnd() < 0.5 ? `new${i}` : `m${Math.floor(rnd() * members)}`;
      expect(pruned.observe(`k${k}`, member, at, windowMs), `call ${i}`).toBe(exact.observe(`k${k}`, member, at, windowMs));
      if (i % 16 === 0) {
        // What the key holds is exactly the unpruned key's members above its horizon, at the same
        // times: nothing younger is lost, nothing older is kept.
        const all = exact.members(`k${k}`);
        const horizon = Math.max(...all.values()) - (windowMs + beyond);
        expect(pruned.members(`k${k}`)).toEqual(new Map([...all].filter(([, t]) => t > horizon)));
      }
    }
    const total = (s: { members(k: string): Map<string, number> }) => windows.reduce((n, _, k) => n + s.members(`k${k}`).size, 0);
    expect(total(exact)).toBeGreaterThan(4000);
    expect(total(pruned)).toBeLessThan(total(exact) / 4);
  });
});

describe('peekRuleState', () => {
  it.each([1, 2, 3, 4])('answers what the writing call answers and changes nothing (seed %i)', (seed) => {
    for (const { options } of OPTIONS) {
      const c1 = fakeClock();
      const c2 = fakeClock();
      const peeked = createMemoryRuleState({ ...options, clock: c1.fn });
      const plain = createMemoryRuleState({ ...options, clock: c2.fn });
      const steps = history(seed, 3000);
      // run() compares each peek with the real call's answer.
      const a = run(peeked, c1, steps, { peek: true });
      const b = run(plain, c2, steps);
      expect(a).toEqual(b);
      expect(snapshot(peeked)).toEqual(snapshot(plain));
      expect(ruleStateSize(peeked)).toEqual(ruleStateSize(plain));
    }
  });

  it('creates no key, answer, member or expiry, and throws where the call would', () => {
    const c = fakeClock(0);
    const s = createMemoryRuleState({ clock: c.fn });
    const p = peekRuleState(s);
    expect(p.state.observe('w', 'm', 10, 100)).toBe(1);
    expect(p.intervals.overlap('i', 'a', 'L', 0, 10, 100)).toEqual({ overlapMs: 0 });
    expect(p.fingerprints.claimMany('c', ['f', 'f'], 'o', 'a', 0, 10, 100)).toEqual([{ others: 0 }, { others: 0 }]);
    expect(p.fingerprints.claim('c', 'f', 'o', 'a', 0, 10, 100)).toEqual({ others: 0 });
    expect(p.sequences.record('v', 'e', 'r', 0, 100)).toBeUndefined();
    expect(p.sequences.latest('v', 'e', 'q', 0, 10, 100)).toBeNull();
    expect(ruleStateSize(s)).toEqual({ keys: 0, entries: 0 });
    expect(c.reads).toBe(0);
    expect(() => p.state.observe('w', 'm', Number.NaN, 100)).toThrow(RangeError);
    expect(() => p.intervals.overlap('i', 'a', 'L', 10, 0, 100)).toThrow(RangeError);
    expect(() => p.fingerprints.claim('c', 'f', 'o', 'a', 0, 0, 100)).toThrow(RangeError);
    expect(() => p.sequences.record('v', 'e', 'r', 0, 0)).toThrow(RangeError);
    expect(() => p.sequences.latest('v', 'e', 'q', 0, -1, 100)).toThrow(RangeError);

    // On held keys: the counts and stored answers the calls would give.
    s.state.observe('w', 'a', 100, 50);
    s.state.observe('w', 'b', 120, 50);
    expect(p.state.observe('w', 'a', 90, 50)).toBe(0); // a stays at 100, outside (40, 90]
    expect(p.state.observe('w', 'a', 130, 50)).toBe(2);
    expect(p.state.observe('w', 'c', 160, 50)).toBe(2); // b (120) and c; a (100) is out
    expect(s.state.observe('w', 'c', 160, 50)).toBe(2);
    s.intervals.overlap('i', 'a', 'L1', 0, 100, 1000);
    expect(p.intervals.overlap('i', 'b', 'L2', 50, 150, 1000)).toMatchObject({ overlapMs: 50 });
    expect(s.intervals.overlap('i', 'b', 'L2', 50, 150, 1000)).toMatchObject({ overlapMs: 50 });
    expect(p.intervals.overlap('i', 'b', 'L2', 0, 1, 1000)).toMatchObject({ overlapMs: 50 }); // known: stored answer
    const before = snapshot(s);
    const reads = c.reads;
    p.intervals.overlap('i', 'z', 'L3', 0, 1000, 1000);
    p.state.observe('w', 'd', 10_000, 50);
    expect(snapshot(s)).toEqual(before);
    expect(c.reads).toBe(reads);
  });
});

describe('applyStateOps', () => {
  it.each([1, 2])('answers and leaves the state as the direct calls do, and as batchedMemoryStates does (seed %i)', async (seed) => {
    const ops = history(seed, 3000).flatMap((s) => (s.kind === 'op' ? [s.op] : []));
    // A clock that moves only between batches: the batched state pins it per batch, the direct
    // one reads it per call, and both see the same times.
    const c = fakeClock();
    const batched = createMemoryRuleState({ clock: c.fn });
    const direct = createMemoryRuleState({ clock: c.fn });
    const viaHelper = createMemoryRuleState({ clock: c.fn });
    const helper = batchedMemoryStates(viaHelper);
    const rnd = prng(seed);
    for (let i = 0; i < ops.length; ) {
      const batch = ops.slice(i, (i += 1 + Math.floor(rnd() * 20)));
      const answers = applyStateOps(batched, batch);
      expect(answers).toHaveLength(batch.length);
      const expected = batch.map((o) => {
        switch (o.op) {
          case 'observe':
            return direct.state.observe(o.key, o.member, o.at, o.windowMs);
          case 'overlap':
            return direct.intervals.overlap(o.key, o.id, o.member, o.start, o.end, o.retainMs);
          case 'claim':
            return direct.fingerprints.claimMany(o.key, o.fingerprints, o.owner, o.id, o.at, o.windowMs, o.retainMs);
          case 'record':
            return direct.sequences.record(o.key, o.event, o.id, o.at, o.retainMs);
          case 'latest':
            return direct.sequences.latest(o.key, o.event, o.id, o.at, o.windowMs, o.retainMs);
        }
      });
      expect(answers).toEqual(expected);
      expect(await helper.states.state.batcher.run(batch)).toEqual(expected);
      c.now += Math.floor(rnd() * 300);
    }
    expect(snapshot(batched)).toEqual(snapshot(direct));
    expect(snapshot(viaHelper)).toEqual(snapshot(direct));
    expect(helper.runs.reduce((a, b) => a + b, 0)).toBe(ops.length);
  });

  it('stops at an invalid operation, keeping the ones before it', () => {
    const s = createMemoryRuleState();
    expect(() =>
      applyStateOps(s, [
        { op: 'observe', key: 'w', member: 'm', at: 1, windowMs: 10 },
        { op: 'observe', key: 'w', member: 'n', at: 1, windowMs: 0 },
      ]),
    ).toThrow(RangeError);
    expect(s.state.members('w')).toEqual(new Map([['m', 1]]));
    expect(() => applyStateOps(s, [{ op: 'nope' } as unknown as StateOp])).toThrow(/unknown operation "nope"/);
  });

  it('needs the states of one createMemoryRuleState()', () => {
    const a = createMemoryRuleState();
    const b = createMemoryRuleState();
    expect(() => applyStateOps({ ...a, intervals: b.intervals }, [])).toThrow(/one createMemoryRuleState/);
    // The spread form the engine's contexts use is fine.
    expect(ruleStateSize({ ...a })).toEqual({ keys: 0, entries: 0 });
  });
});

describe('ruleStateSize', () => {
  it.each([1, 2])('counts keys and entries as a recount of the snapshot does (seed %i)', (seed) => {
    for (const { options } of OPTIONS) {
      const c = fakeClock();
      const s = createMemoryRuleState({ ...options, clock: c.fn });
      const steps = history(seed, 3000);
      for (let i = 0; i < steps.length; i += 500) {
        run(s, c, steps.slice(i, i + 500));
        const entries = snapshot(s);
        const size = ruleStateSize(s);
        expect(size).toEqual({ keys: entries.length - 1, entries: countEntries(entries) });
        expect(size.entries).toBeGreaterThan(size.keys);
      }
      s.state.clear();
      s.intervals.clear();
      s.fingerprints.clear();
      s.sequences.clear();
      expect(ruleStateSize(s)).toEqual({ keys: 0, entries: 0 });
      expect(sweepRuleState(s, Infinity)).toBe(0);
    }
  });
});
