/**
 * The monthly institution score (domain.md §8), as pure functions.
 *
 * Start at 100 and deduct per category, each capped at its weight (configurable per
 * institution type):
 *
 *   compliance (合规, 40), quality (质量, 25), integrity (诚信, 20):
 *     deduction_c = min(W_c, factor × P_c × 100 / max(V, minVolume))
 *     P_c = Σ severity points of the institution's CONFIRMED warnings of category c in the month
 *           (high 3, medium 2, low 1 — the net of the deduction ledger, so a warning later found
 *           to be a false alarm no longer counts), V = transactions in the month;
 *     i.e. severity-weighted confirmed warnings per 100 transactions, times `factor`.
 *   responsiveness (响应, 15):
 *     deduction_r = W_r × escalated / warnings  (share of the month's warnings that went overdue,
 *     超期督办; 0 when there were none).
 *
 *   score = round2(100 − Σ deductions); grade A ≥ 90, B ≥ 75, C ≥ 60, else D; any confirmed
 *   warning of a veto rule (forged data, impersonation, operating unfiled) forces D.
 *   Ranking: within the institution type, by score descending (ties share a rank).
 *
 * Categories come from the rule id (patterns below); everything else is compliance.
 */
import {
  AGENT_RULES,
  CHECK_RULES,
  COUNTER_RULES,
  EXAM_RULES,
  INSPECTION_RULES,
  InstitutionType as InstitutionTypeSchema,
  isSamplingRule,
  MEDICAL_RULES,
  ONLINE_RULES,
  POINTS_RULES,
  VEHICLE_RULES,
  type InstitutionType,
  type RuleDefinition,
  type RuleDefinitionInput,
} from '@jianguan/rules';
import { z } from 'zod';
import { monthBounds, monthOf } from '../time/business-time.js';

export const CATEGORIES = ['compliance', 'quality', 'integrity', 'responsiveness'] as const;
export type Category = (typeof CATEGORIES)[number];
export const CATEGORY_LABELS: Readonly<Record<Category, string>> = { compliance: '合规', quality: '质量', integrity: '诚信', responsiveness: '响应' };

export type Grade = 'A' | 'B' | 'C' | 'D';
export const GRADE_LABELS: Readonly<Record<Grade, string>> = { A: '优秀', B: '良好', C: '警示', D: '不合格' };

export interface TypeWeights {
  weights: Record<Category, number>;
  factor: number;
  minVolume: number;
}

export interface EvaluationConfig extends TypeWeights {
  severityPoints: Record<'high' | 'medium' | 'low', number>;
  grades: { A: number; B: number; C: number };
  vetoRules: readonly string[];
  qualityRules: RegExp;
  integrityRules: RegExp;
  /** Overrides per institution type (one benchmark per type). */
  byType: Partial<Record<InstitutionType, Partial<TypeWeights>>>;
}

export const DEFAULT_EVALUATION: EvaluationConfig = {
  weights: { compliance: 40, quality: 25, integrity: 20, responsiveness: 15 },
  factor: 4,
  minVolume: 100,
  severityPoints: { high: 3, medium: 2, low: 1 },
  grades: { A: 90, B: 75, C: 60 },
  vetoRules: [
    'inspection.identical_measurements',
    'check.photo_reuse',
    'inspection.photo_reuse',
    'exam.identity_mismatch',
    'check.inspector_unfiled',
    'exam.examiner_unfiled',
    'medical.doctor_unfiled',
    'inspection.station_suspended',
    'counter.institution_suspended',
  ],
  qualityRules: /refusal|no_show|repeated|rejection|long_wait|long_handling/,
  integrityRules: /short|below|identical|photo|identity|pass_rate|manual_scoring/,
  byType: {},
};

export function weightsFor(cfg: EvaluationConfig, type: string): TypeWeights {
  const o = cfg.byType[type as InstitutionType] ?? {};
  return { weights: { ...cfg.weights, ...(o.weights ?? {}) }, factor: o.factor ?? cfg.factor, minVolume: o.minVolume ?? cfg.minVolume };
}

export function categoryOf(cfg: EvaluationConfig, ruleId: string): Exclude<Category, 'responsiveness'> {
  if (cfg.qualityRules.test(ruleId)) return 'quality';
  if (cfg.integrityRules.test(ruleId)) return 'integrity';
  return 'compliance';
}

