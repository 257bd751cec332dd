/**
 * The Redis interval, fingerprint and sequence states (hub/src/jobs/rule-state.ts) replayed
 * against the exact in-memory references from @jianguan/rules: random call sequences with
 * re-deliveries (same id, sometimes other arguments), several keys, ties and tight retention —
 * every answer must be identical. Peek calls interleaved at random must answer what the next
 * write with the same arguments answers, and must change nothing.
 */
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  createMemoryFingerprintState,
  createMemoryIntervalState,
  createMemorySequenceState,
  createMemoryWindowState,
} from '@jianguan/rules';
import { createPeekRuleStates, createRedisRuleStates } from '../src/jobs/rule-state.js';
import { createRedisWindowState } from '../src/jobs/window-state.js';
import { testRedisUrl, prng, deleteKeys } from './helpers.js';

const redis = new Redis(testRedisUrl());
const root = `jgt-rs-${crypto.randomBytes(4).toString('hex')}`;
let n = 0;
const fresh = () => {
  const prefix = `${root}-${n++}`;
  return { prefix, write: createRedisRuleStates(redis, prefix), peek: createPeekRuleStates(redis, prefix), window: createRedisWindowState(redis, prefix) };
};

afterAll(async () => {
  await deleteKeys(redis, root);
  await redis.quit();
});

const T0 = Date.UTC(2026, 10, 1);
const BIG = 1e12;

describe('IntervalState in Redis', () => {
  it('answers the worked example of the contract', async () => {
    const { write: s } = fresh();
    expect(await s.intervals.overlap('k', 'a', 'L1', 100, 200, BIG)).toEqual({ overlapMs: 0 });
    expect(await s.intervals.overlap('k', 'b', 'L2', 150, 400, BIG)).toEqual({ overlapMs: 50, other: { id: 'a', member: 'L1', start: 100, end: 200 } });
    expect(await s.intervals.overlap('k', 'c', 'L3', 110, 250, BIG)).toEqual({ overlapMs: 100, other: { id: 'b', member: 'L2', start: 150, end: 400 } });
    expect(await s.intervals.overlap('k', 'd', 'L1', 100, 200, BIG)).toMatchObject({ overlapMs: 90, other: { id: 'c' } });
    // Re-delivery with other arguments: the stored answer.
    expect(await s.intervals.overlap('k', 'a', 'L1', 0, 5000, BIG)).toEqual({ overlapMs: 0 });
    // Any characters in ids and members.
    expect(await s.intervals.overlap('k2', 'x:1\t2', '甲:3}', 120, 130, BIG)).toEqual({ overlapMs: 0 });
    expect(await s.intervals.overlap('k2', 'y', 'L9', 125, 126, BIG)).toMatchObject({ other: { id: 'x:1\t2', member: '甲:3}' } });
    await expect(s.intervals.overlap('k', 'z', 'm', 200, 100, BIG)).rejects.toThrow(RangeError);
  });

  it.each([1, 2, 3])('replays like the memory reference, re-deliveries, peeks and retention included (seed %i)', async (seed) => {
    const rnd = prng(seed);
    const { write: s, peek } = fresh();
    const m = createMemoryIntervalState();
    const sent: [string, string, string, number, number][] = [];
    const retain = seed === 3 ? 800 : BIG;
    for (let i = 0; i < 700; i++) {
      let args: [string, string, string, number, number];
      if (sent.length > 0 && rnd() < 0.3) {
        args = sent[Math.floor(rnd() * sent.length)]!;
        if (rnd() < 0.3) args = [args[0], args[1], args[2], args[3] + 7, args[4] + 100]; // same id, other arguments
      } else {
        const start = T0 + Math.floor(rnd() * 5000);
        args = [`k${Math.floor(rnd() * 3)}`, `id${i}`, `m${Math.floor(rnd() * 4)}`, start, start + Math.floor(rnd() * 400)];
        sent.push(args);
      }
      const [key, id, member, start, end] = args;
      const peeked = rnd() < 0.25 ? await peek.intervals.overlap(key, id, member, start, end, retain) : undefined;
      const expected = await m.overlap(key, id, member, start, end, retain);
      const got = await s.intervals.overlap(key, id, member, start, end, retain);
      expect(got).toEqual(expected);
      if (peeked) expect(peeked).toEqual(expected);
    }
  });
});

