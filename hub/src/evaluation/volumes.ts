/**
 * Transaction volumes by business type (业务量按业务类型) for one institution and month, with the
 * previous month and the peer mean, for the leadership drill-down.
 *
 * Counts are of distinct transaction ids (re-sent batches leave duplicate rows until merges run),
 * over local (Asia/Shanghai) months of `occurred_at`, the same month as the evaluation scores.
 */
import { LICENCE_BUSINESS, TRANSACTION_KIND_LABELS, VEHICLE_BUSINESS, type Institution, type TransactionKind } from '@jianguan/rules';
import type { InstitutionVolumes, VolumeRow } from '../protocol/volumes.js';
import { param, sql } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { monthRange, previousMonths } from './scoring.js';

const EXAM_SUBJECTS: Readonly<Record<string, string>> = { '1': '科目一', '2': '科目二', '3': '科目三', '4': '科目四（安全文明）' };

/** Which code table a kind's `ywlx` comes from (domain.md §4). */
function codeTable(kind: string): Readonly<Record<string, string>> | undefined {
  switch (kind) {
    case 'vehicle':
    case 'check':
    case 'inspection':
      return VEHICLE_BUSINESS;
    case 'licence':
    case 'medical':
      return LICENCE_BUSINESS;
    case 'exam':
      return EXAM_SUBJECTS;
    default:
      return undefined;
  }
}

/** Chinese label of a business type, e.g. 机动车业务·转移登记; unknown codes show as they are. */
export function businessLabel(kind: string, ywlx: string): string {
  const kindLabel = TRANSACTION_KIND_LABELS[kind as TransactionKind] ?? kind;
  if (!ywlx) return kindLabel;
  return `${kindLabel}·${codeTable(kind)?.[ywlx] ?? ywlx}`;
}

export interface VolumeQuery {
  institution: Institution;
  month: string;
  /** Institutions the peer mean is taken over (same type, in the reader's scope; may include the institution itself, which is dropped). */
  peers: readonly Institution[];
  /** County the peers were limited to, echoed in the answer; null = whole city. */
  peerCounty: string | null;
}

export async function institutionVolumes(store: Store, q: VolumeQuery): Promise<InstitutionVolumes> {
  const { from, to } = monthRange(q.month);
  const previousMonth = previousMonths(q.month, 2)[0]!;
  const prevFrom = monthRange(previousMonth).from;
  const peerIds = q.peers.map((p) => p.id).filter((id) => id !== q.institution.id);
  const ids = [q.institution.id, ...peerIds];

  // One pass over both months; only the institution itself needs the previous month.
  const rows = await store.query<Record<string, unknown>>(sql`
    SELECT institution_id, kind, ywlx, occurred_at >= ${param.DateTime64(from)} AS current,
      uniqExact(id) AS n, uniqExactIf(id, warning_count > 0) AS warned
    FROM transactions
    WHERE occurred_at >= ${param.DateTime64(prevFrom)} AND occurred_at < ${param.DateTime64(to)}
      AND institution_id IN ${param.ArrayString(ids)}
    GROUP BY institution_id, kind, ywlx, current`);

  const byKey = new Map<string, { kind: string; ywlx: string; n: number; warned: number; previous: number; peerSum: number }>();
  const entry = (kind: string, ywlx: string) => {
    const key = `${kind}:${ywlx}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { kind, ywlx, n: 0, warned: 0, previous: 0, peerSum: 0 }));
    return e;
  };
  for (const r of rows) {
    const self = String(r.institution_id) === q.institution.id;
    const current = Number(r.current) === 1;
    const n = Number(r.n);
    if (!self && !current) continue;
    const e = entry(String(r.kind), String(r.ywlx));
    if (self && current) {
      e.n += n;
      e.warned += Number(r.warned);
    } else if (self) e.previous += n;
    else e.peerSum += n;
  }

  const items: VolumeRow[] = [...byKey.entries()]
    // A type only peers did this month is not this institution's business; one it did last month still is (a drop to 0 matters).
    .filter(([, e]) => e.n > 0 || e.previous > 0)
    .map(([key, e]) => ({
      key,
      kind: e.kind,
      ywlx: e.ywlx,
      label: businessLabel(e.kind, e.ywlx),
      transactions: e.n,
      warned: e.warned,
      warningRate: e.n > 0 ? e.warned / e.n : null,
      previous: e.previous,
      peerMean: peerIds.length > 0 ? Math.round((e.peerSum / peerIds.length) * 100) / 100 : null,
    }))
    .sort((a, b) => b.transactions - a.transactions || b.previous - a.previous || a.key.localeCompare(b.key));

  return {
    institutionId: q.institution.id,
    month: q.month,
    previousMonth,
    total: {
      transactions: items.reduce((s, r) => s + r.transactions, 0),
      warned: items.reduce((s, r) => s + r.warned, 0),
      previous: items.reduce((s, r) => s + r.previous, 0),
    },
    peers: { type: q.institution.type, count: peerIds.length, county: q.peerCounty },
    items,
  };
}
