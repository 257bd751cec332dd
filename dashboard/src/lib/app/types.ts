/** Shapes of the hub's JSON answers the office screens read (hub/src/api/*.ts). */
import type { WarningItem as ProtocolWarningItem, TransactionView, WarningListItem } from '@jianguan/protocol/warnings';
import type { Conclusion, EventType, Severity, WarningStateName } from './workflow';

export interface Institution {
  id: string;
  name: string;
  type: string;
  county: string;
  [k: string]: unknown;
}

/**
 * A warning as the hub answers it (WarningItemSchema in @jianguan/protocol); list answers also
 * carry the deadline running now.
 */
export type WarningItem = ProtocolWarningItem & { due?: WarningListItem['due'] };

/** The transaction behind a warning: its schema is in @jianguan/protocol (TransactionViewSchema). */
export type { TransactionView } from '@jianguan/protocol/warnings';

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
