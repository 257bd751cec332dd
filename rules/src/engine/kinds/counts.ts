/** window_count and distinct_count over WindowState.observe (the hub's Redis ZADD GT + ZCOUNT). */
import { compare, compileFilters, compileKey, compileMember, windowOf, type Run } from '../compile-parts.js';
import type { DistinctCountRuleDefinition, WindowCountRuleDefinition } from '../definition.js';

export function compileWindowCount(def: WindowCountRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const { threshold } = def.params;
  const window = windowOf(def.params);
  return async (txn, ctx) => {
    if (!applies(txn)) return null;
    const key = keyOf(txn, ctx.calendar);
    if (key === undefined) return null;
    // Member = transaction id: each business counts once, however often it is re-delivered.
    const count = await ctx.state.observe(key, txn.id, txn.occurredAt, window.ms);
    if (!compare(def.compare, count, threshold)) return null;
    return { reason: 'exceeded', values: { count, threshold, ...window.values } };
  };
}

export function compileDistinctCount(def: DistinctCountRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const memberOf = compileMember(def.member);
  const { threshold } = def.params;
  const window = windowOf(def.params);
  return async (txn, ctx) => {
    if (!applies(txn)) return null;
    const key = keyOf(txn, ctx.calendar);
    const member = memberOf(txn);
    if (key === undefined || member === undefined) return null;
    const count = await ctx.state.observe(key, member, txn.occurredAt, window.ms);
    if (!compare(def.compare, count, threshold)) return null;
    return { reason: 'exceeded', values: { count, threshold, ...window.values } };
  };
}
