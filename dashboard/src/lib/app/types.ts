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

/** Evaluation rows as the hub answers them: schemas in @jianguan/protocol/office. */
export type { ScoreItem as ScoreRow, LedgerItem as LedgerRow, RuleQualityItem as RuleQualityRow } from '@jianguan/protocol/office';
