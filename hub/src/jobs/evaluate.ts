/**
 * The "evaluate" processor, kept thin: parse the job → run the pure rule engine per record →
 * store transactions and warnings → hand warnings to the broadcaster. The job completes (and
 * ingest acknowledges the batch) only after both inserts returned.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { buildWarning, TransactionSchema, type EvaluationContext, type RuleEngine, type Transaction, type Warning } from '@jianguan/rules';
import { z } from 'zod';
import { transactionRow, warningRow } from '../store/repo.js';
import type { Store } from '../store/store.js';
import type { Registry } from '../registry/registry.js';
import type { Telemetry } from '../telemetry/events.js';

export const EVALUATE_QUEUE = 'evaluate';

export const EvaluateJobSchema = z.object({
  batchId: z.string(),
  collectorId: z.string(),
  receivedAt: z.number(),
  records: z.array(TransactionSchema).min(1),
});
export type EvaluateJobData = z.infer<typeof EvaluateJobSchema>;

export interface EvaluateResult {
  stored: number;
  warnings: number;
}

export interface EvaluateDeps {
  store: Store;
  /**
   * The rule set in force at `at` (epoch ms; the batch's receipt time) — see
   * rulesets/service.ts: a released set takes effect for batches received from its effective time.
   */
  engine: (at?: number) => RuleEngine;
  registry: Registry;
  context: Omit<EvaluationContext, 'registry'>;
  telemetry: Telemetry;
  onStored: (batchId: string, txns: readonly Transaction[], warnings: readonly Warning[]) => void;
}

/** Pure of BullMQ so tests and the bench can call it directly. */
export async function evaluateBatch(deps: EvaluateDeps, data: EvaluateJobData): Promise<EvaluateResult> {
  const started = Date.now();
  const engine = deps.engine(data.receivedAt);
  const txnRows: Record<string, unknown>[] = [];
  const warnings: Warning[] = [];
  // Each record is judged against the registry as it stood when it happened (a backlog may
  // arrive after a filing changed). Live traffic shares one settled view, hence one context.
  let ctx: EvaluationContext | undefined;
  // Records of one batch are evaluated in order: window counts depend on it.
  for (const txn of data.records) {
    const registry = deps.registry.at(txn.occurredAt);
    if (ctx?.registry !== registry) ctx = { ...deps.context, registry };
    const county = registry.institution(txn.institutionId)?.county ?? '';
    const hits = await engine.evaluate(txn, ctx);
    const raisedAt = Date.now();
    for (const hit of hits) warnings.push(buildWarning(hit, txn, { batchId: data.batchId, county, raisedAt }));
    txnRows.push(transactionRow(txn, { batchId: data.batchId, county, ruleSet: engine.version, warningCount: hits.length }));
  }
  await deps.store.insert('warnings', warnings.map((w) => warningRow(w, engine.version)));
  await deps.store.insert('transactions', txnRows);
  deps.telemetry.batchStored(data.batchId, txnRows.length, warnings.length, Date.now() - started);
  deps.onStored(data.batchId, data.records, warnings);
  return { stored: txnRows.length, warnings: warnings.length };
}

export function createEvaluateProcessor(deps: EvaluateDeps) {
  return async (job: Job): Promise<EvaluateResult> => {
    const parsed = EvaluateJobSchema.safeParse(job.data);
    // Ingest validated every record, so this only trips on a foreign or corrupted job:
    // retrying cannot help.
    if (!parsed.success) throw new UnrecoverableError(`malformed evaluate job ${job.id}: ${parsed.error.message}`);
    return evaluateBatch(deps, parsed.data);
  };
}
