/** Shapes of the hub's JSON answers the office screens read (hub/src/api/*.ts). */
import type { InstitutionItem } from '@jianguan/protocol/system';
import type { WarningItem as ProtocolWarningItem, WarningListItem } from '@jianguan/protocol/warnings';

/** An institution as GET /api/v1/institutions answers it (InstitutionListSchema in @jianguan/protocol). */
export type Institution = InstitutionItem;

/**
 * A warning as the hub answers it (WarningItemSchema in @jianguan/protocol); list answers also
 * carry the deadline running now.
 */
export type WarningItem = ProtocolWarningItem & { due?: WarningListItem['due'] };

/** The transaction behind a warning: its schema is in @jianguan/protocol (TransactionViewSchema). */
export type { TransactionView } from '@jianguan/protocol/warnings';

/**
 * One event of a warning's timeline, and the warning detail (GET /api/v1/warnings/:id): schemas in
 * @jianguan/protocol (WorkflowEventSchema, WarningDetailSchema).
 */
export type { WarningDetail, WorkflowEvent } from '@jianguan/protocol/system';

/** Evaluation rows as the hub answers them: schemas in @jianguan/protocol/office. */
export type { ScoreItem as ScoreRow, LedgerItem as LedgerRow, RuleQualityItem as RuleQualityRow, EvaluationRefreshJob, QuarterItem, QuarterList, ScoreTrend } from '@jianguan/protocol/office';
