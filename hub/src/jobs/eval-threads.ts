/**
 * Evaluation threads: the second core, when the first is busy.
 *
 * The hub thread carries the network (socket.io frames, signature and chain checks, record
 * validation, the pseudonym layer), the REST API, the wall and — in embedded mode — chDB, which is
 * bound to one process and is driven from this thread. Rule evaluation does not need any of that:
 * it needs the job, the registry, the rule set in force and Redis. So each evaluation thread runs
 * its own BullMQ worker on this hub's evaluate queue (jobs/eval-thread.ts) with the same processor
 * as the hub thread would, and the hub thread keeps only what must stay with it:
 *
 * - Records. A job carries its batch's envelope; the records stay with the hub thread, which
 *   received them (jobs/queue.ts), and a thread asks for them by job id (one structured clone).
 *
 * - Store. A thread builds the rows and encodes them as JSONEachRow text; the hub thread puts the
 *   text through the coalescing writer (store/writer.ts) and answers once the insert carrying it
 *   committed. The job — and with it the collector's ack — completes only after that answer, so
 *   "acked means stored" holds as before; a refused insert comes back as an error and the
 *   processor's refusal handling (STORE_REFUSED → ingest splits the batch) works unchanged.
 * - Registry and rule sets. A thread builds its registry from the same rows (registry/build.ts)
 *   and compiles the same released rule sets (rulesets/timeline.ts); the hub thread sends both
 *   at start and after every reload, so a thread judges a batch exactly as the hub thread would.
 * - Rule state. With JG_RULE_STATE=local the hub thread holds it (jobs/local-state.ts): a thread
 *   sends each batch's state calls as one message and gets the answers once the hub thread applied
 *   and logged them, as it got them from one Redis script before. The hold path reads the state
 *   where it arrives, in the hub thread, without a hop. With JG_RULE_STATE=redis each thread
 *   uses the Lua states.
 * - Wall, supervision and telemetry. A thread reports stored warnings and timings as messages;
 *   the hub thread publishes them as it did for its own jobs.
 *
 * Nothing is lost if a thread dies: its active jobs are BullMQ jobs, re-delivered after the
 * stall interval (rule state is idempotent on re-delivery, inserts dedupe by id) while ingest
 * still holds their records, and the thread is restarted with the current registry and rule sets.
 *
 * Which jobs a thread takes: with JG_EVALUATION_MODE=overflow (the default) the hub thread's own
 * worker evaluates, and the threads' workers are paused until the hub thread is busy while a
 * core is idle (jobs/overflow.ts): everything that crosses between the threads above is work a
 * job in the hub thread does not do. JG_EVALUATION_MODE=threads leaves every job to the threads.
 * JG_EVALUATION_THREADS=0 evaluates in the hub thread (the worker runs in-process, as on one core).
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import type { StateOp, Transaction, Warning, WorkCalendarConfig } from '@jianguan/rules';
import type { RegistrySource } from '../registry/build.js';
import type { RuleTimeline } from '../rulesets/timeline.js';
import type { Store } from '../store/store.js';
import type { LocalRuleState } from './local-state.js';
import type { JobEnd } from './queue.js';
import type { Telemetry } from '../telemetry/events.js';
import { EVENTS, emit, type EventName } from '../telemetry/events.js';

/** What a thread starts with (workerData). Structured-cloneable. */
export interface ThreadInit {
  index: number;
  redisUrl: string;
  prefix: string;
  /** This hub's evaluate queue (jobs/queue.ts evaluateQueueName). */
  queue: string;
  concurrency: number;
  registry: RegistrySource;
  timeline: RuleTimeline;
  /** The work calendar in force (calendar/calendar.ts); a change arrives as a 'calendar' message. */
  calendar: WorkCalendarConfig;
  refuseTransactionIds?: string[];
  /** JG_RULE_STATE=local: the hub thread holds the rule state; the thread sends it its state calls. Else the Redis states. */
  stateInHub?: boolean;
  /** Start with the worker paused: it fetches jobs only after an 'active' message (jobs/overflow.ts). */
  paused?: boolean;
}

export type ToThread =
  | { type: 'reply'; id: number; ok: boolean; value?: unknown; message?: string }
  | { type: 'records'; id: number; records?: Transaction[] }
  | { type: 'registry'; source: RegistrySource }
  | { type: 'timeline'; timeline: RuleTimeline }
  | { type: 'calendar'; config: WorkCalendarConfig }
  /** Resume (true) or pause (false) fetching jobs; jobs in progress finish either way. */
  | { type: 'active'; active: boolean }
  | { type: 'close' };

