/**
 * A hand-written validator for TransactionSchema, for the hub's ingest path where
 * `TransactionSchema.safeParse` on every record is a measurable share of the main thread.
 *
 * Contract: `parseTransactionFast(x)` returns `undefined` whenever `TransactionSchema.safeParse(x)`
 * fails, and otherwise a freshly built value deep-equal to zod's `.data`. It may also return
 * `undefined` for a valid input (callers then run zod, which gives the answer and the error
 * message), but it never accepts what zod rejects and never returns something zod would not.
 * Each property is read once and the output is built from the values that were validated, so a
 * getter or Proxy cannot get an unchecked value into the result; an input that answers
 * differently on each read (a stateful getter) can of course answer zod differently too.
 *
 * Every check below mirrors what zod 4 (as installed here) does for the corresponding schema:
 * - z.object: accepts any non-null object that is not an array (class instances, Date, null
 *   prototypes included), reads each declared key with `input[key]` (inherited properties count)
 *   and decides presence with `key in input`; unknown keys, `__proto__` and `constructor` included,
 *   are simply not copied. A required key must be present and valid. An optional key that is
 *   absent is left out; one that is present with the value `undefined` is copied as an own
 *   property holding `undefined`.
 * - z.string() length checks count Unicode code points (a surrogate pair once, a lone surrogate
 *   once), not UTF-16 units: zod only counts when the unit count alone cannot decide.
 * - Regexes have no `u`/`m` flag: `\d` is ASCII 0–9 only and `$` matches only at the very end,
 *   so each one reduces to a length test plus a per-character range test.
 * - z.number() rejects NaN and ±Infinity; `.int()` is zod's "safeint" format, so it also rejects
 *   integers beyond ±(2^53 − 1); min/max/nonnegative are inclusive.
 * - z.enum is a Set lookup (identity for strings, so boxed strings fail).
 * - z.record(z.string(), z.number()) accepts only zod's "plain" objects (util.isPlainObject: no
 *   arrays, no class instances), walks Reflect.ownKeys, skips `__proto__` and non-enumerable keys,
 *   fails on an enumerable symbol key, and copies the rest.
 * - z.array(...).max(64) accepts only real arrays; a hole reads as `undefined` and fails.
 */
import {
  Channel,
  TransactionKind,
  TransactionSchema,
  type LicenceRef,
  type PersonRef,
  type Transaction,
  type VehicleRef,
} from './transaction.js';

/**
 * The keys the fast parser knows, per object schema. A test compares these with the schemas'
 * shapes, so a field added to TransactionSchema (or a nested ref) without a matching check here
 * fails the build's tests instead of being silently stripped by the fast path.
 */
export const TRANSACTION_FAST_KEYS = {
  transaction: [
    'id',
    'collectorId',
    'seq',
    'source',
    'channel',
    'institutionId',
    'counter',
    'staffId',
    'staffIdHash',
    'deviceId',
    'venue',
    'ip',
    'mac',
    'lsh',
    'subLsh',
    'kind',
    'ywlx',
    'ywyy',
    'subject',
    'agent',
    'phoneHash',
    'vehicle',
    'licence',
    'occurredAt',
    'appliedAt',
    'startedAt',
    'endedAt',
    'completedAt',
    'capturedAt',
    'outcome',
    'measurements',
    'evidence',
  ] satisfies readonly (keyof Transaction)[],
  person: ['idHash', 'masked', 'birthYear'] satisfies readonly (keyof PersonRef)[],
  vehicle: ['hpzl', 'hphm', 'vin', 'ownerIdHash', 'approvalRevoked'] satisfies readonly (keyof VehicleRef)[],
  licence: ['numberHash', 'zjcx'] satisfies readonly (keyof LicenceRef)[],
} as const;

/** A property bag read the way zod reads an object: `input[key]`, prototype chain included. */
type Bag = { readonly [key: string | symbol]: unknown };

// Enum members come from the schemas themselves so that adding a kind or channel needs no edit
// here; if a field stops being an enum these lines stop compiling.
const CHANNELS: ReadonlySet<unknown> = new Set(Channel.options);
const KINDS: ReadonlySet<unknown> = new Set(TransactionKind.options);
const OUTCOMES: ReadonlySet<unknown> = new Set(TransactionSchema.shape.outcome.unwrap().options);

/** EpochMs bounds (2000-01-01 and 2100-01-01 UTC), as in transaction.ts. */
const EPOCH_MIN = 946684800000;
const EPOCH_MAX = 4102444800000;

const hasOwn = Object.prototype.hasOwnProperty;
const isEnumerable = Object.prototype.propertyIsEnumerable;

