/**
 * Row mapping of what ingest and the worker store, health totals, and the wall's queries. Feature
 * queries live in their folders (registry/repo.ts, ingest/repo.ts, workflow/repo.ts …). Every
 * statement goes through `sql`; tables are the
 * ones created by migrations/*.sql.
 */
import type { Transaction, Warning } from '@jianguan/rules';
import { encodePayload } from './payload.js';
import { param, sql, type SqlQuery } from './sql.js';
import type { Store } from './store.js';

export interface DeadLetter {
  recordKey: string;
  batchId: string;
  collectorId: string;
  recordIndex: number;
  recordId: string;
  code: string;
  reason: string;
  payload: string;
  receivedAt: number;
}

/** The columns `transactionValues` fills, in its order (JSONCompactEachRow inserts name them). */
export const TRANSACTION_COLUMNS = [
  'id', 'batch_id', 'collector_id', 'seq', 'source', 'channel', 'institution_id', 'county', 'counter', 'staff_id', 'device_id', 'ip', 'mac',
  'lsh', 'sub_lsh', 'kind', 'ywlx', 'ywyy', 'subject_hash', 'subject_masked', 'agent_hash', 'agent_masked', 'hpzl', 'hphm', 'vin',
  'owner_hash', 'licence_hash', 'zjcx', 'occurred_at', 'applied_at', 'started_at', 'ended_at', 'completed_at', 'captured_at',
  'stored_at', 'outcome', 'measurements', 'evidence', 'rule_set', 'warning_count', 'payload',
] as const;

type TransactionMeta = { batchId: string; county: string; ruleSet: string; warningCount: number };

/**
 * A transaction's row as values in TRANSACTION_COLUMNS order: the evaluate path writes these as
 * JSONCompactEachRow (no key names to encode or parse; hub/bench/insert-format.bench.mjs).
 */
export function transactionValues(t: Transaction, meta: TransactionMeta): unknown[] {
  return [
    t.id,
    meta.batchId,
    t.collectorId,
    t.seq,
    t.source,
    t.channel,
    t.institutionId,
    meta.county,
    t.counter ?? '',
    t.staffId ?? '',
    t.deviceId ?? '',
    t.ip ?? '',
    t.mac ?? '',
    t.lsh ?? '',
    t.subLsh ?? '',
    t.kind,
    t.ywlx ?? '',
    t.ywyy ?? '',
    t.subject?.idHash ?? '',
    t.subject?.masked ?? '',
    t.agent?.idHash ?? '',
    t.agent?.masked ?? '',
    t.vehicle?.hpzl ?? '',
    t.vehicle?.hphm ?? '',
    t.vehicle?.vin ?? '',
    t.vehicle?.ownerIdHash ?? '',
    t.licence?.numberHash ?? '',
    t.licence?.zjcx ?? '',
    t.occurredAt,
    t.appliedAt ?? null,
    t.startedAt ?? null,
    t.endedAt ?? null,
    t.completedAt ?? null,
    t.capturedAt,
    Date.now(),
    t.outcome ?? '',
    t.measurements ?? {},
    t.evidence ?? [],
    meta.ruleSet,
    meta.warningCount,
    // The record as received (migration 021) less what the columns above hold (store/payload.ts):
    // backtests and scheduled jobs re-run rules on it.
    encodePayload(t),
  ];
}

/** The same row as an object (column → value), for inserts of row objects. */
export function transactionRow(t: Transaction, meta: TransactionMeta): Record<string, unknown> {
  const values = transactionValues(t, meta);
  const row: Record<string, unknown> = {};
  TRANSACTION_COLUMNS.forEach((c, i) => (row[c] = values[i]));
  return row;
}

/** `ruleSet`: the version of the rule set that raised it (migration 021; '' = not a rule set's). */
export function warningRow(w: Warning, ruleSet = ''): Record<string, unknown> {
  return {
    id: w.id,
    rule_id: w.ruleId,
    rule_name: w.ruleName,
    rule_version: w.ruleVersion,
    family: w.family,
    severity: w.severity,
    action: w.action,
    transaction_id: w.transactionId,
    batch_id: w.batchId,
    collector_id: w.collectorId,
    institution_id: w.institutionId,
    county: w.county,
    occurred_at: w.occurredAt,
    captured_at: w.capturedAt,
    raised_at: w.raisedAt,
    explanation: w.explanation,
    values_json: JSON.stringify(w.values),
    subject_masked: w.subjectMasked,
    rule_set: ruleSet,
  };
}

