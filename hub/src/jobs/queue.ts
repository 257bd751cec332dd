/**
 * The BullMQ evaluate queue: ingest adds one job per batch (job id derived from the batch id,
 * so a re-sent batch that is still known joins the existing job instead of running twice), the
 * worker runs the processor, and ingest waits for the job to end — stored — before acknowledging.
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
 *
 * How a submit learns that its job ended
 * --------------------------------------
 * Only this hub's workers run its queue's jobs (above): the hub thread's BullMQ worker, and the
 * evaluation threads' workers, which report by message (jobs/eval-threads.ts). So the workers
 * tell the queue directly (`ended`) once BullMQ has recorded the end — completed after the
 * processor's rows committed, so an acknowledgement still means "stored". BullMQ's QueueEvents
 * would tell the same through Redis, but it reads every event of every job back (XREAD: added,
 * waiting, active, completed, removed…), which cost the hub thread about 5 % of its time at
 * 1,000 records/s, plus a check per job that it had not finished already (docs/benchmarks.md).
 * A failed attempt is final only if BullMQ will not try again, so on a failure the job's state
 * is read from Redis (failures are rare). What no worker here reports — a job that had finished
 * before this submit (a batch re-sent after a lost acknowledgement finds its completed job), or
 * one BullMQ failed by itself (stalled too often) — is found by reading the job's state once a
 * wait is older than LOOK_AFTER_MS, and again every LOOK_EVERY_MS.
 */
