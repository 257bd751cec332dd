/**
 * The memory states keep per-key indexes (times sorted for binary search, nested maps instead of
 * joined keys) so a call does not scan a key's whole history. These tests replay random calls —
 * mostly in time order like real traffic, with late records, re-deliveries, ties, shared times and
 * retention — on each indexed state and on its plain scanning predecessor (test/reference/),
 * and require the same answer for every call and the same contents afterwards.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryFingerprintState, createMemoryIntervalState, createMemorySequenceState, createMemoryWindowState } from '../src/index.js';
import { lowerBound, upperBound } from '../src/engine/sorted.js';
import { createScanFingerprintState } from './reference/fingerprint-state.js';
import { createScanIntervalState } from './reference/interval-state.js';
import { createScanSequenceState } from './reference/sequence-state.js';
import { createScanWindowState } from './reference/window-state.js';
import { prng } from './helpers.js';

/**
 * A time stream shaped like traffic: a clock that mostly moves forward, sometimes stands still
 * (equal times), now and then jumps ahead (a quiet night: retention empties keys), and a share of
 * late (or early) records around it.
 */
function clock(rnd: () => number, step: number, lateShare: number, lateBy: number, grain = 1) {
  let now = 1_000_000;
  return () => {
    now += rnd() < 0.002 ? 100 * lateBy : Math.floor(rnd() * step);
    const t = rnd() < lateShare ? now + Math.floor((rnd() - 0.8) * lateBy) : now;
    // A coarse grain (windows and retention being multiples of it) puts many times exactly on a
    // window edge or a retention horizon.
    return Math.floor(t / grain) * grain;
  };
}

describe('sorted.ts binary searches', () => {
  it.each([1, 2, 3])('match a linear search (seed %i)', (seed) => {
    const rnd = prng(seed);
    for (let round = 0; round < 300; round++) {
      const xs = Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 10)).sort((a, b) => a - b);
      const from = Math.floor(rnd() * (xs.length + 1));
      for (let x = -1; x <= 11; x += 0.5) {
        const ub = xs.findIndex((v, i) => i >= from && v > x);
        const lb = xs.findIndex((v, i) => i >= from && v >= x);
        expect(upperBound(xs, x, from)).toBe(ub < 0 ? xs.length : ub);
        expect(lowerBound(xs, x, from)).toBe(lb < 0 ? xs.length : lb);
      }
    }
  });
});

describe('memory WindowState index', () => {
  const sortedEntries = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  it.each([
    { seed: 1, retainMs: undefined, keys: 3, members: 50, lateShare: 0.1 },
    { seed: 2, retainMs: undefined, keys: 1, members: 400, lateShare: 0.3 },
    { seed: 3, retainMs: 5_000, keys: 2, members: 1_000_000, lateShare: 0.1 },
    { seed: 4, retainMs: 2_000, keys: 4, members: 30, lateShare: 0.5 },
    { seed: 5, retainMs: 800, keys: 1, members: 10, lateShare: 0.2 },
    { seed: 6, retainMs: 20_000, keys: 1, members: 1_000_000, lateShare: 0 },
    // Many keys of one or two members (a key's only member is held without a Map).
    { seed: 7, retainMs: 300, keys: 60, members: 2, lateShare: 0.3 },
    { seed: 8, retainMs: undefined, keys: 200, members: 3, lateShare: 0.2 },
    { seed: 9, retainMs: 2_000, keys: 500, members: 1, lateShare: 0.4 },
    // Times on a 100 ms grain: many exactly on a window edge or the retention horizon.
    { seed: 10, retainMs: 1_000, keys: 20, members: 30, lateShare: 0.3, grain: 100 },
    { seed: 11, retainMs: undefined, keys: 3, members: 100, lateShare: 0.3, grain: 100 },
  ])('answers and holds what the scanning state does ($retainMs ms retention, $keys keys, seed $seed)', ({ seed, retainMs, keys, members, lateShare, grain }) => {
    const rnd = prng(seed);
    const opts = retainMs === undefined ? {} : { retainMs };
    const indexed = createMemoryWindowState(opts);
    const scan = createScanWindowState(opts);
    const next = clock(rnd, 40, lateShare, 6_000, grain);
    for (let i = 0; i < 6000; i++) {
      const key = `k${Math.floor(rnd() * keys)}`;
      const member = `m${Math.floor(rnd() * Math.min(members, i + 1))}`;
      const at = next();
      const windowMs = [100, 1000, 3000, 10_000][Math.floor(rnd() * 4)]!;
      expect(indexed.observe(key, member, at, windowMs), `call ${i}`).toBe(scan.observe(key, member, at, windowMs));
      if (i % 500 === 0) for (let k = 0; k < keys; k++) expect(sortedEntries(indexed.members(`k${k}`))).toEqual(sortedEntries(scan.members(`k${k}`)));
    }
    expect(indexed.keyCount).toBe(scan.keyCount);
    for (let k = 0; k < keys; k++) {
      // Same members in the same (first-observation) order.
      expect([...indexed.members(`k${k}`)]).toEqual([...scan.members(`k${k}`)]);
    }
  });

  it('counts members sharing one time, and moves only the member observed again', () => {
    const s = createMemoryWindowState();
    for (const m of ['a', 'b', 'c', 'd']) s.observe('k', m, 1000, 100);
    expect(s.observe('k', 'c', 1050, 100)).toBe(4); // c moves to 1050; a, b, d stay at 1000
    expect(s.observe('k', 'e', 1100, 100)).toBe(2); // 1000 is exactly windowMs old: only c and e
    expect(s.observe('k', 'b', 1000, 1000)).toBe(3); // an older copy of b: b stays at 1000, counted at 1000 with a and d
    expect([...s.members('k')]).toEqual([['a', 1000], ['b', 1000], ['c', 1050], ['d', 1000], ['e', 1100]]);
  });
});

