/**
 * The queries behind collector security: the collectors table (002 + 003), the accepted chain
 * (collector_batches), held batches and last-seen times. Every statement goes through `sql`.
 */
import type { CollectorStatusName } from '../protocol/index.js';
import { param, sql, UNSAFE_RAW_SQL } from '../store/sql.js';
import type { Store } from '../store/store.js';

export interface CollectorRecord {
  collectorId: string;
  institutionId: string;
  /** SHA-256 hex of the static token; '' for enrolled collectors (they have no token). */
  tokenSha256: string;
  status: CollectorStatusName;
  /** base64 SPKI DER of the Ed25519 key; '' while none is registered. */
  publicKey: string;
  keyFingerprint: string;
  counter: string;
  origin: 'static' | 'enrolled';
  enrolledAt: number | null;
  approvedAt: number | null;
  approvedBy: string;
  revokedAt: number | null;
  revokeReason: string;
  /** Institutions it may report business for besides its own (migration 031). */
  reportsFor: string[];
}

/** Nullable DateTime64 column → epoch ms or NULL. Column names are chosen by this file, never input. */
const ms = (col: string) => UNSAFE_RAW_SQL(`if(isNull(${col}), NULL, toUnixTimestamp64Milli(assumeNotNull(${col}))) AS ${col}`);
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function normaliseStatus(s: string): CollectorStatusName {
  if (s === 'pending' || s === 'revoked') return s;
  // 'active' (written by the registry before migration 003) and 'approved' both mean approved.
  return 'approved';
}

export async function loadCollectorRecords(store: Store): Promise<CollectorRecord[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT collector_id, institution_id, token_sha256, status, public_key, key_fingerprint, counter, origin,
      ${ms('enrolled_at')}, ${ms('approved_at')}, approved_by, ${ms('revoked_at')}, revoke_reason, reports_for
    FROM collectors FINAL ORDER BY collector_id`);
  return rows.map((r) => ({
    collectorId: String(r.collector_id),
    institutionId: String(r.institution_id),
    tokenSha256: String(r.token_sha256 ?? ''),
    status: normaliseStatus(String(r.status)),
    publicKey: String(r.public_key ?? ''),
    keyFingerprint: String(r.key_fingerprint ?? ''),
    counter: String(r.counter ?? ''),
    origin: r.origin === 'enrolled' ? 'enrolled' : 'static',
    enrolledAt: num(r.enrolled_at),
    approvedAt: num(r.approved_at),
    approvedBy: String(r.approved_by ?? ''),
    revokedAt: num(r.revoked_at),
    revokeReason: String(r.revoke_reason ?? ''),
    reportsFor: Array.isArray(r.reports_for) ? r.reports_for.map(String) : [],
  }));
}

let lastVersion = 0;
/** Strictly increasing versions, so two writes in one millisecond still order correctly. */
function nextVersion(): number {
  lastVersion = Math.max(Date.now(), lastVersion + 1);
  return lastVersion;
}

/** Writes whole rows (the newest version wins). */
export async function saveCollectorRecords(store: Store, list: readonly CollectorRecord[]): Promise<void> {
  if (list.length === 0) return;
  await store.insert(
    'collectors',
    list.map((c) => ({
      collector_id: c.collectorId,
      institution_id: c.institutionId,
      token_sha256: c.tokenSha256,
      status: c.status,
      public_key: c.publicKey,
      key_fingerprint: c.keyFingerprint,
      counter: c.counter,
      origin: c.origin,
      enrolled_at: c.enrolledAt,
      approved_at: c.approvedAt,
      approved_by: c.approvedBy,
      revoked_at: c.revokedAt,
      revoke_reason: c.revokeReason,
      reports_for: c.reportsFor,
      version: nextVersion(),
    })),
  );
}

// ---- the accepted chain ----------------------------------------------------------------------

export interface ChainRow {
  collectorId: string;
  keyFingerprint: string;
  batchSeq: number;
  batchId: string;
  hash: string;
  prevHash: string;
  firstSeq: number;
  lastSeq: number;
  records: number;
  held: boolean;
  receivedAt: number;
}

export interface TipRow {
  collectorId: string;
  keyFingerprint: string;
  batchSeq: number;
  hash: string;
  lastBatchAt: number;
}

export async function insertChainRow(store: Store, r: ChainRow): Promise<void> {
  await store.insert('collector_batches', [
    {
      collector_id: r.collectorId,
      key_fingerprint: r.keyFingerprint,
      batch_seq: r.batchSeq,
      batch_id: r.batchId,
      hash: r.hash,
      prev_hash: r.prevHash,
      first_seq: r.firstSeq,
      last_seq: r.lastSeq,
      records: r.records,
      held: r.held ? 1 : 0,
      received_at: r.receivedAt,
    },
  ]);
}

function tipFrom(r: Record<string, unknown>): TipRow {
  return {
    collectorId: String(r.collector_id),
    keyFingerprint: String(r.key_fingerprint),
    batchSeq: Number(r.tip_seq),
    hash: String(r.tip_hash),
    lastBatchAt: Number(r.last_batch_at),
  };
}

/** The newest accepted batch of every (collector, key). */
export async function loadTips(store: Store): Promise<TipRow[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT collector_id, key_fingerprint, max(batch_seq) AS tip_seq, argMax(hash, batch_seq) AS tip_hash,
      toUnixTimestamp64Milli(max(received_at)) AS last_batch_at
    FROM collector_batches GROUP BY collector_id, key_fingerprint`);
  return rows.map(tipFrom);
}