export function deadLetterRow(d: DeadLetter): Record<string, unknown> {
  return {
    record_key: d.recordKey,
    batch_id: d.batchId,
    collector_id: d.collectorId,
    record_index: d.recordIndex,
    record_id: d.recordId,
    code: d.code,
    reason: d.reason,
    payload: d.payload,
    received_at: d.receivedAt,
  };
}

/**
 * Rows stored, for /healthz, /metrics and /api/v1/totals. Answered in milliseconds whatever
 * the data size: a bare `count()` over a MergeTree (or a Distributed table over them) is read
 * from the parts' row counts, never from the data.
 *
 * Semantics: physical rows. A batch re-sent after a lost acknowledgement is stored twice until
 * ReplacingMergeTree merges fold the copies (usually minutes; guaranteed only by FINAL), so each
 * figure may briefly exceed the distinct count by the re-delivered rows — never fall short of
 * it. The exact distinct counts (uniqExact over whole tables) took 42 s and 6.6 GB of memory at
 * 100 million transactions, on every health probe; reports that need exact figures count over
 * their own period.
 */
export interface Totals {
  transactions: number;
  warnings: number;
  deadLetters: number;
}

export async function totals(store: Store): Promise<Totals> {
  const [row] = await store.query<{ t: string; w: string; d: string }>(sql`
    SELECT
      (SELECT count() FROM transactions) AS t,
      (SELECT count() FROM warnings) AS w,
      (SELECT count() FROM dead_letters) AS d`);
  return { transactions: Number(row?.t ?? 0), warnings: Number(row?.w ?? 0), deadLetters: Number(row?.d ?? 0) };
}

/**
 * The wall's optional county filter: `AND county = {adcode}` for a county screen, nothing for the
 * whole city (null or ''). A parameter, never text, whatever the scope string holds.
 */
export function inCounty(county: string | null | undefined): SqlQuery {
  return county ? sql` AND county = ${param.String(county)}` : sql``;
}

export interface DayStats {
  counties: { county: string; transactions: number; warnings: number }[];
  institutions: { id: string; transactions: number; warnings: number }[];
  transactions: number;
  warnings: number;
  holds: number;
  deadLetters: number;
  /**
   * Distinct transactions and warnings per hour from `from` (hour i = [from + i h, from + (i+1) h)),
   * one entry per hour of [from, to): the wall's bars of the day, which add up to its totals.
   */
  hours: { transactions: number[]; warnings: number[] };
  /** Distinct transactions by business type, and how many of them carry a warning, largest first. */
  types: { kind: string; ywlx: string; transactions: number; warned: number }[];
}

export const HOUR_MS = 3_600_000;

/** Ids stored more than once in a day that dayStats corrects for by name (beyond: by a subquery). */
export const DUPLICATE_IDS_MAX = 10_000;

/** The hour of a row's capture counted from `from` (epoch ms): 0 for [from, from + 1 h), … */
export function captureHourFrom(from: number): SqlQuery {
  return sql`intDiv(toUnixTimestamp64Milli(captured_at) - ${param.Int64(from)}, ${param.Int64(HOUR_MS)})`;
}

/**
 * Today's counts by capture time within [from, to) — the wall's "today". With `county`, only that
 * county's business; its dead letters are those of collectors filed for its institutions (a dead
 * letter is a record that could not be read, so it has no county of its own).
 *
 * Transactions per institution, per hour and per business type are distinct ids, and a re-sent
 * batch leaves copies of its rows until the engine folds them — yet a distinct count per grouping
 * (uniqExact(id) of each, as the wall used to ask) hashes every id of the day once per breakdown,
 * most of each statistics round (docs/benchmarks.md). Instead: rows counted per grouping (no
 * hashing), then the ids stored more than once that day (one pass over the ids, almost always
 * none), and only if there are any, the surplus of those ids' rows subtracted per grouping. A
 * grouping's distinct count is its row count minus its copies, and every copy belongs to an id
 * that has more than one row in the day, so the figures are exactly the distinct counts. Past
 * DUPLICATE_IDS_MAX such ids (a mass re-send) the surplus is computed over the ids that a subquery
 * finds again, the same figures at the cost of one more pass. Together about 30 % less of the
 * store's CPU than the three distinct counts, at a day of 240,000 rows over a few institutions
 * and at one of 270,000 over 3,000.
 *
 * Warnings keep a uniqExact per grouping in one scan: a few percent of the transactions.
 * grouping(x) = 0 marks the rows of the sets that hold x.
 */