/** zod's util.isObject: what z.object accepts before looking at any key. */
function isObject(v: unknown): v is Bag {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * zod's util.isPlainObject, which z.record uses: an object whose `constructor` is missing or not
 * a function counts as plain (so a JSON `"constructor": 1` key does not disqualify it), and one
 * whose constructor's prototype lacks an own `isPrototypeOf` (a class instance) does not.
 */
function isPlainObject(v: unknown): v is Bag {
  if (!isObject(v)) return false;
  const ctor: unknown = v.constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const prot: unknown = (ctor as { prototype?: unknown }).prototype;
  if (!isObject(prot)) return false;
  return hasOwn.call(prot, 'isPrototypeOf');
}

/**
 * Code points in `s`, a surrogate pair counting once and a lone surrogate as itself — the measure
 * zod's length checks use. Only called when `s.length` alone cannot decide a bound, so `s` is at
 * most twice the bound long here.
 */
function codePointLength(s: string): number {
  const units = s.length;
  let count = units;
  for (let i = 0; i < units - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/**
 * `z.string().max(max)`. A code point is one or two units, so `length <= max` always fits and
 * `length > 2 * max` never does; only the window between needs counting. The early exit also
 * keeps a huge string from being scanned.
 */
function isStringMax(v: unknown, max: number): v is string {
  if (typeof v !== 'string') return false;
  const units = v.length;
  if (units <= max) return true;
  if (units > 2 * max) return false;
  return codePointLength(v) <= max;
}

/** `z.string().min(min).max(max)`, by the same reasoning as isStringMax. */
function isStringMinMax(v: unknown, min: number, max: number): v is string {
  if (typeof v !== 'string') return false;
  const units = v.length;
  if (units < min || units > 2 * max) return false;
  if (units >= 2 * min && units <= max) return true;
  const points = codePointLength(v);
  return points >= min && points <= max;
}

/** `z.string().length(n)`: fewer than n units or more than 2n can never be n code points. */
function isStringLength(v: unknown, n: number): v is string {
  if (typeof v !== 'string') return false;
  const units = v.length;
  if (units < n || units > 2 * n) return false;
  return codePointLength(v) === n;
}

/**
 * 1 for the characters of `[0-9a-f]`, indexed by UTF-16 code (ASCII range only). A table lookup
 * rather than two range comparisons: in random hex, digit and letter alternate unpredictably, and
 * the branch mispredictions of the comparison form made this check the largest cost per record.
 */
const HEX_DIGIT = new Uint8Array(128);
for (const ch of '0123456789abcdef') HEX_DIGIT[ch.charCodeAt(0)] = 1;

/** `/^[0-9a-f]{16,128}$/` — no flags, so lower-case ASCII hex only and no trailing newline. */
function isHexHash(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const n = v.length;
  if (n < 16 || n > 128) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c > 127 || HEX_DIGIT[c] === 0) return false;
  }
  return true;
}

/** `/^\d{2}$/` — without the `u` flag (and even with it) `\d` is ASCII 0–9 only. */
function isTwoDigits(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 2) return false;
  const a = v.charCodeAt(0);
  const b = v.charCodeAt(1);
  return a >= 0x30 && a <= 0x39 && b >= 0x30 && b <= 0x39;
}

/**
 * `z.number().int().min(min).max(max)` for bounds inside the safe-integer range, where zod's
 * safe-integer test is implied by the bounds. NaN and ±Infinity are not integers.
 */
function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** EpochMs. */
function isEpochMs(v: unknown): v is number {
  return isIntIn(v, EPOCH_MIN, EPOCH_MAX);
}

function isChannel(v: unknown): v is Channel {
  return CHANNELS.has(v);
}

function isKind(v: unknown): v is TransactionKind {
  return KINDS.has(v);
}

function isOutcome(v: unknown): v is NonNullable<Transaction['outcome']> {
  return OUTCOMES.has(v);
}

function parsePerson(v: Bag): PersonRef | undefined {
  const idHash = v.idHash;
  const masked = v.masked;
  if (!isHexHash(idHash) || !isStringMax(masked, 32)) return undefined;
  // zod requires a required key to be present as well as valid; for an ordinary object a valid
  // (hence defined) value implies presence, but a Proxy may answer `get` and `has` differently.
  if (!('idHash' in v && 'masked' in v)) return undefined;
  const out: PersonRef = { idHash, masked };
  if ('birthYear' in v) {
    const birthYear = v.birthYear;
    if (birthYear === undefined) out.birthYear = undefined;
    else if (isIntIn(birthYear, 1900, 2100)) out.birthYear = birthYear;
    else return undefined;
  }
  return out;
}

