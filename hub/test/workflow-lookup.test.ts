/**
 * Reading warnings by id with the institutions known (automatic assignment) finds exactly what
 * the lookup by id alone finds — the institutions only narrow the part of `warnings` read. The
 * transaction behind a warning and a list page's business numbers are found with the warning's
 * capture time, and without it when that time is not the transaction's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/store/migrate.js';
import { transactionRow, warningRow } from '../src/store/repo.js';
import { openStore, type Store } from '../src/store/store.js';
import { listWarningsWithState, transactionById, warningsByIds } from '../src/workflow/repo.js';
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
    // With the capture time the warning carries: the same row, in one statement (the narrowed
    // read found it); with one that is not the transaction's (a warning raised over a period),
    // the same row by the key alone.
    let statements = 0;
    const counting = { ...store, query: (q: Parameters<Store['query']>[0]) => (statements++, store.query(q)) } as Store;
    expect(await transactionById(counting, t.id, t.institutionId, t.capturedAt)).toEqual(found);
    expect(statements).toBe(1);
    expect(await transactionById(store, t.id, t.institutionId, t.capturedAt - 86_400_000 * 40)).toEqual(found);
    expect(await transactionById(store, t.id, 'KS-HC', t.capturedAt)).toBeUndefined();
  });

  it("a list's page carries each warning's business number, whether or not the warning's capture time is its transaction's", async () => {
    const meta = { batchId: 'b-lsh', county: '451202', ruleSet: 'test', warningCount: 1 };
    const txns = Array.from({ length: 6 }, (_, i) => ({ ...checkTxn(900 + i), id: `c-lsh:${i}`, capturedAt: T0 - i * 86_400_000 * 20 }));
    await store.insert(
      'transactions',
      txns.map((t) => transactionRow(t, meta)),
    );
    const warnings = txns.map((t, i) =>
      warningRow({
        id: `w-lsh-${i}`,
        ruleId: 'check.short_duration',
        ruleName: '查验时长过短',
        ruleVersion: '1',
        family: 'check',
        severity: 'medium',
        action: 'flag',
        transactionId: t.id,
        batchId: 'b-lsh',
        collectorId: t.collectorId,
        institutionId: t.institutionId,
        county: 'lsh-county',
        occurredAt: t.occurredAt,
        // The last two as a warning over a period would carry them: not their transaction's time.
        capturedAt: i >= 4 ? T0 + 3_600_000 : t.capturedAt,
        raisedAt: T0 + i,
        explanation: '',
        values: {},
        subjectMasked: '',
      } as never),
    );
    // One warning whose transaction was never stored: listed, without a business number.
    warnings.push({ ...warnings[0]!, id: 'w-lsh-orphan', transaction_id: 'c-lsh:none', raised_at: T0 + 100 });
    await store.insert('warnings', warnings);
    const { total, items } = await listWarningsWithState(store, { county: 'lsh-county', limit: 50, offset: 0 });
    expect(total).toBe(7);
    const lsh = Object.fromEntries(items.map((w) => [w.id, w.lsh]));
    expect(lsh).toEqual({
      ...Object.fromEntries(txns.map((t, i) => [`w-lsh-${i}`, t.lsh])),
      'w-lsh-orphan': '',
    });
    // The open queue's shape (raised warnings without events) reads its page the same way.
    const open = await listWarningsWithState(store, { county: 'lsh-county', states: ['raised'], limit: 3, offset: 0 });
    expect(open.total).toBe(7);
    expect(open.items.map((w) => [w.id, w.lsh])).toEqual([
      ['w-lsh-orphan', ''],
      ['w-lsh-5', txns[5]!.lsh],
      ['w-lsh-4', txns[4]!.lsh],
    ]);
    // Nothing matching: an empty first page and a total of 0; a page past the end keeps the total.
    expect(await listWarningsWithState(store, { county: 'lsh-county', states: ['concluded'], limit: 50, offset: 0 })).toEqual({ total: 0, items: [] });
    expect(await listWarningsWithState(store, { county: 'lsh-county', limit: 3, offset: 9 })).toEqual({ total: 7, items: [] });
    expect(await listWarningsWithState(store, { county: 'lsh-county', states: ['raised'], limit: 3, offset: 9 })).toEqual({ total: 7, items: [] });
  });
});