export type FromThread =
  | { type: 'ready' }
  | { type: 'closed' }
  /** Rows as text or UTF-8 bytes (they arrive as a Uint8Array). */
  | { type: 'insert'; id: number; table: string; text: string | Uint8Array; columns?: string[] }
  | { type: 'healthy'; id: number }
  | { type: 'records'; id: number; jobId: string }
  | { type: 'state'; id: number; ops: readonly StateOp[] }
  | { type: 'stored'; batchId: string; warnings: Warning[] }
  /** A job's end as the thread's BullMQ worker saw it, once recorded in Redis. */
  | { type: 'ended'; end: JobEnd }
  | { type: 'telemetry'; batchId: string; stored: number; warnings: number; evaluateMs: number; storeMs: number }
  | { type: 'log'; event: string; detail: Record<string, unknown> };

export interface EvaluationThreadsDeps {
  count: number;
  redisUrl: string;
  prefix: string;
  queue: string;
  concurrency: number;
  /** The records of a job this hub waits for (jobs/queue.ts). */
  records: (jobId: string) => Transaction[] | undefined;
  /** The coalescing writer's store (inserts go through store/writer.ts). */
  store: Pick<Store, 'insertText'>;
  healthy: () => Promise<boolean>;
  onStored: (batchId: string, warnings: readonly Warning[]) => void;
  /** A job run by a thread ended (the queue's `ended`: its submit stops waiting). */
  onEnded?: (end: JobEnd) => void;
  telemetry: Pick<Telemetry, 'batchStored'>;
  registry: { currentSource(): RegistrySource; onReload(l: (s: RegistrySource) => void): () => void };
  rulesets: { timeline(): RuleTimeline; onTimeline(l: (t: RuleTimeline) => void): () => void };
  calendars: { config(): WorkCalendarConfig; onChange(l: (c: WorkCalendarConfig) => void): () => void };
  log: FastifyBaseLogger;
  refuseTransactionIds?: readonly string[];
  /** JG_RULE_STATE=local: the rule state this hub thread holds (jobs/local-state.ts). */
  ruleState?: Pick<LocalRuleState, 'run'>;
  /**
   * Start with the threads' workers paused (JG_EVALUATION_MODE=overflow): the hub thread
   * evaluates, and setActive() lets the threads take jobs while it is busy (jobs/overflow.ts).
   */
  startPaused?: boolean;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Where the thread's code is: the compiled file, also when the hub runs from sources (tests). */
function threadUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/jobs/eval-thread.js', here) : new URL('./eval-thread.js', here);
}

const READY_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 20_000;

export class EvaluationThreads {
  private readonly threads = new Map<number, Worker>();
  private closing = false;
  private readonly unsubscribe: (() => void)[] = [];
  private active: boolean;
  private jobs = 0;
  private readonly elu = new Map<Worker, EventLoopUtilization>();

  private constructor(private readonly deps: EvaluationThreadsDeps) {
    this.active = !deps.startPaused;
  }

