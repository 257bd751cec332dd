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
