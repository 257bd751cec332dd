/**
 * Workflow queries: the event log, the warning joined with its derived state, and the extended
 * warnings list. All SQL through `sql`.
 */
import { joinSql, param, sql, type SqlQuery } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { CURRENT_STATE, OPEN_STATE, type WarningRecord } from '../store/repo.js';
import type { Severity } from '@jianguan/rules';
import type { TransactionView, WarningItem } from '../protocol/index.js';
import { COUNTY_BY_CODE, SEVERITY_LABELS } from '@jianguan/rules';
import { CONCLUSION_LABELS, STATE_LABELS, UNVERIFIED_STATES, type ActorRole, type Conclusion, type EventPayload, type EventType, type WarningState, type WarningStateName, type WorkflowEvent } from './machine.js';

export interface EventRow {
  id: string;
  warning_id: string;
  seq: number;
  type: string;
  from_state: string;
  to_state: string;
  actor: string;
  role: string;
  at: number;
  assignee: string;
  conclusion: string;
  escalated: number;
  institution_id: string;
  county: string;
  payload: string;
  raised_at: number;
  rule_id: string;
  severity: string;
}

/**
 * Where a warning is and what the lists filter it by: what every event carries of its warning, so
 * that the state row it writes (warning_state, migrations 060 and 090) answers the open lists alone.
 */
export interface WarningPlace {
  institution_id: string;
  county: string;
  raised_at: number;
  rule_id: string;
  severity: string;
}

export function eventRow(e: WorkflowEvent, from: WarningState, to: WarningState, w: WarningPlace): EventRow {
  return {
    id: `${e.warningId}#${e.seq}`,
    warning_id: e.warningId,
    seq: e.seq,
    type: e.type,
    from_state: from.state,
    to_state: to.state,
    actor: e.actor,
    role: e.role,
    at: e.at,
    assignee: to.assignee ?? '',
    conclusion: to.conclusion ?? '',
    escalated: to.escalated ? 1 : 0,
    institution_id: w.institution_id,
    county: w.county,
    payload: JSON.stringify(e.payload),
    raised_at: w.raised_at,
    rule_id: w.rule_id,
    severity: w.severity,
  };
}

export async function loadEvents(store: Store, warningIds: readonly string[]): Promise<Map<string, WorkflowEvent[]>> {
  const out = new Map<string, WorkflowEvent[]>(warningIds.map((id) => [id, []]));
  if (warningIds.length === 0) return out;
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT warning_id, seq, type, actor, role, toUnixTimestamp64Milli(at) AS at, payload
    FROM warning_events WHERE warning_id IN ${param.ArrayString([...warningIds])}
    ORDER BY warning_id, seq`);
  for (const r of rows) {
    const id = String(r.warning_id);
    out.get(id)?.push({
      warningId: id,
      seq: Number(r.seq),
      type: r.type as EventType,
      actor: String(r.actor),
      role: r.role as ActorRole,
      at: Number(r.at),
      payload: JSON.parse(String(r.payload || '{}')) as EventPayload,
    });
  }
  return out;
}

const WARNING_COLUMNS = sql`w.id AS id, w.rule_id AS rule_id, w.rule_name AS rule_name, w.rule_version AS rule_version,
  w.family AS family, w.severity AS severity, w.action AS action, w.transaction_id AS transaction_id, w.batch_id AS batch_id,
  w.collector_id AS collector_id, w.institution_id AS institution_id, w.county AS county,
  toUnixTimestamp64Milli(w.occurred_at) AS occurred_at, toUnixTimestamp64Milli(w.captured_at) AS captured_at,
  toUnixTimestamp64Milli(w.raised_at) AS raised_at, w.explanation AS explanation, w.values_json AS values_json,
  w.subject_masked AS subject_masked`;

const STATE_COLUMNS = sql`if(c.seq = 0, 'raised', c.state) AS state, c.seq AS seq, c.assignee AS assignee,
  c.conclusion AS conclusion, c.escalated AS escalated, toUnixTimestamp64Milli(c.updated_at) AS updated_at`;

export interface WarningWithState extends WarningRecord {
  state: WarningStateName;
  seq: number;
  assignee: string;
  conclusion: Conclusion | '';
  escalated: boolean;
  updated_at: number;
  /** The transaction's business number; set by the list query only. */
  lsh?: string;
}

function normalise(r: Record<string, unknown>): WarningWithState {
  return {
    ...(r as unknown as WarningWithState),
    occurred_at: Number(r.occurred_at),
    captured_at: Number(r.captured_at),
    raised_at: Number(r.raised_at),
    seq: Number(r.seq ?? 0),
    escalated: Number(r.escalated ?? 0) === 1,
    updated_at: Number(r.updated_at ?? 0),
    state: (r.state || 'raised') as WarningStateName,
  };
}

export async function warningsByIds(store: Store, ids: readonly string[], institutions?: readonly string[]): Promise<Map<string, WarningWithState>> {
  if (ids.length === 0) return new Map();
  // `warnings` is sorted by (institution_id, id): by id alone every granule's ids are read (a
  // scan that grows with the years); a caller that knows the institutions narrows it to theirs.
  const inInstitutions = institutions?.length ? sql`institution_id IN ${param.ArrayString([...new Set(institutions)])} AND ` : sql``;
  // One row per id, the one raised last — what FINAL gives (ReplacingMergeTree(raised_at)) — by
  // `LIMIT 1 BY id` over the few rows found: FINAL merged every part of the table for it
  // (measured at 300,000 warnings: 86–90 ms a call with FINAL, 9 ms this way).
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT ${WARNING_COLUMNS}, ${STATE_COLUMNS}
    FROM (SELECT * FROM warnings WHERE ${inInstitutions}id IN ${param.ArrayString([...ids])} ORDER BY raised_at DESC LIMIT 1 BY id) AS w
    LEFT JOIN (SELECT * FROM warning_current WHERE warning_id IN ${param.ArrayString([...ids])}) AS c ON c.warning_id = w.id`);
  return new Map(rows.map((r) => [String(r.id), normalise(r)]));
}

