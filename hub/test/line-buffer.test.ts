/**
 * Rows written as JSON straight into bytes (hub/src/store/line-buffer.ts jsonLine): the bytes are
 * exactly those of `JSON.stringify(value) + '\n'` in UTF-8, whatever the value holds — strings
 * that need escaping, lone surrogates, numbers JSON has no text for, values JSON.stringify leaves
 * out, objects with toJSON — and a value JSON.stringify refuses leaves nothing half-written.
 */
import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../src/store/line-buffer.js';
import { transactionValues } from '../src/store/repo.js';
import { checkTxn, prng } from './helpers.js';

const expected = (values: readonly unknown[]) => Buffer.from(values.map((v) => `${JSON.stringify(v) ?? 'null'}\n`).join(''), 'utf8');

function written(values: readonly unknown[], initial = 16): Buffer {
  const b = new LineBuffer(initial);
  for (const v of values) b.jsonLine(v);
  expect(b.lines).toBe(values.length);
  return b.bytes();
}

// Characters that take every path of the writer: plain ASCII, the ones JSON escapes, DEL,
// two- and three-byte UTF-8, a surrogate pair, lone surrogates, the line separators JSON leaves raw.
const ALPHABET = ['a', 'Z', '0', ' ', '~', '"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u001f', '\u007f', 'é', 'Ω', '桂', '换', '😀', '\ud800', '\udfff', '\u2028', '\u2029', '\uffff'];

function generator(seed: number) {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  const text = (): string => {
    // Mostly plain text (the fast paths), sometimes anything; short and long (either side of
    // the writer's short-string loop).
    const len = pick([0, 1, 5, 23, 24, 25, 64, 200, int(80)]);
    const plain = rand() < 0.5;
    let s = '';
    for (let i = 0; i < len; i++) s += plain ? String.fromCharCode(0x20 + int(0x5f)) : pick(ALPHABET);
    return s;
  };
  const num = (): number => pick([0, -0, 1, -1, 1.5, 0.1, 1e21, 1e-7, 123456789.125, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, NaN, Infinity, -Infinity, rand() * 1e6 - 5e5, int(1e9)]);
  const value = (depth: number): unknown => {
    const k = int(depth > 3 ? 6 : 14);
    switch (k) {
      case 0:
      case 1:
        return text();
      case 2:
        return num();
      case 3:
        return pick([true, false, null]);
      case 4:
        return pick([undefined, () => 1, Symbol('s')]);
      case 5: {
        const n = num();
        return pick([new Date(int(2e12)), { toJSON: () => ({ kind: 'toJSON', n }) }, new String(text()), new Number(num())]);
      }
      case 6:
      case 7:
      case 8:
        return Array.from({ length: int(6) }, () => value(depth + 1));
      case 9: {
        const a: unknown[] = [];
        a[int(4) + 1] = value(depth + 1); // holes
        return a;
      }
      case 10: {
        const o = Object.create(null) as Record<string, unknown>;
        o[text()] = value(depth + 1);
        return o;
      }
      default: {
        const o: Record<string, unknown> = {};
        const n = int(6);
        for (let i = 0; i < n; i++) o[pick([text(), String(int(10)), 'k'])] = value(depth + 1);
        return o;
      }
    }
  };
  return { value, text };
}

describe('rows written as JSON without the string', () => {
  it('writes exactly what JSON.stringify writes, over generated values of every kind', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const g = generator(seed);
      const values = Array.from({ length: 100 }, () => g.value(0));
      const got = written(values);
      const want = expected(values);
      if (!got.equals(want)) {
        // Name the first value that differs, not two megabytes of bytes.
        for (const v of values) expect(written([v]).toString('utf8')).toBe(expected([v]).toString('utf8'));
      }
      expect(got.equals(want)).toBe(true);
    }
  });

  it('writes integers digit by digit as JSON.stringify does, at every length and both signs', () => {
    const rand = prng(7);
    const ints: number[] = [0, -0, 1, -1, 9, 10, 11, 99, 100, 101, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 - 2, 1_733_390_000_000, -1_733_390_000_000];
    for (let e = 0; e < 16; e++) for (const d of [-1, 0, 1]) ints.push(10 ** e + d, -(10 ** e + d));
    // Every digit count, uniformly within it: a random mantissa under each power of ten.
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + (i % 16);
      const v = Math.floor(rand() * 10 ** digits);
      if (Number.isSafeInteger(v)) ints.push(rand() < 0.5 ? v : -v);
    }
    // Neighbours of the integer path: not safe integers, so String's text (exponents, fractions).
    const near = [2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e16 + 0.5, 0.5, -0.5, 123.0000001];
    const values = [...ints, ...near, ints];
    const got = written(values);
    if (!got.equals(expected(values))) for (const v of values) expect(written([v]).toString('utf8')).toBe(expected([v]).toString('utf8'));
    expect(got.equals(expected(values))).toBe(true);
  });

  it('writes strings of every length and alphabet as JSON.stringify does', () => {
    const g = generator(99);
    const strings = Array.from({ length: 3000 }, () => g.text());
    expect(written(strings).equals(expected(strings))).toBe(true);
    expect(written([strings]).equals(expected([strings]))).toBe(true);
  });

  it('writes transaction rows as the store reads them, Chinese text included', () => {
    const rows = Array.from({ length: 300 }, (_, i) => {
      const t = checkTxn(i + 1, { ywyy: `变更登记 "${i}" \\ 桂A${i}`, measurements: { brakeFrontPct: i / 7, sideSlipMPerKm: -0 } });
      return transactionValues(t, { batchId: 'b1', county: '451202', ruleSet: 'v1', warningCount: i % 3 });
    });
    expect(written(rows, 256).equals(expected(rows))).toBe(true);
  });

  it('a value JSON.stringify refuses throws as it does and leaves the lines before it whole', () => {
    const b = new LineBuffer(16);
    b.jsonLine(['first', 1]);
    expect(() => b.jsonLine(['x'.repeat(100), { n: 10n }])).toThrow(TypeError);
    expect(() => JSON.stringify(['x', { n: 10n }])).toThrow(TypeError);
    b.jsonLine({ last: true });
    expect(b.lines).toBe(2);
    expect(b.bytes().toString('utf8')).toBe('["first",1]\n{"last":true}\n');
  });

  it('grows from a small buffer and keeps text lines and JSON lines in order', () => {
    const b = new LineBuffer(16);
    b.line('{"a":1}');
    b.jsonLine(['桂M12345', 'x'.repeat(5000), 2]);
    b.line('x');
    expect(b.lines).toBe(3);
    expect(b.bytes().toString('utf8')).toBe(`{"a":1}\n["桂M12345","${'x'.repeat(5000)}",2]\nx\n`);
  });
});
