/**
 * Declarative rule definitions: what an administrator releases and what a rule pack is made of.
 * A definition is plain JSON-able data — filters, keys, thresholds and explanation templates are
 * all values, so a rule can be stored, diffed, versioned and tuned without code. The engine
 * (compile.ts) turns each one into an evaluator once.
 *
 * Shape: a discriminated union on `kind` (one shape of domain.md §6 each). Every kind shares the
 * common fields (id, name, family, severity, action, description, basis, `when` filters) and adds
 * its own `params` (tunable, with defaults here, overridable per deployment) and `explain`
 * templates (one per reason the rule can fire for).
 *
 *   calendar         working time / night band of occurredAt
 *   window_count     transactions per key in a sliding window          (WindowState)
 *   distinct_count   distinct members per key in a sliding window      (WindowState)
 *   duration         seconds between two timestamps of one record
 *   registry         filed staff / institution status / black & red lists (RegistryView)
 *   field_predicate  a condition over the record's own fields and params
 *   overlap          intervals of one person/line overlapping           (IntervalState)
 *   fingerprint      one fingerprint claimed by different owners         (FingerprintState)
 *   sequence         event B within a window after (or without) event A  (SequenceState)
 *   peer_deviation   an entity's rate/count against its peers — scheduled, never in evaluate()
 */
import { z } from 'zod';
import { ListName, StaffRole } from '../model/registry.js';
import { MEASUREMENT_NAMES, type MeasurementName } from '../model/transaction.js';
import { RuleAction, RuleFamily, Severity } from '../model/warning.js';
import { FIELD_ENUMS, FieldPath, TimeField, VALUE_PATH_SET, ValuePath } from './fields.js';
import { templateRefs, unknownTemplateFormats } from './template.js';

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

