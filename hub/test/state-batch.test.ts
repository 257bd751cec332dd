/**
 * The Redis state batcher (hub/src/jobs/rule-state.ts createRedisStateBatcher) against the exact
 * in-memory references: random sequences of all five state operations (window observe, interval
 * overlap, fingerprint claims, sequence record/latest) over few keys, with re-deliveries, cut
 * into batches of random size — every answer must equal the reference's answer to the same calls
 * made one by one. Then the engine end to end: evaluateBatch() over the Redis states (one script
 * per batch) gives, record by record, the hits of evaluate() over memory states.
 */
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyStateOps,
  DEMO_INSTITUTIONS,
  DEMO_STAFF,
  createEngine,
  createMemoryRuleState,
  createRegistryView,
  createWorkCalendar,
  type StateOp,
  type Transaction,
} from '@jianguan/rules';
import { createRedisRuleStates, createRedisStateBatcher } from '../src/jobs/rule-state.js';
import { createRedisWindowState } from '../src/jobs/window-state.js';
import { checkTxn, prng, randomStateOps, testRedisUrl, WORKING_TIME, deleteKeys } from './helpers.js';

const redis = new Redis(testRedisUrl());
const root = `jgt-sb-${crypto.randomBytes(4).toString('hex')}`;
let n = 0;
const freshPrefix = () => `${root}-${n++}`;

afterAll(async () => {
  await deleteKeys(redis, root);
  await redis.quit();
});

const T0 = Date.UTC(2026, 10, 1);
const MIN = 60_000;

describe('Redis state batcher', () => {
  it.each([1, 2, 3, 4])('answers like the references, call by call, whatever the batch cuts (seed %i)', async (seed) => {
    const ops = randomStateOps(seed, 600);
    const want = applyStateOps(createMemoryRuleState(), ops);
    const batcher = createRedisStateBatcher(redis, freshPrefix());
    const rnd = prng(seed * 97);
    const got: unknown[] = [];
    for (let i = 0; i < ops.length; ) {
      const size = 1 + Math.floor(rnd() * 120);
      got.push(...(await batcher.run(ops.slice(i, i + size))));
      i += size;
    }
    expect(got).toEqual(want);
    // The sequences must have exercised every kind of answer.
    expect(want.some((a) => typeof a === 'number' && a > 1)).toBe(true);
    expect(want.some((a) => typeof a === 'object' && a !== null && 'overlapMs' in a && (a as { overlapMs: number }).overlapMs > 0)).toBe(true);
    expect(want.some((a) => Array.isArray(a) && a.some((x: { others: number }) => x.others > 0))).toBe(true);
    expect(want.some((a) => typeof a === 'object' && a !== null && 'id' in a && 'at' in a)).toBe(true);
  });

  it('writes exactly what the single calls write (a batch, then single calls, agree)', async () => {
    const ops = randomStateOps(11, 300);
    const want = applyStateOps(createMemoryRuleState(), ops);
    const prefix = freshPrefix();
    const batcher = createRedisStateBatcher(redis, prefix);
    const got = await batcher.run(ops.slice(0, 150));
    // The rest one call at a time through the states' own methods, on the same keys.
    const states = { window: createRedisWindowState(redis, prefix), ...createRedisRuleStates(redis, prefix) };
    for (const o of ops.slice(150)) {
      if (o.op === 'observe') got.push(await states.window.observe(o.key, o.member, o.at, o.windowMs));
      else if (o.op === 'overlap') got.push(await states.intervals.overlap(o.key, o.id, o.member, o.start, o.end, o.retainMs));
      else if (o.op === 'claim') got.push(await states.fingerprints.claimMany!(o.key, o.fingerprints, o.owner, o.id, o.at, o.windowMs, o.retainMs));
      else if (o.op === 'record') got.push(await states.sequences.record(o.key, o.event, o.id, o.at, o.retainMs));
      else got.push(await states.sequences.latest(o.key, o.event, o.id, o.at, o.windowMs, o.retainMs));
    }
    expect(got).toEqual(want);
  });

  it('leaves every key with the value and expiry the single calls leave (values and expiries)', async () => {
    const ops = randomStateOps(23, 400);
    const batched = freshPrefix();
    const single = freshPrefix();
    await createRedisStateBatcher(redis, batched).run(ops);
    const states = { window: createRedisWindowState(redis, single), ...createRedisRuleStates(redis, single) };
    for (const o of ops) {
      if (o.op === 'observe') await states.window.observe(o.key, o.member, o.at, o.windowMs);
      else if (o.op === 'overlap') await states.intervals.overlap(o.key, o.id, o.member, o.start, o.end, o.retainMs);
      else if (o.op === 'claim') await states.fingerprints.claimMany!(o.key, o.fingerprints, o.owner, o.id, o.at, o.windowMs, o.retainMs);
      else if (o.op === 'record') await states.sequences.record(o.key, o.event, o.id, o.at, o.retainMs);
      else await states.sequences.latest(o.key, o.event, o.id, o.at, o.windowMs, o.retainMs);
    }
    const keysA = (await redis.keys(`${batched}:*`)).map((k) => k.slice(batched.length)).sort();
    const keysB = (await redis.keys(`${single}:*`)).map((k) => k.slice(single.length)).sort();
    expect(keysA).toEqual(keysB);
    expect(keysA.length).toBeGreaterThan(20);
    let scalars = 0;
    for (const k of keysA) {
      const type = await redis.type(batched + k);
      expect(type).toBe(await redis.type(single + k));
      if (type === 'string') {
        scalars += 1;
        expect(await redis.get(batched + k)).toBe(await redis.get(single + k));
      }
      // Both expire: a key left without a deadline would live for ever.
      const [ta, tb] = [await redis.pttl(batched + k), await redis.pttl(single + k)];
      expect(ta).toBeGreaterThan(0);
      // Same deadline up to the time the single calls took after the batch.
      expect(Math.abs(ta - tb)).toBeLessThan(5_000);
    }
    expect(scalars).toBeGreaterThan(0);
  });

  it('leaves an expiry on every key a batch failing half-way wrote (Redis does not roll a script back)', async () => {
    const prefix = freshPrefix();
    const batcher = createRedisStateBatcher(redis, prefix);
    // A key of the wrong type makes the third operation fail inside the script, after the first
    // two wrote (Redis does not roll a script back).
    await redis.set(`${prefix}:rs:bad`, 'not a sorted set');
    const ops: StateOp[] = [
      { op: 'observe', key: 'k1', member: 'a', at: T0, windowMs: MIN },
      { op: 'overlap', key: 'v1', id: 'x', member: 'm', start: T0, end: T0 + MIN, retainMs: 10 * MIN },
      { op: 'observe', key: 'bad', member: 'a', at: T0, windowMs: MIN },
    ];
    await expect(batcher.run(ops)).rejects.toThrow(/WRONGTYPE/);
    const written = (await redis.keys(`${prefix}:*`)).filter((k) => !k.endsWith(':rs:bad'));
    expect(written.length).toBeGreaterThanOrEqual(4);
    for (const k of written) expect(await redis.pttl(k), k).toBeGreaterThan(0);
  });

  it('rejects the whole batch on a nonsensical argument, before touching Redis', async () => {
    const prefix = freshPrefix();
    const batcher = createRedisStateBatcher(redis, prefix);
    await expect(batcher.run([{ op: 'observe', key: 'k', member: 'a', at: T0, windowMs: MIN }, { op: 'overlap', key: 'k', id: 'x', member: 'm', start: 10, end: 5, retainMs: MIN }])).rejects.toThrow(RangeError);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });
});