  static async start(deps: EvaluationThreadsDeps): Promise<EvaluationThreads> {
    const pool = new EvaluationThreads(deps);
    pool.unsubscribe.push(deps.registry.onReload((source) => pool.broadcast({ type: 'registry', source })));
    pool.unsubscribe.push(deps.rulesets.onTimeline((timeline) => pool.broadcast({ type: 'timeline', timeline })));
    pool.unsubscribe.push(deps.calendars.onChange((config) => pool.broadcast({ type: 'calendar', config })));
    try {
      await Promise.all(Array.from({ length: deps.count }, (_, i) => pool.spawn(i)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.threads.size;
  }

  /** Whether the threads take jobs (false while paused: jobs/overflow.ts). */
  get taking(): boolean {
    return this.active;
  }

  /** Jobs (batches) the threads stored since the start. */
  get jobsDone(): number {
    return this.jobs;
  }

  /** Lets the threads fetch jobs (true) or stops them fetching (false); a restarted thread keeps it. */
  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    this.broadcast({ type: 'active', active });
  }

  /** The threads' event-loop utilisation since the previous call, summed (0–1 each). */
  utilisation(): number {
    let sum = 0;
    for (const t of this.threads.values()) {
      const now = t.performance.eventLoopUtilization();
      const prev = this.elu.get(t);
      this.elu.set(t, now);
      if (prev) sum += t.performance.eventLoopUtilization(now, prev).utilization;
    }
    return sum;
  }

  private broadcast(m: ToThread): void {
    for (const t of this.threads.values()) t.postMessage(m);
  }

  private spawn(index: number): Promise<void> {
    const d = this.deps;
    const init: ThreadInit = {
      index,
      redisUrl: d.redisUrl,
      prefix: d.prefix,
      queue: d.queue,
      concurrency: d.concurrency,
      registry: d.registry.currentSource(),
      calendar: d.calendars.config(),
      timeline: d.rulesets.timeline(),
      ...(d.refuseTransactionIds?.length ? { refuseTransactionIds: [...d.refuseTransactionIds] } : {}),
      ...(d.ruleState ? { stateInHub: true } : {}),
      ...(this.active ? {} : { paused: true }),
    };
    const t = new Worker(threadUrl(), { workerData: init });
    this.threads.set(index, t);
    const reply = (m: ToThread) => t.postMessage(m);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`evaluation thread ${index} not ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
      t.on('message', (m: FromThread) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            clearTimeout(timer);
            emit(d.log, 'eval.thread_started', { thread: index });
            resolve();
            return;
          case 'insert':
            d.store.insertText(m.table, m.text, m.columns).then(
              () => reply({ type: 'reply', id: m.id, ok: true }),
              (e: unknown) => reply({ type: 'reply', id: m.id, ok: false, message: errText(e) }),
            );
            return;
          case 'records': {
            const records = d.records(m.jobId);
            t.postMessage({ type: 'records', id: m.id, ...(records ? { records } : {}) } satisfies ToThread);
            // The thread has its copy; this array was ours alone (jobs/queue.ts).
            if (records) records.length = 0;
            return;
          }
          case 'state': {
            // JG_RULE_STATE=local: the hub thread holds the state; the thread's batch of calls is
            // applied here, in the order the batches arrive, and answered once logged.
            const held = d.ruleState;
            if (!held) {
              reply({ type: 'reply', id: m.id, ok: false, message: 'RULE_STATE_UNAVAILABLE: this hub holds no rule state' });
              return;
            }
            held.run(m.ops).then(
              (answers) => reply({ type: 'reply', id: m.id, ok: true, value: answers }),
              (e: unknown) => reply({ type: 'reply', id: m.id, ok: false, message: errText(e) }),
            );
            return;
          }
          case 'healthy':
            d.healthy().then(
              (value) => reply({ type: 'reply', id: m.id, ok: true, value }),
              () => reply({ type: 'reply', id: m.id, ok: true, value: false }),
            );
            return;
          case 'stored':
            d.onStored(m.batchId, m.warnings);
            return;
          case 'ended':
            d.onEnded?.(m.end);
            return;
          case 'telemetry':
            this.jobs++;
            d.telemetry.batchStored(m.batchId, m.stored, m.warnings, m.evaluateMs, m.storeMs);
            return;
          case 'log':
            emit(d.log, m.event in EVENTS ? (m.event as EventName) : 'job.worker_error', m.detail);
            return;
          case 'closed':
            return;
        }
      });
      t.on('error', (e) => emit(d.log, 'eval.thread_failed', { thread: index, err: errText(e) }));
      t.on('exit', (code) => {
        if (this.threads.get(index) === t) this.threads.delete(index);
        this.elu.delete(t);
        if (!ready) {
          clearTimeout(timer);
          reject(new Error(`evaluation thread ${index} exited with ${code} before it was ready`));
          return;
        }
        if (this.closing) return;
        // Its jobs are re-delivered by BullMQ once they count as stalled; keep the capacity.
        emit(d.log, 'eval.thread_failed', { thread: index, err: `exited with ${code}; restarting` });
        setTimeout(() => {
          if (!this.closing) this.spawn(index).catch((e: unknown) => emit(d.log, 'eval.thread_failed', { thread: index, err: errText(e) }));
        }, 1_000).unref();
      });
    });
  }

  /** Lets active jobs finish (their inserts are still served), then stops the threads. */
  async close(): Promise<void> {
    this.closing = true;
    for (const u of this.unsubscribe) u();
    await Promise.all(
      [...this.threads.values()].map(
        (t) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void t.terminate().finally(resolve), CLOSE_TIMEOUT_MS);
            t.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            t.postMessage({ type: 'close' } satisfies ToThread);
          }),
      ),
    );
    this.threads.clear();
  }
}
