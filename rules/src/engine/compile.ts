/**
 * Rule engine: compile declarative definitions into evaluators, once.
 *
 * Design note
 * -----------
 * Input: RuleDefinition data (definition.ts) + per-rule parameter overrides. createEngine()
 *   1. parses every definition with zod (unknown kinds, fields, placeholders, codes → RuleConfigError
 *      RULE_DEFINITION_INVALID), rejects duplicate ids and shared state-key prefixes
 *      (RULE_DEFINITION_CONFLICT: two stateful rules — of any kind — writing one key would see
 *      each other's members);
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
 *     present) are checked *before* any state is touched: a stateful rule calls its state only
 *     for transactions it applies to, so unrelated traffic never fills the state and never
 *     shifts counts.
 *   - observe() is idempotent per (key, member); the interval, fingerprint and sequence states
 *     remember their answer per transaction id (types.ts). Evaluating the same transaction twice
 *     (a re-sent batch, a retried job, the hold path then the full run) returns the same hits;
 *     warning ids are derived from (rule id, txn id), so the stored result is the same too.
 *   - A rule whose state is absent from the context (ctx.intervals / fingerprints / sequences)
 *     is skipped: a hub that does not implement a state yet keeps working.
 *   - peer_deviation rules are compiled into `engine.peerRules` for a scheduled job and never
 *     run in evaluate(); they are listed in `engine.rules` with state 'scheduled'.
 *   - The engine trusts its input: the hub validates transactions with TransactionSchema first.
 *   - Errors from ctx.state (Redis down) propagate; retrying the whole evaluation is safe.
 */
import { TransactionKind, type Transaction } from '../model/transaction.js';
import { DEFAULT_PACK, PACK_VERSION } from '../pack/index.js';
import { DAY_MS, compileExplain, isThenable, type Evaluator, type Finding, type Run } from './compile-parts.js';
import { PARAM_SCHEMAS, RuleDefinitionSchema, paramIssues, type RuleDefinition, type RuleParamOverrides } from './definition.js';
import { RuleConfigError } from './errors.js';
import { canonicalJson, fnv1a64 } from './hash.js';
import { compileCalendar } from './kinds/calendar.js';
import { compileDistinctCount, compileWindowCount } from './kinds/counts.js';
import { compileDuration } from './kinds/duration.js';
import { compileFieldPredicate } from './kinds/field-predicate.js';
import { compileFingerprint } from './kinds/fingerprint.js';
import { compileOverlap } from './kinds/overlap.js';
import { compilePeerDeviation } from './kinds/peer-deviation.js';
import { compileRegistry } from './kinds/registry.js';
import { compileSequence } from './kinds/sequence.js';
import { z } from 'zod';
import { createBatchRecorder } from './batch.js';
import { allOf } from './later.js';
import type { EvaluationContext, PeerRule, RuleEngine, RuleHit, RuleMeta, RuleStateKind } from './types.js';

export { DAY_MS };

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
  /** The peer_deviation rules, compiled for the scheduled job (never run by evaluate()). */
  readonly peerRules: readonly PeerRule[];
}

// ---------------------------------------------------------------------------------------------
// Validation

function zodIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}

/** The state key prefix a stateful rule writes under, if any. */
function prefixOf(def: RuleDefinition): string | undefined {
  switch (def.kind) {
    case 'window_count':
    case 'distinct_count':
    case 'overlap':
    case 'sequence':
    case 'fingerprint':
      return def.key.prefix;
    default:
      return undefined;
  }
}

/** What a kind needs besides the record. */
export function stateKindOf(def: RuleDefinition): RuleStateKind {
  switch (def.kind) {
    case 'window_count':
    case 'distinct_count':
      return 'window';
    case 'overlap':
      return 'interval';
    case 'fingerprint':
      return 'fingerprint';
    case 'sequence':
      return 'sequence';
    case 'peer_deviation':
      return 'scheduled';
    default:
      return 'none';
  }
}

/**
 * Parses definitions as an administrator would release them. Throws RuleConfigError
 * RULE_DEFINITION_INVALID (schema) or RULE_DEFINITION_CONFLICT (duplicate id / state key prefix).
 */