/** A regular expression given as data: compiled once at parse time, so a bad one is rejected. */
const Pattern = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => {
    try {
      new RegExp(s, 'u');
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

/**
 * Field predicates; a rule applies only when all of its `when` predicates hold.
 * - `in` / `not_in`: a missing value never matches `in` and always matches `not_in`.
 * - `present` / `absent`: see isPresent() (undefined, null and '' are absent).
 * - `eq_field` / `ne_field`: both fields present and equal / different (a missing side → false).
 * - `matches`: the value is a string matching the regular expression (unicode mode).
 */
const predicateOptions = [
  z.strictObject({ op: z.literal('in'), field: ValuePath, values: z.array(Scalar).min(1) }),
  z.strictObject({ op: z.literal('not_in'), field: ValuePath, values: z.array(Scalar).min(1) }),
  z.strictObject({ op: z.literal('present'), field: ValuePath }),
  z.strictObject({ op: z.literal('absent'), field: ValuePath }),
  z.strictObject({ op: z.literal('eq_field'), field: ValuePath, other: ValuePath }),
  z.strictObject({ op: z.literal('ne_field'), field: ValuePath, other: ValuePath }),
  z.strictObject({ op: z.literal('matches'), field: ValuePath, pattern: Pattern }),
] as const;
export const PredicateSchema = z.discriminatedUnion('op', [...predicateOptions]);
export type Predicate = z.infer<typeof PredicateSchema>;

/**
 * A state key: `${prefix}:${field values joined by ':'}`; an absent field → the rule skips.
 * `bucket: 'local_day'` appends the local date of occurredAt (`…:2026-11-26`), turning a window
 * into a calendar-day count ("per clerk per day").
 */
const Prefix = z.string().regex(/^[a-z][a-z0-9-]*$/, 'key prefix: lower-case letters, digits and dashes');
export const StateKeySchema = z.strictObject({
  prefix: Prefix,
  fields: z.array(FieldPath).min(1),
  bucket: z.literal('local_day').optional(),
});
export type StateKey = z.infer<typeof StateKeySchema>;

/** Alternatives: the first whose fields are all present is used (joined by ':'); none → skip. */
const MemberAlternatives = z.array(z.array(FieldPath).min(1)).min(1);

const Template = z.string().min(1).max(300);
const WindowDays = z.number().int().min(1).max(3660);
const WindowHours = z.number().int().min(1).max(24 * 366);
const Threshold = z.number().int().min(1).max(1_000_000);
const Seconds = z.number().positive().max(30 * 86_400);
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00–23:59');
/** Names of params, reasons and events: identifiers usable in templates. */
const ParamName = z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'a lowerCamelCase name');
const ReasonName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a snake_case name');

// ---- params per kind (strict: an unknown parameter name is an error, not ignored) ----

const exactlyOneWindow = (p: { windowDays?: number | undefined; windowHours?: number | undefined }) =>
  (p.windowDays === undefined) !== (p.windowHours === undefined);
const ONE_WINDOW = 'set exactly one of windowDays and windowHours';

/** Calendar: no params in working-time mode; the night band in night mode. */
export const CalendarParams = z.strictObject({
  /** Night band start, local 'HH:MM' (inclusive). */
  nightStart: HHMM.optional(),
  /** Night band end, local 'HH:MM' (exclusive); may be earlier than nightStart (wraps midnight). */
  nightEnd: HHMM.optional(),
});
export const WindowCountParams = z
  .strictObject({
    /** Window length in days; counts members with a time in (at - window, at]. */
    windowDays: WindowDays.optional(),
    /** Window length in hours (instead of windowDays). */
    windowHours: WindowHours.optional(),
    threshold: Threshold,
  })
  .refine(exactlyOneWindow, ONE_WINDOW);
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
export const RegistryParams = z.strictObject({
  /** spot_check: the share of the institution's records drawn for verification, in percent. */
  samplePercent: z.number().min(0).max(100).optional(),
});
/** field_predicate params are declared by the rule itself: numbers, strings or string lists. */
export const FieldPredicateParamValue = z.union([z.number(), z.string().max(200), z.array(z.string().max(64)).max(500)]);
export const FieldPredicateParams = z.record(ParamName, FieldPredicateParamValue);
export const OverlapParams = z.strictObject({
  /** Fires when the overlap with another member's interval is >= this many seconds. */
  minOverlapSeconds: z.number().positive().max(86_400),
});
export const FingerprintParams = z
  .strictObject({
    /** Claims count when |Δt| < window. */
    windowDays: WindowDays.optional(),
    windowHours: WindowHours.optional(),
  })
  .refine(exactlyOneWindow, ONE_WINDOW);
export const SequenceParams = FingerprintParams;
export const PeerDeviationParams = z
  .strictObject({
    /** The period the scheduled job counts over. */
    periodDays: z.number().int().min(1).max(366),
    /** sigma: |z| > k against the peers' mean and standard deviation; pp: rate differs by more than pp percentage points. */
    method: z.enum(['sigma', 'pp']),
    k: z.number().positive().max(10).optional(),
    pp: z.number().positive().max(100).optional(),
    direction: z.enum(['above', 'below', 'both']),
    /** An entity is judged (and counts as a peer) only with at least this many denominator records. */
    minSamples: z.number().int().min(1).max(1_000_000),
    /** At least this many other entities in the group are needed to judge one. */
    minPeers: z.number().int().min(2).max(10_000),
  })
  .refine((p) => (p.method === 'sigma' ? p.k !== undefined && p.pp === undefined : p.pp !== undefined && p.k === undefined), 'method sigma needs k (and no pp); method pp needs pp (and no k)');

export const PARAM_SCHEMAS = {
  calendar: CalendarParams,
  window_count: WindowCountParams,
  distinct_count: DistinctCountParams,
  duration: DurationParams,
  registry: RegistryParams,
  field_predicate: FieldPredicateParams,
  overlap: OverlapParams,
  fingerprint: FingerprintParams,
  sequence: SequenceParams,
  peer_deviation: PeerDeviationParams,
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

/**
 * Working-time check on `occurredAt` against ctx.calendar (mode working_time: reasons
 * outside_hours / holiday / rest_day), or a fixed local night band whatever the day
 * (mode night: reason night; params nightStart/nightEnd).
 */
export const CalendarRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('calendar'),
  mode: z.enum(['working_time', 'night']).default('working_time'),
  params: CalendarParams.default({}),
  explain: z.strictObject({ outside_hours: Template.optional(), holiday: Template.optional(), rest_day: Template.optional(), night: Template.optional() }),
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

/** Counts distinct members per key in a sliding window (member alternatives as MemberAlternatives). */
export const DistinctCountRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('distinct_count'),
  key: StateKeySchema,
  member: MemberAlternatives,
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

const registryCommon = { ...common, kind: z.literal('registry'), params: RegistryParams.default({}) };

/**
 * Registry checks (事前备案):
 * - staff: is the person named by `field` filed for `role` and valid at occurredAt? With
 *   `classField`, is that licence class among the person's permitted `classes` (when recorded)?
 *   `ifMissing: 'skip'` leaves records without the field alone (e.g. exam bookings).
 * - institution: is `institutionId` filed and not suspended?
 * - listing: is any of `fields` on `list` (in force at occurredAt)? Each field has a label (申请人…).
 * - red_list: is the agent in `field` red-listed with scope own_org for another organisation?
 * - spot_check: is the institution under closer checks (加强抽查) at occurredAt? Then a share of
 *   its records (params.samplePercent), drawn by the record's id, is raised for verification: the
 *   same record is drawn or not on every delivery and every replay.
 */
export const RegistryRuleSchema = z.discriminatedUnion('target', [
  z.strictObject({
    ...registryCommon,
    target: z.literal('staff'),
    field: FieldPath,
    role: StaffRole,
    classField: FieldPath.optional(),
    ifMissing: z.enum(['fire', 'skip']).default('fire'),
    explain: z.strictObject({
      missing: Template.optional(),
      not_found: Template,
      not_approved: Template,
      wrong_role: Template,
      not_yet_valid: Template,
      expired: Template,
      class_not_permitted: Template.optional(),
    }),
  }),
  z.strictObject({
    ...registryCommon,
    target: z.literal('institution'),
    explain: z.strictObject({ not_found: Template, suspended: Template }),
  }),
  z.strictObject({
    ...registryCommon,
    target: z.literal('listing'),
    list: ListName,
    fields: z.array(z.strictObject({ field: FieldPath, label: z.string().min(1).max(16) })).min(1),
    explain: z.strictObject({ listed: Template }),
  }),
  z.strictObject({
    ...registryCommon,
    target: z.literal('spot_check'),
    explain: z.strictObject({ sampled: Template }),
  }),
  z.strictObject({
    ...registryCommon,
    target: z.literal('red_list'),
    field: FieldPath,
    explain: z.strictObject({ outside_org: Template }),
  }),
  z.strictObject({
    ...registryCommon,
    target: z.literal('self_dealing'),
    /** The staff member (user code) whose filed identity hash is looked up as of occurredAt. */
    field: FieldPath,
    /** The record's own hash of the operator, when the feed carries one (compared as well). */
    hashField: FieldPath.optional(),
    explain: z.strictObject({ applicant: Template, agent: Template }),
  }),
  z.strictObject({
    ...registryCommon,
    target: z.literal('device'),
    field: FieldPath,
    explain: z.strictObject({
      not_found: Template,
      not_approved: Template,
      other_institution: Template,
      not_yet_valid: Template,
      expired: Template,
      calibration_expired: Template,
    }),
  }),
]);

// ---- field_predicate conditions -------------------------------------------------------------

/** Values computed from a record for comparisons: ages from birth years, a duration. */
export const DERIVED_VALUES = ['subjectAge', 'agentAge', 'durationSeconds'] as const;
export type DerivedValue = (typeof DERIVED_VALUES)[number];

/** A number for `cmp`: a field, a numeric param, a literal, or a derived value. */
export const OperandSchema = z.union([
  z.strictObject({ field: ValuePath }),
  z.strictObject({ param: ParamName }),
  z.strictObject({ value: z.number() }),
  z.strictObject({ derived: z.enum(DERIVED_VALUES) }),
]);
export type Operand = z.infer<typeof OperandSchema>;

export type Condition =
  | Predicate
  | { op: 'in_list'; field: ValuePath; param: string }
  | { op: 'off_whitelist'; field: ValuePath; param: string; match: 'exact' | 'prefix' | 'cidr' }
  | { op: 'cmp'; left: Operand; cmp: 'lt' | 'lte' | 'gt' | 'gte'; right: Operand }
  | { op: 'any' | 'all'; of: Condition[] }
  | { op: 'not'; of: Condition };

/**
 * Conditions of field_predicate cases: every predicate op, plus
 * - `in_list`: the value is one of the string-list param.
 * - `off_whitelist`: the value is present, the list param is NOT empty (empty = not configured),
 *   and the value matches no entry — `exact`, `prefix` (case-insensitive) or `cidr` (IPv4
 *   a.b.c.d/n; a value that is not IPv4 never matches off_whitelist).
 * - `cmp`: both operands are finite numbers and `left cmp right` holds (missing → false).
 * - `any` / `all` / `not`: combinators.
 */
export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.discriminatedUnion('op', [
    ...predicateOptions,
    z.strictObject({ op: z.literal('in_list'), field: ValuePath, param: ParamName }),
    z.strictObject({ op: z.literal('off_whitelist'), field: ValuePath, param: ParamName, match: z.enum(['exact', 'prefix', 'cidr']) }),
    z.strictObject({ op: z.literal('cmp'), left: OperandSchema, cmp: z.enum(['lt', 'lte', 'gt', 'gte']), right: OperandSchema }),
    z.strictObject({ op: z.literal('any'), of: z.array(ConditionSchema).min(1) }),
    z.strictObject({ op: z.literal('all'), of: z.array(ConditionSchema).min(1) }),
    z.strictObject({ op: z.literal('not'), of: ConditionSchema }),
  ]),
) as z.ZodType<Condition>;

/**
 * A predicate over the record's own fields. `cases` are tried in order; the first whose `test`
 * holds fires with its `reason` (one template per reason). Params are declared here with their
 * defaults; an override may change their values, not their names or types.
 */
export const FieldPredicateRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('field_predicate'),
  cases: z.array(z.strictObject({ reason: ReasonName, test: ConditionSchema })).min(1),
  params: FieldPredicateParams.default({}),
  explain: z.record(ReasonName, Template),
});

