/**
 * Stored transactions of a time range, in occurred_at order (ties: id), in pages — keyset
 * pagination on (occurred_at, id), so a page costs the same wherever it is in the range and no
 * row is skipped or repeated. Used by backtests and the peer-deviation job.
 *
 * Rows stored since migration 021 carry the record as received (`payload`); older rows are
 * rebuilt from their columns (fields without a column — birth years, phone and staff hashes,
 * approvalRevoked — are then absent, so rules that need them do not fire on those rows).
 */
import type { Transaction } from '@jianguan/rules';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';

// Aliases must not reuse column names: in ClickHouse a SELECT alias shadows the column in WHERE.
const COLUMNS = sql`id, payload, collector_id, seq, source, channel, institution_id, counter, staff_id, device_id, ip, mac, lsh, sub_lsh,
  kind, ywlx, ywyy, subject_hash, subject_masked, agent_hash, agent_masked, hpzl, hphm, vin, owner_hash, licence_hash, zjcx,
  toUnixTimestamp64Milli(occurred_at) AS occurred_at_ms,
  if(isNull(applied_at), NULL, toUnixTimestamp64Milli(assumeNotNull(applied_at))) AS applied_at_ms,
  if(isNull(started_at), NULL, toUnixTimestamp64Milli(assumeNotNull(started_at))) AS started_at_ms,
  if(isNull(ended_at), NULL, toUnixTimestamp64Milli(assumeNotNull(ended_at))) AS ended_at_ms,
  if(isNull(completed_at), NULL, toUnixTimestamp64Milli(assumeNotNull(completed_at))) AS completed_at_ms,
  toUnixTimestamp64Milli(captured_at) AS captured_at_ms, outcome, measurements, evidence`;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const ms = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

/** A stored row back as a Transaction. */
export function transactionFromRow(r: Record<string, unknown>): Transaction {
  if (typeof r.payload === 'string' && r.payload !== '') return JSON.parse(r.payload) as Transaction;
  const t: Record<string, unknown> = {
    id: String(r.id),
    collectorId: String(r.collector_id),
    seq: Number(r.seq),
    source: String(r.source),
    channel: String(r.channel),
    institutionId: String(r.institution_id),
    kind: String(r.kind),
    occurredAt: Number(r.occurred_at_ms),
    capturedAt: Number(r.captured_at_ms),
  };
  const opt: [string, unknown][] = [
    ['counter', str(r.counter)],
    ['staffId', str(r.staff_id)],
    ['deviceId', str(r.device_id)],
    ['ip', str(r.ip)],
    ['mac', str(r.mac)],
    ['lsh', str(r.lsh)],
    ['subLsh', str(r.sub_lsh)],
    ['ywlx', str(r.ywlx)],
    ['ywyy', str(r.ywyy)],
    ['appliedAt', ms(r.applied_at_ms)],
    ['startedAt', ms(r.started_at_ms)],
    ['endedAt', ms(r.ended_at_ms)],
    ['completedAt', ms(r.completed_at_ms)],
    ['outcome', str(r.outcome)],
  ];
  for (const [k, v] of opt) if (v !== undefined) t[k] = v;
  if (str(r.subject_hash)) t.subject = { idHash: r.subject_hash, masked: String(r.subject_masked ?? '') };
  if (str(r.agent_hash)) t.agent = { idHash: r.agent_hash, masked: String(r.agent_masked ?? '') };
  if (str(r.hpzl)) {
    const v: Record<string, unknown> = { hpzl: r.hpzl };
    if (str(r.hphm)) v.hphm = r.hphm;
    if (str(r.vin)) v.vin = r.vin;
    if (str(r.owner_hash)) v.ownerIdHash = r.owner_hash;
    t.vehicle = v;
  }
  if (str(r.licence_hash)) t.licence = { numberHash: r.licence_hash, ...(str(r.zjcx) ? { zjcx: r.zjcx } : {}) };
  const m = r.measurements as Record<string, number> | undefined;
  if (m && Object.keys(m).length > 0) t.measurements = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v)]));
  const ev = r.evidence as string[] | undefined;
  if (ev && ev.length > 0) t.evidence = ev;
  return t as unknown as Transaction;
}

/** Logical transactions (deduplicated) with occurred_at in [from, to). */
export async function countTransactions(store: Store, from: number, to: number): Promise<number> {
  const [r] = await store.query<{ n: string }>(sql`
    SELECT count() AS n FROM transactions FINAL
    WHERE occurred_at >= ${param.DateTime64(from)} AND occurred_at < ${param.DateTime64(to)}`);
  return Number(r?.n ?? 0);
}

/** Pages of transactions with occurred_at in [from, to), ascending by (occurred_at, id). */
export async function* streamTransactions(store: Store, from: number, to: number, pageSize: number): AsyncGenerator<Transaction[]> {
  let after: { at: number; id: string } | undefined;
  for (;;) {
    const cursor = after
      ? sql`AND (occurred_at, id) > (${param.DateTime64(after.at)}, ${param.String(after.id)})`
      : sql``;
    const rows = await store.query<Record<string, unknown>>(sql`
      SELECT ${COLUMNS} FROM transactions FINAL
      WHERE occurred_at >= ${param.DateTime64(from)} AND occurred_at < ${param.DateTime64(to)} ${cursor}
      ORDER BY occurred_at, id LIMIT ${param.UInt32(pageSize)}`);
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!;
    after = { at: Number(last.occurred_at_ms), id: String(last.id) };
    yield rows.map(transactionFromRow);
    if (rows.length < pageSize) return;
  }
}