export function validateDefinitions(inputs: readonly unknown[]): RuleDefinition[] {
  if (!Array.isArray(inputs)) throw new RuleConfigError('RULE_DEFINITION_INVALID', 'rule definitions must be an array');
  const defs = inputs.map((input, index) => {
    let r: ReturnType<typeof RuleDefinitionSchema.safeParse>;
    try {
      r = RuleDefinitionSchema.safeParse(input);
    } catch (err) {
      // A refinement tripping over a half-valid shape: still an invalid definition.
      r = { success: false, error: new z.ZodError([{ code: 'custom', path: [], message: String(err), input }]) } as typeof r;
    }
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
    const prefix = prefixOf(def);
    if (prefix !== undefined) {
      const other = prefixes.get(prefix);
      if (other !== undefined) {
        throw new RuleConfigError('RULE_DEFINITION_CONFLICT', `rules ${other} and ${def.id} share the state key prefix '${prefix}'`, {
          ruleId: def.id,
        });
      }
      prefixes.set(prefix, def.id);
    }
  }
  return defs;
}

/** field_predicate params: an override may change values, never names or types. */
function fieldPredicateParamSchema(params: Record<string, unknown>) {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(params)) {
    shape[k] = typeof v === 'number' ? z.number().finite() : typeof v === 'string' ? z.string().max(200) : z.array(z.string().max(64)).max(500);
  }
  return z.strictObject(shape);
}

function applyParams(def: RuleDefinition, override: unknown): RuleDefinition {
  if (override === undefined) return def;
  if (override === null || typeof override !== 'object' || Array.isArray(override)) {
    throw new RuleConfigError('RULE_PARAMS_INVALID', `params for ${def.id} must be an object`, { ruleId: def.id });
  }
  // `undefined` means "not overridden" (Partial<params>), so it must not erase a default.
  const patch = Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined));
  const schema = def.kind === 'field_predicate' ? fieldPredicateParamSchema(def.params) : PARAM_SCHEMAS[def.kind];
  const r = (schema as z.ZodType).safeParse({ ...def.params, ...patch });
  if (!r.success) {
    throw new RuleConfigError('RULE_PARAMS_INVALID', `invalid params for ${def.id} (${def.kind})`, {
      ruleId: def.id,
      issues: zodIssues(r.error),
    });
  }
  const merged = { ...def, params: r.data } as RuleDefinition;
  const issues = paramIssues(merged);
  if (issues.length > 0) throw new RuleConfigError('RULE_PARAMS_INVALID', `invalid params for ${def.id}`, { ruleId: def.id, issues });
  return merged;
}

// ---------------------------------------------------------------------------------------------

/** A top-level `kind in / not_in` filter: what kindsOf() reads. */
function isKindFilter(p: RuleDefinition['when'][number]): boolean {
  return p.field === 'kind' && (p.op === 'in' || p.op === 'not_in');
}

/**
 * The kinds of business a rule can apply to, read from its `when` filters: a top-level
 * `kind in [...]` narrows it, `kind not_in [...]` removes kinds; anything else leaves all kinds.
 * Only a pre-selection: the rule's own filters still run on every record it is given.
 */
function kindsOf(def: RuleDefinition): ReadonlySet<string> {
  let kinds = new Set<string>(TransactionKind.options);
  for (const p of def.when) {
    if (!isKindFilter(p)) continue;
    if (p.op === 'in') kinds = new Set([...kinds].filter((k) => p.values.includes(k)));
    else if (p.op === 'not_in') kinds = new Set([...kinds].filter((k) => !p.values.includes(k)));
  }
  return kinds;
}

