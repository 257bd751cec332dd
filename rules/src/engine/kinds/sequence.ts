/**
 * sequence: records matching `first` are recorded as its event; a record matching `then` asks
 * for the latest `first` event in (at − window, at] (SequenceState). Mode present fires when
 * there is one, absent when there is none. Skipped when ctx.sequences is absent.
 */
import { DAY_MS, HOUR_MS, compileFilters, compileKey, windowOf, type Run } from '../compile-parts.js';
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
  return async (txn, ctx) => {
    const seq = ctx.sequences;
    if (!seq || !applies(txn)) return null;
    const first = isFirst(txn);
    const then = isThen(txn);
    if (!first && !then) return null;
    const key = keyOf(txn, ctx.calendar);
    if (key === undefined) return null;
    if (first) await seq.record(key, firstEvent, txn.id, txn.occurredAt, retainMs);
    if (!then) return null;
    const m = await seq.latest(key, firstEvent, txn.id, txn.occurredAt, window.ms, retainMs);
    if (present && m) {
      const elapsed = txn.occurredAt - m.at;
      return {
        reason: 'followed',
        values: { elapsedDays: elapsed / DAY_MS, elapsedHours: elapsed / HOUR_MS, firstAt: m.at, firstId: m.id, ...window.values },
      };
    }
    if (!present && !m) return { reason: 'missing', values: { ...window.values } };
    return null;
  };
}
