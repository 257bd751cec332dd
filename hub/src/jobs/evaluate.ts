/**
 * The "evaluate" processor, kept thin: parse the job → run the pure rule engine over the batch →
 * store transactions and warnings → hand warnings to the broadcaster. The job completes (and
 * ingest acknowledges the batch) only after both inserts returned. Runs in the hub thread or in
 * an evaluation thread (jobs/eval-threads.ts): everything it needs comes in through EvaluateDeps.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { buildWarning, type EvaluationContext, type RegistryView, type RuleEngine, type Transaction, type Warning } from '@jianguan/rules';
import { TRANSACTION_COLUMNS, transactionValues, warningRow } from '../store/repo.js';
import type { Store } from '../store/store.js';
import type { Registry } from '../registry/registry.js';
import type { Telemetry } from '../telemetry/events.js';

export const EVALUATE_QUEUE = 'evaluate';

/** An evaluate job as ingest writes it: records validated with TransactionSchema before enqueueing. */
export interface EvaluateJobData {
  batchId: string;
  collectorId: string;
  receivedAt: number;
  records: Transaction[];
  /** Which half of a split batch ('a', 'ab', …); absent for a whole batch. See ingest/collect.ts. */
  part?: string;
  /**
   * Set, with `records` emptied, once the batch was stored: what a finished job keeps (see
   * createEvaluateProcessor). A job carrying it is done and is never evaluated again.
   */
  done?: EvaluateResult;
}

/**
 * The shape of a job as ingest wrote it. Ingest validated every record with TransactionSchema
 * before enqueueing, and only the hub writes this queue, so the processor checks the envelope
 * and that records are objects — not every record again (that was a second full zod pass per
 * record on the hot path). A job failing this was not written by ingest: unrecoverable.
 */
function asJobData(d: unknown): EvaluateJobData | string {
  if (typeof d !== 'object' || d === null) return 'not an object';
  const j = d as Record<string, unknown>;
  if (typeof j.batchId !== 'string' || typeof j.collectorId !== 'string' || typeof j.receivedAt !== 'number') return 'envelope fields missing';
  if (j.part !== undefined && typeof j.part !== 'string') return 'part is not a string';
  if (j.done !== undefined) {
    const done = j.done as Partial<EvaluateResult> | null;
    if (typeof done !== 'object' || done === null || typeof done.stored !== 'number' || typeof done.warnings !== 'number') return 'done is not a result';
    return { ...(d as EvaluateJobData), records: [], done: { stored: done.stored, warnings: done.warnings } };
  }
  const records = j.records;
  if (!Array.isArray(records) || records.length === 0) return 'records missing';
  for (const r of records) {
    if (typeof r !== 'object' || r === null || typeof (r as { id?: unknown }).id !== 'string' || typeof (r as { occurredAt?: unknown }).occurredAt !== 'number') {
      return 'a record is not a transaction';
    }
  }
  return d as EvaluateJobData;
}

export interface EvaluateResult {
  stored: number;
  warnings: number;
}

export interface EvaluateDeps {
  /**
   * Where the rows go, as JSONEachRow text: the coalescing store writer (store/writer.ts), or —
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

/** Pure of BullMQ so tests and the bench can call it directly. */
export async function evaluateBatch(deps: EvaluateDeps, data: EvaluateJobData): Promise<EvaluateResult> {
  const started = Date.now();
  const engine = deps.engine(data.receivedAt);
  // Rows are encoded as they are built (JSONEachRow): no second array of row objects.
  let txnText = '';
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
    txnText += `${JSON.stringify(transactionValues(txn, { batchId: data.batchId, county, ruleSet: engine.version, warningCount: hits.length }))}\n`;
  });
  if (deps.refuseTransactionIds?.size) {
    const refused = data.records.find((t) => deps.refuseTransactionIds!.has(t.id));
    if (refused) throw new Error(`Code: 117. DB::Exception: injected refusal of ${refused.id}`);
  }
  // Transactions before their warnings: a failure in between leaves stored business without
  // warnings (the re-run adds them, rule state being idempotent), never a warning whose
  // transaction does not exist.
  const storing = Date.now();
  await deps.store.insertText('transactions', txnText, TRANSACTION_COLUMNS);
  if (warnings.length > 0) await deps.store.insertText('warnings', warningText);
  deps.telemetry.batchStored(data.batchId, data.records.length, warnings.length, evaluateMs, Date.now() - storing);
  deps.onStored(data.batchId, warnings);
  return { stored: data.records.length, warnings: warnings.length };
}

/**
 * The job as it stays in Redis once its batch is stored: the envelope and the result, without the
 * records. BullMQ keeps finished jobs (removeOnComplete in jobs/queue.ts) so that a re-sent batch
 * finds its result; with the records that was the whole batch again — about 1 KiB a record, 3 GB
 * at a sustained 10,000/s. Nothing reads them after the inserts committed: a re-sent batch gets
 * the result, a job that failed is never released, and a released job that runs again (its
 * worker stalled between this and BullMQ's completion) returns the result it keeps.
 */
export function releasedJobData(data: EvaluateJobData, done: EvaluateResult): EvaluateJobData {
  return { batchId: data.batchId, collectorId: data.collectorId, receivedAt: data.receivedAt, ...(data.part ? { part: data.part } : {}), records: [], done };
}

export function createEvaluateProcessor(deps: EvaluateDeps) {
  return async (job: Job): Promise<EvaluateResult> => {
    const data = asJobData(job.data);
    // Only trips on a foreign or corrupted job: retrying cannot help.
    if (typeof data === 'string') throw new UnrecoverableError(`malformed evaluate job ${job.id}: ${data}`);
    if (data.done) return data.done;
    let result: EvaluateResult;
    try {
      result = await evaluateBatch(deps, data);
    } catch (e) {
      // Services up and the batch still failed: the data is the problem. Fail the job at once
      // (no retries) and let ingest split it; an outage is retried by BullMQ as before.
      const up = deps.healthy ? await deps.healthy().catch(() => false) : false;
      if (up) throw new UnrecoverableError(`${STORE_REFUSED}: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    // Memory, not correctness: if this write fails the job keeps its records until removed.
    await job.updateData(releasedJobData(data, result)).catch(() => undefined);
    return result;
  };
}