/** Every key's capture time known (and some key given): what `readByKeys` narrows by first. */
function timed(keys: readonly RowKey[]): boolean {
  return keys.length > 0 && keys.every((k) => k.capturedAt !== undefined && Number.isFinite(k.capturedAt));
}

/** A row of `transactions` (or `warnings`) by its sorting key, with its capture time when known. */
interface RowKey {
  id: string;
  institutionId: string;
  capturedAt?: number;
}

/**
 * Rows of a table sorted by (institution_id, id) and partitioned by capture month (`transactions`;
 * `warnings` alike) found by their keys. With `withTimes` (every key's capture time known): the
 * (institution, id) pairs as one set over the sorting key and the capture times as another, so
 * only the parts whose time range holds one of them are read. Without: the institutions and the
 * ids as two sets, which select, in every monthly partition, each institution's granules from its
 * smallest to its largest id. At 100 million transactions, the 50 business numbers of a list's
 * page: pairs and times 25–37 ms, the two sets and times 29–54, the two sets alone 170–260, the
 * pairs alone 430–530 (docs/benchmarks.md). A row whose capture time differs from the one given
 * is not found with `withTimes`: `readByKeys` looks again without it.
 */
function byKeys(keys: readonly RowKey[], withTimes: boolean): SqlQuery {
  if (!withTimes) {
    return sql`institution_id IN ${param.ArrayString([...new Set(keys.map((k) => k.institutionId))])} AND id IN ${param.ArrayString([...new Set(keys.map((k) => k.id))])}`;
  }
  const pairs = sql`(institution_id, id) IN (SELECT arrayJoin(arrayZip(${param.ArrayString(keys.map((k) => k.institutionId))}, ${param.ArrayString(keys.map((k) => k.id))})))`;
  const times = [...new Set(keys.map((k) => Math.trunc(k.capturedAt!)))];
  return sql`${pairs} AND captured_at IN (SELECT arrayJoin(arrayMap(x -> fromUnixTimestamp64Milli(x, 'UTC'), ${param.typed('Array(Int64)', times)})))`;
}

/**
 * The rows `read` finds for a condition on the keys (`byKeys`): narrowed by capture time when
 * every key has one, and the keys that read missed (a warning raised over a period may not carry
 * its transaction's capture time) looked for again by institution and id alone.
 */
