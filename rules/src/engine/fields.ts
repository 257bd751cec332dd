/**
 * The transaction fields a rule definition may name. Paths are data (`'vehicle.hpzl'`), checked
 * against this closed list when a definition is parsed, so a typo is a RULE_DEFINITION_INVALID
 * at release time rather than a rule that silently never fires. A test keeps the list in step
 * with TransactionSchema.
 *
 * FieldPath: the schema's own fields. ValuePath: a FieldPath or `measurements.<name>` for a name
 * in MEASUREMENT_NAMES (predicates, comparisons and templates may read measurements; state keys
 * and members use FieldPaths only).
 */
import { z } from 'zod';
import { Channel, MEASUREMENT_NAMES, TransactionKind, TransactionSchema, type Transaction } from '../model/transaction.js';

export const FIELD_PATHS = [
  'id', 'collectorId', 'seq', 'source', 'channel', 'institutionId', 'counter', 'staffId', 'staffIdHash', 'deviceId',
  'venue', 'ip', 'mac', 'lsh', 'subLsh', 'kind', 'ywlx', 'ywyy', 'outcome',
  'subject', 'subject.idHash', 'subject.masked', 'subject.birthYear',
  'agent', 'agent.idHash', 'agent.masked', 'agent.birthYear',
  'phoneHash',
  'vehicle', 'vehicle.hpzl', 'vehicle.hphm', 'vehicle.vin', 'vehicle.ownerIdHash', 'vehicle.approvalRevoked',
  'licence', 'licence.numberHash', 'licence.zjcx',
  'occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt', 'capturedAt',
] as const;
export const FieldPath = z.enum(FIELD_PATHS);
export type FieldPath = z.infer<typeof FieldPath>;

export const MEASUREMENT_PATHS = Object.keys(MEASUREMENT_NAMES).map((n) => `measurements.${n}`) as readonly `measurements.${keyof typeof MEASUREMENT_NAMES}`[];
export type ValuePath = FieldPath | (typeof MEASUREMENT_PATHS)[number];
export const VALUE_PATHS: readonly ValuePath[] = [...FIELD_PATHS, ...MEASUREMENT_PATHS];
export const ValuePath = z.enum(VALUE_PATHS as unknown as readonly [ValuePath, ...ValuePath[]]);
export const VALUE_PATH_SET: ReadonlySet<string> = new Set(VALUE_PATHS);

/** Timestamp fields (epoch ms), the only ones a duration rule may subtract. */
export const TIME_FIELDS = ['occurredAt', 'appliedAt', 'startedAt', 'endedAt', 'completedAt', 'capturedAt'] as const;
export const TimeField = z.enum(TIME_FIELDS);
export type TimeField = z.infer<typeof TimeField>;

/**
 * Closed-vocabulary fields: an `in` / `not_in` predicate on them may only list known codes
 * (catches 'license' for 'licence'). Plate types are deliberately open: local tables add codes.
 */
export const FIELD_ENUMS: Readonly<Partial<Record<string, readonly string[]>>> = {
  kind: TransactionKind.options,
  channel: Channel.options,
  outcome: TransactionSchema.shape.outcome.unwrap().options,
};

export type FieldGetter = (txn: Transaction) => unknown;

/**
 * One getter per field path, each its own function: the property names are written out, so each
 * read is a named load whose cache sees only the records that getter is used on (mostly one kind
 * of business), instead of one keyed load shared by every path. A parent that is not an object
 * yields undefined (`?.` on a JSON value: none of these names exists on a string or number).
 */
const GETTERS: { readonly [P in FieldPath]: FieldGetter } = {
  id: (t) => t.id,
  collectorId: (t) => t.collectorId,
  seq: (t) => t.seq,
  source: (t) => t.source,
  channel: (t) => t.channel,
  institutionId: (t) => t.institutionId,
  counter: (t) => t.counter,
  staffId: (t) => t.staffId,
  staffIdHash: (t) => t.staffIdHash,
  deviceId: (t) => t.deviceId,
  venue: (t) => t.venue,
  ip: (t) => t.ip,
  mac: (t) => t.mac,
  lsh: (t) => t.lsh,
  subLsh: (t) => t.subLsh,
  kind: (t) => t.kind,
  ywlx: (t) => t.ywlx,
  ywyy: (t) => t.ywyy,
  outcome: (t) => t.outcome,
  subject: (t) => t.subject,
  'subject.idHash': (t) => t.subject?.idHash,
  'subject.masked': (t) => t.subject?.masked,
  'subject.birthYear': (t) => t.subject?.birthYear,
  agent: (t) => t.agent,
  'agent.idHash': (t) => t.agent?.idHash,
  'agent.masked': (t) => t.agent?.masked,
  'agent.birthYear': (t) => t.agent?.birthYear,
  phoneHash: (t) => t.phoneHash,
  vehicle: (t) => t.vehicle,
  'vehicle.hpzl': (t) => t.vehicle?.hpzl,
  'vehicle.hphm': (t) => t.vehicle?.hphm,
  'vehicle.vin': (t) => t.vehicle?.vin,
  'vehicle.ownerIdHash': (t) => t.vehicle?.ownerIdHash,
  'vehicle.approvalRevoked': (t) => t.vehicle?.approvalRevoked,
  licence: (t) => t.licence,
  'licence.numberHash': (t) => t.licence?.numberHash,
  'licence.zjcx': (t) => t.licence?.zjcx,
  occurredAt: (t) => t.occurredAt,
  appliedAt: (t) => t.appliedAt,
  startedAt: (t) => t.startedAt,
  endedAt: (t) => t.endedAt,
  completedAt: (t) => t.completedAt,
  capturedAt: (t) => t.capturedAt,
};

/** Compiles a path into a getter once; evaluation then walks at most two property reads. */
export function fieldGetter(path: ValuePath): FieldGetter {
  if (Object.prototype.hasOwnProperty.call(GETTERS, path)) return GETTERS[path as FieldPath];
  // measurements.<name>: names are open-ended, one generic getter.
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) return (txn) => (txn as unknown as Record<string, unknown>)[head];
  return (txn) => {
    const parent = (txn as unknown as Record<string, unknown>)[head];
    return parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[tail] : undefined;
  };
}

/**
 * A value is present when it carries information: not undefined/null, and not an empty string
 * (sources emit '' for blank columns; an empty plate or hash must not become a state key).
 */
export function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}