describe('evaluateBatch over the Redis states', () => {
  it('gives each record the hits evaluate() gives it over memory states, with one script per batch', async () => {
    const engine = createEngine();
    const registry = createRegistryView(DEMO_INSTITUTIONS, DEMO_STAFF);
    const calendar = createWorkCalendar();
    // Inspection-station traffic that trips window, overlap, fingerprint and calendar rules:
    // few staff, repeated photos and vehicles, overlapping times, some outside working hours.
    const rnd = prng(5);
    const txns: Transaction[] = Array.from({ length: 240 }, (_, i) =>
      checkTxn(i + 1, {
        id: `bt-${i}`,
        source: 'check_av',
        lsh: `26112500${String(Math.floor(rnd() * 40)).padStart(4, '0')}`,
        occurredAt: WORKING_TIME + Math.floor(rnd() * 600) * MIN,
        startedAt: WORKING_TIME + Math.floor(rnd() * 600) * MIN - 20 * MIN,
        counter: `C0${1 + Math.floor(rnd() * 3)}`,
        evidence: [`ph-${Math.floor(rnd() * 30)}`],
        vehicle: { hpzl: '02', hphm: `桂M1000${Math.floor(rnd() * 8)}`, vin: `LSVAU2180N200000${Math.floor(rnd() * 8)}` },
      }),
    ).map((t) => ({ ...t, endedAt: t.occurredAt }));
    const want: unknown[] = [];
    const mem = { registry, calendar, ...createMemoryRuleState() };
    for (const t of txns) want.push(await engine.evaluate(t, mem));

    const prefix = freshPrefix();
    const ctx = { registry, calendar, state: createRedisWindowState(redis, prefix), ...createRedisRuleStates(redis, prefix) };
    // Count the commands this connection sends while the batches are evaluated.
    const sent: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((cmd: { name: string }, ...rest: unknown[]) => {
      sent.push(cmd.name);
      return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
    }) as typeof redis.sendCommand;
    const got: unknown[] = [];
    try {
      for (let i = 0; i < txns.length; i += 60) got.push(...(await engine.evaluateBatch(txns.slice(i, i + 60), ctx)));
    } finally {
      redis.sendCommand = send;
    }
    expect(got).toEqual(want);
    const stateful = (want as { rule: { state: string } }[][]).flat().filter((h) => h.rule.state !== 'none');
    expect(new Set(stateful.map((h) => h.rule.state)).size).toBe(3); // window, interval, fingerprint
    // Four batches: one script call each (plus, the first time, EVAL after EVALSHA's NOSCRIPT).
    const scripts = sent.filter((c) => c === 'evalsha' || c === 'eval');
    expect(scripts.length).toBe(sent.length);
    expect(scripts.filter((c) => c === 'evalsha').length).toBe(4);
  });
});