/** The interval member index of a key must be exactly: member → latest end of its live intervals. */
async function expectIntervalIndexExact(prefix: string, key: string): Promise<void> {
  const tag = `{${key}}`;
  const ends = await redis.zrange(`${prefix}:ive:${tag}`, '0', '-1', 'WITHSCORES');
  const expected = new Map<string, number>();
  for (let i = 0; i < ends.length; i += 2) {
    const rec = await redis.hget(`${prefix}:iv:${tag}`, ends[i]!);
    expect(rec).not.toBeNull();
    const c = rec!.indexOf(':');
    const member = rec!.slice(c + 1, c + 1 + Number(rec!.slice(0, c)));
    expected.set(member, Math.max(expected.get(member) ?? -Infinity, Number(ends[i + 1])));
  }
  const index = await redis.zrange(`${prefix}:ivn:${tag}`, '0', '-1', 'WITHSCORES');
  const got = new Map<string, number>();
  for (let i = 0; i < index.length; i += 2) got.set(index[i]!, Number(index[i + 1]));
  expect(got).toEqual(expected);
}

describe('IntervalState in Redis: member index', () => {
  it.each([
    [11, BIG],
    [12, 900],
    [13, 300],
  ])('replays like the memory reference when one member dominates each key (seed %i, retain %i)', async (seed, retain) => {
    // Mostly one member per key, others now and then: most calls take the no-scan path, the
    // rest must still find the right interval among many of the caller's own.
    const rnd = prng(seed);
    const { prefix, write: s, peek } = fresh();
    const m = createMemoryIntervalState();
    const sent: [string, string, string, number, number][] = [];
    for (let i = 0; i < 800; i++) {
      let args: [string, string, string, number, number];
      if (sent.length > 0 && rnd() < 0.15) args = sent[Math.floor(rnd() * sent.length)]!;
      else {
        const start = T0 + i * 5 + Math.floor(rnd() * 200) - (rnd() < 0.05 ? Math.floor(rnd() * 2000) : 0);
        const member = rnd() < 0.9 ? 'venue-A' : `venue-${'BCD'[Math.floor(rnd() * 3)]}`;
        args = [`k${Math.floor(rnd() * 2)}`, `id${i}`, member, start, start + Math.floor(rnd() * 600)];
        sent.push(args);
      }
      const [key, id, member, start, end] = args;
      const peeked = rnd() < 0.2 ? await peek.intervals.overlap(key, id, member, start, end, retain) : undefined;
      const expected = await m.overlap(key, id, member, start, end, retain);
      expect(await s.intervals.overlap(key, id, member, start, end, retain)).toEqual(expected);
      if (peeked) expect(peeked).toEqual(expected);
    }
    await expectIntervalIndexExact(prefix, 'k0');
    await expectIntervalIndexExact(prefix, 'k1');
  });

  it('answers like the reference for state written before the index existed, and rebuilds it', async () => {
    const rnd = prng(21);
    const { prefix, write: s, peek } = fresh();
    const m = createMemoryIntervalState();
    const call = async (i: number, check: 'write' | 'peek') => {
      const start = T0 + Math.floor(rnd() * 3000);
      const args: [string, string, string, number, number] = ['k', `id${i}`, `m${Math.floor(rnd() * 3)}`, start, start + Math.floor(rnd() * 500)];
      if (check === 'peek') {
        // What the write would answer, without writing: compare against a copy of the reference.
        const got = await peek.intervals.overlap(...args, BIG);
        expect(await s.intervals.overlap(...args, BIG)).toEqual(got);
        expect(got).toEqual(await m.overlap(...args, BIG));
      } else {
        expect(await s.intervals.overlap(...args, BIG)).toEqual(await m.overlap(...args, BIG));
      }
    };
    for (let i = 0; i < 200; i++) await call(i, 'write');
    // State as an earlier version left it: intervals without the member index.
    expect(await redis.del(`${prefix}:ivn:{k}`)).toBe(1);
    for (let i = 200; i < 210; i++) await call(i, 'peek');
    await expectIntervalIndexExact(prefix, 'k');
    for (let i = 210; i < 400; i++) await call(i, 'write');
    await expectIntervalIndexExact(prefix, 'k');
  });

  it('skips the scan when only the caller\'s member has intervals ending after its start', async () => {
    const { prefix, write: s } = fresh();
    for (let i = 0; i < 3000; i++) expect(await s.intervals.overlap('one-venue', `x${i}`, 'A', T0 + i, T0 + 10_000 + i, BIG)).toEqual({ overlapMs: 0 });
    // A scan reads the live intervals with HMGET. Counted on this test's own keys, as MONITOR shows
    // the commands a script runs: Redis's server-wide command counters also count the HMGETs of
    // the queue scripts that other test files run against the same server at the same time.
    const monitor = await redis.monitor();
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    const scans = () => seen.filter((a) => a[0]?.toLowerCase() === 'hmget' && a[1]?.startsWith(prefix)).length;
    // Everything sent before a marker has been shown once the marker has.
    const shown = async () => {
      const mark = `${prefix}-mark-${seen.length}`;
      await redis.echo(mark);
      await vi.waitFor(() => expect(seen.some((a) => a[1] === mark)).toBe(true));
    };
    try {
      for (let i = 3000; i < 3100; i++) expect(await s.intervals.overlap('one-venue', `x${i}`, 'A', T0 + i, T0 + 10_000 + i, BIG)).toEqual({ overlapMs: 0 });
      await shown();
      expect(scans()).toBe(0);
      // Another member still finds the longest overlap among all of them (ties: smaller start),
      // by a scan — which the count sees.
      expect(await s.intervals.overlap('one-venue', 'y', 'B', T0 + 5000, T0 + 9000, BIG)).toEqual({
        overlapMs: 4000,
        other: { id: 'x0', member: 'A', start: T0, end: T0 + 10_000 },
      });
      await shown();
      expect(scans()).toBeGreaterThan(0);
    } finally {
      monitor.disconnect();
    }
  });
});

