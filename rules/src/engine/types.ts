import type { RegistryView } from '../model/registry.js';
import type { Transaction } from '../model/transaction.js';
import type { HitValues, RuleAction, RuleFamily, Severity, Warning } from '../model/warning.js';
import type { WorkCalendar } from './calendar.js';

/**
 * Sliding-window state behind count and distinct-count rules. The rules package only declares
 * it; the hub implements it in Redis (atomic Lua), tests with `createMemoryWindowState()`.
 *
 * Contract: `observe(key, member, at, windowMs)` records `member` under `key` at time `at`
 * (epoch ms) and returns how many distinct members of `key` have a time in (at - windowMs, at].
 * Recording the same (key, member) again never increases the count (re-delivered batches are
 * harmless); a member's time is the latest time it was observed.
 */
export interface WindowState {
  observe(key: string, member: string, at: number, windowMs: number): Promise<number>;
}

export interface EvaluationContext {
  registry: RegistryView;
  state: WindowState;
  calendar: WorkCalendar;
}

/** What every rule carries, whatever its shape. */
export interface RuleMeta {
  id: string;
  /** Chinese display name, e.g. 非工作时间办理业务. */
  name: string;
  version: string;
  family: RuleFamily;
  severity: Severity;
  action: RuleAction;
  /** One-sentence Chinese description of what the rule looks for. */
  description: string;
  /** Where the threshold comes from (domain.md §6), e.g. 实际系统默认值 / 建议值. */
  basis: string;
}

export interface RuleHit {
  rule: RuleMeta;
  /** Chinese explanation naming the observed value and the threshold. */
  explanation: string;
  values: HitValues;
}

export interface RuleEngine {
  /** Identifies the rule set; every warning records it. */
  readonly version: string;
  readonly rules: readonly RuleMeta[];
  /** Runs every rule. Stateful rules record the transaction in `ctx.state` (idempotently). */
  evaluate(txn: Transaction, ctx: EvaluationContext): Promise<RuleHit[]>;
  /** Runs only `hold` rules: the synchronous decision path. */
  evaluateBlocking(txn: Transaction, ctx: EvaluationContext): Promise<RuleHit[]>;
}

export interface WarningEnvelope {
  batchId: string;
  county: string;
  raisedAt: number;
}

export type { Warning };
