/**
 * overlap: the record's [from, to) against earlier intervals of the same key with another member
 * (IntervalState). Skipped when ctx.intervals is absent, when a time is missing or to < from.
 */
import { DAY_MS, compileFilters, compileKey, compileMember, isThenable, type Finding, type Run } from '../compile-parts.js';
import type { IntervalConflict } from '../types.js';
import type { OverlapRuleDefinition } from '../definition.js';
import { fieldGetter } from '../fields.js';

/** How long intervals are kept: late records and re-deliveries within this horizon are exact. */
export const INTERVAL_RETAIN_MS = 7 * DAY_MS;

export function compileOverlap(def: OverlapRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const memberOf = compileMember(def.member);
  const from = fieldGetter(def.from);
  const to = fieldGetter(def.to);
  const minMs = def.params.minOverlapSeconds * 1000;
  const { minOverlapSeconds } = def.params;
  const judge = (c: IntervalConflict, member: string): Finding | null => {
    if (!c.other || c.overlapMs < minMs) return null;
    return {
      reason: 'overlapped',
      values: {
        overlapSeconds: c.overlapMs / 1000,
        minOverlapSeconds,
        member,
        otherMember: c.other.member,
        otherId: c.other.id,
        otherStart: c.other.start,
        otherEnd: c.other.end,
      },
    };
  };
  return (txn, ctx) => {
    const intervals = ctx.intervals;
    if (!intervals || !applies(txn)) return null;
    const start = from(txn);
    const end = to(txn);
    if (typeof start !== 'number' || typeof end !== 'number' || end < start) return null;
    const key = keyOf(txn, ctx.calendar);
    const member = memberOf(txn);
    if (key === undefined || member === undefined) return null;
    const c = intervals.overlap(key, txn.id, member, start, end, INTERVAL_RETAIN_MS);
    return isThenable(c) ? c.then((x) => judge(x, member)) : judge(c, member);
  };
}
