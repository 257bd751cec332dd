/** The wall's extra statistics (hub/src/live/wall.ts) against embedded ClickHouse. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/store/migrate.js';
import { collectorHealth, dayStats, monthScoreRanking, pipelineLagP95, wallWorkflowStats } from '../src/store/repo.js';
import { openStore, type Store } from '../src/store/store.js';
import { sql } from '../src/store/sql.js';
import { hourlyCounts, monthScores, overdueOpen, topBusinessTypes, worstFirst } from '../src/live/wall-stats.js';

// Local rather than from ./helpers.js, which loads the whole app: these tests need only the store.
function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `jg-${prefix}-`));
}

let store: Store;
const NOW = Date.parse('2025-03-04T04:00:00Z'); // 12:00 Asia/Shanghai
const FROM = Date.parse('2025-03-03T16:00:00Z');
const TO = FROM + 86_400_000;

// Each event's from_state is its warning's state before it, as the hub writes it (the state rows
// of migration 060 follow from it): events are built in seq order per warning.
const lastState = new Map<string, string>();
function ev(warningId: string, seq: number, type: string, toState: string, at: number, escalated = 0) {
  const fromState = seq === 1 ? 'raised' : (lastState.get(warningId) ?? 'raised');
  lastState.set(warningId, toState);
  return {
    id: `${warningId}#${seq}`, warning_id: warningId, seq, type, from_state: fromState, to_state: toState, actor: 'a', role: 'auditor',
    at, assignee: 'a', conclusion: type === 'concluded' ? 'confirmed' : '', escalated, institution_id: 'I1', county: '451202', payload: '{}',
  };
}

function collectorWarning(id: string, ruleId: string, raisedAt: number) {
  return {
    id, rule_id: ruleId, rule_name: ruleId, rule_version: '1', family: 'collector', severity: 'medium', action: 'warn',
    transaction_id: '', batch_id: '', collector_id: 'c1', institution_id: 'I1', county: '451202',
    occurred_at: raisedAt, captured_at: raisedAt, raised_at: raisedAt, explanation: 'x', values_json: '{}', subject_masked: '', rule_set: '',
  };
}

beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: tmpDir('wall-stats') }));
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

describe('wall statistics', () => {
  it('counts on-time conclusions today and open escalated warnings', async () => {
    await store.insert('warning_events', [
      // w1: concluded today, never escalated → on time
      ev('w1', 1, 'assigned', 'assigned', NOW - 3_600_000),
      ev('w1', 2, 'concluded', 'concluded', NOW - 1_000),
      // w2: escalated, then concluded today → concluded, not on time
      ev('w2', 1, 'assigned', 'assigned', NOW - 7_200_000),
      ev('w2', 2, 'escalated', 'assigned', NOW - 3_600_000, 1),
      ev('w2', 3, 'concluded', 'concluded', NOW - 500, 1),
      // w3: escalated, still open → overdue
      ev('w3', 1, 'assigned', 'assigned', NOW - 7_200_000),
      ev('w3', 2, 'escalated', 'assigned', NOW - 3_600_000, 1),
      // w4: concluded yesterday → not today
      ev('w4', 1, 'concluded', 'concluded', FROM - 1_000),
    ]);
    expect(await wallWorkflowStats(store, FROM, TO)).toEqual({ concluded: 2, onTime: 1, overdue: 1 });
  });

  it('counts collector warnings of the day by kind, latest first', async () => {
    await store.insert('warnings', [
      collectorWarning('cw1', 'collector.silent', NOW - 3000),
      collectorWarning('cw2', 'collector.gap', NOW - 2000),
      collectorWarning('cw3', 'collector.gap', NOW - 1000),
      collectorWarning('cw4', 'collector.tamper', FROM - 1000),
    ]);
    const h = await collectorHealth(store, FROM, TO, 2);
    expect(h.counts).toEqual({ silent: 1, gap: 2, tamper: 0 });
    expect(h.latest.map((r) => r.id)).toEqual(['cw3', 'cw2']);
  });

  it('measures the p95 pipeline lag and reads the score ranking', async () => {
    const now = Date.now();
    expect(await pipelineLagP95(store, now, 300_000)).toEqual({ p95Ms: null, n: 0 });
    await store.insert('transactions', [
      ...Array.from({ length: 20 }, (_, i) => ({ id: `t${i}`, institution_id: 'I1', county: '451202', captured_at: now - 1000, stored_at: now })),
      // Stored long ago: outside the window.
      { id: 'old', institution_id: 'I1', county: '451202', captured_at: now - 3_600_000, stored_at: now - 3_000_000 },
    ]);
    const lag = await pipelineLagP95(store, now + 1, 300_000);
    expect(lag.n).toBe(20);
    expect(lag.p95Ms).toBeGreaterThanOrEqual(990);
    expect(lag.p95Ms).toBeLessThanOrEqual(1010);
    await store.insert('evaluation_scores', [
      { month: '2025-03', institution_id: 'A', institution_type: 't', county: '451202', score: 80, grade: 'B', veto: 0, veto_rules: [], rank: 2, rank_of: 2, computed_at: NOW },
      { month: '2025-03', institution_id: 'B', institution_type: 't', county: '451202', score: 95.5, grade: 'A', veto: 0, veto_rules: [], rank: 1, rank_of: 2, computed_at: NOW },
    ]);
    const r = await monthScoreRanking(store, '2025-03', 10);
    expect(r.map((x) => [x.institution_id, x.score])).toEqual([['B', 95.5], ['A', 80]]);
  });

  // A different day from the tests above, so their rows do not count here.
  const D = Date.parse('2025-05-09T16:00:00Z'); // 2025-05-10 00:00 Asia/Shanghai
  const H = 3_600_000;

  it('counts transactions and warnings per local hour, by capture time', async () => {
    await store.insert('transactions', [
      { id: 'h1', institution_id: 'I1', county: '451202', kind: 'vehicle', ywlx: 'B', captured_at: D + 10 * 60_000, warning_count: 1 },
      { id: 'h2', institution_id: 'I1', county: '451202', kind: 'vehicle', ywlx: 'A', captured_at: D + 9 * H + 1, warning_count: 0 },
      { id: 'h3', institution_id: 'I1', county: '451202', kind: 'licence', ywlx: 'C', captured_at: D + 23 * H + 59 * 60_000, warning_count: 0 },
      { id: 'h4', institution_id: 'I1', county: '451202', kind: 'vehicle', ywlx: 'B', captured_at: D + 9 * H + 5, warning_count: 0 },
      { id: 'prev', institution_id: 'I1', county: '451202', kind: 'vehicle', ywlx: 'B', captured_at: D - 1, warning_count: 0 },
    ]);
    // h1 re-sent: a second insert, so the copy stays until a merge (one insert folds its own copies).
    await store.insert('transactions', [
      { id: 'h1', institution_id: 'I1', county: '451202', kind: 'vehicle', ywlx: 'B', captured_at: D + 10 * 60_000, warning_count: 1 },
    ]);
    await store.insert('warnings', [
      { ...collectorWarning('hw1', 'vehicle.fast_transfer', D + 9 * H + 30), family: 'vehicle', captured_at: D + 9 * H + 30 },
    ]);
    const today = await hourlyCounts(store, D);
    expect(today.transactions).toHaveLength(24);
    expect(today.transactions[0]).toBe(1);
    expect(today.transactions[9]).toBe(2);
    expect(today.transactions[23]).toBe(1);
    expect(today.transactions.reduce((a, b) => a + b, 0)).toBe(4);
    expect(today.warnings[9]).toBe(1);
    expect(today.warnings.reduce((a, b) => a + b, 0)).toBe(1);
    const before = await hourlyCounts(store, D - 24 * H);
    expect(before.transactions[23]).toBe(1);
  });

  it('breaks the day down by business type with names, largest first, from the same pass as its totals', async () => {
    // The day's transactions inserted by the test above, h1 stored twice (a re-sent batch).
    const day = await dayStats(store, D, D + 24 * H);
    const rows = topBusinessTypes(day.types, 10);
    expect(rows.map((r) => [r.label, r.transactions, r.warned])).toEqual([
      ['机动车业务·转移登记', 2, 1],
      ['驾驶证业务·补证换证', 1, 0],
      ['机动车业务·注册登记', 1, 0],
    ]);
    expect(topBusinessTypes(day.types, 1)).toHaveLength(1);
    // Every breakdown counts the re-sent copy once and adds up to the day's total.
    expect(day.transactions).toBe(4);
    expect(day.institutions).toEqual([{ id: 'I1', transactions: 4, warnings: 1 }]);
    expect(day.hours.transactions.slice(0, 24)).toEqual((await hourlyCounts(store, D)).transactions);
    expect(day.types.reduce((n, t) => n + t.transactions, 0)).toBe(day.transactions);
    // Past the ids it corrects for by name, the same figures by a subquery.
    expect(await dayStats(store, D, D + 24 * H, null, 0)).toEqual(day);
  });

  it("counts an id stored twice under different groupings once in each breakdown's total, as a distinct count does", async () => {
    const D2 = D + 7 * 24 * H;
    const row = (id: string, ywlx: string, hour: number, inst = 'I1', warningCount = 0) => ({
      id, institution_id: inst, county: '451202', kind: 'vehicle', ywlx, captured_at: D2 + hour * H + 1, warning_count: warningCount,
    });
    // Separate inserts: the engine folds the copies within one insert (optimize_on_insert).
    await store.insert('transactions', [row('r1', 'A', 9, 'I1', 1), row('r2', 'A', 9), row('r3', 'B', 10, 'I2')]);
    await store.insert('transactions', [row('r1', 'B', 10, 'I1', 0), row('r2', 'A', 9)]);
    const [rows] = await store.query<{ n: string }>(sql`SELECT count() AS n FROM transactions WHERE id IN ('r1', 'r2')`);
    expect(Number(rows?.n)).toBe(4);
    const day = await dayStats(store, D2, D2 + 24 * H);
    expect(day.transactions).toBe(3); // I1: r1, r2; I2: r3
    expect(day.institutions.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'I1', transactions: 2, warnings: 0 },
      { id: 'I2', transactions: 1, warnings: 0 },
    ]);
    expect([day.hours.transactions[9], day.hours.transactions[10]]).toEqual([2, 2]);
    expect(day.types.map((t) => [t.ywlx, t.transactions, t.warned])).toEqual([
      ['A', 2, 1],
      ['B', 2, 0],
    ]);
  });

  it('lists open escalated warnings with their state, oldest escalation first', async () => {
    await store.insert('warnings', [
      { ...collectorWarning('ow1', 'vehicle.fast_transfer', D), rule_name: '转移登记过频', family: 'vehicle', severity: 'high' },
      { ...collectorWarning('ow2', 'counter.refusal', D), rule_name: '退办', family: 'counter' },
      { ...collectorWarning('ow3', 'counter.refusal', D), rule_name: '退办', family: 'counter' },
    ]);
    await store.insert('warning_events', [
      ev('ow1', 1, 'assigned', 'assigned', D + H),
      ev('ow1', 2, 'escalated', 'assigned', D + 3 * H, 1),
      ev('ow2', 1, 'escalated', 'raised', D + 2 * H, 1),
      // ow3: escalated but then concluded: no longer open.
      ev('ow3', 1, 'escalated', 'raised', D + H, 1),
      ev('ow3', 2, 'concluded', 'concluded', D + 4 * H, 1),
    ]);
    const rows = (await overdueOpen(store, 10)).filter((r) => r.id.startsWith('ow'));
    expect(rows.map((r) => [r.id, r.stateLabel, r.escalated_at])).toEqual([
      ['ow2', '待分派', D + 2 * H],
      ['ow1', '已分派', D + 3 * H],
    ]);
    expect(rows[1]!.rule_name).toBe('转移登记过频');
    expect(rows[1]!.severity).toBe('high');
  });

  it('dates an escalation by the latest escalation event, or by the latest event when the flag came without one; ties by id', async () => {
    await store.insert('warnings', ['ex1', 'ex2', 'ex3', 'ex4'].map((id) => collectorWarning(id, 'counter.refusal', D)));
    await store.insert('warning_events', [
      // ex1: escalated twice; the later escalation dates it.
      ev('ex1', 1, 'escalated', 'raised', D + H, 1),
      ev('ex1', 2, 'assigned', 'assigned', D + 2 * H, 1),
      ev('ex1', 3, 'escalated', 'assigned', D + 6 * H, 1),
      // ex2: flagged by an event of another type, no escalation event: its latest event dates it.
      ev('ex2', 1, 'assigned', 'assigned', D + 2 * H, 1),
      ev('ex2', 2, 'acknowledged', 'acknowledged', D + 5 * H, 1),
      // ex3 and ex4: escalated at the same moment.
      ev('ex4', 1, 'escalated', 'raised', D + 4 * H, 1),
      ev('ex3', 1, 'escalated', 'raised', D + 4 * H, 1),
    ]);
    const rows = (await overdueOpen(store, 50)).filter((r) => r.id.startsWith('ex'));
    expect(rows.map((r) => [r.id, r.escalated_at])).toEqual([
      ['ex3', D + 4 * H],
      ['ex4', D + 4 * H],
      ['ex2', D + 5 * H],
      ['ex1', D + 6 * H],
    ]);
    // The limit keeps the oldest escalations of all. (w3 of the first test, escalated earliest,
    // has events but no row in warnings: it takes its place in the limit and is not listed.)
    expect((await overdueOpen(store, 4)).map((r) => r.id)).toEqual(['ow2', 'ow1', 'ex3']);
  });

  it('ranks the month worst first: vetoed, then lowest score; no business is not ranked', async () => {
    const row = (id: string, score: number, grade: string, veto: number, transactions: number) => ({
      month: '2025-05', institution_id: id, institution_type: 't', county: '451202', transactions, score, grade, veto, veto_rules: [], rank: 0, rank_of: 0, computed_at: D,
    });
    await store.insert('evaluation_scores', [
      row('GOOD', 98, 'A', 0, 300),
      row('POOR', 55, 'D', 0, 200),
      row('VETO', 92, 'D', 1, 150),
      row('IDLE', 100, 'A', 0, 0),
      row('MID', 80, 'B', 0, 90),
    ]);
    const all = await monthScores(store, '2025-05');
    expect(all).toHaveLength(5);
    const r = worstFirst(all, 10);
    expect(r.ranked.map((x) => x.institution_id)).toEqual(['VETO', 'POOR', 'MID', 'GOOD']);
    expect(r.unranked).toBe(1);
    expect(r.total).toBe(4);
    expect(worstFirst(all, 2).ranked.map((x) => x.institution_id)).toEqual(['VETO', 'POOR']);
  });
});
