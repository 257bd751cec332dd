/**
 * The collector's own format: a transaction as a local system can post it to the HTTP endpoint
 * (or write as JSONL), in the normalised shape but with RAW identity and licence numbers — the
 * same shape the simulator produces (sources/types.ts RawTransaction):
 *
 *   { "kind":"vehicle", "occurredAt":"2024-05-13 10:02:11", "lsh":"12405130001234", "ywlx":"B",
 *     "subject":{"idNumber":"…"}, "agent":{"idNumber":"…"},
 *     "vehicle":{"hpzl":"02","hphm":"桂M·12345","vin":"…","ownerIdNumber":"…"},
 *     "licence":{"number":"451200123456","zjcx":"C1"}, … }
 *
 * Defaults: source 'native', channel 'counter', institutionId the collector's. Times may be epoch
 * ms or local time text. id, collectorId, seq and capturedAt are assigned by the collector (any
 * given are ignored). People and licences are replaced by keyed hashes here; the pipeline then
 * validates the result against the transaction schema, naming the offending field.
 */
import { asRow, compact, fail, licenceRef, mapWith, normalisePlate, parseTime, personRef, type Row } from './common.js';
import { isValidVin } from '../sources/identifiers.js';
import type { Adapter, AdapterContext, PendingTransaction } from './types.js';

const TIME_FIELDS = ['occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt'] as const;
const ASSIGNED = ['id', 'collectorId', 'seq', 'capturedAt'] as const;

function rawPerson(v: unknown, field: string, ctx: AdapterContext) {
  if (v === undefined || v === null) return undefined;
  const o = typeof v === 'object' && !Array.isArray(v) ? (v as Row) : undefined;
  const id = o?.idNumber;
  if (typeof id !== 'string' || id.trim().length < 6 || id.trim().length > 32) fail(`${field}.idNumber`, 'must be the identity number as text');
  return personRef(id, ctx);
}

function time(v: unknown, field: string, ctx: AdapterContext): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) fail(field, 'must be epoch milliseconds');
    return v;
  }
  if (typeof v === 'string') return parseTime(v, field, ctx.options.utcOffsetMinutes);
  return fail(field, 'must be epoch milliseconds or a time string');
}

export const nativeAdapter: Adapter = {
  name: 'native',
  source: 'native',
  format: 'jsonl',
  description: '采集端标准格式（规范化交易记录，含原始身份证号，由采集端脱敏）',
  defaultChannel: 'counter',
  map(record, ctx) {
    return mapWith(() => {
      const row = { ...asRow(record) } as Record<string, unknown>;
      for (const k of ASSIGNED) delete row[k];
      for (const k of TIME_FIELDS) {
        const t = time(row[k], k, ctx);
        if (t === undefined) delete row[k];
        else row[k] = t;
      }
      if (row.occurredAt === undefined) fail('occurredAt', 'missing');
      row.subject = rawPerson(row.subject, 'subject', ctx);
      row.agent = rawPerson(row.agent, 'agent', ctx);
      if (row.vehicle !== undefined && row.vehicle !== null) {
        if (typeof row.vehicle !== 'object' || Array.isArray(row.vehicle)) fail('vehicle', 'must be an object');
        const v = row.vehicle as Row;
        const out: Record<string, unknown> = { hpzl: typeof v.hpzl === 'number' ? String(v.hpzl).padStart(2, '0') : v.hpzl };
        if (typeof v.hphm === 'string' && v.hphm.trim() !== '') out.hphm = normalisePlate(v.hphm);
        if (v.vin !== undefined && v.vin !== null && v.vin !== '') {
          const vin = typeof v.vin === 'string' ? v.vin.trim().toUpperCase() : '';
          if (vin.length !== 17) fail('vehicle.vin', `VIN '${String(v.vin)}' has ${vin.length} characters, expected 17`);
          if (!isValidVin(vin)) fail('vehicle.vin', `VIN '${vin}' fails its check digit (position 9)`);
          out.vin = vin;
        }
        if (typeof v.ownerIdNumber === 'string') out.ownerIdHash = ctx.pseudonymizer.idHash(v.ownerIdNumber.trim().toUpperCase());
        if (typeof v.approvalRevoked === 'boolean') out.approvalRevoked = v.approvalRevoked;
        row.vehicle = out;
      }
      if (row.licence !== undefined && row.licence !== null) {
        const l = row.licence as Row;
        if (typeof l !== 'object' || typeof l.number !== 'string' || l.number.trim() === '') fail('licence.number', 'must be the licence archive number as text');
        row.licence = licenceRef(l.number.trim(), typeof l.zjcx === 'string' ? l.zjcx : undefined, ctx);
      }
      for (const k of ['staffIdNumber', 'idNumber']) if (k in row) fail(k, 'raw identity numbers belong in subject/agent/vehicle only');
      row.source ??= 'native';
      row.channel ??= ctx.options.channel ?? nativeAdapter.defaultChannel;
      row.institutionId ??= ctx.options.institutionId ?? ctx.institutionId;
      return [compact(row) as PendingTransaction];
    });
  },
};
