/**
 * Rule engine: compile declarative definitions into evaluators, once.
 *
 * Design note
 * -----------
 * Input: RuleDefinition data (definition.ts) + per-rule parameter overrides. createEngine()
 *   1. parses every definition with zod (unknown kinds, fields, placeholders, codes → RuleConfigError
 *      RULE_DEFINITION_INVALID), rejects duplicate ids and shared state-key prefixes
 *      (RULE_DEFINITION_CONFLICT: two rules writing one key would count each other's members);
 *   2. merges overrides into each rule's default params and re-validates them against the rule
 *      kind's strict schema (RULE_PARAMS_INVALID / RULE_UNKNOWN);
 *   3. compiles filters, keys and templates into closures, so evaluation does no parsing, no
 *      path splitting and no schema work per transaction;
 *   4. derives versions from the canonical JSON of the *effective* definitions: every rule gets
 *      `r<revision>-<hash8>`, the engine `<label>-<hash8>`. Same data → same version in every
 *      process and in the browser; change one threshold → new versions, recorded on warnings.
 *
 * Evaluation invariants:
 *   - Rules run in definition order and hits come back in that order (output is deterministic).
 *   - A rule's `when` filters and kind-specific preconditions (key fields present, timestamps
 *     present) are checked *before* any state is touched: a stateful rule calls
 *     ctx.state.observe() only for transactions it applies to, so unrelated traffic never fills
 *     the window state and never shifts counts.
 *   - observe() is idempotent per (key, member), so evaluating the same transaction twice (a
 *     re-sent batch, a retried job) returns the same hits; warning ids are derived from
 *     (rule id, txn id), so the stored result is the same too.
 *   - The engine trusts its input: the hub validates transactions with TransactionSchema first.
 *   - Errors from ctx.state (Redis down) propagate; retrying the whole evaluation is safe.
 */
import { STAFF_ROLE_LABELS, filingStatus } from '../model/registry.js';
import type { Transaction } from '../model/transaction.js';
import type { HitValues } from '../model/warning.js';
import { DEFAULT_PACK, PACK_VERSION } from '../pack/index.js';
import type { WorkCalendar } from './calendar.js';
import {
  PARAM_SCHEMAS,
  RuleDefinitionSchema,
  durationTemplateIssues,
  type CalendarRuleDefinition,
  type DistinctCountRuleDefinition,
  type DurationRuleDefinition,
  type Predicate,
  type RegistryRuleDefinition,
  type RuleDefinition,
  type RuleParamOverrides,
  type StateKey,
  type WindowCountRuleDefinition,
} from './definition.js';
import { RuleConfigError } from './errors.js';
import { FieldPath, fieldGetter, isPresent, type FieldGetter } from './fields.js';
import { canonicalJson, fnv1a64 } from './hash.js';
import { parseTemplate, renderTemplate } from './template.js';
import type { EvaluationContext, RuleEngine, RuleHit, RuleMeta } from './types.js';

export const DAY_MS = 86_400_000;

export interface EngineOptions {
  /**
   * Per-rule parameter overrides, e.g. `{ 'agent.frequent': { threshold: 4 } }`. Merged over the
   * definition's defaults and validated against the rule kind.
   * @defaultValue `{}` (every rule at its default)
   */
  params?: RuleParamOverrides;
  /**
   * Prefix of `engine.version`.
   * @defaultValue `pack-${PACK_VERSION}` (e.g. `pack-2026.11`)
   */
  label?: string;
}

export interface CompiledRuleEngine extends RuleEngine {
  /** The effective definitions (defaults and overrides applied), in evaluation order. */
  readonly definitions: readonly RuleDefinition[];
}

/** What an evaluator returns: the reason it fired (selects the template) and its values. */
interface Finding {
  reason: string;
  values: HitValues;
}

interface Evaluator {
  meta: RuleMeta;
  run(txn: Transaction, ctx: EvaluationContext): Finding | null | Promise<Finding | null>;
  explain(reason: string, values: HitValues, txn: Transaction): string;
}

// ---------------------------------------------------------------------------------------------
// Validation

function zodIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}

/**
 * Parses definitions as an administrator would release them. Throws RuleConfigError
 * RULE_DEFINITION_INVALID (schema) or RULE_DEFINITION_CONFLICT (duplicate id / state key prefix).
 */