function compileRun(def: Exclude<RuleDefinition, { kind: 'peer_deviation' }>): Run {
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
    case 'field_predicate':
      return compileFieldPredicate(def);
    case 'overlap':
      return compileOverlap(def);
    case 'fingerprint':
      return compileFingerprint(def);
    case 'sequence':
      return compileSequence(def);
  }
}

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

  const metas: RuleMeta[] = effective.map((def) =>
    Object.freeze({
      id: def.id,
      name: def.name,
      version: ruleVersion(def),
      family: def.family,
      severity: def.severity,
      action: def.action,
      description: def.description,
      basis: def.basis,
      kind: def.kind,
      state: stateKindOf(def),
    }),
  );
  // Each rule is compiled twice: `full` checks every `when` filter; `narrowed` leaves out the
  // top-level `kind in / not_in` filters, which kindsOf() already applied when it put the rule
  // on a kind's list — a record reaching it through that list passes them by construction, and
  // nearly every rule starts with one (a Set lookup per rule and record saved). A record of a
  // kind outside TransactionKind (unvalidated input) gets the full rules, filters and all.
  const full: Evaluator[] = [];
  const narrowed = new Map<Evaluator, Evaluator>();
  const peerRules: PeerRule[] = [];
  const defOf = new Map<Evaluator, RuleDefinition>();
  effective.forEach((def, i) => {
    const meta = metas[i]!;
    const explain = compileExplain(def.explain);
    if (def.kind === 'peer_deviation') {
      peerRules.push(compilePeerDeviation(def, meta, explain));
      return;
    }
    const e: Evaluator = { meta, run: compileRun(def), explain };
    full.push(e);
    defOf.set(e, def);
    const rest = def.when.filter((p) => !isKindFilter(p));
    narrowed.set(e, rest.length === def.when.length ? e : { meta, run: compileRun({ ...def, when: rest }), explain });
  });
  const blocking = full.filter((e) => e.meta.action === 'hold');
  // Most rules apply to one or two kinds of business (their `when` starts with `kind in …`), so
  // each transaction only visits the evaluators that can apply to its kind: the list per kind is
  // computed once, in rule order.
  const byKind = (list: readonly Evaluator[]) => {
    const lists = new Map<string, Evaluator[]>();
    for (const kind of TransactionKind.options) lists.set(kind, list.filter((e) => kindsOf(defOf.get(e)!).has(kind)).map((e) => narrowed.get(e)!));
    return (kind: string): readonly Evaluator[] => lists.get(kind) ?? list;
  };
  const allFor = byKind(full);
  const blockingFor = byKind(blocking);

  const hitOf = (e: Evaluator, f: Finding, txn: Transaction, ctx: EvaluationContext): RuleHit => ({
    rule: e.meta,
    explanation: e.explain(f.reason, f.values, txn, ctx.calendar, ctx.registry),
    values: f.values,
  });

  /**
   * Runs the rules of `list` on one record: the hits, or a promise-like of them when a state
   * answered later (a promise from a Redis state; a Later, settled in place, from a batched one:
   * engine/later.ts). Every rule is started before any is awaited (stateful rules use different
   * keys, so Redis round-trips overlap); results stay in rule order. Over synchronous states
   * nothing is a promise and nothing is allocated per rule except the hits themselves: this is
   * the engine's hot loop.
   */
  const runList = (list: readonly Evaluator[], txn: Transaction, ctx: EvaluationContext): RuleHit[] | PromiseLike<RuleHit[]> => {
    let hits: RuleHit[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!.run(txn, ctx);
      if (r === null) continue;
      if (isThenable(r)) {
        // A state answered later. The hits so far all come from earlier rules, so they stay
        // first; the rest are started now and their hits appended in rule order once settled.
        const rest: (Finding | null | PromiseLike<Finding | null>)[] = new Array(list.length - i);
        rest[0] = r;
        for (let j = i + 1; j < list.length; j++) rest[j - i] = list[j]!.run(txn, ctx);
        const settled = hits ?? [];
        const from = i;
        return allOf(rest, true).then((found) => {
          for (let k = 0; k < found.length; k++) {
            const f = found[k];
            if (f) settled.push(hitOf(list[from + k]!, f, txn, ctx));
          }
          return settled;
        });
      }
      (hits ??= []).push(hitOf(list[i]!, r, txn, ctx));
    }
    return hits ?? [];
  };

  const runAll = (list: readonly Evaluator[], txn: Transaction, ctx: EvaluationContext): Promise<RuleHit[]> => {
    try {
      const r = runList(list, txn, ctx);
      // A native promise comes back as it is; anything else becomes one.
      return Promise.resolve(r);
    } catch (e) {
      return Promise.reject(e);
    }
  };

  const evaluateBatch = (txns: readonly Transaction[], ctxArg: EvaluationContext | ((txn: Transaction, index: number) => EvaluationContext)): Promise<RuleHit[][]> => {
    try {
      const ctxOf = typeof ctxArg === 'function' ? ctxArg : () => ctxArg;
      const recorder = createBatchRecorder();
      const out: (RuleHit[] | PromiseLike<RuleHit[]>)[] = new Array(txns.length);
      let pending = false;
      for (let i = 0; i < txns.length; i++) {
        const txn = txns[i]!;
        const r = runList(allFor(txn.kind), txn, recorder.context(ctxOf(txn, i)));
        if (!pending && isThenable(r)) pending = true;
        out[i] = r;
      }
      // Every state call of the batch is queued now, in record and rule order: one run() per
      // batcher answers them all, and the rules' promises settle from those answers.
      recorder.flush();
      // One promise for the batch: the records' joins settle in place (engine/later.ts).
      return pending ? Promise.resolve(allOf(out, true)) : Promise.resolve(out as RuleHit[][]);
    } catch (e) {
      return Promise.reject(e);
    }
  };

  return Object.freeze({
    evaluateBatch,
    version: `${options.label ?? `pack-${PACK_VERSION}`}-${shortHash(effective)}`,
    rules: Object.freeze(metas),
    definitions: Object.freeze(effective),
    peerRules: Object.freeze(peerRules),
    evaluate: (txn: Transaction, ctx: EvaluationContext) => runAll(allFor(txn.kind), txn, ctx),
    evaluateBlocking: (txn: Transaction, ctx: EvaluationContext) => runAll(blockingFor(txn.kind), txn, ctx),
  });
}
