/**
 * REST response views of the office routes, shared by the hub (route response schemas, checked
 * under test) and the dashboard (types inferred from them). zod and types only.
 *
 *   evaluation (考核): monthly scores, an institution's trend and deductions with the score's
 *   explanation, the evaluation configuration, rule quality;
 *   collectors (采集终端): the filed collectors.
 *
 * Rule releases and backtests are in releases.ts; volumes by business type in volumes.ts.
 */
import { z } from 'zod';
import { InstitutionType } from '@jianguan/rules';

const Grade = z.enum(['A', 'B', 'C', 'D']);
const ScoreCategory = z.enum(['compliance', 'quality', 'integrity', 'responsiveness']);
const SeverityPoints = z.object({ high: z.number(), medium: z.number(), low: z.number() });
const GradeThresholds = z.object({ A: z.number(), B: z.number(), C: z.number() });

// ---- evaluation ------------------------------------------------------------------------------

/** One institution's month as the REST API answers it. Times are epoch ms. */
export const ScoreItemSchema = z.object({
  month: z.string(),
  institutionId: z.string(),
  institutionName: z.string(),
  institutionType: z.string(),
  typeName: z.string(),
  county: z.string(),
  countyName: z.string(),
  transactions: z.number(),
  warnings: z.number(),
  confirmed: z.number(),
  falseAlarms: z.number(),
  escalated: z.number(),
  deductCompliance: z.number(),
  deductQuality: z.number(),
  deductIntegrity: z.number(),
  deductResponsiveness: z.number(),
  score: z.number(),
  grade: Grade,
  /** False for a month without business: not graded, not ranked (shown as 无业务). */
  graded: z.boolean().describe('false：本月无业务，不评级、不排名'),
  gradeLabel: z.string(),
  veto: z.boolean(),
  vetoRules: z.array(z.string()),
  vetoRuleNames: z.array(z.string()),
  rank: z.number(),
  rankOf: z.number(),
  computedAt: z.number(),
});
export type ScoreItem = z.infer<typeof ScoreItemSchema>;

/** GET /api/v1/evaluation/scores. */
export const ScoreListSchema = z.object({ month: z.string(), total: z.number().int(), items: z.array(ScoreItemSchema) });
export type ScoreList = z.infer<typeof ScoreListSchema>;

/** One month inside a quarter's row: its score and grade as the monthly list gives them. */
export const QuarterMonthSchema = z.object({
  month: z.string(),
  score: z.number(),
  grade: Grade,
  graded: z.boolean(),
  gradeLabel: z.string(),
  veto: z.boolean(),
});
export type QuarterMonth = z.infer<typeof QuarterMonthSchema>;

/**
 * A quarter's grade: the mean of its graded months' scores, the grade of that mean (D when any
 * month was vetoed) and what the grade brings (A/B 正常, C 书面警示，加强抽查, D 暂停联网业务 1–3 个月).
 */
export const QuarterGradeSchema = z.object({
  monthsGraded: z.number().int(),
  score: z.number(),
  grade: Grade,
  /** False when no month of the quarter had business: not graded, not ranked. */
  graded: z.boolean().describe('false：本季度无业务，不评级、不排名'),
  gradeLabel: z.string(),
  veto: z.boolean(),
  /** What the grade brings (处理): 正常, 书面警示，加强抽查, 暂停联网业务 1–3 个月; '' when not graded. */
  action: z.string(),
});
export type QuarterGrade = z.infer<typeof QuarterGradeSchema>;

/** One institution's quarter (GET /api/v1/evaluation/quarters). Months not yet begun are absent from `months`. */
export const QuarterItemSchema = QuarterGradeSchema.extend({
  quarter: z.string(),
  institutionId: z.string(),
  institutionName: z.string(),
  institutionType: z.string(),
  typeName: z.string(),
  county: z.string(),
  countyName: z.string(),
  transactions: z.number(),
  warnings: z.number(),
  confirmed: z.number(),
  months: z.array(QuarterMonthSchema),
  vetoRules: z.array(z.string()),
  vetoRuleNames: z.array(z.string()),
  rank: z.number(),
  rankOf: z.number(),
  /**
   * What a C or D grade brings as filed in the register: the term of the first filing in the next
   * quarter that puts the institution under closer checks (C) or suspends it (D); null when none
   * is filed (yet), and for A, B and quarters without business.
   */
  consequenceFiled: z.object({ from: z.number(), to: z.number().nullable() }).nullable(),
});
export type QuarterItem = z.infer<typeof QuarterItemSchema>;

