/**
 * The BullMQ "evaluate" queue: ingest adds one job per batch (job id derived from the batch id,
 * so a re-sent batch that is still known joins the existing job instead of running twice), the
 * worker runs the processor, QueueEvents lets ingest wait for "stored" before acknowledging.
 */
import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { HubConfig } from '../config.js';
import { EVALUATE_QUEUE, isStoreRefusal, type EvaluateJobData, type EvaluateResult } from './evaluate.js';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The job of a batch (or of one part of a split batch). The collector id leads, so no collector
 * can name (and so pre-empt) another's job, whatever batch id it sends. BullMQ forbids ':' in
 * custom ids; batch ids use it, so map it to a character they never contain.
 */
export function jobIdForBatch(collectorId: string, batchId: string, part = ''): string {
  return `${collectorId}|${batchId}${part ? `|${part}` : ''}`.replaceAll(':', '|');
}

export interface EvaluationQueue {
  queue: Queue<EvaluateJobData, EvaluateResult>;
  events: QueueEvents;
  worker?: Worker<EvaluateJobData, EvaluateResult>;
  /** Enqueue (or join) the batch's job and wait until it is stored. */
  submit(data: EvaluateJobData, timeoutMs: number): Promise<EvaluateResult>;
  waiting(): Promise<number>;
  close(): Promise<void>;
}

/** A connection owned by the caller (rule state, health checks). */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

export async function createEvaluationQueue(
  config: HubConfig,
  processor: ((job: Job) => Promise<EvaluateResult>) | undefined,
): Promise<EvaluationQueue> {
  // Options rather than instances: BullMQ then owns (and closes) each connection it makes.
  const connection: ConnectionOptions = { url: config.redisUrl, maxRetriesPerRequest: null };
  const prefix = config.queuePrefix;
  const queue = new Queue<EvaluateJobData, EvaluateResult>(EVALUATE_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 200 },
      // Keep finished jobs briefly so a re-sent batch finds its result instead of re-running;
      // ClickHouse dedup covers re-runs after that. A finished job keeps its envelope and result,
      // not its records (releasedJobData in jobs/evaluate.ts): about 1 KiB, whatever the batch.
      removeOnComplete: { age: 600, count: 20_000 },
      removeOnFail: { age: 86_400 },
    },
  });
  const events = new QueueEvents(EVALUATE_QUEUE, { connection, prefix });
  events.setMaxListeners(0);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  let worker: Worker<EvaluateJobData, EvaluateResult> | undefined;
  if (processor) {
    worker = new Worker<EvaluateJobData, EvaluateResult>(EVALUATE_QUEUE, processor, {
      connection,
      prefix,
      concurrency: config.workerConcurrency,
    });
    await worker.waitUntilReady();
  }

  return {
    queue,
    events,
    worker,
    async submit(data, timeoutMs) {
      const job = await queue.add('batch', data, { jobId: jobIdForBatch(data.collectorId, data.batchId, data.part) });
      try {
        return await job.waitUntilFinished(events, timeoutMs);
      } catch (e) {
        // A job that exhausted its attempts earlier would answer "failed" forever; a re-sent
        // batch deserves a fresh try.
        // A refusal of the data is final for these records: the caller splits the batch.
        if (isStoreRefusal(errorText(e))) throw e;
        const state = await queue.getJobState(job.id!);
        if (state === 'failed') {
          const failed = await queue.getJob(job.id!);
          if (failed) {
            await failed.retry('failed');
            return await failed.waitUntilFinished(events, timeoutMs);
          }
        }
        throw e;
      }
    },
    waiting: () => queue.getWaitingCount(),
    async close() {
      await worker?.close();
      await events.close();
      await queue.close();
    },
  };
}