export async function dayStats(
  store: Store,
  from: number,
  to: number,
  county: string | null = null,
  duplicateIdsMax = DUPLICATE_IDS_MAX,
): Promise<DayStats> {
  const f = param.DateTime64(from);
  const t = param.DateTime64(to);
  const hour = captureHourFrom(from);
  const day = sql`captured_at >= ${f} AND captured_at < ${t}${inCounty(county)}`;
  type Grouped = {
    institution_id: string;
    h: number | string;
    kind: string;
    ywlx: string;
    cty: string;
    n: string;
    warned: string;
    gi: number | string;
    gh: number | string;
  };
  // The county is read as `cty`: an alias named `county` would shadow the column in WHERE.
  const grouped = (measures: SqlQuery, where: SqlQuery) => sql`
    SELECT institution_id, ${hour} AS h, kind, ywlx, any(county) AS cty, ${measures},
      grouping(institution_id) AS gi, grouping(h) AS gh
    FROM transactions WHERE ${day}${where}
    GROUP BY GROUPING SETS ((institution_id), (h), (kind, ywlx))`;
  const txn = await store.query<Grouped>(grouped(sql`count() AS n, countIf(warning_count > 0) AS warned`, sql``));
  // Candidates by a 64-bit hash of the id (a fixed-size key groups faster than the string): a
  // collision only adds an id with one row, whose surplus is 0, so the figures stay exact.
  const copied = await store.query<{ k: string }>(sql`
    SELECT toString(cityHash64(id)) AS k FROM transactions WHERE ${day}
    GROUP BY cityHash64(id) HAVING count() > 1 LIMIT ${param.UInt32(duplicateIdsMax + 1)}`);
  // Copies per grouping, subtracted below: `i:<institution>`, `h:<hour>`, `t:<kind>/<ywlx>`.
  const key = (r: Grouped) => (Number(r.gi) === 0 ? `i:${r.institution_id}` : Number(r.gh) === 0 ? `h:${r.h}` : `t:${r.kind}/${r.ywlx}`);
  const extra = new Map<string, Grouped>();
  if (copied.length > 0) {
    const ids =
      copied.length <= duplicateIdsMax
        ? sql` AND cityHash64(id) IN ${param.typed('Array(UInt64)', copied.map((r) => BigInt(r.k)))}`
        : sql` AND cityHash64(id) IN (SELECT cityHash64(id) FROM transactions WHERE ${day} GROUP BY cityHash64(id) HAVING count() > 1)`;
    const surplus = await store.query<Grouped>(
      grouped(sql`count() - uniqExact(id) AS n, countIf(warning_count > 0) - uniqExactIf(id, warning_count > 0) AS warned`, ids),
    );
    for (const r of surplus) extra.set(key(r), r);
  }
  const distinct = (r: Grouped) => {
    const x = extra.get(key(r));
    return { n: Number(r.n) - Number(x?.n ?? 0), warned: Number(r.warned) - Number(x?.warned ?? 0) };
  };
  const warn = await store.query<{ institution_id: string; h: number | string; cty: string; n: string; holds: string; by_hour: number | string }>(sql`
    SELECT institution_id, ${hour} AS h, any(county) AS cty, uniqExact(id) AS n, uniqExactIf(id, action = 'hold') AS holds, grouping(institution_id) AS by_hour
    FROM warnings WHERE ${day}
    GROUP BY GROUPING SETS ((institution_id), (h))`);
  const hourCount = Math.max(0, Math.ceil((to - from) / HOUR_MS));
  const hours = { transactions: new Array<number>(hourCount).fill(0), warnings: new Array<number>(hourCount).fill(0) };
  const inHours = (h: number | string) => {
    const i = Number(h);
    return Number.isInteger(i) && i >= 0 && i < hourCount ? i : -1;
  };
  const dlCounty = county
    ? sql` AND collector_id IN (SELECT collector_id FROM collectors FINAL WHERE institution_id IN (SELECT id FROM institutions FINAL WHERE county = ${param.String(county)}))`
    : sql``;
  const [dl] = await store.query<{ n: string }>(sql`
    SELECT uniqExact(collector_id, record_key) AS n FROM dead_letters
    WHERE received_at >= ${param.DateTime64(from)} AND received_at < ${param.DateTime64(to)}${dlCounty}`);

  const inst = new Map<string, { id: string; county: string; transactions: number; warnings: number }>();
  const types: DayStats['types'] = [];
  for (const r of txn) {
    const { n, warned } = distinct(r);
    if (Number(r.gi) === 0) inst.set(r.institution_id, { id: r.institution_id, county: r.cty, transactions: n, warnings: 0 });
    else if (Number(r.gh) === 0) {
      const i = inHours(r.h);
      if (i >= 0) hours.transactions[i] = n;
    } else types.push({ kind: r.kind, ywlx: r.ywlx, transactions: n, warned });
  }
  // Largest first, then by code: the order the wall lists them in.
  const byCode = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  types.sort((a, b) => b.transactions - a.transactions || byCode(a.kind, b.kind) || byCode(a.ywlx, b.ywlx));
  let holds = 0;
  for (const r of warn) {
    if (Number(r.by_hour) !== 0) {
      const i = inHours(r.h);
      if (i >= 0) hours.warnings[i] = Number(r.n);
      continue;
    }
    const cur = inst.get(r.institution_id) ?? { id: r.institution_id, county: r.cty, transactions: 0, warnings: 0 };
    cur.warnings = Number(r.n);
    holds += Number(r.holds);
    inst.set(r.institution_id, cur);
  }
  const counties = new Map<string, { county: string; transactions: number; warnings: number }>();
  for (const i of inst.values()) {
    const c = counties.get(i.county) ?? { county: i.county, transactions: 0, warnings: 0 };
    c.transactions += i.transactions;
    c.warnings += i.warnings;
    counties.set(i.county, c);
  }
  const all = [...inst.values()];
  return {
    counties: [...counties.values()],
    institutions: all.map(({ id, transactions, warnings }) => ({ id, transactions, warnings })),
    transactions: all.reduce((s, i) => s + i.transactions, 0),
    warnings: all.reduce((s, i) => s + i.warnings, 0),
    holds,
    deadLetters: Number(dl?.n ?? 0),
    hours,
    types,
  };
}

