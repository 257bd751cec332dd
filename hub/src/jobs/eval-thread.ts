/**
 * An evaluation thread (see jobs/eval-threads.ts for the design): a BullMQ worker on this hub's
 * evaluate queue running the same processor as the hub thread (jobs/evaluate.ts), with its own
 * Redis connection for the queue and the rule state, its own copy of the registry and of the
 * released rule sets (rebuilt from what the hub thread sends), and the store reached through the
 * hub thread, which owns it: rows go over as JSONEachRow text and the job completes only after
 * the hub thread answered that the insert carrying them committed.
 */
// First: keeps String.prototype out of dictionary mode before any dependency loads (fast-prototypes.ts).
import '../fast-prototypes.js';
import { parentPort, workerData } from 'node:worker_threads';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { StateOp, TemporalRegistry, Transaction } from '@jianguan/rules';
import { LiveWorkCalendar } from '../calendar/calendar.js';
import { buildRegistryState } from '../registry/build.js';
import { RuleTimelineEngines } from '../rulesets/timeline.js';
import { createEvaluateProcessor, type ProcessorDeps, type EvaluateJobRef, type EvaluateResult } from './evaluate.js';
import { statesOver } from './local-state.js';
import { createRedisRuleStates } from './rule-state.js';
import { createRedisWindowState } from './window-state.js';
import type { FromThread, ThreadInit, ToThread } from './eval-threads.js';

const port = parentPort;
if (!port) throw new Error('eval-thread.js runs as a worker thread');
const init = workerData as ThreadInit;

const post = (m: FromThread) => port.postMessage(m);
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

// Requests to the hub thread, answered by id: a 'reply' (inserts, health, rule state) or the job's 'records'.
let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
function request<T>(m: { type: 'insert'; table: string; text: string | Uint8Array; columns?: string[] } | { type: 'healthy' } | { type: 'records'; jobId: string } | { type: 'state'; ops: readonly StateOp[] }): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    post({ ...m, id });
  });
}
const ask = (m: { type: 'insert'; table: string; text: string | Uint8Array; columns?: string[] } | { type: 'healthy' }) => request<boolean>(m);
const recordsOf = (jobId: string) => request<Transaction[] | undefined>({ type: 'records', jobId });

let registry: TemporalRegistry = buildRegistryState(init.registry).temporal;
const engines = new RuleTimelineEngines(init.timeline);
const calendar = new LiveWorkCalendar(init.calendar);
const redis = new Redis(init.redisUrl, { maxRetriesPerRequest: null });
redis.on('error', (e) => post({ type: 'log', event: 'redis.error', detail: { message: errText(e), thread: init.index } }));

// JG_RULE_STATE=local: the hub thread holds the rule state; a batch's calls go there in one message.
const ruleStates = init.stateInHub ? statesOver({ run: (ops) => request<unknown[]>({ type: 'state', ops }) }) : undefined;

const deps: ProcessorDeps = {
  records: recordsOf,
  store: {
    insertText: async (table, text, columns) => {
      await ask({ type: 'insert', table, text, ...(columns ? { columns: [...columns] } : {}) });
    },
  },
  engine: (at) => engines.engineAt(at),
  registry: { at: (t) => registry.at(t) },
  context: {
    ...(ruleStates ?? { state: createRedisWindowState(redis, init.prefix), ...createRedisRuleStates(redis, init.prefix) }),
    calendar,
  },
  telemetry: {
    batchStored: (batchId, stored, warnings, evaluateMs, storeMs) => post({ type: 'telemetry', batchId, stored, warnings, evaluateMs, storeMs }),
  },
  onStored: (batchId, warnings) => post({ type: 'stored', batchId, warnings: [...warnings] }),
  healthy: () => ask({ type: 'healthy' }),
  ...(init.refuseTransactionIds?.length ? { refuseTransactionIds: new Set(init.refuseTransactionIds) } : {}),
};

// Paused from the start when the hub thread evaluates first (jobs/overflow.ts): the worker
// connects but fetches nothing until told to.
const worker = new Worker<EvaluateJobRef, EvaluateResult>(init.queue, createEvaluateProcessor(deps), {
  connection: { url: init.redisUrl, maxRetriesPerRequest: null },
  prefix: init.prefix,
  concurrency: init.concurrency,
  autorun: !init.paused,
});
// The hub thread's submit waits for these (jobs/queue.ts, "How a submit learns that its job ended").
worker.on('completed', (job, result) => {
  if (job.id) post({ type: 'ended', end: { jobId: job.id, completed: true, result } });
});
worker.on('failed', (job, err) => {
  if (job?.id) post({ type: 'ended', end: { jobId: job.id, completed: false } });
  post({ type: 'log', event: 'job.failed', detail: { jobId: job?.id, attempts: job?.attemptsMade, err: errText(err), thread: init.index } });
});
worker.on('error', (err) => post({ type: 'log', event: 'job.worker_error', detail: { err: errText(err), thread: init.index } }));

port.on('message', (m: ToThread) => {
  switch (m.type) {
    case 'reply': {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.value ?? true);
      else w.reject(new Error(m.message ?? 'failed in the hub thread'));
      return;
    }
    case 'records': {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      w?.resolve(m.records);
      return;
    }
    case 'registry':
      registry = buildRegistryState(m.source).temporal;
      return;
    case 'timeline':
      engines.update(m.timeline);
      return;
    case 'calendar':
      calendar.replace(m.config);
      return;
    case 'active':
      // resume() also starts a worker made without autorun; pause(true) lets active jobs finish.
      void (m.active ? worker.resume() : worker.pause(true)).catch((e: unknown) => post({ type: 'log', event: 'job.worker_error', detail: { err: errText(e), thread: init.index } }));
      return;
    case 'close':
      // Active jobs finish (their inserts are still answered), then the connections close.
      void worker
        .close()
        .catch(() => undefined)
        .then(() => redis.quit().catch(() => undefined))
        .then(() => {
          post({ type: 'closed' });
          port.close();
        });
      return;
  }
});

worker.waitUntilReady().then(
  () => post({ type: 'ready' }),
  (e: unknown) => post({ type: 'log', event: 'job.worker_error', detail: { err: errText(e), thread: init.index } }),
);
