/**
 * parseTransactionFast must agree with TransactionSchema.safeParse: whatever zod rejects it rejects,
 * whatever zod accepts it returns deep-equal (as fresh objects). The fuzz below builds realistic
 * records and mutates them at every boundary the schema declares — boundaries read from the schema
 * itself, so a changed bound moves the probes with it and a stale fast parser is caught.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Channel,
  LicenceRef,
  PersonRef,
  SOURCE_SYSTEMS,
  TRANSACTION_FAST_KEYS,
  TransactionKind,
  TransactionSchema,
  VehicleRef,
  parseTransactionFast,
} from '../src/index.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32), so a failure reproduces.

function rngOf(seed: number) {
  let s = seed | 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const chance = (p: number): boolean => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof rngOf>;

// ---------------------------------------------------------------------------------------------
// Realistic records, shaped like the collector simulator's output.

const HEXCHARS = '0123456789abcdef';
const hex = (rng: Rng, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += HEXCHARS[rng.int(0, 15)];
  return s;
};
const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
const vin = (rng: Rng): string => {
  let s = rng.pick(['LSV', 'LFV', 'LGB', 'LVS', 'LBV', 'LGW']);
  while (s.length < 17) s += VIN_CHARS[rng.int(0, VIN_CHARS.length - 1)];
  return s;
};
const INSTITUTIONS = ['JCJ-CGS', 'YZ-CGFS', 'ND-CGFS', 'DA-CGFS', 'JCJ-JYZ', 'HC-KC01'];
const T0 = Date.UTC(2026, 10, 26, 2, 0);

function person(rng: Rng): Obj {
  const p: Obj = { idHash: hex(rng, rng.pick([16, 64, 64, 64])), masked: rng.pick(['4512**********123X', '45**************34', '']) };
  if (rng.chance(0.5)) p.birthYear = rng.int(1940, 2008);
  return p;
}

let seqCounter = 0;
function realistic(rng: Rng): Obj {
  seqCounter += 1;
  const collectorId = rng.pick(['c-hechi-01', 'c-hechi-cgs', 'c-yz-02']);
  const seq = rng.chance(0.05) ? rng.int(0, 2 ** 40) : seqCounter;
  const kind = rng.pick(TransactionKind.options);
  const institutionId = rng.pick(INSTITUTIONS);
  const occurredAt = T0 + rng.int(-86_400_000 * 400, 86_400_000 * 30);
  const r: Obj = {
    id: `${collectorId}:${seq}`,
    collectorId,
    seq,
    source: rng.pick(Object.keys(SOURCE_SYSTEMS)),
    channel: rng.pick(Channel.options),
    institutionId,
    kind,
    occurredAt,
    capturedAt: occurredAt + rng.int(50, 5000),
  };
  if (rng.chance(0.8)) r.counter = `C${String(rng.int(1, 12)).padStart(2, '0')}`;
  if (rng.chance(0.9)) r.staffId = `${institutionId}-C${String(rng.int(1, 20)).padStart(2, '0')}`;
  if (rng.chance(0.5)) r.staffIdHash = hex(rng, 64);
  if (rng.chance(0.6)) r.deviceId = `${institutionId}-T0${rng.int(1, 9)}`;
  if (kind === 'exam' && rng.chance(0.8)) r.venue = `KC${rng.int(1, 4)}`;
  if (rng.chance(0.6)) r.ip = rng.chance(0.9) ? `10.45.${rng.int(0, 255)}.${rng.int(1, 254)}` : 'fe80:0000:0000:0000:0204:61ff:fe9d:f156';
  if (rng.chance(0.5)) r.mac = `3C:97:0E:${hex(rng, 2).toUpperCase()}:${hex(rng, 2).toUpperCase()}:${hex(rng, 2).toUpperCase()}`;
  if (rng.chance(0.7)) r.lsh = `4512${rng.int(1e8, 9e8)}`;
  if (rng.chance(0.1)) r.subLsh = `${rng.int(1, 9)}`;
  if (rng.chance(0.8)) r.ywlx = rng.pick(['A', 'B', 'D', 'K', 'O', 'P', 'H']);
  if (rng.chance(0.3)) r.ywyy = rng.pick(['A', 'B', 'AB', 'F']);
  if (kind !== 'queue' && rng.chance(0.95)) r.subject = person(rng);
  if (rng.chance(0.15)) r.agent = person(rng);
  if (rng.chance(0.3)) r.phoneHash = hex(rng, 64);
  if (['vehicle', 'check', 'inspection', 'violation'].includes(kind)) {
    const v: Obj = { hpzl: rng.pick(['01', '02', '02', '15', '22', '52']) };
    if (rng.chance(0.9)) v.hphm = `桂M${rng.int(10000, 99999)}`;
    if (rng.chance(0.8)) v.vin = vin(rng);
    if (rng.chance(0.5)) v.ownerIdHash = hex(rng, 64);
    if (rng.chance(0.05)) v.approvalRevoked = rng.chance(0.5);
    r.vehicle = v;
  }
  if (['licence', 'violation', 'exam', 'medical'].includes(kind)) {
    const l: Obj = { numberHash: hex(rng, 64) };
    if (rng.chance(0.8)) l.zjcx = rng.pick(['C1', 'C2', 'B2', 'A1', 'A2D']);
    r.licence = l;
  }
  if (rng.chance(0.4)) r.appliedAt = occurredAt - rng.int(0, 3_600_000);
  if (rng.chance(0.6)) r.startedAt = occurredAt - rng.int(0, 600_000);
  if (rng.chance(0.6)) r.endedAt = occurredAt;
  if (rng.chance(0.3)) r.completedAt = occurredAt + rng.int(0, 60_000);
  if (rng.chance(0.8)) r.outcome = rng.pick(['done', 'refused', 'pending', 'pass', 'fail']);
  if (kind === 'violation') r.measurements = { points: rng.pick([0, 1, 3, 6, 9, 12]), fine: rng.pick([0, 50, 100, 200, 1500]) };
  if (kind === 'exam') r.measurements = { subject: rng.int(1, 4), score: rng.int(0, 100), faceMatchScore: Math.round(rng.next() * 1000) / 10 };
  if (kind === 'inspection') r.measurements = { filedMinSeconds: rng.int(30, 600), calibrationValidTo: T0 + rng.int(0, 4e10), photoTakenAt: occurredAt - 1000 };
  if (kind === 'check' || kind === 'inspection') r.evidence = Array.from({ length: rng.int(0, 8) }, () => hex(rng, 64));
  // The hub's input always comes out of JSON.parse.
  return JSON.parse(JSON.stringify(r)) as Obj;
}

// ---------------------------------------------------------------------------------------------
// The comparison every input goes through.

const stats = { inputs: 0, zodValid: 0, fastAccepted: 0, zodThrew: 0 };
/** zod-valid inputs the fast path declined: none today; the test fails if one ever appears. */
const declined: unknown[] = [];