async function readByKeys<R extends { id: unknown }>(keys: readonly RowKey[], read: (where: SqlQuery) => Promise<R[]>): Promise<R[]> {
  if (!timed(keys)) return read(byKeys(keys, false));
  const first = await read(byKeys(keys, true));
  const found = new Set(first.map((r) => String(r.id)));
  const missed = keys.filter((k) => !found.has(k.id));
  return missed.length > 0 ? [...first, ...(await read(byKeys(missed, false)))] : first;
}

export interface WarningListFilter {
  institutionId?: string;
  county?: string;
  ruleId?: string;
  severity?: string;
  states?: WarningStateName[];
  assignee?: string;
  /** Escalated (超期督办) and still not verified. */
  overdue?: boolean;
  /** raised_at range, epoch ms. */
  from?: number;
  to?: number;
  limit: number;
  offset: number;
}

function listWhere(f: WarningListFilter): SqlQuery {
  const c: SqlQuery[] = [];
  if (f.institutionId) c.push(sql`w.institution_id = ${param.String(f.institutionId)}`);
  if (f.county) c.push(sql`w.county = ${param.String(f.county)}`);
  if (f.ruleId) c.push(sql`w.rule_id = ${param.String(f.ruleId)}`);
  if (f.severity) c.push(sql`w.severity = ${param.String(f.severity)}`);
  if (f.states?.length) c.push(sql`if(c.seq = 0, 'raised', c.state) IN ${param.ArrayString(f.states)}`);
  if (f.assignee !== undefined) c.push(sql`c.assignee = ${param.String(f.assignee)}`);
  if (f.overdue !== undefined) {
    c.push(
      f.overdue
        ? sql`c.escalated = 1 AND c.state IN ('raised', 'assigned', 'acknowledged', 'verifying')`
        : sql`NOT (c.escalated = 1 AND c.state IN ('raised', 'assigned', 'acknowledged', 'verifying'))`,
    );
  }
  if (f.from !== undefined) c.push(sql`w.raised_at >= ${param.DateTime64(f.from)}`);
  if (f.to !== undefined) c.push(sql`w.raised_at < ${param.DateTime64(f.to)}`);
  return joinSql(c, ' AND ');
}

/**
 * Warnings raised without any event have no row in `warning_state`; they are looked for among the
 * warnings raised in this window. Such a warning is assigned by the next sweep when an auditor
 * covers it and escalated (an event) once a deadline passes, so an older one exists only when the
 * sweep did not run for that long.
 */
export const NO_EVENT_WINDOW_MS = 90 * 86_400_000;

/** Which open warnings `openRows` gives: conditions over the columns `warnings` and the state rows share. */
interface OpenRowsWhere {
  /** Institution, county, rule, severity: a warning's and its state row's are the same. */
  place: SqlQuery;
  /** Raise time. */
  raised: SqlQuery;
  /** The state columns (state, assignee, escalated), of the warnings with events. */
  state: SqlQuery;
  /** Also the warnings raised since `since` without any event yet (state raised, seq 0). */
  withoutEvents: { since: number } | null;
}

/**
 * Open warnings as (id, inst, at = raise time) rows, for a page sorted by raise time: those with
 * events from warning_state alone (its rows carry the raise time, rule and severity the lists
 * filter by, migration 090), and the warnings raised recently without any event, which only
 * `warnings` knows. Before the state rows carried the raise time, every page read the warnings of
 * every month to keep the open ones (docs/benchmarks.md, "The open lists from the state rows").
 */
