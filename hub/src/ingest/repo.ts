/**
 * Ingest's read side: the dead letters it kept, and pipeline throughput and latency.
 * (The rows ingest and the worker write are mapped in store/repo.ts.)
 */
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import type { DeadLetter } from '../store/repo.js';

export async function listDeadLetters(store: Store, limit: number, offset: number): Promise<DeadLetter[]> {
  const rows = await store.query<Record<string, string>>(sql`
    SELECT record_key, batch_id, collector_id, record_index, record_id, code, reason, payload,
      toUnixTimestamp64Milli(received_at) AS received_at
    FROM dead_letters FINAL ORDER BY received_at DESC, record_key LIMIT ${param.UInt32(limit)} OFFSET ${param.UInt32(offset)}`);
  return rows.map((r) => ({
    recordKey: String(r.record_key),
    batchId: String(r.batch_id),
    collectorId: String(r.collector_id),
    recordIndex: Number(r.record_index),
    recordId: String(r.record_id),
    code: String(r.code),
    reason: String(r.reason),
    payload: String(r.payload),
    receivedAt: Number(r.received_at),
  }));
}

export interface PipelineStats {
  /** Physical rows (a re-sent record may sit twice until ClickHouse merges parts). */
  rows: number;
  /** Distinct transaction ids: what is logically stored. */
  stored: number;
  /** Rows after FINAL: must equal `stored` (no logical duplicate). */
  finalRows: number;
  firstCapturedAt: number;
  lastStoredAt: number;
  /** Milliseconds from the collector's capture to the store commit. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

/**
 * Throughput and capture→stored latency of transactions captured since `since` (epoch ms);
 * `idPrefix` narrows them to the records whose id starts with it (ids lead with their
 * collector's id, so a prefix picks one collector or a group named alike).
 */
export async function pipelineStats(store: Store, since: number, idPrefix = ''): Promise<PipelineStats> {
  const s = sql`captured_at >= ${param.DateTime64(since)} AND startsWith(id, ${param.String(idPrefix)})`;
  const [r] = await store.query<Record<string, unknown>>(sql`
    SELECT
      count() AS rows,
      uniqExact(id) AS stored,
      (SELECT count() FROM transactions FINAL WHERE ${s}) AS final_rows,
      toUnixTimestamp64Milli(min(captured_at)) AS first_captured,
      toUnixTimestamp64Milli(max(stored_at)) AS last_stored,
      quantilesExact(0.5, 0.95, 0.99)(toUnixTimestamp64Milli(stored_at) - toUnixTimestamp64Milli(captured_at)) AS q,
      max(toUnixTimestamp64Milli(stored_at) - toUnixTimestamp64Milli(captured_at)) AS mx
    FROM transactions WHERE ${s}`);
  const q = (r?.q as number[] | undefined) ?? [0, 0, 0];
  return {
    rows: Number(r?.rows ?? 0),
    stored: Number(r?.stored ?? 0),
    finalRows: Number(r?.final_rows ?? 0),
    firstCapturedAt: Number(r?.first_captured ?? 0),
    lastStoredAt: Number(r?.last_stored ?? 0),
    latencyMs: { p50: Number(q[0] ?? 0), p95: Number(q[1] ?? 0), p99: Number(q[2] ?? 0), max: Number(r?.mx ?? 0) },
  };
}