const NESTED = ['subject', 'agent', 'vehicle', 'licence', 'measurements', 'evidence'] as const;

function readSafely(x: unknown, key: string): unknown {
  try {
    return (x as Obj)[key];
  } catch {
    return undefined;
  }
}

function check(input: unknown): void {
  stats.inputs += 1;
  let zod: ReturnType<typeof TransactionSchema.safeParse> | undefined;
  try {
    zod = TransactionSchema.safeParse(input);
  } catch {
    // Reading the input threw inside zod (a throwing getter): the fast path must not answer.
    stats.zodThrew += 1;
  }
  const fast = parseTransactionFast(input);
  if (zod === undefined || !zod.success) {
    if (fast !== undefined) {
      throw new Error(`fast path accepted an input zod rejects: ${describeInput(input)}\n${zod ? JSON.stringify(zod.error.issues) : 'zod threw'}`);
    }
    return;
  }
  stats.zodValid += 1;
  if (fast === undefined) {
    declined.push(input);
    return;
  }
  stats.fastAccepted += 1;
  expect(fast).toStrictEqual(zod.data);
  expect(fast).not.toBe(input);
  expect(fast).not.toBe(zod.data);
  const f = fast as Obj;
  for (const key of NESTED) {
    const out = f[key];
    if (typeof out === 'object' && out !== null) {
      expect(out).not.toBe(readSafely(input, key));
      expect(out).not.toBe((zod.data as Obj)[key]);
    }
  }
}

