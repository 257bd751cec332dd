/**
 * Wire contracts between the hub, collectors and the dashboard. Imported by the collector and
 * the dashboard as `@jianguan/hub/protocol`; nothing here may import server code.
 *
 * Namespaces:
 *   /collect  collectors → hub: `batch.submit` with an acknowledgement callback.
 *   /wall     hub → wall screens: `wall.snapshot` on connect, then `warning.raised` and
 *             `county.stats` as they happen (batched and throttled by the broadcaster).
 */
import { z } from 'zod';
import type { Severity, RuleAction, RuleFamily } from '@jianguan/rules';

export const PROTOCOL_VERSION = 1;
export const NAMESPACE_COLLECT = '/collect';
export const NAMESPACE_WALL = '/wall';

/** Handshake auth for /collect. */
export const CollectorAuthSchema = z.object({
  collectorId: z.string().min(1).max(64),
  token: z.string().min(16).max(256),
  protocol: z.literal(PROTOCOL_VERSION).optional(),
});
export type CollectorAuth = z.infer<typeof CollectorAuthSchema>;

/**
 * A batch as sent by a collector. Records are deliberately `unknown`: the hub validates each one
 * on its own, so one malformed record goes to the dead-letter table without sinking the batch.
 * `batchId` is stable for the same records (the collector derives it from the sequence range),
 * and the hub uses it as the BullMQ job id.
 */
export const BatchSchema = z.object({
  batchId: z.string().min(1).max(128),
  collectorId: z.string().min(1).max(64),
  /** First and last collector sequence numbers in the batch. */
  firstSeq: z.number().int().nonnegative(),
  lastSeq: z.number().int().nonnegative(),
  sentAt: z.number().int(),
  records: z.array(z.unknown()).min(1).max(5000),
});
export type Batch = z.infer<typeof BatchSchema>;

export interface RejectedRecord {
  index: number;
  /** The record's id when it had a readable one. */
  id?: string;
  /** Error code and a human-readable reason (which field, what was wrong). */
  code: string;
  reason: string;
}

/**
 * The hub's answer. `ok: true` means every record is durable: valid ones stored in ClickHouse,
 * invalid ones stored in the dead-letter table. Only then may the collector delete the batch.
 * `ok: false` means nothing may be deleted; `retryable` says whether re-sending can help.
 */
export type BatchAck =
  | { ok: true; batchId: string; stored: number; rejected: RejectedRecord[]; warnings: number }
  | { ok: false; batchId: string; code: string; message: string; retryable: boolean };

export interface CollectClientToServer {
  'batch.submit': (batch: Batch, ack: (res: BatchAck) => void) => void;
}
export interface CollectServerToClient {
  'hub.hello': (info: { hubVersion: string; protocol: number; collectorId: string; institutionId: string }) => void;
}

/** A warning as shown on the wall: identities already masked, names already resolved. */
export interface WallWarning {
  id: string;
  ruleId: string;
  ruleName: string;
  family: RuleFamily;
  severity: Severity;
  action: RuleAction;
  transactionId: string;
  batchId: string;
  institutionId: string;
  institutionName: string;
  county: string;
  countyName: string;
  occurredAt: number;
  capturedAt: number;
  raisedAt: number;
  explanation: string;
  subjectMasked: string;
}

export interface CountyStat {
  adcode: string;
  name: string;
  transactions: number;
  warnings: number;
}

export interface WallKpis {
  /** Local date 'YYYY-MM-DD' the counts refer to (Asia/Shanghai). */
  day: string;
  transactions: number;
  warnings: number;
  holds: number;
  deadLetters: number;
  collectorsConnected: number;
}

export interface WallInstitution {
  id: string;
  name: string;
  type: string;
  typeName: string;
  county: string;
  lon: number;
  lat: number;
}

export interface WallStats {
  kpis: WallKpis;
  counties: CountyStat[];
  /** Per-institution warnings today, for point sizes. */
  institutions: { id: string; transactions: number; warnings: number }[];
}

export interface WallSnapshot extends WallStats {
  serverTime: number;
  institutionsList: WallInstitution[];
  recentWarnings: WallWarning[];
}

export interface WallServerToClient {
  'wall.snapshot': (snapshot: WallSnapshot) => void;
  /** Newest last; batched by the broadcaster (at most a few emits per second). */
  'warning.raised': (warnings: WallWarning[]) => void;
  'county.stats': (stats: WallStats) => void;
}
export interface WallClientToServer {
  'wall.resync': (ack: (snapshot: WallSnapshot) => void) => void;
}
