/**
 * The BullMQ evaluate queue: ingest adds one job per batch (job id derived from the batch id,
 * so a re-sent batch that is still known joins the existing job instead of running twice), the
 * worker runs the processor, QueueEvents lets ingest wait for "stored" before acknowledging.
 *
 * Records beside the job
 * ----------------------
 * A job carries the batch's envelope and record count, not its records. The records stay in the
 * memory of the hub that received them, from the moment ingest submits until the job settles,
 * and the processor — in this hub's evaluation thread or in its own thread — asks for them by
 * job id. Through Redis a 200-record batch (about 220 KiB of JSON) cost Redis about 1 ms and the
 * hub about 4.5 ms of CPU to write, keep, read and parse; with only the envelope, 0.1 and 0.5
 * (hub/bench/job-payload.bench.mjs), and the records cross to the evaluation thread by
 * structured clone (0.8 ms). Finished jobs, kept for re-sends, are a few hundred bytes each.
 *
 * Hence each hub has a queue of its own (`evaluate.<replica>`): only its own workers can find its
 * records. Nothing depends on the records surviving the hub: the collector deletes a batch from
 * its outbox only on the acknowledgement, which comes only after the job completed. A job whose
 * records are gone — left in the queue by a hub that restarted, or run after ingest stopped
 * waiting — fails at once as RECORDS_GONE without evaluating anything; when the collector re-sends
 * the batch, submit() holds the records again and retries that job. The replica name is stable
 * across restarts (JG_REPLICA_NAME, else host and port), so a restarted hub takes up its own
 * queue rather than leaving one behind.
 *
 * Records that die young
 * ----------------------
 * Held as objects until the job settles, a batch's records outlived the rows made from them by
 * the whole insert (the writer's spacing and the insert itself, a few hundred milliseconds at
 * saturation): long enough for the young generation's collections to copy them and promote them
 * to the old generation, where only a full collection frees them. So what is held is a
 * `HeldRecords`: each `take()` hands the taker an array of its own, which the evaluation empties
 * once the rows are encoded (jobs/evaluate.ts). Records read from a batch's bytes are given once
 * and read again from those bytes if a job needs them a second time — a retry after an outage, a
 * split after a refusal (ingest/collect.ts); an array given to submit() is kept and copied.
 */
import crypto from 'node:crypto';
import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { HubConfig } from '../config.js';
import type { Transaction } from '@jianguan/rules';
import { EVALUATE_QUEUE, isStoreRefusal, jobRefOf, type EvaluateJobData, type EvaluateJobRef, type EvaluateResult } from './evaluate.js';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The job of a batch (or of one part of a split batch). The collector id leads, so no collector
 * can name (and so pre-empt) another's job, whatever batch id it sends. BullMQ forbids ':' in
 * custom ids; batch ids use it, so map it to a character they never contain.
 */
export function jobIdForBatch(collectorId: string, batchId: string, part = ''): string {
  return `${collectorId}|${batchId}${part ? `|${part}` : ''}`.replaceAll(':', '|');
}

/** The queue of one hub's batches (see "Records beside the job"). */
export function evaluateQueueName(replica: string): string {
  return `${EVALUATE_QUEUE}.${replica}`;
}

/**
 * The replica name when none is configured: host and port, stable across restarts, reduced to
 * the characters JG_REPLICA_NAME allows (config.ts), as it becomes part of Redis keys.
 */
