import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { joinSql, param, sql, UNSAFE_RAW_SQL, type SqlQuery } from '../src/store/sql.js';
import { openStore, type Store } from '../src/store/store.js';
import { tmpDir } from './helpers.js';

describe('sql helper', () => {
  it('turns interpolations into typed parameters', () => {
    const q = sql`SELECT * FROM t WHERE a = ${param.String("x'; DROP TABLE t")} AND b > ${param.UInt32(5)}`;
    expect(q.sql).toBe('SELECT * FROM t WHERE a = {p0:String} AND b > {p1:UInt32}');
    expect(q.params).toEqual({ p0: "x'; DROP TABLE t", p1: 5 });
  });

  it('renames parameters of nested fragments so they never collide', () => {
    const inner = sql`x = ${param.String('a')}`;
    const q = sql`SELECT 1 WHERE ${inner} AND y = ${param.String('b')} AND ${inner}`;
    expect(q.sql).toBe('SELECT 1 WHERE x = {p0:String} AND y = {p1:String} AND x = {p2:String}');
    expect(Object.values(q.params)).toEqual(['a', 'b', 'a']);
  });

  it('joins fragments and passes raw text only through UNSAFE_RAW_SQL', () => {
    const q = joinSql([sql`a = ${param.UInt32(1)}`, sql`b = ${param.UInt32(2)}`], ' AND ');
    expect(q.sql).toBe('a = {p0:UInt32} AND b = {p1:UInt32}');
    expect(sql`SELECT ${UNSAFE_RAW_SQL('count()')} FROM t`.sql).toBe('SELECT count() FROM t');
    expect(joinSql([], ' AND ').sql).toBe('1');
  });

  it('formats DateTime64 parameters with milliseconds', () => {
    const q = sql`SELECT ${param.DateTime64(1764129600123)}`;
    expect(q.params.p0).toBe('1764129600.123');
    expect(q.sql).toContain('{p0:DateTime64(3)}');
  });
});

/**
 * Composition executed against the embedded engine: the values that come back prove each
 * placeholder is bound to its own value, which a text comparison alone would not.
 */
describe('sql fragments against chDB', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(loadConfig({}, { dataDir: tmpDir('sql') }));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('keeps both parameters of a fragment interpolated after an outer parameter', async () => {
    const pair = sql`${param.String('first')} AS b, ${param.UInt32(7)} AS c`;
    const q = sql`SELECT ${param.String('outer')} AS a, ${pair}`;
    expect(Object.keys(q.params)).toHaveLength(3);
    const rows = await store.query<{ a: string; b: string; c: number }>(q);
    expect(rows).toEqual([{ a: 'outer', b: 'first', c: 7 }]);
  });

  it('keeps every value of fragments nested three levels deep', async () => {
    const deep = sql`${param.String('deep')} AS d, ${param.UInt32(3)} AS n, ${param.String('deeper')} AS e`;
    const middle = sql`${param.String('middle')} AS m, ${deep}, ${param.UInt32(5)} AS k`;
    const q = sql`SELECT ${param.String('top')} AS t, ${middle}, ${param.UInt32(9)} AS z`;
    expect(Object.keys(q.params)).toHaveLength(7);
    const rows = await store.query(q);
    expect(rows).toEqual([{ t: 'top', m: 'middle', d: 'deep', n: 3, e: 'deeper', k: 5, z: 9 }]);
  });

  it('binds the same fragment object interpolated twice to its own values both times', async () => {
    const pair = sql`${param.String('x')}, ${param.String('y')}`;
    const q = sql`SELECT ${param.String('o')} AS o, concat(${pair}) AS first, concat(${pair}) AS second`;
    const rows = await store.query(q);
    expect(rows).toEqual([{ o: 'o', first: 'xy', second: 'xy' }]);
  });

  it('leaves placeholder-like raw text inside a fragment alone', async () => {
    // A string literal that merely looks like a placeholder is text, not a parameter to rename.
    const frag = sql`${UNSAFE_RAW_SQL("'{p0:String}'")} AS lit, ${param.String('v')} AS v`;
    const q = sql`SELECT ${param.String('o')} AS o, ${frag}`;
    const rows = await store.query(q);
    expect(rows).toEqual([{ o: 'o', lit: '{p0:String}', v: 'v' }]);
  });

  it('takes in a hand-written query object with its own parameter names', async () => {
    const hand: SqlQuery = { sql: '{b:String} AS b, {a:UInt32} AS a', params: { a: 4, b: 'bee' } };
    const q = sql`SELECT ${param.String('o')} AS o, ${hand}`;
    expect(q.sql).toBe('SELECT {p0:String} AS o, {p1:String} AS b, {p2:UInt32} AS a');
    const rows = await store.query(q);
    expect(rows).toEqual([{ o: 'o', b: 'bee', a: 4 }]);
  });

  it('joins multi-parameter fragments without crossing their values', async () => {
    const q = sql`SELECT ${joinSql(
      [sql`${param.UInt32(1)} + ${param.UInt32(2)} AS s1`, sql`${param.UInt32(10)} + ${param.UInt32(20)} AS s2`],
      ', ',
    )}`;
    const rows = await store.query<{ s1: number; s2: number }>(q);
    expect(rows.map((r) => [Number(r.s1), Number(r.s2)])).toEqual([[3, 30]]);
  });
});