function openRows(w: OpenRowsWhere): SqlQuery {
  const withEvents = sql`SELECT warning_id AS id, institution_id AS inst, raised_at AS at FROM ${OPEN_STATE} WHERE ${w.place} AND ${w.raised} AND ${w.state}`;
  if (!w.withoutEvents) return withEvents;
  // Any event of a warning raised at or after `since` happened at or after it, so the warnings
  // with events among them are those with a state row updated since then (of the same place).
  // Compared by 64-bit hash (a set of numbers instead of strings: 103 instead of 203 ms at a
  // province's 750,000 warnings of 90 days); a collision would hide one raised warning behind
  // another that has events, at odds of about 1 in 10^7 for that many. PREWHERE on the raise time
  // only (the column FINAL keeps the largest of): a copy of a warning that passes it is never
  // older than one that does not, so FINAL still keeps the latest copy of each warning it returns.
  const since = param.DateTime64(w.withoutEvents.since);
  return sql`${withEvents}
    UNION ALL
    SELECT id, institution_id AS inst, raised_at AS at FROM warnings FINAL PREWHERE raised_at >= ${since}
    WHERE ${w.place} AND ${w.raised}
      AND cityHash64(id) NOT IN (SELECT cityHash64(warning_id) FROM warning_state WHERE updated_at >= ${since} AND ${w.place})`;
}

/**
 * One page of warnings: each of the given ids with the whole warning and its state (by id and
 * institution, a key lookup), in the order given.
 */
async function pageOf(store: Store, page: readonly { id: string; institution_id: string }[]): Promise<WarningWithState[]> {
  const found = await warningsByIds(
    store,
    page.map((p) => p.id),
    page.map((p) => p.institution_id),
  );
  return page.flatMap((p) => {
    const w = found.get(p.id);
    return w ? [w] : [];
  });
}

/** Only open warnings asked for: states all open, or the overdue queue (escalated, still open)? */
function asksOpenOnly(f: WarningListFilter): boolean {
  if (f.overdue === true) return true;
  return (f.states?.length ?? 0) > 0 && f.states!.every((st) => UNVERIFIED_STATES.includes(st));
}

/** The list's filters on a warning's place: institution, county, rule, severity. */
function placeWhere(f: WarningListFilter): SqlQuery {
  const c: SqlQuery[] = [sql`1`];
  if (f.institutionId) c.push(sql`institution_id = ${param.String(f.institutionId)}`);
  if (f.county) c.push(sql`county = ${param.String(f.county)}`);
  if (f.ruleId) c.push(sql`rule_id = ${param.String(f.ruleId)}`);
  if (f.severity) c.push(sql`severity = ${param.String(f.severity)}`);
  return joinSql(c, ' AND ');
}

/** The list's filters on the raise time. */
function raisedWhere(f: WarningListFilter): SqlQuery {
  const c: SqlQuery[] = [sql`1`];
  if (f.from !== undefined) c.push(sql`raised_at >= ${param.DateTime64(f.from)}`);
  if (f.to !== undefined) c.push(sql`raised_at < ${param.DateTime64(f.to)}`);
  return joinSql(c, ' AND ');
}

function warningWhere(f: WarningListFilter): SqlQuery {
  return sql`${placeWhere(f)} AND ${raisedWhere(f)}`;
}

/**
 * The warnings list (GET /api/v1/warnings, its exports, the workbench queues). Three shapes, so
 * that no page folds the whole event log:
 *  - open states only (the queues): the open range of warning_state, and the warnings raised
 *    recently without events (`openRows`);
 *  - no state, assignee or overdue filter: the page comes from `warnings`, then its states;
 *  - other states (concluded, closed, …): every warning joined with its current state row.
 */
export async function listWarningsWithState(store: Store, f: WarningListFilter): Promise<{ total: number; items: WarningWithState[] }> {
  const { count, page } = listQueries(f);
  // Where the page carries the total (a window count over the deduplicated rows) the candidates
  // are found once; otherwise, or for a page past the end, the count is asked for alone.
  // (Aliases differ from column names: in ClickHouse an alias shadows the column in WHERE.)
  const rows = await store.query<{ id: string; inst: string; total?: string }>(page);
  // An empty first page means nothing matches: no count is needed (it cost as much as the page).
  const total =
    rows[0]?.total !== undefined ? Number(rows[0].total) : rows.length === 0 && f.offset === 0 ? 0 : Number((await store.query<{ n: string }>(count))[0]?.n ?? 0);
  const items = await pageOf(
    store,
    rows.map((r) => ({ id: r.id, institution_id: r.inst })),
  );
  // The business number (LSH) lives on the transaction; one lookup for the page, so a queue shows
  // it without a detail request per row.
  const lsh = await lshOf(store, items);
  for (const w of items) w.lsh = lsh.get(w.transaction_id) ?? '';
  return { total, items };
}