export async function loadTip(store: Store, collectorId: string, keyFp: string): Promise<TipRow | undefined> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT collector_id, key_fingerprint, max(batch_seq) AS tip_seq, argMax(hash, batch_seq) AS tip_hash,
      toUnixTimestamp64Milli(max(received_at)) AS last_batch_at
    FROM collector_batches
    WHERE collector_id = ${param.String(collectorId)} AND key_fingerprint = ${param.String(keyFp)}
    GROUP BY collector_id, key_fingerprint`);
  return rows[0] ? tipFrom(rows[0]) : undefined;
}

/** The hash accepted for one earlier batch sequence number, if any. */
export async function hashAt(store: Store, collectorId: string, keyFp: string, batchSeq: number): Promise<string | undefined> {
  const rows = await store.query<{ hash: string }>(sql`
    SELECT hash FROM collector_batches FINAL
    WHERE collector_id = ${param.String(collectorId)} AND key_fingerprint = ${param.String(keyFp)}
      AND batch_seq = ${param.UInt64(batchSeq)}
    LIMIT 1`);
  return rows[0]?.hash;
}

// ---- held batches -----------------------------------------------------------------------------

export interface HeldBatch {
  collectorId: string;
  batchId: string;
  batchSeq: number;
  firstSeq: number;
  lastSeq: number;
  records: number;
  /** The batch envelope as received, JSON. */
  payload: string;
  receivedAt: number;
}

export async function insertHeld(store: Store, h: HeldBatch): Promise<void> {
  await store.insert('held_batches', [
    {
      collector_id: h.collectorId,
      batch_id: h.batchId,
      batch_seq: h.batchSeq,
      first_seq: h.firstSeq,
      last_seq: h.lastSeq,
      records: h.records,
      payload: h.payload,
      received_at: h.receivedAt,
      released_at: null,
      version: nextVersion(),
    },
  ]);
}

/** Held batches of one collector not yet released, oldest records first. */
export async function listHeld(store: Store, collectorId: string): Promise<HeldBatch[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT collector_id, batch_id, batch_seq, first_seq, last_seq, records, payload,
      toUnixTimestamp64Milli(received_at) AS received_at
    FROM held_batches FINAL
    WHERE collector_id = ${param.String(collectorId)} AND isNull(released_at)
    ORDER BY first_seq, batch_seq, batch_id`);
  return rows.map((r) => ({
    collectorId: String(r.collector_id),
    batchId: String(r.batch_id),
    batchSeq: Number(r.batch_seq),
    firstSeq: Number(r.first_seq),
    lastSeq: Number(r.last_seq),
    records: Number(r.records),
    payload: String(r.payload),
    receivedAt: Number(r.received_at),
  }));
}

/** Marks a held batch released (its records went through evaluation). The payload is not kept. */
export async function markReleased(store: Store, h: HeldBatch, at: number): Promise<void> {
  await store.insert('held_batches', [
    {
      collector_id: h.collectorId,
      batch_id: h.batchId,
      batch_seq: h.batchSeq,
      first_seq: h.firstSeq,
      last_seq: h.lastSeq,
      records: h.records,
      payload: '',
      received_at: h.receivedAt,
      released_at: at,
      version: nextVersion(),
    },
  ]);
}

/**
 * Bytes of one collector's held, unreleased payload in the store, without `exceptBatchId`'s own
 * row (a re-sent batch replaces it). Read from the store, which every replica shares: a pending
 * collector that reconnects to another replica finds its quota as used as it left it.
 */
export async function heldBytesOf(store: Store, collectorId: string, exceptBatchId: string): Promise<number> {
  const rows = await store.query<{ n: string }>(sql`
    SELECT sum(length(payload)) AS n FROM held_batches FINAL
    WHERE collector_id = ${param.String(collectorId)} AND batch_id != ${param.String(exceptBatchId)} AND isNull(released_at)`);
  return Number(rows[0]?.n ?? 0);
}

export async function heldCounts(store: Store): Promise<Map<string, number>> {
  const rows = await store.query<{ collector_id: string; n: string }>(sql`
    SELECT collector_id, count() AS n FROM held_batches FINAL WHERE isNull(released_at) GROUP BY collector_id`);
  return new Map(rows.map((r) => [r.collector_id, Number(r.n)]));
}

// ---- last seen --------------------------------------------------------------------------------

export async function loadSeen(store: Store): Promise<Map<string, number>> {
  const rows = await store.query<{ collector_id: string; t: string }>(sql`
    SELECT collector_id, toUnixTimestamp64Milli(max(last_seen_at)) AS t FROM collector_seen GROUP BY collector_id`);
  return new Map(rows.map((r) => [r.collector_id, Number(r.t)]));
}

export async function saveSeen(store: Store, seen: ReadonlyMap<string, number>): Promise<void> {
  if (seen.size === 0) return;
  await store.insert(
    'collector_seen',
    [...seen].map(([collector_id, at]) => ({ collector_id, last_seen_at: at })),
  );
}

/** Whether a warning id is already stored (collector warnings are raised at most once). */
export async function warningExists(store: Store, id: string): Promise<boolean> {
  const rows = await store.query<{ n: string }>(sql`SELECT count() AS n FROM warnings WHERE id = ${param.String(id)}`);
  return Number(rows[0]?.n ?? 0) > 0;
}
