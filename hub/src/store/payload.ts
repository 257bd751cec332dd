/**
 * `transactions.payload`: the record as received, for backtests and scheduled jobs that re-run
 * rules on stored business (backtest/stream.ts) — without what the row's columns already hold.
 *
 * Design note
 * -----------
 * The payload used to be the whole record as JSON beside the columns holding the same values, so
 * every transaction was written, compressed and merged twice: about half of a transaction
 * insert's cost (hub/bench/insert-format.bench.mjs: 133 µs per row with the whole record, 69
 * without any payload, at 200 rows per insert) and most of the column's bytes on disk.
 *
 * Now the payload is `~` followed by the JSON of the record without every field its column
 * gives back exactly; the reader rebuilds the record from the columns and lays the rest over it.
 * A field leaves the payload only where the column round trip is exact by construction:
 * - strings with a column (id … outcome, the person, vehicle and licence fields) when non-empty:
 *   a column holds '' for "absent", so an empty string stays in the payload;
 * - times (epoch ms integers, DateTime64(3)) and `seq` (a safe integer, UInt64);
 * - `measurements` (Map(String, Float64)) and `evidence` (Array(String)) when not empty.
 * Everything else — fields without a column (birth years, staff and phone hashes, venue,
 * approvalRevoked, anything a later schema adds) — stays. A person's `idHash` and `masked` come
 * from their columns together (a person is present exactly when its hash column is not empty);
 * a vehicle is present exactly when `hpzl` is (the schema requires two digits), a licence when
 * `numberHash` is (at least eight characters).
 *
 * Rows stored before this form carry the whole record (JSON starting with `{`), rows stored
 * before migration 021 none: the reader takes all three. The identity hashes with a column now
 * come from the column, which a pseudonym rotation rewrites (pseudonym-rotation.ts).
 */
import type { Transaction } from '@jianguan/rules';

/** The first character of a payload that holds only what the columns do not. */
export const PAYLOAD_REST = '~';

const STRING_FIELDS = ['id', 'collectorId', 'source', 'channel', 'institutionId', 'kind', 'counter', 'staffId', 'deviceId', 'ip', 'mac', 'lsh', 'subLsh', 'ywlx', 'ywyy', 'outcome'] as const;
const TIME_FIELDS = ['occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt', 'capturedAt'] as const;
const NESTED = new Set(['subject', 'agent', 'vehicle', 'licence']);

const filled = (v: unknown): boolean => typeof v === 'string' && v !== '';

/** What goes into `payload` for `t` (its columns are written by store/repo.ts transactionRow). */
export function encodePayload(t: Transaction): string {
  const rest: Record<string, unknown> = { ...t };
  for (const k of STRING_FIELDS) if (filled(rest[k])) delete rest[k];
  for (const k of TIME_FIELDS) if (Number.isSafeInteger(rest[k])) delete rest[k];
  if (Number.isSafeInteger(t.seq) && t.seq >= 0) delete rest.seq;
  if (t.measurements && Object.keys(t.measurements).length > 0) delete rest.measurements;
  if (t.evidence && t.evidence.length > 0) delete rest.evidence;
  const nested = (key: 'subject' | 'agent' | 'vehicle' | 'licence', present: boolean, fields: readonly string[]) => {
    const v = t[key] as Record<string, unknown> | undefined;
    if (!v) return;
    if (!present) return; // kept whole: the columns could not say it was there
    const left: Record<string, unknown> = { ...v };
    for (const f of fields) if (filled(left[f])) delete left[f];
    if (Object.keys(left).length > 0) rest[key] = left;
    else delete rest[key];
  };
  nested('subject', filled(t.subject?.idHash), ['idHash']);
  nested('agent', filled(t.agent?.idHash), ['idHash']);
  nested('vehicle', filled(t.vehicle?.hpzl), ['hpzl', 'hphm', 'vin', 'ownerIdHash']);
  nested('licence', filled(t.licence?.numberHash), ['numberHash', 'zjcx']);
  // `masked` always comes from its column beside the hash (it may be ''), so it never stays.
  for (const key of ['subject', 'agent'] as const) {
    const left = rest[key] as Record<string, unknown> | undefined;
    if (left && filled(t[key]?.idHash)) {
      delete left.masked;
      if (Object.keys(left).length === 0) delete rest[key];
    }
  }
  return PAYLOAD_REST + JSON.stringify(rest);
}

/**
 * A stored payload laid over the record rebuilt from the row's columns (`fromColumns`): the
 * record as received. A payload of the older whole form is the record itself; an empty one
 * (rows before migration 021) leaves the columns' record as it is.
 */
export function decodePayload(payload: unknown, fromColumns: () => Record<string, unknown>): Transaction {
  if (typeof payload !== 'string' || payload === '') return fromColumns() as unknown as Transaction;
  if (!payload.startsWith(PAYLOAD_REST)) return JSON.parse(payload) as Transaction;
  const t = fromColumns();
  const rest = JSON.parse(payload.slice(PAYLOAD_REST.length)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(rest)) {
    const base = t[k];
    t[k] = NESTED.has(k) && typeof v === 'object' && v !== null && typeof base === 'object' && base !== null ? { ...base, ...v } : v;
  }
  return t as unknown as Transaction;
}
