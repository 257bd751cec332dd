/** The wall's extra statistics (hub/src/live/wall.ts) against embedded ClickHouse. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/store/migrate.js';
import { collectorHealth, monthScoreRanking, pipelineLagP95, wallWorkflowStats } from '../src/store/repo.js';
import { openStore, type Store } from '../src/store/store.js';
import { tmpDir } from './helpers.js';

let store: Store;
const NOW = Date.parse('2025-03-04T04:00:00Z'); // 12:00 Asia/Shanghai
const FROM = Date.parse('2025-03-03T16:00:00Z');
const TO = FROM + 86_400_000;

function ev(warningId: string, seq: number, type: string, toState: string, at: number, escalated = 0) {
  return {
    id: `${warningId}#${seq}`, warning_id: warningId, seq, type, from_state: '', to_state: toState, actor: 'a', role: 'auditor',
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
});