describe('FingerprintState in Redis', () => {
  it('answers the worked example of the contract', async () => {
    const { write: s } = fresh();
    expect(await s.fingerprints.claim('k', 'f', 'VIN1', 't1', 1000, 500, BIG)).toEqual({ others: 0 });
    expect(await s.fingerprints.claim('k', 'f', 'VIN1', 't2', 1100, 500, BIG)).toEqual({ others: 0 });
    expect(await s.fingerprints.claim('k', 'f', 'VIN2', 't3', 1200, 500, BIG)).toEqual({ others: 1, first: { owner: 'VIN1', id: 't1', at: 1000 } });
    expect(await s.fingerprints.claim('k', 'f', 'VIN3', 't4', 1300, 500, BIG)).toEqual({ others: 2, first: { owner: 'VIN1', id: 't1', at: 1000 } });
    expect(await s.fingerprints.claim('k', 'g', 'VIN3', 't4', 1300, 500, BIG)).toEqual({ others: 0 });
    // Window edge: exactly windowMs away is outside.
    expect(await s.fingerprints.claim('k', 'f', 'VIN4', 't5', 1600, 500, BIG)).toEqual({ others: 2, first: { owner: 'VIN2', id: 't3', at: 1200 } });
  });

  it.each([1, 2, 3])('replays like the memory reference (seed %i)', async (seed) => {
    const rnd = prng(100 + seed);
    const { write: s, peek } = fresh();
    const m = createMemoryFingerprintState();
    const sent: [string, string, string, string, number, number][] = [];
    const retain = seed === 3 ? 700 : BIG;
    for (let i = 0; i < 700; i++) {
      let args: [string, string, string, string, number, number];
      if (sent.length > 0 && rnd() < 0.3) args = sent[Math.floor(rnd() * sent.length)]!;
      else {
        args = [`k${Math.floor(rnd() * 2)}`, `f${Math.floor(rnd() * 4)}`, `o${Math.floor(rnd() * 5)}`, `id${Math.floor(rnd() * 1e6)}`, T0 + Math.floor(rnd() * 3000), 1 + Math.floor(rnd() * 500)];
        sent.push(args);
      }
      const [key, f, owner, id, at, w] = args;
      const peeked = rnd() < 0.25 ? await peek.fingerprints.claim(key, f, owner, id, at, w, retain) : undefined;
      const expected = await m.claim(key, f, owner, id, at, w, retain);
      expect(await s.fingerprints.claim(key, f, owner, id, at, w, retain)).toEqual(expected);
      if (peeked) expect(peeked).toEqual(expected);
    }
  });
});