export function validateDefinitions(inputs: readonly unknown[]): RuleDefinition[] {
  if (!Array.isArray(inputs)) throw new RuleConfigError('RULE_DEFINITION_INVALID', 'rule definitions must be an array');
  const defs = inputs.map((input, index) => {
    const r = RuleDefinitionSchema.safeParse(input);
    if (r.success) return r.data;
    const id = typeof (input as { id?: unknown })?.id === 'string' ? (input as { id: string }).id : undefined;
    throw new RuleConfigError('RULE_DEFINITION_INVALID', `rule definition #${index}${id ? ` (${id})` : ''} is invalid`, {
      ...(id ? { ruleId: id } : {}),
      issues: zodIssues(r.error),
    });
  });

  const ids = new Set<string>();
  const prefixes = new Map<string, string>();
  for (const def of defs) {
    if (ids.has(def.id)) throw new RuleConfigError('RULE_DEFINITION_CONFLICT', `duplicate rule id ${def.id}`, { ruleId: def.id });
    ids.add(def.id);
    if (def.kind === 'window_count' || def.kind === 'distinct_count') {
      const other = prefixes.get(def.key.prefix);
      if (other !== undefined) {
        throw new RuleConfigError('RULE_DEFINITION_CONFLICT', `rules ${other} and ${def.id} share the state key prefix '${def.key.prefix}'`, {
          ruleId: def.id,
        });
      }
      prefixes.set(def.key.prefix, def.id);
    }
  }
  return defs;
}

