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

const STRING_FIELDS = new Set(['id', 'collectorId', 'source', 'channel', 'institutionId', 'kind', 'counter', 'staffId', 'deviceId', 'ip', 'mac', 'lsh', 'subLsh', 'ywlx', 'ywyy', 'outcome']);
const TIME_FIELDS = new Set(['occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt', 'capturedAt']);
/** Per nested object: the field whose column says the object is there, and the fields with a column. */
const NESTED_FIELDS: Readonly<Record<string, { present: string; columns: ReadonlySet<string> }>> = {
  subject: { present: 'idHash', columns: new Set(['idHash', 'masked']) },
  agent: { present: 'idHash', columns: new Set(['idHash', 'masked']) },
  vehicle: { present: 'hpzl', columns: new Set(['hpzl', 'hphm', 'vin', 'ownerIdHash']) },
  licence: { present: 'numberHash', columns: new Set(['numberHash', 'zjcx']) },
};

const filled = (v: unknown): boolean => typeof v === 'string' && v !== '';

/** Whether the top-level field `k` with value `v` comes back exactly from its column. */
function fromColumn(k: string, v: unknown): boolean {
  if (STRING_FIELDS.has(k)) return filled(v);
  if (TIME_FIELDS.has(k)) return Number.isSafeInteger(v);
  if (k === 'seq') return Number.isSafeInteger(v) && (v as number) >= 0;
  if (k === 'measurements') return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
  if (k === 'evidence') return Array.isArray(v) && v.length > 0;
  return false;
}

/**
 * What goes into `payload` for `t` (its columns are written by store/repo.ts transactionValues).
 * Built by copying what stays rather than deleting what goes: this runs for every record.
 */
export function encodePayload(t: Transaction): string {
  const rest: Record<string, unknown> = {};
  const rec = t as unknown as Record<string, unknown>;
  // for…in over own keys rather than Object.entries: no [key, value] array per field.
  for (const k in rec) {
    if (!Object.hasOwn(rec, k)) continue;
    const v = rec[k];
    const nested = Object.hasOwn(NESTED_FIELDS, k) ? NESTED_FIELDS[k] : undefined;
    if (nested && typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      // Kept whole when the column could not say it was there (the schema makes that impossible).
      if (!filled(o[nested.present])) {
        rest[k] = v;
        continue;
      }
      let left: Record<string, unknown> | undefined;
      for (const f in o) {
        if (!Object.hasOwn(o, f)) continue;
        const x = o[f];
        // A person's `masked` always comes from its column beside the hash (it may be '').
        const gone = nested.columns.has(f) && (filled(x) || (f === 'masked' && typeof x === 'string'));
        if (!gone) (left ??= {})[f] = x;
      }
      if (left) rest[k] = left;
    } else if (!fromColumn(k, v)) rest[k] = v;
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
    t[k] = Object.hasOwn(NESTED_FIELDS, k) && typeof v === 'object' && v !== null && typeof base === 'object' && base !== null ? { ...base, ...v } : v;
  }
  return t as unknown as Transaction;
}