/**
 * Intervals [from, to) per `key` (the person or line); fires when the record's interval overlaps
 * an interval of a *different* `member` (lane, venue, terminal; `[['id']]` = any other record)
 * by at least minOverlapSeconds. The record arriving second raises the warning.
 */
export const OverlapRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('overlap'),
  key: StateKeySchema,
  member: MemberAlternatives,
  from: TimeField,
  to: TimeField,
  params: OverlapParams,
  explain: z.strictObject({ overlapped: Template }),
});

/**
 * One fingerprint claimed by different owners within the window: photo hashes (`evidence`, each
 * one) or the measurement vector (`measurements`: name=value pairs sorted by name, minus
 * `exclude`, hashed; only with at least `minValues` values). Owner alternatives as members.
 */
export const FingerprintRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('fingerprint'),
  key: z.strictObject({ prefix: Prefix, fields: z.array(FieldPath).default([]) }),
  source: z.discriminatedUnion('from', [
    z.strictObject({ from: z.literal('evidence') }),
    z.strictObject({
      from: z.literal('measurements'),
      exclude: z.array(z.enum(Object.keys(MEASUREMENT_NAMES) as [MeasurementName, ...MeasurementName[]])).default([]),
      minValues: z.number().int().min(1).max(64).default(3),
    }),
  ]),
  owner: MemberAlternatives,
  params: FingerprintParams,
  explain: z.strictObject({ reused: Template }),
});