export interface WarningRecord {
  id: string;
  rule_id: string;
  rule_name: string;
  rule_version: string;
  family: string;
  severity: string;
  action: string;
  transaction_id: string;
  batch_id: string;
  collector_id: string;
  institution_id: string;
  county: string;
  occurred_at: number;
  captured_at: number;
  raised_at: number;
  explanation: string;
  values_json: string;
  subject_masked: string;
}

const WARNING_COLUMNS = sql`id, rule_id, rule_name, rule_version, family, severity, action, transaction_id, batch_id,
  collector_id, institution_id, county, toUnixTimestamp64Milli(occurred_at) AS occurred_at,
  toUnixTimestamp64Milli(captured_at) AS captured_at, toUnixTimestamp64Milli(raised_at) AS raised_at,
  explanation, values_json, subject_masked`;

function normaliseWarning(r: WarningRecord): WarningRecord {
  return { ...r, occurred_at: Number(r.occurred_at), captured_at: Number(r.captured_at), raised_at: Number(r.raised_at) };
}

/** The stored row back as the domain's Warning. */
export function warningFromRecord(r: WarningRecord): Warning {
  let values: Warning['values'] = {};
  try {
    values = JSON.parse(r.values_json) as Warning['values'];
  } catch {
    // A row written by hand or by an older version: keep the warning, lose only its values.
  }
  return {
    id: r.id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    ruleVersion: r.rule_version,
    family: r.family as Warning['family'],
    severity: r.severity as Warning['severity'],
    action: r.action as Warning['action'],
    transactionId: r.transaction_id,
    batchId: r.batch_id,
    collectorId: r.collector_id,
    institutionId: r.institution_id,
    county: r.county,
    occurredAt: r.occurred_at,
    capturedAt: r.captured_at,
    raisedAt: r.raised_at,
    explanation: r.explanation,
    values,
    subjectMasked: r.subject_masked,
  };
}

