/**
 * The warning views of the REST API, declared once: the hub maps its rows to them and declares
 * them as route responses (OpenAPI, and checked under test), the dashboard reads their types.
 */
import { z } from 'zod';
import { Severity } from '@jianguan/rules';
import { CONCLUSIONS, WARNING_STATES } from './workflow.js';

/** One warning in a list or detail answer, with names and labels beside the codes. */
export const WarningItemSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  ruleVersion: z.string(),
  family: z.string(),
  severity: Severity,
  severityLabel: z.string(),
  action: z.string(),
  transactionId: z.string(),
  lsh: z.string().describe('业务流水号'),
  batchId: z.string(),
  collectorId: z.string(),
  institutionId: z.string(),
  institutionName: z.string(),
  county: z.string(),
  countyName: z.string(),
  occurredAt: z.number(),
  capturedAt: z.number(),
  raisedAt: z.number(),
  explanation: z.string(),
  values: z.record(z.string(), z.unknown()).describe('规则记录的数值（阈值、实测值、关联编号）'),
  subjectMasked: z.string(),
  state: z.enum(WARNING_STATES),
  stateLabel: z.string(),
  seq: z.number().int(),
  assignee: z.string(),
  conclusion: z.union([z.enum(CONCLUSIONS), z.literal('')]),
  conclusionLabel: z.string(),
  escalated: z.boolean(),
  updatedAt: z.number(),
});
export type WarningItem = z.infer<typeof WarningItemSchema>;

/** List items also carry the deadline running now (acknowledge, then verify); null when closed. */
export const WarningDueSchema = z.object({ kind: z.enum(['acknowledge', 'verify']), dueAt: z.number() }).nullable();
export const WarningListItemSchema = WarningItemSchema.extend({ due: WarningDueSchema.describe('当前时限（签收或核查）；已办结为 null') });
export type WarningListItem = z.infer<typeof WarningListItemSchema>;

/** The transaction behind a warning (field names as in the rules' TransactionSchema). */
export const TransactionViewSchema = z.object({
  id: z.string(),
  batchId: z.string(),
  collectorId: z.string(),
  seq: z.number(),
  source: z.string(),
  channel: z.string(),
  institutionId: z.string(),
  institutionName: z.string(),
  county: z.string(),
  counter: z.string(),
  staffId: z.string(),
  deviceId: z.string(),
  ip: z.string(),
  lsh: z.string(),
  subLsh: z.string(),
  kind: z.string(),
  ywlx: z.string(),
  ywyy: z.string(),
  subjectMasked: z.string(),
  agentMasked: z.string(),
  hpzl: z.string(),
  hphm: z.string(),
  vin: z.string(),
  zjcx: z.string(),
  occurredAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
  capturedAt: z.number(),
  outcome: z.string(),
  measurements: z.record(z.string(), z.number()),
  evidence: z.array(z.string()),
  ruleSet: z.string(),
});
export type TransactionView = z.infer<typeof TransactionViewSchema>;
