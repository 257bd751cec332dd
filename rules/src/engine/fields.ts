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

/** Compiles a path into a getter once; evaluation then walks at most two property reads. */
export function fieldGetter(path: ValuePath): FieldGetter {
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
