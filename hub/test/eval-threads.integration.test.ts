/**
 * Evaluation threads (hub/src/jobs/eval-threads.ts) with a real Redis and real BullMQ: a batch
 * evaluated in a thread gives the rows and warnings the hub thread's own evaluation gives; the
 * job completes only after the hub thread answered the insert; a registry reload and a rule-set
 * timeline change reach the thread before the next batch; a refused insert fails the job as a
 * refusal (so ingest splits the batch) while an outage stays retryable.
 */
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CALENDAR, DEFAULT_PACK, DEMO_INSTITUTIONS, DEMO_STAFF, createWorkCalendar, type Warning, type WorkCalendarConfig } from '@jianguan/rules';
import { loadConfig } from '../src/config.js';
import { EvaluationThreads } from '../src/jobs/eval-threads.js';
import { evaluateBatch, type EvaluateJobData } from '../src/jobs/evaluate.js';
import { createEvaluationQueue, heldOnce, jobIdForBatch, type EvaluationQueue } from '../src/jobs/queue.js';
import { createRedisRuleStates } from '../src/jobs/rule-state.js';
import { createRedisWindowState } from '../src/jobs/window-state.js';
import { buildRegistryState, type RegistrySource } from '../src/registry/build.js';
import { RuleTimelineEngines, type RuleTimeline } from '../src/rulesets/timeline.js';
import { checkTxn, testRedisUrl, deleteKeys } from './helpers.js';

const redis = new Redis(testRedisUrl());
const root = `jgt-et-${crypto.randomBytes(4).toString('hex')}`;
const source: RegistrySource = { institutions: [...DEMO_INSTITUTIONS], staff: [...DEMO_STAFF], versions: [] };
const timeline: RuleTimeline = { builtin: { version: 'builtin', effectiveAt: 0, content: { definitions: [...DEFAULT_PACK], params: {} }, label: 'builtin' }, entries: [] };

/** What the hub thread saw: insert texts per table, stored warnings; and switches for failures. */
const seen = { inserts: [] as Inserted[], stored: [] as Warning[], timings: 0 };
let refuseInserts = false;
/** Inserts still to fail as during an outage (then the store answers again). */
let failInserts = 0;
let healthy = true;
let reloadRegistry: (s: RegistrySource) => void = () => undefined;
let changeTimeline: (t: RuleTimeline) => void = () => undefined;
let changeCalendar: (c: WorkCalendarConfig) => void = () => undefined;

let threads: EvaluationThreads;
let queue: EvaluationQueue;
const prefix = `${root}-q`;

beforeAll(async () => {
  const config = loadConfig({}, { redisUrl: testRedisUrl(), queuePrefix: prefix });
  queue = await createEvaluationQueue(config, 'et-test', undefined);
  threads = await EvaluationThreads.start({
    count: 1,
    redisUrl: testRedisUrl(),
    prefix,
    queue: queue.name,
    records: (jobId) => queue.records(jobId),
    onEnded: (end) => queue.ended(end),
    concurrency: 4,
    store: {
      insertText: async (table, text, columns) => {
        // The job may complete only after this resolves: delay it to make an early ack visible.
        await new Promise((r) => setTimeout(r, 30));
        if (refuseInserts) throw new Error('Code: 117. DB::Exception: refused');
        if (failInserts > 0) {
          failInserts -= 1;
          throw new Error('connect ECONNREFUSED (an outage)');
        }
        seen.inserts.push({ table, text: asText(text), columns });
      },
    },
    healthy: async () => healthy,
    onStored: (_b, warnings) => void seen.stored.push(...warnings),
    telemetry: { batchStored: () => void (seen.timings += 1) },
    registry: { currentSource: () => source, onReload: (l) => ((reloadRegistry = l), () => undefined) },
    rulesets: { timeline: () => timeline, onTimeline: (l) => ((changeTimeline = l), () => undefined) },
    calendars: { config: () => DEFAULT_CALENDAR, onChange: (l) => ((changeCalendar = l), () => undefined) },
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await threads?.close();
  await queue?.close();
  await deleteKeys(redis, root);
  await redis.quit();
});

let batchNo = 0;
function job(records: ReturnType<typeof checkTxn>[]): EvaluateJobData {
  return { batchId: `c-test-01:et-${++batchNo}`, collectorId: 'c-test-01', receivedAt: Date.now(), records };
}

/** An insert's rows as text (the evaluate path sends transactions as UTF-8 bytes). */
const asText = (t: string | Uint8Array) => (typeof t === 'string' ? t : Buffer.from(t).toString('utf8'));

interface Inserted {
  table: string;
  text: string;
  columns?: readonly string[] | undefined;
}

/** Rows of `table` as objects: JSONEachRow lines as they are, JSONCompactEachRow lines by their columns. */
const rowsIn = (inserts: readonly Inserted[], table: string) =>
  inserts
    .filter((i) => i.table === table)
    .flatMap((i) =>
      i.text
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const v = JSON.parse(l) as unknown;
          return (Array.isArray(v) && i.columns ? Object.fromEntries(i.columns.map((c, k) => [c, v[k]])) : v) as Record<string, unknown>;
        }),
    );
