/**
 * Declarative rule definitions: what an administrator releases and what a rule pack is made of.
 * A definition is plain JSON-able data — filters, keys, thresholds and explanation templates are
 * all values, so a rule can be stored, diffed, versioned and tuned without code. The engine
 * (compile.ts) turns each one into an evaluator once.
 *
 * Shape: a discriminated union on `kind`. Every kind shares the common fields (id, name, family,
 * severity, action, description, basis, `when` filters) and adds its own `params` (tunable,
 * with defaults here, overridable per deployment) and `explain` templates (one per reason the
 * rule can fire for).
 */
import { z } from 'zod';
import { StaffRole } from '../model/registry.js';
import { RuleAction, RuleFamily, Severity } from '../model/warning.js';
import { FIELD_ENUMS, FieldPath, TimeField } from './fields.js';
import { templateRefs } from './template.js';

const Scalar = z.union([z.string(), z.number()]);

/**
 * Field predicates; a rule applies only when all of its `when` predicates hold.
 * - `in` / `not_in`: a missing value never matches `in` and always matches `not_in`.
 * - `present` / `absent`: see isPresent() (undefined, null and '' are absent).
 * - `eq_field` / `ne_field`: both fields present and equal / different (a missing side → false).
 */
export const PredicateSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('in'), field: FieldPath, values: z.array(Scalar).min(1) }),
  z.strictObject({ op: z.literal('not_in'), field: FieldPath, values: z.array(Scalar).min(1) }),
  z.strictObject({ op: z.literal('present'), field: FieldPath }),
  z.strictObject({ op: z.literal('absent'), field: FieldPath }),
  z.strictObject({ op: z.literal('eq_field'), field: FieldPath, other: FieldPath }),
  z.strictObject({ op: z.literal('ne_field'), field: FieldPath, other: FieldPath }),
]);
export type Predicate = z.infer<typeof PredicateSchema>;

/** A sliding-window state key: `${prefix}:${field values joined by ':'}`; absent field → rule skips. */
export const StateKeySchema = z.strictObject({
  prefix: z.string().regex(/^[a-z][a-z0-9-]*$/, 'key prefix: lower-case letters, digits and dashes'),
  fields: z.array(FieldPath).min(1),
});
export type StateKey = z.infer<typeof StateKeySchema>;

const Template = z.string().min(1).max(300);
const WindowDays = z.number().int().min(1).max(3660);
const Threshold = z.number().int().min(1).max(1_000_000);
const Seconds = z.number().positive().max(30 * 86_400);

// ---- params per kind (strict: an unknown parameter name is an error, not ignored) ----

export const CalendarParams = z.strictObject({});
export const WindowCountParams = z.strictObject({
  /** Window length in days; counts members with a time in (at - windowDays, at]. */
  windowDays: WindowDays,
  threshold: Threshold,
});
export const DistinctCountParams = WindowCountParams;
export const DurationParams = z
  .strictObject({
    /** Fires when the duration is < minSeconds (too short). */
    minSeconds: Seconds.optional(),
    /** Fires when the duration is >= maxSeconds (too long). */
    maxSeconds: Seconds.optional(),
  })
  .refine((p) => p.minSeconds !== undefined || p.maxSeconds !== undefined, 'set minSeconds and/or maxSeconds')
  .refine((p) => p.minSeconds === undefined || p.maxSeconds === undefined || p.minSeconds < p.maxSeconds, 'minSeconds must be < maxSeconds');
export const RegistryParams = z.strictObject({});

export const PARAM_SCHEMAS = {
  calendar: CalendarParams,
  window_count: WindowCountParams,
  distinct_count: DistinctCountParams,
  duration: DurationParams,
  registry: RegistryParams,
} as const;

/** Comparison of the observed count against `threshold`. */
export const CountCompare = z.enum(['gt', 'gte']);

const common = {
  /** Stable id, `family.name`; warnings and overrides refer to it. */
  id: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'rule id must look like family.name (lower case, dot separated)'),
  /** Bumped by hand when the meaning changes; the version also hashes the whole definition. */
  revision: z.number().int().min(1).default(1),
  name: z.string().min(1).max(60),
  family: RuleFamily,
  severity: Severity,
  action: RuleAction,
  description: z.string().min(1),
  basis: z.string().min(1),
  when: z.array(PredicateSchema).default([]),
};

/** Working-hours check on `occurredAt` against ctx.calendar. */
export const CalendarRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('calendar'),
  params: CalendarParams.default({}),
  explain: z.strictObject({ outside_hours: Template, holiday: Template, rest_day: Template }),
});

/** Counts transactions (member = txn.id) per key in a sliding window. */
export const WindowCountRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('window_count'),
  key: StateKeySchema,
  compare: CountCompare,
  params: WindowCountParams,
  explain: z.strictObject({ exceeded: Template }),
});

/**
 * Counts distinct members per key in a sliding window. `member` lists alternatives: the first
 * whose fields are all present is used (joined by ':'); none present → the rule skips.
 */
export const DistinctCountRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('distinct_count'),
  key: StateKeySchema,
  member: z.array(z.array(FieldPath).min(1)).min(1),
  compare: CountCompare,
  params: DistinctCountParams,
  explain: z.strictObject({ exceeded: Template }),
});

