/**
 * Paging stored transactions for backtests (hub/src/backtest/stream.ts) against chDB: every
 * logical transaction of the range exactly once, in (occurred_at, id) order, whatever the page
 * size (pages adapt: up to four times the size asked for) — with re-sent copies in the table (as before a merge) and many records sharing a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { streamTransactions } from '../src/backtest/stream.js';
import { migrate } from '../src/store/migrate.js';
import { transactionRow } from '../src/store/repo.js';
import { param, sql } from '../src/store/sql.js';
import { openStore, type Store } from '../src/store/store.js';
import { checkTxn, tmpDir, WORKING_TIME } from './helpers.js';

let store: Store;
const MIN = 60_000;

beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: tmpDir('backtest-stream') }));
  await migrate(store);
  // 300 records over 40 distinct times (ties on occurred_at), one in five stored twice from a
  // re-sent batch; some outside the range.
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 300; i++) {
    const t = checkTxn(i + 1, { id: `s-${(i * 7919) % 1000}`, occurredAt: WORKING_TIME + (i % 40) * MIN });
    rows.push(transactionRow(t, { batchId: 'b1', county: '451202', ruleSet: 'x', warningCount: 0 }));
  }
  await store.insert('transactions', rows);
  await store.insert('transactions', rows.filter((_, i) => i % 5 === 0).map((r) => ({ ...r, batch_id: 'b2' })));
});
afterAll(async () => {
  await store?.close();
});

describe('streamTransactions', () => {
  it.each([1, 7, 50, 1000])('yields each logical record of the range once, in order (page %i)', async (page) => {
    const from = WORKING_TIME + 3 * MIN;
    const to = WORKING_TIME + 35 * MIN;
    const want = (
      await store.query<{ id: string }>(sql`
        SELECT id FROM transactions FINAL WHERE occurred_at >= ${param.DateTime64(from)} AND occurred_at < ${param.DateTime64(to)}
        ORDER BY occurred_at, id`)
    ).map((r) => r.id);
    const got: string[] = [];
    for await (const p of streamTransactions(store, from, to, page)) {
      // At most four pages' worth, unless the page is one millisecond (never split).
      if (new Set(p.map((t) => t.occurredAt)).size > 1) expect(p.length).toBeLessThanOrEqual(4 * page);
      got.push(...p.map((t) => t.id));
    }
    expect(want.length).toBeGreaterThan(200);
    expect(got).toEqual(want);
  });
});