describe('memory IntervalState index', () => {
  it.each([
    { seed: 1, retainMs: 1e12, keys: 2, members: 4, lateShare: 0.1, maxLength: 400 },
    { seed: 2, retainMs: 3_000, keys: 3, members: 3, lateShare: 0.3, maxLength: 2_000 },
    { seed: 3, retainMs: 1_000, keys: 1, members: 6, lateShare: 0.2, maxLength: 100 },
    { seed: 4, retainMs: 20_000, keys: 1, members: 2, lateShare: 0.5, maxLength: 5_000 },
    { seed: 5, retainMs: 500, keys: 2, members: 1_000_000, lateShare: 0.1, maxLength: 50 },
    { seed: 6, retainMs: 1_000, keys: 2, members: 3, lateShare: 0.3, maxLength: 400, grain: 100 },
  ])('answers and holds what the scanning state does ($retainMs ms retention, seed $seed)', ({ seed, retainMs, keys, members, lateShare, maxLength, grain }) => {
    const rnd = prng(seed);
    const indexed = createMemoryIntervalState();
    const scan = createScanIntervalState();
    const next = clock(rnd, 40, lateShare, 4_000, grain);
    const sent: [string, string, string, number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      let args: [string, string, string, number, number];
      if (sent.length > 0 && rnd() < 0.15) args = sent[Math.max(0, sent.length - 1 - Math.floor(rnd() * 50))]!; // re-delivery
      else {
        const end = next();
        // Zero-length intervals and intervals sharing an end included.
        const length = rnd() < 0.05 ? 0 : Math.floor((rnd() * maxLength) / (grain ?? 1)) * (grain ?? 1);
        args = [`k${Math.floor(rnd() * keys)}`, `id${i}`, `m${Math.floor(rnd() * Math.min(members, i + 1))}`, end - length, end];
        sent.push(args);
      }
      const [key, id, member, start, end] = args;
      expect(indexed.overlap(key, id, member, start, end, retainMs), `call ${i}`).toEqual(scan.overlap(key, id, member, start, end, retainMs));
      expect(indexed.size(key)).toBe(scan.size(key));
    }
    expect(indexed.keyCount).toBe(scan.keyCount);
  });
});

describe('memory FingerprintState index', () => {
  it.each([
    { seed: 1, retainMs: 1e12, prints: 3, owners: 5, lateShare: 0.1 },
    { seed: 2, retainMs: 4_000, prints: 2, owners: 3, lateShare: 0.3 },
    { seed: 3, retainMs: 1_500, prints: 1, owners: 40, lateShare: 0.2 },
    { seed: 4, retainMs: 30_000, prints: 50, owners: 4, lateShare: 0.5 },
    { seed: 5, retainMs: 800, prints: 1, owners: 2, lateShare: 0 },
    { seed: 6, retainMs: 2_000, prints: 3, owners: 4, lateShare: 0.3, grain: 100 },
  ])('answers and holds what the scanning state does ($retainMs ms retention, $prints prints, seed $seed)', ({ seed, retainMs, prints, owners, lateShare, grain }) => {
    const rnd = prng(seed);
    const indexed = createMemoryFingerprintState();
    const scan = createScanFingerprintState();
    const next = clock(rnd, 40, lateShare, 3_000, grain);
    const sent: [string, string[], string, string, number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      let args: [string, string[], string, string, number, number];
      if (sent.length > 0 && rnd() < 0.15) args = sent[Math.max(0, sent.length - 1 - Math.floor(rnd() * 40))]!; // re-delivery
      else {
        const n = 1 + Math.floor(rnd() * 3);
        const fs = [...new Set(Array.from({ length: n }, () => `f${Math.floor(rnd() * prints)}`))];
        args = [`k${Math.floor(rnd() * 2)}`, fs, `o${Math.floor(rnd() * owners)}`, `id${i}`, next(), [200, 1000, 5000][Math.floor(rnd() * 3)]!];
        sent.push(args);
      }
      const [key, fs, owner, id, at, windowMs] = args;
      if (fs.length === 1 && rnd() < 0.5) {
        expect(indexed.claim(key, fs[0]!, owner, id, at, windowMs, retainMs), `call ${i}`).toEqual(scan.claim(key, fs[0]!, owner, id, at, windowMs, retainMs));
      } else {
        expect(indexed.claimMany(key, fs, owner, id, at, windowMs, retainMs), `call ${i}`).toEqual(scan.claimMany(key, fs, owner, id, at, windowMs, retainMs));
      }
    }
    expect(indexed.size).toBe(scan.size);
    indexed.clear();
    expect(indexed.size).toBe(0);
  });
});

