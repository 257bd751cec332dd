import { describe, expect, it } from 'vitest';
import { joinSql, param, sql, UNSAFE_RAW_SQL } from '../src/store/sql.js';

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
