/**
 * Wire contracts between the hub, collectors and the dashboard. Imported by the collector and
 * the dashboard as `@jianguan/protocol` (package hub/protocol/); nothing here may import server code.
 *
 * Namespaces:
 *   /collect  collectors → hub: `batch.submit` with an acknowledgement callback; batches are
 *             signed and chained (see "collector identity" below).
 *   /wall     hub → wall screens: `wall.snapshot` on connect, then `warning.raised` and
 *             `county.stats` as they happen (batched and throttled by the broadcaster). A
 *             screen whose viewer is scoped to a county receives only that county: its
 *             warnings, and snapshot and statistics computed for it (`WallSnapshot.scope`).
 */
import { z } from 'zod';
import { HitValues, Severity as SeveritySchema, type Severity, type RuleAction, type RuleFamily } from '@jianguan/rules';
import type { WarningStateName } from './workflow.js';

export * from './workflow.js';
export * from './volumes.js';
export * from './warnings.js';
export * from './registry.js';
export * from './system.js';
export * from './office.js';
export * from './auth.js';

export const PROTOCOL_VERSION = 1;
export const NAMESPACE_COLLECT = '/collect';
export const NAMESPACE_WALL = '/wall';

// ---- collector identity, enrolment and the batch chain ---------------------------------------
//
// Each collector holds an Ed25519 key pair (private key never leaves the counter PC). The public
// key travels as base64 of its SPKI DER encoding (44 bytes → 60 characters).
//
// Handshake proof: the collector signs AUTH_PROOF_CONTEXT bytes `canonicalAuthProof(...)` with
// its private key; the hub accepts a `ts` within AUTH_PROOF_MAX_SKEW_MS of its own clock.
//
// Batch chain (tamper evidence): every batch is *sealed* once, when first formed:
//   recordsDigest = sha256 hex of UTF-8 `JSON.stringify(records)` (the records array as sent)
//   canonical     = UTF-8 of `canonicalBatchHeader(h)` =
//                   JSON.stringify(["jg-batch-v1", collectorId, batchId, batchSeq, prevHash,
//                                   firstSeq, lastSeq, recordsDigest])
//   hash          = sha256 hex of canonical            (the next batch's prevHash)
//   signature     = base64 Ed25519 signature of canonical
// batchSeq starts at 1 and grows by one per sealed batch; the first batch's prevHash is
// GENESIS_HASH. A sealed batch is re-sent unchanged (same header, same records) until
// acknowledged, also across collector restarts (the collector persists the sealed header).

export const GENESIS_HASH = '0'.repeat(64);
export const BATCH_SIGNATURE_VERSION = 'jg-batch-v1';
export const AUTH_PROOF_CONTEXT = 'jg-collect-auth-v1';
export const AUTH_PROOF_MAX_SKEW_MS = 5 * 60_000;

/** The fields a batch signature covers. */
export interface BatchHeaderFields {
  collectorId: string;
  batchId: string;
  batchSeq: number;
  prevHash: string;
  firstSeq: number;
  lastSeq: number;
  recordsDigest: string;
}

/** The exact string whose UTF-8 bytes are hashed and signed (see the note above). */
export function canonicalBatchHeader(h: BatchHeaderFields): string {
  return JSON.stringify([BATCH_SIGNATURE_VERSION, h.collectorId, h.batchId, h.batchSeq, h.prevHash, h.firstSeq, h.lastSeq, h.recordsDigest]);
}

/** The exact string a collector signs to prove it holds the key named in its handshake. */
export function canonicalAuthProof(collectorId: string, publicKey: string, ts: number): string {
  return JSON.stringify([AUTH_PROOF_CONTEXT, collectorId, publicKey, ts]);
}

const Base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/);
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const PublicKeySchema = Base64.min(40).max(200);

/** The last batch the hub accepted from a collector (per key). */
export interface ChainTip {
  batchSeq: number;
  hash: string;
}

/** pending: enrolled, waiting for an administrator (batches are held, not evaluated). */
export type CollectorStatusName = 'pending' | 'approved' | 'revoked';

/**
 * Handshake auth for /collect. Two ways in:
 *   - static credentials (JG_COLLECTORS_FILE): `token`, plus `publicKey` + proof. The first key
 *     presented is registered (trust on first use); after that only that key is accepted.
 *   - enrolment (事前备案): no token; `publicKey` + proof + `enrol` names the institution and
 *     counter. An unknown collector id becomes `pending` until an administrator approves it.
 * A collector without a key (older clients, tests) may still connect with a static token as long
 * as no key was registered for it.
 */