function describeInput(input: unknown): string {
  try {
    return JSON.stringify(input, (_k, v: unknown) => (v === undefined ? '<undefined>' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 2000) ?? String(input);
  } catch {
    return Object.prototype.toString.call(input);
  }
}

// ---------------------------------------------------------------------------------------------
// Field probes, read from the schema.

const ASTRAL = '😀'; // one code point, two UTF-16 units
const HIGH = '\ud800';
const LOW = '\udc00';

/** Values of the wrong type, for any field. Built fresh per use: some are mutable objects. */
function wrongTypes(): unknown[] {
  class Thing {
    a = 1;
  }
  return [
    null,
    undefined,
    true,
    false,
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    '',
    'x',
    '1',
    [],
    ['a'],
    [1],
    {},
    { a: 1 },
    new Thing(),
    Object.create(null),
    new Date(0),
    new String('x'),
    new Number(1),
    new Boolean(true),
    10n,
    Symbol('s'),
    () => 'x',
  ];
}

function stringProbes(min: number | null, max: number | null): string[] {
  const v: string[] = [];
  const lo = min ?? 0;
  const hi = max ?? 300;
  for (const n of [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 2 * hi, 2 * hi + 1]) if (n >= 0) v.push('a'.repeat(n));
  // Lengths count code points: a pair is one, a lone surrogate is one, a reversed pair is two.
  for (const n of [lo - 1, lo, hi - 1, hi, hi + 1]) {
    if (n < 0) continue;
    v.push(ASTRAL.repeat(n), HIGH.repeat(n), LOW.repeat(n), (LOW + HIGH).repeat(Math.ceil(n / 2)), '桂'.repeat(n));
    if (n >= 1) v.push('a'.repeat(n - 1) + ASTRAL, ASTRAL.repeat(n - 1) + 'a', ASTRAL.repeat(n - 1) + HIGH, HIGH + ASTRAL.repeat(n - 1));
  }
  v.push('x'.repeat(1_000_000), ASTRAL.repeat(200_000));
  return v;
}

function numberProbes(min: number | null, max: number | null): unknown[] {
  const v: unknown[] = [0, -0, 1, -1, 0.5, -0.5, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, 1e21];
  for (const b of [min, max]) {
    if (b === null || !Number.isFinite(b)) continue;
    v.push(b - 1, b, b + 1, b - 0.5, b + 0.5, b + 1e-3, -b, String(b));
  }
  return v;
}

const HEX_PROBES = (rng: Rng): string[] => [
  hex(rng, 15),
  hex(rng, 16),
  hex(rng, 17),
  hex(rng, 64),
  hex(rng, 127),
  hex(rng, 128),
  hex(rng, 129),
  hex(rng, 64).toUpperCase(),
  'A' + hex(rng, 63),
  hex(rng, 63) + 'g',
  hex(rng, 64) + '\n',
  '\n' + hex(rng, 64),
  ' ' + hex(rng, 63),
  hex(rng, 32) + '\u0000' + hex(rng, 31),
  '０'.repeat(16), // full-width digits
  '٠'.repeat(16), // Arabic-Indic digits
  'f'.repeat(16),
  '0'.repeat(128),
  hex(rng, 32) + ASTRAL,
];

const HPZL_PROBES = ['1', '01', '001', '٠١', '１２', ' 1', '1 ', '0a', '01\n', '\n01', '00', '99', '0' + ASTRAL, '\u0660\u0661', '0\u0661', '²³'];

interface FieldSpec {
  /** Where the field's object sits: [] for the record, ['vehicle'] for a vehicle field. */
  readonly level: readonly string[];
  readonly key: string;
  readonly probes: (rng: Rng) => unknown[];
}

function unwrap(s: z.ZodType): z.ZodType {
  return s instanceof z.ZodOptional ? (s.unwrap() as z.ZodType) : s;
}

function patternsOf(s: z.ZodString): string[] {
  const checks = (s._zod.def.checks ?? []) as { _zod: { def: { pattern?: RegExp } } }[];
  return checks.flatMap((c) => (c._zod.def.pattern ? [c._zod.def.pattern.source] : []));
}

function probesFor(s: z.ZodType): (rng: Rng) => unknown[] {
  if (s instanceof z.ZodString) {
    const patterns = patternsOf(s);
    return (rng) => [
      ...wrongTypes(),
      ...stringProbes(s.minLength, s.maxLength),
      ...(patterns.some((p) => p.includes('0-9a-f')) ? HEX_PROBES(rng) : []),
      ...(patterns.some((p) => p.includes('\\d')) ? HPZL_PROBES : []),
    ];
  }
  if (s instanceof z.ZodNumber) return () => [...wrongTypes(), ...numberProbes(s.minValue, s.maxValue)];
  if (s instanceof z.ZodEnum) {
    const options = s.options as string[];
    return () => [...wrongTypes(), ...options, ...options.map((o) => o.toUpperCase()), ...options.map((o) => ` ${o}`), ...options.map((o) => new String(o))];
  }
  if (s instanceof z.ZodBoolean) return () => [...wrongTypes(), true, false, 'true', 'false', 0, 1];
  return () => wrongTypes();
}

/** Every leaf field of the schema, the nested refs' fields included. */
const FIELDS: FieldSpec[] = Object.entries(TransactionSchema.shape).flatMap(([key, schema]) => {
  const s = unwrap(schema as z.ZodType);
  const own: FieldSpec = { level: [], key, probes: probesFor(s) };
  if (!(s instanceof z.ZodObject)) return [own];
  const nested = Object.entries(s.shape as Record<string, z.ZodType>).map(([k, ns]) => ({ level: [key], key: k, probes: probesFor(unwrap(ns)) }));
  return [own, ...nested];
});

const OBJECT_LEVELS = ['subject', 'agent', 'vehicle', 'licence'] as const;
const freshLevel = (rng: Rng, level: string): Obj =>
  level === 'vehicle' ? { hpzl: '02', hphm: '桂M12345', vin: vin(rng) } : level === 'licence' ? { numberHash: hex(rng, 64), zjcx: 'C1' } : person(rng);

/** The object a mutation at `level` edits, created valid when the record lacks one. */
function levelOf(rng: Rng, root: Obj, level: readonly string[]): Obj {
  if (level.length === 0) return root;
  const k = level[0]!;
  const cur = root[k];
  if (typeof cur === 'object' && cur !== null && !Array.isArray(cur)) return cur as Obj;
  const fresh = freshLevel(rng, k);
  root[k] = fresh;
  return fresh;
}

// ---------------------------------------------------------------------------------------------
// Shape probes: how an object can arrive other than as a JSON object.

/** JSON text of an object that earlier mutations may have filled with bigints, getters or proxies. */
function jsonOf(obj: unknown): string {
  try {
    const text = JSON.stringify(obj, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    return typeof text === 'string' && text.startsWith('{') ? text : '{}';
  } catch {
    return '{}';
  }
}

/** Re-creates `obj` from JSON text with an extra leading key — the way `__proto__` arrives. */
function withJsonKey(obj: Obj, key: string, valueJson: string): Obj {
  const body = jsonOf(obj).slice(1, -1);
  return JSON.parse(`{${JSON.stringify(key)}:${valueJson}${body ? `,${body}` : ''}}`) as Obj;
}

function shapeVariants(rng: Rng, obj: Obj): unknown[] {
  const keys = Object.keys(obj);
  const someKey = keys.length ? rng.pick(keys) : 'x';
  class Carrier {}
  const withGetters: Obj = {};
  for (const k of keys) Object.defineProperty(withGetters, k, { get: () => obj[k], enumerable: true });
  const throwing = { ...obj };
  Object.defineProperty(throwing, someKey, {
    get() {
      throw new Error('getter');
    },
    enumerable: true,
  });
  return [
    [obj],
    [],
    Object.assign([], obj),
    Object.assign(new Carrier(), obj),
    Object.create(obj),
    Object.assign(Object.create(null), obj),
    Object.assign(new Date(0), obj),
    Object.assign(new Map(), obj),
    Object.freeze({ ...obj }),
    withGetters,
    throwing,
    new Proxy(obj, {}),
    // `has` and `get` disagree: zod decides presence with `in`, so the fast path must too.
    new Proxy(obj, { has: (t, k) => (k === someKey ? false : Reflect.has(t, k)) }),
    new Proxy(obj, { has: (t, k) => (k === someKey ? false : Reflect.has(t, k)), get: (t, k, r) => (k === someKey ? 'junk' : Reflect.get(t, k, r)) }),
    new Proxy({}, { get: (_t, k) => obj[k as string] }),
    withJsonKey(obj, '__proto__', '{"a":1}'),
    withJsonKey(obj, '__proto__', jsonOf(obj)),
    JSON.parse(`{"__proto__":${jsonOf(obj)}}`),
    withJsonKey(obj, 'constructor', '{"prototype":{"isPrototypeOf":1}}'),
    withJsonKey(obj, 'constructor', '"x"'),
    jsonOf(obj),
    new String(jsonOf(obj)),
  ];
}

function measurementsProbes(): unknown[] {
  class Meter {
    a = 1;
  }
  const nonEnumerable = { a: 1 };
  Object.defineProperty(nonEnumerable, 'hidden', { value: 'junk', enumerable: false });
  const symbolKeyed: Obj = { a: 1 };
  (symbolKeyed as Record<symbol, unknown>)[Symbol('m')] = 1;
  const hiddenSymbol = { a: 1 };
  Object.defineProperty(hiddenSymbol, Symbol('h'), { value: 'junk', enumerable: false });
  const inherited = Object.create({ inheritedJunk: 'x' }) as Obj;
  inherited.a = 2;
  const getter = {};
  Object.defineProperty(getter, 'g', { get: () => 5, enumerable: true });
  const ctorFn = { a: 1, constructor: function NotPlain() {} };
  const ctorObject = { a: 1, constructor: Object };
  const weirdProto = { a: 1, constructor: { prototype: 5 } };
  return [
    {},
    { a: 1 },
    { a: 1.5, b: -0, c: -1e300, d: Number.MAX_VALUE },
    { a: NaN },
    { a: Infinity },
    { a: -Infinity },
    { a: '1' },
    { a: null },
    { a: undefined },
    { a: true },
    { a: [] },
    { a: {} },
    { a: 1n },
    { a: new Number(1) },
    [],
    [1, 2],
    Object.assign([], { a: 1 }),
    JSON.parse('{"__proto__": "junk", "a": 1}'),
    JSON.parse('{"__proto__": 1}'),
    JSON.parse('{"__proto__": {"a": "junk"}}'),
    JSON.parse('{"constructor": 1, "a": 2}'),
    JSON.parse('{"constructor": "x"}'),
    JSON.parse('{"constructor": {"prototype": {}}}'),
    JSON.parse('{"toString": 1, "hasOwnProperty": 2, "": 3, "0": 4, "1e3": 5}'),
    Object.assign(Object.create(null), { a: 1 }),
    Object.assign(Object.create(null), { a: 'x' }),
    new Meter(),
    new Date(0),
    new Map([['a', 1]]),
    nonEnumerable,
    symbolKeyed,
    hiddenSymbol,
    inherited,
    getter,
    ctorFn,
    ctorObject,
    weirdProto,
    new Proxy({ a: 1 }, {}),
    Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`m${i}`, i])),
  ];
}

