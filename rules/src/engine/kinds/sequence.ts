/**
 * sequence: records matching `first` are recorded as its event; a record matching `then` asks
 * for the latest `first` event in (at − window, at] (SequenceState). Mode present fires when
 * there is one, absent when there is none. Skipped when ctx.sequences is absent.
 */
import { DAY_MS, HOUR_MS, compileFilters, compileKey, andThen, windowOf, type Finding, type Run } from '../compile-parts.js';
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
    // record() first (the record may be both events), then ask; each step waits only when the
    // state answers with a promise.
    const recorded = first ? seq.record(key, firstEvent, txn.id, txn.occurredAt, retainMs) : undefined;
    if (!isThenEvent) return andThen(recorded, () => null);
    return andThen(recorded, () => andThen(seq.latest(key, firstEvent, txn.id, txn.occurredAt, window.ms, retainMs), (m) => judge(txn, m)));
  };
  function judge(txn: { occurredAt: number }, m: SequenceMatch | null): Finding | null {
    if (present && m) {
      const elapsed = txn.occurredAt - m.at;
      return {
        reason: 'followed',
        values: { elapsedDays: elapsed / DAY_MS, elapsedHours: elapsed / HOUR_MS, firstAt: m.at, firstId: m.id, ...window.values },
      };
    }
    if (!present && !m) return { reason: 'missing', values: { ...window.values } };
    return null;
  }
}
