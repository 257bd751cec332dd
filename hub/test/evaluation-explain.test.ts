/**
 * One explanation of a score: a deduction's severity points, what they take off the score, the
 * monthly report's figure, the grade bands and the no-business month all come from scoring.ts.
 */
import { describe, expect, it } from 'vitest';
import { renderReport } from '../src/evaluation/report.js';
import { DEFAULT_EVALUATION, explainMonth, isGraded, ledgerEffect, rankWithinType, ruleNameOf, scoreMonth } from '../src/evaluation/scoring.js';
import type { LedgerRow, ScoreRow } from '../src/evaluation/service.js';

const cfg = DEFAULT_EVALUATION;

function scoreRow(over: Partial<ScoreRow>): ScoreRow {
  return {
    month: '2026-03', institution_id: 'I1', institution_type: 'inspection_station', county: '451202', transactions: 930, warnings: 4, confirmed: 1,
    false_alarms: 0, escalated: 0, deduct_compliance: 1.29, deduct_quality: 0, deduct_integrity: 0, deduct_responsiveness: 0, score: 98.71, grade: 'A',
    veto: false, veto_rules: [], rank: 1, rank_of: 3, computed_at: 0, ...over,
  };
}

describe('score explanation', () => {
  it('turns severity points into the score effect the screen, the export and the report share', () => {
    // A high-severity deduction is 3 points; with 930 transactions it costs 4 × 3 × 100 / 930.
    expect(ledgerEffect(cfg, 'inspection_station', 930, 3)).toBe(1.29);
    // Below the minimum volume the minimum is the base.
    expect(ledgerEffect(cfg, 'inspection_station', 12, 3)).toBe(12);
    const e = explainMonth(cfg, { institutionId: 'I1', type: 'inspection_station', transactions: 930, warnings: 4, escalated: 0, points: { compliance: 3 }, vetoRules: [] });
    expect(e).toMatchObject({ base: 930, factor: 4, perPoint: 0.43, totalDeducted: 1.29, score: 98.71, graded: true, grade: 'A' });
    expect(e.categories.find((c) => c.category === 'compliance')).toMatchObject({ points: 3, deducted: 1.29, weight: 40, capped: false });
    expect(scoreMonth(cfg, { institutionId: 'I1', type: 'inspection_station', transactions: 930, warnings: 4, escalated: 0, points: { compliance: 3 }, vetoRules: [] }).score).toBe(e.score);
  });

  it('marks the cap when a category would exceed its weight', () => {
    const e = explainMonth(cfg, { institutionId: 'I1', type: 'dealer', transactions: 10, warnings: 20, escalated: 0, points: { integrity: 30 }, vetoRules: [] });
    expect(e.categories.find((c) => c.category === 'integrity')).toMatchObject({ uncapped: 120, deducted: 20, capped: true });
  });

  it('does not grade or rank a month without business', () => {
    const e = explainMonth(cfg, { institutionId: 'I1', type: 'dealer', transactions: 0, warnings: 0, escalated: 0, points: {}, vetoRules: [] });
    expect(e).toMatchObject({ graded: false, grade: null });
    expect(isGraded({ transactions: 0 })).toBe(false);
    const ranks = rankWithinType([{ institutionId: 'a', type: 'dealer', score: 90 }]);
    expect(ranks.get('a')).toEqual({ rank: 1, of: 1 });
  });

  it('names veto rules and prints the same figures in the monthly report', () => {
    expect(ruleNameOf('inspection.identical_measurements')).not.toBe('inspection.identical_measurements');
    const ledger: LedgerRow[] = [
      { id: 'l1', month: '2026-03', institution_id: 'I1', warning_id: 'w1', rule_id: 'inspection.identical_measurements', severity: 'high', category: 'integrity', points: 3, kind: 'deduct', reverses: '', at: 0, reason: '核查属实，扣分', rule_name: '检测数据雷同', explanation: '', occurred_at: 0, state: 'closed', conclusion: 'confirmed' },
    ];
    const score = scoreRow({ veto: true, grade: 'D', veto_rules: ['inspection.identical_measurements'], deduct_compliance: 0, deduct_integrity: 1.29 });
    const html = renderReport({
      institution: { id: 'I1', name: '某检测站', type: 'inspection_station', county: '451202', lon: 108, lat: 24.7, status: 'active' },
      month: '2026-03', score, trend: [score, scoreRow({ month: '2026-02', transactions: 0, warnings: 0, score: 100 })], ledger, config: cfg, generatedAt: Date.now(),
    });
    expect(html).toContain('−1.29');
    expect(html).not.toContain('−3.00');
    expect(html).toContain(ruleNameOf('inspection.identical_measurements'));
    expect(html).not.toContain('（inspection.identical_measurements）');
    expect(html).toContain('无业务');
    expect(html).toContain(`B ≥ ${cfg.grades.B}`);
  });
});
