/**
 * sequence: records matching `first` are recorded as its event; a record matching `then` asks
 * for the latest `first` event in (at − window, at] (SequenceState). Mode present fires when
 * there is one, absent when there is none. Skipped when ctx.sequences is absent.
 */
import { allOf } from '../later.js';
import { DAY_MS, HOUR_MS, compileFilters, compileKey, isThenable, windowOf, type Finding, type Run } from '../compile-parts.js';

const none = (): null => null;
import type { SequenceMatch } from '../types.js';
import type { SequenceRuleDefinition } from '../definition.js';

export function compileSequence(def: SequenceRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const isFirst = compileFilters(def.first.when);
  const isThen = compileFilters(def.then.when);
  const keyOf = compileKey(def.key);
  const window = windowOf(def.params);
  const retainMs = window.ms + DAY_MS;
  const firstEvent = def.first.event;
  const present = def.mode === 'present';
  return (txn, ctx) => {
    const seq = ctx.sequences;
    if (!seq || !applies(txn)) return null;
    const first = isFirst(txn);
    const isThenEvent = isThen(txn);
    if (!first && !isThenEvent) return null;
    const key = keyOf(txn, ctx.calendar);
    if (key === undefined) return null;
    // record() first (the record may be both events), then ask. Both calls are issued at once,
    // in that order, without waiting for the first answer: a state applies its calls in the
    // order they are made (the memory states at once, the Redis states over one connection or
    // in one batch script), so latest() sees the record either way — and a batched evaluation
    // can collect both operations of every record before anything is sent.
    const recorded = first ? seq.record(key, firstEvent, txn.id, txn.occurredAt, retainMs) : undefined;
    if (!isThenEvent) return isThenable(recorded) ? recorded.then(none) : null;
    const at = txn.occurredAt;
    const m = seq.latest(key, firstEvent, txn.id, at, window.ms, retainMs);
    if (isThenable(recorded)) return allOf<unknown>([recorded, m]).then((a) => judge(at, a[1] as SequenceMatch | null));
    return isThenable(m) ? m.then((x) => judge(at, x)) : judge(at, m);
  };
  function judge(at: number, m: SequenceMatch | null): Finding | null {
    if (present && m) {
      const elapsed = at - m.at;
      return {
        reason: 'followed',
        values: { elapsedDays: elapsed / DAY_MS, elapsedHours: elapsed / HOUR_MS, firstAt: m.at, firstId: m.id, ...window.values },
      };
    }
    if (!present && !m) return { reason: 'missing', values: { ...window.values } };
    return null;
  }
}