const EventName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'event: a snake_case name');

/**
 * Two events of one key. Records matching `first.when` are recorded as `first.event`; a record
 * matching `then.when` asks for the latest `first` event in (at − window, at]:
 * mode `present` fires when there is one (B within the window after A), `absent` when there is
 * none (B without A). The rule's common `when` applies to both.
 */
export const SequenceRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('sequence'),
  key: StateKeySchema,
  first: z.strictObject({ event: EventName, when: z.array(PredicateSchema).min(1) }),
  then: z.strictObject({ event: EventName, when: z.array(PredicateSchema).min(1) }),
  mode: z.enum(['present', 'absent']),
  params: SequenceParams,
  explain: z.strictObject({ followed: Template.optional(), missing: Template.optional() }),
});

/**
 * An entity's rate (numerator/denominator) or count over `periodDays` against its peers (same
 * institution type, or all), by k·σ or ±pp. Declarative only: compiled into a PeerRule for a
 * scheduled job over the store; evaluate() never runs it.
 */
export const PeerDeviationRuleSchema = z.strictObject({
  ...common,
  kind: z.literal('peer_deviation'),
  entity: FieldPath,
  peers: z.enum(['institution_type', 'all']),
  metric: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('rate'),
      /** Chinese label of the rate, e.g. 合格率. */
      label: z.string().min(1).max(20),
      denominator: z.array(PredicateSchema).min(1),
      /** Applied on top of the denominator's predicates. */
      numerator: z.array(PredicateSchema).min(1),
    }),
    z.strictObject({
      type: z.literal('count'),
      label: z.string().min(1).max(20),
      of: z.array(PredicateSchema).min(1),
    }),
  ]),
  params: PeerDeviationParams,
  explain: z.strictObject({ above: Template.optional(), below: Template.optional() }),
});

