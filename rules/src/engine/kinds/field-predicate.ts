/**
 * field_predicate: a condition over the record's own fields, params and a few derived values
 * (ages from birth years, the startedAt→endedAt duration). Cases are tried in order; the first
 * that holds fires with its reason. Values: the reason, every param (lists joined by '、'), the
 * derived values and field operands the fired case used.
 */
import type { Transaction } from '../../model/transaction.js';
import type { HitValues } from '../../model/warning.js';
import type { WorkCalendar } from '../calendar.js';
import { compileFilters, compilePredicate, type Run } from '../compile-parts.js';
import type { Condition, DerivedValue, FieldPredicateRuleDefinition, Operand } from '../definition.js';
import { fieldGetter, isPresent } from '../fields.js';
import { parseIpv4, parseCidr } from '../ip.js';

type Params = FieldPredicateRuleDefinition['params'];
/**
 * Collects the numbers a case looked at, for the hit's values: name → value in first-set order,
 * like a Map. Kept as two arrays reset by a count because a rule reuses one per record and case,
 * and Map#clear() allocates a fresh table each time.
 */
class Seen {
  readonly names: string[] = [];
  readonly values: number[] = [];
  size = 0;
  set(name: string, v: number): void {
    for (let i = 0; i < this.size; i++) {
      if (this.names[i] === name) {
        this.values[i] = v;
        return;
      }
    }
    this.names[this.size] = name;
    this.values[this.size] = v;
    this.size++;
  }
  clear(): void {
    this.size = 0;
  }
}
type Cond = (txn: Transaction, cal: WorkCalendar, seen: Seen) => boolean;

function derive(name: DerivedValue, txn: Transaction, cal: WorkCalendar): number | undefined {
  switch (name) {
    case 'subjectAge':
    case 'agentAge': {
      const p = name === 'subjectAge' ? txn.subject : txn.agent;
      if (p?.birthYear === undefined) return undefined;
      return Number(cal.local(txn.occurredAt).date.slice(0, 4)) - p.birthYear;
    }
    case 'durationSeconds':
      if (txn.startedAt === undefined || txn.endedAt === undefined || txn.endedAt < txn.startedAt) return undefined;
      return (txn.endedAt - txn.startedAt) / 1000;
  }
}

function compileOperand(o: Operand, params: Params): (txn: Transaction, cal: WorkCalendar, seen: Seen) => number | undefined {
  if ('value' in o) return () => o.value;
  if ('param' in o) {
    const v = params[o.param];
    return () => (typeof v === 'number' ? v : undefined);
  }
  if ('derived' in o) {
    const name = o.derived;
    return (txn, cal, seen) => {
      const v = derive(name, txn, cal);
      if (v !== undefined) seen.set(name, v);
      return v;
    };
  }
  const get = fieldGetter(o.field);
  const name = o.field;
  return (txn, _cal, seen) => {
    const v = get(txn);
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    seen.set(name, v);
    return v;
  };
}

const CMP = {
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
} as const;

function compileCondition(c: Condition, params: Params): Cond {
  switch (c.op) {
    case 'in_list': {
      const list = params[c.param];
      const set = new Set(Array.isArray(list) ? list : []);
      const get = fieldGetter(c.field);
      return (txn) => set.has(String(get(txn)));
    }
    case 'off_whitelist': {
      const list = params[c.param];
      const entries = Array.isArray(list) ? list : [];
      const get = fieldGetter(c.field);
      if (entries.length === 0) return () => false; // not configured: nothing is off it
      if (c.match === 'cidr') {
        const nets = entries.flatMap((e) => parseCidr(e) ?? []);
        return (txn) => {
          const ip = parseIpv4(String(get(txn) ?? ''));
          if (ip === undefined) return false;
          for (let i = 0; i < nets.length; i++) if ((ip & nets[i]!.mask) >>> 0 === nets[i]!.net) return false;
          return true;
        };
      }
      if (c.match === 'prefix') {
        const lower = entries.map((e) => e.toLowerCase());
        return (txn) => {
          const v = get(txn);
          if (!isPresent(v)) return false;
          const s = String(v).toLowerCase();
          for (let i = 0; i < lower.length; i++) if (s.startsWith(lower[i]!)) return false;
          return true;
        };
      }
      const set = new Set(entries);
      return (txn) => {
        const v = get(txn);
        return isPresent(v) && !set.has(String(v));
      };
    }
    case 'cmp': {
      const left = compileOperand(c.left, params);
      const right = compileOperand(c.right, params);
      const op = CMP[c.cmp];
      return (txn, cal, seen) => {
        const a = left(txn, cal, seen);
        const b = right(txn, cal, seen);
        return a !== undefined && b !== undefined && op(a, b);
      };
    }
    // Loops rather than some()/every() with an arrow, which made a closure per record.
    case 'any': {
      const parts = c.of.map((x) => compileCondition(x, params));
      return (txn, cal, seen) => {
        for (let i = 0; i < parts.length; i++) if (parts[i]!(txn, cal, seen)) return true;
        return false;
      };
    }
    case 'all': {
      const parts = c.of.map((x) => compileCondition(x, params));
      return (txn, cal, seen) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i]!(txn, cal, seen)) return false;
        return true;
      };
    }
    case 'not': {
      const inner = compileCondition(c.of, params);
      return (txn, cal, seen) => !inner(txn, cal, seen);
    }
    default: {
      const p = compilePredicate(c);
      return (txn) => p(txn);
    }
  }
}

export function compileFieldPredicate(def: FieldPredicateRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const cases = def.cases.map((c) => ({ reason: c.reason, test: compileCondition(c.test, def.params) }));
  const paramValues: HitValues = {};
  for (const [k, v] of Object.entries(def.params)) paramValues[k] = Array.isArray(v) ? v.join('、') : v;
  // One scratch Seen per rule, cleared per case: evaluation of a case is synchronous and never
  // re-enters this rule, and a fresh Map per case and record was the engine's largest garbage.
  const seen = new Seen();
  return (txn, ctx) => {
    if (!applies(txn)) return null;
    for (let c = 0; c < cases.length; c++) {
      const { reason, test } = cases[c]!;
      seen.clear();
      if (!test(txn, ctx.calendar, seen)) continue;
      const values: HitValues = { reason, ...paramValues };
      for (let i = 0; i < seen.size; i++) values[seen.names[i]!] = seen.values[i]!;
      return { reason, values };
    }
    return null;
  };
}