/** GET /api/v1/evaluation/quarters. `final`: the quarter has ended (else its grade is provisional). */
export const QuarterListSchema = z.object({
  quarter: z.string(),
  months: z.array(z.string()),
  final: z.boolean(),
  total: z.number().int(),
  items: z.array(QuarterItemSchema),
});
export type QuarterList = z.infer<typeof QuarterListSchema>;

/** GET /api/v1/evaluation/institutions/:id/trend: the months up to the one asked for. */
export const ScoreTrendSchema = z.object({
  institutionId: z.string(),
  items: z.array(ScoreItemSchema),
  /** The quarters whose every begun month lies in `items`, oldest first (graded as GET /api/v1/evaluation/quarters grades them). */
  quarters: z.array(QuarterGradeSchema.extend({ quarter: z.string(), months: z.array(z.string()), final: z.boolean() })),
});
export type ScoreTrend = z.infer<typeof ScoreTrendSchema>;

/** One ledger entry (a deduction or its reversal) as the REST API answers it. */
export const LedgerItemSchema = z.object({
  id: z.string(),
  month: z.string(),
  institutionId: z.string(),
  warningId: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  severity: z.string(),
  category: z.string(),
  categoryLabel: z.string(),
  /** Severity points. */
  points: z.number().describe('严重程度点数'),
  /** What the entry takes off the score (before the category cap). */
  scorePoints: z.number().describe('对得分的影响（扣减的分数）'),
  kind: z.enum(['deduct', 'reverse']),
  /** For a reversal, the id of the entry it reverses; '' otherwise. */
  reverses: z.string(),
  at: z.number(),
  reason: z.string(),
  explanation: z.string(),
  occurredAt: z.number(),
  state: z.string(),
  stateLabel: z.string(),
  /** '' before a conclusion. */
  conclusion: z.string(),
  conclusionLabel: z.string(),
});
export type LedgerItem = z.infer<typeof LedgerItemSchema>;

/** One category of a month's score, step by step. */
export const ScoreCategoryExplanationSchema = z.object({
  category: ScoreCategory,
  label: z.string(),
  /** Cap (weight) of the category. */
  weight: z.number(),
  /** Net severity points of confirmed warnings (responsiveness: escalated warnings). */
  points: z.number(),
  /** Deduction before the cap. */
  uncapped: z.number(),
  deducted: z.number(),
  capped: z.boolean(),
});
export type ScoreCategoryExplanation = z.infer<typeof ScoreCategoryExplanationSchema>;

/** The whole calculation of one month's score, for display (the hub's explainMonth). */
export const ScoreExplanationSchema = z.object({
  transactions: z.number(),
  /** Transactions the per-100 scaling uses: max(transactions, minVolume). */
  base: z.number(),
  minVolume: z.number(),
  factor: z.number(),
  /** Score points one severity point costs this month: factor × 100 / base. */
  perPoint: z.number(),
  severityPoints: SeverityPoints,
  warnings: z.number(),
  escalated: z.number(),
  categories: z.array(ScoreCategoryExplanationSchema),
  totalDeducted: z.number(),
  /** The stored score (the authority). */
  score: z.number(),
  graded: z.boolean(),
  /** null for a month without business. */
  grade: Grade.nullable(),
  veto: z.boolean(),
  vetoRuleNames: z.array(z.string()),
  grades: GradeThresholds,
});
export type ScoreExplanation = z.infer<typeof ScoreExplanationSchema>;

/** GET /api/v1/evaluation/institutions/:id/deductions: the month's ledger and the one explanation of its score. */
export const InstitutionDeductionsSchema = z.object({
  institutionId: z.string(),
  month: z.string(),
  /** Net severity points of the ledger. */
  net: z.number(),
  explanation: ScoreExplanationSchema.nullable().describe('得分计算说明；该月尚无得分时为 null'),
  items: z.array(LedgerItemSchema),
});
export type InstitutionDeductions = z.infer<typeof InstitutionDeductionsSchema>;

const TypeWeights = z.object({
  weights: z.object({ compliance: z.number(), quality: z.number(), integrity: z.number(), responsiveness: z.number() }),
  factor: z.number(),
  minVolume: z.number(),
});

