/**
 * Helpers every adapter uses: reading fields, local times, code tables, plates, VINs and the
 * pseudonymised person / vehicle / licence references. A problem with a field throws LineError
 * naming the field; `mapWith` turns it into a rejected record.
 */
import { LICENCE_BUSINESS, LICENCE_CLASSES, PLATE_TYPES, VEHICLE_BUSINESS, type LicenceRef, type PersonRef, type VehicleRef } from '@jianguan/rules';
import { isValidIdNumber, isValidVin } from '../sources/identifiers.js';
import type { AdapterContext, MapResult, PendingTransaction } from './types.js';

/** One field (or the whole record) is unusable; the message names the field. */
export class LineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LineError';
  }
}

export function fail(field: string, message: string): never {
  throw new LineError(`${field}: ${message}`);
}

/** Runs a mapping, turning LineError (and any other error) into a rejected record. */
export function mapWith(fn: () => PendingTransaction[]): MapResult {
  try {
    return { ok: true, transactions: fn() };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

export type Row = Readonly<Record<string, unknown>>;

export function asRow(record: unknown): Row {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new LineError('record is not an object');
  return record as Row;
}

/**
 * A field as trimmed text, looked up by each name as given, upper- and lower-cased. Empty text,
 * null and the Oracle-export spelling 'NULL' are "absent".
 */
export function text(row: Row, ...names: string[]): string | undefined {
  for (const name of names) {
    for (const k of [name, name.toUpperCase(), name.toLowerCase()]) {
      const v = row[k];
      if (v === undefined || v === null) continue;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      if (typeof v !== 'string') fail(name, `expected text, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      const t = v.trim();
      if (t === '' || t === 'NULL') continue;
      return t;
    }
  }
  return undefined;
}

export function required(row: Row, name: string, ...aliases: string[]): string {
  const v = text(row, name, ...aliases);
  if (v === undefined) fail(name, 'missing');
  return v;
}

/** A finite number (text or JSON number). */
export function numberOf(row: Row, name: string): number | undefined {
  const t = text(row, name);
  if (t === undefined) return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) fail(name, `'${t}' is not a number`);
  return n;
}

export function limit(field: string, v: string | undefined, max: number): string | undefined {
  if (v !== undefined && v.length > max) fail(field, `'${v}' is longer than ${max} characters`);
  return v;
}

const MINUTE_MS = 60_000;
const TIME_RE = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;
const COMPACT_RE = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$/;
const ISO_ZONED_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * A time as the source systems write it, in their local time (`utcOffsetMinutes`, +08:00 for
 * 河池): '2024-05-13 09:21:35', '2024/05/13 09:21', '20240513092135', a date alone (midnight),
 * an ISO string with a zone, or epoch milliseconds (a 13-digit number).
 */
export function parseTime(value: string, field: string, utcOffsetMinutes: number): number {
  const v = value.trim();
  let ms: number;
  if (/^\d{13}$/.test(v)) {
    ms = Number(v);
  } else if (ISO_ZONED_RE.test(v)) {
    ms = Date.parse(v);
  } else {
    const m = TIME_RE.exec(v) ?? COMPACT_RE.exec(v);
    if (!m) fail(field, `'${v}' is not a time (expected YYYY-MM-DD HH:mm:ss)`);
    const [y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = m.slice(1).map((x) => x ?? undefined) as string[];
    const Y = Number(y);
    const M = Number(mo);
    const D = Number(d);
    const H = Number(h);
    const MI = Number(mi);
    const S = Number(s);
    const utc = Date.UTC(Y, M - 1, D, H, MI, S, Number(frac.padEnd(3, '0')));
    const back = new Date(utc);
    if (M < 1 || M > 12 || back.getUTCDate() !== D || H > 23 || MI > 59 || S > 59) fail(field, `'${v}' is not a valid date/time`);
    ms = utc - utcOffsetMinutes * MINUTE_MS;
  }
  if (!Number.isFinite(ms)) fail(field, `'${v}' is not a time`);
  // The transaction schema accepts 2000-01-01 .. 2100-01-01.
  if (ms < 946_684_800_000 || ms > 4_102_444_800_000) fail(field, `'${v}' is outside 2000–2100`);
  return ms;
}

export function timeOf(row: Row, name: string, ctx: AdapterContext): number | undefined {
  const t = text(row, name);
  return t === undefined ? undefined : parseTime(t, name, ctx.options.utcOffsetMinutes);
}

/** A code that must be a key of `table` (a national code table), upper-cased. */
export function codeOf(row: Row, name: string, table: Readonly<Record<string, string>>, label: string): string | undefined {
  const t = text(row, name)?.toUpperCase();
  if (t === undefined) return undefined;
  if (!(t in table)) fail(name, `'${t}' is not a ${label} code`);
  return t;
}

export const vehicleBusiness = (row: Row, name = 'YWLX'): string | undefined => codeOf(row, name, VEHICLE_BUSINESS, '机动车业务类型');
export const licenceBusiness = (row: Row, name = 'YWLX'): string | undefined => codeOf(row, name, LICENCE_BUSINESS, '驾驶证业务类型');

/** 号牌种类: two digits; codes outside the table are kept (local tables extend it) but must be two digits. */
export function plateType(row: Row, name = 'HPZL'): string | undefined {
  const t = text(row, name);
  if (t === undefined) return undefined;
  const v = t.padStart(2, '0');
  if (!/^\d{2}$/.test(v)) fail(name, `'${t}' is not a 号牌种类 code (two digits)`);
  return v;
}

/** Known 号牌种类 label, for messages. */
export const plateTypeLabel = (hpzl: string): string => PLATE_TYPES[hpzl] ?? hpzl;

/**
 * 号牌号码 as stored everywhere downstream: separator dot, spaces and dashes removed, Latin letters
 * upper-cased: '桂M·12345' → '桂M12345', '桂m d12345' → '桂MD12345'.
 */
export function normalisePlate(hphm: string): string {
  return hphm
    .normalize('NFKC')
    .replace(/[·•．.\s\-_]/g, '')
    .toUpperCase();
}

export function plateOf(row: Row, name = 'HPHM'): string | undefined {
  const t = text(row, name);
  if (t === undefined) return undefined;
  const p = normalisePlate(t);
  if (p === '' || p === '无' || p === '*') return undefined; // new vehicles before plating
  if (p.length > 16) fail(name, `'${t}' is too long for a plate`);
  return p;
}

/** 车辆识别代号: 17 characters with the check digit in position 9 (GB 16735); otherwise the record is rejected. */
export function vinOf(row: Row, name = 'CLSBDH'): string | undefined {
  const t = text(row, name);
  if (t === undefined) return undefined;
  const v = t.replace(/\s/g, '').toUpperCase();
  if (v.length !== 17) fail(name, `VIN '${t}' has ${v.length} characters, expected 17`);
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(v)) fail(name, `VIN '${t}' contains characters not allowed in a VIN (I, O, Q or non-alphanumerics)`);
  if (!isValidVin(v)) fail(name, `VIN '${t}' fails its check digit (position 9)`);
  return v;
}

/** 准驾车型: one or more classes run together ('C1', 'A2D', 'C1E'). */
export function licenceClassOf(row: Row, name = 'ZJCX'): string | undefined {
  const t = text(row, name)?.toUpperCase();
  if (t === undefined) return undefined;
  const classes = [...LICENCE_CLASSES].sort((a, b) => b.length - a.length).join('|');
  if (!new RegExp(`^(?:${classes})+$`).test(t) || t.length > 8) fail(name, `'${t}' is not a 准驾车型`);
  return t;
}

/**
 * A person by identity number: keyed hash, masked form and — for a valid 18-character number —
 * the birth year. Numbers that are not valid 18-character ids (passports, old 15-digit ids) are
 * still hashed and masked, just without a birth year.
 */
export function personRef(idNumber: string, ctx: AdapterContext): PersonRef {
  const id = idNumber.trim().toUpperCase();
  const ref = ctx.pseudonymizer.person({ idNumber: id });
  if (isValidIdNumber(id)) {
    const y = Number(id.slice(6, 10));
    if (y >= 1900 && y <= 2100) return { ...ref, birthYear: y };
  }
  return ref;
}

export function personOf(row: Row, name: string, ctx: AdapterContext): PersonRef | undefined {
  const t = text(row, name);
  if (t === undefined) return undefined;
  if (t.length < 6 || t.length > 32) fail(name, `${t.length} characters cannot be an identity number`);
  return personRef(t, ctx);
}

/** Keyed hash of a staff member's identity number (staffIdHash). */
export function staffHashOf(row: Row, name: string, ctx: AdapterContext): string | undefined {
  const t = text(row, name);
  return t === undefined ? undefined : ctx.pseudonymizer.idHash(t.toUpperCase());
}

export function vehicleRef(v: { hpzl?: string | undefined; hphm?: string | undefined; vin?: string | undefined; ownerIdNumber?: string | undefined }, ctx: AdapterContext, field = 'HPZL'): VehicleRef | undefined {
  if (v.hpzl === undefined && v.hphm === undefined && v.vin === undefined) return undefined;
  // A vehicle reference needs its plate type; 99 其他 when a plate/VIN arrives without one.
  const ref: VehicleRef = { hpzl: v.hpzl ?? '99' };
  if (v.hpzl === undefined && v.hphm !== undefined) fail(field, `missing for plate ${v.hphm}`);
  if (v.hphm !== undefined) ref.hphm = v.hphm;
  if (v.vin !== undefined) ref.vin = v.vin;
  if (v.ownerIdNumber !== undefined) ref.ownerIdHash = ctx.pseudonymizer.idHash(v.ownerIdNumber.toUpperCase());
  return ref;
}

export function licenceRef(number: string | undefined, zjcx: string | undefined, ctx: AdapterContext): LicenceRef | undefined {
  if (number === undefined) return undefined;
  return zjcx === undefined ? { numberHash: ctx.pseudonymizer.licenceHash(number) } : { numberHash: ctx.pseudonymizer.licenceHash(number), zjcx };
}

/** The record's institution: mapped from the source's unit code, else the configured one. */
export function institutionOf(ctx: AdapterContext, code: string | undefined): string {
  if (code !== undefined) {
    const mapped = ctx.options.institutionByCode?.[code];
    if (mapped) return mapped;
  }
  return ctx.options.institutionId ?? ctx.institutionId;
}

/** Drops undefined values so records stay compact and `exactOptionalPropertyTypes`-clean. */
export function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Either end of an interval must not precede the other. */
export function ordered(fromField: string, from: number | undefined, toField: string, to: number | undefined): void {
  if (from !== undefined && to !== undefined && to < from) fail(toField, `is earlier than ${fromField}`);
}
