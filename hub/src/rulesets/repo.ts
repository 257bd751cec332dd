/**
 * Rule-set rows (`rule_sets`, migration 021): one row per status change, newest `updated_at`
 * wins. The definitions of a version never change after it is created, so the poller reads the
 * light columns and fetches definitions only for versions it has not seen.
 */
import type { RuleParamOverrides } from '@jianguan/rules';
import { param, sql, UNSAFE_RAW_SQL } from '../store/sql.js';
import type { Store } from '../store/store.js';

export type { RuleParamChange, RuleSetDiff, RuleSetHead, RuleSetStatus } from '../protocol/releases.js';
export { RULESET_STATUS_LABELS as STATUS_LABELS } from '../protocol/releases.js';
import type { RuleSetDiff, RuleSetHead, RuleSetStatus } from '../protocol/releases.js';

export interface RuleSetContent {
  definitions: unknown[];
  params: RuleParamOverrides;
}

export interface RuleSet extends RuleSetHead {
  content: RuleSetContent;
}

let lastUpdate = 0;
function nextUpdate(): number {
  lastUpdate = Math.max(Date.now(), lastUpdate + 1);
  return lastUpdate;
}

/** A nullable DateTime64 column as epoch ms (column names are chosen here, never input). */
const ms = (col: string) => {
  const c = UNSAFE_RAW_SQL(col);
  return sql`if(isNull(${c}), NULL, toUnixTimestamp64Milli(assumeNotNull(${c}))) AS ${c}`;
};

const HEAD = sql`version, seq, status, base_version, note, diff_summary, created_by, toUnixTimestamp64Milli(created_at) AS created_at,
  approved_by, ${ms('approved_at')}, ${ms('effective_at')}, ${ms('activated_at')}, ${ms('retired_at')}, retired_by,
  backtest_id, override, override_reason, toUnixTimestamp64Milli(updated_at) AS updated_at`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toHead(r: Record<string, unknown>): RuleSetHead {
  let diff: RuleSetDiff | null = null;
  if (typeof r.diff_summary === 'string' && r.diff_summary) {
    try {
      diff = JSON.parse(r.diff_summary) as RuleSetDiff;
    } catch {
      diff = null;
    }
  }
  return {
    version: String(r.version),
    seq: Number(r.seq),
    status: String(r.status) as RuleSetStatus,
    baseVersion: String(r.base_version ?? ''),
    note: String(r.note ?? ''),
    diff,
    createdBy: String(r.created_by ?? ''),
    createdAt: Number(r.created_at),
    approvedBy: String(r.approved_by ?? ''),
    approvedAt: num(r.approved_at),
    effectiveAt: num(r.effective_at),
    activatedAt: num(r.activated_at),
    retiredAt: num(r.retired_at),
    retiredBy: String(r.retired_by ?? ''),
    backtestId: String(r.backtest_id ?? ''),
    override: Number(r.override) === 1,
    overrideReason: String(r.override_reason ?? ''),
    updatedAt: Number(r.updated_at),
  };
}

export async function loadHeads(store: Store): Promise<RuleSetHead[]> {
  const rows = await store.query<Record<string, unknown>>(sql`SELECT ${HEAD} FROM rule_sets FINAL ORDER BY seq, version`);
  return rows.map(toHead);
}

export async function loadContent(store: Store, version: string): Promise<RuleSetContent | undefined> {
  const [r] = await store.query<{ definitions: string }>(
    sql`SELECT definitions FROM rule_sets FINAL WHERE version = ${param.String(version)}`,
  );
  return r ? (JSON.parse(r.definitions) as RuleSetContent) : undefined;
}

export async function saveRuleSet(store: Store, rs: RuleSet): Promise<RuleSet> {
  const updatedAt = nextUpdate();
  await store.insert('rule_sets', [
    {
      version: rs.version,
      seq: rs.seq,
      status: rs.status,
      definitions: JSON.stringify(rs.content),
      base_version: rs.baseVersion,
      note: rs.note,
      diff_summary: rs.diff ? JSON.stringify(rs.diff) : '',
      created_by: rs.createdBy,
      created_at: rs.createdAt,
      approved_by: rs.approvedBy,
      approved_at: rs.approvedAt,
      effective_at: rs.effectiveAt,
      activated_at: rs.activatedAt,
      retired_at: rs.retiredAt,
      retired_by: rs.retiredBy,
      backtest_id: rs.backtestId,
      override: rs.override ? 1 : 0,
      override_reason: rs.overrideReason,
      updated_at: updatedAt,
    },
  ]);
  return { ...rs, updatedAt };
}