/**
 * Collector ids prefix every record id and batch id the collector sends (`${collectorId}:…`);
 * ':' is therefore not allowed in them (one id could otherwise be another's prefix).
 */
export const CollectorIdSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');

export const CollectorAuthSchema = z.object({
  collectorId: CollectorIdSchema,
  token: z.string().min(16).max(256).optional(),
  protocol: z.literal(PROTOCOL_VERSION).optional(),
  publicKey: PublicKeySchema.optional(),
  /** Epoch ms the proof was made. */
  ts: z.number().int().optional(),
  /** base64 Ed25519 signature of canonicalAuthProof(collectorId, publicKey, ts). */
  proof: Base64.max(200).optional(),
  enrol: z
    .object({
      institutionId: z.string().min(1).max(64),
      counter: z.string().max(64).default(''),
    })
    .optional(),
});
export type CollectorAuth = z.infer<typeof CollectorAuthSchema>;

/** POST /api/v1/collectors/enrol — the same request as a handshake enrolment, over HTTP. */
export const CollectorEnrolSchema = z.object({
  collectorId: CollectorIdSchema,
  institutionId: z.string().min(1).max(64),
  counter: z.string().max(64).default(''),
  publicKey: PublicKeySchema,
  ts: z.number().int(),
  proof: Base64.max(200),
});
export type CollectorEnrol = z.infer<typeof CollectorEnrolSchema>;

/** One row of GET /api/v1/collectors. Times are epoch ms. */
export interface CollectorInfo {
  collectorId: string;
  institutionId: string;
  institutionName: string;
  counter: string;
  /** static: from JG_COLLECTORS_FILE / config; enrolled: asked to enrol with its key. */
  origin: 'static' | 'enrolled';
  status: CollectorStatusName;
  /** First 16 hex digits of sha256(SPKI DER); '' when no key is registered. */
  keyFingerprint: string;
  enrolledAt: number | null;
  approvedAt: number | null;
  revokedAt: number | null;
  revokeReason: string;
  lastSeenAt: number | null;
  lastBatchSeq: number | null;
  connected: boolean;
  /** Batches held while pending and not yet evaluated. */
  heldBatches: number;
  /** Institutions it may report business for besides its own. */
  reportsFor: string[];
}

/**
 * A batch as sent by a collector. Records are deliberately `unknown`: the hub validates each one
 * on its own, so one malformed record goes to the dead-letter table without sinking the batch.
 * `batchId` is stable for the same records (the collector derives it from the sequence range);
 * the hub names the batch's BullMQ job by it and by what the batch holds (its sequence range and
 * records digest), so the same batch sent again joins its job and other records never do.
 */
export const BatchSchema = z.object({
  /** `${collectorId}:…` — the hub refuses a batch id that does not start with the sender's id. */
  batchId: z.string().min(1).max(128),
  collectorId: CollectorIdSchema,
  /** First and last collector sequence numbers in the batch. */
  firstSeq: z.number().int().nonnegative(),
  lastSeq: z.number().int().nonnegative(),
  sentAt: z.number().int(),
  records: z.array(z.unknown()).min(1).max(5000), // BATCH_MAX_RECORDS
  /** Chain and signature (see canonicalBatchHeader). Required once the collector has a key. */
  batchSeq: z.number().int().positive().optional(),
  prevHash: Hex64.optional(),
  recordsDigest: Hex64.optional(),
  signature: Base64.max(200).optional(),
});
export type Batch = z.infer<typeof BatchSchema>;

/** How many records a batch may carry (BatchSchema's `records`). */
export const BATCH_MAX_RECORDS = 5000;

/**
 * A batch as it may arrive on the wire: either `records` (the array), or `recordsJson` — the UTF-8
 * bytes of `JSON.stringify(records)`, sent by socket.io as a binary attachment — whose sha256 is
 * the recordsDigest the batch is signed with. With the bytes the hub hashes what arrived instead
 * of serialising the records again, and a batch waiting behind its collector's previous one
 * stays bytes until its turn. A hub that accepts them says so in `hub.hello` (`recordsJson: true`);
 * a collector sends them only to such a hub. `materialiseBatch` turns either form into a Batch.
 */