describe('memory SequenceState (nested slots)', () => {
  it.each([
    { seed: 1, retainMs: 1e12, keys: 3, lateShare: 0.1 },
    { seed: 2, retainMs: 3_000, keys: 2, lateShare: 0.3 },
    { seed: 3, retainMs: 800, keys: 1, lateShare: 0.5 },
    { seed: 4, retainMs: 20_000, keys: 40, lateShare: 0.2 },
    { seed: 5, retainMs: 2_000, keys: 40, lateShare: 0.3, grain: 100 },
    { seed: 6, retainMs: 1e12, keys: 200, lateShare: 0.5, grain: 100 },
  ])('answers what the scanning state does ($retainMs ms retention, $keys keys, seed $seed)', ({ seed, retainMs, keys, lateShare, grain }) => {
    const rnd = prng(seed);
    const indexed = createMemorySequenceState();
    const scan = createScanSequenceState();
    const next = clock(rnd, 40, lateShare, 3_000, grain);
    const sent: [string, string, string, number][] = [];
    for (let i = 0; i < 5000; i++) {
      let args: [string, string, string, number];
      if (sent.length > 0 && rnd() < 0.2) args = sent[Math.max(0, sent.length - 1 - Math.floor(rnd() * 40))]!; // re-delivery
      else {
        // Keys and events that would collide if joined carelessly ('a' + 'b:c' vs 'a:b' + 'c').
        args = [['a', 'a:b', 'k', `k${Math.floor(rnd() * keys)}`][Math.floor(rnd() * 4)]!, ['b:c', 'c', 'e'][Math.floor(rnd() * 3)]!, `id${i}`, next()];
        sent.push(args);
      }
      const [key, event, id, at] = args;
      const r = rnd();
      if (r < 0.5) {
        indexed.record(key, event, id, at, retainMs);
        scan.record(key, event, id, at, retainMs);
      }
      if (r >= 0.3) {
        const windowMs = [300, 2000, 10_000][Math.floor(rnd() * 3)]!;
        expect(indexed.latest(key, event, id, at, windowMs, retainMs), `call ${i}`).toEqual(scan.latest(key, event, id, at, windowMs, retainMs));
      }
    }
    expect(indexed.size).toBe(scan.size);
    indexed.clear();
    expect(indexed.size).toBe(0);
  });
});

describe('memory SequenceState one-record and one-answer slots, at the edges', () => {
  it('a lone record exactly windowMs old is out; at the horizon it is dropped', () => {
    for (const make of [createMemorySequenceState, createScanSequenceState]) {
      const s = make();
      s.record('k', 'e', 'r1', 1000, 500);
      expect(s.latest('k', 'e', 'q0', 1300, 300, 500)).toBeNull(); // (1000, 1300]: r1 exactly 300 old
      expect(s.latest('k', 'e', 'q1', 1299, 300, 500)).toEqual({ id: 'r1', at: 1000 });
      expect(s.latest('k', 'e', 'q2', 1500, 1000, 500)).toEqual({ id: 'r1', at: 1000 }); // then horizon 1000 drops r1
      expect(s.latest('k', 'e', 'q3', 1500, 1000, 500)).toBeNull();
    }
  });

  it('a lone answer at the horizon is dropped, and the asker is answered afresh', () => {
    for (const make of [createMemorySequenceState, createScanSequenceState]) {
      const s = make();
      s.record('k', 'e', 'r1', 1000, 500);
      expect(s.latest('k', 'e', 'q1', 900, 1000, 500)).toBeNull(); // r1 is later than the asker
      expect(s.latest('k', 'e', 'q1', 1400, 1000, 500)).toBeNull(); // remembered, arguments ignored
      s.record('k', 'e', 'r2', 1400, 500); // horizon 900: q1's answer (900) dropped, r1 kept
      expect(s.latest('k', 'e', 'q1', 1400, 1000, 500)).toEqual({ id: 'r2', at: 1400 });
    }
  });
});
