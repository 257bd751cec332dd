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

/**
 * A query is kept as its pieces (text and parameters) next to the rendered form, so composing
 * never rewrites text: an interpolated fragment contributes its pieces, and the outer query numbers
 * every parameter afresh in one pass. Renaming placeholders in rendered text instead would rename
 * an earlier rename again (p0→p1, then p1→p2 catches both) and would touch raw text that merely
 * looks like a placeholder. Hidden (non-enumerable) so a query still compares and logs as
 * `{ sql, params }`.
 */
type Piece = string | Param;
const PIECES = Symbol('sql.pieces');
type Composed = SqlQuery & { readonly [PIECES]?: readonly Piece[] };

/** Pieces of a query not built by `sql` (a hand-written `{ sql, params }`): its placeholders, read once. */
function piecesOf(q: SqlQuery): readonly Piece[] {
  const own = (q as Composed)[PIECES];
  if (own) return own;
  const pieces: Piece[] = [];
  let last = 0;
  for (const m of q.sql.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g)) {
    const [whole, name, type] = m as unknown as [string, string, string];
    if (!Object.hasOwn(q.params, name)) continue;
    pieces.push(q.sql.slice(last, m.index), { kind: 'param', type, value: q.params[name] });
    last = m.index + whole.length;
  }
  pieces.push(q.sql.slice(last));
  return pieces;
}

function render(pieces: readonly Piece[]): SqlQuery {
  let text = '';
  const params: Record<string, unknown> = {};
  let n = 0;
  for (const p of pieces) {
    if (typeof p === 'string') {
      text += p;
      continue;
    }
    const name = `p${n++}`;
    params[name] = p.value;
    text += `{${name}:${p.type}}`;
  }
  const q: SqlQuery = { sql: text, params };
  Object.defineProperty(q, PIECES, { value: pieces, enumerable: false });
  return q;
}

export function sql(strings: TemplateStringsArray, ...values: Part[]): SqlQuery {
  const pieces: Piece[] = [];
  strings.forEach((s, i) => {
    pieces.push(s);
    if (i >= values.length) return;
    const v = values[i]!;
    if (isSqlQuery(v)) pieces.push(...piecesOf(v));
    else if (v.kind === 'raw') pieces.push(v.text);
    else pieces.push(v);
  });
  return render(pieces);
}

/** Joins fragments with a separator (e.g. ' AND '). */
export function joinSql(parts: SqlQuery[], sep: string): SqlQuery {
  if (parts.length === 0) return { sql: '1', params: {} };
  return parts.slice(1).reduce<SqlQuery>((acc, p) => sql`${acc}${UNSAFE_RAW_SQL(sep)}${p}`, parts[0]!);
}
