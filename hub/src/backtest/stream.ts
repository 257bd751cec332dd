/**
 * Stored transactions of a time range, in occurred_at order (ties: id), in pages — keyset
 * pagination on (occurred_at, id), so a page costs the same wherever it is in the range and no
 * row is skipped or repeated. Used by backtests and the peer-deviation job.
 *
 * Rows stored since migration 021 carry what the columns do not hold of the record as received
 * (`payload`, store/payload.ts; the whole record in rows stored before that form); older rows are
 * rebuilt from their columns alone (fields without a column — birth years, phone and staff
 * hashes, approvalRevoked — are then absent, so rules that need them do not fire on those rows).
 */
import type { Transaction } from '@jianguan/rules';
import { decodePayload } from '../store/payload.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';

// Aliases must not reuse column names: in ClickHouse a SELECT alias shadows the column in WHERE.
export const COLUMNS = sql`id, payload, collector_id, seq, source, channel, institution_id, counter, staff_id, device_id, ip, mac, lsh, sub_lsh,
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
  return decodePayload(r.payload, () => fromColumns(r));
}

/** The record as far as the row's columns hold it. */
function fromColumns(r: Record<string, unknown>): Record<string, unknown> {
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
  return t;
}

/** Logical transactions (deduplicated) with occurred_at in [from, to). */
export async function countTransactions(store: Store, from: number, to: number): Promise<number> {
  const [r] = await store.query<{ n: string }>(sql`
    SELECT count() AS n FROM transactions FINAL
    WHERE occurred_at >= ${param.DateTime64(from)} AND occurred_at < ${param.DateTime64(to)}`);
  return Number(r?.n ?? 0);
}

/**
 * Pages of transactions with occurred_at in [from, to), ascending by (occurred_at, id).
 *
 * Cost per page. The table is sorted by (institution_id, id), not by time, so no query can seek
 * to a time; what a page can do is read and sort little. Keyset pages over the whole range
 * (`FINAL … ORDER BY occurred_at, id LIMIT n` after a cursor) merged, sorted and read every
 * column of every remaining row of the range for each page: a backtest of n records cost about
 * n / pageSize passes over the range. Instead each page is a time window [lo, hi): the bound on
 * occurred_at filters rows before any other column is read (PREWHERE reads one 8-byte column),
 * only the window's rows are read and sorted, and the window adapts so a page holds about
 * pageSize records (doubled after a sparse one, halved after a full one). A window that holds
 * more than four pages is not read again smaller: its rows come back ordered by time, so the
 * first 4·pageSize + 1 of them say where to cut — every row before the time of the last one is
 * among them, and is the page; the next window starts at that time. (Quartering the window and
 * reading again instead cost a search of ~log₂(span) reads for each page when records cluster
 * in time, e.g. a batch stamped in one millisecond.) Only when all of them share one millisecond
 * is that millisecond read whole: a single millisecond is never split. Duplicates are removed as
 * FINAL would — one row per id, the one stored last (ReplacingMergeTree(stored_at)) — by
 * `LIMIT 1 BY id` after ordering stored_at descending; the copies of a re-sent record share its
 * occurred_at, hence its window. Pages may therefore be smaller or up to four times larger than
 * pageSize (larger only for one crowded millisecond).
 */
export async function* streamTransactions(store: Store, from: number, to: number, pageSize: number): AsyncGenerator<Transaction[]> {
  const most = 4 * pageSize;
  const read = (lo: number, hi: number, limit?: number) =>
    store.query<Record<string, unknown>>(sql`
      SELECT ${COLUMNS} FROM transactions
      PREWHERE occurred_at >= ${param.DateTime64(lo)} AND occurred_at < ${param.DateTime64(hi)}
      ORDER BY occurred_at, id, stored_at DESC
      LIMIT 1 BY id
      ${limit === undefined ? sql`` : sql`LIMIT ${param.UInt32(limit)}`}`);
  const at = (r: Record<string, unknown>) => Number(r.occurred_at_ms);
  let lo = from;
  // First guess: an hour; adapted to the data from the first window on.
  let span = Math.max(1, Math.min(to - from, 3_600_000));
  while (lo < to) {
    const hi = Math.min(to, lo + span);
    let rows = await read(lo, hi, most + 1);
    let next = hi;
    if (rows.length > most) {
      const cut = at(rows[most]!);
      if (cut > at(rows[0]!)) {
        rows = rows.filter((r) => at(r) < cut);
        next = cut;
      } else {
        // The first 4·pageSize + 1 rows share one millisecond: that millisecond whole.
        rows = await read(cut, cut + 1);
        next = cut + 1;
      }
      span = Math.max(1, next - lo);
    } else if (rows.length < pageSize / 2) {
      span = Math.min(Math.max(1, to - from), span * 2);
    } else if (rows.length > 2 * pageSize) {
      span = Math.max(1, Math.floor(span / 2));
    }
    lo = next;
    if (rows.length > 0) yield rows.map(transactionFromRow);
  }
}

/**
 * Stored transactions by id, as Transactions (a warning's recheck). `institutionIds` narrows the
 * read to their part of the sorting key (institution_id, …); the newest stored row per id.
 */
export async function transactionsByIds(store: Store, ids: readonly string[], institutionIds: readonly string[]): Promise<Map<string, Transaction>> {
  if (ids.length === 0) return new Map();
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT ${COLUMNS} FROM transactions
    WHERE institution_id IN ${param.ArrayString([...new Set(institutionIds)])} AND id IN ${param.ArrayString([...new Set(ids)])}
    ORDER BY stored_at DESC LIMIT 1 BY id`);
  return new Map(rows.map((r) => [String(r.id), transactionFromRow(r)]));
}
