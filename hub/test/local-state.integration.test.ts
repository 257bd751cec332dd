/**
 * Rule state held by the evaluating process (hub/src/jobs/local-state.ts) against a real Redis:
 * answers equal the exact in-memory references call by call, across crashes, clean restarts and
 * snapshots; one owner at a time (lease, fencing, recovery); damaged log entries; expiry sweeps;
 * peeks that write nothing.
 */
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { applyStateOps, createMemoryRuleState, type StateOp } from '@jianguan/rules';
import { decodeEntry, encodeOp, LocalRuleState, RULE_STATE_LOST, RULE_STATE_OWNED, type LocalRuleStateOptions } from '../src/jobs/local-state.js';
import { prng, randomStateOps, testRedisUrl, waitFor } from './helpers.js';

const admin = new Redis(testRedisUrl());
const root = `jgt-ls-${crypto.randomBytes(4).toString('hex')}`;
let n = 0;
const freshPrefix = () => `${root}-${n++}`;
const connections: Redis[] = [];

afterAll(async () => {
  for (const c of connections) c.disconnect();
  const keys = await admin.keys(`${root}*`);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
  await admin.quit();
});

const T0 = Date.UTC(2026, 10, 1);
const KEYS = ['k1', 'k2', 'k:3', '车牌桂M'];
const MIN = 60_000;

type Logged = { event: string; detail: Record<string, unknown> };

function open(prefix: string, over: Partial<LocalRuleStateOptions> = {}, events: Logged[] = []): Promise<LocalRuleState> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  connections.push(redis);
  return LocalRuleState.open({
    redis,
    prefix,
    token: 'hub-a',
    snapshotMinBytes: 1 << 30,
    waitForLeaseMs: 2_000,
    log: (event, detail) => events.push({ event, detail }),
    ...over,
  });
}

/** A crash: the connection goes, the process's memory with it; nothing is released. */
function crash(s: LocalRuleState): void {
  (s as unknown as { o: { redis: Redis } }).o.redis.disconnect();
  void s.close();
}