export type RuleKind =
  | 'calendar'
  | 'window_count'
  | 'distinct_count'
  | 'duration'
  | 'registry'
  | 'field_predicate'
  | 'overlap'
  | 'fingerprint'
  | 'sequence'
  | 'peer_deviation';

/** Computed values each kind offers to its templates (besides any transaction ValuePath). */
export const KIND_VALUE_NAMES: Readonly<Record<RuleKind, readonly string[]>> = {
  calendar: ['reason', 'date', 'time', 'weekday', 'period', 'dayType', 'nightBand'],
  window_count: ['count', 'threshold', 'windowDays', 'windowHours'],
  distinct_count: ['count', 'threshold', 'windowDays', 'windowHours'],
  duration: ['seconds', 'minSeconds', 'maxSeconds'],
  registry: [
    'reason', 'staffId', 'role', 'roleLabel', 'filedRole', 'filedRoleLabel', 'validFrom', 'validTo',
    'licenceClass', 'permittedClasses', 'institutionName', 'who', 'masked', 'listName', 'note', 'organisationId',
    'deviceId', 'deviceKind', 'filedInstitution', 'calibrationValidTo', 'via', 'samplePercent',
  ],
  // plus the rule's own param names (checked per definition)
  field_predicate: ['reason', ...DERIVED_VALUES],
  overlap: ['overlapSeconds', 'minOverlapSeconds', 'member', 'otherMember', 'otherId', 'otherStart', 'otherEnd'],
  fingerprint: ['fingerprint', 'reused', 'otherOwners', 'owner', 'otherOwner', 'otherId', 'otherAt', 'windowDays', 'windowHours'],
  sequence: ['elapsedDays', 'elapsedHours', 'firstAt', 'firstId', 'windowDays', 'windowHours'],
  peer_deviation: ['entity', 'group', 'metric', 'value', 'peerMean', 'peerStd', 'z', 'zAbs', 'deviationPp', 'deviationPpAbs', 'k', 'pp', 'samples', 'peers', 'periodDays'],
};