describe('FingerprintState.claimMany in Redis', () => {
  it.each([1, 2])('answers, in order, what the reference answers claim by claim (seed %i)', async (seed) => {
    const rnd = prng(300 + seed);
    const { write: s, peek } = fresh();
    const m = createMemoryFingerprintState();
    const retain = seed === 2 ? 700 : BIG;
    const sent: [string, string[], string, string, number, number][] = [];
    for (let i = 0; i < 500; i++) {
      let args: [string, string[], string, string, number, number];
      if (sent.length > 0 && rnd() < 0.25) args = sent[Math.floor(rnd() * sent.length)]!;
      else {
        // Up to five fingerprints, repeats included; sometimes none.
        const prints = Array.from({ length: Math.floor(rnd() * 6) }, () => `f${Math.floor(rnd() * 6)}`);
        args = [`k${Math.floor(rnd() * 2)}`, prints, `o${Math.floor(rnd() * 4)}`, `id${i}`, T0 + Math.floor(rnd() * 3000), 1 + Math.floor(rnd() * 500)];
        sent.push(args);
      }
      const [key, prints, owner, id, at, w] = args;
      const peeked = rnd() < 0.25 ? await peek.fingerprints.claimMany!(key, prints, owner, id, at, w, retain) : undefined;
      const expected: unknown[] = [];
      for (const f of prints) expected.push(await m.claim(key, f, owner, id, at, w, retain));
      const got = await s.fingerprints.claimMany!(key, prints, owner, id, at, w, retain);
      expect(got).toEqual(expected);
      // A peek answers like the write that follows it (a fingerprint repeated within one call
      // answers like its first claim either way: remembered when written, recomputed when not).
      if (peeked) expect(peeked).toEqual(expected);
      // Single claims and claimMany share their keys.
      if (prints.length > 0 && rnd() < 0.2) expect(await s.fingerprints.claim(key, prints[0]!, owner, id, at, w, retain)).toEqual(expected[0]);
    }
  });

  it('rejects nonsensical arguments and answers nothing for no fingerprints', async () => {
    const { write: s } = fresh();
    expect(await s.fingerprints.claimMany!('k', [], 'o', 'i', T0, 10, BIG)).toEqual([]);
    await expect(s.fingerprints.claimMany!('k', ['f'], 'o', 'i', Number.NaN, 10, BIG)).rejects.toThrow(RangeError);
    await expect(s.fingerprints.claimMany!('k', ['f'], 'o', 'i', T0, 0, BIG)).rejects.toThrow(RangeError);
  });
});