function evidenceProbes(rng: Rng): unknown[] {
  const items = (n: number, len = 64): string[] => Array.from({ length: n }, () => hex(rng, len));
  const withHole = items(3);
  delete withHole[1];
  return [
    [],
    items(1),
    items(63),
    items(64),
    items(65),
    items(1000),
    [...items(2), 'a'.repeat(128)],
    [...items(2), 'a'.repeat(129)],
    [ASTRAL.repeat(128)],
    [ASTRAL.repeat(129)],
    ['a'.repeat(127) + ASTRAL],
    [HIGH.repeat(128)],
    [HIGH.repeat(129)],
    [''],
    withHole,
    new Array(2),
    [undefined],
    [null],
    [1],
    [['a']],
    [new String('a')],
    { length: 1, 0: 'a' },
    { 0: 'a' },
    'a',
    new Proxy(items(2), {}),
    Object.assign(items(2), { extra: 'junk' }),
  ];
}

const UNKNOWN_KEYS = ['extra', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '', '0', 'ID', 'Id', 'idhash', 'prototype'];

// ---------------------------------------------------------------------------------------------
// Mutations.

type Mutation = (rng: Rng, root: Obj) => void;

const setField = (spec: FieldSpec): Mutation => (rng, root) => {
  levelOf(rng, root, spec.level)[spec.key] = rng.pick(spec.probes(rng));
};
const deleteField = (spec: FieldSpec): Mutation => (rng, root) => {
  delete levelOf(rng, root, spec.level)[spec.key];
};
const undefineField = (spec: FieldSpec): Mutation => (rng, root) => {
  levelOf(rng, root, spec.level)[spec.key] = undefined;
};
const addUnknown: Mutation = (rng, root) => {
  const level = rng.pick([[], ['subject'], ['agent'], ['vehicle'], ['licence']]);
  levelOf(rng, root, level)[rng.pick(UNKNOWN_KEYS)] = rng.pick([...wrongTypes(), 'junk', 5]);
};
const addJsonKey: Mutation = (rng, root) => {
  const level = rng.pick(OBJECT_LEVELS);
  const obj = levelOf(rng, root, [level]);
  root[level] = withJsonKey(obj, rng.pick(['__proto__', 'constructor']), rng.pick(['1', '"x"', 'null', '{"idHash":"00"}', '[]', jsonOf(obj)]));
};
const reshapeLevel: Mutation = (rng, root) => {
  const level = rng.pick(OBJECT_LEVELS);
  root[level] = rng.pick(shapeVariants(rng, levelOf(rng, root, [level])));
};
const setMeasurements: Mutation = (rng, root) => {
  root.measurements = rng.pick(measurementsProbes());
};
const setEvidence: Mutation = (rng, root) => {
  root.evidence = rng.pick(evidenceProbes(rng));
};