export function defaultReplicaName(host: string, port: number): string {
  const h = host.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 50);
  // Port 0 (tests) is a new port each start: no stable name to keep.
  return port > 0 ? `${h}-${port}` : `${h}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * A job's records as the queue holds them until the job settles (see "Records that die young"):
 * `take()` returns `count` records in an array the caller may empty.
 */
export interface HeldRecords {
  readonly count: number;
  take(): Transaction[];
}

/** Records kept as given; each taker gets a copy of the array (the records themselves are shared, read-only). */
function heldArray(records: readonly Transaction[]): HeldRecords {
  return { count: records.length, take: () => records.slice() };
}

/**
 * Records given once as they are, then made again by `again` for every later taker (each an
 * array of its own, as HeldRecords promise).
 */
export function heldOnce(first: Transaction[], again: () => Transaction[]): HeldRecords {
  let given: Transaction[] | undefined = first;
  const count = first.length;
  return {
    count,
    take: () => {
      if (given) {
        const g = given;
        given = undefined;
        return g;
      }
      const made = again();
      if (made.length !== count) throw new Error(`read ${made.length} of ${count} records again`);
      return made;
    },
  };
}

/** What submit() takes: the job's envelope and its records, as an array or held. */
export type QueuedBatch = Omit<EvaluateJobData, 'records'> & { records: Transaction[] | HeldRecords };

export interface EvaluationQueue {
  queue: Queue<EvaluateJobRef, EvaluateResult>;
  events: QueueEvents;
  worker?: Worker<EvaluateJobRef, EvaluateResult>;
  /** The queue's name: `evaluate.<replica>`. */
  name: string;
  /**
   * Enqueue (or join) the batch's job and wait until it is stored. `onTaken`, if given, is called
   * once when a worker first asks for the job's records (its evaluation begins), or when the
   * submit settles without that having happened.
   */
  submit(data: QueuedBatch, timeoutMs: number, onTaken?: () => void): Promise<EvaluateResult>;
  /** The records of a job this hub is waiting for (the processor's source), in an array of the caller's own. */
  records(jobId: string): Transaction[] | undefined;
  waiting(): Promise<number>;
  close(): Promise<void>;
}

/** A connection owned by the caller (rule state, health checks). */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

export async function createEvaluationQueue(
  config: HubConfig,
  replica: string,
  /** The in-process worker's processor, given where the held records are; none: no worker here. */
  processorFor: ((records: (jobId: string) => Transaction[] | undefined) => (job: Job) => Promise<EvaluateResult>) | undefined,
): Promise<EvaluationQueue> {
  // Options rather than instances: BullMQ then owns (and closes) each connection it makes.
  const connection: ConnectionOptions = { url: config.redisUrl, maxRetriesPerRequest: null };
  const prefix = config.queuePrefix;
  const name = evaluateQueueName(replica);
  const queue = new Queue<EvaluateJobRef, EvaluateResult>(name, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 200 },
      // Keep finished jobs briefly so a re-sent batch finds its result instead of re-running;
      // ClickHouse dedup covers re-runs after that. A job is its envelope: a few hundred bytes.
      removeOnComplete: { age: 600, count: 20_000 },
      removeOnFail: { age: 86_400 },
    },
  });
  const events = new QueueEvents(name, { connection, prefix });
  events.setMaxListeners(0);
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  // Records of the jobs this hub waits for. Two submits of one job (a batch re-sent while its
  // first submit still waits) share the entry; it goes when the last of them settles.
  // `taken`: who to tell when a worker first asks for the records; once it has, `wasTaken`.
  const held = new Map<string, { records: HeldRecords; waiting: number; taken: (() => void)[]; wasTaken: boolean }>();
  const records = (jobId: string) => {
    const e = held.get(jobId);
    if (e && !e.wasTaken) {
      e.wasTaken = true;
      for (const f of e.taken.splice(0)) f();
    }
    try {
      return e?.records.take();
    } catch {
      // Records that cannot be made again count as gone (the processor fails RECORDS_GONE and
      // the collector's re-send brings them again); a worker's request must not throw.
      return undefined;
    }
  };

  let worker: Worker<EvaluateJobRef, EvaluateResult> | undefined;
  if (processorFor) {
    worker = new Worker<EvaluateJobRef, EvaluateResult>(name, processorFor(records), {
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
    name,
    records,
    async submit(data, timeoutMs, onTaken) {
      const jobId = jobIdForBatch(data.collectorId, data.batchId, data.part);
      const { records: given, ...envelope } = data;
      const kept = Array.isArray(given) ? heldArray(given) : given;
      let entry = held.get(jobId);
      if (entry) entry.waiting += 1;
      else held.set(jobId, (entry = { records: kept, waiting: 1, taken: [], wasTaken: false }));
      let told = false;
      const tell = () => {
        if (told) return;
        told = true;
        onTaken?.();
      };
      // A re-sent batch joining a job whose records a worker already took: nothing to wait for.
      if (entry.wasTaken) tell();
      else if (onTaken) entry.taken.push(tell);
      try {
        return await submitJob(jobId, envelope, kept.count, timeoutMs);
      } finally {
        tell();
        const e = held.get(jobId);
        if (e && --e.waiting === 0) held.delete(jobId);
      }
    },
    waiting: () => queue.getWaitingCount(),
    async close() {
      await worker?.close();
      await events.close();
      await queue.close();
    },
  };

  async function submitJob(jobId: string, envelope: Omit<QueuedBatch, 'records'>, count: number, timeoutMs: number): Promise<EvaluateResult> {
    const job = await queue.add('batch', jobRefOf(envelope, count), { jobId });
    try {
      return await job.waitUntilFinished(events, timeoutMs);
    } catch (e) {
      // A refusal of the data is final for these records: the caller splits the batch.
      if (isStoreRefusal(errorText(e))) throw e;
      // A job that failed earlier — it exhausted its attempts, or ran without its records
      // (RECORDS_GONE) — would answer "failed" forever; a re-sent batch deserves a fresh try.
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
  }
}