function applyParams(def: RuleDefinition, override: unknown): RuleDefinition {
  if (override === undefined) return def;
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw new RuleConfigError('RULE_PARAMS_INVALID', `params for ${def.id} must be an object`, { ruleId: def.id });
  }
  // `undefined` means "not overridden" (Partial<params>), so it must not erase a default.
  const patch = Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined));
  const r = PARAM_SCHEMAS[def.kind].safeParse({ ...def.params, ...patch });
  if (!r.success) {
    throw new RuleConfigError('RULE_PARAMS_INVALID', `invalid params for ${def.id} (${def.kind})`, {
      ruleId: def.id,
      issues: zodIssues(r.error),
    });
  }
  const merged = { ...def, params: r.data } as RuleDefinition;
  if (merged.kind === 'duration') {
    const issues = durationTemplateIssues(merged);
    if (issues.length > 0) throw new RuleConfigError('RULE_PARAMS_INVALID', `invalid params for ${def.id}`, { ruleId: def.id, issues });
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Compilation helpers

function compilePredicate(p: Predicate): (txn: Transaction) => boolean {
  const get = fieldGetter(p.field);
  switch (p.op) {
    case 'in': {
      const set = new Set<unknown>(p.values);
      return (txn) => set.has(get(txn));
    }
    case 'not_in': {
      const set = new Set<unknown>(p.values);
      return (txn) => !set.has(get(txn));
    }
    case 'present':
      return (txn) => isPresent(get(txn));
    case 'absent':
      return (txn) => !isPresent(get(txn));
    case 'eq_field':
    case 'ne_field': {
      const other = fieldGetter(p.other);
      const wantEqual = p.op === 'eq_field';
      return (txn) => {
        const a = get(txn);
        const b = other(txn);
        return isPresent(a) && isPresent(b) && (a === b) === wantEqual;
      };
    }
  }
}

function compileFilters(when: readonly Predicate[]): (txn: Transaction) => boolean {
  const preds = when.map(compilePredicate);
  return (txn) => preds.every((p) => p(txn));
}

/** `${prefix}:${v1}:${v2}…`, or undefined when a key field is absent (the rule then skips). */
function compileKey(key: StateKey): (txn: Transaction) => string | undefined {
  const getters = key.fields.map(fieldGetter);
  return (txn) => {
    const parts: string[] = [key.prefix];
    for (const g of getters) {
      const v = g(txn);
      if (!isPresent(v)) return undefined;
      parts.push(String(v));
    }
    return parts.join(':');
  };
}

/** First alternative whose fields are all present, joined by ':'. */
function compileMember(alternatives: readonly (readonly FieldPath[])[]): (txn: Transaction) => string | undefined {
  const compiled = alternatives.map((fields) => fields.map(fieldGetter));
  return (txn) => {
    outer: for (const getters of compiled) {
      const parts: string[] = [];
      for (const g of getters) {
        const v = g(txn);
        if (!isPresent(v)) continue outer;
        parts.push(String(v));
      }
      return parts.join(':');
    }
    return undefined;
  };
}

const FIELD_PATH_SET: ReadonlySet<string> = new Set(FieldPath.options);

/** Templates by reason → render(values, txn). Values win over transaction fields of the same name. */
function compileExplain(explain: Readonly<Record<string, string | undefined>>): Evaluator['explain'] {
  const compiled = new Map<string, { parts: ReturnType<typeof parseTemplate>; getters: Map<string, FieldGetter> }>();
  for (const [reason, template] of Object.entries(explain)) {
    if (template === undefined) continue;
    const parts = parseTemplate(template);
    const getters = new Map<string, FieldGetter>();
    for (const p of parts) {
      if ('ref' in p && FIELD_PATH_SET.has(p.ref)) getters.set(p.ref, fieldGetter(p.ref as FieldPath));
    }
    compiled.set(reason, { parts, getters });
  }
  return (reason, values, txn) => {
    const t = compiled.get(reason);
    // Unreachable for validated definitions (every reason a kind can produce has a template).
    if (!t) return `规则触发（${reason}）`;
    return renderTemplate(t.parts, (ref) => (ref in values ? values[ref] : t.getters.get(ref)?.(txn)));
  };
}

const WEEKDAYS = ['星期一', '星期二', '星期三', '星期四', '星期五', '星期六', '星期日'];

/** '08:00–18:00' (periods joined by '、'); cached per calendar object. */
const periodTextCache = new WeakMap<WorkCalendar, string>();
function periodText(cal: WorkCalendar): string {
  let s = periodTextCache.get(cal);
  if (s === undefined) {
    s = cal.config.periods.map((p) => `${p.start}–${p.end}`).join('、');
    periodTextCache.set(cal, s);
  }
  return s;
}

const compare = (op: 'gt' | 'gte', n: number, threshold: number): boolean => (op === 'gt' ? n > threshold : n >= threshold);

// ---------------------------------------------------------------------------------------------
// One compiler per kind

function compileCalendar(def: CalendarRuleDefinition): Evaluator['run'] {
  const applies = compileFilters(def.when);
  return (txn, ctx) => {
    if (!applies(txn)) return null;
    const cal = ctx.calendar;
    const at = txn.occurredAt;
    if (cal.isWorkingTime(at)) return null;
    const l = cal.local(at);
    // Day-level reasons first: business on a holiday is reported as such whatever the hour.
    let reason: 'outside_hours' | 'holiday' | 'rest_day';
    let dayType: string;
    if (cal.isWorkingDay(at)) [reason, dayType] = ['outside_hours', '工作日'];
    else if (cal.config.holidays.includes(l.date)) [reason, dayType] = ['holiday', '法定节假日'];
    else [reason, dayType] = ['rest_day', '休息日'];
    return {
      reason,
      values: { reason, date: l.date, time: l.hhmm, weekday: WEEKDAYS[l.isoWeekday - 1] ?? '', period: periodText(cal), dayType },
    };
  };
}

function compileWindowCount(def: WindowCountRuleDefinition): Evaluator['run'] {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const { windowDays, threshold } = def.params;
  const windowMs = windowDays * DAY_MS;
  return async (txn, ctx) => {
    if (!applies(txn)) return null;
    const key = keyOf(txn);
    if (key === undefined) return null;
    // Member = transaction id: each business counts once, however often it is re-delivered.
    const count = await ctx.state.observe(key, txn.id, txn.occurredAt, windowMs);
    if (!compare(def.compare, count, threshold)) return null;
    return { reason: 'exceeded', values: { count, threshold, windowDays } };
  };
}

function compileDistinctCount(def: DistinctCountRuleDefinition): Evaluator['run'] {
  const applies = compileFilters(def.when);
  const keyOf = compileKey(def.key);
  const memberOf = compileMember(def.member);
  const { windowDays, threshold } = def.params;
  const windowMs = windowDays * DAY_MS;
  return async (txn, ctx) => {
    if (!applies(txn)) return null;
    const key = keyOf(txn);
    const member = memberOf(txn);
    if (key === undefined || member === undefined) return null;
    const count = await ctx.state.observe(key, member, txn.occurredAt, windowMs);
    if (!compare(def.compare, count, threshold)) return null;
    return { reason: 'exceeded', values: { count, threshold, windowDays } };
  };
}

function compileDuration(def: DurationRuleDefinition): Evaluator['run'] {
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
    const values: HitValues = { seconds };
    if (minSeconds !== undefined) values.minSeconds = minSeconds;
    if (maxSeconds !== undefined) values.maxSeconds = maxSeconds;
    if (minSeconds !== undefined && seconds < minSeconds) return { reason: 'too_short', values };
    if (maxSeconds !== undefined && seconds >= maxSeconds) return { reason: 'too_long', values };
    return null;
  };
}

