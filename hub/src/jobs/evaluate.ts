/**
 * The "evaluate" processor, kept thin: parse the job → run the pure rule engine over the batch →
 * store transactions and warnings → hand warnings to the broadcaster. The job completes (and
 * ingest acknowledges the batch) only after both inserts returned. Runs in the hub thread or in
 * an evaluation thread (jobs/eval-threads.ts): everything it needs comes in through EvaluateDeps.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { buildWarning, type EvaluationContext, type RegistryView, type RuleEngine, type Transaction, type Warning } from '@jianguan/rules';
import { TRANSACTION_COLUMNS, transactionValues, warningRow } from '../store/repo.js';
import { LineBuffer } from '../store/line-buffer.js';
import type { Store } from '../store/store.js';
import type { Registry } from '../registry/registry.js';
import type { Telemetry } from '../telemetry/events.js';

export const EVALUATE_QUEUE = 'evaluate';

/** A batch to evaluate, as ingest hands it over: records validated with TransactionSchema. */
export interface EvaluateJobData {
  batchId: string;
  collectorId: string;
  receivedAt: number;
  records: Transaction[];
  /** Which half of a split batch ('a', 'ab', …); absent for a whole batch. See ingest/collect.ts. */
  part?: string;
  /** What the batch holds (queue.ts batchContent), part of its job's id only. */
  content?: string;
}

/**
 * What the BullMQ job carries: the batch without its records, which stay in the memory of the
 * hub that received them until the job settles (jobs/queue.ts, "records beside the job").
 */
export interface EvaluateJobRef {
  batchId: string;
  collectorId: string;
  receivedAt: number;
  part?: string;
  /** How many records the batch has: the processor checks the records it is given against it. */
  count: number;
}

export function jobRefOf(data: Omit<EvaluateJobData, 'records'>, count: number): EvaluateJobRef {
  return { batchId: data.batchId, collectorId: data.collectorId, receivedAt: data.receivedAt, ...(data.part ? { part: data.part } : {}), count };
}

/** The envelope of a job as ingest wrote it. A job failing this was not written by a hub: unrecoverable. */
function asJobRef(d: unknown): EvaluateJobRef | string {
  if (typeof d !== 'object' || d === null) return 'not an object';
  const j = d as Record<string, unknown>;
  if (typeof j.batchId !== 'string' || typeof j.collectorId !== 'string' || typeof j.receivedAt !== 'number') return 'envelope fields missing';
  if (j.part !== undefined && typeof j.part !== 'string') return 'part is not a string';
  if (typeof j.count !== 'number' || !Number.isInteger(j.count) || j.count < 1) return 'count is not a positive integer';
  return d as EvaluateJobRef;
}

export interface EvaluateResult {
  stored: number;
  warnings: number;
}

export interface EvaluateDeps {
  /**
   * Where the rows go, as JSONEachRow text or its bytes: the coalescing store writer (store/writer.ts), or —
   * from an evaluation thread — a message to the hub thread that owns it. Resolves once committed.
   */
  store: Pick<Store, 'insertText'>;
  /**
   * The rule set in force at `at` (epoch ms; the batch's receipt time) — see
   * rulesets/service.ts: a released set takes effect for batches received from its effective time.
   */
  engine: (at?: number) => RuleEngine;
  registry: Pick<Registry, 'at'>;
  context: Omit<EvaluationContext, 'registry'>;
  telemetry: Pick<Telemetry, 'batchStored'>;
  onStored: (batchId: string, warnings: readonly Warning[]) => void;
  /**
   * OPTIONAL. Are the store and Redis answering? Asked after a failure to tell a refusal of the
   * data (services fine, this batch cannot be stored or evaluated: split it) from an outage
   * (retry later). Without it every failure counts as an outage.
   */
  healthy?: () => Promise<boolean>;
  /** Test-only (HubConfig.faultInjection): record ids whose insert the "store refuses". */
  refuseTransactionIds?: ReadonlySet<string>;
}

/** Prefix of a job failure that retrying the same records cannot fix; ingest splits the batch. */
export const STORE_REFUSED = 'STORE_REFUSED';

export function isStoreRefusal(message: string): boolean {
  return message.includes(`${STORE_REFUSED}:`);
}

/**
 * Pure of BullMQ so tests and the bench can call it directly. `opts.encoded`: called once the
 * rows are encoded, before they are stored — the processor empties its own array of the records
 * there, so they die before the insert's wait (jobs/queue.ts, "Records that die young").
 */