/** The newest warnings (of one county when `county` is given). */
export async function recentWarnings(store: Store, limit: number, county: string | null = null): Promise<WarningRecord[]> {
  const rows = await store.query<WarningRecord>(sql`
    SELECT ${WARNING_COLUMNS} FROM warnings FINAL WHERE 1${inCounty(county)} ORDER BY raised_at DESC, id LIMIT ${param.UInt32(limit)}`);
  return rows.map(normaliseWarning);
}

export interface WarningFilter {
  institutionId?: string;
  county?: string;
  ruleId?: string;
  limit: number;
  offset: number;
}

export async function listWarnings(store: Store, f: WarningFilter): Promise<{ total: number; items: WarningRecord[] }> {
  const where = sql`(${param.String(f.institutionId ?? '')} = '' OR institution_id = ${param.String(f.institutionId ?? '')})
    AND (${param.String(f.county ?? '')} = '' OR county = ${param.String(f.county ?? '')})
    AND (${param.String(f.ruleId ?? '')} = '' OR rule_id = ${param.String(f.ruleId ?? '')})`;
  const [cnt] = await store.query<{ n: string }>(sql`SELECT count() AS n FROM warnings FINAL WHERE ${where}`);
  const items = await store.query<WarningRecord>(sql`
    SELECT ${WARNING_COLUMNS} FROM warnings FINAL WHERE ${where}
    ORDER BY raised_at DESC, id LIMIT ${param.UInt32(f.limit)} OFFSET ${param.UInt32(f.offset)}`);
  return { total: Number(cnt?.n ?? 0), items: items.map(normaliseWarning) };
}

// ---- command-centre wall extras (hub/src/live/wall.ts) ----------------------------------------

export interface WallWorkflowStats {
  /** Warnings concluded in [from, to). */
  concluded: number;
  /** Of those, concluded without ever being escalated (no deadline missed). */
  onTime: number;
  /** Open warnings (raised … verifying) that were escalated: overdue, still not done. */
  overdue: number;
}

/**
 * The current workflow state of every warning that has events (migration 060: one row each in
 * `warning_state`, kept by its materialized view), with the columns of the `warning_current` view
 * a join needs — for joins over many warnings, where the view folded every event ever written on
 * each call. A warning without events has no row (state raised, seq 0, as a LEFT JOIN leaves it).
 */
export const CURRENT_STATE = sql`(SELECT warning_id, seq, state, assignee, conclusion, escalated, updated_at FROM warning_state FINAL WHERE sign = 1)`;

/**
 * The open warnings that have events (raised … verifying), one state row each: the open range of
 * `warning_state`'s sorting key, whatever the years of closed warnings behind it. Every row
 * carries its warning's institution, county, raise time, rule and severity (migration 090).
 */
export const OPEN_STATE = sql`(SELECT warning_id, institution_id, county, seq, state, assignee, conclusion, escalated, updated_at, raised_at, rule_id, severity
  FROM warning_state FINAL WHERE is_open = 1 AND sign = 1)`;

/**
 * Deadlines are computed (calendar + SLA), not stored, so a missed deadline is read from the
 * `escalated` flag the overdue sweep's event sets (carried by every later event). Concluded: the
 * warnings with a conclusion in [from, to), on time when it was reached unescalated (the flag the
 * concluding event carries); overdue: the open warnings that were escalated, from the open range
 * of warning_state (migration 060). Neither folds the whole event log; every event and state row
 * carries its warning's county.
 */