type AnyDef = { kind: RuleKind; when: Predicate[]; explain: Record<string, string | undefined>; params?: unknown } & Record<string, unknown>;

function walkConditions(c: Condition, visit: (c: Condition) => void): void {
  visit(c);
  if (c.op === 'any' || c.op === 'all') c.of.forEach((x) => walkConditions(x, visit));
  else if (c.op === 'not') walkConditions(c.of, visit);
}

/** Every predicate of a definition, wherever it sits (when, sequence events, peer metric, cases). */
function allPredicates(def: AnyDef): { path: (string | number)[]; p: Condition }[] {
  const out: { path: (string | number)[]; p: Condition }[] = def.when.map((p, i) => ({ path: ['when', i], p }));
  if (def.kind === 'sequence') {
    const d = def as unknown as SequenceRuleDefinition;
    d.first.when.forEach((p, i) => out.push({ path: ['first', 'when', i], p }));
    d.then.when.forEach((p, i) => out.push({ path: ['then', 'when', i], p }));
  }
  if (def.kind === 'peer_deviation') {
    const m = (def as unknown as PeerDeviationRuleDefinition).metric;
    if (m.type === 'rate') {
      m.denominator.forEach((p, i) => out.push({ path: ['metric', 'denominator', i], p }));
      m.numerator.forEach((p, i) => out.push({ path: ['metric', 'numerator', i], p }));
    } else m.of.forEach((p, i) => out.push({ path: ['metric', 'of', i], p }));
  }
  if (def.kind === 'field_predicate') {
    (def as unknown as FieldPredicateRuleDefinition).cases.forEach((c, i) => walkConditions(c.test, (p) => out.push({ path: ['cases', i, 'test'], p })));
  }
  return out;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
export function isCidr(s: string): boolean {
  const m = IPV4_CIDR.exec(s);
  return !!m && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

/**
 * Checks that depend on params as well as on the shape — run on the definition and again on the
 * effective definition after parameter overrides (an override can add a bound or change a list).
 */
export function paramIssues(def: RuleDefinition): string[] {
  const issues: string[] = [];
  const need = (reason: string, ok: boolean, what: string) => {
    if (!ok) issues.push(`explain.${reason} is required when ${what}`);
  };
  switch (def.kind) {
    case 'duration':
      need('too_short', def.params.minSeconds === undefined || def.explain.too_short !== undefined, 'minSeconds is set');
      need('too_long', def.params.maxSeconds === undefined || def.explain.too_long !== undefined, 'maxSeconds is set');
      break;
    case 'calendar':
      if (def.mode === 'working_time') {
        if (def.params.nightStart !== undefined || def.params.nightEnd !== undefined) issues.push('params.nightStart/nightEnd apply to mode night only');
        for (const r of ['outside_hours', 'holiday', 'rest_day'] as const) need(r, def.explain[r] !== undefined, 'mode is working_time');
      } else {
        if (def.params.nightStart === undefined || def.params.nightEnd === undefined) issues.push('mode night needs params.nightStart and params.nightEnd');
        else if (def.params.nightStart === def.params.nightEnd) issues.push('nightStart and nightEnd must differ');
        need('night', def.explain.night !== undefined, 'mode is night');
      }
      break;
    case 'field_predicate': {
      const params = def.params;
      for (const [i, c] of def.cases.entries()) {
        walkConditions(c.test, (p) => {
          const refs: { name: string; type: 'number' | 'list' }[] = [];
          if (p.op === 'in_list' || p.op === 'off_whitelist') refs.push({ name: p.param, type: 'list' });
          if (p.op === 'cmp') for (const o of [p.left, p.right]) if ('param' in o) refs.push({ name: o.param, type: 'number' });
          for (const r of refs) {
            const v = params[r.name];
            if (v === undefined) issues.push(`cases.${i}: param '${r.name}' is not declared in params`);
            else if (r.type === 'number' ? typeof v !== 'number' : !Array.isArray(v)) issues.push(`cases.${i}: param '${r.name}' must be a ${r.type === 'number' ? 'number' : 'string list'}`);
          }
          if (p.op === 'off_whitelist' && p.match === 'cidr') {
            const v = params[p.param];
            if (Array.isArray(v)) for (const e of v) if (!isCidr(e)) issues.push(`params.${p.param}: '${e}' is not an IPv4 CIDR (a.b.c.d/n)`);
          }
        });
      }
      break;
    }
    case 'peer_deviation':
      if (def.params.method === 'pp' && def.metric.type !== 'rate') issues.push('method pp applies to rate metrics only');
      need('above', def.params.direction === 'below' || def.explain.above !== undefined, `direction is ${def.params.direction}`);
      need('below', def.params.direction === 'above' || def.explain.below !== undefined, `direction is ${def.params.direction}`);
      break;
    default:
      break;
  }
  return issues;
}

/**
 * Cross-field checks zod's shapes cannot express: template placeholders must name something the
 * kind provides, every reason the rule can produce has a template, `in` lists on
 * closed-vocabulary fields use known codes.
 */
function checkDefinition(def: AnyDef, ctx: z.RefinementCtx): void {
  const names = new Set(KIND_VALUE_NAMES[def.kind]);
  if (def.kind === 'field_predicate') for (const p of Object.keys((def as unknown as FieldPredicateRuleDefinition).params)) names.add(p);
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  for (const [reason, template] of Object.entries(def.explain)) {
    if (template === undefined) continue;
    for (const ref of templateRefs(template)) {
      // Peer findings are about an entity over a period, not one record: no transaction fields.
      if (!names.has(ref) && (def.kind === 'peer_deviation' || !VALUE_PATH_SET.has(ref))) {
        issue(['explain', reason], `unknown placeholder {${ref}}; ${def.kind} offers ${[...names].join(', ')}${def.kind === 'peer_deviation' ? '' : ' or a transaction field'}`);
      }
    }
    for (const f of unknownTemplateFormats(template)) issue(['explain', reason], `unknown format |${f}; use date, time, datetime, staff, institution or device`);
  }
  // Placeholders for the window unit the rule does not use would always render 未知.
  if (def.params && typeof def.params === 'object' && ['window_count', 'distinct_count', 'fingerprint', 'sequence'].includes(def.kind)) {
    const p = def.params as { windowDays?: number; windowHours?: number };
    for (const [reason, template] of Object.entries(def.explain)) {
      for (const ref of templateRefs(template ?? '')) {
        if ((ref === 'windowDays' && p.windowDays === undefined) || (ref === 'windowHours' && p.windowHours === undefined)) {
          issue(['explain', reason], `{${ref}} is not set for this rule (it uses ${p.windowDays !== undefined ? 'windowDays' : 'windowHours'})`);
        }
      }
    }
  }

  const d = def as unknown as RuleDefinition;
  switch (d.kind) {
    case 'duration':
      if (d.from === d.to) issue(['to'], 'from and to must be different fields');
      break;
    case 'overlap':
      if (d.from === d.to) issue(['to'], 'from and to must be different fields');
      break;
    case 'registry':
      if (d.target === 'staff') {
        if (d.ifMissing === 'fire' && d.explain.missing === undefined) issue(['explain', 'missing'], 'explain.missing is required unless ifMissing is skip');
        if (d.classField !== undefined && d.explain.class_not_permitted === undefined) issue(['explain', 'class_not_permitted'], 'explain.class_not_permitted is required with classField');
      }
      break;
    case 'field_predicate': {
      const reasons = new Set(d.cases.map((c) => c.reason));
      if (reasons.size !== d.cases.length) issue(['cases'], 'case reasons must be unique');
      for (const r of reasons) if (d.explain[r] === undefined) issue(['explain', r], `explain.${r} is required (a case fires with reason ${r})`);
      for (const r of Object.keys(d.explain)) if (!reasons.has(r)) issue(['explain', r], `no case has reason ${r}`);
      break;
    }
    case 'sequence':
      if (d.first.event === d.then.event) issue(['then', 'event'], 'first and then must name different events');
      if (d.mode === 'present' && d.explain.followed === undefined) issue(['explain', 'followed'], 'explain.followed is required in mode present');
      if (d.mode === 'absent' && d.explain.missing === undefined) issue(['explain', 'missing'], 'explain.missing is required in mode absent');
      break;
    case 'peer_deviation':
      if (d.action !== 'warn') issue(['action'], 'a peer_deviation rule is scheduled: it can only warn');
      break;
    default:
      break;
  }
  for (const message of paramIssues(d)) issue(['params'], message);

  for (const { path, p } of allPredicates(def)) {
    if (p.op !== 'in' && p.op !== 'not_in') continue;
    const allowed = FIELD_ENUMS[p.field];
    if (!allowed) continue;
    p.values.forEach((v, j) => {
      if (!allowed.includes(String(v))) {
        issue([...path, 'values', j], `'${String(v)}' is not a valid ${p.field}; expected one of ${allowed.join(', ')}`);
      }
    });
  }
}

/**
 * A duration rule needs a template for every bound it has. Kept for callers of the first
 * release; paramIssues() covers every kind.
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
  .discriminatedUnion('kind', [
    CalendarRuleSchema,
    WindowCountRuleSchema,
    DistinctCountRuleSchema,
    DurationRuleSchema,
    RegistryRuleSchema,
    FieldPredicateRuleSchema,
    OverlapRuleSchema,
    FingerprintRuleSchema,
    SequenceRuleSchema,
    PeerDeviationRuleSchema,
  ])
  .superRefine((def, ctx) => checkDefinition(def as unknown as AnyDef, ctx));

/** A parsed definition (defaults applied). */
export type RuleDefinition = z.output<typeof RuleDefinitionSchema>;
/** What a pack author writes (defaults optional). */
export type RuleDefinitionInput = z.input<typeof RuleDefinitionSchema>;

export type CalendarRuleDefinition = z.output<typeof CalendarRuleSchema>;
export type WindowCountRuleDefinition = z.output<typeof WindowCountRuleSchema>;
export type DistinctCountRuleDefinition = z.output<typeof DistinctCountRuleSchema>;
export type DurationRuleDefinition = z.output<typeof DurationRuleSchema>;
export type RegistryRuleDefinition = z.output<typeof RegistryRuleSchema>;
export type FieldPredicateRuleDefinition = z.output<typeof FieldPredicateRuleSchema>;
export type OverlapRuleDefinition = z.output<typeof OverlapRuleSchema>;
export type FingerprintRuleDefinition = z.output<typeof FingerprintRuleSchema>;
export type SequenceRuleDefinition = z.output<typeof SequenceRuleSchema>;
export type PeerDeviationRuleDefinition = z.output<typeof PeerDeviationRuleSchema>;

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

/**
 * A sampling rule's warnings are a random draw of business for verification (加强抽查), not a
 * suspicion: a verification that finds the business normal is the expected outcome, not a false
 * alarm, so its share of confirmed findings is a detection rate, not the rule's precision.
 */
export function isSamplingRule(def: RuleDefinitionInput | RuleDefinition): boolean {
  return def.kind === 'registry' && def.target === 'spot_check';
}