/**
 * FINAL, one monthly partition at a time: a warning stored twice (a re-sent batch, until its parts
 * merge) has the same capture time both times, so its copies are always in one partition, and a
 * partition already merged into one part is read without merging (a province's 3 million warnings
 * counted in 45 ms instead of 320–630).
 */
const FINAL_PER_PARTITION = sql`SETTINGS do_not_merge_across_partitions_select_final = 1`;

/**
 * The list's page — (id, inst, and with `total` the count of all matching rows), newest first —
 * and its count, in one of the three shapes. Warnings deduplicated by FINAL.
 */
function listQueries(f: WarningListFilter): { count: SqlQuery; page: SqlQuery } {
  const window = sql`LIMIT ${param.UInt32(f.limit)} OFFSET ${param.UInt32(f.offset)}`;
  if (asksOpenOnly(f)) {
    // Few candidates: the page carries the total, so they are found once.
    const c: SqlQuery[] = [sql`1`];
    if (f.states?.length) c.push(sql`state IN ${param.ArrayString(f.states)}`);
    if (f.assignee !== undefined) c.push(sql`assignee = ${param.String(f.assignee)}`);
    if (f.overdue === true) c.push(sql`escalated = 1`);
    if (f.overdue === false) c.push(sql`escalated = 0`);
    const raisedAsked = f.assignee === undefined && f.overdue !== true && (!f.states?.length || f.states.includes('raised'));
    const open = openRows({
      place: placeWhere(f),
      raised: raisedWhere(f),
      state: joinSql(c, ' AND '),
      withoutEvents: raisedAsked ? { since: Date.now() - NO_EVENT_WINDOW_MS } : null,
    });
    return {
      count: sql`SELECT count() AS n FROM (${open}) ${FINAL_PER_PARTITION}`,
      page: sql`SELECT id, inst, count() OVER () AS total FROM (${open}) ORDER BY at DESC, id ${window} ${FINAL_PER_PARTITION}`,
    };
  }
  if (!f.states?.length && f.assignee === undefined && f.overdue === undefined) {
    // Over all warnings a separate count is cheaper than counting beside a top-N sort.
    return {
      count: sql`SELECT count() AS n FROM warnings FINAL WHERE ${warningWhere(f)} ${FINAL_PER_PARTITION}`,
      page: sql`SELECT id, institution_id AS inst FROM warnings FINAL WHERE ${warningWhere(f)} ORDER BY raised_at DESC, id ${window} ${FINAL_PER_PARTITION}`,
    };
  }
  // Only the columns the filters and the order need, each joined to its state row.
  const from = sql`(SELECT id, institution_id, county, rule_id, severity, raised_at FROM warnings FINAL WHERE ${warningWhere(f)}) AS w
    LEFT JOIN ${CURRENT_STATE} AS c ON c.warning_id = w.id`;
  return {
    count: sql`SELECT count() AS n FROM ${from} WHERE ${listWhere(f)} ${FINAL_PER_PARTITION}`,
    page: sql`
      SELECT w.id AS id, w.institution_id AS inst, count() OVER () AS total FROM ${from} WHERE ${listWhere(f)}
      ORDER BY w.raised_at DESC, w.id ${window} ${FINAL_PER_PARTITION}`,
  };
}

async function lshOf(store: Store, warnings: readonly { transaction_id: string; institution_id: string; captured_at: number }[]): Promise<Map<string, string>> {
  // A warning carries its transaction's capture time, so the lookup reads the parts holding it.
  const keys = new Map<string, RowKey>();
  for (const w of warnings) if (w.transaction_id) keys.set(w.transaction_id, { id: w.transaction_id, institutionId: w.institution_id, capturedAt: w.captured_at });
  if (keys.size === 0) return new Map();
  const rows = await readByKeys([...keys.values()], (where) =>
    store.query<{ id: string; lsh: string }>(sql`SELECT id, any(lsh) AS lsh FROM transactions WHERE ${where} GROUP BY id`),
  );
  return new Map(rows.map((r) => [r.id, r.lsh]));
}

/** A warning as the REST API answers it (schema: WarningItemSchema in @jianguan/protocol). */
export type { WarningItem } from '../protocol/index.js';