const MUTATIONS: Mutation[] = [
  ...FIELDS.map(setField),
  ...FIELDS.map(setField), // value probes twice as likely as the others
  ...FIELDS.map(deleteField),
  ...FIELDS.map(undefineField),
  addUnknown,
  addJsonKey,
  reshapeLevel,
  setMeasurements,
  setEvidence,
];

// ---------------------------------------------------------------------------------------------

describe('parseTransactionFast', () => {
  it('knows exactly the keys of TransactionSchema and its nested object schemas', () => {
    const keysOf = (s: { shape: object }) => Object.keys(s.shape).sort();
    expect([...TRANSACTION_FAST_KEYS.transaction].sort()).toEqual(keysOf(TransactionSchema));
    expect([...TRANSACTION_FAST_KEYS.person].sort()).toEqual(keysOf(PersonRef));
    expect([...TRANSACTION_FAST_KEYS.vehicle].sort()).toEqual(keysOf(VehicleRef));
    expect([...TRANSACTION_FAST_KEYS.licence].sort()).toEqual(keysOf(LicenceRef));
    // The nested object fields are exactly these refs, so their key lists above are the ones used.
    const shape = TransactionSchema.shape;
    const nestedObjects = Object.keys(shape).filter((k) => unwrap(shape[k as keyof typeof shape] as z.ZodType) instanceof z.ZodObject);
    expect(nestedObjects.sort()).toEqual(['agent', 'licence', 'subject', 'vehicle']);
    expect(shape.subject.unwrap()).toBe(PersonRef);
    expect(shape.agent.unwrap()).toBe(PersonRef);
    expect(shape.vehicle.unwrap()).toBe(VehicleRef);
    expect(shape.licence.unwrap()).toBe(LicenceRef);
  });

  it('accepts realistic records exactly as zod does (fresh objects, deep-equal)', () => {
    const rng = rngOf(20261126);
    let valid = 0;
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const r = realistic(rng);
      const zod = TransactionSchema.safeParse(r);
      expect(zod.success).toBe(true); // the generator makes valid records only
      valid += 1;
      if (parseTransactionFast(r) !== undefined) accepted += 1;
      check(r);
    }
    // A fast path that declines too much is useless: it must take (nearly) all real traffic.
    expect(accepted / valid).toBeGreaterThanOrEqual(0.99);
  });

  it('probes every schema boundary on every field', () => {
    const rng = rngOf(7);
    for (const spec of FIELDS) {
      for (const value of spec.probes(rng)) {
        const r = realistic(rng);
        levelOf(rng, r, spec.level)[spec.key] = value;
        check(r);
      }
      const absent = realistic(rng);
      delete levelOf(rng, absent, spec.level)[spec.key];
      check(absent);
      const undef = realistic(rng);
      levelOf(rng, undef, spec.level)[spec.key] = undefined;
      check(undef);
    }
    for (const m of measurementsProbes()) check({ ...realistic(rng), measurements: m });
    for (const e of evidenceProbes(rng)) check({ ...realistic(rng), evidence: e });
    for (const level of OBJECT_LEVELS) {
      for (const key of UNKNOWN_KEYS) {
        const r = realistic(rng);
        levelOf(rng, r, [level])[key] = 'junk';
        check(r);
      }
      const base = realistic(rng);
      for (const variant of shapeVariants(rng, levelOf(rng, base, [level]))) check({ ...base, [level]: variant });
    }
    for (const variant of shapeVariants(rng, realistic(rng))) check(variant);
    // Presence is `key in obj` for zod, separately from the value read: a Proxy can make the two
    // disagree for any one field.
    for (const spec of FIELDS) {
      for (const [hasKey, value] of [[false, undefined], [false, 'junk'], [true, undefined], [true, 'junk']] as const) {
        const r = realistic(rng);
        const target = levelOf(rng, r, spec.level);
        const proxy = new Proxy(target, {
          has: (t, k) => (k === spec.key ? hasKey : Reflect.has(t, k)),
          get: (t, k, recv) => (k === spec.key && value !== undefined ? value : Reflect.get(t, k, recv)),
        });
        check(spec.level.length ? { ...r, [spec.level[0]!]: proxy } : proxy);
      }
    }
    for (const key of UNKNOWN_KEYS) check({ ...realistic(rng), [key]: 'junk' });
    for (const v of wrongTypes()) check(v);
    expect(declined.map(describeInput)).toEqual([]);
  });

  it('agrees with zod on thousands of randomly mutated records', () => {
    const rng = rngOf(451202);
    for (let i = 0; i < 20000; i++) {
      let root: unknown = realistic(rng);
      const n = rng.int(1, 3);
      for (let j = 0; j < n; j++) rng.pick(MUTATIONS)(rng, root as Obj);
      // Now and then the record itself arrives in an unusual shape.
      if (rng.chance(0.05)) root = rng.pick(shapeVariants(rng, root as Obj));
      check(root);
    }
    expect(stats.inputs).toBeGreaterThan(25000);
    expect(stats.zodValid).toBeGreaterThan(5000);
    expect(stats.zodValid).toBeLessThan(stats.inputs - 5000); // the mutations really do break records
    expect(declined.map(describeInput)).toEqual([]);
  });

  describe('mirrors zod on the behaviours that are easy to get wrong', () => {
    const rng = rngOf(1);
    const base = () => realistic(rng);
    const same = (input: unknown) => {
      const z1 = TransactionSchema.safeParse(input);
      const fast = parseTransactionFast(input);
      expect(fast).toStrictEqual(z1.success ? z1.data : undefined);
      return fast;
    };

    it('keeps an optional key given as undefined, and leaves an absent one absent', () => {
      const r: Obj = { ...base(), counter: undefined, subject: undefined };
      delete r.staffId;
      const out = same(r) as Obj;
      expect('counter' in out && out.counter === undefined).toBe(true);
      expect('subject' in out).toBe(true);
      expect('staffId' in out).toBe(false);
    });

    it('measures string lengths in code points, as this zod does', () => {
      expect(same({ ...base(), ywlx: ASTRAL.repeat(4) })).toBeDefined(); // 8 units, 4 code points
      expect(same({ ...base(), ywlx: ASTRAL.repeat(5) })).toBeUndefined();
      expect(same({ ...base(), vehicle: { hpzl: '02', vin: ASTRAL + 'A'.repeat(16) } })).toBeDefined();
      expect(same({ ...base(), licence: { numberHash: ASTRAL.repeat(7) } })).toBeUndefined(); // 14 units, 7 code points
    });

    it('reads \\d as ASCII only and $ as end of input', () => {
      for (const hpzl of ['٠١', '１２', '01\n', '001', '1']) expect(same({ ...base(), vehicle: { hpzl } })).toBeUndefined();
      expect(same({ ...base(), vehicle: { hpzl: '01' } })).toBeDefined();
    });

    it('treats int() as a safe integer', () => {
      expect(same({ ...base(), seq: 2 ** 53 - 1 })).toBeDefined();
      expect(same({ ...base(), seq: 2 ** 53 })).toBeUndefined();
    });

    it('strips __proto__ and keeps constructor in measurements; rejects non-finite numbers and arrays', () => {
      const out = same({ ...base(), measurements: JSON.parse('{"__proto__": "x", "constructor": 1, "a": 2}') }) as Obj;
      expect(out.measurements).toStrictEqual({ constructor: 1, a: 2 });
      expect(Object.getPrototypeOf(out.measurements)).toBe(Object.prototype);
      expect(same({ ...base(), measurements: { a: Infinity } })).toBeUndefined();
      expect(same({ ...base(), measurements: [1] })).toBeUndefined();
    });

    it('returns undefined, not a throw, when reading the input throws', () => {
      const r = base();
      Object.defineProperty(r, 'id', {
        get() {
          throw new Error('boom');
        },
      });
      expect(() => parseTransactionFast(r)).not.toThrow();
      expect(parseTransactionFast(r)).toBeUndefined();
    });
  });
});