function parseVehicle(v: Bag): VehicleRef | undefined {
  const hpzl = v.hpzl;
  if (!isTwoDigits(hpzl) || !('hpzl' in v)) return undefined;
  const out: VehicleRef = { hpzl };
  if ('hphm' in v) {
    const x = v.hphm;
    if (x === undefined) out.hphm = undefined;
    else if (isStringMax(x, 16)) out.hphm = x;
    else return undefined;
  }
  if ('vin' in v) {
    const x = v.vin;
    if (x === undefined) out.vin = undefined;
    else if (isStringLength(x, 17)) out.vin = x;
    else return undefined;
  }
  if ('ownerIdHash' in v) {
    const x = v.ownerIdHash;
    if (x === undefined || typeof x === 'string') out.ownerIdHash = x;
    else return undefined;
  }
  if ('approvalRevoked' in v) {
    const x = v.approvalRevoked;
    if (x === undefined || typeof x === 'boolean') out.approvalRevoked = x;
    else return undefined;
  }
  return out;
}

function parseLicence(v: Bag): LicenceRef | undefined {
  const numberHash = v.numberHash;
  if (!isStringMinMax(numberHash, 8, Infinity) || !('numberHash' in v)) return undefined;
  const out: LicenceRef = { numberHash };
  if ('zjcx' in v) {
    const x = v.zjcx;
    if (x === undefined) out.zjcx = undefined;
    else if (isStringMax(x, 8)) out.zjcx = x;
    else return undefined;
  }
  return out;
}

/** `z.record(z.string(), z.number())`, walked exactly as zod walks it (see the file comment). */
function parseMeasurements(v: unknown): Record<string, number> | undefined {
  if (!isPlainObject(v)) return undefined;
  const out: Record<string, number> = {};
  // The one allocation besides the output: zod snapshots the keys with Reflect.ownKeys, and doing
  // the same keeps symbol keys and getters that add or delete keys mid-walk behaving identically.
  const keys = Reflect.ownKeys(v);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    // Skipped, never validated: assigning it would replace the output's prototype.
    if (key === '__proto__') continue;
    if (!isEnumerable.call(v, key)) continue;
    // z.string() rejects a symbol key (invalid_key).
    if (typeof key !== 'string') return undefined;
    const n = v[key];
    if (typeof n !== 'number' || !Number.isFinite(n)) return undefined;
    out[key] = n;
  }
  return out;
}

/** `z.array(z.string().max(128)).max(64)`. */
function parseEvidence(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const n: number = v.length;
  if (n > 64) return undefined;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const e: unknown = v[i];
    if (!isStringMax(e, 128)) return undefined;
    out[i] = e;
  }
  return out;
}

