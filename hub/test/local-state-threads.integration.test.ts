/**
 * JG_RULE_STATE=local through the evaluation thread (hub/src/jobs/eval-threads.ts,
 * jobs/local-state.ts), real Redis and BullMQ: batches evaluated in the thread raise the warnings
 * the same batches raise over the exact memory states; the state is in the thread's memory and its
 * log in Redis (no Lua state keys); the hold path's peeks reach the thread; a restarted thread and
 * a restarted hub continue from the logged state.
 */
import crypto from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PACK, DEMO_INSTITUTIONS, DEMO_STAFF, createMemoryRuleState, createWorkCalendar, type StateOp, type Warning } from '@jianguan/rules';
import { loadConfig } from '../src/config.js';
import { EvaluationThreads } from '../src/jobs/eval-threads.js';
import { evaluateBatch, type EvaluateJobData } from '../src/jobs/evaluate.js';
import { decodeEntry } from '../src/jobs/local-state.js';
import { createEvaluationQueue, type EvaluationQueue } from '../src/jobs/queue.js';
import { buildRegistryState, type RegistrySource } from '../src/registry/build.js';
import { RuleTimelineEngines, type RuleTimeline } from '../src/rulesets/timeline.js';
import { checkTxn, testRedisUrl, waitFor } from './helpers.js';

const redis = new Redis(testRedisUrl());
const prefix = `jgt-lst-${crypto.randomBytes(4).toString('hex')}`;
const source: RegistrySource = { institutions: [...DEMO_INSTITUTIONS], staff: [...DEMO_STAFF], versions: [] };
const timeline: RuleTimeline = { builtin: { version: 'builtin', effectiveAt: 0, content: { definitions: [...DEFAULT_PACK], params: {} }, label: 'builtin' }, entries: [] };
const stored: Warning[] = [];

let queue: EvaluationQueue;
let threads: EvaluationThreads | undefined;

function start(token: string): Promise<EvaluationThreads> {
  return EvaluationThreads.start({
    count: 1,
    redisUrl: testRedisUrl(),
    prefix,
    queue: queue.name,
    records: (jobId) => queue.records(jobId),
    concurrency: 4,
    store: { insertText: async () => undefined },
    healthy: async () => true,
    onStored: (_b, warnings) => void stored.push(...warnings),
    telemetry: { batchStored: () => undefined },
    registry: { currentSource: () => source, onReload: () => () => undefined },
    rulesets: { timeline: () => timeline, onTimeline: () => () => undefined },
    log: pino({ level: 'silent' }),
    localState: { token, snapshotMinBytes: 1 << 30 },
  });
}

beforeAll(async () => {
  queue = await createEvaluationQueue(loadConfig({}, { redisUrl: testRedisUrl(), queuePrefix: prefix }), 'lst-test', undefined);
  threads = await start('hub-1');
});

afterAll(async () => {
  await threads?.close();
  await queue?.close();
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
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

  it('answers the hold path from the thread, and a restarted thread or hub continues from the log', async () => {
    const observe = (await logged()).find((o): o is Extract<StateOp, { op: 'observe' }> => o.op === 'observe');
    expect(observe).toBeDefined();
    // Another member in the same window: one more than the members the batches left there.
    const probe: StateOp = { ...observe!, member: 'a-member-never-seen' };
    const [before] = await threads!.peek([probe]);
    expect(before).toBeGreaterThanOrEqual(2);

    // The thread dies: the pool restarts it with the same lease token, and it restores.
    const t = (threads as unknown as { threads: Map<number, Worker> }).threads.get(0)!;
    await t.terminate();
    await expect(threads!.peek([probe])).rejects.toThrow(/RULE_STATE_UNAVAILABLE/);
    await waitFor(async () => (await threads!.peek([probe]).catch(() => undefined))?.[0] === before, 'the restarted thread answers', 20_000);

    // The hub restarts (another process: another token, the lease given back on close).
    await threads!.close();
    threads = await start('hub-2');
    expect(await threads.peek([probe])).toEqual([before]);
    expect(await redis.get(`${prefix}:rsl:owner`)).toBe('hub-2');
  });
});