export function severityPoints(cfg: EvaluationConfig, severity: string): number {
  return cfg.severityPoints[severity as 'high' | 'medium' | 'low'] ?? cfg.severityPoints.low;
}

export interface MonthInput {
  institutionId: string;
  type: string;
  transactions: number;
  warnings: number;
  escalated: number;
  /** Net ledger points per category (confirmed warnings). */
  points: Partial<Record<Exclude<Category, 'responsiveness'>, number>>;
  vetoRules: string[];
}

export interface MonthScore {
  deductions: Record<Category, number>;
  score: number;
  grade: Grade;
  veto: boolean;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The grade of a score on the configured bands; a veto makes it D whatever the score. */
function gradeOf(cfg: Pick<EvaluationConfig, 'grades'>, score: number, veto: boolean): Grade {
  return veto ? 'D' : score >= cfg.grades.A ? 'A' : score >= cfg.grades.B ? 'B' : score >= cfg.grades.C ? 'C' : 'D';
}

export function scoreMonth(cfg: EvaluationConfig, m: MonthInput): MonthScore {
  const w = weightsFor(cfg, m.type);
  const per100 = 100 / Math.max(m.transactions, w.minVolume);
  const d = (c: Exclude<Category, 'responsiveness'>) => round2(Math.min(w.weights[c], w.factor * (m.points[c] ?? 0) * per100));
  const deductions: Record<Category, number> = {
    compliance: d('compliance'),
    quality: d('quality'),
    integrity: d('integrity'),
    responsiveness: m.warnings > 0 ? round2(w.weights.responsiveness * (m.escalated / m.warnings)) : 0,
  };
  const score = round2(Math.max(0, 100 - CATEGORIES.reduce((s, c) => s + deductions[c], 0)));
  const veto = m.vetoRules.length > 0;
  return { deductions, score, grade: gradeOf(cfg, score, veto), veto };
}

/**
 * A month with no business is not graded: 100 − 0 would read as "A 优秀" for an institution that
 * did nothing, so screens show 无业务 and rankings leave it out.
 */
export function isGraded(m: { transactions: number }): boolean {
  return m.transactions > 0;
}
export const NO_BUSINESS_LABEL = '无业务';

/** A grade's label, or 无业务 for a month or quarter that was not graded. */
export function gradeLabelOf(graded: boolean, grade: Grade): string {
  return graded ? GRADE_LABELS[grade] : NO_BUSINESS_LABEL;
}

/** A month's grade as the printed pages write it: 'B 良好', or 无业务. */
export function gradeText(r: { transactions: number; grade: Grade }): string {
  return isGraded(r) ? `${r.grade} ${GRADE_LABELS[r.grade]}` : NO_BUSINESS_LABEL;
}

/**
 * What one ledger row takes off the score before the category cap: its severity points scaled to
 * "per 100 transactions" times the factor. This is the single formula behind every figure shown
 * for a deduction (institution screen, monthly report, exports), so "分值 3" and "扣 1.29" are
 * never two unexplained numbers.
 */
export function ledgerEffect(cfg: EvaluationConfig, type: string, transactions: number, points: number): number {
  const w = weightsFor(cfg, type);
  return round2((w.factor * points * 100) / Math.max(transactions, w.minVolume));
}

export interface CategoryExplanation {
  category: Category;
  label: string;
  /** Cap (weight) of the category. */
  weight: number;
  /** Net severity points of confirmed warnings (responsiveness: escalated warnings). */
  points: number;
  /** Deduction before the cap. */
  uncapped: number;
  deducted: number;
  capped: boolean;
}

/** The whole calculation of one month's score, step by step, for display. */
export interface ScoreExplanation {
  transactions: number;
  /** Transactions the per-100 scaling uses: max(transactions, minVolume). */
  base: number;
  minVolume: number;
  factor: number;
  /** Score points one severity point costs this month: factor × 100 / base. */
  perPoint: number;
  severityPoints: EvaluationConfig['severityPoints'];
  warnings: number;
  escalated: number;
  categories: CategoryExplanation[];
  totalDeducted: number;
  score: number;
  graded: boolean;
  grade: Grade | null;
  veto: boolean;
  grades: EvaluationConfig['grades'];
}

export function explainMonth(cfg: EvaluationConfig, m: MonthInput): ScoreExplanation {
  const w = weightsFor(cfg, m.type);
  const base = Math.max(m.transactions, w.minVolume);
  const s = scoreMonth(cfg, m);
  const categories: CategoryExplanation[] = CATEGORIES.map((c) => {
    const points = c === 'responsiveness' ? m.escalated : (m.points[c] ?? 0);
    const uncapped = c === 'responsiveness' ? (m.warnings > 0 ? round2(w.weights.responsiveness * (m.escalated / m.warnings)) : 0) : round2((w.factor * points * 100) / base);
    return { category: c, label: CATEGORY_LABELS[c], weight: w.weights[c], points, uncapped, deducted: s.deductions[c], capped: uncapped > w.weights[c] };
  });
  const graded = isGraded(m);
  return {
    transactions: m.transactions,
    base,
    minVolume: w.minVolume,
    factor: w.factor,
    perPoint: round2((w.factor * 100) / base),
    severityPoints: cfg.severityPoints,
    warnings: m.warnings,
    escalated: m.escalated,
    categories,
    totalDeducted: round2(CATEGORIES.reduce((a, c) => a + s.deductions[c], 0)),
    score: s.score,
    graded,
    grade: graded ? s.grade : null,
    veto: s.veto,
    grades: cfg.grades,
  };
}

const BUILTIN_RULES: readonly RuleDefinitionInput[] = [AGENT_RULES, CHECK_RULES, COUNTER_RULES, EXAM_RULES, INSPECTION_RULES, MEDICAL_RULES, ONLINE_RULES, POINTS_RULES, VEHICLE_RULES].flat();
const RULE_NAMES: ReadonlyMap<string, string> = new Map(BUILTIN_RULES.map((r) => [r.id, r.name] as const));

/**
 * The sampling rules' ids: the built-in pack's (its months of history keep their meaning after a
 * rule set drops one) and those of the rule set in force (a local rule may draw its own sample).
 */
export function samplingRuleIds(inForce: readonly RuleDefinition[]): ReadonlySet<string> {
  return new Set([...BUILTIN_RULES, ...inForce].filter(isSamplingRule).map((r) => r.id));
}

/** A rule's Chinese name (the veto list is configured by id). */
export function ruleNameOf(id: string): string {
  return RULE_NAMES.get(id) ?? id;
}

/** Competition ranking (1, 2, 2, 4) by score descending within each type. */
export function rankWithinType<T extends { type: string; score: number; institutionId: string }>(rows: readonly T[]): Map<string, { rank: number; of: number }> {
  const out = new Map<string, { rank: number; of: number }>();
  const byType = new Map<string, T[]>();
  for (const r of rows) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  for (const list of byType.values()) {
    const sorted = [...list].sort((a, b) => b.score - a.score || a.institutionId.localeCompare(b.institutionId));
    sorted.forEach((r, i) => {
      const rank = i > 0 && sorted[i - 1]!.score === r.score ? out.get(sorted[i - 1]!.institutionId)!.rank : i + 1;
      out.set(r.institutionId, { rank, of: sorted.length });
    });
  }
  return out;
}

/** [from, to) epoch ms of a local month 'YYYY-MM' (business time). */
export const monthRange = monthBounds;
export { monthOf };

export function previousMonths(month: string, n: number): string[] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(d.toISOString().slice(0, 7));
  }
  return out;
}