describe('SequenceState in Redis', () => {
  it('answers the worked example of the contract', async () => {
    const { write: s } = fresh();
    await s.sequences.record('vin', 'registered', 'a', 1000, BIG);
    await s.sequences.record('vin', 'registered', 'b', 1500, BIG);
    await s.sequences.record('vin', 'registered', 'c', 3000, BIG);
    expect(await s.sequences.latest('vin', 'registered', 'q', 2000, 1000, BIG)).toEqual({ id: 'b', at: 1500 });
    expect(await s.sequences.latest('vin', 'registered', 'r', 2500, 1000, BIG)).toBeNull();
    expect(await s.sequences.latest('vin', 'registered', 'b', 1500, 1000, BIG)).toEqual({ id: 'a', at: 1000 });
    // Remembered: a later record does not change q's answer.
    await s.sequences.record('vin', 'registered', 'late', 1999, BIG);
    expect(await s.sequences.latest('vin', 'registered', 'q', 2000, 1000, BIG)).toEqual({ id: 'b', at: 1500 });
    // Ties on time: the smaller id.
    await s.sequences.record('t', 'e', 'b', 100, BIG);
    await s.sequences.record('t', 'e', 'a', 100, BIG);
    await s.sequences.record('t', 'e', 'a', 900, BIG);
    expect(await s.sequences.latest('t', 'e', 'q', 500, 1000, BIG)).toEqual({ id: 'a', at: 100 });
  });

  it('breaks ties over more records than one scan page', async () => {
    const { write: s } = fresh();
    for (let i = 0; i < 150; i++) await s.sequences.record('tie', 'e', `id${String(999 - i).padStart(4, '0')}`, 500, BIG);
    expect(await s.sequences.latest('tie', 'e', 'id0850', 600, 1000, BIG)).toEqual({ id: 'id0851', at: 500 });
  });

  it.each([1, 2, 3])('replays like the memory reference (seed %i)', async (seed) => {
    const rnd = prng(200 + seed);
    const { write: s, peek } = fresh();
    const m = createMemorySequenceState();
    const asked: [string, string, string, number, number][] = [];
    const retain = seed === 3 ? 1500 : BIG;
    for (let i = 0; i < 900; i++) {
      const key = `k${Math.floor(rnd() * 3)}`;
      const event = `e${Math.floor(rnd() * 2)}`;
      if (rnd() < 0.5) {
        const id = rnd() < 0.2 ? `r${Math.floor(rnd() * i)}` : `r${i}`;
        const at = T0 + Math.floor(rnd() * 5000);
        await m.record(key, event, id, at, retain);
        await peek.sequences.record(key, event, id, at, retain);
        await s.sequences.record(key, event, id, at, retain);
      } else {
        const args: [string, string, string, number, number] =
          asked.length > 0 && rnd() < 0.3 ? asked[Math.floor(rnd() * asked.length)]! : [key, event, `q${i}`, T0 + Math.floor(rnd() * 5000), 1 + Math.floor(rnd() * 2000)];
        asked.push(args);
        const [k, e, id, at, w] = args;
        const peeked = rnd() < 0.25 ? await peek.sequences.latest(k, e, id, at, w, retain) : undefined;
        const expected = await m.latest(k, e, id, at, w, retain);
        expect(await s.sequences.latest(k, e, id, at, w, retain)).toEqual(expected);
        if (peeked !== undefined) expect(peeked).toEqual(expected);
      }
    }
  });
});

describe('window state peek', () => {
  it('answers what observe() would answer and records nothing', async () => {
    const rnd = prng(7);
    const { peek, window } = fresh();
    const m = createMemoryWindowState();
    for (let i = 0; i < 600; i++) {
      const key = `w${Math.floor(rnd() * 3)}`;
      const member = `t${Math.floor(rnd() * 40)}`;
      const at = T0 + Math.floor(rnd() * 5000);
      const w = 1 + Math.floor(rnd() * 2000);
      const peeked = await peek.state.observe(key, member, at, w);
      const expected = await m.observe(key, member, at, w);
      expect(peeked).toBe(expected);
      expect(await window.observe(key, member, at, w)).toBe(expected);
    }
  });
});
