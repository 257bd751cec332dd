/**
 * Business time (rules/src/business-time.ts: Asia/Shanghai days, months and local stamps), plus
 * its SQL form for ClickHouse queries.
 */
import { sql, UNSAFE_RAW_SQL, type SqlQuery } from '../store/sql.js';

export {
  BUSINESS_OFFSET_MS,
  BUSINESS_TZ,
  DAY_MS,
  dayBounds,
  dayStart,
  fromLocal,
  lastCovered,
  localDate,
  localFields,
  localMinute,
  localSecond,
  monthBounds,
  monthOf,
} from '@jianguan/rules';

/**
 * The local month 'YYYY-MM' of a DateTime column, as ClickHouse computes it. `column` is an
 * identifier written in code (never input), hence the raw fragment.
 */
export function monthSql(column: string): SqlQuery {
  if (!/^[a-z_][a-z0-9_.]*$/i.test(column)) throw new Error(`monthSql: not a column name: ${column}`);
  return sql`formatDateTime(addHours(${UNSAFE_RAW_SQL(column)}, 8), '%Y-%m')`;
}
