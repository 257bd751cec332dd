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
  rule_id: string;
  rule_name: string;
  rule_version: string;
  family: string;
  severity: Severity;
  action: string;
  transaction_id: string;
  institution_id: string;
  institution_name: string;
  county: string;
  county_name: string;
  occurred_at: number;
  raised_at: number;
  explanation: string;
  values_json: string;
  subject_masked: string;
  state: WarningStateName;
  state_label: string;
  seq: number;
  assignee: string;
  conclusion: Conclusion | '';
  conclusion_label: string;
  escalated: boolean;
  updated_at: number;
  /** List responses only: the deadline running now (acknowledge, then verify); null when closed. */
  due?: { kind: 'acknowledge' | 'verify'; dueAt: number } | null;
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
  transaction: Record<string, unknown> | null;
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
  evidence: { sha256: string; name: string; mime: string; size: number; at?: number; actor?: string }[];
  deadlines: { acknowledgeBy: number | null; verifyBy: number; missed: { kind: string; dueAt: number } | null };
  allowedActions: string[];
}

export interface ScoreRow {
  month: string;
  institution_id: string;
  institution_name: string;
  institution_type: string;
  type_name: string;
  county: string;
  county_name: string;
  transactions: number;
  warnings: number;
  confirmed: number;
  false_alarms: number;
  escalated: number;
  deduct_compliance: number;
  deduct_quality: number;
  deduct_integrity: number;
  deduct_responsiveness: number;
  score: number;
  grade: 'A' | 'B' | 'C' | 'D';
  grade_label: string;
  veto: boolean;
  veto_rules: string[];
  /** Rule names of veto_rules (hub ≥ this version). */
  veto_rule_names?: string[];
  /** False for a month without business: not graded, not ranked (shown as 无业务). */
  graded?: boolean;
  rank: number;
  rank_of: number;
}

export interface LedgerRow {
  id: string;
  month: string;
  warning_id: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  category: string;
  category_label: string;
  points: number;
  kind: 'deduct' | 'reverse';
  at: number;
  reason: string;
  explanation: string;
  occurred_at: number;
  state: string;
  state_label: string;
  conclusion: string;
  conclusion_label: string;
}