import crypto from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { HubConfig } from '../config.js';
import { emit } from '../telemetry/events.js';
import type { Transaction } from '@jianguan/rules';
import { EVALUATE_QUEUE, isStoreRefusal, jobRefOf, type EvaluateJobData, type EvaluateJobRef, type EvaluateResult } from './evaluate.js';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The job of a batch (or of one part of a split batch). The collector id leads, so no collector
 * can name (and so pre-empt) another's job, whatever batch id it sends. `content` names what the
 * batch holds (its sequence range and, when signed, the start of its records' digest): a batch
 * id used again for other records within the minutes a finished job is kept would otherwise join
 * the old job and be acknowledged with its result, its own records never stored. The same batch
 * sent again names the same job. BullMQ forbids ':' in custom ids; batch ids use it, so map it to
 * a character they never contain.
 */
export function jobIdForBatch(collectorId: string, batchId: string, part = '', content = ''): string {
  return `${collectorId}|${batchId}${content ? `|${content}` : ''}${part ? `|${part}` : ''}`.replaceAll(':', '|');
}

/** What a batch holds, for its job's id (jobIdForBatch): the sequence range, and the digest's start when signed. */
export function batchContent(b: { firstSeq: number; lastSeq: number; recordsDigest?: string | undefined }): string {
  return `${b.firstSeq}-${b.lastSeq}${b.recordsDigest ? `-${b.recordsDigest.slice(0, 16)}` : ''}`;
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

/** A job's end as a worker saw it: completed with its result, or an attempt failed. */
export type JobEnd = { jobId: string; completed: true; result: EvaluateResult } | { jobId: string; completed: false };

/** A wait older than this has its job's state read from Redis (see "How a submit learns…"). */
const LOOK_AFTER_MS = 1_000;
const LOOK_EVERY_MS = 500;

export interface EvaluationQueue {
  queue: Queue<EvaluateJobRef, EvaluateResult>;
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
  /** A worker of this hub (an evaluation thread's, by message) saw a job end. */
  ended(end: JobEnd): void;
  /** Jobs whose waits were ended by reading the job's state rather than by a worker's report (see "How a submit learns…"). */
  readonly looks: number;
  waiting(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Logs the errors of a BullMQ queue, worker or event stream as `redis.error`, at most one line
 * per `source` in 10 s (with how many were left out). Without a listener BullMQ prints each one
 * with its stack to stderr — several a second while Redis is away.
 */
export function logQueueErrors(emitter: { on(event: 'error', f: (err: Error) => void): unknown }, log: FastifyBaseLogger, source: string): void {
  let last = 0;
  let left = 0;
  emitter.on('error', (err) => {
    const now = Date.now();
    if (now - last < 10_000) {
      left++;
      return;
    }
    emit(log, 'redis.error', { message: err.message, for: source, ...(left ? { leftOut: left } : {}) });
    last = now;
    left = 0;
  });
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
  await queue.waitUntilReady();

  // The submits waiting for each job (a batch re-sent while its first submit waits joins it), and
  // when the job's state is next read for them.
  interface Waiter {
    resolve: (r: EvaluateResult) => void;
    reject: (e: Error) => void;
  }
  const waits = new Map<string, { waiters: Set<Waiter>; lookAt: number }>();
  const settle = (jobId: string, outcome: { result: EvaluateResult } | { error: Error }): boolean => {
    const wait = waits.get(jobId);
    if (!wait) return false;
    waits.delete(jobId);
    for (const w of wait.waiters) {
      if ('result' in outcome) w.resolve(outcome.result);
      else w.reject(outcome.error);
    }
    return true;
  };
  // Reads whether a waited-for job has ended, and how, from Redis (one read at a time per job).
  const looking = new Set<string>();
  let looks = 0;
  const look = async (jobId: string) => {
    if (looking.has(jobId) || !waits.has(jobId)) return;
    looking.add(jobId);
    try {
      const state = await queue.getJobState(jobId);
      let ended = false;
      if (state === 'completed' || state === 'failed') {
        const job = await queue.getJob(jobId);
        if (state === 'completed') ended = settle(jobId, { result: job?.returnvalue as EvaluateResult });
        else ended = settle(jobId, { error: new Error(job?.failedReason || `job ${jobId} failed`) });
      } else if (state === 'unknown') {
        ended = settle(jobId, { error: new Error(`job ${jobId} is no longer in the queue`) });
      }
      if (ended) looks += 1;
    } catch {
      // Redis unreachable: the next look (or the wait's time-out) decides.
    } finally {
      looking.delete(jobId);
    }
  };
  const ended = (end: JobEnd) => {
    if (!waits.has(end.jobId)) return;
    if (end.completed) settle(end.jobId, { result: end.result });
    else void look(end.jobId);
  };
  const lookTimer = setInterval(() => {
    const now = Date.now();
    for (const [jobId, wait] of waits) {
      if (wait.lookAt > now) continue;
      wait.lookAt = now + LOOK_EVERY_MS;
      void look(jobId);
    }
  }, LOOK_EVERY_MS / 2);
  lookTimer.unref();

  /**
   * The end of `jobId`. The wait is registered before `start` (the add or the retry that makes
   * the job run), so no end can pass unseen; a start that fails withdraws it and throws.
   */
  async function waitWhile(jobId: string, timeoutMs: number, start: () => Promise<unknown>): Promise<EvaluateResult> {
    let wait = waits.get(jobId);
    if (!wait) waits.set(jobId, (wait = { waiters: new Set(), lookAt: Date.now() + LOOK_AFTER_MS }));
    const entry = wait;
    let waiter!: Waiter;
    const done = new Promise<EvaluateResult>((resolve, reject) => (waiter = { resolve, reject }));
    // It may end (a time-out, the queue closing) while `start` is still on its way, before it is
    // awaited below: handled here so that is not an unhandled rejection; it is still thrown below.
    done.catch(() => undefined);
    entry.waiters.add(waiter);
    const drop = () => {
      entry.waiters.delete(waiter);
      if (entry.waiters.size === 0 && waits.get(jobId) === entry) waits.delete(jobId);
    };
    const timer = setTimeout(() => {
      drop();
      waiter.reject(new Error(`job ${jobId} timed out: not finished within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      await start();
    } catch (e) {
      clearTimeout(timer);
      drop();
      throw e;
    }
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

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
    worker.on('completed', (job, result) => {
      if (job.id) ended({ jobId: job.id, completed: true, result });
    });
    worker.on('failed', (job) => {
      if (job?.id) ended({ jobId: job.id, completed: false });
    });
  }

  return {
    queue,
    worker,
    name,
    records,
    ended,
    get looks() {
      return looks;
    },
    async submit(data, timeoutMs, onTaken) {
      const jobId = jobIdForBatch(data.collectorId, data.batchId, data.part, data.content);
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
      clearInterval(lookTimer);
      for (const jobId of [...waits.keys()]) settle(jobId, { error: new Error(`queue ${name} closing`) });
      await queue.close();
    },
  };

  async function submitJob(jobId: string, envelope: Omit<QueuedBatch, 'records'>, count: number, timeoutMs: number): Promise<EvaluateResult> {
    let added = false;
    try {
      return await waitWhile(jobId, timeoutMs, async () => {
        await queue.add('batch', jobRefOf(envelope, count), { jobId });
        added = true;
      });
    } catch (e) {
      // The add itself failed: nothing to retry.
      if (!added) throw e;
      // A refusal of the data is final for these records: the caller splits the batch.
      if (isStoreRefusal(errorText(e))) throw e;
      // A job that failed earlier — it exhausted its attempts, or ran without its records
      // (RECORDS_GONE) — would answer "failed" forever; a re-sent batch deserves a fresh try.
      const state = await queue.getJobState(jobId);
      if (state === 'failed') {
        const failed = await queue.getJob(jobId);
        if (failed) return await waitWhile(jobId, timeoutMs, () => failed.retry('failed'));
      }
      throw e;
    }
  }
}
