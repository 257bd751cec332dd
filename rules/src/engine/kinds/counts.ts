/** window_count and distinct_count over WindowState.observe (the hub's Redis ZADD GT + ZCOUNT). */
import { compare, compileFilters, compileKey, compileMember, andThen, windowOf, type Finding, type Run } from '../compile-parts.js';
import type { DistinctCountRuleDefinition, WindowCountRuleDefinition } from '../definition.js';

export function compileWindowCount(def: WindowCountRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const { threshold } = def.params;
  const window = windowOf(def.params);
  const judge = (count: number): Finding | null =>
    compare(def.compare, count, threshold) ? { reason: 'exceeded', values: { count, threshold, ...window.values } } : null;
  return (txn, ctx) => {
    if (!applies(txn)) return null;
    const key = keyOf(txn, ctx.calendar);
    if (key === undefined) return null;
    // Member = transaction id: each business counts once, however often it is re-delivered.
    return andThen(ctx.state.observe(key, txn.id, txn.occurredAt, window.ms), judge);
  };
}

export function compileDistinctCount(def: DistinctCountRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const memberOf = compileMember(def.member);
  const { threshold } = def.params;
  const window = windowOf(def.params);
  const judge = (count: number): Finding | null =>
    compare(def.compare, count, threshold) ? { reason: 'exceeded', values: { count, threshold, ...window.values } } : null;
  return (txn, ctx) => {
    if (!applies(txn)) return null;
    const key = keyOf(txn, ctx.calendar);
    const member = memberOf(txn);
    if (key === undefined || member === undefined) return null;
    return andThen(ctx.state.observe(key, member, txn.occurredAt, window.ms), judge);
  };
}
