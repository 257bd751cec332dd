/**
 * The interval, fingerprint and sequence state contracts (engine/types.ts) on their in-memory
 * reference implementations: worked examples, exact edges, idempotency under re-delivery, retention,
 * and model-based runs against the contract written out naively (the model the hub's Redis
 * implementation can be checked against with the same sequences).
 */
import { describe, expect, it } from 'vitest';
import {
  createMemoryFingerprintState,
  createMemoryIntervalState,
  createMemorySequenceState,
  type FingerprintMatch,
  type IntervalConflict,
  type SequenceMatch,
} from '../src/index.js';
import { prng } from './helpers.js';

const BIG = 1e12; // retention that never drops anything in these tests

describe('IntervalState (overlap)', () => {
  it('answers the longest overlap with an earlier interval of another member', async () => {
    const s = createMemoryIntervalState();
    expect(await s.overlap('k', 'a', 'L1', 100, 200, BIG)).toEqual({ overlapMs: 0 });
    expect(await s.overlap('k', 'b', 'L2', 150, 400, BIG)).toEqual({ overlapMs: 50, other: { id: 'a', member: 'L1', start: 100, end: 200 } });
    // c overlaps a by 90 and b by 100: b wins.
    expect(await s.overlap('k', 'c', 'L3', 110, 250, BIG)).toEqual({ overlapMs: 100, other: { id: 'b', member: 'L2', start: 150, end: 400 } });
    // Same member never conflicts with itself; other keys are independent.
    // d [100, 200) on L1: b (L2) by 50, c (L3) by 90 → c.
    expect(await s.overlap('k', 'd', 'L1', 100, 200, BIG)).toMatchObject({ overlapMs: 90, other: { id: 'c' } });
    expect(await s.overlap('k2', 'e', 'L9', 0, 1000, BIG)).toEqual({ overlapMs: 0 });
  });

  it('is half-open: touching intervals do not overlap, one millisecond does', async () => {
    const s = createMemoryIntervalState();
    await s.overlap('k', 'a', 'L1', 100, 200, BIG);
    expect((await s.overlap('k', 'b', 'L2', 200, 300, BIG)).overlapMs).toBe(0);
    expect((await s.overlap('k', 'c', 'L2', 199, 300, BIG)).overlapMs).toBe(1);
    expect((await s.overlap('k', 'd', 'L3', 50, 100, BIG)).overlapMs).toBe(0);
    // A zero-length interval overlaps nothing.
    expect((await s.overlap('k', 'e', 'L4', 150, 150, BIG)).overlapMs).toBe(0);
  });

  it('breaks ties by the earlier start, then the smaller id', async () => {
    const s = createMemoryIntervalState();
    await s.overlap('k', 'z', 'L1', 0, 100, BIG);
    await s.overlap('k', 'y', 'L2', 100, 200, BIG);
    await s.overlap('k', 'x', 'L2', 0, 100, BIG); // same member as y: not a conflict candidate for L2 askers
    // [50, 150) overlaps z by 50 and y by 50 and x by 50: the earlier start (z, x at 0) then the smaller id (x).
    expect((await s.overlap('k', 'q', 'L3', 50, 150, BIG)).other?.id).toBe('x');
  });

  it('is idempotent per id: re-delivery returns the first answer whatever arrived since', async () => {
    const s = createMemoryIntervalState();
    const first = await s.overlap('k', 'a', 'L1', 100, 200, BIG);
    await s.overlap('k', 'b', 'L2', 100, 200, BIG); // conflicts with a, arrives later
    expect(await s.overlap('k', 'a', 'L1', 100, 200, BIG)).toEqual(first);
    // Even with different arguments (a re-sent record is the same record): the stored answer.
    expect(await s.overlap('k', 'a', 'L1', 0, 5000, BIG)).toEqual(first);
    expect(s.size('k')).toBe(2);
  });

  it('keeps intervals ending after (largest start − retainMs), exactly', async () => {
    const s = createMemoryIntervalState();
    await s.overlap('k', 'a', 'L1', 0, 100, 1000);
    await s.overlap('k', 'b', 'L1', 50, 101, 1000);
    await s.overlap('k', 'c', 'L2', 1100, 1200, 1000); // horizon 100: a (end 100) dropped, b (end 101) kept
    expect(s.size('k')).toBe(2);
    // A late record overlapping both sees only b.
    expect(await s.overlap('k', 'late', 'L3', 0, 200, 1000)).toMatchObject({ other: { id: 'b' } });
  });

  it('rejects nonsensical arguments', async () => {
    const s = createMemoryIntervalState();
    expect(() => s.overlap('k', 'a', 'm', 200, 100, BIG)).toThrow(RangeError);
    expect(() => s.overlap('k', 'a', 'm', Number.NaN, 100, BIG)).toThrow(RangeError);
    expect(() => s.overlap('k', 'a', 'm', 0, 100, 0)).toThrow(RangeError);
  });

  it.each([1, 2, 3, 4])('matches a naive model, re-deliveries included (seed %i)', async (seed) => {
    const rnd = prng(seed);
    const s = createMemoryIntervalState();
    const model = new Map<string, Map<string, { member: string; start: number; end: number; answer: IntervalConflict }>>();
    const sent: [string, string, string, number, number][] = [];
    for (let i = 0; i < 1500; i++) {
      let args: [string, string, string, number, number];
      if (sent.length > 0 && rnd() < 0.3) args = sent[Math.floor(rnd() * sent.length)]!; // re-delivery
      else {
        const start = Math.floor(rnd() * 5000);
        args = [`k${Math.floor(rnd() * 3)}`, `id${i}`, `m${Math.floor(rnd() * 4)}`, start, start + Math.floor(rnd() * 400)];
        sent.push(args);
      }
      const [key, id, member, start, end] = args;
      const entries = model.get(key) ?? new Map();
      model.set(key, entries);
      let expected = entries.get(id)?.answer;
      if (!expected) {
        let best: [string, { member: string; start: number; end: number }] | undefined;
        let bestMs = 0;
        for (const [eid, e] of entries) {
          if (e.member === member || !(e.start < end && start < e.end)) continue;
          const ms = Math.min(end, e.end) - Math.max(start, e.start);
          if (ms > bestMs || (ms === bestMs && best && (e.start < best[1].start || (e.start === best[1].start && eid < best[0])))) [best, bestMs] = [[eid, e], ms];
        }
        expected = best ? { overlapMs: bestMs, other: { id: best[0], member: best[1].member, start: best[1].start, end: best[1].end } } : { overlapMs: 0 };
        entries.set(id, { member, start, end, answer: expected });
      }
      expect(await s.overlap(key, id, member, start, end, BIG)).toEqual(expected);
    }
  });
});