function parsedObject(json: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(json || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function warningItem(w: WarningWithState, institutionName: (id: string) => string): WarningItem {
  return {
    id: w.id,
    ruleId: w.rule_id,
    ruleName: w.rule_name,
    ruleVersion: w.rule_version,
    family: w.family,
    // Severities are written by the rule engine from its enum; the column is a plain string.
    severity: w.severity as Severity,
    severityLabel: SEVERITY_LABELS[w.severity as keyof typeof SEVERITY_LABELS] ?? w.severity,
    action: w.action,
    transactionId: w.transaction_id,
    lsh: w.lsh ?? '',
    batchId: w.batch_id,
    collectorId: w.collector_id,
    institutionId: w.institution_id,
    institutionName: institutionName(w.institution_id),
    county: w.county,
    countyName: COUNTY_BY_CODE.get(w.county)?.name ?? '',
    occurredAt: w.occurred_at,
    capturedAt: w.captured_at,
    raisedAt: w.raised_at,
    explanation: w.explanation,
    values: parsedObject(w.values_json),
    subjectMasked: w.subject_masked,
    state: w.state,
    stateLabel: STATE_LABELS[w.state] ?? w.state,
    seq: w.seq,
    assignee: w.assignee,
    conclusion: w.conclusion,
    conclusionLabel: w.conclusion ? CONCLUSION_LABELS[w.conclusion] : '',
    escalated: w.escalated,
    updatedAt: w.updated_at,
  };
}

/**
 * Warnings with no event yet (state raised), newest first: a backlog nobody can be assigned to
 * (no auditor covers its county) must not starve new warnings. Raised warnings with events
 * (commented, escalated while raised) count as well.
 */
export async function unassignedWarnings(store: Store, since: number, limit: number): Promise<WarningWithState[]> {
  const open = openRows({ place: sql`1`, raised: sql`raised_at >= ${param.DateTime64(since)}`, state: sql`state = 'raised'`, withoutEvents: { since } });
  const page = await store.query<{ id: string; institution_id: string }>(sql`
    SELECT id, inst AS institution_id FROM (${open})
    ORDER BY at DESC, id LIMIT 1 BY id LIMIT ${param.UInt32(limit)} ${FINAL_PER_PARTITION}`);
  return (await pageOf(store, page)).filter((w) => w.state === 'raised');
}

/**
 * Open warnings not yet escalated, raised before `before` (candidates for the overdue check),
 * oldest first. Those without events are looked for within NO_EVENT_WINDOW_MS of `now`.
 */
export async function escalationCandidates(store: Store, before: number, limit: number, now = Date.now()): Promise<WarningWithState[]> {
  const open = openRows({ place: sql`1`, raised: sql`raised_at < ${param.DateTime64(before)}`, state: sql`escalated = 0`, withoutEvents: { since: now - NO_EVENT_WINDOW_MS } });
  const page = await store.query<{ id: string; institution_id: string }>(sql`
    SELECT id, inst AS institution_id FROM (${open})
    ORDER BY at, id LIMIT 1 BY id LIMIT ${param.UInt32(limit)} ${FINAL_PER_PARTITION}`);
  return (await pageOf(store, page)).filter((w) => UNVERIFIED_STATES.includes(w.state) && !w.escalated);
}

/** Open (being worked) warnings per assignee: the load used by auto-assignment. */
export async function openLoad(store: Store): Promise<Map<string, number>> {
  const rows = await store.query<{ assignee: string; n: string }>(sql`
    SELECT assignee, count() AS n FROM ${OPEN_STATE} WHERE state IN ('assigned', 'acknowledged', 'verifying') AND assignee != ''
    GROUP BY assignee`);
  return new Map(rows.map((r) => [r.assignee, Number(r.n)]));
}

/** The transaction behind a warning, before the route adds its institution's name (TransactionViewSchema). */
export type TransactionRowView = Omit<TransactionView, 'institutionName'>;

function parsedJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

const timeOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function transactionView(r: Record<string, unknown>): TransactionRowView {
  const m = parsedJson(r.measurements);
  const e = parsedJson(r.evidence);
  return {
    id: String(r.id),
    batchId: String(r.batch_id ?? ''),
    collectorId: String(r.collector_id ?? ''),
    seq: Number(r.seq ?? 0),
    source: String(r.source ?? ''),
    channel: String(r.channel ?? ''),
    institutionId: String(r.institution_id ?? ''),
    county: String(r.county ?? ''),
    counter: String(r.counter ?? ''),
    staffId: String(r.staff_id ?? ''),
    deviceId: String(r.device_id ?? ''),
    ip: String(r.ip ?? ''),
    lsh: String(r.lsh ?? ''),
    subLsh: String(r.sub_lsh ?? ''),
    kind: String(r.kind ?? ''),
    ywlx: String(r.ywlx ?? ''),
    ywyy: String(r.ywyy ?? ''),
    subjectMasked: String(r.subject_masked ?? ''),
    agentMasked: String(r.agent_masked ?? ''),
    hpzl: String(r.hpzl ?? ''),
    hphm: String(r.hphm ?? ''),
    vin: String(r.vin ?? ''),
    zjcx: String(r.zjcx ?? ''),
    occurredAt: Number(r.occurred_at),
    startedAt: timeOrNull(r.started_at),
    endedAt: timeOrNull(r.ended_at),
    completedAt: timeOrNull(r.completed_at),
    capturedAt: Number(r.captured_at),
    outcome: String(r.outcome ?? ''),
    measurements: m && typeof m === 'object' && !Array.isArray(m) ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v)])) : {},
    evidence: Array.isArray(e) ? e.map(String) : [],
    ruleSet: String(r.rule_set ?? ''),
  };
}

