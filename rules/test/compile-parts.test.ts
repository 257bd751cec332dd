/**
 * Compiled pieces specialised for speed (compile-parts.ts), checked against their plain forms:
 * state keys are built by concatenation specialised by field count and must be exactly the
 * `${prefix}:${v1}:${v2}…[:${local date}]` of the contract (undefined when a key field is absent);
 * short `in` / `not_in` lists compare instead of hashing and must answer as Set#has does; the
 * per-path field getters must read what the generic path walk reads.
 */
import { describe, expect, it } from 'vitest';
import { FIELD_PATHS, VALUE_PATHS, createWorkCalendar, type FieldPath, type Transaction, type WorkCalendar } from '../src/index.js';
import { compileKey, compilePredicate } from '../src/engine/compile-parts.js';
import type { Predicate } from '../src/engine/definition.js';
import { fieldGetter, isPresent } from '../src/engine/fields.js';
import { cst, hashOf, person, txn } from './helpers.js';

function plainKey(prefix: string, fields: readonly FieldPath[], byDay: boolean, t: Transaction, cal: WorkCalendar): string | undefined {
  const parts = [prefix];
  for (const f of fields) {
    const v = fieldGetter(f)(t);
    if (!isPresent(v)) return undefined;
    parts.push(String(v));
  }
  if (byDay) parts.push(cal.local(t.occurredAt).date);
  return parts.join(':');
}

describe('compileKey', () => {
  const records: Transaction[] = [
    txn(),
    txn({ occurredAt: cst('2026-11-26T23:59:59'), counter: 'W01', deviceId: 'JCJ-CGS-T01', subject: person('p1'), phoneHash: hashOf('phone') }),
    txn({ occurredAt: cst('2026-11-27T00:00'), counter: '', staffId: 'JCJ-CGS-C02', vehicle: { hpzl: '02', hphm: '桂M12345', vin: 'LSVAB123456789012', approvalRevoked: true } }),
    txn({ kind: 'inspection', ywlx: 'P', vehicle: { hpzl: '01', hphm: '桂M54321' }, lsh: '1261102000001', subject: person('p2') }),
  ];
  const fieldLists: FieldPath[][] = [
    [],
    ['staffId'],
    ['counter'],
    ['seq'],
    ['institutionId', 'counter'],
    ['institutionId', 'staffId'],
    ['vehicle.hpzl', 'vehicle.hphm', 'vehicle.approvalRevoked'],
    ['subject.idHash', 'phoneHash'],
    ['lsh', 'occurredAt', 'deviceId'],
  ];
  const full = createWorkCalendar();
  // A calendar without the optional localDate(): keys fall back to local().date.
  const bare: WorkCalendar = { config: full.config, local: full.local, isWorkingDay: full.isWorkingDay, isWorkingTime: full.isWorkingTime };

  it.each(fieldLists.flatMap((fields) => [false, true].map((byDay) => ({ fields, byDay }))))('is the joined key for fields $fields (by day: $byDay)', ({ fields, byDay }) => {
    const keyOf = compileKey({ prefix: 'p-x', fields, ...(byDay ? { bucket: 'local_day' as const } : {}) });
    for (const t of records) {
      for (const cal of [full, bare]) expect(keyOf(t, cal)).toBe(plainKey('p-x', fields, byDay, t, cal));
    }
  });
});

describe('compilePredicate in / not_in', () => {
  const candidates: unknown[] = ['A', 'B', 'a', '', '1', 1, 0, -0, 2.5, true, false, Number.NaN, undefined, null];
  const lists: unknown[][] = [['A'], [1], [true], ['A', 'B'], ['1', 1], [0, 'A'], ['A', 'B', 'K'], [false, '', 2.5], ['A', 'B', 'D', 'E'], [Number.NaN], ['A', Number.NaN, 1], ['x', 'y', 'z', 'w', 'v', 1]];
  it.each(lists.map((values) => ({ values })))('answers as Set#has for $values', ({ values }) => {
    const set = new Set(values);
    for (const op of ['in', 'not_in'] as const) {
      // values may hold NaN here, which definitions cannot: the predicate must still be exact.
      const test = compilePredicate({ op, field: 'ywlx', values } as unknown as Predicate);
      for (const v of candidates) expect(test({ ywlx: v } as unknown as Transaction), `${op} ${String(v)}`).toBe(op === 'in' ? set.has(v) : !set.has(v));
    }
  });
});

describe('fieldGetter', () => {
  /** The generic walk: at most two property reads, a non-object parent yields undefined. */
  const walk = (path: string, t: unknown): unknown => {
    const [head, tail] = path.split('.') as [string, string | undefined];
    const v = (t as Record<string, unknown>)[head];
    if (tail === undefined) return v;
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[tail] : undefined;
  };
  const records: unknown[] = [
    txn({ subject: person('s'), agent: person('a'), vehicle: { hpzl: '02', hphm: '桂M1', vin: 'LSVAB123456789012', ownerIdHash: 'x', approvalRevoked: false }, licence: { numberHash: 'n1234567', zjcx: 'C1' }, measurements: { score: 90, coPct: 0.3 } }),
    txn({ kind: 'online', channel: 'internet' }),
    // Unvalidated shapes: parents that are not objects, null, arrays, strings, numbers.
    { id: 'x', subject: 'a string', agent: null, vehicle: [1, 2], licence: 5, measurements: 'm', occurredAt: 1 },
    { id: 'y', subject: true, agent: { idHash: '' }, vehicle: { vin: null }, measurements: null },
    {},
  ];
  it('reads every value path as the generic walk does', () => {
    expect(FIELD_PATHS.length).toBeGreaterThan(40);
    for (const path of VALUE_PATHS) {
      const get = fieldGetter(path);
      for (const t of records) expect(get(t as Transaction), path).toBe(walk(path, t));
    }
  });
});
