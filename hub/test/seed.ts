/** Test data written straight into the store: warnings and transactions with chosen fields. */
import type { Warning } from '@jianguan/rules';
import type { Hub } from '../src/app.js';
import { transactionRow, warningRow } from '../src/store/repo.js';
import { checkTxn } from './helpers.js';

export interface SeedWarning {
  id: string;
  institutionId: string;
  county: string;
  severity?: Warning['severity'];
  ruleId?: string;
  family?: Warning['family'];
  raisedAt?: number;
  occurredAt?: number;
}

let seq = 100_000;

/** Inserts warnings (and a transaction for each) exactly as the evaluation worker would. */
export async function seedWarnings(hub: Hub, list: readonly SeedWarning[]): Promise<void> {
  const warnings: Record<string, unknown>[] = [];
  const txns: Record<string, unknown>[] = [];
  for (const s of list) {
    const n = seq++;
    const occurredAt = s.occurredAt ?? s.raisedAt ?? Date.now();
    const t = checkTxn(n, { institutionId: s.institutionId, occurredAt, startedAt: occurredAt, endedAt: occurredAt + 60_000 });
    const w: Warning = {
      id: s.id,
      ruleId: s.ruleId ?? 'check.short_duration',
      ruleName: '查验用时过短',
      ruleVersion: 'test',
      family: s.family ?? 'check',
      severity: s.severity ?? 'medium',
      action: 'warn',
      transactionId: t.id,
      batchId: `seed:${n}`,
      collectorId: t.collectorId,
      institutionId: s.institutionId,
      county: s.county,
      occurredAt,
      capturedAt: occurredAt,
      raisedAt: s.raisedAt ?? Date.now(),
      explanation: '查验用时60秒，少于阈值180秒',
      values: { seconds: 60, minSeconds: 180 },
      subjectMasked: '4512**********123X',
    };
    warnings.push(warningRow(w));
    txns.push(transactionRow(t, { batchId: w.batchId, county: s.county, ruleSet: 'test', warningCount: 1 }));
  }
  await hub.store.insert('warnings', warnings);
  await hub.store.insert('transactions', txns);
}

/** Inserts `n` plain transactions of an institution at `occurredAt` (+1 s each). */
export async function seedTransactions(hub: Hub, institutionId: string, county: string, n: number, occurredAt: number): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const s = seq++;
    const t = checkTxn(s, { institutionId, occurredAt: occurredAt + i * 1000, startedAt: occurredAt + i * 1000, endedAt: occurredAt + i * 1000 + 400_000 });
    rows.push(transactionRow(t, { batchId: `seed:${s}`, county, ruleSet: 'test', warningCount: 0 }));
  }
  await hub.store.insert('transactions', rows);
}
