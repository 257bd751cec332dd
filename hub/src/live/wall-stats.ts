/**
 * The command-centre wall's extra figures: today and yesterday by hour, today's business by type
 * (counted with the day's totals in repo.dayStats, labelled here), open overdue (超期督办)
 * warnings and the monthly evaluation ranking worst first. They run every statistics interval
 * (hub/src/live/wall.ts), so each is one aggregate over a bounded time range or a small table,
 * never a scan of all history joined to all history. Each takes an optional county (adcode;
 * null = the whole city) for a county's screen, applied in the query as a parameter.
 */
import type { Severity } from '@jianguan/rules';
import { businessLabel } from '../evaluation/volumes.js';
import { STATE_LABELS, type WarningStateName } from '../protocol/workflow.js';
import type { WallBusinessType, WallHourly } from '../protocol/index.js';
import { HOUR_MS, OPEN_STATE, captureHourFrom, inCounty, type DayStats } from '../store/repo.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';

function emptyHours(): WallHourly {
  return { transactions: new Array<number>(24).fill(0), warnings: new Array<number>(24).fill(0) };
}

/**
 * Distinct transactions and warnings per hour of the local day starting at `dayFrom` (epoch ms of
 * local midnight), by capture time — the same clock as the wall's KPIs, so the 24 bars add up to
 * the day's totals.
 */
export async function hourlyCounts(store: Store, dayFrom: number, county: string | null = null): Promise<WallHourly> {
  const f = param.DateTime64(dayFrom);
  const t = param.DateTime64(dayFrom + 24 * HOUR_MS);
  const hour = captureHourFrom(dayFrom);
  const [tx, w] = await Promise.all([
    store.query<{ h: number | string; n: string }>(sql`
      SELECT ${hour} AS h, uniqExact(id) AS n FROM transactions WHERE captured_at >= ${f} AND captured_at < ${t}${inCounty(county)} GROUP BY h`),
    store.query<{ h: number | string; n: string }>(sql`
      SELECT ${hour} AS h, uniqExact(id) AS n FROM warnings WHERE captured_at >= ${param.DateTime64(dayFrom)} AND captured_at < ${param.DateTime64(dayFrom + 24 * HOUR_MS)}${inCounty(county)} GROUP BY h`),
  ]);
  const out = emptyHours();
  for (const r of tx) {
    const h = Number(r.h);
    if (h >= 0 && h < 24) out.transactions[h] = Number(r.n);
  }
  for (const r of w) {
    const h = Number(r.h);
    if (h >= 0 && h < 24) out.warnings[h] = Number(r.n);
  }
  return out;
}

/**
 * The day's business by type (repo.dayStats, largest first) as the wall lists it: the first
 * `limit` rows, labelled with names, not codes.
 */
export function topBusinessTypes(types: DayStats['types'], limit: number): WallBusinessType[] {
  return types.slice(0, limit).map((r) => ({
    key: `${r.kind}/${r.ywlx}`,
    label: businessLabel(r.kind, r.ywlx),
    transactions: r.transactions,
    warned: r.warned,
  }));
}

export interface OverdueRow {
  id: string;
  rule_name: string;
  severity: Severity;
  institution_id: string;
  county: string;
  state: WarningStateName;
  stateLabel: string;
  raised_at: number;
  escalated_at: number;
}

/**
 * Open warnings (not yet verified) that were escalated, oldest escalation first: the escalated
 * rows of the open range of warning_state (migration 060; only warnings that have events can be
 * escalated), their escalation times from their own events (a key lookup), and only those ids
 * looked up in `warnings`. Every state row carries its warning's county.
 */
export async function overdueOpen(store: Store, limit: number, county: string | null = null): Promise<OverdueRow[]> {
  const escalated = await store.query<{ id: string; state: string }>(sql`
    SELECT warning_id AS id, state FROM ${OPEN_STATE} WHERE escalated = 1${inCounty(county)}`);
  if (escalated.length === 0) return [];
  const stateOf = new Map(escalated.map((e) => [e.id, e.state]));
  const times = await store.query<{ id: string; escalated_at: number | string }>(sql`
    SELECT warning_id AS id, toUnixTimestamp64Milli(if(countIf(type = 'escalated') > 0, maxIf(at, type = 'escalated'), max(at))) AS escalated_at
    FROM warning_events WHERE warning_id IN ${param.ArrayString([...stateOf.keys()])} GROUP BY warning_id
    ORDER BY escalated_at, id LIMIT ${param.UInt32(limit)}`);
  const open = times.map((t) => ({ id: t.id, state: stateOf.get(t.id) ?? 'raised', escalated_at: t.escalated_at }));
  if (open.length === 0) return [];
  const found = await store.query<Record<string, unknown>>(sql`
    SELECT id, any(rule_name) AS rule_name, any(severity) AS severity, any(institution_id) AS institution_id,
      any(county) AS county, toUnixTimestamp64Milli(any(raised_at)) AS raised_at
    FROM warnings WHERE id IN ${param.ArrayString(open.map((o) => o.id))} GROUP BY id`);
  const byId = new Map(found.map((r) => [String(r.id), r]));
  const out: OverdueRow[] = [];
  for (const o of open) {
    const w = byId.get(o.id);
    if (!w) continue;
    const state = o.state as WarningStateName;
    out.push({
      id: o.id,
      rule_name: String(w.rule_name),
      severity: String(w.severity) as Severity,
      institution_id: String(w.institution_id),
      county: String(w.county),
      state,
      stateLabel: STATE_LABELS[state] ?? '',
      raised_at: Number(w.raised_at),
      escalated_at: Number(o.escalated_at),
    });
  }
  return out;
}

export interface MonthScore {
  institution_id: string;
  score: number;
  grade: string;
  veto: boolean;
  transactions: number;
}

/** Every institution's materialised score for `month` (a few hundred rows at most). */
export async function monthScores(store: Store, month: string): Promise<MonthScore[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT institution_id, score, grade, veto, transactions FROM evaluation_scores FINAL WHERE month = ${param.String(month)}`);
  return rows.map((r) => ({
    institution_id: String(r.institution_id),
    score: Number(r.score),
    grade: String(r.grade),
    veto: Number(r.veto) === 1 || r.veto === true,
    transactions: Number(r.transactions),
  }));
}

/**
 * Worst first: vetoed institutions (grade D whatever the points), then by score ascending, ties by
 * id. Institutions without business in the month are left out and counted: with nothing to
 * deduct from they would otherwise read as a perfect 100 and crowd out the ones that matter.
 */
export function worstFirst(rows: readonly MonthScore[], limit: number): { ranked: MonthScore[]; total: number; unranked: number } {
  const active = rows.filter((r) => r.transactions > 0);
  const sorted = [...active].sort((a, b) => Number(b.veto) - Number(a.veto) || a.score - b.score || a.institution_id.localeCompare(b.institution_id));
  return { ranked: sorted.slice(0, limit), total: active.length, unranked: rows.length - active.length };
}
