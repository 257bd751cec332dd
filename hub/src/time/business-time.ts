/**
 * Business time: the supervised counters work in China Standard Time (Asia/Shanghai, UTC+8, no
 * daylight saving), so "a day", "a month" and "a local timestamp" mean the Shanghai ones, and
 * ClickHouse columns are in UTC. Every conversion between the two lives here, so the wall's
 * day, the evaluation's month and an export's timestamp can never disagree by an offset.
 */
import { sql, UNSAFE_RAW_SQL, type SqlQuery } from '../store/sql.js';

export const BUSINESS_TZ = 'Asia/Shanghai';
/** Shanghai has kept UTC+8 since 1991: a fixed offset is exact for every date we store. */
export const BUSINESS_OFFSET_MS = 8 * 3_600_000;
export const DAY_MS = 86_400_000;

/** [from, to) epoch ms of the local day containing `at`, with its date 'YYYY-MM-DD'. */
export function dayBounds(at: number): { from: number; to: number; day: string } {
  const from = Math.floor((at + BUSINESS_OFFSET_MS) / DAY_MS) * DAY_MS - BUSINESS_OFFSET_MS;
  return { from, to: from + DAY_MS, day: localDate(from) };
}

/** Local midnight at or before `at`. */
export function dayStart(at: number): number {
  return dayBounds(at).from;
}

/** [from, to) epoch ms of a local month 'YYYY-MM'. */
export function monthBounds(month: string): { from: number; to: number } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { from: Date.UTC(y, m - 1, 1) - BUSINESS_OFFSET_MS, to: Date.UTC(y, m, 1) - BUSINESS_OFFSET_MS };
}

/** Local month 'YYYY-MM' of epoch ms. */
export function monthOf(ms: number): string {
  return localIso(ms).slice(0, 7);
}

/** Local date 'YYYY-MM-DD' of epoch ms. */
export function localDate(ms: number): string {
  return localIso(ms).slice(0, 10);
}

/** 'YYYY-MM-DD HH:MM' local. */
export function localMinute(ms: number): string {
  return localIso(ms).replace('T', ' ').slice(0, 16);
}

/** 'YYYY-MM-DD HH:MM:SS' local. */
export function localSecond(ms: number): string {
  return localIso(ms).replace('T', ' ').slice(0, 19);
}

/** Local wall-clock fields → epoch ms (Date.UTC semantics, so months roll over like it). */
export function fromLocal(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  return Date.UTC(y, mo - 1, d, h, mi, s) - BUSINESS_OFFSET_MS;
}

/** The UTC fields of the returned Date are the local wall-clock fields of `ms`. */
export function localFields(ms: number): Date {
  return new Date(ms + BUSINESS_OFFSET_MS);
}

function localIso(ms: number): string {
  return new Date(ms + BUSINESS_OFFSET_MS).toISOString();
}

/**
 * The local month 'YYYY-MM' of a DateTime column, as ClickHouse computes it. `column` is an
 * identifier written in code (never input), hence the raw fragment.
 */
export function monthSql(column: string): SqlQuery {
  if (!/^[a-z_][a-z0-9_.]*$/i.test(column)) throw new Error(`monthSql: not a column name: ${column}`);
  return sql`formatDateTime(addHours(${UNSAFE_RAW_SQL(column)}, 8), '%Y-%m')`;
}
