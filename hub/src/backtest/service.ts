/**
 * Backtests as BullMQ jobs on the `backtest` queue (job id = backtest id): the request writes a
 * `queued` row and enqueues; the worker (in-process when JG_WORKER is on; one job at a time)
 * marks it running, reports progress through job.updateProgress (0–100), stores the result and
 * marks it done (or failed with the error). GET reads the row and, while running, the job's
 * live progress — both live in shared stores, so any hub replica can answer.
 */
import crypto from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { WorkCalendar } from '@jianguan/rules';
import { HubError, errorMessage } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { RuleSetService } from '../rulesets/service.js';
import type { Store } from '../store/store.js';
import { getBacktest, listBacktests, saveBacktest, type Backtest } from './repo.js';
import { runBacktest } from './runner.js';
import { emit } from '../telemetry/events.js';
import { logQueueErrors } from '../jobs/queue.js';

export const BACKTEST_QUEUE = 'backtest';

interface BacktestJobData {
  id: string;
}

export interface BacktestServiceDeps {
  store: Store;
  registry: Registry;
  calendar: WorkCalendar;
  rulesets: RuleSetService;
  redisUrl: string;
  prefix: string;
  runWorker: boolean;
  pageSize: number;
  examples: number;
  log: FastifyBaseLogger;
}

export class BacktestService {
  readonly queue: Queue<BacktestJobData>;
  private worker: Worker<BacktestJobData> | undefined;

  private constructor(private readonly deps: BacktestServiceDeps) {
    const connection: ConnectionOptions = { url: deps.redisUrl, maxRetriesPerRequest: null };
    this.queue = new Queue<BacktestJobData>(BACKTEST_QUEUE, {
      connection,
      prefix: deps.prefix,
      defaultJobOptions: { attempts: 2, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 7 * 86_400 } },
    });
    if (deps.runWorker) {
      this.worker = new Worker<BacktestJobData>(BACKTEST_QUEUE, (job) => this.process(job), { connection, prefix: deps.prefix, concurrency: 1 });
      this.worker.on('failed', (job, err) => emit(deps.log, 'backtest.failed', { id: job?.data.id, err: errorMessage(err) }));
      logQueueErrors(this.worker, deps.log, 'backtest worker');
    }
    logQueueErrors(this.queue, deps.log, 'backtest queue');
  }

  static async create(deps: BacktestServiceDeps): Promise<BacktestService> {
    const s = new BacktestService(deps);
    await s.queue.waitUntilReady();
    await s.worker?.waitUntilReady();
    return s;
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  /** Queues a backtest of `version` against the set in force now. */
  async request(version: string, range: { from: number; to: number }, by: string): Promise<Backtest> {
    if (!(range.to > range.from)) throw new HubError('BODY_INVALID', 'to must be after from');
    await this.deps.rulesets.engineOf(version); // exists and compiles
    const now = Date.now();
    const bt = await saveBacktest(this.deps.store, {
      id: `bt-${crypto.randomUUID()}`,
      version,
      liveVersion: this.deps.rulesets.versionAt(now),
      from: range.from,
      to: range.to,
      status: 'queued',
      progress: 0,
      requestedBy: by,
      requestedAt: now,
      finishedAt: null,
      transactions: 0,
      liveTotal: 0,
      draftTotal: 0,
      added: 0,
      removed: 0,
      result: null,
      error: '',
      updatedAt: now,
    });
    await this.queue.add('backtest', { id: bt.id }, { jobId: bt.id });
    return bt;
  }

  /** The stored row, with the job's live progress while it runs. */
  async get(id: string): Promise<Backtest & { jobState?: string }> {
    const bt = await getBacktest(this.deps.store, id);
    if (!bt) throw new HubError('NOT_FOUND', `backtest ${id}`);
    if (bt.status === 'queued' || bt.status === 'running') {
      const job = await this.queue.getJob(id);
      if (job) {
        const p = typeof job.progress === 'number' ? job.progress : 0;
        return { ...bt, progress: Math.max(bt.progress, Math.floor(p)), jobState: await job.getState() };
      }
    }
    return bt;
  }

  list(version: string): Promise<Backtest[]> {
    return listBacktests(this.deps.store, version);
  }

  private async process(job: Job<BacktestJobData>): Promise<{ id: string }> {
    const bt = await getBacktest(this.deps.store, job.data.id);
    if (!bt) throw new Error(`backtest ${job.data.id} has no row`);
    let row = await saveBacktest(this.deps.store, { ...bt, status: 'running', progress: 0, error: '' });
    try {
      const [live, draft] = await Promise.all([this.deps.rulesets.engineOf(bt.liveVersion), this.deps.rulesets.engineOf(bt.version)]);
      let last = -1;
      const result = await runBacktest(
        { store: this.deps.store, registry: this.deps.registry.snapshot(), calendar: this.deps.calendar, pageSize: this.deps.pageSize, examples: this.deps.examples },
        live,
        draft,
        { from: bt.from, to: bt.to },
        async (done, total) => {
          const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
          if (pct !== last) {
            last = pct;
            await job.updateProgress(pct);
          }
        },
      );
      row = await saveBacktest(this.deps.store, {
        ...row,
        status: 'done',
        progress: 100,
        finishedAt: Date.now(),
        transactions: result.transactions,
        liveTotal: result.liveTotal,
        draftTotal: result.draftTotal,
        added: result.added,
        removed: result.removed,
        result,
      });
      await job.updateProgress(100);
      emit(this.deps.log, 'backtest.done', { id: bt.id, version: bt.version, transactions: result.transactions, added: result.added, removed: result.removed });
      return { id: bt.id };
    } catch (e) {
      await saveBacktest(this.deps.store, { ...row, status: 'failed', finishedAt: Date.now(), error: errorMessage(e) });
      throw e;
    }
  }
}