/**
 * The transaction behind a warning. `transactions` is sorted by (institution_id, id): with the
 * warning's institution the read is a key lookup; by id alone every granule's ids are read. One
 * row per id, the one stored last, as FINAL would give (ReplacingMergeTree(stored_at)) — FINAL
 * itself merged the whole table for one row (measured at 10 million transactions: 1,343 ms a call
 * with FINAL by id, 24 ms this way).
 */
export async function transactionById(store: Store, id: string, institutionId: string, capturedAt?: number): Promise<Record<string, unknown> | undefined> {
  // By its sorting key and, when the warning gives it, its capture time (`readByKeys`). The keys
  // are matched in a subquery without aliases: outside it, `captured_at` would name the epoch-ms
  // alias below.
  const [row] = await readByKeys([{ id, institutionId, capturedAt }], (where) =>
    store.query<Record<string, unknown> & { id: unknown }>(sql`
    SELECT id, batch_id, collector_id, seq, source, channel, institution_id, county, counter, staff_id, device_id, ip, lsh, sub_lsh,
      kind, ywlx, ywyy, subject_masked, agent_masked, hpzl, hphm, vin, zjcx,
      toUnixTimestamp64Milli(occurred_at) AS occurred_at,
      if(isNull(started_at), NULL, toUnixTimestamp64Milli(assumeNotNull(started_at))) AS started_at,
      if(isNull(ended_at), NULL, toUnixTimestamp64Milli(assumeNotNull(ended_at))) AS ended_at,
      if(isNull(completed_at), NULL, toUnixTimestamp64Milli(assumeNotNull(completed_at))) AS completed_at,
      toUnixTimestamp64Milli(captured_at) AS captured_at, outcome, measurements, evidence, rule_set
    FROM (SELECT * FROM transactions WHERE ${where} ORDER BY stored_at DESC LIMIT 1)`),
  );
  return row;
}

export interface EvidenceFile {
  sha256: string;
  warningId: string;
  name: string;
  mime: string;
  size: number;
  uploadedBy: string;
  at: number;
}

export async function evidenceOf(store: Store, warningId: string): Promise<EvidenceFile[]> {
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT sha256, warning_id, name, mime, size, uploaded_by, toUnixTimestamp64Milli(at) AS at
    FROM evidence_files FINAL WHERE warning_id = ${param.String(warningId)} ORDER BY at`);
  return rows.map((r) => ({
    sha256: String(r.sha256),
    warningId: String(r.warning_id),
    name: String(r.name),
    mime: String(r.mime),
    size: Number(r.size),
    uploadedBy: String(r.uploaded_by),
    at: Number(r.at),
  }));
}