describe('FingerprintState (fingerprint)', () => {
  it('counts distinct other owners within |Δt| < window and names the earliest claim', async () => {
    const s = createMemoryFingerprintState();
    expect(await s.claim('k', 'f', 'VIN1', 't1', 1000, 500, BIG)).toEqual({ others: 0 });
    expect(await s.claim('k', 'f', 'VIN1', 't2', 1100, 500, BIG)).toEqual({ others: 0 }); // same owner
    expect(await s.claim('k', 'f', 'VIN2', 't3', 1200, 500, BIG)).toEqual({ others: 1, first: { owner: 'VIN1', id: 't1', at: 1000 } });
    expect(await s.claim('k', 'f', 'VIN3', 't4', 1300, 500, BIG)).toEqual({ others: 2, first: { owner: 'VIN1', id: 't1', at: 1000 } });
    expect(await s.claim('k', 'g', 'VIN3', 't4', 1300, 500, BIG)).toEqual({ others: 0 }); // another fingerprint
    expect(await s.claim('k2', 'f', 'VIN4', 't5', 1300, 500, BIG)).toEqual({ others: 0 }); // another key
  });

  it('is symmetric and exact at the window edge', async () => {
    const s = createMemoryFingerprintState();
    await s.claim('k', 'f', 'VIN1', 'a', 10_000, 1000, BIG);
    expect((await s.claim('k', 'f', 'VIN2', 'b', 11_000, 1000, BIG)).others).toBe(0); // exactly window after
    expect((await s.claim('k', 'f', 'VIN3', 'c', 10_999, 1000, BIG)).others).toBe(2); // a and b (b is 1 ms later)
    expect((await s.claim('k', 'f', 'VIN4', 'd', 9_001, 1000, BIG)).first?.owner).toBe('VIN1'); // earlier copy found too
    expect((await s.claim('k', 'f', 'VIN5', 'e', 9_000, 1000, BIG)).others).toBe(1); // a exactly window away: out; only d (9001) in
  });

  it('is idempotent per (key, fingerprint, id)', async () => {
    const s = createMemoryFingerprintState();
    const first = await s.claim('k', 'f', 'VIN1', 'a', 1000, 500, BIG);
    await s.claim('k', 'f', 'VIN2', 'b', 1001, 500, BIG);
    expect(await s.claim('k', 'f', 'VIN1', 'a', 1000, 500, BIG)).toEqual(first);
    const second = await s.claim('k', 'f', 'VIN2', 'b', 1001, 500, BIG);
    expect(second).toEqual({ others: 1, first: { owner: 'VIN1', id: 'a', at: 1000 } });
  });

  it('drops claims at or before (newest − retainMs)', async () => {
    const s = createMemoryFingerprintState();
    await s.claim('k', 'f', 'VIN1', 'a', 0, 5000, 1000);
    await s.claim('k', 'f', 'VIN1', 'b', 1, 5000, 1000);
    await s.claim('k', 'f', 'VIN2', 'c', 1000, 5000, 1000); // horizon 0: a dropped, b kept
    expect(await s.claim('k', 'f', 'VIN3', 'd', 1000, 5000, 1000)).toEqual({ others: 2, first: { owner: 'VIN1', id: 'b', at: 1 } });
  });

  it('rejects nonsensical arguments', async () => {
    const s = createMemoryFingerprintState();
    expect(() => s.claim('k', 'f', 'o', 'i', Number.POSITIVE_INFINITY, 1, BIG)).toThrow(RangeError);
    expect(() => s.claim('k', 'f', 'o', 'i', 1, 0, BIG)).toThrow(RangeError);
    expect(() => s.claim('k', 'f', 'o', 'i', 1, 1, -1)).toThrow(RangeError);
  });

  it.each([1, 2, 3])('matches a naive model, re-deliveries included (seed %i)', async (seed) => {
    const rnd = prng(seed);
    const s = createMemoryFingerprintState();
    const model = new Map<string, Map<string, { owner: string; at: number; answer: FingerprintMatch }>>();
    const sent: [string, string, string, string, number, number][] = [];
    for (let i = 0; i < 1500; i++) {
      let args: [string, string, string, string, number, number];
      if (sent.length > 0 && rnd() < 0.3) args = sent[Math.floor(rnd() * sent.length)]!;
      else {
        args = [`k${Math.floor(rnd() * 2)}`, `f${Math.floor(rnd() * 4)}`, `o${Math.floor(rnd() * 5)}`, `id${i}`, Math.floor(rnd() * 3000), 1 + Math.floor(rnd() * 500)];
        sent.push(args);
      }
      const [key, f, owner, id, at, windowMs] = args;
      const claims = model.get(`${key}|${f}`) ?? new Map();
      model.set(`${key}|${f}`, claims);
      let expected = claims.get(id)?.answer;
      if (!expected) {
        const inRange = [...claims].filter(([, c]) => c.owner !== owner && Math.abs(c.at - at) < windowMs);
        inRange.sort(([ia, a], [ib, b]) => a.at - b.at || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : ia < ib ? -1 : 1));
        const f0 = inRange[0];
        expected = f0 ? { others: new Set(inRange.map(([, c]) => c.owner)).size, first: { owner: f0[1].owner, id: f0[0], at: f0[1].at } } : { others: 0 };
        claims.set(id, { owner, at, answer: expected });
      }
      expect(await s.claim(key, f, owner, id, at, windowMs, BIG)).toEqual(expected);
    }
  });
});