const rowsOf = (table: string) => rowsIn(seen.inserts, table);

describe('evaluation threads', () => {
  it('evaluate in the thread like the hub thread does, and complete the job only after the insert was answered', async () => {
    // Unfiled inspector on some records: warnings to compare, not only rows.
    const records = Array.from({ length: 40 }, (_, i) => checkTxn(9_000 + i, i % 5 === 0 ? { staffId: 'JCJ-JYZ-X99' } : {}));
    const data = job(records);
    const looks = queue.looks;
    const res = await queue.submit(data, 30_000);
    expect(res).toEqual({ stored: 40, warnings: expect.any(Number) });
    // The thread told the hub thread the job ended: the wait was not ended by reading its state.
    expect(queue.looks).toBe(looks);
    expect(res.warnings).toBeGreaterThanOrEqual(8);
    const threadTxns = rowsOf('transactions').filter((r) => r.batch_id === data.batchId);
    expect(threadTxns).toHaveLength(40);
    expect(seen.stored.filter((w) => w.batchId === data.batchId)).toHaveLength(res.warnings);
    expect(seen.timings).toBeGreaterThanOrEqual(1);

    // The same batch evaluated in this thread over a fresh rule-state prefix: same rows, same warnings.
    const here: Inserted[] = [];
    const localRedis = new Redis(testRedisUrl());
    const warnings: Warning[] = [];
    const registry = buildRegistryState(source).temporal;
    await evaluateBatch(
      {
        store: { insertText: async (table, text, columns) => void here.push({ table, text: asText(text), columns }) },
        engine: (at) => new RuleTimelineEngines(timeline).engineAt(at),
        registry: { at: (t) => registry.at(t) },
        context: { state: createRedisWindowState(localRedis, `${root}-local`), ...createRedisRuleStates(localRedis, `${root}-local`), calendar: createWorkCalendar() },
        telemetry: { batchStored: () => undefined },
        onStored: (_b, w) => void warnings.push(...w),
      },
      data,
    );
    await localRedis.quit();
    const localTxns = rowsIn(here, 'transactions');
    const withoutTime = (rows: Record<string, unknown>[]) => rows.map(({ stored_at: _t, ...r }) => r);
    expect(withoutTime(threadTxns)).toEqual(withoutTime(localTxns));
    const key = (w: Warning) => `${w.transactionId}|${w.ruleId}|${w.explanation}`;
    expect(seen.stored.filter((w) => w.batchId === data.batchId).map(key).sort()).toEqual(warnings.map(key).sort());
  });

  it('a job carries the envelope, not the records: they come from the hub that waits for it; a job without them fails at once, and the re-sent batch runs it again', async () => {
    const data = job(Array.from({ length: 30 }, (_, i) => checkTxn(9_050 + i, i % 3 === 0 ? { staffId: 'JCJ-JYZ-X99' } : {})));
    const res = await queue.submit(data, 30_000);
    expect(res.stored).toBe(30);
    const id = jobIdForBatch(data.collectorId, data.batchId);
    const kept = await queue.queue.getJob(id);
    expect(await kept?.getState()).toBe('completed');
    expect(kept?.returnvalue).toEqual(res);
    expect(kept?.data).toEqual({ batchId: data.batchId, collectorId: data.collectorId, receivedAt: data.receivedAt, count: 30 });
    const bytes = (await redis.memory('USAGE', `${prefix}:${queue.name}:${id}`)) ?? Infinity;
    expect(bytes).toBeLessThan(2_000);
    expect(JSON.stringify(data.records).length).toBeGreaterThan(5 * bytes);
    // Settled: the hub holds nothing more for it. A re-sent batch finds the result.
    expect(queue.records(id)).toBeUndefined();
    // Its job completed before this submit, so no worker reports it: the wait reads the job's state.
    const looks = queue.looks;
    expect(await queue.submit(data, 30_000)).toEqual(res);
    expect(queue.looks).toBeGreaterThan(looks);

    // A job this hub does not wait for (left from before a restart): nothing evaluated, nothing
    // stored, failed at once — no retries with back-off.
    const orphan = job([checkTxn(9_090), checkTxn(9_091)]);
    const orphanId = jobIdForBatch(orphan.collectorId, orphan.batchId);
    const before = seen.inserts.length;
    const added = await queue.queue.add('batch', { batchId: orphan.batchId, collectorId: orphan.collectorId, receivedAt: orphan.receivedAt, count: 2 }, { jobId: orphanId });
    // Nobody here waits for it: its end is read from Redis.
    await expect.poll(() => queue.queue.getJobState(added.id!), { timeout: 30_000 }).toBe('failed');
    expect((await queue.queue.getJob(orphanId))?.failedReason).toMatch(/RECORDS_GONE/);
    expect((await queue.queue.getJob(orphanId))?.attemptsMade).toBe(1);
    expect(seen.inserts.length).toBe(before);
    // The collector re-sends the batch: the failed job runs again, with the records.
    expect(await queue.submit(orphan, 30_000)).toMatchObject({ stored: 2 });
    expect(rowsOf('transactions').filter((r) => r.batch_id === orphan.batchId)).toHaveLength(2);
    expect(await (await queue.queue.getJob(orphanId))?.getState()).toBe('completed');
  });

  it('a registry reload reaches the thread before the next batch', async () => {
    const without = { ...source, institutions: source.institutions.filter((i) => i.id !== 'JCJ-JYZ') };
    reloadRegistry(without);
    const a = job([checkTxn(9_100)]);
    await queue.submit(a, 30_000);
    expect(rowsOf('transactions').find((r) => r.batch_id === a.batchId)?.county).toBe('');
    reloadRegistry(source);
    const b = job([checkTxn(9_101)]);
    await queue.submit(b, 30_000);
    expect(rowsOf('transactions').find((r) => r.batch_id === b.batchId)?.county).toBe(DEMO_INSTITUTIONS.find((i) => i.id === 'JCJ-JYZ')!.county);
  });

  it('a work calendar change reaches the thread before the next batch', async () => {
    const offHours = (batchId: string) => seen.stored.filter((w) => w.batchId === batchId && w.ruleId === 'counter.off_hours');
    const a = job([checkTxn(9_150)]);
    await queue.submit(a, 30_000);
    expect(offHours(a.batchId)).toEqual([]);
    // The records' working day made a holiday: the same business is now off-hours.
    const day = createWorkCalendar().local(checkTxn(9_151).occurredAt).date;
    changeCalendar({ ...DEFAULT_CALENDAR, holidays: [...DEFAULT_CALENDAR.holidays, day] });
    const b = job([checkTxn(9_151)]);
    await queue.submit(b, 30_000);
    expect(offHours(b.batchId)).toHaveLength(1);
    changeCalendar(DEFAULT_CALENDAR);
    const c = job([checkTxn(9_152)]);
    await queue.submit(c, 30_000);
    expect(offHours(c.batchId)).toEqual([]);
  });

  it('a released rule set reaches the thread and judges batches received from its effective time', async () => {
    // A set without the unfiled-inspector rule, in force from a second ago.
    const narrow = DEFAULT_PACK.filter((d) => d.id !== 'check.inspector_unfiled');
    expect(narrow.length).toBe(DEFAULT_PACK.length - 1);
    changeTimeline({ builtin: timeline.builtin, entries: [{ version: 'narrow', effectiveAt: Date.now() - 1_000, content: { definitions: narrow, params: {} }, label: 'narrow' }] });
    const c = job([checkTxn(9_200, { staffId: 'JCJ-JYZ-X99' })]);
    expect(await queue.submit(c, 30_000)).toMatchObject({ stored: 1 });
    const [row] = rowsOf('transactions').filter((r) => r.batch_id === c.batchId);
    expect(row?.rule_set).toMatch(/^narrow-/);
    expect(seen.stored.filter((w) => w.batchId === c.batchId && w.ruleId === 'check.inspector_unfiled')).toEqual([]);
    // Back to the built-in pack: the same record is a finding again.
    changeTimeline(timeline);
    const d = job([checkTxn(9_201, { staffId: 'JCJ-JYZ-X99' })]);
    await queue.submit(d, 30_000);
    expect(seen.stored.filter((w) => w.batchId === d.batchId).map((w) => w.ruleId)).toContain('check.inspector_unfiled');
  });

  it('a refused insert fails the job as a refusal while services are up, and as a retryable failure during an outage', async () => {
    refuseInserts = true;
    try {
      await expect(queue.submit(job([checkTxn(9_300)]), 30_000)).rejects.toThrow(/STORE_REFUSED: .*refused/);
      healthy = false;
      // An outage: BullMQ retries with back-off; the submit times out rather than reporting a refusal.
      await expect(queue.submit(job([checkTxn(9_301)]), 1_500)).rejects.toThrow(/timed out|time/i);
    } finally {
      refuseInserts = false;
      healthy = true;
    }
  });
  it('records held once are given to the first run and made again for a run after an outage; every run gets an array of its own', async () => {
    const records = Array.from({ length: 6 }, (_, i) => checkTxn(9_400 + i));
    const data = job(records);
    const takes: number[] = [];
    const first = structuredClone(records);
    const held = heldOnce(first, () => {
      takes.push(Date.now());
      return structuredClone(records);
    });
    failInserts = 1;
    healthy = false;
    try {
      expect(await queue.submit({ ...data, records: held }, 30_000)).toMatchObject({ stored: 6 });
    } finally {
      healthy = true;
      failInserts = 0;
    }
    // The first run emptied the array it was given; the retry's records were made again.
    expect(first).toHaveLength(0);
    expect(takes).toHaveLength(1);
    expect(rowsOf('transactions').filter((r) => r.batch_id === data.batchId).map((r) => r.id)).toEqual(records.map((r) => r.id));
    // Records that cannot be made again count as gone, without throwing in the worker's request.
    const broken = heldOnce(structuredClone(records), () => records.slice(1));
    broken.take();
    expect(() => broken.take()).toThrow(/read 5 of 6 records again/);
  });

  it('a paused thread fetches no more jobs until it is set active again: at most the one its waiting fetch was already blocked on (overflow)', async () => {
    expect(threads.taking).toBe(true);
    const before = threads.jobsDone;
    threads.setActive(false);
    await new Promise((r) => setTimeout(r, 300));
    // BullMQ's pause does not interrupt a fetch already blocked in Redis: the first job may still
    // go to the thread; none after it.
    const batches = [job([checkTxn(9_500), checkTxn(9_501)]), job([checkTxn(9_502)]), job([checkTxn(9_503)])];
    const done: boolean[] = batches.map(() => false);
    const submitted = batches.map((b, i) => queue.submit(b, 30_000).then((r) => ((done[i] = true), r)));
    await new Promise((r) => setTimeout(r, 1_000));
    const states = await Promise.all(batches.map((b) => queue.queue.getJobState(jobIdForBatch(b.collectorId, b.batchId))));
    expect(states.filter((x) => x === 'waiting').length, states.join()).toBeGreaterThanOrEqual(2);
    expect(done.filter(Boolean).length).toBeLessThanOrEqual(1);
    expect(threads.jobsDone - before).toBeLessThanOrEqual(1);
    expect(threads.taking).toBe(false);
    threads.setActive(true);
    expect(await Promise.all(submitted)).toEqual([
      { stored: 2, warnings: expect.any(Number) },
      { stored: 1, warnings: expect.any(Number) },
      { stored: 1, warnings: expect.any(Number) },
    ]);
    // The thread reports a stored job in a message of its own, which may reach the hub thread just
    // after BullMQ reported the job completed.
    await vi.waitFor(() => expect(threads.jobsDone).toBe(before + 3), { timeout: 5_000 });
    const u = threads.utilisation();
    expect(u).toBeGreaterThanOrEqual(0);
    expect(u).toBeLessThanOrEqual(1);
  });
});
