/**
 * Reading warnings by id with the institutions known (automatic assignment) finds exactly what
 * the lookup by id alone finds — the institutions only narrow the part of `warnings` read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/store/migrate.js';
import { transactionRow, warningRow } from '../src/store/repo.js';
import { openStore, type Store } from '../src/store/store.js';
import { transactionById, warningsByIds } from '../src/workflow/repo.js';
import { checkTxn, tmpDir } from './helpers.js';

let store: Store;
beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: tmpDir('workflow-lookup') }));
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

const T0 = Date.UTC(2026, 10, 20, 2, 0, 0);
const INSTITUTIONS = ['CGS-HC', 'JCJ-JYZ', 'KS-HC', 'JX-HC'];

describe('warningsByIds', () => {
  it('with the institutions given, returns what the lookup by id alone returns', async () => {
    const rows = Array.from({ length: 400 }, (_, i) =>
      warningRow({
        id: `w-lookup-${i}`,
        ruleId: 'check.short_duration',
        ruleName: '查验时长过短',
        ruleVersion: '1',
        family: 'check',
        severity: i % 3 === 0 ? 'high' : 'medium',
        action: 'flag',
        transactionId: `c:${i}`,
        batchId: 'b',
        collectorId: 'c',
        institutionId: INSTITUTIONS[i % INSTITUTIONS.length]!,
        county: '451202',
        occurredAt: T0 + i,
        capturedAt: T0 + i,
        raisedAt: T0 + i,
        explanation: '',
        values: { seconds: i },
        subjectMasked: '',
      } as never),
    );
    await store.insert('warnings', rows);
    const ids = ['w-lookup-3', 'w-lookup-10', 'w-lookup-11', 'w-lookup-398', 'w-lookup-missing'];
    const all = await warningsByIds(store, ids);
    const narrowed = await warningsByIds(store, ids, ['JX-HC', 'KS-HC', 'JX-HC']);
    expect([...all.keys()].sort()).toEqual(['w-lookup-10', 'w-lookup-11', 'w-lookup-3', 'w-lookup-398']);
    expect(narrowed).toEqual(all);
    // Institutions that hold none of the ids: nothing, not a fallback to every institution.
    expect((await warningsByIds(store, ids, ['CGS-HC'])).size).toBe(0);
  });

  it('finds the transaction behind a warning by its institution and id: the copy stored last', async () => {
    const t = { ...checkTxn(42), id: 'c-lookup:42', outcome: 'pass' as const };
    const meta = { batchId: 'b', county: '451202', ruleSet: 'test', warningCount: 1 };
    // A re-sent batch stored twice; the later copy carries a different outcome to tell them apart.
    await store.insert('transactions', [{ ...transactionRow(t, meta), stored_at: T0 }]);
    await store.insert('transactions', [{ ...transactionRow({ ...t, outcome: 'fail' }, meta), stored_at: T0 + 1000 }]);
    const found = await transactionById(store, t.id, t.institutionId);
    expect(found?.id).toBe(t.id);
    expect(found?.outcome).toBe('fail');
    expect(await transactionById(store, t.id, 'KS-HC')).toBeUndefined();
  });
});
