/**
 * Backtest rows (`backtests`, migration 022): one row per status change, newest `updated_at`
 * wins. The result (totals, per-rule and per-institution diff with examples) is JSON.
 */
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';

export type { Backtest, BacktestResult, BacktestStatus, DiffExample, DiffLine } from '../protocol/releases.js';
import type { Backtest, BacktestResult, BacktestStatus } from '../protocol/releases.js';

let lastUpdate = 0;
/** Strictly increasing, so two writes in one millisecond still order. */
function nextUpdate(): number {
  lastUpdate = Math.max(Date.now(), lastUpdate + 1);
  return lastUpdate;
}

export async function saveBacktest(store: Store, b: Backtest): Promise<Backtest> {
  const updatedAt = nextUpdate();
  await store.insert('backtests', [
    {
      id: b.id,
      version: b.version,
      live_version: b.liveVersion,
      range_from: b.from,
      range_to: b.to,
      status: b.status,
      progress: Math.max(0, Math.min(100, Math.round(b.progress))),
      requested_by: b.requestedBy,
      requested_at: b.requestedAt,
      finished_at: b.finishedAt,
      transactions: b.transactions,
      live_total: b.liveTotal,
      draft_total: b.draftTotal,
      added: b.added,
      removed: b.removed,
      result: b.result ? JSON.stringify(b.result) : '',
      error: b.error,
      updated_at: updatedAt,
    },
  ]);
  return { ...b, updatedAt };
}

const COLUMNS = sql`id, version, live_version, toUnixTimestamp64Milli(range_from) AS range_from, toUnixTimestamp64Milli(range_to) AS range_to,
  status, progress, requested_by, toUnixTimestamp64Milli(requested_at) AS requested_at,
  if(isNull(finished_at), NULL, toUnixTimestamp64Milli(assumeNotNull(finished_at))) AS finished_at,
  transactions, live_total, draft_total, added, removed, error, toUnixTimestamp64Milli(updated_at) AS updated_at`;

function toBacktest(r: Record<string, unknown>, withResult: boolean): Backtest {
  let result: BacktestResult | null = null;
  if (withResult && typeof r.result === 'string' && r.result !== '') result = JSON.parse(r.result) as BacktestResult;
  return {
    id: String(r.id),
    version: String(r.version),
    liveVersion: String(r.live_version),
    from: Number(r.range_from),
    to: Number(r.range_to),
    status: String(r.status) as BacktestStatus,
    progress: Number(r.progress),
    requestedBy: String(r.requested_by),
    requestedAt: Number(r.requested_at),
    finishedAt: r.finished_at === null || r.finished_at === undefined ? null : Number(r.finished_at),
    transactions: Number(r.transactions),
    liveTotal: Number(r.live_total),
    draftTotal: Number(r.draft_total),
    added: Number(r.added),
    removed: Number(r.removed),
    result,
    error: String(r.error ?? ''),
    updatedAt: Number(r.updated_at),
  };
}

export async function getBacktest(store: Store, id: string): Promise<Backtest | undefined> {
  const [r] = await store.query<Record<string, unknown>>(sql`SELECT ${COLUMNS}, result FROM backtests FINAL WHERE id = ${param.String(id)}`);
  return r ? toBacktest(r, true) : undefined;
}

/** Backtests of one rule set, newest first (without the result JSON). */
export async function listBacktests(store: Store, version: string): Promise<Backtest[]> {
  const rows = await store.query<Record<string, unknown>>(
    sql`SELECT ${COLUMNS} FROM backtests FINAL WHERE version = ${param.String(version)} ORDER BY requested_at DESC, id`,
  );
  return rows.map((r) => toBacktest(r, false));
}

/** The newest finished backtest of `version` against `liveVersion`, with its result. */
export async function latestDoneBacktest(store: Store, version: string, liveVersion: string): Promise<Backtest | undefined> {
  const [r] = await store.query<Record<string, unknown>>(sql`
    SELECT ${COLUMNS}, result FROM backtests FINAL
    WHERE version = ${param.String(version)} AND live_version = ${param.String(liveVersion)} AND status = 'done'
    ORDER BY finished_at DESC, id LIMIT 1`);
  return r ? toBacktest(r, true) : undefined;
}