export async function wallWorkflowStats(store: Store, from: number, to: number, county: string | null = null): Promise<WallWorkflowStats> {
  const [concl, open] = await Promise.all([
    store.query<{ concluded: string; on_time: string }>(sql`
      SELECT uniqExact(warning_id) AS concluded, uniqExact(warning_id) - uniqExactIf(warning_id, escalated = 1) AS on_time
      FROM warning_events
      WHERE type = 'concluded' AND at >= ${param.DateTime64(from)} AND at < ${param.DateTime64(to)}${inCounty(county)}`),
    store.query<{ overdue: string }>(sql`SELECT count() AS overdue FROM ${OPEN_STATE} WHERE escalated = 1${inCounty(county)}`),
  ]);
  return { concluded: Number(concl[0]?.concluded ?? 0), onTime: Number(concl[0]?.on_time ?? 0), overdue: Number(open[0]?.overdue ?? 0) };
}

export interface CollectorHealthCounts {
  silent: number;
  gap: number;
  tamper: number;
}

/**
 * Collector warnings (family 'collector') raised in [from, to): counts per kind and the latest few.
 * With `county`, those of collectors at that county's institutions (the warning's county).
 */
export async function collectorHealth(
  store: Store,
  from: number,
  to: number,
  limit: number,
  county: string | null = null,
): Promise<{ counts: CollectorHealthCounts; latest: WarningRecord[] }> {
  const rows = await store.query<{ rule_id: string; n: string }>(sql`
    SELECT rule_id, uniqExact(id) AS n FROM warnings
    WHERE family = 'collector' AND raised_at >= ${param.DateTime64(from)} AND raised_at < ${param.DateTime64(to)}${inCounty(county)}
    GROUP BY rule_id`);
  const counts: CollectorHealthCounts = { silent: 0, gap: 0, tamper: 0 };
  for (const r of rows) {
    if (r.rule_id === 'collector.silent') counts.silent = Number(r.n);
    else if (r.rule_id === 'collector.gap') counts.gap = Number(r.n);
    else if (r.rule_id === 'collector.tamper') counts.tamper = Number(r.n);
  }
  const total = counts.silent + counts.gap + counts.tamper;
  const latest =
    total === 0
      ? []
      : await store.query<WarningRecord>(sql`
          SELECT ${WARNING_COLUMNS} FROM
          (
            -- Filter before WARNING_COLUMNS re-aliases raised_at as epoch ms.
            SELECT * FROM warnings
            WHERE family = 'collector' AND raised_at >= ${param.DateTime64(from)} AND raised_at < ${param.DateTime64(to)}${inCounty(county)}
          )
          ORDER BY raised_at DESC, id LIMIT 1 BY id LIMIT ${param.UInt32(limit)}`);
  return { counts, latest: latest.map(normaliseWarning) };
}

/**
 * p95 of stored_at − captured_at (ms) of transactions stored in [now − windowMs, now]; null when
 * none. Records captured more than `maxAgeMs` ago (a collector's backlog after days offline) are
 * left out: the bound lets ClickHouse skip old parts (stored_at has no index), and such a backlog
 * is reported by collector.gap / collector.silent, not as pipeline lag.
 */
export async function pipelineLagP95(
  store: Store,
  now: number,
  windowMs: number,
  maxAgeMs = 2 * 86_400_000,
): Promise<{ p95Ms: number | null; n: number }> {
  const [r] = await store.query<{ p95: number | string | null; n: string }>(sql`
    SELECT quantile(0.95)(toUnixTimestamp64Milli(stored_at) - toUnixTimestamp64Milli(captured_at)) AS p95, count() AS n
    FROM transactions
    WHERE captured_at >= ${param.DateTime64(now - maxAgeMs)} AND stored_at >= ${param.DateTime64(now - windowMs)}`);
  const n = Number(r?.n ?? 0);
  const p95 = Number(r?.p95);
  return { p95Ms: n > 0 && Number.isFinite(p95) ? Math.max(0, Math.round(p95)) : null, n };
}

export interface ScoreRankRow {
  institution_id: string;
  score: number;
  grade: string;
  veto: boolean;
}

/** Institutions of one month by evaluation score (best first), from the materialised table. */
export async function monthScoreRanking(store: Store, month: string, limit: number): Promise<ScoreRankRow[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT institution_id, score, grade, veto FROM evaluation_scores FINAL
    WHERE month = ${param.String(month)}
    ORDER BY score DESC, institution_id LIMIT ${param.UInt32(limit)}`);
  return rows.map((r) => ({ institution_id: String(r.institution_id), score: Number(r.score), grade: String(r.grade), veto: Number(r.veto) === 1 }));
}
