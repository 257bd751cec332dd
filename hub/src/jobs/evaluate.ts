/**
 * The "evaluate" processor, kept thin: parse the job → run the pure rule engine over the batch →
 * store transactions and warnings → hand warnings to the broadcaster. The job completes (and
 * ingest acknowledges the batch) only after both inserts returned.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { buildWarning, TransactionSchema, type EvaluationContext, type RegistryView, type RuleEngine, type Transaction, type Warning } from '@jianguan/rules';
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
  /** Which half of a split batch ('a', 'ab', …); absent for a whole batch. See ingest/collect.ts. */
  part: z.string().max(32).optional(),
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
  const txnRows: Record<string, unknown>[] = [];
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
    for (const hit of hits) warnings.push(buildWarning(hit, txn, { batchId: data.batchId, county, raisedAt }));
    txnRows.push(transactionRow(txn, { batchId: data.batchId, county, ruleSet: engine.version, warningCount: hits.length }));
  });
  if (deps.refuseTransactionIds?.size) {
    const refused = data.records.find((t) => deps.refuseTransactionIds!.has(t.id));
    if (refused) throw new Error(`Code: 117. DB::Exception: injected refusal of ${refused.id}`);
  }
  // Transactions before their warnings: a failure in between leaves stored business without
  // warnings (the re-run adds them, rule state being idempotent), never a warning whose
  // transaction does not exist.
  const storing = Date.now();
  await deps.store.insert('transactions', txnRows);
  await deps.store.insert('warnings', warnings.map((w) => warningRow(w, engine.version)));
  deps.telemetry.batchStored(data.batchId, txnRows.length, warnings.length, evaluateMs, Date.now() - storing);
  deps.onStored(data.batchId, data.records, warnings);
  return { stored: txnRows.length, warnings: warnings.length };
}

export function createEvaluateProcessor(deps: EvaluateDeps) {
  return async (job: Job): Promise<EvaluateResult> => {
    const parsed = EvaluateJobSchema.safeParse(job.data);
    // Ingest validated every record, so this only trips on a foreign or corrupted job:
    // retrying cannot help.
    if (!parsed.success) throw new UnrecoverableError(`malformed evaluate job ${job.id}: ${parsed.error.message}`);
    try {
      return await evaluateBatch(deps, parsed.data);
    } catch (e) {
      // Services up and the batch still failed: the data is the problem. Fail the job at once
      // (no retries) and let ingest split it; an outage is retried by BullMQ as before.
      const up = deps.healthy ? await deps.healthy().catch(() => false) : false;
      if (up) throw new UnrecoverableError(`${STORE_REFUSED}: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  };
}
