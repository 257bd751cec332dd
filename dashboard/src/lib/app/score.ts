/**
 * One way to read an evaluation score on every screen: the grade bands and labels come from the
 * hub's configuration (GET /api/v1/evaluation/config), a month without business reads 无业务
 * and is not graded, a veto reads as the rule's name, and a deduction is "severity points →
 * what they take off the score" (the hub's ledgerEffect, shipped with each ledger row).
 */
import type { EvaluationConfigView } from '@jianguan/protocol/office';
import { api } from './api';
import { L } from './lang';

/** GET /api/v1/evaluation/config (EvaluationConfigViewSchema in @jianguan/protocol/office). */
export type { EvaluationConfigView };

let cached: Promise<EvaluationConfigView> | null = null;
export function evaluationConfig(): Promise<EvaluationConfigView> {
  cached ??= api<EvaluationConfigView>('/api/v1/evaluation/config').catch((e) => {
    cached = null;
    throw e;
  });
  return cached;
}

/** Bands for a chart, highest first, from the configured thresholds. */
export function bandsOf(cfg: Pick<EvaluationConfigView, 'grades'> | null): { grade: 'A' | 'B' | 'C' | 'D'; min: number }[] {
  const g = cfg?.grades ?? { A: 90, B: 75, C: 60 };
  return [
    { grade: 'A', min: g.A },
    { grade: 'B', min: g.B },
    { grade: 'C', min: g.C },
    { grade: 'D', min: 0 },
  ];
}

const GRADE_EN: Record<string, string> = { A: 'Excellent', B: 'Good', C: 'Warning', D: 'Failed' };

export interface GradedRow {
  grade: 'A' | 'B' | 'C' | 'D';
  gradeLabel: string;
  graded?: boolean;
  /** Read only when `graded` is absent (older hubs did not say). */
  transactions?: number;
  veto: boolean;
}

/** Was the month graded (it had business)? Older hubs did not say: no transactions = not graded. */
export const isGraded = (r: Pick<GradedRow, 'graded' | 'transactions'>) => r.graded ?? (r.transactions ?? 0) > 0;

/** "A 优秀" / "无业务" in the current language. */
export function gradeText(r: GradedRow): string {
  if (!isGraded(r)) return L('无业务', 'No business');
  return `${r.grade} ${L(r.gradeLabel, GRADE_EN[r.grade] ?? '')}`;
}

/** A score for a table cell: '—' when not graded. */
export function scoreText(r: GradedRow & { score: number }): string {
  return isGraded(r) ? r.score.toFixed(2) : '—';
}

/** Score effect of a ledger row, signed: "−1.29" for a deduction, "+1.29" for a reversal. */
export function effectText(scorePoints: number): string {
  if (!Number.isFinite(scorePoints) || scorePoints === 0) return '0';
  return `${scorePoints > 0 ? '−' : '+'}${Math.abs(scorePoints).toFixed(2)}`;
}

export const CATEGORY_EN: Record<string, string> = { compliance: 'Compliance', quality: 'Quality', integrity: 'Integrity', responsiveness: 'Responsiveness' };
