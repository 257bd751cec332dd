/** Migrations and dedup against the embedded ClickHouse engine (chDB), no server needed. */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Warning } from '@jianguan/rules';
import { loadConfig } from '../src/config.js';
import { migrate, readMigrations } from '../src/store/migrate.js';
import { pipelineStats } from '../src/ingest/repo.js';
import { dayStats, pipelineLagP95, totals, transactionRow, warningRow } from '../src/store/repo.js';
import { hourlyCounts } from '../src/live/wall-stats.js';
import { param, sql, type SqlQuery } from '../src/store/sql.js';
import { openStore, type Store } from '../src/store/store.js';
import { DEMO_PASSWORD, DEMO_USERS, accountsWithDemoPassword, findUserForLogin, listUsers, seedDemoUsers, updateUser } from '../src/auth/users.js';
import { verifyPassword } from '../src/auth/passwords.js';
import { checkTxn, tmpDir } from './helpers.js';

let store: Store;

beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: tmpDir('store') }));
});
afterAll(async () => {
  await store?.close();
});

describe('store', () => {
  it('applies numbered migrations once', async () => {
    const first = await migrate(store);
    expect(first).toEqual(readMigrations().map((m) => m.name));
    expect(first[0]).toMatch(/^001_/);
    expect(await migrate(store)).toEqual([]);
  });

  it('merges the tables the pipeline writes all day with a larger selector base and at least ten parts at a time, leaving the others at the defaults', async () => {
    const setting = async (table: string, name: string) => {
      const [r] = await store.query<{ s: string }>(sql`SELECT create_table_query AS s FROM system.tables WHERE database = currentDatabase() AND name = ${param.String(table)}`);
      expect(r, table).toBeDefined();
      return new RegExp(`\\b${name} = (\\d+)`).exec(r?.s ?? '')?.[1] ?? 'default';
    };
    for (const t of ['transactions', 'warnings', 'collector_batches', 'warning_events', 'decisions', 'audit_log', 'warning_state']) {
      expect(await setting(t, 'merge_selector_base'), t).toBe('12');
      expect(await setting(t, 'min_parts_to_merge_at_once'), t).toBe('10');
    }
    for (const t of ['dead_letters', 'institutions']) {
      expect(await setting(t, 'merge_selector_base'), t).toBe('default');
      expect(await setting(t, 'min_parts_to_merge_at_once'), t).toBe('default');
    }
  });

  it("reads the wall's day figures of transactions from the capture-time projection, not the whole partition", async () => {
    // A month of rows, 1,000 a day, in one part: the main table, sorted by (institution_id, id),
    // has every day in each of its granules; the projection, sorted by capture time, one day in
    // one or two — which is what makes the engine choose it.
    const at = Date.UTC(2026, 2, 10, 2);
    const DAY = 86_400_000;
    onTestFinished(() => store.command(sql`TRUNCATE TABLE transactions`));
    const txns = Array.from({ length: 30_000 }, (_, i) => checkTxn(9000 + i, { capturedAt: at + ((i % 30) - 9) * DAY + (i % 1000) * 1000 }));
    const warned = (i: number) => i % 7 === 0;
    await store.insert(
      'transactions',
      txns.map((t, i) => transactionRow(t, { batchId: 'proj', county: '451202', ruleSet: 'test', warningCount: warned(i) ? 1 : 0 })),
    );
    const day = Date.UTC(2026, 2, 9, 16); // 2026-03-10 00:00 in China Standard Time
    const onTheDay = txns.flatMap((t, i) => (t.capturedAt >= day && t.capturedAt < day + DAY ? [i] : []));
    expect(onTheDay.length).toBeGreaterThan(500);
    // Every statement the wall's round sends, captured on the way to the store.
    const sent: SqlQuery[] = [];
    const spy = new Proxy(store, {
      get: (target, key, receiver) =>
        key === 'query'
          ? (q: SqlQuery) => {
              sent.push(q);
              return target.query(q);
            }
          : Reflect.get(target, key, receiver),
    });
    const { types, transactions } = await dayStats(spy, day, day + DAY);
    expect(types.reduce((n, t) => n + t.transactions, 0)).toBe(onTheDay.length);
    expect(types.reduce((n, t) => n + t.warned, 0)).toBe(onTheDay.filter(warned).length);
    expect(transactions).toBe(onTheDay.length);
    // The lag as of the month's last day: rows captured in the two days before it (all were
    // stored within the window, which reaches to the real present).
    const lagAt = at + 20 * DAY;
    const recent = txns.filter((t) => t.capturedAt >= lagAt - 2 * DAY).length;
    expect((await pipelineLagP95(spy, lagAt, Date.now() - lagAt + 60_000)).n).toBe(recent);
    const ofTransactions = sent.filter((q) => /FROM transactions\b/.test(q.sql));
    expect(ofTransactions.length).toBeGreaterThanOrEqual(3);
    for (const q of ofTransactions) {
      const plan = await store.query<{ explain: string }>(sql`EXPLAIN ${q}`);
      expect(plan.map((r) => r.explain).join('\n'), q.sql).toMatch(/ReadFromMergeTree \(by_capture\)/);
    }
  });

  it('keeps one logical row per transaction id however often it is inserted', async () => {
    const t = checkTxn(1);
    const row = transactionRow(t, { batchId: 'b1', county: '451202', ruleSet: 'test', warningCount: 0 });
    await store.insert('transactions', [row]);
    await store.insert('transactions', [row, { ...row, batch_id: 'b2' }]);
    const [r] = await store.query<{ n: string; u: string }>(sql`SELECT count() AS n, uniqExact(id) AS u FROM transactions FINAL`);
    expect(Number(r!.n)).toBe(1);
    // totals() counts physical rows (cheap at any size): the re-sent copies until a merge folds
    // them, never fewer than the distinct ids.
    expect((await totals(store)).transactions).toBeGreaterThanOrEqual(1);
    await store.command(sql`OPTIMIZE TABLE transactions FINAL`);
    expect((await totals(store)).transactions).toBe(1);
  });

  it('keeps millisecond precision of epoch-millisecond times', async () => {
    const t = checkTxn(2, { occurredAt: Date.UTC(2026, 10, 25, 2, 0, 0, 123) });
    await store.insert('transactions', [transactionRow(t, { batchId: 'b', county: '451202', ruleSet: 'x', warningCount: 0 })]);
    const [r] = await store.query<{ ms: string }>(
      sql`SELECT toUnixTimestamp64Milli(occurred_at) AS ms FROM transactions FINAL WHERE id = ${param.String(t.id)}`,
    );
    expect(Number(r!.ms)).toBe(t.occurredAt);
  });

  it('aggregates a day by county and institution', async () => {
    const now = Date.now();
    const s = await dayStats(store, now - 3_600_000, now + 3_600_000);
    expect(s.transactions).toBe(2);
    expect(s.counties).toEqual([{ county: '451202', transactions: 2, warnings: 0 }]);
    expect(s.hours.transactions).toHaveLength(2);
    expect(s.hours.transactions.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('counts a day per institution and per hour in one pass, each figure as its own query would, re-sent rows once', async () => {
    const day = Date.UTC(2026, 0, 5, 16); // a local midnight (UTC+8)
    const county = '459901';
    const row = (id: string, inst: string, hour: number, minute = 0) =>
      transactionRow({ ...checkTxn(200), id, institutionId: inst, capturedAt: day + hour * 3_600_000 + minute * 60_000 }, { batchId: 'bh', county, ruleSet: 'x', warningCount: 0 });
    const rows = [row('hr:1', 'HR-A', 0), row('hr:2', 'HR-A', 0, 30), row('hr:3', 'HR-B', 0, 59), row('hr:4', 'HR-A', 7), row('hr:5', 'HR-B', 23, 59)];
    await store.insert('transactions', rows);
    // A re-sent batch: the same records again, and a record of the day before and of the day after.
    await store.insert('transactions', [rows[1]!, rows[4]!, row('hr:6', 'HR-A', -1), row('hr:7', 'HR-A', 24)]);
    const w = (id: string, transactionId: string, hour: number, action: Warning['action']): Record<string, unknown> => {
      const warning: Warning = {
        id,
        ruleId: 'check.short_duration',
        ruleName: '查验用时过短',
        ruleVersion: 'test',
        family: 'check',
        severity: 'medium',
        action,
        transactionId,
        batchId: 'bh',
        collectorId: 'c-test-01',
        institutionId: 'HR-A',
        county,
        occurredAt: day,
        capturedAt: day + hour * 3_600_000,
        raisedAt: day,
        explanation: '',
        values: {},
        subjectMasked: '',
      };
      return warningRow(warning, 'x');
    };
    await store.insert('warnings', [w('hw:1', 'hr:1', 0, 'hold'), w('hw:2', 'hr:4', 7, 'warn'), w('hw:1', 'hr:1', 0, 'hold')]);
    const s = await dayStats(store, day, day + 86_400_000, county);
    expect(s.transactions).toBe(5);
    expect(s.institutions.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'HR-A', transactions: 3, warnings: 2 },
      { id: 'HR-B', transactions: 2, warnings: 0 },
    ]);
    expect(s.holds).toBe(1);
    expect(s.hours.transactions).toHaveLength(24);
    expect(s.hours.transactions[0]).toBe(3);
    expect(s.hours.transactions[7]).toBe(1);
    expect(s.hours.transactions[23]).toBe(1);
    expect(s.hours.transactions.reduce((a, b) => a + b, 0)).toBe(s.transactions);
    expect(s.hours.warnings[0]).toBe(1);
    expect(s.hours.warnings[7]).toBe(1);
    // The same figures as the per-hour query of the day before this change.
    expect(s.hours).toEqual(await hourlyCounts(store, day, county));
  });

  it('counts pipeline statistics of one group of collectors when asked for an id prefix', async () => {
    const since = Date.now() - 60_000;
    const row = (id: string, capturedAt: number) =>
      transactionRow({ ...checkTxn(100), id, capturedAt }, { batchId: 'bp', county: '451202', ruleSet: 'x', warningCount: 0 });
    await store.insert('transactions', [row('grp-a1:1', since + 1000), row('grp-a1:2', since + 2000), row('grp-a2:1', since + 3000), row('grp-b1:1', since + 4000)]);
    // A re-sent record: a second physical row, one logical record.
    await store.insert('transactions', [row('grp-a1:1', since + 1000)]);
    const a = await pipelineStats(store, since, 'grp-a');
    expect(a.stored).toBe(3);
    expect(a.finalRows).toBe(3);
    expect(a.rows).toBeGreaterThanOrEqual(3);
    expect(a.firstCapturedAt).toBe(since + 1000);
    expect((await pipelineStats(store, since, 'grp-b')).stored).toBe(1);
    // Without a prefix: all four, and the two records of the tests above.
    expect((await pipelineStats(store, since)).stored).toBe(6);
    expect((await pipelineStats(store, since + 2500, 'grp-a')).stored).toBe(1);
    // A prefix is text, never SQL.
    expect((await pipelineStats(store, since, "grp-a') OR 1=1 --")).stored).toBe(0);
  });

  it('seeds the demo accounts once, all on the published password; one changed leaves the others', async () => {
    const names = DEMO_USERS.map((u) => u.username);
    expect(await seedDemoUsers(store)).toEqual(names);
    expect(await seedDemoUsers(store)).toEqual([]);
    const users = await listUsers(store);
    expect(users.map((u) => u.username).sort()).toEqual([...names].sort());
    expect(new Set(users.map((u) => u.id)).size).toBe(names.length);
    for (const u of DEMO_USERS) {
      const found = await findUserForLogin(store, u.username);
      expect(found?.user, u.username).toMatchObject({ displayName: u.displayName, roles: u.roles, scope: u.scope, active: true });
      expect(found?.mustChange, u.username).toBe(false);
      expect(await verifyPassword(DEMO_PASSWORD, found!.passwordHash), u.username).toBe(true);
      expect(await verifyPassword('jianguan-demo2', found!.passwordHash), u.username).toBe(false);
    }
    const leader = users.find((u) => u.username === 'leader')!;
    await updateUser(store, leader.id, { password: 'Hechi-Zhidui-2026-lingdao' }, { mustChange: false });
    expect((await accountsWithDemoPassword(store)).sort()).toEqual(names.filter((n) => n !== 'leader').sort());
    // A restart seeds nothing over the changed account.
    expect(await seedDemoUsers(store)).toEqual([]);
    expect(await verifyPassword('Hechi-Zhidui-2026-lingdao', (await findUserForLogin(store, 'leader'))!.passwordHash)).toBe(true);
  });
});