function compileRegistry(def: RegistryRuleDefinition): Evaluator['run'] {
  const applies = compileFilters(def.when);
  const idOf = fieldGetter(def.field);
  const role = def.role;
  const roleLabel = STAFF_ROLE_LABELS[role];
  return (txn, ctx) => {
    if (!applies(txn)) return null;
    const raw = idOf(txn);
    if (!isPresent(raw)) return { reason: 'missing', values: { reason: 'missing', staffId: '', role, roleLabel } };
    const staffId = String(raw);
    const staff = ctx.registry.staff(staffId);
    const status = filingStatus(staff, role, txn.occurredAt);
    if (status === 'ok') return null;
    const values: HitValues = { reason: status, staffId, role, roleLabel };
    if (staff) {
      values.filedRole = staff.role;
      values.filedRoleLabel = STAFF_ROLE_LABELS[staff.role];
      values.validFrom = ctx.calendar.local(staff.validFrom).date;
      values.validTo = staff.validTo === null ? '长期' : ctx.calendar.local(staff.validTo).date;
    }
    return { reason: status, values };
  };
}

function compileRun(def: RuleDefinition): Evaluator['run'] {
  switch (def.kind) {
    case 'calendar':
      return compileCalendar(def);
    case 'window_count':
      return compileWindowCount(def);
    case 'distinct_count':
      return compileDistinctCount(def);
    case 'duration':
      return compileDuration(def);
    case 'registry':
      return compileRegistry(def);
  }
}

// ---------------------------------------------------------------------------------------------

const shortHash = (value: unknown): string => fnv1a64(canonicalJson(value)).slice(0, 8);

/** The version a rule would get; exported so the hub can show it before releasing a change. */
export function ruleVersion(def: RuleDefinition): string {
  return `r${def.revision}-${shortHash(def)}`;
}

/**
 * Compiles definitions (default: the built-in pack) into a RuleEngine. Throws RuleConfigError on
 * any invalid definition or parameter override; never throws later, during evaluation, for
 * configuration reasons.
 */
export function createEngine(definitions: readonly unknown[] = DEFAULT_PACK, options: EngineOptions = {}): CompiledRuleEngine {
  const parsed = validateDefinitions(definitions);
  const overrides = options.params ?? {};
  if (overrides === null || typeof overrides !== 'object') throw new RuleConfigError('RULE_PARAMS_INVALID', 'options.params must be an object');
  const known = new Set(parsed.map((d) => d.id));
  for (const id of Object.keys(overrides)) {
    if (!known.has(id)) throw new RuleConfigError('RULE_UNKNOWN', `params given for unknown rule ${id}`, { ruleId: id });
  }
  const effective = parsed.map((def) => applyParams(def, overrides[def.id]));

  const evaluators: Evaluator[] = effective.map((def) => ({
    meta: Object.freeze({
      id: def.id,
      name: def.name,
      version: ruleVersion(def),
      family: def.family,
      severity: def.severity,
      action: def.action,
      description: def.description,
      basis: def.basis,
    }),
    run: compileRun(def),
    explain: compileExplain(def.explain),
  }));
  const blocking = evaluators.filter((e) => e.meta.action === 'hold');

  const runAll = async (list: readonly Evaluator[], txn: Transaction, ctx: EvaluationContext): Promise<RuleHit[]> => {
    // Started together (stateful rules use different keys, so Redis round-trips overlap);
    // Promise.all keeps the results in rule order.
    const findings = await Promise.all(list.map((e) => e.run(txn, ctx)));
    const hits: RuleHit[] = [];
    findings.forEach((f, i) => {
      const e = list[i];
      if (f && e) hits.push({ rule: e.meta, explanation: e.explain(f.reason, f.values, txn), values: f.values });
    });
    return hits;
  };

  return Object.freeze({
    version: `${options.label ?? `pack-${PACK_VERSION}`}-${shortHash(effective)}`,
    rules: Object.freeze(evaluators.map((e) => e.meta)),
    definitions: Object.freeze(effective),
    evaluate: (txn: Transaction, ctx: EvaluationContext) => runAll(evaluators, txn, ctx),
    evaluateBlocking: (txn: Transaction, ctx: EvaluationContext) => runAll(blocking, txn, ctx),
  });
}