export const WireBatchSchema = BatchSchema.omit({ records: true })
  .extend({
    records: BatchSchema.shape.records.optional(),
    recordsJson: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes (a binary attachment)').optional(),
  })
  .refine((b) => (b.records === undefined) !== (b.recordsJson === undefined), { message: 'exactly one of records and recordsJson', path: ['records'] });
export type WireBatch = z.infer<typeof WireBatchSchema>;

function decodeUtf8(b: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

/** A batch with its records as bytes (for a hub whose hello says `recordsJson: true`). */
export function withRecordsAsBytes(batch: Batch): WireBatch {
  const { records, ...envelope } = batch;
  // The same text the records digest is computed over (recordsDigest in the collector's chain).
  return { ...envelope, recordsJson: new TextEncoder().encode(JSON.stringify(records)) };
}

/**
 * The records of a wire batch and their digest (sha256 hex of the bytes when they came as bytes;
 * undefined for an array, whose digest is computed where it is needed), or why the bytes are not
 * a batch's records. `noEscapes`: the bytes held no backslash, so no string in the records
 * contains a control character or a lone surrogate.
 */
export function materialiseBatch(
  wire: WireBatch,
  sha256Hex: (b: Uint8Array) => string,
  /** The bytes as text, or undefined when they are not UTF-8 (default: a fatal TextDecoder). */
  utf8: (b: Uint8Array) => string | undefined = decodeUtf8,
  /**
   * OPTIONAL. The records read from the bytes another way (the hub: one record at a time, see
   * hub/src/ingest/records-json.ts) — exactly what JSON.parse of the whole text gives, with
   * `noEscapes` as below — or undefined to read them as one text here.
   */
  readRecords?: (b: Uint8Array) => { records: unknown[]; noEscapes: boolean } | undefined,
): { ok: true; batch: Batch; digest?: string; noEscapes?: boolean } | { ok: false; message: string } {
  const { recordsJson, records, ...envelope } = wire;
  if (recordsJson === undefined) return { ok: true, batch: { ...envelope, records: records! } };
  let parsed: unknown;
  let noEscapes = false;
  const read = readRecords?.(recordsJson);
  if (read) {
    parsed = read.records;
    noEscapes = read.noEscapes;
  } else {
    try {
      const text = utf8(recordsJson);
      if (text === undefined) return { ok: false, message: 'recordsJson: not UTF-8 JSON (invalid UTF-8)' };
      parsed = JSON.parse(text);
      // JSON text carries a control character or a lone surrogate only as an escape (`\n`, `\ud800`):
      // without a backslash no string of these records holds one.
      noEscapes = !text.includes('\\');
    } catch (e) {
      return { ok: false, message: `recordsJson: not UTF-8 JSON (${e instanceof Error ? e.message.slice(0, 200) : 'unreadable'})` };
    }
  }
  if (!Array.isArray(parsed)) return { ok: false, message: 'recordsJson: expected a JSON array of records' };
  if (parsed.length < 1 || parsed.length > BATCH_MAX_RECORDS) return { ok: false, message: `recordsJson: ${parsed.length} records (1 to ${BATCH_MAX_RECORDS} per batch)` };
  return { ok: true, batch: { ...envelope, records: parsed }, digest: sha256Hex(recordsJson), noEscapes };
}

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
  | {
      ok: true;
      batchId: string;
      stored: number;
      rejected: RejectedRecord[];
      warnings: number;
      /** The collector is pending approval: the batch is stored durably as held, not evaluated yet. */
      held?: boolean;
    }
  | {
      ok: false;
      batchId: string;
      code: string;
      message: string;
      retryable: boolean;
      /** With BATCH_CHAIN_CONFLICT: the hub's chain tip, so the collector can re-seal on top of it. */
      chain?: ChainTip | null;
    };

// ---- synchronous hold (实时干预) ---------------------------------------------------------------
//
// A collector asks "may this transaction go ahead?" before the counter completes it. The hub runs
// only the rule set's blocking (hold) rules, reads rule state without writing it (the decision is
// advisory; the real record arrives later through batch.submit), logs the decision and answers
// within milliseconds. The same request over HTTP: POST /api/v1/decisions (body: the transaction).

/** Socket event a collector emits on /collect, with an acknowledgement callback. */
export const DECISION_EVENT = 'decision.request';

/**
 * `decision.request` payload. The hub decides on `transaction` alone; the collector's own fields
 * (who sent it, when, how long it waits before its fallback) are for its logs and are ignored.
 */
export const DecisionRequestSchema = z.object({
  /** Echoed in the answer (collectors use `${collectorId}:d:${uuid}`). */
  requestId: z.string().min(1).max(200),
  /**
   * A Transaction (TransactionSchema), normalised and pseudonymised like an outbox record, with
   * id `${collectorId}:hold:${uuid}` and seq 0; validated by the hub, never stored as business
   * (the business arrives later through batch.submit).
   */
  transaction: z.unknown(),
  collectorId: z.string().optional(),
  institutionId: z.string().optional(),
  /** Epoch ms when sent. */
  sentAt: z.number().optional(),
  /** How long the collector waits before applying its fallback. */
  timeoutMs: z.number().optional(),
});
export type DecisionRequest = z.infer<typeof DecisionRequestSchema>;

/** Why a transaction is held: one blocking rule that fired. */
export const DecisionReasonSchema = z.object({
  ruleId: z.string(),
  /** Chinese rule name, e.g. 查验员未备案或备案过期. */
  ruleName: z.string(),
  severity: SeveritySchema,
  /** Chinese explanation naming the value and the threshold, for the counter clerk. */
  explanation: z.string(),
  values: HitValues,
});
export type DecisionReason = z.infer<typeof DecisionReasonSchema>;

/** A decision the hub made (the `ok: true` side of DecisionAck). */
export const DecisionMadeSchema = z.object({
  ok: z.literal(true),
  requestId: z.string(),
  /** 'hold' when any blocking rule fired (reasons non-empty). */
  decision: z.enum(['allow', 'hold']).describe('hold：有拦截类规则命中（reasons 非空）'),
  reasons: z.array(DecisionReasonSchema),
  /** The rule set that decided (its version, as recorded on warnings). */
  ruleSetVersion: z.string(),
  /** Time the hub spent deciding, ms. */
  ms: z.number().describe('研判耗时（毫秒）'),
  decidedAt: z.number(),
  /** The transaction will be verified afterwards (true for holds). */
  postCheck: z.boolean().describe('事后是否复核（拦截时为 true）'),
});

export type DecisionAck = z.infer<typeof DecisionMadeSchema> | { ok: false; requestId: string; code: string; message: string };

export interface CollectClientToServer {
  'batch.submit': (batch: Batch | WireBatch, ack: (res: BatchAck) => void) => void;
  'decision.request': (request: DecisionRequest, ack: (res: DecisionAck) => void) => void;
}
export interface CollectServerToClient {
  'hub.hello': (info: {
    hubVersion: string;
    protocol: number;
    collectorId: string;
    institutionId: string;
    status?: CollectorStatusName;
    /** The last batch the hub accepted from this key; a collector that lost its chain resumes from here. */
    chain?: ChainTip | null;
    /** The hub takes a batch's records as bytes (WireBatchSchema `recordsJson`). */
    recordsJson?: boolean;
  }) => void;
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
  /** 今日核查及时率: warnings concluded today, and of those concluded before any deadline was missed (never escalated). */
  concludedToday?: number;
  concludedOnTime?: number;
  /** 超期未办: open warnings (raised … verifying) that were escalated. */
  overdue?: number;
  /** 管道延迟: p95 of stored_at − captured_at (ms) over the last 5 minutes; null when nothing was stored. */
  pipelineLagP95Ms?: number | null;
  /**
   * 数据接入中断: the hub cannot take collectors' batches now (the Redis its queue runs on does not
   * answer); the figures are what was stored before. Absent when it can.
   */
  ingestDown?: boolean;
}

/** 采集终端状态: collector warnings today (family 'collector'). */
export interface WallCollectorHealth {
  silent: number;
  gap: number;
  tamper: number;
  /** Newest first, a few. */
  latest: WallWarning[];
}

/**
 * Warnings the wall keeps in its live list, and the number a snapshot carries: the same, so a
 * reload shows the list the live stream had built (the dashboard's ring is this size).
 */
export const WALL_RECENT_LIMIT = 200;

/** One row of the monthly evaluation ranking (worst first: vetoed, then lowest score). */
export interface WallScoreRank {
  id: string;
  name: string;
  county: string;
  countyName: string;
  typeName: string;
  score: number;
  grade: string;
  veto: boolean;
}

export interface WallInstitution {
  id: string;
  name: string;
  type: string;
  typeName: string;
  county: string;
  /** null when the register has no coordinates for it: the wall draws it at its county seat. */
  lon: number | null;
  lat: number | null;
}

/** Counts per local hour (index 0 = 00:00–01:00 Asia/Shanghai), by capture time like the KPIs. */
export interface WallHourly {
  transactions: number[];
  warnings: number[];
}

/** Today's business of one type (业务类型), e.g. 机动车业务·转移登记. */
export interface WallBusinessType {
  /** kind + '/' + ywlx, stable across pushes. */
  key: string;
  /** Chinese name of the type (never the bare code). */
  label: string;
  transactions: number;
  /** Transactions of this type that raised at least one warning. */
  warned: number;
}

/** An open warning that missed its time limit (超期督办), for the wall's list. */
export interface WallOverdueItem {
  id: string;
  ruleName: string;
  severity: Severity;
  institutionName: string;
  countyName: string;
  /** Workflow state (raised, assigned, acknowledged, verifying): screens label it in their own language. */
  state: WarningStateName;
  /** Chinese label of the workflow state (待分派, 已签收 …). */
  stateLabel: string;
  raisedAt: number;
  /** When it was escalated (ms). */
  escalatedAt: number;
}

export interface WallStats {
  kpis: WallKpis;
  counties: CountyStat[];
  /** Per-institution warnings today, for point sizes. */
  institutions: { id: string; transactions: number; warnings: number }[];
  collectorHealth?: WallCollectorHealth;
  /**
   * Institutions by evaluation score for `scoreMonth` ('YYYY-MM', Asia/Shanghai), WORST first
   * (vetoed, then lowest score). Institutions without business in the month are not ranked (a
   * month without business is not a perfect month); `scoreUnranked` says how many there are.
   */
  scoreRanking?: WallScoreRank[];
  scoreMonth?: string;
  scoreUnranked?: number;
  /** Institutions with business in `scoreMonth` (the ranking's population). */
  scoreRanked?: number;
  /** Today and yesterday by hour (today's future hours are 0). */
  hourly?: { today: WallHourly; yesterday: WallHourly };
  /** Today's business by type, largest first (a few). */
  businessTypes?: WallBusinessType[];
  /** Open escalated warnings, oldest escalation first (a few); the total is `kpis.overdue`. */
  overdueList?: WallOverdueItem[];
}

/** The county a screen shows; a snapshot without one (or with null) is the whole city's. */
export interface WallScope {
  adcode: string;
  name: string;
}

export interface WallSnapshot extends WallStats {
  serverTime: number;
  /**
   * The county this screen's viewer is limited to (a county user, or a kiosk token issued for a
   * county): every figure, list and warning it receives is that county's. null = the whole city.
   */
  scope?: WallScope | null;
  institutionsList: WallInstitution[];
  recentWarnings: WallWarning[];
}

export interface WallServerToClient {
  'wall.snapshot': (snapshot: WallSnapshot) => void;
  /** Newest last; batched by the broadcaster (at most a few emits per second). */
  'warning.raised': (warnings: WallWarning[]) => void;
  'county.stats': (stats: WallStats) => void;
  /** Warnings that missed a time limit (超期督办), once each, when the hub escalates them. */
  'warning.overdue': (warnings: WallOverdue[]) => void;
}

/** An escalated warning (超期督办): which deadline was missed and where it stands. */
export interface WallOverdue {
  id: string;
  ruleId: string;
  ruleName: string;
  severity: Severity;
  institutionId: string;
  institutionName: string;
  county: string;
  countyName: string;
  /** Workflow state (raised, assigned, acknowledged, verifying) and its Chinese label. */
  state: string;
  stateLabel: string;
  /** User name of the auditor it is assigned to; '' when unassigned. */
  assignee: string;
  /** 'acknowledge' (签收超时) or 'verify' (核查超时). */
  kind: 'acknowledge' | 'verify';
  dueAt: number;
  escalatedAt: number;
}
export interface WallClientToServer {
  'wall.resync': (ack: (snapshot: WallSnapshot) => void) => void;
}
