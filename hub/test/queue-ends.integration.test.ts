/**
 * How a submit learns that its job ended (jobs/queue.ts): this hub's workers report it; what no
 * worker of this hub reports — here a BullMQ worker of the test's own, standing for a job that
 * ended before the submit or one BullMQ ended by itself — is read from the job's state in Redis.
 * Real Redis, real BullMQ.
 */
import crypto from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { EvaluateJobData, EvaluateJobRef, EvaluateResult } from '../src/jobs/evaluate.js';
import { createEvaluationQueue, jobIdForBatch, type EvaluationQueue } from '../src/jobs/queue.js';
import { checkTxn, deleteKeys, testRedisUrl } from './helpers.js';

const redis = new Redis(testRedisUrl());
const prefix = `jgt-qe-${crypto.randomBytes(4).toString('hex')}`;
let queue: EvaluationQueue;
const workers: Worker[] = [];
let batchNo = 0;

beforeAll(async () => {
  // No processor here: nothing in this hub runs the jobs, so nothing reports their ends.
  queue = await createEvaluationQueue(loadConfig({}, { redisUrl: testRedisUrl(), queuePrefix: prefix }), 'qe-test', undefined);
});

afterAll(async () => {
  for (const w of workers) await w.close();
  await queue?.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

function job(n: number): EvaluateJobData {
  return { batchId: `c-test-01:qe-${++batchNo}`, collectorId: 'c-test-01', receivedAt: Date.now(), records: [checkTxn(30_000 + n)] };
}

/** A worker outside this hub's knowledge, running `run` on the queue's jobs. */
async function outsideWorker(run: (jobId: string) => Promise<EvaluateResult>): Promise<Worker> {
  const w = new Worker<EvaluateJobRef, EvaluateResult>(queue.name, (j) => run(j.id!), { connection: { url: testRedisUrl(), maxRetriesPerRequest: null }, prefix });
  workers.push(w);
  await w.waitUntilReady();
  return w;
}

describe('a submit and the end of its job', () => {
  it('learns of a completion no worker of this hub reported, with its result, from the job state', async () => {
    const w = await outsideWorker(async () => ({ stored: 7, warnings: 2 }));
    const looks = queue.looks;
    const data = job(1);
    expect(await queue.submit(data, 30_000)).toEqual({ stored: 7, warnings: 2 });
    expect(queue.looks).toBeGreaterThan(looks);
    expect(await queue.queue.getJobState(jobIdForBatch(data.collectorId, data.batchId))).toBe('completed');
    await w.close();
  });

  it('learns of a final failure with its reason; a failure BullMQ will retry does not end the wait', async () => {
    let attempts = 0;
    const w = await outsideWorker(async () => {
      attempts += 1;
      // First a failure BullMQ retries (attempts: 8, back-off 200 ms), then one it does not.
      if (attempts === 1) throw new Error('a passing outage');
      throw new UnrecoverableError('STORE_REFUSED: the outside worker refuses');
    });
    await expect(queue.submit(job(2), 30_000)).rejects.toThrow(/STORE_REFUSED: the outside worker refuses/);
    expect(attempts).toBe(2);
    await w.close();
  });

  it('a report of this hub ends the wait without reading the state; a report of a failed attempt that is not final does not end it', async () => {
    const data = job(3);
    const jobId = jobIdForBatch(data.collectorId, data.batchId);
    // Nothing runs the job: only the report can end the wait before the first look.
    const looks = queue.looks;
    const waiting = queue.submit(data, 30_000);
    await new Promise((r) => setTimeout(r, 50));
    queue.ended({ jobId, completed: true, result: { stored: 1, warnings: 0 } });
    expect(await waiting).toEqual({ stored: 1, warnings: 0 });
    expect(queue.looks).toBe(looks);
    // The job itself is still waiting in Redis: a report of a failed attempt reads the state,
    // which says it has not ended, and the wait goes on until its time-out.
    const other = job(4);
    const otherId = jobIdForBatch(other.collectorId, other.batchId);
    const pending = queue.submit(other, 1_500);
    await new Promise((r) => setTimeout(r, 50));
    queue.ended({ jobId: otherId, completed: false });
    await expect(pending).rejects.toThrow(/timed out: not finished within 1500 ms/);
    expect(queue.looks).toBe(looks);
    expect(await queue.queue.getJobState(otherId)).toBe('waiting');
    // Nothing is left waiting for either.
    expect(queue.records(jobId)).toBeUndefined();
    expect(queue.records(otherId)).toBeUndefined();
    await queue.queue.remove(jobId);
    await queue.queue.remove(otherId);
  });

  it('a wait for a job removed from the queue ends with a clear error', async () => {
    const data = job(5);
    const jobId = jobIdForBatch(data.collectorId, data.batchId);
    const waiting = queue.submit(data, 30_000);
    await expect
      .poll(async () => queue.queue.getJobState(jobId), { timeout: 5_000 })
      .toBe('waiting');
    await queue.queue.remove(jobId);
    await expect(waiting).rejects.toThrow(/no longer in the queue/);
  });
});