/** GET /api/v1/evaluation/config: weights and parameters, per institution type. */
export const EvaluationConfigViewSchema = z.object({
  /** Chinese label per category. */
  categories: z.record(ScoreCategory, z.string()),
  /** Lowest score of grades A, B and C. */
  grades: GradeThresholds,
  gradeLabels: z.record(Grade, z.string()),
  noBusinessLabel: z.string(),
  /** Rule id → Chinese name, for the veto rules. */
  vetoRuleNames: z.record(z.string(), z.string()),
  severityPoints: SeverityPoints,
  vetoRules: z.array(z.string()),
  byType: z.record(InstitutionType, TypeWeights),
});
export type EvaluationConfigView = z.infer<typeof EvaluationConfigViewSchema>;

/**
 * POST/GET /api/v1/evaluation/refresh: the administrator's recompute (a full check of the
 * deduction ledger, then the scores of the months concerned), run in the background with its
 * progress; one at a time across the hubs sharing a Redis. Times are epoch ms.
 */
export const EvaluationRefreshJobSchema = z.object({
  id: z.string(),
  state: z.enum(['running', 'done', 'failed']).describe('running 进行中 / done 已完成 / failed 失败'),
  stateLabel: z.string(),
  phase: z.enum(['queued', 'ledger', 'scores', 'done']).describe('queued 等待其他核对结束 / ledger 核对扣分台账 / scores 重算得分 / done'),
  phaseLabel: z.string(),
  /** The month asked for; absent: the current and previous month. */
  month: z.string().optional(),
  requestedBy: z.string(),
  startedAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().optional(),
  /** Rounds of the ledger check done (each reads up to 50,000 warnings). */
  ledgerRounds: z.number().int(),
  deducted: z.number().int(),
  reversed: z.number().int(),
  /** Months whose scores are (to be) recomputed, and how many are done. */
  months: z.array(z.string()),
  monthsDone: z.number().int(),
  /** Institutions scored in the month asked for (when one was). */
  institutions: z.number().int().optional(),
  error: z.string().optional(),
});
export type EvaluationRefreshJob = z.infer<typeof EvaluationRefreshJobSchema>;

/** One rule's month of 规则质量. */
export const RuleQualityItemSchema = z.object({
  month: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  family: z.string(),
  hits: z.number(),
  confirmed: z.number(),
  falseAlarms: z.number(),
  pending: z.number(),
  /** confirmed / (confirmed + false alarms); null before any conclusion. */
  precision: z.number().nullable(),
  /**
   * A sampling rule (加强抽查's random draw): its normal findings are the expected outcome, not
   * false alarms, and `precision` reads as the share of drawn business found abnormal.
   */
  sampling: z.boolean(),
});
export type RuleQualityItem = z.infer<typeof RuleQualityItemSchema>;

/** GET /api/v1/rules/quality. */
export const RuleQualityListSchema = z.object({ from: z.string(), to: z.string(), items: z.array(RuleQualityItemSchema) });
export type RuleQualityList = z.infer<typeof RuleQualityListSchema>;

// ---- collectors ------------------------------------------------------------------------------

/** One collector (GET /api/v1/collectors, and the answer of enrol, approve and revoke). Times are epoch ms. */
export const CollectorInfoSchema = z.object({
  collectorId: z.string(),
  institutionId: z.string(),
  institutionName: z.string(),
  counter: z.string(),
  /** static: from JG_COLLECTORS_FILE / config; enrolled: asked to enrol with its key. */
  origin: z.enum(['static', 'enrolled']),
  status: z.enum(['pending', 'approved', 'revoked']),
  /** First 16 hex digits of sha256(SPKI DER); '' when no key is registered. */
  keyFingerprint: z.string(),
  enrolledAt: z.number().nullable(),
  approvedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  revokeReason: z.string(),
  lastSeenAt: z.number().nullable(),
  lastBatchSeq: z.number().int().nullable(),
  connected: z.boolean(),
  /** Batches held while pending and not yet evaluated. */
  heldBatches: z.number().int(),
  /** Institutions it may report business for besides its own. */
  reportsFor: z.array(z.string()),
});
/** The same shape as the CollectorInfo interface, inferred from its schema. */
export type CollectorView = z.infer<typeof CollectorInfoSchema>;

/** GET /api/v1/collectors. */
export const CollectorListSchema = z.object({ items: z.array(CollectorInfoSchema) });
export type CollectorList = z.infer<typeof CollectorListSchema>;
