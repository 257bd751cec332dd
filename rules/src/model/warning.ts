import { z } from 'zod';
import { EpochMs } from './transaction.js';

export const Severity = z.enum(['low', 'medium', 'high']);
export type Severity = z.infer<typeof Severity>;
export const SEVERITY_LABELS: Readonly<Record<Severity, string>> = { low: '低', medium: '中', high: '高' };

/** warn = raise and post-check; hold = may block the transaction at the counter (实时干预). */
export const RuleAction = z.enum(['warn', 'hold']);
export type RuleAction = z.infer<typeof RuleAction>;

export const RuleFamily = z.enum([
  'counter', 'agent', 'vehicle', 'check', 'inspection', 'exam', 'points', 'medical', 'online', 'collector',
]);
export type RuleFamily = z.infer<typeof RuleFamily>;

export const RULE_FAMILY_LABELS: Readonly<Record<RuleFamily, string>> = {
  counter: '窗口办理', agent: '申请人与代办', vehicle: '机动车登记', check: '机动车查验',
  inspection: '检验机构', exam: '驾驶人考试', points: '买分卖分', medical: '体检', online: '互联网',
  collector: '采集终端',
};

/** Observed values and thresholds that made a rule fire (numbers or short strings). */
export const HitValues = z.record(z.string(), z.union([z.number(), z.string()]));
export type HitValues = z.infer<typeof HitValues>;

export const WarningSchema = z.object({
  /** Deterministic: derived from rule id + transaction id, so a re-evaluated record never doubles. */
  id: z.string().min(1),
  ruleId: z.string(),
  ruleName: z.string(),
  ruleVersion: z.string(),
  family: RuleFamily,
  severity: Severity,
  action: RuleAction,
  transactionId: z.string(),
  batchId: z.string(),
  collectorId: z.string(),
  institutionId: z.string(),
  /** County adcode of the institution ('' when the institution is unknown). */
  county: z.string(),
  occurredAt: EpochMs,
  capturedAt: EpochMs,
  raisedAt: EpochMs,
  /** Chinese explanation naming the value and the threshold, e.g. 查验用时95秒，少于阈值180秒. */
  explanation: z.string(),
  values: HitValues,
  subjectMasked: z.string().default(''),
});
export type Warning = z.infer<typeof WarningSchema>;
