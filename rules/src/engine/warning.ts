/**
 * Turning a rule hit into a stored Warning. The id is a pure function of (rule id, transaction
 * id): a batch re-sent after a lost ack, or a job retried after a crash, produces the same
 * warning id, and the store's dedup key collapses it.
 */
import type { Transaction } from '../model/transaction.js';
import type { Warning } from '../model/warning.js';
import { fnv1a64 } from './hash.js';
import type { RuleHit, WarningEnvelope } from './types.js';

/** `w-` + FNV-1a 64 of `${ruleId}|${transactionId}` (16 hex digits). */
export function warningId(ruleId: string, transactionId: string): string {
  return `w-${fnv1a64(`${ruleId}|${transactionId}`)}`;
}

export function buildWarning(hit: RuleHit, txn: Transaction, env: WarningEnvelope): Warning {
  const { rule } = hit;
  return {
    id: warningId(rule.id, txn.id),
    ruleId: rule.id,
    ruleName: rule.name,
    ruleVersion: rule.version,
    family: rule.family,
    severity: rule.severity,
    action: rule.action,
    transactionId: txn.id,
    batchId: env.batchId,
    collectorId: txn.collectorId,
    institutionId: txn.institutionId,
    county: env.county,
    occurredAt: txn.occurredAt,
    capturedAt: txn.capturedAt,
    raisedAt: env.raisedAt,
    explanation: hit.explanation,
    values: { ...hit.values },
    subjectMasked: txn.subject?.masked ?? '',
  };
}