/**
 * The quarterly grade (domain.md §8: monthly score, quarterly grade). A quarter's score is the
 * mean of its graded months' scores — a month without business is left out, as it is left out
 * of the monthly ranking — and its grade comes from the same bands; a veto in any of its months
 * makes the quarter D. The grade is what the consequences hang on: A/B normal, C a written
 * warning and closer checks, D networked business suspended for one to three months.
 */
export interface QuarterScore {
  score: number;
  grade: Grade;
  veto: boolean;
  /** Whether any month of the quarter had business (else the quarter is not graded). */
  graded: boolean;
  monthsGraded: number;
}

export const QUARTER_ACTIONS: Readonly<Record<Grade, string>> = { A: '正常', B: '正常', C: '书面警示，加强抽查', D: '暂停联网业务 1–3 个月' };

export function scoreQuarter(cfg: Pick<EvaluationConfig, 'grades'>, months: readonly { transactions: number; score: number; veto: boolean }[]): QuarterScore {
  const graded = months.filter(isGraded);
  if (!graded.length) return { score: 100, grade: 'A', veto: false, graded: false, monthsGraded: 0 };
  const score = round2(graded.reduce((s, m) => s + m.score, 0) / graded.length);
  const veto = graded.some((m) => m.veto);
  return { score, grade: gradeOf(cfg, score, veto), veto, graded: true, monthsGraded: graded.length };
}

