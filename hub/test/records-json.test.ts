/**
 * Reading a batch's records one record at a time (hub/src/ingest/records-json.ts): whatever it
 * returns equals JSON.parse of the whole text, and whatever it cannot split safely it leaves to
 * the whole-text path (undefined).
 */
import { describe, expect, it } from 'vitest';
import { readRecordsJson } from '../src/ingest/records-json.js';
import { checkTxn, prng } from './helpers.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const whole = (text: string) => JSON.parse(text) as unknown;

describe('reading records one at a time', () => {
  it('gives the records JSON.parse gives for a collector batch, Chinese text included', () => {
    const records = Array.from({ length: 50 }, (_, i) => checkTxn(i + 1, { ywyy: `变更登记 ${i}` }));
    const text = JSON.stringify(records);
    const r = readRecordsJson(bytes(text));
    expect(r?.records).toEqual(whole(text));
    expect(r?.noEscapes).toBe(true);
    expect(readRecordsJson(bytes(JSON.stringify([records[0]])))?.records).toEqual([records[0]]);
  });

  it('says when the text holds an escape, as the whole-text path does', () => {
    const text = JSON.stringify([{ a: 'line\nbreak' }, { b: 'quote"' }]);
    expect(readRecordsJson(bytes(text))).toEqual({ records: whole(text), noEscapes: false });
  });

  it('leaves to the whole text what a split at "},{" could misread', () => {
    const cases = [
      JSON.stringify([{ a: '},{' }, { b: 1 }]), // the pattern inside a string
      JSON.stringify([{ a: [{ x: 1 }, { y: 2 }] }, { b: 1 }]), // nested objects side by side
      JSON.stringify([{ a: 1 }, { b: '}' }]).replace(',{', ', {'), // whitespace
      '[{"a":1},{"b":2}] ', // trailing whitespace
      '[]',
      '[{"a":1},2]',
      '[{"a":1},{"b":2},[3]]',
      '{"a":1}',
      '[{"a":1}',
      '[{"a":1},{"a":}]',
      '[{"a":"\\ud800"},{"b":"x"}]'.replace('"x"', '"},{"'),
    ];
    for (const text of cases) {
      const r = readRecordsJson(bytes(text));
      if (r !== undefined) expect(r.records, text).toEqual(whole(text));
    }
    expect(readRecordsJson(bytes(cases[0]!))).toBeUndefined();
    expect(readRecordsJson(bytes(cases[1]!))).toBeUndefined();
    expect(readRecordsJson(bytes(cases[2]!))).toBeUndefined();
    expect(readRecordsJson(bytes('[{"a":1},2]'))).toBeUndefined();
    expect(readRecordsJson(bytes('[]'))).toBeUndefined();
  });

  it('refuses bytes that are not UTF-8 (the whole-text path words the error)', () => {
    const b = bytes('[{"a":"xx"},{"b":1}]');
    b[7] = 0xff;
    expect(readRecordsJson(b)).toBeUndefined();
  });

  it('never returns records other than JSON.parse of the whole text, over 5,000 generated batches', () => {
    const rand = prng(20261204);
    const alphabet = ['a', '}', '{', ',', '"', '\\', '[', ']', ':', ' ', '车', '桂', '\u2028', '\n', '},{', '"},{"'];
    const str = () => Array.from({ length: Math.floor(rand() * 8) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
    const value = (depth: number): unknown => {
      const k = rand();
      if (depth > 2 || k < 0.4) return str();
      if (k < 0.55) return Math.floor(rand() * 1e6) / 7;
      if (k < 0.75) return Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 3) }, () => [str(), value(depth + 1)]));
    };
    let split = 0;
    for (let i = 0; i < 5_000; i++) {
      const records = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [str(), value(0)])));
      const text = JSON.stringify(records);
      const r = readRecordsJson(bytes(text));
      if (r === undefined) continue;
      split++;
      expect(r.records).toEqual(whole(text));
      expect(r.noEscapes).toBe(!text.includes('\\'));
    }
    // Most generated batches are read piece by piece; the rest went to the whole-text path.
    expect(split).toBeGreaterThan(1_000);
  });
});