describe('local rule state', () => {
  it.each([
    ['crashes, no snapshots', 1 << 30, 'crash'],
    ['crashes, snapshots every few batches', 4_000, 'crash'],
    ['clean restarts by another token, snapshots', 4_000, 'close'],
  ] as const)('answers like the references call by call across %s', async (_name, snapshotMinBytes, how) => {
    const ops = randomStateOps(snapshotMinBytes + how.length, 900, KEYS);
    const want = applyStateOps(createMemoryRuleState(), ops);
    const prefix = freshPrefix();
    const rnd = prng(7);
    const got: unknown[] = [];
    let token = 0;
    let s = await open(prefix, { snapshotMinBytes, token: `t${token}` });
    let restarts = 0;
    for (let i = 0; i < ops.length; ) {
      const size = 1 + Math.floor(rnd() * 60);
      got.push(...(await s.run(ops.slice(i, i + size))));
      i += size;
      if (rnd() < 0.15) {
        if (rnd() < 0.5) await s.snapshot();
        if (how === 'crash') crash(s);
        else await s.close();
        s = await open(prefix, { snapshotMinBytes, token: how === 'crash' ? `t${token}` : `t${++token}` });
        restarts++;
      }
    }
    expect(restarts).toBeGreaterThan(3);
    expect(got).toEqual(want);
    const status = s.status();
    await s.close();
    if (snapshotMinBytes < 10_000) {
      expect(status.generation).toBeGreaterThan(1);
      // Only the committed snapshot and the logs from its generation on are left.
      const snaps = await admin.keys(`${prefix}:rsl:snap:*`);
      expect(snaps).toEqual([`${prefix}:rsl:snap:${status.generation}`]);
      const logs = (await admin.keys(`${prefix}:rsl:log:*`)).map((k) => Number(k.split(':').pop()));
      expect(logs.every((g) => g >= status.generation)).toBe(true);
    }
  });

  it('encodes log entries compactly and refuses malformed ones with the reason', () => {
    const ops = randomStateOps(3, 50, KEYS);
    const entry = JSON.stringify([123, ops.map(encodeOp)]);
    expect(decodeEntry(entry)).toEqual({ t: 123, ops });
    expect(entry.length).toBeLessThan(JSON.stringify(ops).length * 0.7);
    expect(() => decodeEntry('[1,[["o","k",5,1,2]]]')).toThrow(/malformed operation/);
    expect(() => decodeEntry('{"t":1}')).toThrow(/not \[time, operations\]/);
    expect(() => decodeEntry('[1,[["x","k"]]]')).toThrow(/malformed operation/);
    expect(() => decodeEntry('[1,[[5]]]')).toThrow(/key is not a string/);
  });

  it('lets one process hold a prefix: a second waits, is refused by name, and takes over once the first has gone', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix, { token: 'hub-a' });
    const events: Logged[] = [];
    await expect(open(prefix, { token: 'hub-b', waitForLeaseMs: 300 }, events)).rejects.toThrow(new RegExp(`${RULE_STATE_OWNED}.*hub-a.*JG_RULE_STATE=redis`));
    expect(events.some((e) => e.event === 'rule_state.waiting' && e.detail.holder === 'hub-a')).toBe(true);
    await a.run([{ op: 'observe', key: 'k', member: 'm1', at: T0, windowMs: MIN }]);
    await a.close();
    const b = await open(prefix, { token: 'hub-b', waitForLeaseMs: 300 });
    // b restored a's write: a second member makes two.
    expect(await b.run([{ op: 'observe', key: 'k', member: 'm2', at: T0 + 1, windowMs: MIN }])).toEqual([2]);
    await b.close();
  });

  it('stops answering when another process wrote under its prefix, then reloads what that one wrote', async () => {
    const prefix = freshPrefix();
    const events: Logged[] = [];
    const a = await open(prefix, { token: 'hub-a' }, events);
    const observe = (member: string, at: number): StateOp => ({ op: 'observe', key: 'k', member, at, windowMs: 10 * MIN });
    expect(await a.run([observe('m1', T0)])).toEqual([1]);
    // The lease is taken from under it (as if it had stalled past the lease), and the intruder writes.
    await admin.del(`${prefix}:rsl:owner`);
    const b = await open(prefix, { token: 'hub-b' });
    expect(await b.run([observe('m2', T0 + 1)])).toEqual([2]);
    await expect(a.run([observe('m3', T0 + 2)])).rejects.toThrow(RULE_STATE_LOST);
    expect(a.status().state).toBe('lost');
    expect(events.some((e) => e.event === 'rule_state.lost' && e.detail.holder === 'hub-b')).toBe(true);
    await expect(a.peek([observe('m3', T0 + 2)])).rejects.toThrow(RULE_STATE_LOST);
    await b.close();
    // a takes the lease back and reloads: b's m2 is there, its own unlogged m3 is not.
    await waitFor(() => a.status().state === 'ready', 'a ready again', 5_000);
    expect(await a.run([observe('m4', T0 + 3)])).toEqual([3]);
    await a.close();
  });

  it('keeps its memory when its lease ran out and nobody else took it, or when Redis lost everything', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix, { token: 'hub-a' });
    const observe = (member: string, at: number): StateOp => ({ op: 'observe', key: 'k', member, at, windowMs: 10 * MIN });
    await a.run([observe('m1', T0), observe('m2', T0 + 1)]);
    await admin.del(`${prefix}:rsl:owner`);
    await expect(a.run([observe('m3', T0 + 2)])).rejects.toThrow(RULE_STATE_LOST);
    await waitFor(() => a.status().state === 'ready', 'a ready again', 5_000);
    // m3 was applied before the write failed: memory (m1, m2, m3) is kept and written whole.
    expect(await a.peek([observe('m9', T0 + 3)])).toEqual([4]);
    expect(a.status().generation).toBeGreaterThan(0);
    // Redis emptied under it.
    for (const k of await admin.keys(`${prefix}:*`)) await admin.del(k);
    await expect(a.run([observe('m4', T0 + 3)])).rejects.toThrow(RULE_STATE_LOST);
    await waitFor(() => a.status().state === 'ready', 'a ready again', 5_000);
    expect(await a.run([observe('m5', T0 + 4)])).toEqual([5]);
    crash(a);
    const b = await open(prefix, { token: 'hub-a' });
    expect(await b.run([observe('m6', T0 + 5)])).toEqual([6]);
    await b.close();
  });

  it('skips a damaged log entry with the reason and replays the rest', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const observe = (member: string, at: number): StateOp => ({ op: 'observe', key: 'k', member, at, windowMs: 10 * MIN });
    await a.run([observe('m1', T0)]);
    await admin.rpush(`${prefix}:rsl:log:0`, '{not json', '[1,[["o","k"]]]');
    await a.run([observe('m2', T0 + 1)]);
    crash(a);
    const events: Logged[] = [];
    const b = await open(prefix, {}, events);
    const restored = events.find((e) => e.event === 'rule_state.restored');
    expect(restored?.detail).toMatchObject({ skipped: 2, logEntries: 4 });
    expect(events.filter((e) => e.event === 'rule_state.error' && e.detail.phase === 'restore')).toHaveLength(2);
    expect(await b.run([observe('m3', T0 + 2)])).toEqual([3]);
    await b.close();
  });

  it('sweeps expired keys, logs the sweep, and a restore drops them at the same point', async () => {
    const prefix = freshPrefix();
    let now = T0;
    const clock = { now: () => now };
    const a = await open(prefix, clock);
    const observe = (key: string, member: string): StateOp => ({ op: 'observe', key, member, at: T0, windowMs: MIN });
    expect(await a.run([observe('old', 'm1'), observe('old', 'm2')])).toEqual([1, 2]);
    // A window key lives windowMs + one day after its last write.
    now = T0 + MIN + 86_400_000 - 1;
    expect(await a.sweep()).toBe(0);
    await a.run([observe('young', 'm1')]);
    now = T0 + MIN + 86_400_000;
    expect(await a.sweep()).toBe(1);
    expect(await admin.llen(`${prefix}:rsl:log:0`)).toBe(3);
    expect(await a.peek([observe('old', 'm3')])).toEqual([1]);
    crash(a);
    const b = await open(prefix, clock);
    expect(await b.run([observe('old', 'm3'), observe('young', 'm2')])).toEqual([1, 2]);
    await b.close();
  });

  it('peeks answer what the write would answer and change nothing', async () => {
    const prefix = freshPrefix();
    const a = await open(prefix);
    const ops = randomStateOps(21, 300, KEYS);
    await a.run(ops.slice(0, 200));
    const before = await admin.llen(`${prefix}:rsl:log:0`);
    const peeked = await a.peek(ops.slice(200));
    expect(await admin.llen(`${prefix}:rsl:log:0`)).toBe(before);
    expect(peeked.length).toBe(100);
    // Op by op: a peek, then the write, give the same answer (record answers nothing either way).
    for (const o of ops.slice(200)) {
      const [p] = await a.peek([o]);
      const [w] = await a.run([o]);
      expect(p).toEqual(w);
    }
    await a.close();
  });
});