/** Seconds between two timestamps of the same transaction against min/max bounds. */
export const DurationRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('duration'),
  from: TimeField,
  to: TimeField,
  params: DurationParams,
  explain: z.strictObject({ too_short: Template.optional(), too_long: Template.optional() }),
});

/** Is the person named by `field` filed for `role` and valid at occurredAt? */
export const RegistryRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('registry'),
  target: z.literal('staff'),
  field: FieldPath,
  role: StaffRole,
  params: RegistryParams.default({}),
  explain: z.strictObject({
    missing: Template,
    not_found: Template,
    not_approved: Template,
    wrong_role: Template,
    not_yet_valid: Template,
    expired: Template,
  }),
});

export type RuleKind = 'calendar' | 'window_count' | 'distinct_count' | 'duration' | 'registry';

/** Computed values each kind offers to its templates (besides any transaction FieldPath). */
export const KIND_VALUE_NAMES: Readonly<Record<RuleKind, readonly string[]>> = {
  calendar: ['reason', 'date', 'time', 'weekday', 'period', 'dayType'],
  window_count: ['count', 'threshold', 'windowDays'],
  distinct_count: ['count', 'threshold', 'windowDays'],
  duration: ['seconds', 'minSeconds', 'maxSeconds'],
  registry: ['reason', 'staffId', 'role', 'roleLabel', 'filedRole', 'filedRoleLabel', 'validFrom', 'validTo'],
};

const FIELD_PATH_SET: ReadonlySet<string> = new Set(FieldPath.options);

/**
 * Cross-field checks zod's shapes cannot express: template placeholders must name something the
 * kind provides, and `in` lists on closed-vocabulary fields must use known codes.
 */
function checkDefinition(def: { kind: RuleKind; when: Predicate[]; explain: Record<string, string | undefined> }, ctx: z.RefinementCtx): void {
  const names = new Set(KIND_VALUE_NAMES[def.kind]);
  for (const [reason, template] of Object.entries(def.explain)) {
    if (template === undefined) continue;
    for (const ref of templateRefs(template)) {
      if (!names.has(ref) && !FIELD_PATH_SET.has(ref)) {
        ctx.addIssue({
          code: 'custom',
          path: ['explain', reason],
          message: `unknown placeholder {${ref}}; ${def.kind} offers ${[...names].join(', ')} or a transaction field`,
        });
      }
    }
  }
  if (def.kind === 'duration') {
    const d = def as unknown as z.output<typeof DurationRuleSchema>;
    if (d.from === d.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'from and to must be different fields' });
    for (const message of durationTemplateIssues(d)) ctx.addIssue({ code: 'custom', path: ['explain'], message });
  }
  def.when.forEach((p, i) => {
    if (p.op !== 'in' && p.op !== 'not_in') return;
    const allowed = FIELD_ENUMS[p.field];
    if (!allowed) return;
    p.values.forEach((v, j) => {
      if (!allowed.includes(String(v))) {
        ctx.addIssue({
          code: 'custom',
          path: ['when', i, 'values', j],
          message: `'${String(v)}' is not a valid ${p.field}; expected one of ${allowed.join(', ')}`,
        });
      }
    });
  });
}

/**
 * A duration rule needs a template for every bound it has. Exported because a parameter
 * override can add a bound (e.g. maxSeconds) after the definition itself was valid.
 */
export function durationTemplateIssues(def: {
  params: { minSeconds?: number | undefined; maxSeconds?: number | undefined };
  explain: { too_short?: string | undefined; too_long?: string | undefined };
}): string[] {
  const issues: string[] = [];
  if (def.params.minSeconds !== undefined && def.explain.too_short === undefined) issues.push('explain.too_short is required when minSeconds is set');
  if (def.params.maxSeconds !== undefined && def.explain.too_long === undefined) issues.push('explain.too_long is required when maxSeconds is set');
  return issues;
}

export const RuleDefinitionSchema = z
  .discriminatedUnion('kind', [CalendarRuleSchema, WindowCountRuleSchema, DistinctCountRuleSchema, DurationRuleSchema, RegistryRuleSchema])
  .superRefine(checkDefinition);

/** A parsed definition (defaults applied). */
export type RuleDefinition = z.output<typeof RuleDefinitionSchema>;
/** What a pack author writes (defaults optional). */
export type RuleDefinitionInput = z.input<typeof RuleDefinitionSchema>;

export type CalendarRuleDefinition = z.output<typeof CalendarRuleSchema>;
export type WindowCountRuleDefinition = z.output<typeof WindowCountRuleSchema>;
export type DistinctCountRuleDefinition = z.output<typeof DistinctCountRuleSchema>;
export type DurationRuleDefinition = z.output<typeof DurationRuleSchema>;
export type RegistryRuleDefinition = z.output<typeof RegistryRuleSchema>;

/** Parameters of each kind, as overridable per rule. */
export type RuleParams = {
  [K in RuleKind]: z.output<(typeof PARAM_SCHEMAS)[K]>;
};
/** Partial parameter overrides keyed by rule id (validated against the rule's kind). */
export type RuleParamOverrides = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** Identity helper that type-checks a definition in a pack file without widening it. */
export function defineRule<const T extends RuleDefinitionInput>(def: T): T {
  return def;
}
