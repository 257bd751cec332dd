/**
 * JG_RULE_STATE=local with an evaluation thread (hub/src/jobs/eval-threads.ts, jobs/local-state.ts),
 * real Redis and BullMQ: batches evaluated in the thread, their state calls applied by the state
 * this (hub) thread holds, raise the warnings the same batches raise over the exact memory states;
 * the state's log is in Redis (no Lua state keys); a restarted thread changes nothing and a
 * restarted hub continues from the logged state.
 */
import crypto from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR, DEFAULT_PACK, DEMO_INSTITUTIONS, DEMO_STAFF, createMemoryRuleState, createWorkCalendar, type StateOp, type Warning } from '@jianguan/rules';
import { loadConfig } from '../src/config.js';
import { EvaluationThreads } from '../src/jobs/eval-threads.js';
import { evaluateBatch, type EvaluateJobData } from '../src/jobs/evaluate.js';
import { decodeEntry, LocalRuleState } from '../src/jobs/local-state.js';
import { createEvaluationQueue, type EvaluationQueue } from '../src/jobs/queue.js';
import { buildRegistryState, type RegistrySource } from '../src/registry/build.js';
import { RuleTimelineEngines, type RuleTimeline } from '../src/rulesets/timeline.js';
import { checkTxn, testRedisUrl, waitFor, deleteKeys } from './helpers.js';

const redis = new Redis(testRedisUrl());
const prefix = `jgt-lst-${crypto.randomBytes(4).toString('hex')}`;
const source: RegistrySource = { institutions: [...DEMO_INSTITUTIONS], staff: [...DEMO_STAFF], versions: [] };
const timeline: RuleTimeline = { builtin: { version: 'builtin', effectiveAt: 0, content: { definitions: [...DEFAULT_PACK], params: {} }, label: 'builtin' }, entries: [] };
const stored: Warning[] = [];

let queue: EvaluationQueue;
let threads: EvaluationThreads | undefined;
let held: LocalRuleState;
const stateRedis: Redis[] = [];

function hold(token: string): Promise<LocalRuleState> {
  const r = new Redis(testRedisUrl());
  stateRedis.push(r);
  return LocalRuleState.open({ redis: r, prefix, token, snapshotMinBytes: 1 << 30, log: () => undefined });
}

function start(): Promise<EvaluationThreads> {
  return EvaluationThreads.start({
    count: 1,
    redisUrl: testRedisUrl(),
    prefix,
    queue: queue.name,
    records: (jobId) => queue.records(jobId),
    onEnded: (end) => queue.ended(end),
    concurrency: 4,
    store: { insertText: async () => undefined },
    healthy: async () => true,
    onStored: (_b, warnings) => void stored.push(...warnings),
    telemetry: { batchStored: () => undefined },
    registry: { currentSource: () => source, onReload: () => () => undefined },
    rulesets: { timeline: () => timeline, onTimeline: () => () => undefined },
    calendars: { config: () => DEFAULT_CALENDAR, onChange: () => () => undefined },
    log: pino({ level: 'silent' }),
    ruleState: held,
  });
}

beforeAll(async () => {
  queue = await createEvaluationQueue(loadConfig({}, { redisUrl: testRedisUrl(), queuePrefix: prefix }), 'lst-test', undefined);
  held = await hold('hub-1');
  threads = await start();
});

afterAll(async () => {
  await threads?.close();
  await held?.close();
  for (const r of stateRedis) r.disconnect();
  await queue?.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

let batchNo = 0;
function job(records: ReturnType<typeof checkTxn>[]): EvaluateJobData {
  return { batchId: `c-test-01:lst-${++batchNo}`, collectorId: 'c-test-01', receivedAt: Date.now(), records };
}
const key = (w: Warning) => `${w.transactionId}|${w.ruleId}|${w.explanation}`;

/** The logged operations, decoded. */
async function logged(): Promise<StateOp[]> {
  const keys = await redis.keys(`${prefix}:rsl:log:*`);
  const entries = (await Promise.all(keys.map((k) => redis.lrange(k, 0, -1)))).flat().map(decodeEntry);
  return entries.flatMap((e) => ('ops' in e ? e.ops : []));
}

describe('local rule state in the evaluation thread', () => {
  // Same vehicle, same inspector, overlapping times: the window, interval and fingerprint rules have work.
  const batches = [0, 1, 2].map((b) =>
    Array.from({ length: 30 }, (_, i) => checkTxn(20_000 + b * 100 + i, i % 4 === 0 ? { staffId: 'JCJ-JYZ-X99' } : {})),
  );

  it('raises what the same batches raise over the memory states, and keeps the state out of Redis but for its log', async () => {
    const memory = createMemoryRuleState();
    const registry = buildRegistryState(source).temporal;
    const want: Warning[] = [];
    for (const records of batches) {
      const data = job(records);
      const res = await queue.submit(data, 30_000);
      expect(res.stored).toBe(30);
      await evaluateBatch(
        {
          store: { insertText: async () => undefined },
          engine: (at) => new RuleTimelineEngines(timeline).engineAt(at),
          registry: { at: (t) => registry.at(t) },
          context: { ...memory, calendar: createWorkCalendar() },
          telemetry: { batchStored: () => undefined },
          onStored: (_b, w) => void want.push(...w),
        },
        data,
      );
    }
    expect(want.length).toBeGreaterThan(0);
    expect(stored.map(key).sort()).toEqual(want.map(key).sort());
    const ops = await logged();
    expect(ops.length).toBeGreaterThan(30);
    // Nothing of the Lua states (jobs/rule-state.ts's key layout) was written.
    expect(await redis.keys(`${prefix}:rs:*`)).toEqual([]);
    expect(await redis.keys(`${prefix}:iv*`)).toEqual([]);
    expect(await redis.get(`${prefix}:rsl:owner`)).toBe('hub-1');
  });

  it('keeps the state when the thread dies, and a restarted hub continues from the log', async () => {
    const observe = (await logged()).find((o): o is Extract<StateOp, { op: 'observe' }> => o.op === 'observe');
    expect(observe).toBeDefined();
    // Another member in the same window: one more than the members the batches left there.
    const probe: StateOp = { ...observe!, member: 'a-member-never-seen' };
    const [before] = await held.peek([probe]);
    expect(before).toBeGreaterThanOrEqual(2);

    // The thread dies and the pool restarts it: the state is the hub thread's, untouched; the
    // restarted thread's batches reach it.
    const t = (threads as unknown as { threads: Map<number, Worker> }).threads.get(0)!;
    await t.terminate();
    await waitFor(() => threads!.size === 1, 'the thread restarted', 20_000);
    expect(await held.peek([probe])).toEqual([before]);
    const res = await queue.submit(job([checkTxn(20_900), checkTxn(20_901)]), 30_000);
    expect(res.stored).toBe(2);

    // The hub restarts (another process: another token, the lease given back on close).
    const logBefore = (await logged()).length;
    expect(logBefore).toBeGreaterThan(0);
    await threads!.close();
    await held.close();
    held = await hold('hub-2');
    threads = await start();
    expect(await held.peek([probe])).toEqual([before]);
    expect(held.status()).toMatchObject({ state: 'ready', generation: 0 });
    expect(await redis.get(`${prefix}:rsl:owner`)).toBe('hub-2');
  });
});