describe('FingerprintState.claimMany', () => {
  it('answers, in order, what claim() answers for each fingerprint in turn', async () => {
    const rnd = prng(41);
    const many = createMemoryFingerprintState();
    const one = createMemoryFingerprintState();
    for (let i = 0; i < 600; i++) {
      const key = `k${Math.floor(rnd() * 2)}`;
      // Repeats within one call included: the second claim of a pair sees the first.
      const prints = Array.from({ length: Math.floor(rnd() * 4) }, () => `f${Math.floor(rnd() * 5)}`);
      const args = [`o${Math.floor(rnd() * 4)}`, rnd() < 0.2 ? `id${Math.floor(rnd() * i)}` : `id${i}`, Math.floor(rnd() * 3000), 1 + Math.floor(rnd() * 500), rnd() < 0.5 ? 800 : BIG] as const;
      const expected: FingerprintMatch[] = [];
      for (const f of prints) expected.push(await one.claim(key, f, ...args));
      expect(await many.claimMany!(key, prints, ...args)).toEqual(expected);
    }
  });
});

describe('SequenceState (sequence)', () => {
  it('finds the latest earlier event in (at − window, at], excluding the asker', async () => {
    const s = createMemorySequenceState();
    await s.record('vin', 'registered', 'a', 1000, BIG);
    await s.record('vin', 'registered', 'b', 1500, BIG);
    await s.record('vin', 'registered', 'c', 3000, BIG); // later than the asker: not "before"
    expect(await s.latest('vin', 'registered', 'q', 2000, 1000, BIG)).toEqual({ id: 'b', at: 1500 });
    expect(await s.latest('vin', 'registered', 'r', 2500, 1000, BIG)).toBeNull(); // b exactly 1000 old: out
    expect(await s.latest('vin', 'registered', 'r2', 2499, 1000, BIG)).toEqual({ id: 'b', at: 1500 });
    expect(await s.latest('vin', 'registered', 'x', 2000, 500, BIG)).toBeNull(); // b exactly 500 old: out
    expect(await s.latest('vin', 'registered', 'y', 1999, 500, BIG)).toEqual({ id: 'b', at: 1500 }); // 499 old: in
    expect(await s.latest('vin', 'registered', 'b', 1500, 1000, BIG)).toEqual({ id: 'a', at: 1000 }); // own record excluded
    expect(await s.latest('vin', 'deregistered', 'z', 2000, 1000, BIG)).toBeNull(); // events are separate
    expect(await s.latest('other', 'registered', 'z', 2000, 1000, BIG)).toBeNull(); // keys are separate
  });

  it('breaks ties on time by the smaller id, and keeps the first time of an id', async () => {
    const s = createMemorySequenceState();
    await s.record('k', 'e', 'b', 100, BIG);
    await s.record('k', 'e', 'a', 100, BIG);
    await s.record('k', 'e', 'a', 900, BIG); // re-delivery with another time: ignored
    expect(await s.latest('k', 'e', 'q', 500, 1000, BIG)).toEqual({ id: 'a', at: 100 });
  });

  it('remembers each answer: re-asking after new records returns the first answer', async () => {
    const s = createMemorySequenceState();
    expect(await s.latest('k', 'e', 'q', 500, 1000, BIG)).toBeNull();
    await s.record('k', 'e', 'late', 400, BIG); // arrives after q was answered
    expect(await s.latest('k', 'e', 'q', 500, 1000, BIG)).toBeNull();
    expect(await s.latest('k', 'e', 'q2', 500, 1000, BIG)).toEqual({ id: 'late', at: 400 });
  });

  it('drops records and answers at or before (newest − retainMs)', async () => {
    const s = createMemorySequenceState();
    await s.record('k', 'e', 'old', 0, 1000);
    await s.record('k', 'e', 'kept', 1, 1000);
    await s.record('k', 'e', 'new', 1000, 1000); // horizon 0: 'old' dropped, 'kept' (1) kept
    expect(await s.latest('k', 'e', 'q0', 0, 5000, 1000)).toBeNull();
    expect(await s.latest('k', 'e', 'q1', 1, 5000, 1000)).toEqual({ id: 'kept', at: 1 });
    // Newest 2001 → horizon 1001: 'kept', 'new' and q1's answer (asked at 1) are dropped; asking again recomputes.
    await s.record('k', 'e', 'newer', 2001, 1000);
    expect(await s.latest('k', 'e', 'q1', 1, 5000, 1000)).toBeNull();
  });

  it('rejects nonsensical arguments', async () => {
    const s = createMemorySequenceState();
    expect(() => s.record('k', 'e', 'i', Number.NaN, BIG)).toThrow(RangeError);
    expect(() => s.latest('k', 'e', 'i', 1, 0, BIG)).toThrow(RangeError);
    expect(() => s.latest('k', 'e', 'i', 1, 1, 0)).toThrow(RangeError);
  });

  it.each([1, 2, 3])('matches a naive model, re-deliveries included (seed %i)', async (seed) => {
    const rnd = prng(seed);
    const s = createMemorySequenceState();
    const records = new Map<string, Map<string, number>>();
    const answers = new Map<string, SequenceMatch | null>();
    const asked: [string, string, string, number, number][] = [];
    for (let i = 0; i < 2000; i++) {
      const key = `k${Math.floor(rnd() * 3)}`;
      const event = `e${Math.floor(rnd() * 2)}`;
      const slot = `${key}|${event}`;
      if (rnd() < 0.5) {
        const id = rnd() < 0.2 ? `r${Math.floor(rnd() * i)}` : `r${i}`; // some re-deliveries
        const at = Math.floor(rnd() * 5000);
        const m = records.get(slot) ?? new Map<string, number>();
        records.set(slot, m);
        if (!m.has(id)) m.set(id, at);
        await s.record(key, event, id, at, BIG);
      } else {
        const args: [string, string, string, number, number] =
          asked.length > 0 && rnd() < 0.3 ? asked[Math.floor(rnd() * asked.length)]! : [key, event, `q${i}`, Math.floor(rnd() * 5000), 1 + Math.floor(rnd() * 2000)];
        asked.push(args);
        const [k, e, id, at, w] = args;
        const ak = `${k}|${e}|${id}`;
        if (!answers.has(ak)) {
          let best: SequenceMatch | null = null;
          for (const [rid, t] of records.get(`${k}|${e}`) ?? []) {
            if (rid === id || !(t > at - w && t <= at)) continue;
            if (!best || t > best.at || (t === best.at && rid < best.id)) best = { id: rid, at: t };
          }
          answers.set(ak, best);
        }
        expect(await s.latest(k, e, id, at, w, BIG)).toEqual(answers.get(ak));
      }
    }
  });
});