export async function evaluateBatch(deps: EvaluateDeps, data: EvaluateJobData, opts: { encoded?: () => void } = {}): Promise<EvaluateResult> {
  const started = Date.now();
  const engine = deps.engine(data.receivedAt);
  // Rows are encoded as they are built: no second array of row objects. Transactions as UTF-8
  // bytes written value by value (store/line-buffer.ts jsonLine: no JSON string per row),
  // warnings — a few per batch — as text.
  const txnRows = new LineBuffer(data.records.length * 1024);
  let warningText = '';
  const warnings: Warning[] = [];
  // Each record is judged against the registry as it stood when it happened (a backlog may
  // arrive after a filing changed). Live traffic shares one settled view, hence one context.
  let ctx: EvaluationContext | undefined;
  const registries: RegistryView[] = new Array(data.records.length);
  const contextOf = (txn: Transaction, i: number): EvaluationContext => {
    const registry = (registries[i] = deps.registry.at(txn.occurredAt));
    if (ctx?.registry !== registry) ctx = { ...deps.context, registry };
    return ctx;
  };
  // The whole batch in one evaluation: the engine collects every state call of every record
  // and the Redis states answer them with one script, applied in record order — window counts
  // depend on it (record i's count includes records < i of this batch).
  const results = await engine.evaluateBatch(data.records, contextOf);
  const raisedAt = Date.now();
  const evaluateMs = raisedAt - started;
  data.records.forEach((txn, i) => {
    const hits = results[i]!;
    const county = registries[i]!.institution(txn.institutionId)?.county ?? '';
    for (const hit of hits) {
      const w = buildWarning(hit, txn, { batchId: data.batchId, county, raisedAt });
      warnings.push(w);
      warningText += `${JSON.stringify(warningRow(w, engine.version))}\n`;
    }
    txnRows.jsonLine(transactionValues(txn, { batchId: data.batchId, county, ruleSet: engine.version, warningCount: hits.length }));
  });
  if (deps.refuseTransactionIds?.size) {
    const refused = data.records.find((t) => deps.refuseTransactionIds!.has(t.id));
    if (refused) throw new Error(`Code: 117. DB::Exception: injected refusal of ${refused.id}`);
  }
  const count = data.records.length;
  opts.encoded?.();
  // Transactions before their warnings: a failure in between leaves stored business without
  // warnings (the re-run adds them, rule state being idempotent), never a warning whose
  // transaction does not exist.
  const storing = Date.now();
  await deps.store.insertText('transactions', txnRows.bytes(), TRANSACTION_COLUMNS);
  if (warnings.length > 0) await deps.store.insertText('warnings', warningText);
  deps.telemetry.batchStored(data.batchId, count, warnings.length, evaluateMs, Date.now() - storing);
  deps.onStored(data.batchId, warnings);
  return { stored: count, warnings: warnings.length };
}

/**
 * Prefix of a job failure whose records the hub no longer holds: a job left from before a
 * restart, or one that ran after ingest stopped waiting. Nothing was evaluated; the collector
 * still has the batch and its re-send brings the records again (jobs/queue.ts retries the job).
 */
export const RECORDS_GONE = 'RECORDS_GONE';

/** What the BullMQ processor needs beyond evaluateBatch: where a job's records are. */
export interface ProcessorDeps extends EvaluateDeps {
  /**
   * The records of a job, by job id, from the hub that received them (jobs/queue.ts), in an
   * array of the processor's own: undefined once that hub no longer waits for the job (it
   * answered the collector, or it restarted).
   */
  records: (jobId: string) => Transaction[] | undefined | Promise<Transaction[] | undefined>;
}

export function createEvaluateProcessor(deps: ProcessorDeps) {
  return async (job: Job): Promise<EvaluateResult> => {
    const ref = asJobRef(job.data);
    // Only trips on a foreign or corrupted job: retrying cannot help.
    if (typeof ref === 'string') throw new UnrecoverableError(`malformed evaluate job ${job.id}: ${ref}`);
    const records = await deps.records(job.id ?? '');
    if (!records || records.length !== ref.count) {
      throw new UnrecoverableError(`${RECORDS_GONE}: the records of job ${job.id} are no longer held by this hub (${records ? `${records.length} of ${ref.count}` : 'none'})`);
    }
    const data: EvaluateJobData = { batchId: ref.batchId, collectorId: ref.collectorId, receivedAt: ref.receivedAt, records, ...(ref.part ? { part: ref.part } : {}) };
    try {
      // The array is this run's own: emptied once encoded (see evaluateBatch).
      return await evaluateBatch(deps, data, { encoded: () => void (records.length = 0) });
    } catch (e) {
      // Services up and the batch still failed: the data is the problem. Fail the job at once
      // (no retries) and let ingest split it; an outage is retried by BullMQ as before.
      const up = deps.healthy ? await deps.healthy().catch(() => false) : false;
      if (up) throw new UnrecoverableError(`${STORE_REFUSED}: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  };
}
