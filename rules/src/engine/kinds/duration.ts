/** duration: seconds between two timestamps of one record against min/max bounds. */
import type { HitValues } from '../../model/warning.js';
import { compileFilters, type Run } from '../compile-parts.js';
import type { DurationRuleDefinition } from '../definition.js';
import { fieldGetter } from '../fields.js';

export function compileDuration(def: DurationRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const from = fieldGetter(def.from);
  const to = fieldGetter(def.to);
  const { minSeconds, maxSeconds } = def.params;
  return (txn) => {
    if (!applies(txn)) return null;
    const a = from(txn);
    const b = to(txn);
    if (typeof a !== 'number' || typeof b !== 'number') return null;
    // A negative duration is a clock/data-quality problem, not a short (or long) business.
    if (b < a) return null;
    const seconds = (b - a) / 1000;
    // Values are built only for a hit: most records pass, and this runs on every one.
    const short = minSeconds !== undefined && seconds < minSeconds;
    if (!short && !(maxSeconds !== undefined && seconds >= maxSeconds)) return null;
    const values: HitValues = { seconds };
    if (minSeconds !== undefined) values.minSeconds = minSeconds;
    if (maxSeconds !== undefined) values.maxSeconds = maxSeconds;
    return { reason: short ? 'too_short' : 'too_long', values };
  };
}
