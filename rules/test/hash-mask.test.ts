import { describe, expect, it } from 'vitest';
import { canonicalJson, fnv1a64, maskIdNumber, maskPlate, remaskIdNumber } from '../src/index.js';
import { fnvDigest, fnvFeed, fnvReset } from '../src/engine/hash.js';
import { remaskGeneral } from '../src/model/mask.js';
import { fnvReference } from './helpers.js';

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64 test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });

  it('matches a BigInt reference over UTF-8 (Chinese text, astral characters)', () => {
    for (const s of ['桂M12345', 'counter.off_hours|c-jcj-cgs-01:42', '𠀀x', 'x'.repeat(1000), '查验用时95秒']) {
      expect(fnv1a64(s)).toBe(fnvReference(s));
    }
  });

  it('fed in pieces, hashes their concatenation (lone surrogates included)', () => {
    for (const parts of [[], [''], ['a', 'b', 'c'], ['brake', '=', '81.5', ';', 'co', '=', '0.35'], ['桂', 'M1', '𠀀', '\ud800', '=', '\udc00x'], ['x'.repeat(300), '']]) {
      fnvReset();
      for (const p of parts) fnvFeed(p);
      expect(fnvDigest()).toBe(fnvReference(parts.join('')));
      expect(fnv1a64(parts.join(''))).toBe(fnvReference(parts.join('')));
    }
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(canonicalJson({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
});

describe('maskIdNumber', () => {
  it('keeps the first 2 and last 2 characters of an 18-character identity number', () => {
    expect(maskIdNumber('45120219900101123X')).toBe('45**************3X');
    expect(maskIdNumber('45120219900101123x')).toBe('45**************3X');
    expect(maskIdNumber(' 451202199001011234 ')).toBe('45**************34');
  });
  it('hides at least half of shorter values', () => {
    expect(maskIdNumber('451202900101123')).toBe('45***********23'); // 15-digit legacy number
    expect(maskIdNumber('12345678')).toBe('1******8');
    expect(maskIdNumber('12')).toBe('**');
    expect(maskIdNumber('')).toBe('');
  });
});

describe('remaskIdNumber', () => {
  it('cuts the older 4+4 form to 2+2 and leaves the current form alone', () => {
    expect(remaskIdNumber('4512**********123X')).toBe('45**************3X');
    expect(remaskIdNumber('4512*******1123')).toBe('45***********23');
    expect(remaskIdNumber('45**************3X')).toBe('45**************3X');
    expect(remaskIdNumber('1******8')).toBe('1******8');
  });
  it('masks a raw identity number a source forgot to mask, and leaves other text unchanged', () => {
    expect(remaskIdNumber('45120219900101123x')).toBe('45**************3X');
    expect(remaskIdNumber('张三')).toBe('张三');
    expect(remaskIdNumber('')).toBe('');
  });
  it('answers every input as the general path does, the shortcut for the current form included', () => {
    const alphabet = ['*', '*', '*', '4', '5', 'X', ' ', '张', '\u{20bb7}', '\ud800', '\udc00', '\t'];
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
    const inputs = ['45**************3X', ' 45**************3X ', '4**5', '*', '**', '4*', '*4', '45*', '*34', '𠮷*𠮷', '张************三', '45**********3X*', ' 45**********3* ', '\ud800*', '45********\u{20bb7}', '\u{20bb7}**********45'];
    for (let k = 0; k < 20_000; k++) {
      const len = next() % 20;
      let s = '';
      for (let i = 0; i < len; i++) s += alphabet[next() % alphabet.length];
      inputs.push(s);
    }
    for (const s of inputs) expect(remaskIdNumber(s), JSON.stringify(s)).toBe(remaskGeneral(s));
  });
});

describe('maskPlate', () => {
  it('keeps province, authority letter, first and last serial characters', () => {
    expect(maskPlate('桂M12345')).toBe('桂M1***5');
    expect(maskPlate('桂M·12345')).toBe('桂M1***5');
    expect(maskPlate('桂MD12345')).toBe('桂MD****5');
    expect(maskPlate('桂M1')).toBe('桂M*');
    expect(maskPlate('')).toBe('');
  });
});