/** A quarter's grade in words: its label (无业务 when not graded) and what it brings ('' when not graded). */
export function quarterWords(q: Pick<QuarterScore, 'grade' | 'graded'>): { gradeLabel: string; action: string } {
  return { gradeLabel: gradeLabelOf(q.graded, q.grade), action: q.graded ? QUARTER_ACTIONS[q.grade] : '' };
}

/** '2026-Q3' → 2026年第3季度. */
export function quarterLabel(quarter: string): string {
  return `${quarter.slice(0, 4)}年第${quarter.slice(6)}季度`;
}

/** The quarter after 'YYYY-Qn'. */
export function nextQuarter(quarter: string): string {
  const y = Number(quarter.slice(0, 4));
  const n = Number(quarter.slice(6));
  return n === 4 ? `${y + 1}-Q1` : `${y}-Q${n + 1}`;
}

/** The quarter before 'YYYY-Qn'. */
export function previousQuarter(quarter: string): string {
  const y = Number(quarter.slice(0, 4));
  const n = Number(quarter.slice(6));
  return n === 1 ? `${y - 1}-Q4` : `${y}-Q${n - 1}`;
}

/** 'YYYY-Qn' of a month 'YYYY-MM'. */
export function quarterOf(month: string): string {
  return `${month.slice(0, 4)}-Q${Math.floor((Number(month.slice(5, 7)) - 1) / 3) + 1}`;
}

/** The three months 'YYYY-MM' of a quarter 'YYYY-Qn'. */
export function quarterMonths(quarter: string): [string, string, string] {
  const y = quarter.slice(0, 4);
  const first = (Number(quarter.slice(6)) - 1) * 3 + 1;
  const m = (i: number) => `${y}-${String(first + i).padStart(2, '0')}`;
  return [m(0), m(1), m(2)];
}

const Weights = z.object({ compliance: z.number().min(0), quality: z.number().min(0), integrity: z.number().min(0), responsiveness: z.number().min(0) });
const TypeOverride = z.object({ weights: Weights.partial().optional(), factor: z.number().min(0).optional(), minVolume: z.number().int().min(1).optional() });

/** The shape of JG_EVALUATION_FILE: every field optional, merged over DEFAULT_EVALUATION. */
export const EvaluationOverrides = z
  .object({
    weights: Weights.partial().optional(),
    factor: z.number().min(0).optional(),
    minVolume: z.number().int().min(1).optional(),
    severityPoints: z.object({ high: z.number().min(0), medium: z.number().min(0), low: z.number().min(0) }).partial().optional(),
    grades: z.object({ A: z.number(), B: z.number(), C: z.number() }).partial().optional(),
    vetoRules: z.array(z.string()).optional(),
    qualityRules: z.string().optional(),
    integrityRules: z.string().optional(),
    byType: z.partialRecord(InstitutionTypeSchema, TypeOverride).optional(),
  })
  .strict();
export type EvaluationOverrides = z.infer<typeof EvaluationOverrides>;

export function withOverrides(base: EvaluationConfig, o: EvaluationOverrides): EvaluationConfig {
  const byType: EvaluationConfig['byType'] = { ...base.byType };
  for (const [t, v] of Object.entries(o.byType ?? {})) {
    const prev = byType[t as InstitutionType] ?? {};
    byType[t as InstitutionType] = { ...prev, ...v, weights: { ...(prev.weights ?? {}), ...(v?.weights ?? {}) } as Record<Category, number> };
  }
  return {
    ...base,
    weights: { ...base.weights, ...(o.weights ?? {}) },
    factor: o.factor ?? base.factor,
    minVolume: o.minVolume ?? base.minVolume,
    severityPoints: { ...base.severityPoints, ...(o.severityPoints ?? {}) },
    grades: { ...base.grades, ...(o.grades ?? {}) },
    vetoRules: o.vetoRules ?? base.vetoRules,
    qualityRules: o.qualityRules ? new RegExp(o.qualityRules) : base.qualityRules,
    integrityRules: o.integrityRules ? new RegExp(o.integrityRules) : base.integrityRules,
    byType,
  };
}
