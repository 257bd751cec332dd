/** Shapes of the hub's JSON answers the office screens read (hub/src/api/*.ts). */
import type { Conclusion, EventType, Severity, WarningStateName } from './workflow';

export interface Institution {
  id: string;
  name: string;
  type: string;
  county: string;
  [k: string]: unknown;
}

export interface WarningItem {
  id: string;
  ruleId: string;
  ruleName: string;
  ruleVersion: string;
  family: string;
  severity: Severity;
  severityLabel: string;
  action: string;
  transactionId: string;
  /** 业务流水号 of the transaction ('' when unknown). */
  lsh: string;
  institutionId: string;
  institutionName: string;
  county: string;
  countyName: string;
  occurredAt: number;
  raisedAt: number;
  explanation: string;
  /** What the rule recorded (thresholds, measured values, related ids). */
  values: Record<string, unknown>;
  subjectMasked: string;
  state: WarningStateName;
  stateLabel: string;
  seq: number;
  assignee: string;
  conclusion: Conclusion | '';
  conclusionLabel: string;
  escalated: boolean;
  updatedAt: number;
  /** List responses only: the deadline running now (acknowledge, then verify); null when closed. */
  due?: { kind: 'acknowledge' | 'verify'; dueAt: number } | null;
}

/** The transaction behind a warning (field names as in the rules' TransactionSchema). */
export interface TransactionView {
  id: string;
  batchId: string;
  collectorId: string;
  seq: number;
  source: string;
  channel: string;
  institutionId: string;
  institutionName: string;
  county: string;
  counter: string;
  staffId: string;
  deviceId: string;
  ip: string;
  lsh: string;
  subLsh: string;
  kind: string;
  ywlx: string;
  ywyy: string;
  subjectMasked: string;
  agentMasked: string;
  hpzl: string;
  hphm: string;
  vin: string;
  zjcx: string;
  occurredAt: number;
  startedAt: number | null;
  endedAt: number | null;
  completedAt: number | null;
  capturedAt: number;
  outcome: string;
  measurements: Record<string, number>;
  evidence: string[];
  ruleSet: string;
}

export interface WorkflowEvent {
  warningId: string;
  seq: number;
  type: EventType;
  label: string;
  actor: string;
  role: string;
  at: number;
  payload: {
    assignee?: string;
    conclusion?: Conclusion;
    disposal?: string[];
    comment?: string;
    evidence?: { sha256: string; name: string; mime: string; size: number };
    overdue?: { kind: string; dueAt: number };
  };
}

export interface WarningDetail {
  warning: WarningItem;
  transaction: TransactionView | null;
  state: {
    seq: number;
    state: WarningStateName;
    label: string;
    assignee: string | null;
    conclusion: Conclusion | null;
    conclusionLabel: string | null;
    disposal: string[];
    escalated: boolean;
  };
  events: WorkflowEvent[];
  evidence: { sha256: string; warningId: string; name: string; mime: string; size: number; uploadedBy: string; at: number }[];
  deadlines: { acknowledgeBy: number | null; verifyBy: number; missed: { kind: string; dueAt: number } | null };
  allowedActions: string[];
}

export interface ScoreRow {
  month: string;
  institutionId: string;
  institutionName: string;
  institutionType: string;
  typeName: string;
  county: string;
  countyName: string;
  transactions: number;
  warnings: number;
  confirmed: number;
  falseAlarms: number;
  escalated: number;
  deductCompliance: number;
  deductQuality: number;
  deductIntegrity: number;
  deductResponsiveness: number;
  score: number;
  grade: 'A' | 'B' | 'C' | 'D';
  /** False for a month without business: not graded, not ranked (shown as 无业务). */
  graded: boolean;
  gradeLabel: string;
  veto: boolean;
  vetoRules: string[];
  vetoRuleNames: string[];
  rank: number;
  rankOf: number;
  computedAt: number;
}

export interface LedgerRow {
  id: string;
  month: string;
  institutionId: string;
  warningId: string;
  ruleId: string;
  ruleName: string;
  severity: string;
  category: string;
  categoryLabel: string;
  /** Severity points. */
  points: number;
  /** What the entry takes off the score. */
  scorePoints: number;
  kind: 'deduct' | 'reverse';
  reverses: string;
  at: number;
  reason: string;
  explanation: string;
  occurredAt: number;
  state: string;
  stateLabel: string;
  conclusion: string;
  conclusionLabel: string;
}

export interface RuleQualityRow {
  month: string;
  ruleId: string;
  ruleName: string;
  family: string;
  hits: number;
  confirmed: number;
  falseAlarms: number;
  pending: number;
  precision: number | null;
}
