/**
 * The one way SQL is written here (after HyperDX's chSql): a tagged template whose interpolations
 * become typed ClickHouse query parameters `{p0:String}`, never string concatenation. Fragments
 * compose; identifiers that cannot be parameters go through the loudly named UNSAFE_RAW_SQL.
 *
 *   sql`SELECT count() FROM warnings WHERE county = ${param.String(county)}`
 */

export interface SqlQuery {
  readonly sql: string;
  readonly params: Readonly<Record<string, unknown>>;
}

interface Param {
  readonly kind: 'param';
  readonly type: string;
  readonly value: unknown;
}
interface Raw {
  readonly kind: 'raw';
  readonly text: string;
}

type Part = Param | Raw | SqlQuery;

const mk = (type: string) => (value: unknown): Param => ({ kind: 'param', type, value });

export const param = {
  String: mk('String'),
  UInt32: mk('UInt32'),
  UInt64: mk('UInt64'),
  Int64: mk('Int64'),
  Float64: mk('Float64'),
  Date: mk('Date'),
  /** Epoch milliseconds in, DateTime64(3) out. */
  DateTime64: (ms: number): Param => ({ kind: 'param', type: 'DateTime64(3)', value: (ms / 1000).toFixed(3) }),
  ArrayString: mk('Array(String)'),
  typed: (type: string, value: unknown): Param => ({ kind: 'param', type, value }),
};

/** Inserts text verbatim. Only for identifiers and keywords chosen by code, never user input. */
export function UNSAFE_RAW_SQL(text: string): Raw {
  return { kind: 'raw', text };
}

function isSqlQuery(v: unknown): v is SqlQuery {
  return typeof v === 'object' && v !== null && 'sql' in v && 'params' in v;
}

export function sql(strings: TemplateStringsArray, ...values: Part[]): SqlQuery {
  let text = '';
  const params: Record<string, unknown> = {};
  let n = 0;
  const add = (p: Param): string => {
    const name = `p${n++}`;
    params[name] = p.value;
    return `{${name}:${p.type}}`;
  };
  strings.forEach((s, i) => {
    text += s;
    if (i >= values.length) return;
    const v = values[i]!;
    if (isSqlQuery(v)) {
      // Rename the fragment's parameters so they cannot collide with ours.
      let frag = v.sql;
      for (const [k, val] of Object.entries(v.params)) {
        const name = `p${n++}`;
        frag = frag.replaceAll(`{${k}:`, `{${name}:`);
        params[name] = val;
      }
      text += frag;
    } else if (v.kind === 'raw') {
      text += v.text;
    } else {
      text += add(v);
    }
  });
  return { sql: text, params };
}

/** Joins fragments with a separator (e.g. ' AND '). */
export function joinSql(parts: SqlQuery[], sep: string): SqlQuery {
  if (parts.length === 0) return { sql: '1', params: {} };
  return parts.slice(1).reduce<SqlQuery>((acc, p) => sql`${acc}${UNSAFE_RAW_SQL(sep)}${p}`, parts[0]!);
}
