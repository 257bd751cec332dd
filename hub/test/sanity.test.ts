import { describe, expect, it } from 'vitest';
import { findUnstorableText } from '../src/ingest/sanity.js';

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
};

describe('findUnstorableText', () => {
  it('names the path of the first string that cannot be stored', () => {
    expect(findUnstorableText({ id: 'a', subject: { masked: 'x\ud800' } })).toBe('subject.masked: contains a lone UTF-16 surrogate (not valid Unicode text)');
    expect(findUnstorableText({ evidence: ['ok', 'b\u0007'] })).toBe('evidence[1]: contains a control character');
    expect(findUnstorableText({ ['bad\u0001key']: 1 })).toBe('bad?key: field name contains a control character');
    expect(findUnstorableText('\ud800')).toBe('(record): contains a lone UTF-16 surrogate (not valid Unicode text)');
  });

  it('refuses nesting deeper than eight levels, also when the strings are known clean', () => {
    expect(findUnstorableText(nested(8))).toBeUndefined();
    expect(findUnstorableText(nested(9))).toBe('k.k.k.k.k.k.k.k: nested deeper than 8 levels');
    expect(findUnstorableText(nested(9), true)).toBe('k.k.k.k.k.k.k.k: nested deeper than 8 levels');
    expect(findUnstorableText({ s: 'x\ud800' }, true)).toBeUndefined();
  });

  it('answers the same with strings known clean as the full walk does, over nested shapes', () => {
    // A small deterministic generator: objects and arrays mixed, depths 0–11, clean strings only,
    // so the full walk (which also checks strings) and the clean one must agree on every value.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const gen = (depth: number): unknown => {
      const pick = rnd(depth > 11 ? 3 : 9);
      if (pick === 0) return `s${rnd(100)}`;
      if (pick === 1) return rnd(1000);
      if (pick === 2) return rnd(2) ? null : true;
      const n = rnd(3) + (pick > 5 ? 1 : 0);
      if (pick === 3 || pick === 4) return Array.from({ length: n }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) o[`k${i}`] = gen(depth + 1);
      return o;
    };
    const answers = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const v = gen(0);
      const full = findUnstorableText(v);
      expect(findUnstorableText(v, true)).toBe(full);
      answers.add(full === undefined ? 'fine' : 'deep');
    }
    // Both outcomes occurred, so the comparison covered each.
    expect(answers).toEqual(new Set(['fine', 'deep']));
    // An inherited enumerable property is not the record's: neither walk follows it.
    const inherited = Object.create({ deep: nested(12) }) as Record<string, unknown>;
    inherited.own = nested(3);
    expect(findUnstorableText(inherited, true)).toBeUndefined();
    expect(findUnstorableText(inherited)).toBeUndefined();
    expect(findUnstorableText([[nested(8)]], true)).toBe('[0][0].k.k.k.k.k.k: nested deeper than 8 levels');
  });

  it('starts every walk from the record: a failed walk leaves no path behind for the next one', () => {
    expect(findUnstorableText({ a: { b: [{ c: '\u0000' }] } })).toBe('a.b[0].c: contains a control character');
    expect(findUnstorableText({ d: '\u0000' })).toBe('d: contains a control character');
    expect(findUnstorableText({ ok: ['fine', { also: 'fine' }] })).toBeUndefined();
    expect(findUnstorableText({ e: '\u0000' })).toBe('e: contains a control character');
  });

  it('a value whose walk throws leaves no path behind either', () => {
    const hostile = {
      a: {
        get b(): string {
          throw new Error('getter');
        },
      },
    };
    expect(() => findUnstorableText(hostile)).toThrow('getter');
    expect(findUnstorableText({ f: '\u0000' })).toBe('f: contains a control character');
  });
});