// One block per field, written out rather than a loop over a table of (key, check): every
// property access here has a fixed name, which V8 compiles to a monomorphic load; a loop over keys
// would look each one up by a string held in a variable, on every record of every batch.
function parse(input: unknown): Transaction | undefined {
  if (!isObject(input)) return undefined;

  const id = input.id;
  const collectorId = input.collectorId;
  const seq = input.seq;
  const source = input.source;
  const channel = input.channel;
  const institutionId = input.institutionId;
  const kind = input.kind;
  const occurredAt = input.occurredAt;
  const capturedAt = input.capturedAt;
  if (
    !isStringMinMax(id, 1, 128) ||
    !isStringMinMax(collectorId, 1, 64) ||
    // int() is zod's safeint format: integers beyond 2^53 − 1 fail even though they are integers.
    !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) ||
    !isStringMinMax(source, 1, 32) ||
    !isChannel(channel) ||
    !isStringMinMax(institutionId, 1, 64) ||
    !isKind(kind) ||
    !isEpochMs(occurredAt) ||
    !isEpochMs(capturedAt)
  ) {
    return undefined;
  }
  // See parsePerson: presence is checked separately from the value for Proxy inputs.
  if (
    !(
      'id' in input &&
      'collectorId' in input &&
      'seq' in input &&
      'source' in input &&
      'channel' in input &&
      'institutionId' in input &&
      'kind' in input &&
      'occurredAt' in input &&
      'capturedAt' in input
    )
  ) {
    return undefined;
  }

  const out: Transaction = { id, collectorId, seq, source, channel, institutionId, kind, occurredAt, capturedAt };

  // Optional fields: absent → left out; present as undefined → copied as undefined (zod keeps the
  // key); present with a value → validated and copied.
  if ('counter' in input) {
    const x = input.counter;
    if (x === undefined) out.counter = undefined;
    else if (isStringMax(x, 32)) out.counter = x;
    else return undefined;
  }
  if ('staffId' in input) {
    const x = input.staffId;
    if (x === undefined) out.staffId = undefined;
    else if (isStringMax(x, 64)) out.staffId = x;
    else return undefined;
  }
  if ('staffIdHash' in input) {
    const x = input.staffIdHash;
    if (x === undefined) out.staffIdHash = undefined;
    else if (isHexHash(x)) out.staffIdHash = x;
    else return undefined;
  }
  if ('deviceId' in input) {
    const x = input.deviceId;
    if (x === undefined) out.deviceId = undefined;
    else if (isStringMax(x, 64)) out.deviceId = x;
    else return undefined;
  }
  if ('venue' in input) {
    const x = input.venue;
    if (x === undefined) out.venue = undefined;
    else if (isStringMax(x, 32)) out.venue = x;
    else return undefined;
  }
  if ('ip' in input) {
    const x = input.ip;
    if (x === undefined) out.ip = undefined;
    else if (isStringMax(x, 45)) out.ip = x;
    else return undefined;
  }
  if ('mac' in input) {
    const x = input.mac;
    if (x === undefined) out.mac = undefined;
    else if (isStringMax(x, 17)) out.mac = x;
    else return undefined;
  }
  if ('lsh' in input) {
    const x = input.lsh;
    if (x === undefined) out.lsh = undefined;
    else if (isStringMax(x, 32)) out.lsh = x;
    else return undefined;
  }
  if ('subLsh' in input) {
    const x = input.subLsh;
    if (x === undefined) out.subLsh = undefined;
    else if (isStringMax(x, 32)) out.subLsh = x;
    else return undefined;
  }
  if ('ywlx' in input) {
    const x = input.ywlx;
    if (x === undefined) out.ywlx = undefined;
    else if (isStringMax(x, 4)) out.ywlx = x;
    else return undefined;
  }
  if ('ywyy' in input) {
    const x = input.ywyy;
    if (x === undefined) out.ywyy = undefined;
    else if (isStringMax(x, 8)) out.ywyy = x;
    else return undefined;
  }
  if ('subject' in input) {
    const x = input.subject;
    if (x === undefined) out.subject = undefined;
    else {
      const p = isObject(x) ? parsePerson(x) : undefined;
      if (p === undefined) return undefined;
      out.subject = p;
    }
  }
  if ('agent' in input) {
    const x = input.agent;
    if (x === undefined) out.agent = undefined;
    else {
      const p = isObject(x) ? parsePerson(x) : undefined;
      if (p === undefined) return undefined;
      out.agent = p;
    }
  }
  if ('phoneHash' in input) {
    const x = input.phoneHash;
    if (x === undefined) out.phoneHash = undefined;
    else if (isHexHash(x)) out.phoneHash = x;
    else return undefined;
  }
  if ('vehicle' in input) {
    const x = input.vehicle;
    if (x === undefined) out.vehicle = undefined;
    else {
      const r = isObject(x) ? parseVehicle(x) : undefined;
      if (r === undefined) return undefined;
      out.vehicle = r;
    }
  }
  if ('licence' in input) {
    const x = input.licence;
    if (x === undefined) out.licence = undefined;
    else {
      const r = isObject(x) ? parseLicence(x) : undefined;
      if (r === undefined) return undefined;
      out.licence = r;
    }
  }
  if ('appliedAt' in input) {
    const x = input.appliedAt;
    if (x === undefined) out.appliedAt = undefined;
    else if (isEpochMs(x)) out.appliedAt = x;
    else return undefined;
  }
  if ('startedAt' in input) {
    const x = input.startedAt;
    if (x === undefined) out.startedAt = undefined;
    else if (isEpochMs(x)) out.startedAt = x;
    else return undefined;
  }
  if ('endedAt' in input) {
    const x = input.endedAt;
    if (x === undefined) out.endedAt = undefined;
    else if (isEpochMs(x)) out.endedAt = x;
    else return undefined;
  }
  if ('completedAt' in input) {
    const x = input.completedAt;
    if (x === undefined) out.completedAt = undefined;
    else if (isEpochMs(x)) out.completedAt = x;
    else return undefined;
  }
  if ('outcome' in input) {
    const x = input.outcome;
    if (x === undefined) out.outcome = undefined;
    else if (isOutcome(x)) out.outcome = x;
    else return undefined;
  }
  if ('measurements' in input) {
    const x = input.measurements;
    if (x === undefined) out.measurements = undefined;
    else {
      const m = parseMeasurements(x);
      if (m === undefined) return undefined;
      out.measurements = m;
    }
  }
  if ('evidence' in input) {
    const x = input.evidence;
    if (x === undefined) out.evidence = undefined;
    else {
      const e = parseEvidence(x);
      if (e === undefined) return undefined;
      out.evidence = e;
    }
  }
  return out;
}

/**
 * TransactionSchema.safeParse without zod, for the ingest hot path: the parsed record, or
 * `undefined` when the input is invalid (run zod then for the error message). The result is a
 * new object at every level, with unknown keys stripped as zod strips them.
 *
 * Reading the input can run user code (getters, Proxy traps); if that throws, this returns
 * `undefined` and leaves zod to report — or rethrow — on the caller's second look.
 */
export function parseTransactionFast(input: unknown): Transaction | undefined {
  try {
    return parse(input);
  } catch {
    return undefined;
  }
}
