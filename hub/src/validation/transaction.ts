import { TransactionSchema, parseTransactionFast, type Transaction } from '@jianguan/rules';
import { describeIssues } from './issues.js';

/**
 * A transaction as the hub's doors check it (a collector's batch, a hold question): a checked
 * copy, or what is wrong with it. The hand-written check (@jianguan/rules parseTransactionFast)
 * answers the common case exactly as the schema would, at a fraction of its cost; anything it
 * does not take goes through zod, which says what is wrong. `root` names the value in messages.
 */
export function transactionOf(record: unknown, root = '(record)'): { ok: true; t: Transaction } | { ok: false; message: string } {
  const t = parseTransactionFast(record);
  if (t !== undefined) return { ok: true, t };
  const parsed = TransactionSchema.safeParse(record);
  return parsed.success ? { ok: true, t: parsed.data } : { ok: false, message: describeIssues(parsed.error, { root }) };
}
